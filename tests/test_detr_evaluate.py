"""vitcourse.detr.evaluate (pycocotools mAP), the training loop and the plot helpers."""
import matplotlib
import pytest
import torch

from vitcourse.data import DetectionCanvas
from vitcourse.detr import DETR, DETRConfig, HungarianMatcher, SetCriterion, post_process
from vitcourse.detr.boxes import box_cxcywh_to_xyxy, scale_boxes
from vitcourse.detr.evaluate import coco_map, evaluate_detr, predict_detr
from vitcourse.detr.train import fit_detr

matplotlib.use("Agg")


def perfect(targets, size):
    return [{"scores": torch.ones(len(t["labels"])), "labels": t["labels"],
             "boxes": scale_boxes(box_cxcywh_to_xyxy(t["boxes"]), size)} for t in targets]


def test_perfect_predictions_give_map_one():
    data = DetectionCanvas(20, seed=3, min_objects=0)
    targets = [data[i][1] for i in range(len(data))]
    assert any(len(t["labels"]) == 0 for t in targets)  # images without objects are part of the test
    m = coco_map(perfect(targets, 64), targets, 64, num_classes=3)
    assert m["map"] == pytest.approx(1.0) and m["map50"] == pytest.approx(1.0)


def test_worse_predictions_score_lower():
    data = DetectionCanvas(20, seed=4)
    targets = [data[i][1] for i in range(len(data))]
    preds = perfect(targets, 64)
    shifted = [dict(p, boxes=p["boxes"] + 1.0) for p in preds]  # 1 px off: IoU below 0.95, above 0.5
    m = coco_map(shifted, targets, 64, num_classes=3)
    assert m["map50"] == pytest.approx(1.0) and m["map"] < 0.8
    wrong = [dict(p, labels=(p["labels"] + 1) % 3) for p in preds]
    assert coco_map(wrong, targets, 64, num_classes=3)["map50"] == 0.0


def _no_detections(n):
    return [{"scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4)}
            for _ in range(n)]


def test_no_detections_gives_zero_where_objects_exist_and_minus_one_where_none_like_cocoeval():
    """COCOeval: -1 for a size range without any ground-truth object, whatever was predicted."""
    data = DetectionCanvas(20, seed=4)
    targets = [data[i][1] for i in range(len(data))]
    best = coco_map(perfect(targets, 64), targets, 64, num_classes=3)
    # every object on these 64 px canvases is 'small' (area < 32^2): the other two ranges are empty
    assert (best["map_small"], best["map_medium"], best["map_large"]) == (1.0, -1.0, -1.0)
    m = coco_map(_no_detections(len(targets)), targets, 64, num_classes=3)
    assert m["map"] == m["map50"] == m["map75"] == m["map_small"] == m["mar100"] == m["mar_small"] == 0.0
    assert m["map_medium"] == m["map_large"] == m["mar_medium"] == m["mar_large"] == -1.0


def test_coco_map_errors():
    data = DetectionCanvas(3, seed=5)
    targets = [data[i][1] for i in range(3)]
    with pytest.raises(ValueError, match="predictions has 2 images but targets has 3"):
        coco_map(perfect(targets, 64)[:2], targets, 64, 3)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        coco_map(perfect(targets, 64), targets, 64, 2)


def test_fit_detr_lowers_the_loss_and_evaluates(capsys):
    torch.manual_seed(0)
    model = DETR(DETRConfig.cpu(num_classes=3, dim=32, num_heads=4, encoder_layers=1, decoder_layers=1, mlp_dim=64,
                                num_queries=6))
    criterion = SetCriterion(3, HungarianMatcher(2, 5, 2))
    data = DetectionCanvas(16, seed=6)
    history = fit_detr(model, criterion, data, steps=30, batch_size=8, lr=1e-3, log_every=10, device="cpu")
    assert history.step == [10, 20, 30] and history.loss[-1] < history.loss[0]
    assert set(history.parts) == {"loss_ce", "loss_bbox", "loss_giou", "cardinality_error"}
    assert not model.training
    m = evaluate_detr(model, data, batch_size=8)
    # evaluate_detr is coco_map of the model's post-processed predictions on the whole data set
    outputs, targets, images = predict_detr(model, data, batch_size=8)
    assert len(targets) == len(data) and images.shape == (16, 3, 64, 64)
    assert m == coco_map(post_process(outputs, (64, 64)), targets, 64, num_classes=3)
    assert set(m) == {"map", "map50", "map75", "map_small", "map_medium", "map_large",
                      "mar1", "mar10", "mar100", "mar_small", "mar_medium", "mar_large"}
    assert m["map_large"] == -1.0  # no 'large' object on a 64 px canvas
    assert capsys.readouterr().out == ""  # pycocotools' prints are silenced


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    from vitcourse.detr.plot import draw_detections, plot_cost_matrix, plot_cross_attention, plot_query_centres

    image, target = DetectionCanvas(1, seed=7)[0]
    boxes = scale_boxes(box_cxcywh_to_xyxy(target["boxes"]), 64)
    figs = [draw_detections(image, boxes, target["labels"], torch.ones(len(boxes)), class_names=("a", "b", "c")),
            plot_cost_matrix(torch.rand(5, 2), (torch.tensor([0, 3]), torch.tensor([1, 0]))),
            plot_cross_attention(image, torch.rand(5, 64).softmax(-1), (8, 8), [0, 2], boxes=torch.rand(5, 4) * 60),
            plot_query_centres(torch.rand(12, 5, 4))]
    assert all(isinstance(f, plt.Figure) for f in figs)
    plt.close("all")
    with pytest.raises(ValueError, match="h\\*w"):
        plot_cross_attention(image, torch.rand(5, 60), (8, 8), [0])


def test_fit_detr_runs_on_the_shared_loop_core_across_epochs(monkeypatch):
    """fit_detr updates through `train.optimizer_step` and draws from `train.Batches`, as `fit` does: 7 steps of 4
    on 10 canvases (2 batches an epoch) run through 4 epochs, one shared update a step."""
    import vitcourse.detr.train as detr_train
    from vitcourse.train import Batches, optimizer_step

    assert detr_train.optimizer_step is optimizer_step and detr_train.Batches is Batches
    calls, epochs = [], []
    monkeypatch.setattr(detr_train, "optimizer_step", lambda *a, **k: (calls.append(1), optimizer_step(*a, **k)))
    real_next = Batches.__next__
    def next_recording_epoch(self):
        batch = real_next(self)
        epochs.append(self.epoch)  # the epoch this batch came from
        return batch

    monkeypatch.setattr(Batches, "__next__", next_recording_epoch)
    torch.manual_seed(0)
    model = DETR(DETRConfig.cpu(num_classes=3, dim=16, num_heads=2, encoder_layers=1, decoder_layers=1, mlp_dim=32,
                                num_queries=4))
    fit_detr(model, SetCriterion(3, HungarianMatcher(2, 5, 2)), DetectionCanvas(10, seed=3), steps=7, batch_size=4,
             log_every=7, device="cpu", progress=False)
    assert len(calls) == 7 and max(epochs) == 3
