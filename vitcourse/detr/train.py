"""Training DETR for a fixed, seeded number of steps (lecture 09).

As in the paper's recipe: AdamW, a lower learning rate for the backbone,
gradient clipping at max norm 0.1, the weighted set loss of
`vitcourse.detr.SetCriterion` (auxiliary losses included). Differences: the
schedule is a linear warm-up and cosine decay counted in steps (the paper
drops the rate tenfold after 200 of 300 epochs), so a short CPU run on
`vitcourse.data.DetectionCanvas` reproduces exactly for a given seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data import collate_fn
from ..train import Batches, cosine_lr, make_adamw, optimizer_step, progress_enabled
from ..utils import check_int, check_positive, get_device, seed_everything, threads_for

__all__ = ["DetectionHistory", "fit_detr"]


@dataclass
class DetectionHistory:
    """Loss curves of `fit_detr`: the weighted total and each named loss (last layer), per logged step."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def plot(self, title: str | None = None):
        """Total loss and its parts against step (log scale); returns the figure."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        axes[0].plot(self.step, self.loss)
        axes[0].set(xlabel="step", ylabel="weighted set loss", yscale="log", title=title or "training loss")
        for name, values in self.parts.items():
            axes[1].plot(self.step, values, label=name)
        axes[1].set(xlabel="step", yscale="log", title="parts (last decoder layer)")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.3f}" if self.loss else "nan"
        return f"DetectionHistory(steps={self.step[-1] if self.step else 0}, loss={last}, seconds={self.seconds:.1f})"


def fit_detr(
    model,
    criterion,
    train_data,
    *,
    steps: int,
    batch_size: int = 16,
    lr: float = 1e-4,
    lr_backbone: float | None = None,
    weight_decay: float = 1e-4,
    grad_clip: float | None = 0.1,
    warmup_steps: int = 0,
    min_lr: float = 0.0,
    log_every: int = 25,
    seed: int = 0,
    device=None,
    progress: bool | None = None,
    threads: int | str | None = None,
) -> DetectionHistory:
    """Train ``model`` with ``criterion`` on ``train_data`` (``(image, target)`` items) for ``steps`` steps.

    Args:
        lr, lr_backbone: learning rates of the transformer/heads and of the
            backbone (default: the same as ``lr``; the paper uses 1e-4 and 1e-5).
        grad_clip: maximum gradient norm (paper: 0.1); None turns clipping off.
        log_every: steps between entries of the returned history.
        threads: CPU threads while training (default: chosen for the model's size by
            `vitcourse.utils.configure_threads`); the previous count is restored afterwards.
    Returns:
        `DetectionHistory`; the model is left in ``eval()`` mode.
    """
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_positive("lr", lr)
    lr_backbone = lr if lr_backbone is None else check_positive("lr_backbone", lr_backbone)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0, maximum=steps)
    log_every = check_int("log_every", log_every, minimum=1)
    if len(train_data) < batch_size:
        raise ValueError(f"train_data has {len(train_data)} items, fewer than one batch of {batch_size}")
    seed_everything(seed)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    criterion.to(device)
    loader = DataLoader(
        train_data,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        collate_fn=collate_fn,
        generator=torch.Generator().manual_seed(seed),
    )
    backbone = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone.")]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.")]
    optimizer = make_adamw(
        [{"params": rest, "lr": lr, "base": lr}, {"params": backbone, "lr": lr_backbone, "base": lr_backbone}],
        weight_decay=weight_decay,
    )
    with threads_for(model if device.type == "cpu" else None, threads=threads):
        history = DetectionHistory()
        show = progress_enabled() if progress is None else bool(progress)
        bar = tqdm(total=steps, desc="DETR", disable=not show, leave=False, mininterval=0.5)
        running: dict[str, float] = {}
        seen = 0
        start = time.perf_counter()
        model.train()
        batches = Batches(loader)  # endless: a new epoch (reshuffled) when one runs out, as in `fit`
        for step in range(steps):
            images, targets = next(batches)
            images = images.to(device)
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            factor = cosine_lr(step, steps, 1.0, warmup_steps, min_lr / lr)
            for group in optimizer.param_groups:
                group["lr"] = group["base"] * factor
            losses = criterion(model(images), targets)
            loss = criterion.total_loss(losses)
            optimizer_step(optimizer, loss, model.parameters(), grad_clip)
            for k in ("total", "loss_ce", "loss_bbox", "loss_giou", "cardinality_error"):
                v = loss.item() if k == "total" else (losses[k].item() if k in losses else float("nan"))
                running[k] = running.get(k, 0.0) + v
            seen += 1
            bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                history.step.append(step + 1)
                history.loss.append(running.pop("total") / seen)
                for k, v in running.items():
                    history.parts.setdefault(k, []).append(v / seen)
                history.lr.append(lr * factor)
                bar.set_postfix(loss=f"{history.loss[-1]:.3f}")
                running, seen = {}, 0
        bar.close()
        history.seconds = time.perf_counter() - start
        model.eval()
    return history
