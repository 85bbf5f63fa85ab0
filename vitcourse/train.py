"""A small, readable training loop shared by every lecture.

Schedules are counted in optimiser steps, never in seconds, so a seeded run
reproduces exactly; an optional ``max_seconds`` is only a safety net. The
returned `History` holds the curves and plots itself.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence, Sized, cast

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .utils import DEVICES, check_int, check_positive, get_device, seed_everything, threads_for

__all__ = [
    "History",
    "fit",
    "evaluate",
    "cosine_lr",
    "predict",
    "progress_enabled",
    "make_adamw",
    "Batches",
    "optimizer_step",
]


def cosine_lr(step: int, total_steps: int, base_lr: float, warmup_steps: int = 0, min_lr: float = 0.0) -> float:
    """Learning rate at ``step``: linear warm-up, then cosine decay to ``min_lr`` (a pure function)."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def make_adamw(param_groups, **kwargs) -> torch.optim.AdamW:
    """`torch.optim.AdamW`, fused where this PyTorch supports it for these parameters, else the default.

    The fused version updates every parameter in one kernel instead of a loop of
    small ones (6-10% of a lecture model's training step on a CPU); its numbers
    agree with the default to float rounding. ``optimizer.defaults["fused"]``
    says which one was built.
    """
    param_groups = list(param_groups)  # may be a generator: it is read twice below
    try:
        return torch.optim.AdamW(param_groups, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):  # an older PyTorch, or a device/dtype without the fused kernel
        return torch.optim.AdamW(param_groups, **kwargs)


def progress_enabled() -> bool:
    """Whether to draw a progress bar: never with ``TQDM_DISABLE`` set, else in a terminal or notebook."""
    if os.environ.get("TQDM_DISABLE", "").strip() not in {"", "0", "false", "False"}:
        return False
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@dataclass
class History:
    """Curves recorded by `fit`: one row per evaluation."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps_done: int = 0
    stopped_early: bool = False

    @property
    def final_acc(self) -> float:
        return self.test_acc[-1] if self.test_acc else float("nan")

    @property
    def best_acc(self) -> float:
        return max(self.test_acc) if self.test_acc else float("nan")

    def plot(self, title: str | None = None):
        """Loss and accuracy against step; returns the figure (see `vitcourse.plot.plot_history`)."""
        from .plot import plot_history

        return plot_history(self, title=title)

    def __repr__(self) -> str:
        return (
            f"History(steps={self.steps_done}, final_acc={self.final_acc:.4f}, best_acc={self.best_acc:.4f}, "
            f"seconds={self.seconds:.1f})"
        )


def _as_loader(data, batch_size: int, shuffle: bool, generator: torch.Generator | None, name: str) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(
            data,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            drop_last=shuffle and len(cast(Sized, data)) >= batch_size,
        )  # a map-style Dataset has a length
    raise TypeError(f"{name} must be a torch Dataset or DataLoader, got {type(data).__name__}")


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters, grad_clip: float | None) -> None:
    """One update of the course's training loops (`fit` and `vitcourse.detr.fit_detr`): clear the gradients,
    backpropagate ``loss``, clip the gradients' global norm to ``grad_clip`` (None: no clipping), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    optimizer.step()


