"""Foundation helpers: seeding, device choice, offline data, detection canvases."""
import hashlib

import numpy as np
import pytest
import torch

from vitcourse import DetectionCanvas, collate_fn, denormalize, get_device, load_digits, sample_image, seed_everything
from vitcourse.data import SAMPLE_IMAGES
from vitcourse.utils import check_fraction, check_images, check_int, check_share


def test_seed_everything_repeats_torch_and_numpy():
    seed_everything(3)
    a = torch.randn(4), np.random.rand(3)
    seed_everything(3)
    b = torch.randn(4), np.random.rand(3)
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    seed_everything(4)
    assert not torch.equal(a[0], torch.randn(4))


@pytest.mark.parametrize("bad, exc, words", [(-1, ValueError, ">= 0"), (1.5, TypeError, "integer"),
                                             (True, TypeError, "integer"), (2**40, ValueError, "<=")])
def test_seed_everything_rejects_bad_seed(bad, exc, words):
    with pytest.raises(exc, match="seed") as e:
        seed_everything(bad)
    assert words in str(e.value)


def test_get_device_order_and_override(monkeypatch):
    monkeypatch.delenv("VITCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device().type == "cpu"
    assert get_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="prefer.*'tpu'"):
        get_device("tpu")
    with pytest.raises(ValueError, match="not available"):
        get_device("cuda")


def test_load_digits_split_is_fixed_stratified_and_upscaled():
    d1, d2 = load_digits(), load_digits(upscale=3)
    assert d1.x_train.shape == (1347, 1, 8, 8) and d1.x_test.shape == (450, 1, 8, 8)
    assert d2.x_train.shape[-2:] == (24, 24)
    # nearest-neighbour upscaling: every 3x3 block is constant and equals the 8x8 pixel
    torch.testing.assert_close(d2.x_train[:, :, ::3, ::3], d1.x_train)
    assert torch.equal(d1.y_test, d2.y_test)
    assert 0 <= float(d1.x_train.min()) and float(d1.x_train.max()) <= 1
    counts = torch.bincount(d1.y_test, minlength=10).float()
    assert counts.min() >= 0.23 * torch.bincount(torch.cat([d1.y_train, d1.y_test])).min()  # every class held out
    other = load_digits(split_seed=1)
    assert not torch.equal(other.y_test, d1.y_test) or not torch.equal(other.x_test, d1.x_test)
    # train and test are disjoint images
    tr = {tuple(x.flatten().tolist()) for x in d1.x_train}
    assert sum(tuple(x.flatten().tolist()) in tr for x in d1.x_test) < 5  # the data set has a few duplicates


@pytest.mark.parametrize("kwargs, match", [({"upscale": 0}, "upscale must be >= 1"),
                                           ({"upscale": 2.0}, "upscale must be an integer"),
                                           ({"test_fraction": 1.0}, "test_fraction"),
                                           ({"split_seed": -2}, "split_seed")])
def test_load_digits_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        load_digits(**kwargs)


def test_train_subset_is_stratified_seeded_and_whole_at_one():
    d = load_digits()
    per_class = torch.bincount(d.y_train, minlength=10)
    part = d.train_subset(0.1, seed=1)
    x, y = part.tensors
    assert torch.equal(torch.bincount(y, minlength=10), (0.1 * per_class.double()).round().long().clamp(min=1))
    rows = {tuple(r.flatten().tolist()) for r in d.x_train}
    assert all(tuple(r.flatten().tolist()) in rows for r in x)  # images of the training set, with their labels
    same, other = d.train_subset(0.1, seed=1).tensors[0], d.train_subset(0.1, seed=2).tensors[0]
    assert torch.equal(same, x) and not torch.equal(other, x)
    assert len(d.train_subset(0.001)) == 10  # at least one image of every class
    whole = d.train_subset(1.0).tensors
    assert len(whole[0]) == len(d.x_train) and torch.equal(whole[1].sort().values, d.y_train.sort().values)


