"""Bounding-box operations for DETR: format conversions, IoU and generalised IoU.

Papers: Carion et al., "End-to-End Object Detection with Transformers"
(DETR, arXiv:2005.12872); Rezatofighi et al., "Generalized Intersection over
Union" (GIoU, arXiv:1902.09630).

Formats (every function says which one it takes):
- ``cxcywh``: centre x, centre y, width, height. DETR predicts and learns
  boxes in this format, *normalised* by the image size, so values lie in [0, 1].
- ``xyxy``: left, top, right, bottom corners. IoU and GIoU are computed here.

Shapes: ``N`` and ``M`` are numbers of boxes; ``(..., 4)`` means any leading
axes. All functions are pure: they never change their inputs.

Differences from the paper's code (``util/box_ops.py``): degenerate boxes
(right < left, bottom < top, or NaN/inf coordinates) raise a ValueError that
names the argument and the first bad box instead of a bare ``assert``; boxes
with zero area are allowed and give an IoU of 0 (never 0/0 = NaN). A wrong
format fails loudly where it can be seen: ``box_cxcywh_to_xyxy`` raises on a
negative width or height, and ``box_area`` (which takes ``xyxy``) raises on
x1 < x0 or y1 < y0, the usual sign that ``cxcywh`` boxes were passed.
"""

from __future__ import annotations

import torch

__all__ = [
    "box_cxcywh_to_xyxy",
    "box_xyxy_to_cxcywh",
    "scale_boxes",
    "box_area",
    "check_boxes_xyxy",
    "box_iou",
    "generalized_box_iou",
]


def _check_last_dim(name: str, boxes) -> None:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4), got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor, got dtype {boxes.dtype}")


def _first_bad(bad: torch.Tensor) -> tuple[int, ...]:
    """Index (over the leading axes) of the first True in ``bad`` ``(...)``."""
    return tuple(int(i) for i in bad.nonzero()[0])