class Batches:
    """An endless stream of training batches that knows where it is, so a checkpoint can resume it.

    It draws exactly what ``while True: yield from loader`` draws. For a checkpoint
    it remembers the epoch, the batches taken in it, and the random states at the
    epoch's start (PyTorch's global one and the loader's and sampler's
    generators, which a shuffling loader reads when an epoch begins): `restore`
    puts those back, starts the epoch again and skips the batches already taken.
    """

    def __init__(self, loader: DataLoader):
        self.loader = loader
        self.epoch = 0
        self.index = 0
        self._it: Iterator | None = None
        self._start: dict[str, torch.Tensor | None] = {}

    def _generators(self) -> dict[str, torch.Generator | None]:
        loader_gen = getattr(self.loader, "generator", None)
        sampler_gen = getattr(self.loader.sampler, "generator", None)
        if sampler_gen is None:  # e.g. GlobalBatchShard around a RandomSampler
            sampler_gen = getattr(getattr(self.loader.sampler, "sampler", None), "generator", None)
        return {"loader_gen": loader_gen, "sampler_gen": None if sampler_gen is loader_gen else sampler_gen}

    def _begin_epoch(self) -> None:
        if hasattr(self.loader.sampler, "set_epoch"):  # torch's DistributedSampler in a caller's DataLoader
            self.loader.sampler.set_epoch(self.epoch)
        self._start = {"torch": torch.get_rng_state()}
        for name, gen in self._generators().items():
            self._start[name] = gen.get_state() if gen is not None else None
        self._it = iter(self.loader)
        self.index = 0

    def __next__(self):
        if self._it is None:
            self._begin_epoch()
        try:
            batch = next(self._it)
        except StopIteration:
            self.epoch += 1
            self._begin_epoch()
            try:
                batch = next(self._it)
            except StopIteration:
                raise ValueError(
                    "train gives no batches (an empty dataset, or fewer examples than batch_size with "
                    "drop_last=True); pass more data or a smaller batch_size"
                ) from None
        self.index += 1
        return batch

    def state(self) -> tuple[dict, dict[str, torch.Tensor | None]]:
        """(position as JSON, epoch-start random states as tensors) for a checkpoint."""
        return {"epoch": self.epoch, "index": self.index}, {f"data.{k}": v for k, v in self._start.items()}

    def restore(self, position: dict, start: dict[str, torch.Tensor | None]) -> None:
        """Continue after ``position["index"]`` batches of epoch ``position["epoch"]``.

        Leaves the global RNG at the epoch-start state: the caller restores the
        checkpoint's RNG states afterwards.
        """
        torch_state = start["data.torch"]
        assert torch_state is not None  # torch.get_rng_state() in _begin_epoch; only generators' states may be None
        torch.set_rng_state(torch_state)
        for name, gen in self._generators().items():
            state = start.get(f"data.{name}")
            if (gen is None) != (state is None):
                raise ValueError(
                    "the checkpoint's data order was drawn with a different kind of loader (one with "
                    "a seeded generator and one without); resume with the same train data and loader"
                )
            if gen is not None and state is not None:  # both or neither (checked above)
                gen.set_state(state)
        self.epoch = position["epoch"]
        self._begin_epoch()
        assert self._it is not None  # set by _begin_epoch
        for _ in range(position["index"]):
            next(self._it)
        self.index = position["index"]


