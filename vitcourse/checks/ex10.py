"""Checks for exercises/10_unet.ipynb: the double-conv block, one decoder stage with its skip, the Dice score.

The blocks are functions with their weights passed as arguments (no
``nn.Module``), so the grader can hand them plain arrays:

- ``double_conv(x, w1, b1, w2, b2)``: ``relu(conv3x3(relu(conv3x3(x, w1, b1)), w2, b2))``
  with padding 1 (the paper's block without BatchNorm);
- ``decoder_stage(x, skip, w_up, b_up, w1, b1, w2, b2)``: 2x2 transposed
  convolution with stride 2, zero-pad to the skip's size (the extra pixel
  of an odd size at the bottom/right, the rest split evenly), concatenate
  ``[skip, up]`` on the channels, then ``double_conv``;
- ``dice_score(pred, target, num_classes)``: per-class Dice ``(K,)``, NaN for
  a class absent from both.

References use ``torch.nn.functional`` in float64, `vitcourse.unet` and `vitcourse.metrics`.
"""

from __future__ import annotations

import numpy as np

from . import Check, register, visible_variant


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def double_conv_ref(x, w1, b1, w2, b2):
    import torch.nn.functional as F

    h = F.relu(F.conv2d(_t(x), _t(w1), _t(b1), padding=1))  # (B, M, H, W)
    return F.relu(F.conv2d(h, _t(w2), _t(b2), padding=1)).numpy()  # (B, O, H, W)


def decoder_stage_ref(x, skip, w_up, b_up, w1, b1, w2, b2):
    import torch

    from ..unet import pad_to

    up = torch.nn.functional.conv_transpose2d(_t(x), _t(w_up), _t(b_up), stride=2)  # (B, C/2, 2h, 2w)
    up = pad_to(up, np.asarray(skip).shape[-2:])  # (B, C/2, H, W)
    cat = torch.cat([_t(skip), up], dim=1).numpy()  # (B, C_skip + C/2, H, W)
    return double_conv_ref(cat, w1, b1, w2, b2)


def _conv_weight(rng, out_ch, in_ch, k=3):
    return (rng.normal(0, 1, size=(out_ch, in_ch, k, k)) * np.sqrt(2 / (in_ch * k * k))).astype(np.float32)


@register
class DoubleConvCheck(Check):
    name = "10.double_conv"
    absent = ("unet",)
    forbidden = ("vitcourse.unet",)
    target = "double_conv"
    rtol, atol = 1e-4, 1e-4

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: other channel counts and sizes, odd and non-square ones too
            B, C, M, O, H, W = ((2, 3, 4, 5, 6, 6), (1, 1, 2, 3, 5, 7), (3, 2, 3, 1, 1, 4))[visible_variant(rng, 3)]
        else:  # odd sizes, other channel counts
            B, C, M, O = (int(v) for v in rng.integers(1, 5, size=4))
            H, W = (int(v) for v in rng.integers(1, 12, size=2))
        return {
            "x": rng.normal(0, 1, size=(B, C, H, W)).astype(np.float32),
            "w1": _conv_weight(rng, M, C),
            "b1": rng.normal(0, 0.1, size=M).astype(np.float32),
            "w2": _conv_weight(rng, O, M),
            "b2": rng.normal(0, 0.1, size=O).astype(np.float32),
        }

    def reference(self, inputs):
        return double_conv_ref(**inputs)