@pytest.mark.parametrize("fraction, error", [(0.0, ValueError), (1.5, ValueError), (-0.1, ValueError),
                                             (True, TypeError), ("0.1", TypeError)])
def test_train_subset_bad_fraction(fraction, error):
    with pytest.raises(error, match="fraction must be a number in \\(0, 1\\]"):
        load_digits().train_subset(fraction)


@pytest.mark.parametrize("name", sorted(SAMPLE_IMAGES))
def test_sample_image_is_a_real_normalised_photo(name):
    img = sample_image(name, size=64)
    assert img.shape == (3, 64, 64) and img.dtype == torch.float32
    assert abs(float(img.mean())) < 1.5 and float(img.std()) > 0.3  # imagenet-normalised, not constant
    unit = sample_image(name, size=64, normalize="unit")
    torch.testing.assert_close(denormalize(img), unit, atol=1e-5, rtol=0)
    full = sample_image(name, size=None, normalize="unit")
    assert full.shape[0] == 3 and min(full.shape[1:]) > 300


@pytest.mark.parametrize("kwargs, match", [({"name": "lena"}, "unknown photo name 'lena'"),
                                           ({"normalize": "zscore"}, "normalize"),
                                           ({"size": 4}, "size must be >= 8")])
def test_sample_image_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_image(**kwargs)


def _overlap(b1, b2):
    ax0, ay0, ax1, ay1 = b1[0] - b1[2] / 2, b1[1] - b1[3] / 2, b1[0] + b1[2] / 2, b1[1] + b1[3] / 2
    bx0, by0, bx1, by1 = b2[0] - b2[2] / 2, b2[1] - b2[3] / 2, b2[0] + b2[2] / 2, b2[1] + b2[3] / 2
    return min(ax1, bx1) > max(ax0, bx0) and min(ay1, by1) > max(ay0, by0)


@pytest.mark.parametrize("kind", ["shapes", "digits"])
def test_detection_canvas_is_deterministic_and_boxes_match_pixels(kind):
    ds = DetectionCanvas(30, kind=kind, canvas_size=48, min_objects=1, max_objects=4, object_size=(8, 14), seed=5)
    for i in range(len(ds)):
        img, t = ds[i]
        img2, t2 = ds[i]
        assert torch.equal(img, img2) and torch.equal(t["boxes"], t2["boxes"])
        assert img.shape == (3, 48, 48) and 1 <= len(t["labels"]) <= 4
        assert t["boxes"].shape == (len(t["labels"]), 4) and t["labels"].dtype == torch.int64
        assert ((t["boxes"] > 0) & (t["boxes"] <= 1)).all()
        for j in range(len(t["labels"])):
            for k in range(j + 1, len(t["labels"])):
                assert not _overlap(t["boxes"][j], t["boxes"][k])
            # the mask pixels of object j lie inside its box, and the box is tight around them
            cx, cy, w, h = (t["boxes"][j] * 48).tolist()
            ys, xs = torch.nonzero(t["mask"][int(cy - h / 2):int(cy + h / 2), int(cx - w / 2):int(cx + w / 2)]
                                   == t["labels"][j] + 1, as_tuple=True)
            assert len(ys) > 0 and ys.min() == 0 and xs.min() == 0
            assert ys.max() == round(h) - 1 and xs.max() == round(w) - 1
        labels_in_mask = set(t["mask"].unique().tolist()) - {0}
        assert labels_in_mask == set((t["labels"] + 1).tolist())
    other = DetectionCanvas(30, kind=kind, canvas_size=48, min_objects=1, max_objects=4, object_size=(8, 14), seed=6)
    assert not torch.equal(ds[0][0], other[0][0])


def test_detection_canvas_crowded_canvas_still_places_every_object():
    ds = DetectionCanvas(20, canvas_size=32, min_objects=4, max_objects=4, object_size=(16, 16), seed=0)
    for i in range(len(ds)):
        assert len(ds[i][1]["labels"]) == 4


