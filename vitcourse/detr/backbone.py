"""Convolutional backbones for DETR: ResNet with frozen batch norm (the paper) and a small CNN (CPU).

Papers: He et al., "Deep Residual Learning for Image Recognition" (ResNet,
arXiv:1512.03385); Carion et al., DETR (arXiv:2005.12872), section 3.2:
"starting from the initial image x (3, H0, W0), a conventional CNN backbone
generates a lower-resolution activation map f (C, H, W) with C = 2048 and
H, W = H0/32, W0/32".

Shapes: ``B`` batch, ``C`` channels of the last stage, ``h, w`` the feature map
(the input divided by the backbone's ``stride``).

Written here without torchvision: module names follow torchvision's ResNet
(``conv1``, ``bn1``, ``layer1`` ... ``layer4``; blocks with ``conv1..3``,
``bn1..3``, ``downsample``), so torchvision or DETR checkpoints load by name.
The stride sits in the 3x3 convolution ("ResNet v1.5", as in torchvision and
DETR). Batch norm is frozen (`FrozenBatchNorm2d`): with DETR's small batches
the batch statistics would be too noisy, so the ImageNet ones are kept fixed.
Differences from the paper: none for ``BackboneConfig.resnet50()``; the small
CNN (``BackboneConfig.small_cnn()``) is the course's addition for CPU training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..utils import check_int

__all__ = ["BackboneConfig", "FrozenBatchNorm2d", "ResNetBackbone", "SmallCNN", "build_backbone"]


@dataclass(frozen=True, kw_only=True)
class BackboneConfig:
    """What backbone DETR uses.

    Args:
        kind: ``"resnet"`` (frozen batch norm) or ``"cnn"`` (small CNN, trainable batch norm).
        widths: output channels of each stage (ResNet-50: 256, 512, 1024, 2048).
        depths: blocks per stage (ResNet only; ResNet-50: 3, 4, 6, 3).
        stem_channels: channels of the ResNet stem (7x7 convolution); 64 in ResNet-50.
        block: ``"bottleneck"`` (1x1, 3x3, 1x1; ResNet-50) or ``"basic"`` (3x3, 3x3; ResNet-18/34).
        frozen_stages: ResNet parts that are not trained: -1 none, 0 the stem,
            ``k`` the stem and the first ``k`` stages (DETR: 1).
        stride_in_first_stage: whether the first ResNet stage halves the
            resolution (False in ResNet-50; its stem already divides by 4).
    """

    kind: str = "resnet"
    widths: tuple[int, ...] = (256, 512, 1024, 2048)
    depths: tuple[int, ...] = (3, 4, 6, 3)
    stem_channels: int = 64
    block: str = "bottleneck"
    frozen_stages: int = 1
    stride_in_first_stage: bool = False

    def __post_init__(self):
        if self.kind not in {"resnet", "cnn"}:
            raise ValueError(f"kind must be 'resnet' or 'cnn', got {self.kind!r}")
        if self.block not in {"bottleneck", "basic"}:
            raise ValueError(f"block must be 'bottleneck' or 'basic', got {self.block!r}")
        widths, depths = tuple(self.widths), tuple(self.depths)
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "depths", depths)
        if not widths:
            raise ValueError(f"widths must be positive integers, got {widths!r}")
        widths = tuple(check_int(f"widths[{i}]", c, minimum=1) for i, c in enumerate(widths))
        object.__setattr__(self, "widths", widths)
        if self.kind == "resnet":
            if len(depths) != len(widths) or any(not isinstance(d, int) or d < 1 for d in depths):
                raise ValueError(
                    f"depths must give one positive block count per stage ({len(widths)} stages), got {depths!r}"
                )
            if self.block == "bottleneck" and any(c % 4 for c in widths):
                raise ValueError(f"bottleneck stage widths must be divisible by 4, got {widths!r}")
            if not -1 <= self.frozen_stages <= len(widths):
                raise ValueError(f"frozen_stages must be in -1..{len(widths)}, got {self.frozen_stages!r}")

    @classmethod
    def resnet50(cls) -> "BackboneConfig":
        """ResNet-50 with the stem and the first stage frozen, as in DETR."""  # 23.5M params, 222,400 frozen
        return cls()

    @classmethod
    def small_cnn(cls, widths: tuple[int, ...] = (32, 64, 128)) -> "BackboneConfig":
        """A small CNN for CPU training: one stride-2 stage per width (stride 8 for three widths)."""
        return cls(kind="cnn", widths=widths, depths=(), frozen_stages=-1)

    @property
    def stride(self) -> int:
        """How much smaller than the input the feature map is."""
        if self.kind == "cnn":
            return 2 ** len(self.widths)
        return 4 * 2 ** (len(self.widths) - 1 + int(self.stride_in_first_stage))

    @property
    def out_channels(self) -> int:
        return self.widths[-1]


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine parameters (buffers, never trained).

    y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
    """

    weight: torch.Tensor  # buffers (register_buffer in __init__)
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "num_batches_tracked", None)  # present in ordinary BatchNorm2d checkpoints
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()  # (C,)
        shift = self.bias - self.running_mean * scale  # (C,)
        return x * scale[None, :, None, None] + shift[None, :, None, None]  # (B, C, H, W)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """ResNet's projection shortcut (1x1 conv + frozen BN) when the shape changes, else ``None`` (identity).

    Named ``downsample.0`` / ``downsample.1`` as in torchvision, so checkpoints load unchanged.
    """
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), FrozenBatchNorm2d(out_channels)
    )


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1 reduce, 3x3 (stride here), 1x1 expand, plus the shortcut; then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        mid = out_channels // 4
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn1 = FrozenBatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = FrozenBatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # (B, C_out, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))  # (B, C_out/4, H/s, W/s)
        out = self.bn3(self.conv3(out))  # (B, C_out, H/s, W/s)
        return self.relu(out + identity)


class BasicBlock(nn.Module):
    """ResNet basic block (ResNet-18/34): two 3x3 convolutions plus the shortcut; then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = FrozenBatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetBackbone(nn.Module):
    """ResNet without its classifier: image ``(B, 3, H, W)`` -> features ``(B, C, H/32, W/32)`` (4 stages)."""

    def __init__(self, config: BackboneConfig):
        super().__init__()
        if config.kind != "resnet":
            raise ValueError(f"ResNetBackbone needs a config with kind='resnet', got {config.kind!r}")
        self.config = config
        self.conv1 = nn.Conv2d(3, config.stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(config.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        block = Bottleneck if config.block == "bottleneck" else BasicBlock
        in_channels = config.stem_channels
        for i, (width, depth) in enumerate(zip(config.widths, config.depths)):
            stride = 1 if i == 0 and not config.stride_in_first_stage else 2
            blocks = [block(in_channels, width, stride)] + [block(width, width) for _ in range(depth - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            in_channels = width
        self.num_channels = config.out_channels
        self.freeze(config.frozen_stages)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(len(self.config.widths))]

    def freeze(self, frozen_stages: int) -> None:
        """Stop training the stem (``frozen_stages >= 0``) and the first ``frozen_stages`` stages."""
        parts = ([self.conv1] if frozen_stages >= 0 else []) + self.stages()[: max(frozen_stages, 0)]
        for part in parts:
            for p in part.parameters():
                p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, stem, H/4, W/4)
        for stage in self.stages():
            x = stage(x)  # (B, width_i, H/4/2^i, W/4/2^i)
        return x  # (B, C, h, w)


class SmallCNN(nn.Module):
    """A small CNN for CPU training: per width, conv3x3 stride 2 + BN + ReLU, then conv3x3 + BN + ReLU."""

    def __init__(self, config: BackboneConfig):
        super().__init__()
        if config.kind != "cnn":
            raise ValueError(f"SmallCNN needs a config with kind='cnn', got {config.kind!r}")
        layers, in_channels = [], 3
        for width in config.widths:
            layers += [
                nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            in_channels = width
        self.body = nn.Sequential(*layers)
        self.num_channels = config.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, C, H/2^stages, W/2^stages)


def build_backbone(config: BackboneConfig) -> ResNetBackbone | SmallCNN:
    """`ResNetBackbone` or `SmallCNN` for ``config``."""
    if not isinstance(config, BackboneConfig):
        raise TypeError(f"config must be a BackboneConfig, got {type(config).__name__}")
    return ResNetBackbone(config) if config.kind == "resnet" else SmallCNN(config)
