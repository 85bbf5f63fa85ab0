"""Checks for exercises/09_detr.ipynb: box conversion, generalised IoU, the Hungarian matcher, the set loss.

References are the package's tested implementations (`vitcourse.detr`), run in
float64. The matcher is judged by the *total matched cost* (any optimal
assignment passes; random continuous inputs make it unique almost surely) and
by the validity of the assignment (one-to-one, every object matched, int64).
Targets travel as flat arrays (``labels``, ``boxes`` and ``counts`` per
image) because check inputs must be plain data; `run` rebuilds DETR's list
of dicts.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, register, visible_variant

__all__ = []


def _random_boxes(rng, n, *, low=0.05, high=0.5):
    """``(n, 4)`` normalised cxcywh boxes well inside [0, 1]."""
    wh = rng.uniform(low, high, size=(n, 2))
    c = rng.uniform(wh / 2, 1 - wh / 2)
    return np.concatenate([c, wh], axis=1)


def _xyxy(cxcywh):
    c, wh = cxcywh[:, :2], cxcywh[:, 2:]
    return np.concatenate([c - wh / 2, c + wh / 2], axis=1)


def _torch(x):
    import torch

    return torch.from_numpy(np.asarray(x, dtype=np.float64))


@register
class BoxCxcywhToXyxy(Check):
    name = "09.box_cxcywh_to_xyxy"
    absent = ("detr",)
    forbidden = (
        "vitcourse.detr",
        "torchvision.ops.box_convert",
        "torchvision.ops.box_cxcywh_to_xyxy",
    )
    target = "box_cxcywh_to_xyxy"
    mistakes = (
        ("mistake.09.box_full_size", lambda i: BoxCxcywhToXyxy.variant(i, "full_size")),
        ("mistake.09.box_corner", lambda i: BoxCxcywhToXyxy.variant(i, "corner")),
    )

    @staticmethod
    def variant(inputs, mistake: str):
        """Corners with one mistake: a whole width and height each way from the centre (``"full_size"``), or the
        centre read as the top-left corner (``"corner"``)."""
        b = inputs["boxes"].astype(np.float64)
        c, size = b[..., :2], b[..., 2:]
        lo, hi = (c - size, c + size) if mistake == "full_size" else (c, c + size)
        return np.concatenate([lo, hi], axis=-1)

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: a list of boxes, a (2, 3) grid of them, one box; as the hidden cases vary
            shape = ((5,), (2, 3), (1,))[visible_variant(rng, 3)]
        else:
            shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        return {"boxes": _random_boxes(rng, int(np.prod(shape))).reshape(*shape, 4).astype(np.float32)}

    def reference(self, inputs):
        b = inputs["boxes"].astype(np.float64)
        return np.concatenate([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], axis=-1)


@register
class GeneralizedBoxIoU(Check):
    name = "09.generalized_box_iou"
    absent = ("detr",)
    forbidden = (
        "vitcourse.detr",
        "torchvision.ops.generalized_box_iou",
        "torchvision.ops.box_iou",
    )
    target = "generalized_box_iou"
    rtol, atol = 1e-4, 1e-5

    def case_features(self, inputs):
        a, b = (np.asarray(inputs[k], np.float64)[:, None] for k in ("boxes1", "boxes2"))
        b = np.swapaxes(b, 0, 1)  # (1, m, 4) against a's (n, 1, 4)
        same = np.isclose(a, b, atol=1e-6).all(-1)
        inside = (b[..., :2] >= a[..., :2]).all(-1) & (b[..., 2:] <= a[..., 2:]).all(-1) & ~same
        return {f"an identical pair: {bool(same.any())}", f"a box inside another: {bool(inside.any())}"}

    def make_inputs(self, rng, hidden):
        variant = 0 if hidden else visible_variant(rng, 3)
        n, m = ((4, 3), (3, 5), (1, 2))[variant] if not hidden else (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        a = _random_boxes(rng, n)
        b = _random_boxes(rng, m)
        if (hidden or variant == 1) and n >= 2 and m >= 2:
            b[0] = a[0]  # an identical pair (GIoU 1)
            b[1] = a[1] * np.array([1, 1, 0.5, 0.5])  # a box inside another
        return {"boxes1": _xyxy(a).astype(np.float32), "boxes2": _xyxy(b).astype(np.float32)}

    def reference(self, inputs):
        from ..detr.boxes import generalized_box_iou

        return generalized_box_iou(_torch(inputs["boxes1"]), _torch(inputs["boxes2"])).numpy()


#: The visible detection cases, one per seed: (B, Q, C, objects per image, cost_class, cost_bbox, cost_giou).
#: The hidden ones draw each: an image without objects, a batch without any, other weights of the costs.
VISIBLE_DETECTION = (
    (2, 6, 3, (3, 1), 1.0, 5.0, 2.0),
    (3, 4, 2, (2, 0, 4), 2.0, 3.0, 0.5),
    (1, 5, 1, (0,), 1.0, 1.5, 1.0),
)


def _detection_case(rng, hidden, *, B=None):
    """Predictions (B, Q, C+1), (B, Q, 4) and flat targets; some images may have no objects."""
    if not hidden:
        nb, Q, C, counts, cost_class, cost_bbox, cost_giou = VISIBLE_DETECTION[visible_variant(rng, 3)]
        B = B or nb
        counts = np.array(counts[:B])
    else:
        B = B or int(rng.integers(1, 4))
        Q, C = int(rng.integers(3, 11)), int(rng.integers(1, 6))
        counts = rng.integers(0, Q + 1, size=B)
        counts[0] = 0 if rng.random() < 0.5 else counts[0]  # often an image without objects
    T = int(counts.sum())
    return {
        "pred_logits": rng.normal(0, 2, size=(B, Q, C + 1)).astype(np.float32),
        "pred_boxes": _random_boxes(rng, B * Q).reshape(B, Q, 4).astype(np.float32),
        "labels": rng.integers(0, C, size=T).astype(np.int64),
        "boxes": _random_boxes(rng, T).astype(np.float32).reshape(T, 4),
        "counts": counts.astype(np.int64),
        "cost_class": cost_class if not hidden else float(rng.choice([1.0, 2.0])),
        "cost_bbox": cost_bbox if not hidden else float(rng.uniform(1, 6)),
        "cost_giou": cost_giou if not hidden else float(rng.uniform(0.5, 3)),
    }


def _targets(inputs, to):
    out, start = [], 0
    for n in np.asarray(inputs["counts"]).tolist():
        out.append({"labels": to(inputs["labels"][start : start + n]), "boxes": to(inputs["boxes"][start : start + n])})
        start += n
    return out


@register
class HungarianMatch(Check):
    name = "09.hungarian_match"
    absent = ("detr",)
    forbidden = ("vitcourse.detr",)
    target = "hungarian_match"

    def case_features(self, inputs):
        T, Q = len(inputs["labels"]), inputs["pred_logits"].shape[1]
        return {"no objects" if T == 0 else "fewer objects than predictions" if T < Q else "an object per prediction"}

    def make_inputs(self, rng, hidden):
        case = _detection_case(rng, hidden, B=1)
        variant = 0 if hidden else visible_variant(rng, 3)
        if not hidden and variant == 0:
            case["pred_logits"], case["pred_boxes"] = case["pred_logits"][:, :5], case["pred_boxes"][:, :5]
        Q = case["pred_boxes"].shape[1]
        # visible, one per seed: 4 objects for 5 predictions, no objects, as many objects as predictions
        if not hidden:
            T = (4, 0, Q)[variant]
        else:
            T = 0 if rng.random() < 0.15 else int(rng.integers(max(1, Q - 2), Q + 1))
        C = case["pred_logits"].shape[-1] - 1
        case["counts"] = np.array([T])
        case["labels"] = rng.integers(0, C, size=T).astype(np.int64)
        case["boxes"] = _random_boxes(rng, T).astype(np.float32).reshape(T, 4)
        if T:  # predictions crowd around a few objects, so that greedy choices conflict
            near = case["boxes"][rng.integers(0, T, size=Q)]
            case["pred_boxes"][0] = np.clip(near + rng.normal(0, 0.08, size=near.shape), 0.02, 0.98)
        return case

    runner = "matcher"

    def _cost(self, inputs):
        from ..detr.matcher import HungarianMatcher

        outputs = {"pred_logits": _torch(inputs["pred_logits"]), "pred_boxes": _torch(inputs["pred_boxes"])}
        import torch

        targets = [{"labels": torch.from_numpy(np.asarray(inputs["labels"])), "boxes": _torch(inputs["boxes"])}]
        matcher = HungarianMatcher(inputs["cost_class"], inputs["cost_bbox"], inputs["cost_giou"])
        return matcher.cost_matrices(outputs, targets)[0].numpy(), matcher(outputs, targets)[0]

    def reference(self, inputs):
        cost, (i, j) = self._cost(inputs)
        return {"total_cost": float(cost[i.numpy(), j.numpy()].sum()), "num_objects": int(cost.shape[1])}

    def compare(self, got, expected, inputs):
        if type(got) is not list or len(got) != 2:
            return [msg("ex09.pair")]
        i, j = (np.asarray(g) for g in got)
        T = expected["num_objects"]
        Q = np.asarray(inputs["pred_logits"]).shape[1]
        if i.dtype.kind not in "iu" or j.dtype.kind not in "iu":
            return [msg("ex09.int", a=i.dtype, b=j.dtype)]
        if i.shape != (T,) or j.shape != (T,):
            return [msg("ex09.count", n=T, a=i.shape, b=j.shape)]
        if T and (i.min() < 0 or i.max() >= Q or sorted(j.tolist()) != list(range(T))):
            return [msg("ex09.invalid", last=T - 1, q=Q, i=i.tolist(), j=j.tolist())]
        if len(set(i.tolist())) != T:
            return [msg("ex09.shared", i=i.tolist())]
        cost, _ = self._cost(inputs)
        total = float(cost[i, j].sum())
        if not np.isclose(total, expected["total_cost"], rtol=1e-5, atol=1e-5):
            return [msg("ex09.not_optimal", total=total, best=expected["total_cost"])]
        return []


@register
class SetLoss(Check):
    name = "09.set_loss"
    absent = ("detr",)
    forbidden = ("vitcourse.detr",)
    target = "set_loss"
    rtol, atol = 1e-4, 1e-5

    def case_features(self, inputs):
        return {f"an image without objects: {bool((np.asarray(inputs['counts']) == 0).any())}"}

    def make_inputs(self, rng, hidden):
        case = _detection_case(rng, hidden)
        case["eos_coef"] = (0.1, 0.3, 0.05)[visible_variant(rng, 3)] if not hidden else float(rng.uniform(0.05, 0.5))
        return case

    runner = "set_loss"

    def reference(self, inputs):
        import torch

        from ..detr import HungarianMatcher, SetCriterion

        outputs = {"pred_logits": _torch(inputs["pred_logits"]), "pred_boxes": _torch(inputs["pred_boxes"])}
        targets = _targets(inputs, lambda x: torch.from_numpy(np.asarray(x)))
        for t in targets:
            t["boxes"] = t["boxes"].double()
        C = outputs["pred_logits"].shape[-1] - 1
        criterion = SetCriterion(
            C,
            HungarianMatcher(inputs["cost_class"], inputs["cost_bbox"], inputs["cost_giou"]),
            eos_coef=inputs["eos_coef"],
            losses=("labels", "boxes"),
        )
        return {k: np.asarray(float(v)) for k, v in criterion(outputs, targets).items()}

    def compare(self, got, expected, inputs):
        if type(got) is dict:
            got = {k: np.asarray(v, dtype=np.float64).reshape(()) if np.size(v) == 1 else v for k, v in got.items()}
        return super().compare(got, expected, inputs)
