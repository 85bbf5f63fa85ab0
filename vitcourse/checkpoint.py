"""Training checkpoints for `vitcourse.train.fit`: one safetensors file that resumes a run exactly.

The file holds the model's weights (``model.<name>``, readable by any
safetensors tool), the optimiser's tensors (``optimizer.<index>.<name>``), the
random-number states as byte tensors (``rng.<name>``) and, in the header's
metadata under ``"vitcourse"``, a JSON record of everything else: the step, the
settings of the run, the model's parameter names and shapes, the curves so far,
the position in the data (epoch and batch) and the Python and NumPy RNG states.

It is written to a temporary file next to ``path`` and renamed over it, so a
run killed while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

__all__ = ["save_checkpoint", "load_checkpoint", "model_signature", "CheckpointMismatch", "FORMAT"]

FORMAT = "vitcourse-fit-checkpoint/1"


class CheckpointMismatch(ValueError):
    """The checkpoint on disk was written by another model or another set of `fit` settings."""


def model_signature(model: nn.Module) -> dict[str, list[int]]:
    """Parameter and buffer names with their shapes: what a checkpoint must match to be loaded."""
    return {name: list(t.shape) for name, t in model.state_dict().items()}


def _python_rng() -> list:
    version, state, gauss = random.getstate()
    return [version, list(state), gauss]


def _numpy_rng() -> dict[str, Any]:
    state = np.random.get_state()
    assert isinstance(state, tuple)  # the legacy global generator (MT19937) gives its state as a tuple
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}


def rng_snapshot(device: torch.device | None = None) -> dict[str, Any]:
    """Every global RNG state: Python's, NumPy's, PyTorch's CPU one and, when ``device`` is a GPU, its generator.

    Only the training device's GPU generator is kept: under torchrun each process
    draws on its own GPU, and every process draws the same numbers (same seed,
    same shapes), so rank 0's state is every rank's state.
    """
    snap = {"python": _python_rng(), "numpy": _numpy_rng(), "torch": torch.get_rng_state()}
    if device is not None and device.type == "cuda":
        snap["cuda"] = [torch.cuda.get_rng_state(device)]
    return snap


def rng_restore(snap: dict[str, Any], device: torch.device | None = None) -> None:
    """Put back the states saved by `rng_snapshot` (the GPU one onto ``device``)."""
    version, state, gauss = snap["python"]
    random.setstate((version, tuple(state), gauss))
    n = snap["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(snap["torch"])
    if snap.get("cuda") and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(snap["cuda"][0], device)


def _tensor_or_json(prefix: str, value, tensors: dict[str, torch.Tensor]):
    """Tensors go to the file's tensor table (returning a reference), everything else stays JSON."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        return {str(k): _tensor_or_json(f"{prefix}.{k}", v, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_tensor_or_json(f"{prefix}.{i}", v, tensors) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} at {prefix!r} in a checkpoint")


