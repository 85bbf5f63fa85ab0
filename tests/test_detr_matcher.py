"""vitcourse.detr.matcher and .criterion: parity with Hugging Face's DETR loss, brute force, invariants."""
import itertools

import pytest
import torch

from vitcourse.detr import HungarianMatcher, SetCriterion



@pytest.fixture
def hf():
    """Hugging Face's DETR matcher and loss; only the parity tests need transformers, the others run without it."""
    return pytest.importorskip("transformers.loss.loss_for_object_detection")


def random_case(seed, *, B=4, Q=6, C=3, counts=(2, 0, 4, 1), aux=0):
    g = torch.Generator().manual_seed(seed)

    def prediction():
        return {"pred_logits": torch.randn(B, Q, C + 1, generator=g) * 2,
                "pred_boxes": torch.rand(B, Q, 4, generator=g) * 0.5 + 0.2}

    outputs = prediction()
    if aux:
        outputs["aux_outputs"] = [prediction() for _ in range(aux)]
    targets = []
    for n in counts:
        boxes = torch.rand(n, 4, generator=g) * 0.4 + 0.1
        targets.append({"labels": torch.randint(0, C, (n,), generator=g), "boxes": boxes})
    return outputs, targets


def to_hf(outputs, targets):
    def one(o):
        return {"logits": o["pred_logits"], "pred_boxes": o["pred_boxes"]}

    hf_out = one(outputs)
    if "aux_outputs" in outputs:
        hf_out["auxiliary_outputs"] = [one(a) for a in outputs["aux_outputs"]]
    return hf_out, [{"class_labels": t["labels"], "boxes": t["boxes"]} for t in targets]


def total_cost(cost, indices):
    return float(cost[indices[0], indices[1]].sum())


@pytest.mark.parametrize("costs", [(1, 5, 2), (2, 1, 0), (0, 0, 1)])
def test_matcher_equals_hugging_face(costs, hf):
    outputs, targets = random_case(0)
    ours = HungarianMatcher(*costs)(outputs, targets)
    theirs = hf.HungarianMatcher(*costs)(*to_hf(outputs, targets))
    assert len(ours) == len(targets)
    for (i, j), (hi, hj), t in zip(ours, theirs, targets):
        assert i.dtype == j.dtype == torch.int64
        assert len(i) == len(j) == len(t["labels"])
        assert torch.equal(i, hi) and torch.equal(j, hj)


def test_matcher_equals_brute_force_over_permutations():
    matcher = HungarianMatcher(1, 5, 2)
    for seed in range(10):
        outputs, targets = random_case(seed, B=2, Q=5, counts=(3, 2))
        costs = matcher.cost_matrices(outputs, targets)
        for cost, (i, j) in zip(costs, matcher(outputs, targets)):
            Q, T = cost.shape
            best = min(float(cost[list(p), list(range(T))].sum()) for p in itertools.permutations(range(Q), T))
            assert total_cost(cost, (i, j)) == pytest.approx(best, abs=1e-6)
            assert len(set(i.tolist())) == T  # one prediction per object


def test_cost_matrix_entries_by_formula():
    outputs, targets = random_case(3, B=1, Q=4, counts=(2,))
    from vitcourse.detr.boxes import box_cxcywh_to_xyxy, generalized_box_iou
    cost = HungarianMatcher(2, 5, 3).cost_matrices(outputs, targets)[0]
    p = outputs["pred_logits"][0].softmax(-1)
    for q in range(4):
        for t in range(2):
            pb, tb = outputs["pred_boxes"][0, q], targets[0]["boxes"][t]
            giou = generalized_box_iou(box_cxcywh_to_xyxy(pb[None]), box_cxcywh_to_xyxy(tb[None]))[0, 0]
            expected = -2 * p[q, targets[0]["labels"][t]] + 5 * (pb - tb).abs().sum() - 3 * giou
            assert float(cost[q, t]) == pytest.approx(float(expected), abs=1e-5)