def _shown(box: torch.Tensor) -> list[float]:
    return [round(float(v), 4) for v in box.detach().flatten()]


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` centre/size boxes -> ``(..., 4)`` corner boxes: ``x0 = cx - w/2``, ``x1 = cx + w/2``.

    Raises ValueError on a negative width or height (the corners would come
    out swapped and every IoU after it would be silently wrong).
    """
    _check_last_dim("boxes", boxes)
    negative = (boxes[..., 2:] < 0).any(-1)  # (...,)
    if bool(negative.any()):
        i = _first_bad(negative)
        where = f" at index {i[0] if len(i) == 1 else i}" if i else ""
        raise ValueError(
            f"boxes holds a cxcywh box with a negative width or height{where}: "
            f"{_shown(boxes[i])}; expected (cx, cy, w, h) with w >= 0 and h >= 0. Are these raw "
            f"predictions without the sigmoid that keeps DETR's boxes in [0, 1], or boxes in "
            f"another format?"
        )
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)  # (..., 4)


def box_xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` corner boxes -> ``(..., 4)`` centre/size boxes: ``cx = (x0 + x1)/2``, ``w = x1 - x0``."""
    _check_last_dim("boxes", boxes)
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)  # (..., 4)


def scale_boxes(boxes: torch.Tensor, size) -> torch.Tensor:
    """Normalised boxes (either format) -> pixels, multiplying x by the width and y by the height.

    Args:
        boxes: ``(..., 4)`` normalised boxes, ``cxcywh`` or ``xyxy`` (both
            scale the same way: x-like entries by W, y-like entries by H).
        size: the image size in pixels: an int (square), a pair ``(H, W)``, or
            a tensor ``(B, 2)`` of ``(H, W)`` rows for boxes ``(B, Q, 4)``.
    """
    _check_last_dim("boxes", boxes)
    if isinstance(size, torch.Tensor) and size.ndim == 2:
        if size.shape[-1] != 2 or boxes.ndim != 3 or size.shape[0] != boxes.shape[0]:
            raise ValueError(
                f"a size tensor must be (B, 2) rows of (H, W) for boxes (B, Q, 4); got size "
                f"{tuple(size.shape)} for boxes {tuple(boxes.shape)}"
            )
        h, w = size.to(boxes).unbind(-1)  # (B,), (B,)
        factor = torch.stack([w, h, w, h], dim=-1)[:, None, :]  # (B, 1, 4)
        return boxes * factor
    if isinstance(size, bool):
        raise TypeError(f"size must be an int, a pair (H, W) or a (B, 2) tensor, got {size!r}")
    if isinstance(size, int):
        size = (size, size)
    if not (isinstance(size, (tuple, list)) and len(size) == 2) or any(float(s) <= 0 for s in size):
        raise ValueError(
            f"size must be a positive int, a pair (H, W) of positive numbers or a (B, 2) tensor, got {size!r}"
        )
    height, width = float(size[0]), float(size[1])
    return boxes * boxes.new_tensor([width, height, width, height])


def check_boxes_xyxy(name: str, boxes: torch.Tensor) -> None:
    """Raise ValueError if ``boxes`` ``(N, 4)`` xyxy holds NaN/inf or an inverted box (x1 < x0 or y1 < y0)."""
    _check_last_dim(name, boxes)
    if boxes.ndim != 2:
        raise ValueError(f"{name} must have shape (N, 4), got {tuple(boxes.shape)}")
    finite = torch.isfinite(boxes).all(-1)  # (N,)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0])
        raise ValueError(
            f"{name} holds a box with NaN or inf coordinates at index {i}: {boxes[i].tolist()} (did training diverge?)"
        )
    inverted = (boxes[:, 2:] < boxes[:, :2]).any(-1)  # (N,)
    if bool(inverted.any()):
        i = int(inverted.nonzero()[0])
        raise ValueError(
            f"{name} holds a degenerate box at index {i}: {boxes[i].tolist()}; expected xyxy boxes "
            f"with x1 >= x0 and y1 >= y0 (were cxcywh boxes passed without box_cxcywh_to_xyxy?)"
        )


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas ``(...)`` of **xyxy** boxes ``(..., 4)``: ``(x1 - x0) * (y1 - y0)``.

    Raises ValueError when a box has x1 < x0 or y1 < y0, which is what
    ``cxcywh`` boxes usually look like here; for those, the area is simply
    ``w * h`` (or call ``box_area(box_cxcywh_to_xyxy(boxes))``).
    """
    _check_last_dim("boxes", boxes)
    inverted = (boxes[..., 2:] < boxes[..., :2]).any(-1)  # (...,)
    if bool(inverted.any()):
        i = _first_bad(inverted)
        where = f" at index {i[0] if len(i) == 1 else i}" if i else ""
        raise ValueError(
            f"box_area takes xyxy boxes (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0, but boxes holds "
            f"{_shown(boxes[i])}{where}. If these are cxcywh boxes, convert them first: "
            f"box_area(box_cxcywh_to_xyxy(boxes)), or use w * h"
        )
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _iou_and_union(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and union of every pair, ``(..., N, M)`` for ``(..., N, 4)`` and ``(..., M, 4)`` (a batch of images too)."""
    area1, area2 = box_area(boxes1), box_area(boxes2)  # (..., N), (..., M)
    top_left = torch.max(boxes1[..., :, None, :2], boxes2[..., None, :, :2])  # (..., N, M, 2)
    bottom_right = torch.min(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])  # (..., N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # (..., N, M, 2)
    inter = wh[..., 0] * wh[..., 1]  # (..., N, M)
    union = area1[..., :, None] + area2[..., None, :] - inter  # (..., N, M)
    iou = inter / union.clamp(min=torch.finfo(union.dtype).tiny)  # |A n B| / |A u B|; 0 when both areas are 0
    return iou, union


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise intersection over union ``(N, M)`` of xyxy boxes ``(N, 4)`` and ``(M, 4)``.

    ``IoU(A, B) = |A n B| / |A u B|``, in [0, 1]. Degenerate boxes raise ValueError.
    """
    check_boxes_xyxy("boxes1", boxes1)
    check_boxes_xyxy("boxes2", boxes2)
    return _iou_and_union(boxes1, boxes2)[0]


def generalized_box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise generalised IoU ``(N, M)`` of xyxy boxes ``(N, 4)`` and ``(M, 4)``.

    ``GIoU(A, B) = IoU(A, B) - |C \\ (A u B)| / |C|`` with ``C`` the smallest
    box enclosing both. It lies in (-1, 1], equals 1 only for identical boxes
    and, unlike IoU, still says how far apart two disjoint boxes are, so
    ``1 - GIoU`` gives a gradient even when the boxes do not overlap.
    Degenerate boxes raise ValueError.
    """
    check_boxes_xyxy("boxes1", boxes1)
    check_boxes_xyxy("boxes2", boxes2)
    return _generalized_box_iou(boxes1, boxes2)


def _generalized_box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """`generalized_box_iou` without the checks, for boxes already checked; batched: ``(..., N, 4), (..., M, 4)``."""
    iou, union = _iou_and_union(boxes1, boxes2)  # (..., N, M), (..., N, M)
    top_left = torch.min(boxes1[..., :, None, :2], boxes2[..., None, :, :2])  # (..., N, M, 2)
    bottom_right = torch.max(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])  # (..., N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # (..., N, M, 2)
    enclosing = wh[..., 0] * wh[..., 1]  # |C|, (..., N, M)
    return iou - (enclosing - union) / enclosing.clamp(min=torch.finfo(enclosing.dtype).tiny)
