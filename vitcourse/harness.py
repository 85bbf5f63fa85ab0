"""How an exercise check calls the learner's function, and how its answer becomes plain data.

This module holds no reference answer: it only *calls* the learner's code.
It runs in two places: in the learner's own kernel (``check(...)`` for
instant feedback) and inside the grader's sandbox, where the course's
checks, solutions and reference implementations are absent. A check names
its calling convention with ``Check.runner`` (a key of `RUNNERS`);
the sandbox receives that key and the inputs, never the check itself.

Every runner returns plain data (`vitcourse.plain.to_plain`): what may
cross from the learner's process to the judge, defined in `vitcourse.plain`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from .plain import to_plain

__all__ = ["RUNNERS", "run", "to_plain", "to_torch", "trained_weights", "MAX_TRAINED_PARAMETERS"]

#: Largest trained model (number of parameters) a training task may hand in.
MAX_TRAINED_PARAMETERS = 5_000_000


def to_torch(inputs: dict) -> dict:
    """Arrays in ``inputs`` become tensors (float64 arrays stay float64); other values pass through."""
    import torch

    return {k: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


# ----------------------------------------------------------------------------- calling conventions


def call_kwargs(fn: Callable, inputs: dict) -> Any:
    """``fn(**inputs)`` with tensors, without gradients."""
    import torch

    with torch.no_grad():
        return to_plain(fn(**to_torch(inputs)))


def _split_params(t: dict, first: str):
    params = {k[2:]: v for k, v in t.items() if k.startswith("p_")}
    return t[first], params, t["num_heads"]


def call_params(fn: Callable, inputs: dict, *, first: str = "x") -> Any:
    """``fn(first, params, num_heads)``: weights travel as ``p_NAME`` entries and arrive as a dict."""
    import torch

    x, params, num_heads = _split_params(to_torch(inputs), first)
    with torch.no_grad():
        return to_plain(fn(x, params, num_heads))


def call_permuted(fn: Callable, inputs: dict) -> Any:
    """Self-attention: call on ``x`` and on ``x`` with its tokens permuted by ``perm``."""
    import torch

    t = to_torch({k: v for k, v in inputs.items() if k != "perm"})
    perm = torch.from_numpy(np.asarray(inputs["perm"]))
    with torch.no_grad():
        out = fn(**t)
        t["x"] = t["x"][:, perm]
        out_perm = fn(**t)
    return {"out": to_plain(out), "out_perm": to_plain(out_perm)}


def call_future_changed(fn: Callable, inputs: dict) -> Any:
    """Causal self-attention: call on ``x``, then with the tokens from ``cut`` on replaced by ``future``."""
    import torch

    t = to_torch({k: v for k, v in inputs.items() if k not in ("cut", "future")})
    cut = inputs["cut"]
    with torch.no_grad():
        out = fn(**t)
        x2 = t["x"].clone()
        x2[:, cut:] = torch.from_numpy(np.asarray(inputs["future"]))
        t["x"] = x2
        out_changed = fn(**t)
    return {"out": to_plain(out), "out_changed_future": to_plain(out_changed)}


def call_garbage_padding(fn: Callable, inputs: dict) -> Any:
    """Cross-attention: call twice, the second time with garbage in the padded context positions."""
    import torch

    with torch.no_grad():
        first = to_plain(fn(**to_torch(inputs)))
        noisy = dict(inputs)
        pad = ~np.asarray(inputs["key_mask"], bool)  # key_mask: True = real key
        garbage = np.random.default_rng(12345).normal(0, 50, size=inputs["context"].shape).astype(np.float32)
        noisy["context"] = np.where(pad[..., None], garbage, inputs["context"]).astype(np.float32)
        second = to_plain(fn(**to_torch(noisy)))
    return {"output": first, "output_with_garbage_in_padding": second}


def _detr_targets(t: dict) -> list[dict]:
    """DETR's list of per-image target dicts from flat ``labels``/``boxes`` and per-image ``counts``."""
    out, start = [], 0
    for n in np.asarray(t["counts"]).tolist():
        out.append({"labels": t["labels"][start : start + n], "boxes": t["boxes"][start : start + n]})
        start += n
    return out


