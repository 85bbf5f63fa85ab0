"""DETR's set loss: match predictions to objects, then score classes and boxes.

Paper: Carion et al., "End-to-End Object Detection with Transformers" (DETR,
arXiv:2005.12872), section 3.1 (Hungarian loss) and its code
``models/detr.py`` (``SetCriterion``).

For each image the `HungarianMatcher` gives a one-to-one assignment
``sigma`` of objects to predictions; then

    L = sum_i [ -w(c_i) log p_sigma(i)(c_i) ]  +  sum_{matched} [ l_L1 * ||b_i - b_sigma(i)||_1 + l_giou * (1 - GIoU) ]

where unmatched predictions have the target class "no object" (index ``C``)
whose cross-entropy weight ``w`` is ``eos_coef`` (0.1 in the paper) instead of
1, because most of the ``Q`` predictions are "no object". Box losses are summed
over matched pairs and divided by the number of objects in the batch.
With auxiliary decoding losses the same loss (with a fresh matching) is added
for the output of every decoder layer, keys suffixed ``_0``, ``_1``, ...

Shapes: ``B`` batch, ``Q`` queries, ``C`` classes (without "no object"),
``T`` objects in one image. Conventions as in `vitcourse.detr.matcher`.
Differences from the paper's code: no distributed averaging of the number of
boxes, no class-error logging metric; the weighted total is a method
(`SetCriterion.total_loss`) instead of code in the training loop.
"""

from __future__ import annotations

import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils import check_int
from .boxes import box_cxcywh_to_xyxy, generalized_box_iou
from .matcher import HungarianMatcher, check_detection_inputs

__all__ = ["SetCriterion", "DEFAULT_WEIGHTS"]

#: The paper's loss weights (cross-entropy 1, L1 5, GIoU 2).
DEFAULT_WEIGHTS = {"loss_ce": 1.0, "loss_bbox": 5.0, "loss_giou": 2.0}
_AUX_SUFFIX = re.compile(r"_\d+$")