@register
class DecoderStage(Check):
    name = "10.decoder_stage"
    absent = ("unet",)
    forbidden = ("vitcourse.unet",)
    target = "decoder_stage"
    rtol, atol = 1e-4, 1e-4
    mistakes = (("mistake.10.concat_order", lambda i: DecoderStage.upsampled_first(i)),)

    @staticmethod
    def upsampled_first(inputs):
        """The stage with the upsampled map before the skip in the concatenation: the same number of channels, so
        it runs, but w1 then reads each channel with another channel's weights."""
        import torch

        from ..unet import pad_to

        up = torch.nn.functional.conv_transpose2d(_t(inputs["x"]), _t(inputs["w_up"]), _t(inputs["b_up"]), stride=2)
        up = pad_to(up, np.asarray(inputs["skip"]).shape[-2:])
        cat = torch.cat([up, _t(inputs["skip"])], dim=1).numpy()
        return double_conv_ref(cat, inputs["w1"], inputs["b1"], inputs["w2"], inputs["b2"])

    def case_features(self, inputs):
        H, W = inputs["skip"].shape[-2:]
        return {f"odd height: {H % 2 == 1}", f"odd width: {W % 2 == 1}"}

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: (B, C, Cs, O, h, w) and the skip's extra row and column (odd sizes)
            variant = visible_variant(rng, 3)
            B, C, Cs, O, h, w = ((2, 4, 3, 3, 3, 3), (1, 2, 1, 2, 2, 4), (3, 6, 4, 1, 1, 2))[variant]
            extra = ((1, int(rng.integers(0, 2))), (0, 1), (1, 0))[variant]
        else:
            B = int(rng.integers(1, 4))
            C = 2 * int(rng.integers(1, 4))
            Cs, O = (int(v) for v in rng.integers(1, 6, size=2))
            h, w = (int(v) for v in rng.integers(1, 6, size=2))
            extra = tuple(int(v) for v in rng.integers(0, 2, size=2))
        H, W = 2 * h + extra[0], 2 * w + extra[1]
        M = O
        return {
            "x": rng.normal(0, 1, size=(B, C, h, w)).astype(np.float32),
            "skip": rng.normal(0, 1, size=(B, Cs, H, W)).astype(np.float32),
            "w_up": (rng.normal(0, 1, size=(C, C // 2, 2, 2)) / np.sqrt(C)).astype(np.float32),
            "b_up": rng.normal(0, 0.1, size=C // 2).astype(np.float32),
            "w1": _conv_weight(rng, M, Cs + C // 2),
            "b1": rng.normal(0, 0.1, size=M).astype(np.float32),
            "w2": _conv_weight(rng, O, M),
            "b2": rng.normal(0, 0.1, size=O).astype(np.float32),
        }

    def reference(self, inputs):
        return decoder_stage_ref(**inputs)


def dice_ref(pred, target, num_classes):
    import torch

    from ..metrics import dice_per_class

    return dice_per_class(
        torch.from_numpy(np.asarray(pred)), torch.from_numpy(np.asarray(target)), int(num_classes)
    ).numpy()


@register
class DiceScore(Check):
    name = "10.dice_score"
    absent = ("metrics",)
    forbidden = ("vitcourse.metrics",)
    target = "dice_score"
    rtol, atol = 1e-6, 1e-6
    mistakes = (
        ("mistake.10.dice_absent", lambda i: DiceScore.absent_as(i, 0.0)),
        ("mistake.10.dice_absent", lambda i: DiceScore.absent_as(i, 1.0)),
    )

    @staticmethod
    def absent_as(inputs, value):
        """Dice with ``value`` instead of NaN for a class absent from both; raises when no class is absent."""
        d = dice_ref(**inputs)
        if not np.isnan(d).any():
            raise ValueError("no absent class")
        return np.where(np.isnan(d), value, d)

    def case_features(self, inputs):
        K = inputs["num_classes"]
        present = np.isin(np.arange(K), inputs["pred"]) | np.isin(np.arange(K), inputs["target"])
        return {f"a class absent from both: {not present.all()}"}

    def make_inputs(self, rng, hidden):
        variant = 0 if hidden else visible_variant(rng, 3)
        if not hidden:  # one per seed: other sizes and class counts; the second case has a class absent from both
            B, H, W, K = ((2, 5, 6, 3), (1, 4, 4, 2), (3, 3, 5, 5))[variant]
        else:
            B, H, W = (int(v) for v in rng.integers(1, 6, size=3))
            K = int(rng.integers(2, 7))
        target = rng.integers(0, K, size=(B, H, W))
        pred = np.where(rng.random((B, H, W)) < 0.7, target, rng.integers(0, K, size=(B, H, W)))
        if hidden or variant == 1 or rng.random() < 0.5:  # a class that occurs nowhere (NaN)
            absent = int(rng.integers(K))
            pred[pred == absent] = (absent + 1) % K
            target[target == absent] = (absent + 1) % K
        return {"pred": pred.astype(np.int64), "target": target.astype(np.int64), "num_classes": K}

    def reference(self, inputs):
        return dice_ref(**inputs)
