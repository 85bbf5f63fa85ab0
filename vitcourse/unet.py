"""U-Net: an encoder, a decoder, and skip connections that carry the fine detail across.

Paper: Ronneberger, Fischer, Brox, "U-Net: Convolutional Networks for
Biomedical Image Segmentation", MICCAI 2015, arXiv:1505.04597.

The encoder (인코더) halves the resolution ``depth`` times and doubles the
channels, compressing the image into a small, wide latent (잠재 표현) at the
bottleneck. The decoder (디코더) doubles the resolution back, stage by stage.
A skip connection (스킵 연결) hands each decoder stage the encoder's feature
map of the same resolution, concatenated along the channels, so the spatial
detail the bottleneck threw away (exact edges, thin parts) is available again.
It is the same idea as the residual connection of lecture 05: give a later
layer a direct path to an earlier signal; a residual *adds* it, a U-Net skip
*concatenates* it.

Shape legend: ``B`` batch, ``C`` channels, ``H, W`` height and width,
``K`` output channels (classes for segmentation, 3 for an RGB image),
``w`` the base width, ``L`` the depth (number of down-sampling stages).
Level ``i`` (0 = full resolution) has ``w * 2**i`` channels and
``floor(H / 2**i)`` rows.

Differences from the paper:
- 3x3 convolutions use padding 1 (the paper uses none and crops the skip),
  so the output has the input's size; a BatchNorm follows every convolution.
- Inputs of any size of at least ``2**depth`` pixels are accepted: max-pooling
  floors odd sizes (7 -> 3), and each decoder stage zero-pads its up-sampled
  map (3 -> 6 -> 7) to the size of the encoder map it is joined with
  (`pad_to`). The paper instead picks input sizes that divide exactly.
- ``skips=False`` builds the same network without the concatenation (an
  encoder-decoder, for the ablation of lecture 10); the decoder still learns
  the target sizes from the encoder's shapes, never from its values.

Also here: `TransUNet` (a ViT encoder with this decoder). The lecture's data
(`vitcourse.data.SegmentationCanvas`, `vitcourse.data.DenoisingCanvas`) and
its segmentation metrics (`vitcourse.metrics`: IoU and Dice) are in their own
modules. Used by ``notebooks/10_unet.ipynb``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .utils import check_image_dtype, check_int, moved_names

__all__ = ["DoubleConv", "Down", "Up", "UNet", "TransUNet", "pad_to"]
# names that lived here before the split (an old notebook importing one is told where it went)
__getattr__ = moved_names(
    __name__,
    {
        "SegmentationCanvas": "vitcourse.data",
        "DenoisingCanvas": "vitcourse.data",
        **{
            n: "vitcourse.metrics"
            for n in ("confusion_matrix", "iou_per_class", "dice_per_class", "mean_iou", "mean_dice")
        },
    },
)


# ----------------------------------------------------------------------------- building blocks


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by BatchNorm and ReLU: ``(B, C_in, H, W) -> (B, C_out, H, W)``.

    ``y = relu(bn(conv3x3(relu(bn(conv3x3(x))))))``; padding 1 keeps ``H, W``.
    The workhorse of every U-Net level.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        in_channels = check_int("in_channels", in_channels, minimum=1)
        out_channels = check_int("out_channels", out_channels, minimum=1)
        mid_channels = check_int("mid_channels", mid_channels if mid_channels is not None else out_channels, minimum=1)
        super().__init__(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),  # bias is BatchNorm's job
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
        self.in_channels, self.out_channels = in_channels, out_channels


class Down(nn.Sequential):
    """One encoder stage: 2x2 max-pool, then `DoubleConv`: ``(B, C_in, H, W) -> (B, C_out, H//2, W//2)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


def pad_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Zero-pad ``x`` ``(B, C, h, w)`` to ``(B, C, H, W)``, splitting the padding between the two sides.

    The decoder's up-sampled map is at most one pixel smaller than the skip
    per odd size on the way down (7 -> 3 -> 6 vs 7); the difference is split
    between the two sides (the extra pixel goes to the bottom/right).
    """
    h, w = x.shape[-2:]
    H, W = int(size[0]), int(size[1])
    if h > H or w > W:
        raise ValueError(f"cannot pad a map of size {(h, w)} to the smaller size {(H, W)}")
    dh, dw = H - h, W - w
    if dh == 0 and dw == 0:
        return x
    return F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])  # (B, C, H, W)


class Up(nn.Module):
    """One decoder stage: up-sample x2, pad to the skip's size, concatenate the skip, `DoubleConv`.

    ``(B, C_in, h, w)`` and skip ``(B, C_skip, H, W)`` -> ``(B, C_out, H, W)``
    with ``H in {2h, 2h + 1}``. The up-sampling is a 2x2 transposed
    convolution with stride 2 that halves the channels (``C_in -> C_in // 2``).
    With ``skip=False`` the skip's values are not used (only its size):
    ``DoubleConv(C_in // 2 -> C_out)`` sees the up-sampled map alone.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, *, skip: bool = True):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=2)
        skip_channels = check_int("skip_channels", skip_channels, minimum=0)
        self.skip = bool(skip)
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + (skip_channels if self.skip else 0), out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (B, C_in/2, 2h, 2w)
        x = pad_to(x, skip.shape[-2:])  # (B, C_in/2, H, W)
        if self.skip:
            x = torch.cat([skip, x], dim=1)  # (B, C_skip + C_in/2, H, W): the skip connection
        return self.conv(x)  # (B, C_out, H, W)


# ----------------------------------------------------------------------------- the U-Net


class UNet(nn.Module):
    """U-Net with configurable ``depth`` and ``width``: ``(B, C, H, W) -> (B, K, H, W)``.

    Level ``i`` has ``width * 2**i`` channels at ``1 / 2**i`` of the input
    resolution; the bottleneck is level ``depth``. Each decoder stage joins
    the encoder map of its level (skip connection by concatenation), and a
    1x1 convolution maps ``width`` channels to ``out_channels`` (logits per
    class for segmentation, pixel values for denoising).

    Args:
        in_channels: channels of the input image (3 for RGB).
        out_channels: channels of the output (``K``; ``num_classes`` is an alias).
        depth: number of down-sampling stages ``L`` (>= 1). Inputs must have
            at least ``2**depth`` pixels per side; odd sizes are handled by
            padding in the decoder (see the module docstring).
        width: channels at full resolution ``w`` (the paper: 64, depth 4).
        skips: ``False`` drops the concatenation (same encoder and decoder
            otherwise) for the ablation.

    ``forward(x, return_features=True)`` also returns a dict of the feature
    maps: ``enc0..enc{L-1}`` (encoder, full resolution first), ``bottleneck``,
    and ``dec{L-1}..dec0`` (decoder output per level).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int | None = None,
        *,
        num_classes: int | None = None,
        depth: int = 4,
        width: int = 64,
        skips: bool = True,
    ):
        super().__init__()
        if out_channels is not None and num_classes is not None and out_channels != num_classes:
            raise ValueError(
                f"give out_channels or num_classes, not both with different values "
                f"(out_channels={out_channels}, num_classes={num_classes})"
            )
        out_channels = out_channels if out_channels is not None else num_classes
        if out_channels is None:
            raise TypeError("UNet needs out_channels (or num_classes): the number of output channels")
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.depth = check_int("depth", depth, minimum=1, maximum=8)
        self.width = check_int("width", width, minimum=1)
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        self.skips = skips
        chans = [self.width * 2**i for i in range(self.depth + 1)]  # channels per level, bottleneck last
        self.inc = DoubleConv(self.in_channels, chans[0])
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(self.depth))
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i], chans[i], skip=skips) for i in reversed(range(self.depth)))
        self.head = nn.Conv2d(chans[0], self.out_channels, kernel_size=1)

    @property
    def min_size(self) -> int:
        """The smallest input side: the bottleneck must keep at least one pixel."""
        return 2**self.depth

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        check_image_dtype("x", x, self.head.weight.dtype)
        H, W = x.shape[-2:]
        if min(H, W) < self.min_size:
            raise ValueError(
                f"input size {H}x{W} is too small for depth {self.depth}: each side needs at least "
                f"2**{self.depth} = {self.min_size} pixels so the bottleneck keeps one pixel"
            )

    def forward(self, x: torch.Tensor, return_features: bool = False):
        self._check_input(x)
        B, C, H, W = x.shape
        features = {}
        h = self.inc(x)  # (B, w, H, W)
        encoded = [h]
        for down in self.downs:
            h = down(h)  # (B, 2C, H/2, W/2) per stage, floors odd sizes
            encoded.append(h)
        for i, e in enumerate(encoded[:-1]):
            features[f"enc{i}"] = e
        features["bottleneck"] = h  # (B, w * 2**L, H / 2**L, W / 2**L): the latent
        for level, up in zip(reversed(range(self.depth)), self.ups):
            h = up(h, encoded[level])  # (B, w * 2**level, H / 2**level, W / 2**level)
            features[f"dec{level}"] = h
        out = self.head(h)  # (B, K, H, W)
        return (out, features) if return_features else out

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, skips={self.skips}"


class TransUNet(nn.Module):
    """A ViT encoder with a convolutional U-Net decoder: ``(B, C, S, S) -> (B, K, S, S)``.

    The idea of TransUNet (Chen et al., "TransUNet: Transformers Make Strong
    Encoders for Medical Image Segmentation", arXiv:2102.04306): a
    transformer sees the whole image through its patches (global context),
    but its token grid is ``P`` times coarser than the pixels, so the patch
    tokens are reshaped back into a grid ``(B, D, S/P, S/P)`` and up-sampled by
    `Up` stages that take skips from a small CNN that still sees pixels.

    Levels: a `DoubleConv` at full resolution (``width`` channels) and
    ``log2(P) - 1`` `Down` stages give the skips at ``S, S/2, ..., 2S/P``;
    the tokens, projected by a 1x1 conv to ``width * P`` channels, are the
    bottleneck at ``S/P``; ``log2(P)`` `Up` stages return to ``S``.

    Args:
        vit_config: a `vitcourse.vit.ViTConfig` (its ``num_classes`` is
            ignored: the classification head is not built). ``patch_size``
            must be a power of two >= 2; images must be ``image_size`` square.
        out_channels: ``K``.
        width: channels of the full-resolution CNN level.

    Differences from the paper: the ViT embeds the raw image patches (the
    paper's hybrid embeds a ResNet feature map), and the CNN that gives the
    skips is a small U-Net encoder, not the ResNet.

    Differences from the official code (github.com/Beckschen/TransUNet,
    ``networks/vit_seg_modeling.py``: ``DecoderCup``, ``DecoderBlock``,
    ``SegmentationHead``; R50-ViT-B/16 config), every one a choice to reuse
    this module's `UNet` parts; the numbers in brackets are ours for
    ``patch_size=16, width=16``:

    - tokens to grid: a 1x1 convolution ``D -> width * P`` (256), no
      BatchNorm or ReLU; official ``conv_more``: a 3x3 convolution
      ``D -> 512`` with BatchNorm and ReLU;
    - up-sampling: a learned 2x2 transposed convolution with stride 2 that
      halves the channels (`Up`); official: parameter-free bilinear x2
      (``UpsamplingBilinear2d``, ``align_corners=True``), channels unchanged;
    - decoder widths: halve per stage down to ``width`` (128, 64, 32, 16);
      official ``decoder_channels``: 256, 128, 64, 16;
    - skips: every stage gets one, the last at full resolution from a
      `DoubleConv` on the pixels (``width`` channels), the others from `Down`
      stages, ``log2(P)`` skips in all (4), concatenated skip first; official
      ``n_skip=3``: ResNet-50 maps at 1/8, 1/4, 1/2 (512, 256, 64 channels),
      none at full resolution (its ``skip_channels[3] = 16`` is zeroed),
      concatenated after the up-sampled map; the plain-ViT configs have no skip;
    - head: a 1x1 convolution; official ``SegmentationHead``: a 3x3 one;
    - tokens: a ViT with a class token (``pool="cls"``) keeps it through the
      blocks and drops it before the decoder; the official embeddings have no
      class token (``ViTConfig(pool="mean")`` matches that);
    - input: ``in_channels`` comes from the config; the official model
      repeats a one-channel image to three channels.
    """

    def __init__(self, vit_config, out_channels: int, *, width: int = 16):
        super().__init__()
        from .vit import ViT  # lecture 06's model

        P = vit_config.patch_size
        if P < 2 or P & (P - 1):
            raise ValueError(
                f"patch size {P} must be a power of two >= 2 so that log2(P) decoder stages restore the pixel grid"
            )
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.width = check_int("width", width, minimum=1)
        self.config = vit_config.replace(num_classes=0)
        self.levels = P.bit_length() - 1  # log2(P) up-sampling stages
        chans = [self.width * 2**i for i in range(self.levels + 1)]  # chans[-1] = width * P at the token grid
        self.vit = ViT(self.config)
        self.inc = DoubleConv(self.config.in_channels, chans[0])
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(self.levels - 1))
        self.to_grid = nn.Conv2d(self.config.dim, chans[-1], kernel_size=1)  # tokens -> bottleneck channels
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i], chans[i]) for i in reversed(range(self.levels)))
        self.head = nn.Conv2d(chans[0], self.out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        P = self.config.patch_size
        tokens = self.vit.forward_features(x)[:, self.vit.num_prefix_tokens :]  # (B, N, D), class token dropped
        grid = tokens.transpose(1, 2).reshape(B, self.config.dim, H // P, W // P)  # (B, D, H/P, W/P)
        h = self.to_grid(grid)  # (B, width * P, H/P, W/P): the bottleneck
        skips = [self.inc(x)]  # (B, width, H, W)
        for down in self.downs:
            skips.append(down(skips[-1]))  # (B, width * 2**i, H / 2**i, W / 2**i)
        for up, skip in zip(self.ups, reversed(skips)):
            h = up(h, skip)  # doubles the resolution, joins the CNN's map of that size
        return self.head(h)  # (B, K, H, W)