def _fingerprint(ds):
    h = hashlib.sha256()
    for i in range(len(ds)):
        img, t = ds[i]
        for a in (img, t["mask"], t["boxes"], t["labels"], t["colors"]):
            h.update(a.numpy().tobytes())
    return h.hexdigest()[:16]


def test_detection_canvas_default_is_unchanged_by_the_aspect_option():
    # fingerprints of the canvases before `aspect` existed: every lecture, exercise and test sees the same data
    assert _fingerprint(DetectionCanvas(50, seed=2)) == "9d99da6345950067"
    assert _fingerprint(DetectionCanvas(30, canvas_size=48, object_size=(8, 14), seed=5,
                                        shapes=("square", "circle", "triangle", "cross", "ring"))) == "e2dda59d710825d6"
    assert _fingerprint(DetectionCanvas(50, seed=2, aspect=None)) == "9d99da6345950067"


@pytest.mark.parametrize("shapes", [("square", "circle", "triangle"), ("cross", "ring")])
def test_detection_canvas_aspect_stretches_shapes_in_tight_boxes(shapes):
    S, lo, hi = 48, 1 / 3, 3.0
    ds = DetectionCanvas(40, canvas_size=S, object_size=(9, 16), shapes=shapes, aspect=(lo, hi), seed=4)
    ratios = []
    for i in range(len(ds)):
        img, t = ds[i]
        counted = torch.zeros_like(t["mask"], dtype=torch.bool)
        for j in range(len(t["labels"])):
            for k in range(j + 1, len(t["labels"])):
                assert not _overlap(t["boxes"][j], t["boxes"][k])
            cx, cy, w, h = (t["boxes"][j] * S).tolist()
            assert max(w, h) <= 16 and min(w, h) >= 2
            x0, y0 = round(cx - w / 2), round(cy - h / 2)
            inside = t["mask"][y0:y0 + round(h), x0:x0 + round(w)] == t["labels"][j] + 1
            # tight: the object's pixels touch all four sides of its box ...
            assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
            counted[y0:y0 + round(h), x0:x0 + round(w)] |= inside
            ratios.append(w / h)
        assert torch.equal(counted, t["mask"] > 0)  # ... and every object pixel lies in a box of its label
    ratios = torch.tensor(ratios)
    # wide and tall boxes both occur, spread over the asked range (ratios of whole-pixel sides, so with a margin)
    assert (ratios > 1.5).float().mean() > 0.2 and (ratios < 1 / 1.5).float().mean() > 0.2
    assert ratios.max() > 0.8 * hi and ratios.min() < 1.25 * lo and ratios.max() < 1.4 * hi


def test_detection_canvas_aspect_one_draws_squares_and_is_deterministic():
    ds = DetectionCanvas(10, seed=3, shapes=("square", "circle"), aspect=(1, 1))  # symmetric shapes: square boxes
    again = DetectionCanvas(10, seed=3, shapes=("square", "circle"), aspect=(1.0, 1.0))
    for i in range(len(ds)):
        b = ds[i][1]["boxes"]
        torch.testing.assert_close(b[:, 2], b[:, 3])
        assert torch.equal(ds[i][0], again[i][0])
    assert "aspect=(1.0, 1.0)" in repr(ds) and "aspect" not in repr(DetectionCanvas(3))


@pytest.mark.parametrize("kwargs, match", [
    ({"max_objects": 20, "canvas_size": 64, "object_size": (10, 20)}, "max_objects=20.*at most 9 fit"),
    ({"kind": "cars"}, "kind must be"),
    ({"shapes": ("square", "hexagon")}, "shapes must be"),
    ({"object_size": (10, 80)}, "does not fit"),
    ({"min_objects": 3, "max_objects": 2}, "max_objects must be >= 3"),
    ({"noise": 2.0}, "noise"),
    ({"aspect": (3, 1 / 3)}, r"aspect must be a pair \(lo, hi\) of width/height ratios with 0 < lo <= hi.*lo > hi"),
    ({"aspect": (0, 2)}, r"aspect\[0\] must be a finite number > 0, got 0"),
    ({"aspect": 2.0}, r"aspect must be a pair \(lo, hi\).*got 2.0"),
    ({"aspect": (0.5, "2")}, r"aspect\[1\] must be a number, got '2'"),
    ({"aspect": (0.5, 2), "kind": "digits"}, "aspect applies to kind='shapes' only"),
])
def test_detection_canvas_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DetectionCanvas(10, **kwargs)