class SetCriterion(nn.Module):
    """The Hungarian set loss of DETR, one named method per loss.

    Args:
        num_classes: number of object classes ``C`` (the model predicts ``C + 1``
            logits, the last one "no object").
        matcher: a `HungarianMatcher` (default: the paper's costs 1, 5, 2).
        weight_dict: weight of each loss key in `total_loss` (default
            `DEFAULT_WEIGHTS`); auxiliary keys ``loss_ce_0`` ... take the weight
            of their base key unless listed themselves.
        eos_coef: cross-entropy weight of the "no object" class (paper: 0.1).
        losses: which loss methods to run: ``"labels"``, ``"boxes"``, ``"cardinality"``.
    """

    empty_weight: torch.Tensor  # a buffer (register_buffer in __init__)

    def __init__(
        self,
        num_classes: int,
        matcher: HungarianMatcher | None = None,
        *,
        weight_dict: dict[str, float] | None = None,
        eos_coef: float = 0.1,
        losses: tuple[str, ...] = ("labels", "boxes", "cardinality"),
    ):
        super().__init__()
        num_classes = check_int("num_classes", num_classes, minimum=1)
        if isinstance(eos_coef, bool) or not isinstance(eos_coef, (int, float)) or not 0 < eos_coef <= 1:
            raise ValueError(f"eos_coef must be a number in (0, 1], got {eos_coef!r}")
        unknown = [name for name in losses if name not in self._loss_methods()]
        if unknown:
            raise ValueError(f"unknown losses {unknown}; expected names from {sorted(self._loss_methods())}")
        self.num_classes = num_classes
        self.matcher = matcher if matcher is not None else HungarianMatcher(1.0, 5.0, 2.0)
        self.weight_dict = dict(DEFAULT_WEIGHTS if weight_dict is None else weight_dict)
        self.eos_coef = float(eos_coef)
        self.losses = tuple(losses)
        empty_weight = torch.ones(num_classes + 1)
        empty_weight[-1] = self.eos_coef  # w("no object") = eos_coef, w(class) = 1
        self.register_buffer("empty_weight", empty_weight, persistent=False)

    @staticmethod
    def _loss_methods() -> dict[str, str]:
        return {"labels": "loss_labels", "boxes": "loss_boxes", "cardinality": "loss_cardinality"}

    # -------------------------------------------------------------- the losses

    @staticmethod
    def _matched_predictions(indices) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch_idx, pred_idx)`` of every matched prediction, for indexing ``(B, Q, ...)`` tensors."""
        batch_idx = torch.cat([torch.full_like(pred, b) for b, (pred, _) in enumerate(indices)])  # (sum T,)
        pred_idx = torch.cat([pred for pred, _ in indices])  # (sum T,)
        return batch_idx, pred_idx

    def loss_labels(self, outputs: dict, targets: list, indices, num_boxes: float) -> dict[str, torch.Tensor]:
        """Cross-entropy over all ``B * Q`` predictions; unmatched ones target "no object" (weight ``eos_coef``)."""
        logits = outputs["pred_logits"]  # (B, Q, C+1)
        batch_idx, pred_idx = self._matched_predictions(indices)
        target_classes = torch.full(
            logits.shape[:2], self.num_classes, dtype=torch.int64, device=logits.device
        )  # (B, Q), all "no object"
        matched_labels = torch.cat([t["labels"][tgt] for t, (_, tgt) in zip(targets, indices)]).to(logits.device)
        target_classes[batch_idx.to(logits.device), pred_idx.to(logits.device)] = matched_labels
        weight = self.empty_weight.to(logits)
        loss_ce = F.cross_entropy(logits.transpose(1, 2), target_classes, weight)  # weighted mean over B*Q
        return {"loss_ce": loss_ce}

    def loss_boxes(self, outputs: dict, targets: list, indices, num_boxes: float) -> dict[str, torch.Tensor]:
        """L1 and ``1 - GIoU`` between matched predicted and true boxes, summed, divided by ``num_boxes``."""
        batch_idx, pred_idx = self._matched_predictions(indices)
        pred = outputs["pred_boxes"][batch_idx, pred_idx]  # (sum T, 4)
        true = torch.cat([t["boxes"][tgt] for t, (_, tgt) in zip(targets, indices)]).to(pred)  # (sum T, 4)
        loss_bbox = F.l1_loss(pred, true, reduction="none").sum() / num_boxes
        giou = torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(true)))  # (sum T,)
        loss_giou = (1 - giou).sum() / num_boxes
        return {"loss_bbox": loss_bbox, "loss_giou": loss_giou}

    @torch.no_grad()
    def loss_cardinality(self, outputs: dict, targets: list, indices, num_boxes: float) -> dict[str, torch.Tensor]:
        """A metric, not trained: mean |number of predictions that are not "no object" - number of objects|."""
        logits = outputs["pred_logits"]  # (B, Q, C+1)
        n_true = torch.as_tensor([len(t["labels"]) for t in targets], device=logits.device, dtype=torch.float32)
        n_pred = (logits.argmax(-1) != logits.shape[-1] - 1).sum(1).float()  # (B,)
        return {"cardinality_error": F.l1_loss(n_pred, n_true)}

    # -------------------------------------------------------------- combining

    def get_loss(self, name: str, outputs: dict, targets: list, indices, num_boxes: float) -> dict:
        """Run the loss method called ``name`` (``"labels"``, ``"boxes"`` or ``"cardinality"``)."""
        methods = self._loss_methods()
        if name not in methods:
            raise ValueError(f"unknown loss {name!r}; expected one of {sorted(methods)}")
        return getattr(self, methods[name])(outputs, targets, indices, num_boxes)

    def forward(self, outputs: dict, targets: list) -> dict[str, torch.Tensor]:
        """Every loss of the last decoder layer, and of each earlier one (``aux_outputs``), as a dict.

        Args:
            outputs: ``{"pred_logits": (B, Q, C+1), "pred_boxes": (B, Q, 4)}``,
                optionally ``"aux_outputs"``: a list of such dicts, one per
                earlier decoder layer.
            targets: one ``{"labels": (T,), "boxes": (T, 4)}`` per image.
        """
        _, _, C = check_detection_inputs(outputs, targets)
        if C != self.num_classes:
            raise ValueError(
                f"outputs['pred_logits'] has {C + 1} logits per query, expected num_classes + 1 = "
                f"{self.num_classes + 1}"
            )
        indices = self.matcher(outputs, targets)
        num_boxes = max(float(sum(len(t["labels"]) for t in targets)), 1.0)  # objects in the batch, at least 1
        losses = {}
        for name in self.losses:
            losses.update(self.get_loss(name, outputs, targets, indices, num_boxes))
        for i, aux in enumerate(outputs.get("aux_outputs", [])):
            aux_indices = self.matcher(aux, targets)  # each layer gets its own matching
            for name in self.losses:
                losses.update(
                    {f"{k}_{i}": v for k, v in self.get_loss(name, aux, targets, aux_indices, num_boxes).items()}
                )
        return losses

    def weight(self, key: str) -> float:
        """The weight of loss ``key`` in the total (0 for metrics such as ``cardinality_error``)."""
        if key in self.weight_dict:
            return float(self.weight_dict[key])
        return float(self.weight_dict.get(_AUX_SUFFIX.sub("", key), 0.0))

    def total_loss(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """``sum_k weight(k) * losses[k]``: the scalar to call ``backward()`` on."""
        terms = [self.weight(k) * v for k, v in losses.items() if self.weight(k) != 0]
        if not terms:
            raise ValueError(f"no loss in {sorted(losses)} has a weight in weight_dict {self.weight_dict}")
        return torch.stack(terms).sum()

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, eos_coef={self.eos_coef:g}, losses={self.losses}, "
            f"weight_dict={self.weight_dict}"
        )