def _to(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    return batch


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data,
    *,
    loss_fn: Callable = F.cross_entropy,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier over ``data`` (``(x, y)`` batches), under ``no_grad``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    loader = _as_loader(data, batch_size, False, None, "data")
    loss_sum, correct, total = _eval_sums(model, loader, loss_fn, device)
    if total == 0:
        raise ValueError("data is empty: cannot evaluate on zero examples")
    return loss_sum / total, correct / total


@torch.no_grad()
def _eval_sums(model: nn.Module, loader, loss_fn: Callable, device: torch.device) -> tuple[float, int, int]:
    """(summed loss, correct predictions, examples) over ``loader``: sums, so processes can add theirs up."""
    was_training = model.training
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        if loss_fn is F.cross_entropy:
            loss_sum += float(loss_fn(logits, y, reduction="sum"))
        else:
            loss_sum += float(loss_fn(logits, y)) * len(y)
        correct += int((logits.argmax(-1) == y).sum())
        total += len(y)
    model.train(was_training)
    return loss_sum, correct, total


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Logits of ``model`` on ``x`` in batches, under ``no_grad`` and ``eval()``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def _resolve_device(device) -> torch.device:
    """``None`` or ``"auto"``: the best available device; else one of `DEVICES` (with an index, e.g. ``"cuda:1"``)."""
    if device is None or device == "auto":
        return get_device()
    if isinstance(device, torch.device):
        return device
    choices = ", ".join(repr(d) for d in (*DEVICES, "auto"))
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise ValueError(
            f"device must be one of {choices}, a device with an index such as 'cuda:0', or a "
            f"torch.device; got {device!r}"
            + (": for an NVIDIA GPU use 'cuda' (or 'cuda:0'), for Apple silicon 'mps'" if device == "gpu" else "")
        )
    kind = device.split(":")[0]
    try:
        get_device(kind)  # raises when that kind of device is not available
    except ValueError:
        raise ValueError(
            f"device={device!r} was asked for, but no {kind} device is available here; "
            f"use 'cpu' or 'auto' (the best available device)"
        ) from None
    return torch.device(device)


PRECISIONS = ("fp32", "bf16")


def _autocast(device: torch.device, precision: str):
    """The forward pass's precision: float32 as is, or bfloat16 autocast (weights and optimiser stay float32)."""
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}"
            + (
                "; float16 needs loss scaling, which fit does not do: use 'bf16'"
                if precision in {"fp16", "float16", "half"}
                else ""
            )
        )
    if precision == "fp32":
        return contextlib.nullcontext()
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision='bf16' but this GPU ({torch.cuda.get_device_name(device)}) has no bfloat16 "
            f"support; use precision='fp32'"
        )
    if device.type not in {"cpu", "cuda"}:
        raise ValueError(f"precision='bf16' is supported on 'cpu' and 'cuda', not {device.type}; use precision='fp32'")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _compiled(module: nn.Module) -> nn.Module:
    """``torch.compile(module)``, with a clear error where this PyTorch cannot compile."""
    if not hasattr(torch, "compile"):
        raise RuntimeError("compile=True needs torch.compile (PyTorch 2.0 or later); pass compile=False")
    return cast(nn.Module, torch.compile(module))  # a compiled Module is an OptimizedModule (the stubs say callable)


