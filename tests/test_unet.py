"""Tests for vitcourse.unet (shapes, gradients, skips), its data sets (vitcourse.data) and metrics
(vitcourse.metrics, against hand-computed cases)."""
import hashlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vitcourse.data import DenoisingCanvas, SegmentationCanvas
from vitcourse.metrics import confusion_matrix, dice_per_class, iou_per_class, mean_dice, mean_iou
from vitcourse.unet import DoubleConv, Down, UNet, Up, pad_to


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(16, 16), (17, 23), (31, 16)])
def test_unet_output_has_input_size(depth, size):
    torch.manual_seed(0)
    model = UNet(3, 5, depth=depth, width=4).eval()
    x = torch.randn(2, 3, *size)
    out, feats = model(x, return_features=True)
    assert out.shape == (2, 5, *size)
    assert torch.isfinite(out).all()
    H, W = size
    for level in range(depth):
        exp = (H, W)
        for _ in range(level):
            exp = (exp[0] // 2, exp[1] // 2)
        assert feats[f"enc{level}"].shape == (2, 4 * 2**level, *exp)
        assert feats[f"dec{level}"].shape == (2, 4 * 2**level, *exp)
    bottom = (H // 2**depth, W // 2**depth)
    assert feats["bottleneck"].shape == (2, 4 * 2**depth, *bottom)


def test_unet_smallest_input_and_num_classes_alias():
    model = UNet(1, num_classes=2, depth=3, width=2).eval()
    assert model(torch.randn(1, 1, 8, 9)).shape == (1, 2, 8, 9)
    assert model.out_channels == 2 and model.min_size == 8


def test_batched_equals_one_by_one():
    torch.manual_seed(0)
    model = UNet(3, 3, depth=2, width=4).eval()
    x = torch.randn(3, 3, 13, 11)
    torch.testing.assert_close(model(x), torch.cat([model(x[i:i + 1]) for i in range(3)]), rtol=1e-5, atol=1e-5)


def test_double_conv_matches_functional_form():
    torch.manual_seed(0)
    block = DoubleConv(3, 6, mid_channels=5).eval()
    x = torch.randn(2, 3, 7, 9)
    c1, bn1, _, c2, bn2, _ = block

    def bn(h, m):
        return F.batch_norm(h, m.running_mean, m.running_var, m.weight, m.bias, training=False, eps=m.eps)

    ref = F.relu(bn(F.conv2d(F.relu(bn(F.conv2d(x, c1.weight, padding=1), bn1)), c2.weight, padding=1), bn2))
    torch.testing.assert_close(block(x), ref)
    assert block(x).shape == (2, 6, 7, 9)


def test_down_halves_and_floors():
    assert Down(3, 8)(torch.randn(1, 3, 9, 14)).shape == (1, 8, 4, 7)


@pytest.mark.parametrize("size", [(6, 6), (7, 6), (7, 7)])
def test_up_pads_to_skip_size_and_concatenates(size):
    torch.manual_seed(0)
    up = Up(8, 4, 4)
    x, skip = torch.randn(2, 8, 3, 3), torch.randn(2, 4, *size)
    assert up(x, skip).shape == (2, 4, *size)
    # Manually: transposed conv, pad (extra pixel bottom/right), concatenate [skip, up], DoubleConv.
    u = up.up(x)
    dh, dw = size[0] - 6, size[1] - 6
    u = F.pad(u, [0, dw, 0, dh])
    torch.testing.assert_close(up(x, skip), up.conv(torch.cat([skip, u], 1)))


def test_pad_to_splits_padding_and_rejects_shrinking():
    x = torch.ones(1, 1, 2, 2)
    y = pad_to(x, (5, 4))
    assert y.shape == (1, 1, 5, 4)
    assert y[0, 0, :, 0].tolist() == [0, 0, 0, 0, 0] and y[0, 0, 1:3, 1:3].sum() == 4  # 1 top, 2 bottom; 1 left
    assert pad_to(x, (2, 2)) is x
    with pytest.raises(ValueError, match=r"cannot pad a map of size \(2, 2\) to the smaller size \(1, 3\)"):
        pad_to(x, (1, 3))


def test_parameter_count_of_the_paper_size():
    """Depth 4, width 64, 1 input channel, 2 classes: the paper's network (Fig. 1)."""

    def conv(i, o, k):  # weights + bias
        return i * o * k * k + o

    ch = [64, 128, 256, 512, 1024]
    paper = conv(1, 64, 3) + conv(64, 64, 3)
    paper += sum(conv(ch[i - 1], ch[i], 3) + conv(ch[i], ch[i], 3) for i in range(1, 5))
    paper += sum(conv(ch[i + 1], ch[i], 2) + conv(ch[i + 1], ch[i], 3) + conv(ch[i], ch[i], 3) for i in range(4))
    paper += conv(64, 2, 1)
    assert paper == 31_030_658
    # Each of the 18 3x3 convs drops its bias (o) for BatchNorm's weight and bias (2o): + sum of their widths.
    bn = 2 * (64 + 128 + 256 + 512) * 2 + 1024 * 2  # 2 convs per level in encoder and decoder, 2 in the bottleneck
    model = UNet(1, 2, depth=4, width=64)
    assert sum(p.numel() for p in model.parameters()) == paper + bn == 31_036_546


# ----------------------------------------------------------------------------- skips


def test_skip_ablation_changes_the_decoder_inputs_only():
    with_skips, without = UNet(3, 2, depth=2, width=4), UNet(3, 2, depth=2, width=4, skips=False)
    n_with = sum(p.numel() for p in with_skips.parameters())
    n_without = sum(p.numel() for p in without.parameters())
    # Without skips the first conv of each decoder stage sees C_skip fewer input channels.
    removed = sum(4 * 2**level * (4 * 2**level) * 9 for level in range(2))
    assert n_with - n_without == removed
    assert "skips=False" in repr(without)


def test_without_skips_output_depends_on_input_only_through_the_bottleneck():
    torch.manual_seed(0)
    model = UNet(1, 1, depth=2, width=4, skips=False).eval()
    x = torch.randn(1, 1, 8, 8, requires_grad=True)
    _, feats = model(x, return_features=True)
    # Everything the decoder sees passed through the 2x2 bottleneck: replacing the encoder's full
    # resolution maps cannot change the output (they are not used, only their sizes).
    out_a = model(x)
    bottleneck = feats["bottleneck"].detach()
    h = bottleneck
    for level, up in zip(reversed(range(2)), model.ups):
        h = up(h, torch.zeros(1, 4 * 2**level, 8 // 2**level, 8 // 2**level))
    torch.testing.assert_close(model.head(h), out_a)
    # With skips, the zeros would change the result.
    skip_model = UNet(1, 1, depth=2, width=4).eval()
    _, f = skip_model(x, return_features=True)
    h = f["bottleneck"]
    for level, up in zip(reversed(range(2)), skip_model.ups):
        h = up(h, torch.zeros_like(f[f"enc{level}"]))
    assert not torch.allclose(skip_model.head(h), skip_model(x))


@pytest.mark.parametrize("skips", [True, False])
def test_every_parameter_gets_a_gradient(skips):
    torch.manual_seed(0)
    model = UNet(3, 4, depth=3, width=4, skips=skips)
    x = torch.randn(2, 3, 19, 17)
    y = torch.randint(0, 4, (2, 19, 17))
    F.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


# ----------------------------------------------------------------------------- errors


def test_errors_name_argument_value_and_expectation():
    model = UNet(3, 2, depth=3, width=4)
    with pytest.raises(ValueError, match=r"input size 7x16 is too small for depth 3: .* at least 2\*\*3 = 8"):
        model(torch.randn(1, 3, 7, 16))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, H, W\), got \(1, 1, 16, 16\)"):
        model(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, H, W\), got \(3, 16, 16\)"):
        model(torch.randn(3, 16, 16))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        model([[1.0]])
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        UNet(3, 2, depth=0)
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        UNet(3, 2, width=0)
    with pytest.raises(TypeError, match="depth must be an integer, got 2.0"):
        UNet(3, 2, depth=2.0)
    with pytest.raises(TypeError, match="UNet needs out_channels"):
        UNet(3)
    with pytest.raises(ValueError, match="out_channels=2, num_classes=3"):
        UNet(3, 2, num_classes=3)
    with pytest.raises(TypeError, match="skips must be True or False, got 'no'"):
        UNet(3, 2, skips="no")


def test_metric_errors():
    p = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=r"target has values in \[0, 3\], expected 0..2"):
        confusion_matrix(p, torch.tensor([0, 1, 3]), 3)
    with pytest.raises(TypeError, match="pred must hold integer class indices, got dtype torch.float32"):
        iou_per_class(p.float(), p, 3)
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(1, 3\)"):
        dice_per_class(p, p[None], 3)
    with pytest.raises(ValueError, match="mean IoU is undefined"):
        mean_iou(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0, got 0"):
        DenoisingCanvas(2, sigma=0.0)
    with pytest.raises(ValueError, match="noise=0.1 would make the clean targets noisy"):
        DenoisingCanvas(2, noise=0.1)


# ----------------------------------------------------------------------------- metrics


def test_metrics_against_hand_computed_case():
    # target        pred
    # 0 0 1 1       0 1 1 1
    # 0 2 2 1       0 2 0 1
    target = torch.tensor([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 2, 0, 1]])
    cm = confusion_matrix(pred, target, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 3, 0], [1, 0, 1]]
    # class 0: |P∩T| = 2, |P| = 3, |T| = 3 -> IoU 2/4, Dice 4/6
    # class 1: |P∩T| = 3, |P| = 4, |T| = 3 -> IoU 3/4, Dice 6/7
    # class 2: |P∩T| = 1, |P| = 1, |T| = 2 -> IoU 1/2, Dice 2/3
    torch.testing.assert_close(iou_per_class(pred, target, 3), torch.tensor([0.5, 0.75, 0.5], dtype=torch.float64))
    torch.testing.assert_close(dice_per_class(pred, target, 3),
                               torch.tensor([4 / 6, 6 / 7, 2 / 3], dtype=torch.float64))
    assert mean_iou(pred, target, 3) == pytest.approx((0.5 + 0.75 + 0.5) / 3)
    assert mean_dice(pred, target, 3) == pytest.approx((4 / 6 + 6 / 7 + 2 / 3) / 3)


def test_absent_class_is_nan_and_skipped_by_the_mean():
    target = torch.tensor([[0, 0], [1, 1]])
    pred = torch.tensor([[0, 1], [1, 1]])
    iou = iou_per_class(pred, target, 4)
    assert math.isnan(iou[2]) and math.isnan(iou[3])
    assert mean_iou(pred, target, 4) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert mean_iou(target, target, 4) == 1.0 and mean_dice(target, target, 4) == 1.0


def test_dice_is_two_iou_over_one_plus_iou():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randint(0, 5, (3, 9, 9), generator=g), torch.randint(0, 5, (3, 9, 9), generator=g)
    iou, dice = iou_per_class(pred, target, 5), dice_per_class(pred, target, 5)
    torch.testing.assert_close(dice, 2 * iou / (1 + iou))
    # Batch counts pool pixels: the metric of the batch is not the mean of per-image metrics.
    assert confusion_matrix(pred, target, 5).sum() == 3 * 81


# ----------------------------------------------------------------------------- data


def test_segmentation_canvas_matches_detection_masks():
    from vitcourse.data import DetectionCanvas

    ds = SegmentationCanvas(5, canvas_size=24, object_size=(6, 10), max_objects=2, seed=3)
    ref = DetectionCanvas(5, canvas_size=24, object_size=(6, 10), max_objects=2, seed=3)
    assert ds.num_classes == 4 and ds.classes[0] == "background"
    assert ds.images.shape == (5, 3, 24, 24) and ds.masks.shape == (5, 24, 24) and ds.masks.dtype == torch.int64
    img, mask = ds[4]
    torch.testing.assert_close(img, ref[4][0])
    assert torch.equal(mask, ref[4][1]["mask"])
    # Every object pixel is coloured, every background pixel black.
    assert torch.equal(ds.masks > 0, ds.images.sum(1) > 0)
    assert len(SegmentationCanvas(0, canvas_size=16, object_size=(4, 6))) == 0


def test_denoising_pairs_are_fixed_and_clean_targets_are_canvases():
    a = DenoisingCanvas(4, sigma=0.3, noise_seed=1, canvas_size=16, object_size=(4, 8), seed=2)
    b = DenoisingCanvas(4, sigma=0.3, noise_seed=1, canvas_size=16, object_size=(4, 8), seed=2)
    noisy, clean = a[1]
    assert noisy.shape == clean.shape == (3, 16, 16)
    assert torch.equal(a.noisy, b.noisy)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert 0.15 < (a.noisy - a.images).std() < 0.3  # clipping at 0 and 1 shrinks the noise a little
    from vitcourse.data import DetectionCanvas

    torch.testing.assert_close(clean, DetectionCanvas(4, canvas_size=16, object_size=(4, 8), seed=2)[1][0])



def _sha(t):
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()[:16]


def test_segmentation_canvas_defaults_draw_the_same_canvases_as_before():
    # Hashes recorded before background/contrast existed: the defaults must keep every other notebook's data.
    kw = dict(canvas_size=24, object_size=(6, 10), max_objects=3, seed=7)
    ds = SegmentationCanvas(6, **kw)
    assert (_sha(ds.images), _sha(ds.masks)) == ("06bdf0cf79b9ce82", "ffdb7b6aec7c92b5")
    assert _sha(SegmentationCanvas(6, background="black", contrast=1.0, **kw).images) == "06bdf0cf79b9ce82"
    assert _sha(SegmentationCanvas(6, noise=0.1, **kw).images) == "9ca7b6587102fb3b"  # noise drawn as before
    assert repr(ds) == "SegmentationCanvas(length=6, size=24, classes=('background', 'square', 'circle', 'triangle'))"


def test_segmentation_canvas_texture_contrast_and_noise_do_what_they_say():
    from vitcourse.data import _texture

    kw = dict(canvas_size=24, object_size=(6, 10), max_objects=3, seed=7)
    plain = SegmentationCanvas(6, **kw)
    tex = SegmentationCanvas(6, background="texture", **kw)
    low = SegmentationCanvas(6, background="texture", contrast=0.4, **kw)
    noisy = SegmentationCanvas(6, background="texture", contrast=0.4, noise=0.1, **kw)
    for ds in (tex, low, noisy):  # the masks never change, the images stay in [0, 1]
        assert torch.equal(ds.masks, plain.masks) and ds.images.min() >= 0 and ds.images.max() <= 1
    obj = plain.masks[:, None].expand_as(plain.images) > 0
    # texture: objects keep their colour, the background is no longer black and varies within a canvas
    assert torch.equal(tex.images[obj], plain.images[obj])
    assert tex.images[~obj].mean() > 0.3 and tex.images[2].std((1, 2)).min() > 0.05
    # contrast: object pixel = bg + contrast * (colour - bg), the background under it from the same stream
    for i in range(6):
        bg = torch.from_numpy(_texture(np.random.default_rng([7, i, 1]), 24))
        torch.testing.assert_close(tex.images[i], torch.where(obj[i], plain.images[i], bg))
        torch.testing.assert_close(low.images[i], torch.where(obj[i], bg + 0.4 * (plain.images[i] - bg), bg))
    # contrast alone, on black: objects at 40 % of their colour
    torch.testing.assert_close(SegmentationCanvas(6, contrast=0.4, **kw).images, 0.4 * plain.images)
    # noise is added last, on the background and the objects alike
    diff = noisy.images - low.images
    assert 0.07 < diff[obj].std() < 0.11 and 0.07 < diff[~obj].std() < 0.11
    assert torch.equal(noisy.images, SegmentationCanvas(6, background="texture", contrast=0.4, noise=0.1, **kw).images)
    assert "background='texture', contrast=0.4, noise=0.1" in repr(noisy)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(background="grey"), ValueError, r"background must be one of \('black', 'texture'\), got 'grey'"),
    (dict(contrast=0), ValueError, r"contrast must be a number in \(0, 1\] \(1: objects in their full colour\), got 0"),
    (dict(contrast=1.5), ValueError, r"contrast must be a number in \(0, 1\].*got 1.5"),
    (dict(contrast=float("nan")), ValueError, r"contrast must be a number in \(0, 1\].*got nan"),
    (dict(contrast="low"), TypeError, r"contrast must be a number in \(0, 1\], got 'low' of type str"),
    (dict(contrast=True), TypeError, r"contrast must be a number in \(0, 1\], got True of type bool"),
    (dict(background="texture", noise=1.5), ValueError, r"noise must be a number in \[0, 1\), got 1.5"),
    (dict(background="texture", canvas_size=4), ValueError, "canvas_size must be >= 8, got 4"),
])
def test_segmentation_canvas_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SegmentationCanvas(2, **kwargs)

