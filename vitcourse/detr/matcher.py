"""Bipartite (Hungarian) matching between DETR's predictions and the ground-truth objects.

Paper: Carion et al., "End-to-End Object Detection with Transformers" (DETR,
arXiv:2005.12872), section 3.1, and its code ``models/matcher.py``.

DETR predicts a *set* of ``Q`` boxes in no particular order. To train it, each
of the ``T <= Q`` ground-truth objects of an image is assigned to exactly one
prediction, the assignment with the lowest total cost, found by the Hungarian
algorithm (``scipy.optimize.linear_sum_assignment``). The other ``Q - T``
predictions are trained to say "no object". The cost of pairing prediction
``i`` with object ``j`` is

    C[i, j] = cost_class * (-p_i(c_j)) + cost_bbox * ||b_i - b_j||_1 + cost_giou * (-GIoU(b_i, b_j))

with ``p_i`` the softmax class probabilities of prediction ``i``, ``c_j`` the
object's class and ``b`` normalised ``cxcywh`` boxes (GIoU in ``xyxy``).

Shapes: ``B`` batch, ``Q`` queries (predictions per image), ``C`` classes
(without "no object"), ``T`` objects in one image.

Conventions (the paper's code): ``outputs = {"pred_logits": (B, Q, C+1),
"pred_boxes": (B, Q, 4)}``, ``targets = [{"labels": (T,), "boxes": (T, 4)}, ...]``.
Differences: the cost matrix is built per image, (Q, T_b), rather than for
every prediction against every object of the batch, (B*Q, sum T), then cut
into blocks (the paper's code): B times less work, the same numbers. The cost
matrices can be asked for on their own
(`HungarianMatcher.cost_matrices`, used to draw them in lecture 09), inputs are
validated with clear errors (target boxes outside [0, 1], usually pixels, raise
and say to divide by the image size), and a NaN cost raises instead of crashing scipy.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from scipy.optimize import linear_sum_assignment

from .boxes import _generalized_box_iou, box_cxcywh_to_xyxy, check_boxes_xyxy

__all__ = ["HungarianMatcher", "check_detection_inputs"]


NORMALISED_EPS = 1e-3  # slack for rounding when checking that target boxes lie in [0, 1]


def _check_normalised_targets(name: str, boxes: torch.Tensor) -> None:
    """Target boxes must be normalised ``cxcywh`` in [0, 1]; pixels are the usual mistake."""
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor of normalised cxcywh boxes, got dtype {boxes.dtype}")
    if not len(boxes):
        return
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{name} holds NaN or inf: {boxes.tolist()}")
    high, low = float(boxes.max()), float(boxes.min())
    if high > 1 + NORMALISED_EPS:
        raise ValueError(
            f"{name} holds values up to {high:g}, but DETR's targets are cxcywh boxes normalised by the "
            f"image size, in [0, 1]: these look like pixels. Divide by the image size: "
            f"boxes / torch.tensor([W, H, W, H]) (cx and w by the width W, cy and h by the height H)"
        )
    if low < -NORMALISED_EPS:
        raise ValueError(
            f"{name} holds a value {low:g} < 0, but DETR's targets are cxcywh boxes normalised by the "
            f"image size, in [0, 1] (a negative width or height, or xyxy corners outside the image?)"
        )


def check_detection_inputs(outputs: dict, targets: list) -> tuple[int, int, int]:
    """Validate DETR ``outputs`` and ``targets``; return ``(B, Q, C)`` (``C`` without "no object")."""
    if not isinstance(outputs, dict) or "pred_logits" not in outputs or "pred_boxes" not in outputs:
        got = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise ValueError(f"outputs must be a dict with 'pred_logits' (B, Q, C+1) and 'pred_boxes' (B, Q, 4), got {got}")
    logits, boxes = outputs["pred_logits"], outputs["pred_boxes"]
    if logits.ndim != 3 or logits.shape[-1] < 2:
        raise ValueError(f"outputs['pred_logits'] must have shape (B, Q, C+1) with C >= 1, got {tuple(logits.shape)}")
    B, Q, C1 = logits.shape
    if tuple(boxes.shape) != (B, Q, 4):
        raise ValueError(f"outputs['pred_boxes'] must have shape (B, Q, 4) = {(B, Q, 4)}, got {tuple(boxes.shape)}")
    if not isinstance(targets, (list, tuple)) or len(targets) != B:
        n = len(targets) if isinstance(targets, (list, tuple)) else type(targets).__name__
        raise ValueError(f"targets must be a list with one dict per image ({B} images), got {n}")
    for b, t in enumerate(targets):
        if not isinstance(t, dict) or "labels" not in t or "boxes" not in t:
            raise ValueError(f"targets[{b}] must be a dict with 'labels' (T,) and 'boxes' (T, 4)")
        labels, tboxes = t["labels"], t["boxes"]
        if labels.ndim != 1 or tboxes.ndim != 2 or tboxes.shape != (len(labels), 4):
            raise ValueError(
                f"targets[{b}]: expected labels (T,) and boxes (T, 4), got labels "
                f"{tuple(labels.shape)} and boxes {tuple(tboxes.shape)}"
            )
        _check_normalised_targets(f"targets[{b}]['boxes']", tboxes)
        if labels.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"targets[{b}]['labels'] must be an integer tensor, got dtype {labels.dtype}")
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= C1 - 1):
            raise ValueError(
                f"targets[{b}]['labels'] must lie in 0..{C1 - 2} (C = {C1 - 1} classes; index {C1 - 1} "
                f"is 'no object'), got {labels.tolist()}"
            )
        if len(labels) > Q:
            raise ValueError(f"targets[{b}] has {len(labels)} objects but the model makes only {Q} predictions")
    return B, Q, C1 - 1


class HungarianMatcher(nn.Module):
    """One-to-one assignment of predictions to objects with the lowest total matching cost.

    ``C = cost_class * (-p(class)) + cost_bbox * L1 + cost_giou * (-GIoU)``; the
    constant 1 of ``1 - p`` and ``1 - GIoU`` is dropped, as in the paper's code,
    since adding a constant to every entry does not change the assignment.

    Args:
        cost_class, cost_bbox, cost_giou: non-negative weights (the paper: 1, 5, 2).
    """

    def __init__(self, cost_class: float = 1.0, cost_bbox: float = 1.0, cost_giou: float = 1.0):
        super().__init__()
        for name, value in (("cost_class", cost_class), ("cost_bbox", cost_bbox), ("cost_giou", cost_giou)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if cost_class == 0 and cost_bbox == 0 and cost_giou == 0:
            raise ValueError("cost_class, cost_bbox and cost_giou are all 0: every assignment would cost the same")
        self.cost_class, self.cost_bbox, self.cost_giou = float(cost_class), float(cost_bbox), float(cost_giou)

    @torch.no_grad()
    def cost_matrices(self, outputs: dict, targets: list) -> list[torch.Tensor]:
        """The matching cost of every (prediction, object) pair: one ``(Q, T_b)`` matrix per image."""
        check_detection_inputs(outputs, targets)
        # What every image needs, computed once for the batch (and checked once).
        prob = outputs["pred_logits"].softmax(-1)  # (B, Q, C+1)
        out_bbox = outputs["pred_boxes"]  # (B, Q, 4)
        out_xyxy = box_cxcywh_to_xyxy(out_bbox)  # (B, Q, 4)
        tgt_bbox = torch.cat([t["boxes"] for t in targets]).to(out_bbox)  # (sum T, 4)
        tgt_xyxy = box_cxcywh_to_xyxy(tgt_bbox)  # (sum T, 4)
        check_boxes_xyxy("outputs['pred_boxes'] (as xyxy)", out_xyxy.flatten(0, 1))
        check_boxes_xyxy("targets' boxes (as xyxy)", tgt_xyxy)
        sizes = [len(t["boxes"]) for t in targets]
        B, Q = prob.shape[:2]
        if max(sizes, default=0) == 0:
            return [prob.new_zeros(Q, 0).cpu() for _ in targets]
        # Each image's own (Q, T_b) block, all in one batched call: the objects are padded to the batch's largest
        # count T with a dummy box (0.5 everywhere: a valid box) and class 0, and the padding is cut off after.
        # That is B times less work than every prediction against every object of the batch (HF's (B*Q, sum T)
        # matrix) and no Python loop of small calls per image.
        pad_bbox = nn.utils.rnn.pad_sequence(
            [t["boxes"].to(out_bbox) for t in targets], batch_first=True, padding_value=0.5
        )  # (B, T, 4)
        pad_ids = nn.utils.rnn.pad_sequence([t["labels"].to(prob.device) for t in targets], batch_first=True)  # (B, T)
        T = pad_ids.shape[1]
        cost_class = -prob.gather(2, pad_ids[:, None, :].expand(B, Q, T))  # -p_i(c_j), (B, Q, T)
        cost_bbox = torch.cdist(out_bbox, pad_bbox, p=1)  # ||b_i - b_j||_1, (B, Q, T)
        cost_giou = -_generalized_box_iou(out_xyxy, box_cxcywh_to_xyxy(pad_bbox))  # -GIoU, (B, Q, T)
        cost = self.cost_bbox * cost_bbox + self.cost_class * cost_class + self.cost_giou * cost_giou
        real = torch.arange(T, device=cost.device)[None, :] < torch.tensor(sizes, device=cost.device)[:, None]
        finite = (torch.isfinite(cost) | ~real[:, None, :]).flatten(1).all(1)  # (B,): padding does not count
        bad = (~finite).nonzero().flatten().tolist()
        if bad:
            raise ValueError(
                f"the matching cost of image {bad[0]} holds NaN or inf: the predicted logits or boxes "
                f"are not finite (did training diverge?)"
            )
        cost = cost.cpu()
        return [cost[b, :, :n] for b, n in enumerate(sizes)]  # B x (Q, T_b)

    @torch.no_grad()
    def forward(self, outputs: dict, targets: list) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Match each image's objects to predictions.

        Returns:
            One ``(pred_idx, tgt_idx)`` pair of int64 tensors per image, each of
            length ``T_b`` (0 for an image with no objects): prediction
            ``pred_idx[k]`` is assigned to object ``tgt_idx[k]``.
        """
        indices = []
        for c in self.cost_matrices(outputs, targets):
            rows, cols = linear_sum_assignment(c.numpy())  # Hungarian algorithm on the (Q, T_b) matrix
            indices.append((torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)))
        return indices

    def extra_repr(self) -> str:
        return f"cost_class={self.cost_class:g}, cost_bbox={self.cost_bbox:g}, cost_giou={self.cost_giou:g}"