def call_matcher(fn: Callable, inputs: dict) -> Any:
    """``fn(logits, boxes, labels, target_boxes, cost_class=, cost_bbox=, cost_giou=)`` for one image."""
    import torch

    t = to_torch(inputs)
    with torch.no_grad():
        out = fn(
            t["pred_logits"][0],
            t["pred_boxes"][0],
            t["labels"],
            t["boxes"],
            cost_class=t["cost_class"],
            cost_bbox=t["cost_bbox"],
            cost_giou=t["cost_giou"],
        )
    return to_plain(list(out))


def call_set_loss(fn: Callable, inputs: dict) -> Any:
    """``fn(pred_logits, pred_boxes, targets, eos_coef=, cost_*=)`` -> the three DETR losses."""
    import torch

    t = to_torch(inputs)
    with torch.no_grad():
        out = fn(
            t["pred_logits"],
            t["pred_boxes"],
            _detr_targets(t),
            eos_coef=t["eos_coef"],
            cost_class=t["cost_class"],
            cost_bbox=t["cost_bbox"],
            cost_giou=t["cost_giou"],
        )
    if not isinstance(out, dict):
        raise TypeError(f"set_loss must return a dict of losses, got {type(out).__name__}")
    return to_plain({k: out[k] for k in ("loss_ce", "loss_bbox", "loss_giou") if k in out})


def _plain_config(config) -> dict:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, dict):
        raise TypeError(
            f"the trained model's .config must be a config dataclass (e.g. ViTConfig), got {type(config).__name__}"
        )
    out: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, (bool, int, float, str)) or v is None:
            out[str(k)] = v
        elif isinstance(v, (tuple, list)) and all(isinstance(x, (int, float)) for x in v):
            out[str(k)] = list(v)
        else:
            raise TypeError(f"config field {k!r} is a {type(v).__name__}; expected numbers and strings")
    return out


def trained_weights(fn: Callable, inputs: dict) -> dict:
    """A training task: ``fn(x_train, y_train)`` returns a trained model; hand in its config and weights.

    The judge rebuilds the required architecture from ``config``, loads the
    weights and measures accuracy on images it alone holds, so the model must
    be the course's class (or carry the same ``config`` and ``state_dict``).
    """
    import torch

    t = to_torch(inputs)
    model = fn(x_train=t["x_train"], y_train=t["y_train"])
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"the training function must return the trained torch.nn.Module, got {type(model).__name__}")
    if not hasattr(model, "config"):
        raise TypeError(
            f"the returned {type(model).__name__} has no .config: build it from the course's config "
            f"class (e.g. ViT(ViTConfig(...)) or MLPMixer(MixerConfig(...))) so it can be rebuilt"
        )
    state = model.state_dict()
    total = sum(int(v.numel()) for v in state.values())
    if total > MAX_TRAINED_PARAMETERS:
        raise ValueError(f"the trained model has {total} parameters, more than {MAX_TRAINED_PARAMETERS}")
    return to_plain(
        {
            "config": _plain_config(model.config),
            "state": {k: v.detach().cpu().float().numpy() for k, v in state.items()},
        }
    )


RUNNERS: dict[str, Callable] = {
    "kwargs": call_kwargs,
    "params_x": call_params,
    "params_images": lambda fn, inputs: call_params(fn, inputs, first="images"),
    "permuted": call_permuted,
    "future_changed": call_future_changed,
    "garbage_padding": call_garbage_padding,
    "matcher": call_matcher,
    "set_loss": call_set_loss,
    "trained_weights": trained_weights,
}


def run(runner: str, fn: Callable, inputs: dict) -> Any:
    """Call ``fn`` on one case with the calling convention ``runner``; return plain data."""
    try:
        how = RUNNERS[runner]
    except KeyError:
        raise ValueError(f"unknown check runner {runner!r}; known: {sorted(RUNNERS)}") from None
    return how(fn, inputs)
