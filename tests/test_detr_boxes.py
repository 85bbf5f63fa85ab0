"""vitcourse.detr.boxes: conversions, IoU and GIoU against references and their properties."""
import pytest
import torch

from vitcourse.detr.boxes import (box_area, box_cxcywh_to_xyxy, box_iou, box_xyxy_to_cxcywh, generalized_box_iou,
                                  scale_boxes)


def random_xyxy(n, generator=None, dtype=torch.float64):
    cxcywh = torch.rand(n, 4, generator=generator, dtype=dtype)
    cxcywh[:, 2:] = cxcywh[:, 2:] * 0.5 + 0.01
    return box_cxcywh_to_xyxy(cxcywh)


def test_conversions_by_hand_and_round_trip():
    b = torch.tensor([[0.5, 0.4, 0.2, 0.6]])
    torch.testing.assert_close(box_cxcywh_to_xyxy(b), torch.tensor([[0.4, 0.1, 0.6, 0.7]]))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 7, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(box_xyxy_to_cxcywh(box_cxcywh_to_xyxy(x)), x)
    xyxy = random_xyxy(20, g)
    torch.testing.assert_close(box_cxcywh_to_xyxy(box_xyxy_to_cxcywh(xyxy)), xyxy)


def test_scale_boxes_to_pixels():
    b = torch.tensor([[0.5, 0.25, 0.1, 0.2]])
    torch.testing.assert_close(scale_boxes(b, (100, 200)), torch.tensor([[100.0, 25.0, 20.0, 20.0]]))
    torch.testing.assert_close(scale_boxes(b, 64), b * 64)
    sizes = torch.tensor([[10, 20], [30, 40]])
    out = scale_boxes(torch.ones(2, 3, 4), sizes)
    torch.testing.assert_close(out[1, 0], torch.tensor([40.0, 30.0, 40.0, 30.0]))
    with pytest.raises(ValueError, match="size"):
        scale_boxes(b, (0, 10))


def test_iou_by_hand():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 1.0, 0.0]]))
    # GIoU of the disjoint pair: enclosing box 6x6 = 36, union 5 -> 0 - 31/36
    torch.testing.assert_close(generalized_box_iou(a, b), torch.tensor([[1 / 7 - 2 / 9, 1.0, -31 / 36]]))
    torch.testing.assert_close(box_area(b), torch.tensor([4.0, 4.0, 1.0]))


def test_giou_properties():
    g = torch.Generator().manual_seed(1)
    a, b = random_xyxy(30, g), random_xyxy(40, g)
    giou = generalized_box_iou(a, b)
    iou = box_iou(a, b)
    assert giou.shape == (30, 40)
    assert bool(((giou > -1) & (giou <= 1)).all())
    assert bool((giou <= iou + 1e-12).all())  # GIoU <= IoU, equal when a box encloses the other ...
    torch.testing.assert_close(giou, generalized_box_iou(b, a).T)  # symmetric
    torch.testing.assert_close(torch.diag(generalized_box_iou(a, a)), torch.ones(30, dtype=a.dtype))
    assert bool((giou < 1).all())  # ... and it is 1 only for identical boxes
    disjoint = iou == 0
    assert disjoint.any() and bool((giou[disjoint] < 0).all())  # disjoint boxes still get a distance


def test_giou_equals_reference():
    from transformers.loss.loss_for_object_detection import generalized_box_iou as hf_giou

    g = torch.Generator().manual_seed(2)
    a, b = random_xyxy(9, g, torch.float32), random_xyxy(11, g, torch.float32)
    torch.testing.assert_close(generalized_box_iou(a, b), hf_giou(a, b))


def test_zero_area_boxes_are_defined():
    points = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.2, 0.2, 0.2, 0.4]])
    out = generalized_box_iou(points, points)
    assert torch.isfinite(out).all(), out
    assert torch.isfinite(box_iou(points, points)).all()


def test_gradient_flows_through_giou():
    g = torch.Generator().manual_seed(3)
    cxcywh = (torch.rand(5, 4, generator=g) * 0.4 + 0.1).requires_grad_()
    loss = (1 - torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(cxcywh), random_xyxy(5, g, torch.float32)))).sum()
    loss.backward()
    assert torch.isfinite(cxcywh.grad).all() and cxcywh.grad.abs().sum() > 0


@pytest.mark.parametrize("bad, message", [
    (torch.tensor([[0.5, 0.5, 0.4, 0.9]]), "degenerate box at index 0"),
    (torch.tensor([[0.1, 0.1, 0.2, 0.2], [0.0, float("nan"), 0.1, 0.1]]), "NaN or inf coordinates at index 1"),
])
def test_degenerate_boxes_raise(bad, message):
    ok = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=message):
        generalized_box_iou(ok, bad)
    with pytest.raises(ValueError, match="boxes1"):
        box_iou(bad, ok)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_cxcywh_to_xyxy(torch.zeros(3, 5))
    with pytest.raises(TypeError, match="floating point"):
        box_xyxy_to_cxcywh(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        box_iou(torch.zeros(2, 3, 4), torch.zeros(3, 4))
