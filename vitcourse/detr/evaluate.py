"""COCO-style detection metrics with the official ``pycocotools``, not a home-made AP.

Paper: Lin et al., "Microsoft COCO: Common Objects in Context" (arXiv:1405.0312);
DETR reports ``AP`` = mAP averaged over IoU thresholds 0.50:0.05:0.95 and ``AP50``.

The ground truth and the detections are turned into in-memory COCO objects
(no JSON files) and scored by ``pycocotools.cocoeval.COCOeval``; its prints
are silenced. Boxes: targets in normalised ``cxcywh`` (as `vitcourse.data`
makes them), detections in pixel ``xyxy`` (as `vitcourse.detr.post_process`
returns them); COCO itself wants pixel ``[x, y, w, h]``.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..data import collate_fn
from .boxes import box_cxcywh_to_xyxy, scale_boxes
from .model import post_process

__all__ = ["coco_map", "evaluate_detr", "predict_detr"]

_STAT_NAMES = (
    "map",
    "map50",
    "map75",
    "map_small",
    "map_medium",
    "map_large",
    "mar1",
    "mar10",
    "mar100",
    "mar_small",
    "mar_medium",
    "mar_large",
)


def _xywh(boxes_xyxy: torch.Tensor) -> list[list[float]]:
    b = boxes_xyxy.detach().double().cpu()
    return torch.cat([b[:, :2], b[:, 2:] - b[:, :2]], dim=1).tolist()  # [x, y, w, h] per box


def coco_map(predictions: list[dict], targets: list[dict], image_size, num_classes: int) -> dict[str, float]:
    """COCO metrics of ``predictions`` against ``targets`` (one dict each per image).

    Args:
        predictions: per image ``{"scores": (K,), "labels": (K,), "boxes": (K, 4)}``,
            boxes in pixel ``xyxy`` (see `vitcourse.detr.post_process`).
        targets: per image ``{"labels": (T,), "boxes": (T, 4)}``, boxes normalised ``cxcywh``.
        image_size: int or ``(H, W)``: the size all images share, in pixels.
        num_classes: number of classes (labels are ``0..num_classes-1``).

    Returns:
        ``{"map": mAP@[.5:.95], "map50": mAP@.5, "map75": ..., "mar100": ...}``: the
        12 numbers of ``COCOeval.summarize`` (-1 where a size range holds no object).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(predictions) != len(targets):
        raise ValueError(f"predictions has {len(predictions)} images but targets has {len(targets)}")
    if len(targets) == 0:
        raise ValueError("targets is empty: nothing to evaluate")
    h, w = (image_size, image_size) if isinstance(image_size, int) else (int(image_size[0]), int(image_size[1]))
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    detections: list[dict[str, Any]] = []
    for img_id, (pred, tgt) in enumerate(zip(predictions, targets)):
        images.append({"id": img_id, "width": w, "height": h})
        boxes = scale_boxes(box_cxcywh_to_xyxy(tgt["boxes"].float()), (h, w))
        for label, box in zip(tgt["labels"].tolist(), _xywh(boxes)):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": img_id,
                    "category_id": int(label),
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
        for score, label, box in zip(pred["scores"].tolist(), pred["labels"].tolist(), _xywh(pred["boxes"])):
            detections.append({"image_id": img_id, "category_id": int(label), "bbox": box, "score": float(score)})
    bad = [a["category_id"] for a in annotations + detections if not 0 <= a["category_id"] < num_classes]
    if bad:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {sorted(set(bad))}")
    categories = [{"id": c, "name": str(c)} for c in range(num_classes)]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress; keep notebooks clean
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations, "categories": categories}
        gt.createIndex()
        if detections:
            dt = gt.loadRes(detections)
        else:  # loadRes fails on an empty list; an empty result set lets COCOeval give 0, or -1 for empty ranges
            dt = COCO()
            dt.dataset = {"images": images, "annotations": [], "categories": categories}
            dt.createIndex()
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(_STAT_NAMES, np.asarray(ev.stats))}


@torch.no_grad()
def predict_detr(model, dataset, *, batch_size: int = 64, device=None):
    """Run ``model`` on every image of ``dataset``: (raw outputs concatenated, targets list, images)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits, boxes, targets, images = [], [], [], []
    for x, t in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_fn):
        out = model(x.to(device))
        logits.append(out["pred_logits"].cpu())
        boxes.append(out["pred_boxes"].cpu())
        targets += t
        images.append(x)
    model.train(was_training)
    outputs = {"pred_logits": torch.cat(logits), "pred_boxes": torch.cat(boxes)}  # (N, Q, C+1), (N, Q, 4)
    return outputs, targets, torch.cat(images)


def evaluate_detr(model, dataset, *, batch_size: int = 64, device=None) -> dict[str, float]:
    """COCO metrics (`coco_map`) of ``model`` on a `vitcourse.data.DetectionCanvas`-like data set.

    All ``Q`` predictions of each image are scored (COCO ranks them by score),
    as in DETR's evaluation.
    """
    outputs, targets, images = predict_detr(model, dataset, batch_size=batch_size, device=device)
    size = tuple(images.shape[-2:])
    num_classes = outputs["pred_logits"].shape[-1] - 1
    return coco_map(post_process(outputs, size), targets, size, num_classes)
