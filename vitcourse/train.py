"""A small, readable training loop shared by every lecture.

Schedules are counted in optimiser steps, never in seconds, so a seeded run
reproduces exactly; an optional ``max_seconds`` is only a safety net. The
returned `History` holds the curves and plots itself.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .utils import DEVICES, check_int, check_positive, get_device, seed_everything, threads_for

__all__ = ["History", "fit", "evaluate", "cosine_lr", "predict", "progress_enabled", "make_adamw"]


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
        return (f"History(steps={self.steps_done}, final_acc={self.final_acc:.4f}, best_acc={self.best_acc:.4f}, "
                f"seconds={self.seconds:.1f})")


def _as_loader(data, batch_size: int, shuffle: bool, generator: torch.Generator | None, name: str) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=shuffle
                          and len(data) >= batch_size)
    raise TypeError(f"{name} must be a torch Dataset or DataLoader, got {type(data).__name__}")


def _forever(loader: DataLoader) -> Iterator:
    while True:
        yield from loader


def _to(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    return batch


@torch.no_grad()
def evaluate(model: nn.Module, data, *, loss_fn: Callable = F.cross_entropy, batch_size: int = 256,
             device: torch.device | str | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier over ``data`` (``(x, y)`` batches), under ``no_grad``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    loader = _as_loader(data, batch_size, False, None, "data")
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
    if total == 0:
        raise ValueError("data is empty: cannot evaluate on zero examples")
    return loss_sum / total, correct / total


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Logits of ``model`` on ``x`` in batches, under ``no_grad`` and ``eval()``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
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
        raise ValueError(f"device must be one of {choices} (or a torch.device), got {device!r}"
                         + (": for an NVIDIA GPU use 'cuda'" if device == "gpu" else ""))
    kind = device.split(":")[0]
    try:
        get_device(kind)  # raises when that kind of device is not available
    except ValueError:
        raise ValueError(f"device={device!r} was asked for, but no {kind} device is available here; "
                         f"use 'cpu' or 'auto' (the best available device)") from None
    return torch.device(device)


def fit(model: nn.Module, train, test=None, *, steps: int, batch_size: int = 64, lr: float = 1e-3,
        weight_decay: float = 0.05, warmup_steps: int = 0, min_lr: float = 0.0, eval_every: int | None = None,
        loss_fn: Callable = F.cross_entropy, augment: Callable | None = None, label_smoothing: float = 0.0,
        grad_clip: float | None = 1.0, seed: int = 0, device: torch.device | str | None = None,
        max_seconds: float | None = None, progress: bool | None = None, desc: str = "train",
        threads: int | str | None = None) -> History:
    """Train a classifier with AdamW and a warm-up + cosine schedule for a fixed number of steps.

    Args:
        model: any ``nn.Module`` mapping a batch ``x`` to logits ``(B, classes)``.
        train, test: ``Dataset`` or ``DataLoader`` of ``(x, y)``; ``test`` may be ``None``.
        steps: optimiser steps (the schedule; results reproduce for a given seed).
        augment: optional function applied to each training batch ``x`` (on the device).
        eval_every: steps between evaluations (default: 10 evaluations in all).
        max_seconds: stop early after this much wall time (a safety net; the
            history says ``stopped_early``).
        progress: draw a tqdm bar (default: `progress_enabled()`).
        device: ``"cpu"``, ``"cuda"`` (or ``"cuda:1"``), ``"mps"``, a
            ``torch.device``, or ``None`` / ``"auto"`` for the best available
            one (`get_device`); anything else raises a ValueError listing these.
        threads: CPU threads while training (default: chosen for the model's size by
            `vitcourse.utils.configure_threads`, or ``VITCOURSE_THREADS``); the previous
            count is restored afterwards. ``"torch"`` keeps PyTorch's count.

    Returns:
        `History` with train loss, test loss and accuracy per evaluation.
    """
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
    device = _resolve_device(device)
    seed_everything(seed)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    train_loader = _as_loader(train, batch_size, True, generator, "train")
    if test is not None:
        _as_loader(test, batch_size, False, None, "test")  # validates the type early
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    optimizer = make_adamw([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    with threads_for(model if device.type == "cpu" else None, threads=threads):
        history = History()
        show = progress_enabled() if progress is None else bool(progress)
        bar = tqdm(total=steps, desc=desc, disable=not show, leave=False, mininterval=0.5)
        start = time.perf_counter()
        running, seen = 0.0, 0
        model.train()
        batches = _forever(train_loader)
        for step in range(steps):
            current_lr = cosine_lr(step, steps, lr, warmup_steps, min_lr)
            for group in optimizer.param_groups:
                group["lr"] = current_lr
            x, y = _to(next(batches), device)
            if augment is not None:
                x = augment(x)
            logits = model(x)
            if loss_fn is F.cross_entropy:
                loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
            else:
                loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            running += loss.item()
            seen += 1
            bar.update(1)
            history.steps_done = step + 1
            out_of_time = max_seconds is not None and time.perf_counter() - start > max_seconds
            if (step + 1) % eval_every == 0 or step + 1 == steps or out_of_time:
                history.step.append(step + 1)
                history.train_loss.append(running / seen)
                history.lr.append(current_lr)
                running, seen = 0.0, 0
                if test is not None:
                    test_loss, test_acc = evaluate(model, test, loss_fn=loss_fn, device=device)
                    history.test_loss.append(test_loss)
                    history.test_acc.append(test_acc)
                    bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", acc=f"{test_acc:.3f}")
            if out_of_time:
                history.stopped_early = True
                break
        bar.close()
        history.seconds = time.perf_counter() - start
        model.eval()
    return history