def test_batched_equals_one_image_at_a_time():
    outputs, targets = random_case(4, B=5, counts=(3, 0, 1, 6, 2))
    matcher = HungarianMatcher(1, 5, 2)
    batched = matcher(outputs, targets)
    for b in range(5):
        single = matcher({k: v[b:b + 1] for k, v in outputs.items()}, [targets[b]])[0]
        assert torch.equal(single[0], batched[b][0]) and torch.equal(single[1], batched[b][1])


def test_images_without_objects():
    outputs, targets = random_case(5, B=2, counts=(0, 0))
    for i, j in HungarianMatcher()(outputs, targets):
        assert i.shape == j.shape == (0,) and i.dtype == torch.int64
    losses = SetCriterion(3)(outputs, targets)
    assert losses["loss_bbox"] == 0 and losses["loss_giou"] == 0
    assert torch.isfinite(losses["loss_ce"])


@pytest.mark.parametrize("weights", [(1, 5, 2, 0.1), (2, 5, 2, 0.25)])
def test_criterion_equals_hugging_face(weights, hf):
    cost_class, bbox, giou, eos = weights
    outputs, targets = random_case(6, aux=2)
    criterion = SetCriterion(3, HungarianMatcher(cost_class, bbox, giou), eos_coef=eos,
                             weight_dict={"loss_ce": cost_class, "loss_bbox": bbox, "loss_giou": giou})
    ours = criterion(outputs, targets)
    ref_criterion = hf.ImageLoss(hf.HungarianMatcher(cost_class, bbox, giou), num_classes=3, eos_coef=eos,
                                 losses=["labels", "boxes", "cardinality"])
    theirs = ref_criterion(*to_hf(outputs, targets))
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        torch.testing.assert_close(ours[k], theirs[k].reshape(ours[k].shape), msg=k)
    # the weighted total, as Hugging Face's ForObjectDetectionLoss forms it
    expected = sum(v * {"loss_ce": cost_class, "loss_bbox": bbox, "loss_giou": giou}.get(k.rsplit("_", 1)[0]
                   if k[-1].isdigit() else k, 0) for k, v in theirs.items())
    torch.testing.assert_close(criterion.total_loss(ours), expected)


def test_criterion_by_hand_on_a_perfect_prediction():
    boxes = torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.1, 0.3]])
    logits = torch.full((1, 3, 3), -20.0)
    logits[0, 0, 1] = logits[0, 2, 0] = logits[0, 1, 2] = 20.0  # query 0 -> class 1, query 2 -> class 0, 1 -> none
    outputs = {"pred_logits": logits, "pred_boxes": torch.stack([boxes[1], torch.full((4,), 0.5), boxes[0]])[None]}
    targets = [{"labels": torch.tensor([0, 1]), "boxes": boxes}]
    (i, j), = HungarianMatcher(1, 5, 2)(outputs, targets)
    assert dict(zip(i.tolist(), j.tolist())) == {0: 1, 2: 0}
    losses = SetCriterion(2)(outputs, targets)
    for k in ("loss_ce", "loss_bbox", "loss_giou", "cardinality_error"):
        assert float(losses[k]) == pytest.approx(0.0, abs=1e-6), k


def test_set_loss_does_not_depend_on_the_order_of_predictions_or_objects():
    outputs, targets = random_case(7, B=1, Q=6, counts=(4,))
    criterion = SetCriterion(3)
    before = criterion.total_loss(criterion(outputs, targets))
    perm_q, perm_t = torch.randperm(6), torch.randperm(4)
    shuffled = {k: v[:, perm_q] for k, v in outputs.items()}
    shuffled_targets = [{k: v[perm_t] for k, v in targets[0].items()}]
    torch.testing.assert_close(criterion.total_loss(criterion(shuffled, shuffled_targets)), before)