def fit(
    model: nn.Module,
    train,
    test=None,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    warmup_steps: int = 0,
    min_lr: float = 0.0,
    eval_every: int | None = None,
    loss_fn: Callable = F.cross_entropy,
    augment: Callable | None = None,
    label_smoothing: float = 0.0,
    grad_clip: float | None = 1.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    max_seconds: float | None = None,
    progress: bool | None = None,
    desc: str = "train",
    threads: int | str | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    precision: str = "fp32",
    compile: bool = False,
) -> History:
    """Train a classifier with AdamW and a warm-up + cosine schedule for a fixed number of steps.

    The same call runs in one process or in N under ``torchrun --nproc_per_node=N``
    (see `vitcourse.distributed`): then each process trains a
    `~torch.nn.parallel.DistributedDataParallel` copy on ``batch_size // N``
    examples of every global batch of ``batch_size``, the examples one process
    would see, so the curves match one process's up to float rounding. Only
    rank 0 draws the progress bar and writes the checkpoint; every rank returns
    the same `History`.

    Args:
        model: any ``nn.Module`` mapping a batch ``x`` to logits ``(B, classes)``.
        train, test: ``Dataset`` or ``DataLoader`` of ``(x, y)``; ``test`` may be ``None``.
            Under torchrun ``train`` must be a ``Dataset`` (fit shards it).
        steps: optimiser steps (the schedule; results reproduce for a given seed).
        batch_size: examples per step, over all processes (the global batch).
        augment: optional function applied to each training batch ``x`` (on the device).
        eval_every: steps between evaluations (default: 10 evaluations in all).
        max_seconds: stop early after this much wall time (a safety net; the
            history says ``stopped_early``).
        progress: draw a tqdm bar (default: `progress_enabled()`).
        device: ``"cpu"``, ``"cuda"`` (or ``"cuda:1"``), ``"mps"``, a
            ``torch.device``, or ``None`` / ``"auto"`` for the best available
            one (`get_device`); anything else raises a ValueError listing these.
            Under torchrun, ``"cuda"`` and ``"auto"`` mean this process's GPU.
        threads: CPU threads while training (default: chosen for the model's size by
            `vitcourse.utils.configure_threads`, or ``VITCOURSE_THREADS``); the previous
            count is restored afterwards. ``"torch"`` keeps PyTorch's count.
        checkpoint: a file path. If it exists, the run resumes from it (an error
            if it was written for another model or other settings); fit saves
            to it every ``checkpoint_every`` steps, when stopped early and at the
            end. It holds the weights (safetensors), the optimiser, the step (the
            learning-rate schedule is a pure function of it), the curves so far,
            the data position and every RNG state, so an interrupted run that
            resumes ends with the same weights, bit for bit, as one never stopped.
        checkpoint_every: steps between checkpoints (default: ``eval_every``).
        precision: ``"fp32"``, or ``"bf16"`` for bfloat16 autocast in the forward
            pass (weights, gradients and optimiser stay float32).
        compile: train through ``torch.compile(model)`` (the weights are shared;
            the first steps are slow while it compiles).

    Returns:
        `History` with train loss, test loss and accuracy per evaluation.
    """
    from . import checkpoint as ckpt
    from . import distributed as dist_utils

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_positive("lr", lr)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0, maximum=steps)
    eval_every = check_int("eval_every", eval_every if eval_every is not None else max(1, steps // 10), minimum=1)
    if max_seconds is not None:
        max_seconds = check_positive("max_seconds", max_seconds)
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError("checkpoint_every was given without checkpoint=PATH; pass the file to save to")
    checkpoint_every = check_int(
        "checkpoint_every", checkpoint_every if checkpoint_every is not None else eval_every, minimum=1
    )
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path (str or pathlib.Path), got {type(checkpoint).__name__}")
    if not isinstance(compile, bool):
        raise TypeError(f"compile must be True or False, got {compile!r}")

    if dist_utils.launched_by_torchrun():
        info = dist_utils.setup(device)
        device = info.device
    else:
        device = _resolve_device(device)
        info = dist_utils.DistInfo(rank=0, world=1, local_rank=0, device=device, backend="")
    distributed = info.backend != ""
    autocast = _autocast(device, precision)  # validates precision before any work
    seed_everything(seed)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    if distributed:
        if not isinstance(train, Dataset) or isinstance(train, DataLoader):
            raise TypeError(
                f"under torchrun, train must be a torch Dataset (fit splits each global batch between "
                f"the processes), got {type(train).__name__}; pass the dataset, not a DataLoader"
            )
        if batch_size % info.world:
            raise ValueError(
                f"batch_size={batch_size} (the global batch) is not divisible by the {info.world} "
                f"processes; pick a multiple of {info.world}, e.g. "
                f"{batch_size // info.world * info.world or info.world}"
            )
        n_train = len(cast(Sized, train))  # a map-style Dataset has a length (Dataset declares no __len__)
        if n_train < batch_size:
            raise ValueError(
                f"train has {n_train} examples, fewer than batch_size={batch_size}: under torchrun "
                f"every step needs a full global batch; pass a smaller batch_size"
            )
        shard = dist_utils.GlobalBatchShard(
            torch.utils.data.RandomSampler(cast(Sized, train), generator=generator),
            global_batch=batch_size,
            rank=info.rank,
            world=info.world,
        )
        train_loader = DataLoader(train, batch_size=shard.per_rank, sampler=shard, generator=generator, drop_last=True)
    else:
        train_loader = _as_loader(train, batch_size, True, generator, "train")
    test_loader = None
    if test is not None:
        test_loader = _as_loader(test, batch_size, False, None, "test")  # validates the type early
        if distributed and isinstance(test, Dataset) and not isinstance(test, DataLoader):
            part = torch.utils.data.Subset(test, range(info.rank, len(cast(Sized, test)), info.world))
            test_loader = DataLoader(part, batch_size=256)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    optimizer = make_adamw(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    step_model: nn.Module = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        step_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        step_model = _compiled(step_model)

    history = History()
    batches = Batches(train_loader)
    running, start_step, seconds_before = 0.0, 0, 0.0
    seen: float = 0  # a count; all_sum gives it back as a float under torchrun
    settings = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "warmup_steps": warmup_steps,
        "min_lr": min_lr,
        "eval_every": eval_every,
        "label_smoothing": label_smoothing,
        "grad_clip": grad_clip,
        "seed": seed,
        "precision": precision,
        "train_size": len(cast(Sized, train_loader.dataset)),
    }
    signature = ckpt.model_signature(model)
    if checkpoint is not None and os.path.exists(checkpoint):
        saved = ckpt.load_checkpoint(checkpoint)
        ckpt.check_compatible(checkpoint, saved["record"], signature=signature, settings=settings)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        record = saved["record"]
        start_step = record["step"]
        running, seen, seconds_before = record["running"], record["seen"], record["seconds"]
        for name, values in record["history"].items():
            setattr(history, name, list(values))
        history.steps_done = start_step
        if start_step < steps:
            batches.restore(record["data"], saved["extra"])
        ckpt.rng_restore(saved["rng"], device)

    def save(step: int) -> None:
        if checkpoint is None or not info.main:
            return
        position, start_states = batches.state()
        curves = {k: getattr(history, k) for k in ("step", "train_loss", "test_loss", "test_acc", "lr")}
        record = {
            "step": step,
            "settings": settings,
            "model_signature": signature,
            "model_class": type(model).__qualname__,
            "history": curves,
            "running": running,
            "seen": seen,
            "seconds": seconds_before + time.perf_counter() - start,
            "data": position,
        }
        ckpt.save_checkpoint(
            checkpoint,
            model=model,
            optimizer=optimizer,
            record=record,
            rng=ckpt.rng_snapshot(device),
            extra_tensors=start_states,
        )

    with threads_for(model if device.type == "cpu" else None, threads=threads):
        show = info.main and (progress_enabled() if progress is None else bool(progress))
        bar = tqdm(total=steps, initial=start_step, desc=desc, disable=not show, leave=False, mininterval=0.5)
        start = time.perf_counter()
        model.train()
        for step in range(start_step, steps):
            current_lr = cosine_lr(step, steps, lr, warmup_steps, min_lr)
            for group in optimizer.param_groups:
                group["lr"] = current_lr
            x, y = _to(next(batches), device)
            if augment is not None:
                x = augment(x)
            with autocast:
                logits = step_model(x)
                if loss_fn is F.cross_entropy:
                    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
                else:
                    loss = loss_fn(logits, y)
            optimizer_step(optimizer, loss, model.parameters(), grad_clip)
            running += loss.item()
            seen += 1
            bar.update(1)
            history.steps_done = step + 1
            out_of_time = max_seconds is not None and time.perf_counter() - start > max_seconds
            if distributed and max_seconds is not None:  # every process must stop at the same step
                out_of_time = dist_utils.all_sum([float(out_of_time)], device)[0] > 0
            if (step + 1) % eval_every == 0 or step + 1 == steps or out_of_time:
                if distributed:
                    running, seen = dist_utils.all_sum([running, seen], device)
                history.step.append(step + 1)
                history.train_loss.append(running / seen)
                history.lr.append(current_lr)
                running, seen = 0.0, 0
                if test_loader is not None:
                    sums: Sequence[float] = _eval_sums(model, test_loader, loss_fn, device)
                    if distributed and test_loader is not None and not isinstance(test, DataLoader):
                        sums = dist_utils.all_sum(list(sums), device)
                    if sums[2] == 0:
                        raise ValueError("test is empty: cannot evaluate on zero examples")
                    history.test_loss.append(sums[0] / sums[2])
                    history.test_acc.append(sums[1] / sums[2])
                    bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", acc=f"{history.test_acc[-1]:.3f}")
            if (step + 1) % checkpoint_every == 0 or step + 1 == steps or out_of_time:
                save(step + 1)
            if out_of_time:
                history.stopped_early = True
                break
        bar.close()
        history.seconds = seconds_before + time.perf_counter() - start
        model.eval()
    return history