def test_detection_canvas_index_errors_and_collate():
    ds = DetectionCanvas(5, seed=0)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ds[5]
    assert torch.equal(ds[-1][0], ds[4][0])
    images, targets = collate_fn([ds[0], ds[1], ds[2]])
    assert images.shape == (3, 3, 64, 64) and len(targets) == 3 and torch.equal(targets[1]["boxes"], ds[1][1]["boxes"])
    with pytest.raises(ValueError, match="empty batch"):
        collate_fn([])
    with pytest.raises(ValueError, match="same shape"):
        collate_fn([ds[0], DetectionCanvas(1, canvas_size=32, object_size=(5, 8))[0]])


# ----------------------------------------------------------------------------- argument checks


def test_check_fraction_takes_numbers_in_zero_one_and_names_the_argument():
    assert check_fraction("dropout", 0) == 0.0 and check_fraction("dropout", np.float32(0.5)) == 0.5
    for bad in (1, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got"):
            check_fraction("dropout", bad)
    for bad in (True, "0.1", None):
        with pytest.raises(TypeError, match=r"dropout must be a number in \[0, 1\), got .* of type"):
            check_fraction("dropout", bad)


def test_check_share_takes_numbers_in_zero_one_closed_and_names_the_argument():
    assert check_share("fraction", 1) == 1.0 and check_share("fraction", np.float64(0.25)) == 0.25
    for bad in (0, 0.0, -0.1, 1.01, float("nan")):
        with pytest.raises(ValueError, match=r"^fraction must be a number in \(0, 1\] \(1: all\), got"):
            check_share("fraction", bad, hint=" (1: all)")
    for bad in (True, "0.1", None):
        with pytest.raises(TypeError, match=r"fraction must be a number in \(0, 1\], got .* of type"):
            check_share("fraction", bad)


def test_check_images_wants_a_four_axis_tensor():
    check_images("images", torch.zeros(1, 3, 4, 4))
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor of shape \(B, C, H, W\), got ndarray"):
        check_images("images", np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\), got \(3, 4, 4\)"):
        check_images("x", torch.zeros(3, 4, 4))


def test_the_teaching_modules_check_integers_one_way():
    """Every size argument goes through utils.check_int: TypeError for a non-integer (bool included), ValueError
    below the minimum, numpy integers taken and stored as int."""
    from vitcourse.attention import MultiHeadAttention
    from vitcourse.detr.backbone import BackboneConfig
    from vitcourse.detr.criterion import SetCriterion
    from vitcourse.detr.position import sine_position_encoding
    from vitcourse.vit import ViTConfig, patchify

    with pytest.raises(TypeError, match="patch_size must be an integer, got 2.0"):
        patchify(torch.zeros(1, 1, 4, 4), 2.0)
    with pytest.raises(ValueError, match="patch_size must be >= 1, got 0"):
        patchify(torch.zeros(1, 1, 4, 4), 0)
    with pytest.raises(TypeError, match="num_classes must be an integer, got '3'"):
        SetCriterion("3")
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        BackboneConfig.small_cnn(widths=(8, 0))
    with pytest.raises(TypeError, match="dim must be an integer, got 64.0"):
        sine_position_encoding(torch.ones(1, 2, 2, dtype=torch.bool), 64.0)
    with pytest.raises(TypeError, match="kdim must be an integer, got True"):
        MultiHeadAttention(8, 2, kdim=True)
    config = ViTConfig.tiny_digits(dim=np.int64(32), num_heads=np.int64(4))
    assert type(config.dim) is int and type(config.num_heads) is int and check_int("n", np.int8(3)) == 3