def _from_json(value, tensors: dict[str, torch.Tensor]):
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v, tensors) for v in value["__tuple__"])
        return {k: _from_json(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v, tensors) for v in value]
    return value


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    record: dict[str, Any],
    rng: dict[str, Any],
    extra_tensors: dict[str, Any],
) -> Path:
    """Write one checkpoint file atomically; ``record`` is JSON, ``rng`` from `rng_snapshot`.

    ``extra_tensors`` maps names to tensors, or ``None`` for absent ones (e.g. data-order generator states).
    """
    from safetensors.torch import save_file

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for name, t in model.state_dict().items():
        tensors[f"model.{name}"] = t.detach().cpu().contiguous().clone()  # clone: tied weights are saved twice
    opt = optimizer.state_dict()
    opt_json = {
        "state": {str(i): _tensor_or_json(f"optimizer.{i}", s, tensors) for i, s in opt["state"].items()},
        "param_groups": _tensor_or_json("optimizer.groups", opt["param_groups"], tensors),
    }
    rng_json = {"python": rng["python"], "numpy": rng["numpy"], "cuda": len(rng.get("cuda", []))}
    tensors["rng.torch"] = rng["torch"]
    for i, state in enumerate(rng.get("cuda", [])):
        tensors[f"rng.cuda.{i}"] = state
    present = {}
    for name, t in extra_tensors.items():
        present[name] = t is not None
        if t is not None:
            tensors[f"extra.{name}"] = t.detach().cpu().contiguous()
    meta = {"format": FORMAT, "record": record, "optimizer": opt_json, "rng": rng_json, "extra": present}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(tmp), metadata={"vitcourse": json.dumps(meta)})
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; a clear error for any other file.

    Returns ``{"record", "model" (a state dict), "optimizer" (a state dict), "rng", "extra"}``.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint={str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointMismatch(
            f"checkpoint={str(path)!r} is not a safetensors file written by "
            f"vitcourse.train.fit ({err}); pass a new path to start a fresh run"
        ) from None
    try:
        meta = json.loads(metadata["vitcourse"])
    except (KeyError, json.JSONDecodeError):
        raise CheckpointMismatch(
            f"checkpoint={str(path)!r} is a safetensors file but not a vitcourse.train.fit "
            f"checkpoint (no 'vitcourse' metadata); pass a new path to start a fresh "
            f"run"
        ) from None
    if meta.get("format") != FORMAT:
        raise CheckpointMismatch(
            f"checkpoint={str(path)!r} has format {meta.get('format')!r}, this vitcourse "
            f"reads {FORMAT!r}; start a fresh run with a new path"
        )
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    opt = meta["optimizer"]
    optimizer_state = {
        "state": {int(i): _from_json(s, tensors) for i, s in opt["state"].items()},
        "param_groups": _from_json(opt["param_groups"], tensors),
    }
    rng = {"python": meta["rng"]["python"], "numpy": meta["rng"]["numpy"], "torch": tensors["rng.torch"]}
    if meta["rng"]["cuda"]:
        rng["cuda"] = [tensors[f"rng.cuda.{i}"] for i in range(meta["rng"]["cuda"])]
    extra = {name: (tensors[f"extra.{name}"] if present else None) for name, present in meta["extra"].items()}
    return {"record": meta["record"], "model": model_state, "optimizer": optimizer_state, "rng": rng, "extra": extra}


def check_compatible(
    path, saved_record: dict[str, Any], *, signature: dict[str, list[int]], settings: dict[str, Any]
) -> None:
    """Raise `CheckpointMismatch` naming what differs between the checkpoint and this run."""
    where = f"checkpoint={str(path)!r}"
    fix = "pass a new checkpoint path to start a fresh run, or the same model and settings to resume"
    saved_sig = saved_record["model_signature"]
    if saved_sig != signature:
        missing = sorted(set(saved_sig) - set(signature))
        unexpected = sorted(set(signature) - set(saved_sig))
        shapes = [
            f"{k}: {saved_sig[k]} in the checkpoint, {signature[k]} in this model"
            for k in sorted(set(saved_sig) & set(signature))
            if saved_sig[k] != signature[k]
        ]
        parts = []
        if missing:
            parts.append(f"only in the checkpoint: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if unexpected:
            parts.append(f"only in this model: {', '.join(unexpected[:5])}" + (" ..." if len(unexpected) > 5 else ""))
        if shapes:
            parts.append("different shapes: " + "; ".join(shapes[:5]) + (" ..." if len(shapes) > 5 else ""))
        raise CheckpointMismatch(
            f"{where} was written for another model ({saved_record['model_class']}); " + "; ".join(parts) + f". {fix}"
        )
    saved = saved_record["settings"]
    diffs = [f"{k}={saved.get(k)!r} in the checkpoint, {v!r} now" for k, v in settings.items() if saved.get(k) != v]
    if diffs:
        raise CheckpointMismatch(f"{where} was written by a run with other settings: " + "; ".join(diffs) + f". {fix}")
