"""Segmentation metrics: the confusion matrix of a label map, IoU and Dice per class, and their means.

Lecture: ``notebooks/10_unet.ipynb`` (and exercise 10's ``dice_score``).
Classification accuracy is computed by `vitcourse.train.evaluate`; detection
AP by `vitcourse.detr.evaluate.coco_map` (with ``pycocotools``, beside the
DETR post-processing it scores).

Shapes: ``pred`` and ``target`` are integer label maps of one shape, e.g.
``(B, H, W)``, with values ``0..K-1`` for ``K`` classes (background
included). Every score counts all the pixels given (the whole batch at
once); a class absent from both ``pred`` and ``target`` has no defined
score: NaN, skipped by the means.
"""

from __future__ import annotations

import torch

from .utils import check_int

__all__ = ["confusion_matrix", "iou_per_class", "dice_per_class", "mean_iou", "mean_dice"]


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` int64 counts: row = true class, column = predicted class, over every pixel.

    ``pred`` and ``target`` are integer label maps of the same shape, e.g.
    ``(B, H, W)`` (take ``logits.argmax(1)`` first); values in ``0..K-1``.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(t).__name__}")
        if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
            raise TypeError(
                f"{name} must hold integer class indices, got dtype {t.dtype}; use logits.argmax(1) for predictions"
            )
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_classes):
            raise ValueError(f"{name} has values in [{int(t.min())}, {int(t.max())}], expected 0..{num_classes - 1}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    idx = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()  # (B*H*W,) flat cell index
    return torch.bincount(idx, minlength=num_classes**2).view(num_classes, num_classes)  # (K, K)


def iou_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Intersection over union per class, ``(K,)`` float64: ``|P ∩ T| / |P ∪ T|``.

    Counted over all pixels given (the whole batch at once). A class absent
    from both ``pred`` and ``target`` has no defined IoU: NaN (skipped by `mean_iou`).
    """
    cm = confusion_matrix(pred, target, num_classes).double()
    inter = cm.diagonal()  # |P ∩ T| per class
    union = cm.sum(0) + cm.sum(1) - inter  # |P| + |T| - |P ∩ T|
    return torch.where(union > 0, inter / union.clamp_min(1), torch.full_like(inter, float("nan")))


def dice_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Dice score (F1 of the pixels) per class, ``(K,)`` float64: ``2 |P ∩ T| / (|P| + |T|)``.

    NaN for a class absent from both. Dice = 2 IoU / (1 + IoU), so it ranks like IoU but is larger.
    """
    cm = confusion_matrix(pred, target, num_classes).double()
    inter = cm.diagonal()
    total = cm.sum(0) + cm.sum(1)  # |P| + |T|
    return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.full_like(inter, float("nan")))


def _nanmean(values: torch.Tensor, what: str) -> float:
    present = values[~values.isnan()]
    if present.numel() == 0:
        raise ValueError(f"{what} is undefined: no class occurs in pred or target")
    return float(present.mean())


def mean_iou(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> float:
    """Mean of `iou_per_class` over the classes that occur (background included)."""
    return _nanmean(iou_per_class(pred, target, num_classes), "mean IoU")


def mean_dice(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> float:
    """Mean of `dice_per_class` over the classes that occur (background included)."""
    return _nanmean(dice_per_class(pred, target, num_classes), "mean Dice")