# ----------------------------------------------------------------------------- exercise 10 checks


def _double_conv(x, w1, b1, w2, b2):
    return F.relu(F.conv2d(F.relu(F.conv2d(x, w1, b1, padding=1)), w2, b2, padding=1))


def _decoder_stage(x, skip, w_up, b_up, w1, b1, w2, b2, *, order="skip_first", pad="split"):
    up = F.conv_transpose2d(x, w_up, b_up, stride=2)
    dh, dw = skip.shape[-2] - up.shape[-2], skip.shape[-1] - up.shape[-1]
    if pad == "split":
        up = F.pad(up, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
    elif pad == "top_left":
        up = F.pad(up, [dw, 0, dh, 0])
    else:
        up = F.interpolate(up, size=skip.shape[-2:])
    both = [skip, up] if order == "skip_first" else [up, skip]
    return _double_conv(torch.cat(both, 1), w1, b1, w2, b2)


def _dice(pred, target, num_classes, empty=float("nan")):
    out = torch.empty(num_classes, dtype=torch.float64)
    for c in range(num_classes):
        p, t = pred == c, target == c
        total = p.sum() + t.sum()
        out[c] = 2 * (p & t).sum() / total if total > 0 else empty
    return out


@pytest.mark.parametrize("name, fn", [("10.double_conv", _double_conv), ("10.decoder_stage", _decoder_stage),
                                      ("10.dice_score", _dice)])
def test_ex10_checks_pass_independent_solutions(name, fn):
    from vitcourse.checks import check

    check(name, fn, quiet=True)
    check(name, fn, hidden=True, quiet=True)
    check(name, fn, seeds=range(100, 120), quiet=True)


@pytest.mark.parametrize("name, fn", [
    ("10.double_conv", lambda x, w1, b1, w2, b2: F.conv2d(F.relu(F.conv2d(x, w1, b1, padding=1)), w2, b2, padding=1)),
    ("10.double_conv", lambda x, w1, b1, w2, b2: F.relu(F.conv2d(F.relu(F.conv2d(x, w1, b1)), w2, b2))),
    ("10.decoder_stage", lambda *a: _decoder_stage(*a, order="up_first")),
    ("10.decoder_stage", lambda *a: _decoder_stage(*a, pad="top_left")),
    ("10.decoder_stage", lambda *a: _decoder_stage(*a, pad="interpolate")),
    ("10.dice_score", lambda p, t, k: _dice(p, t, k, empty=0.0)),
    ("10.dice_score", lambda p, t, k: torch.stack([_dice(p[i], t[i], k) for i in range(len(p))]).nanmean(0)),
])
def test_ex10_checks_catch_typical_mistakes(name, fn):
    from vitcourse.checks import CheckFailed, check

    with pytest.raises(CheckFailed, match="Hint"):
        check(name, fn, quiet=True)
        check(name, fn, hidden=True, quiet=True)


# ----------------------------------------------------------------------------- TransUNet


def _tiny_vit_config(**kw):
    from vitcourse.vit import ViTConfig

    return ViTConfig(**{**dict(image_size=16, patch_size=4, in_channels=3, num_classes=7, dim=32, depth=2,
                               num_heads=2, mlp_dim=64), **kw})


@pytest.mark.parametrize("patch_size, pool", [(2, "cls"), (4, "mean"), (8, "cls")])
def test_transunet_shapes_and_gradients(patch_size, pool):
    from vitcourse.unet import TransUNet

    torch.manual_seed(0)
    model = TransUNet(_tiny_vit_config(patch_size=patch_size, pool=pool), 3, width=4)
    assert len(model.ups) == {2: 1, 4: 2, 8: 3}[patch_size]
    x = torch.randn(2, 3, 16, 16)
    out = model(x)
    assert out.shape == (2, 3, 16, 16)
    F.cross_entropy(out, torch.randint(0, 3, (2, 16, 16))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert model.vit.head is None or not any(True for _ in model.vit.head.parameters())


def test_transunet_decoder_sees_the_vit_tokens():
    from vitcourse.unet import TransUNet

    torch.manual_seed(0)
    model = TransUNet(_tiny_vit_config(), 2, width=4).eval()
    x = torch.randn(1, 3, 16, 16)
    base = model(x)
    with torch.no_grad():
        model.vit.pos_embed.add_(torch.randn_like(model.vit.pos_embed))  # change only the transformer's input
    assert not torch.allclose(model(x), base)


def test_transunet_errors():
    from vitcourse.unet import TransUNet

    with pytest.raises(ValueError, match="patch size 6 must be a power of two"):
        TransUNet(_tiny_vit_config(image_size=18, patch_size=6), 2)
    model = TransUNet(_tiny_vit_config(), 2, width=4)
    with pytest.raises(ValueError, match="image size 32x32 differs from the configured 16x16"):
        model(torch.randn(1, 3, 32, 32))


def test_transunet_decoder_is_as_its_docstring_says():
    """The numbers the docstring gives for patch 16, width 16 (its list of differences from the official code)."""
    from torch import nn

    from vitcourse.unet import TransUNet

    with torch.device("meta"):
        model = TransUNet(_tiny_vit_config(image_size=32, patch_size=16), 2, width=16)
    assert (model.to_grid.kernel_size, model.to_grid.out_channels) == ((1, 1), 256)
    assert all(isinstance(up.up, nn.ConvTranspose2d) and up.skip for up in model.ups)
    assert [up.conv.out_channels for up in model.ups] == [128, 64, 32, 16]
    assert len(model.downs) + 1 == len(model.ups) == 4  # a skip for every stage, the last at full resolution
    assert model.head.kernel_size == (1, 1)
