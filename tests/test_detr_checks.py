"""vitcourse.checks.ex09: the package passes every check, typical mistakes fail them."""
import pytest
import torch

from vitcourse.checks import CheckFailed, check, get_check
from vitcourse.detr import HungarianMatcher, SetCriterion, box_cxcywh_to_xyxy, box_iou, generalized_box_iou


def matcher_fn(pred_logits, pred_boxes, labels, boxes, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    return HungarianMatcher(cost_class, cost_bbox, cost_giou)(
        {"pred_logits": pred_logits[None], "pred_boxes": pred_boxes[None]}, [{"labels": labels, "boxes": boxes}])[0]


def greedy_fn(pred_logits, pred_boxes, labels, boxes, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    cost = HungarianMatcher(cost_class, cost_bbox, cost_giou).cost_matrices(
        {"pred_logits": pred_logits[None], "pred_boxes": pred_boxes[None]}, [{"labels": labels, "boxes": boxes}])[0]
    used, rows = set(), []
    for t in range(cost.shape[1]):  # each object takes the cheapest prediction still free
        q = next(q for q in cost[:, t].argsort().tolist() if q not in used)
        used.add(q)
        rows.append(q)
    return torch.tensor(rows, dtype=torch.int64), torch.arange(cost.shape[1])


def loss_fn(eos_override=None):
    def set_loss(pred_logits, pred_boxes, targets, eos_coef=0.1, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
        criterion = SetCriterion(pred_logits.shape[-1] - 1, HungarianMatcher(cost_class, cost_bbox, cost_giou),
                                 eos_coef=eos_override or eos_coef, losses=("labels", "boxes"))
        return criterion({"pred_logits": pred_logits, "pred_boxes": pred_boxes}, targets)
    return set_loss


@pytest.mark.parametrize("name, fn", [
    ("09.box_cxcywh_to_xyxy", box_cxcywh_to_xyxy),
    ("09.generalized_box_iou", generalized_box_iou),
    ("09.hungarian_match", matcher_fn),
    ("09.set_loss", loss_fn()),
])
def test_reference_solutions_pass(name, fn):
    check(name, fn, quiet=True)
    check(name, fn, hidden=True, quiet=True)


@pytest.mark.parametrize("name, fn, message", [
    ("09.box_cxcywh_to_xyxy", lambda boxes: torch.cat([boxes[..., :2] - boxes[..., 2:], boxes[..., :2]], -1),
     "values differ"),
    ("09.generalized_box_iou", lambda boxes1, boxes2: box_iou(boxes1, boxes2), "values differ"),
    ("09.hungarian_match", greedy_fn, "not the cheapest"),
    ("09.set_loss", loss_fn(eos_override=1.0), "loss_ce"),
])
def test_mistakes_fail_with_a_hint(name, fn, message):
    with pytest.raises(CheckFailed, match=message) as info:
        check(name, fn, quiet=True)
        check(name, fn, hidden=True, quiet=True)
    assert "Hint:" in str(info.value)


def test_greedy_matching_fails_most_fresh_hidden_cases():
    c = get_check("09.hungarian_match")
    cases = c.cases(True, seeds=range(40))
    failed = sum(bool(c.judge(c.run(greedy_fn, inputs), inputs)) for _, inputs in cases)
    assert failed >= 0.3 * len(cases), failed


def test_matcher_check_rejects_invalid_assignments():
    c = get_check("09.hungarian_match")
    _, inputs = c.cases(False)[0]

    def duplicate(*args, **kwargs):
        return torch.zeros(4, dtype=torch.int64), torch.arange(4)

    assert "same prediction" in c.judge(c.run(duplicate, inputs), inputs)[0]
    assert "int64" in c.judge([torch.zeros(4).numpy(), torch.arange(4).numpy()], inputs)[0]