def test_gradients_reach_logits_and_boxes():
    outputs, targets = random_case(8, aux=1)
    for o in [outputs, *outputs["aux_outputs"]]:
        o["pred_logits"].requires_grad_()
        o["pred_boxes"].requires_grad_()
    criterion = SetCriterion(3)
    criterion.total_loss(criterion(outputs, targets)).backward()
    for o in [outputs, *outputs["aux_outputs"]]:
        assert o["pred_logits"].grad.abs().sum() > 0 and o["pred_boxes"].grad.abs().sum() > 0


def test_bad_inputs_raise():
    outputs, targets = random_case(9)
    with pytest.raises(ValueError, match="one dict per image"):
        HungarianMatcher()(outputs, targets[:2])
    bad = [dict(t) for t in targets]
    bad[0]["labels"] = torch.tensor([0, 3])
    with pytest.raises(ValueError, match=r"labels'\] must lie in 0..2"):
        HungarianMatcher()(outputs, bad)
    with pytest.raises(ValueError, match="pred_boxes"):
        HungarianMatcher()({"pred_logits": outputs["pred_logits"]}, targets)
    nan = dict(outputs, pred_logits=outputs["pred_logits"].clone())
    nan["pred_logits"][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        HungarianMatcher()(nan, targets)
    with pytest.raises(ValueError, match="cost_bbox"):
        HungarianMatcher(1, -1, 1)
    with pytest.raises(ValueError, match="all 0"):
        HungarianMatcher(0, 0, 0)
    with pytest.raises(ValueError, match="num_classes \\+ 1"):
        SetCriterion(5)(outputs, targets)
    with pytest.raises(ValueError, match="unknown losses"):
        SetCriterion(3, losses=("labels", "masks"))


def _batched_cost_matrices(matcher, outputs, targets):
    """The former (the paper's) way: every prediction of the batch against every object, then cut per image."""
    from vitcourse.detr.boxes import box_cxcywh_to_xyxy, generalized_box_iou
    B, Q = outputs["pred_logits"].shape[:2]
    prob = outputs["pred_logits"].flatten(0, 1).softmax(-1)
    out_bbox = outputs["pred_boxes"].flatten(0, 1)
    tgt_ids = torch.cat([t["labels"] for t in targets])
    tgt_bbox = torch.cat([t["boxes"] for t in targets])
    cost = (matcher.cost_bbox * torch.cdist(out_bbox, tgt_bbox, p=1) - matcher.cost_class * prob[:, tgt_ids]
            - matcher.cost_giou * generalized_box_iou(box_cxcywh_to_xyxy(out_bbox), box_cxcywh_to_xyxy(tgt_bbox)))
    sizes = [len(t["boxes"]) for t in targets]
    return [c[b] for b, c in enumerate(cost.view(B, Q, -1).split(sizes, dim=-1))]


@pytest.mark.parametrize("seed", range(8))
def test_per_image_cost_matrices_equal_the_batched_ones(seed):
    g = torch.Generator().manual_seed(100 + seed)
    B = int(torch.randint(1, 17, (1,), generator=g))
    counts = tuple(int(c) for c in torch.randint(0, 7, (B,), generator=g))
    outputs, targets = random_case(seed, B=B, Q=10, C=5, counts=counts)
    matcher = HungarianMatcher(1, 5, 2)
    ours = matcher.cost_matrices(outputs, targets)
    want = _batched_cost_matrices(matcher, outputs, targets)
    assert len(ours) == B
    for a, b, n in zip(ours, want, counts):
        assert a.shape == (10, n)
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    for (i, j), c in zip(matcher(outputs, targets), want):  # the same assignment as with the batched matrices
        from scipy.optimize import linear_sum_assignment
        wi, wj = linear_sum_assignment(c.numpy())
        assert i.tolist() == wi.tolist() and j.tolist() == wj.tolist()


def test_non_finite_cost_names_the_image():
    outputs, targets = random_case(0)
    outputs["pred_logits"][2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="matching cost of image 2 holds NaN or inf"):
        HungarianMatcher(1, 5, 2)(outputs, targets)
