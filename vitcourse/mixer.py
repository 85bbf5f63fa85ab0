"""MLP-Mixer: an all-MLP vision architecture (lecture 08).

Paper: Tolstikhin et al., "MLP-Mixer: An all-MLP Architecture for Vision",
NeurIPS 2021, arXiv:2105.01601.

The ViT of lecture 06 turns an image into a table of ``N`` patches x ``D``
channels and mixes it with blocks of multi-head self-attention (MSA) and
MLPs. The Mixer keeps the table and the MLPs and replaces MSA by a second
MLP that works on the *transpose* of the table:

- token mixing (토큰 믹싱): ``(B, N, D) -> (B, D, N)``, one MLP ``N -> S -> N``
  shared by all ``D`` channels, so every patch sees every other patch;
- channel mixing (채널 믹싱): one MLP ``D -> C -> D`` per patch, shared by all
  ``N`` patches (the ViT's feed-forward layer).

Shapes: ``B`` batch, ``N`` patches (tokens), ``D`` channels (model width),
``S`` token-mixing hidden width, ``C`` channel-mixing hidden width, ``P``
patch size.

Differences from the paper: none in the architecture (patch embedding by a
strided convolution, pre-norm blocks, global average pooling, a linear head);
LayerNorm uses ``eps=1e-6`` as the paper's JAX code does. The GELU is
PyTorch's exact (erf) form by default, as in timm; the paper's JAX code uses
the tanh approximation (``MixerConfig(activation="gelu_tanh")``; the two
differ by at most 4.7e-4). The token-mixing
weights have shape ``(S, N)``, so a model is tied to one number of patches:
another image size raises a ValueError instead of silently mixing the wrong
tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn as nn

from .blocks import MLP
from .utils import check_fraction, check_int, check_positive, preset
from .vit import PatchEmbedding

__all__ = ["MixerConfig", "MixerBlock", "MLPMixer"]


@dataclass(frozen=True, kw_only=True, repr=False)
class MixerConfig:
    """Hyper-parameters of an `MLPMixer` (keyword-only, validated, frozen).

    Presets: `tiny_digits` (CPU, 16x16 digits), and the paper's `s16`,
    `b16`, `l16` (224 px, 1000 classes by default).
    """

    image_size: int = 224
    patch_size: int = 16
    in_channels: int = 3
    num_classes: int = 1000
    dim: int = 512  # D, "hidden size C" in the paper
    depth: int = 8
    token_mlp_dim: int = 256  # S, "MLP dimension D_S"
    channel_mlp_dim: int = 2048  # C, "MLP dimension D_C"
    dropout: float = 0.0
    norm_eps: float = 1e-6
    activation: str = "gelu"  # "gelu" (exact, erf) or "gelu_tanh" (tanh approximation, the paper's JAX code)

    def __post_init__(self):
        for name in (
            "image_size",
            "patch_size",
            "in_channels",
            "num_classes",
            "dim",
            "depth",
            "token_mlp_dim",
            "channel_mlp_dim",
        ):
            check_int(name, getattr(self, name), minimum=1)
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"image_size {self.image_size} is not divisible by patch_size {self.patch_size}")
        check_fraction("dropout", self.dropout)
        check_positive("norm_eps", self.norm_eps)
        if self.activation not in ("gelu", "gelu_tanh"):
            raise ValueError(f"activation must be 'gelu' or 'gelu_tanh', got {self.activation!r}")

    def __repr__(self) -> str:
        """Fields, with ``activation`` (added after lecture 08 was recorded) shown only when not the default."""
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.name != "activation" or self.activation != "gelu"
        ]
        return f"MixerConfig({', '.join(shown)})"

    @property
    def num_patches(self) -> int:
        """N = (image_size / patch_size)^2, the number of tokens the token-mixing MLPs are built for."""
        return (self.image_size // self.patch_size) ** 2

    @classmethod
    def tiny_digits(cls, **overrides) -> "MixerConfig":
        """16x16 digits (``load_digits(upscale=2)``), 4x4 patches: 16 tokens.  # 144K params, as the tiny ViT"""
        return preset(
            cls,
            overrides,
            image_size=16,
            patch_size=4,
            in_channels=1,
            num_classes=10,
            dim=64,
            depth=4,
            token_mlp_dim=64,
            channel_mlp_dim=256,
        )

    @classmethod
    def s16(cls, **overrides) -> "MixerConfig":
        """Mixer-S/16: 18,528,264 params at 224 px, 1000 classes."""
        return preset(cls, overrides, dim=512, depth=8, token_mlp_dim=256, channel_mlp_dim=2048)

    @classmethod
    def b16(cls, **overrides) -> "MixerConfig":
        """Mixer-B/16: 59,880,472 params at 224 px, 1000 classes."""
        return preset(cls, overrides, dim=768, depth=12, token_mlp_dim=384, channel_mlp_dim=3072)

    @classmethod
    def l16(cls, **overrides) -> "MixerConfig":
        """Mixer-L/16: 208,196,168 params at 224 px, 1000 classes."""
        return preset(cls, overrides, dim=1024, depth=24, token_mlp_dim=512, channel_mlp_dim=4096)


class MixerBlock(nn.Module):
    """One Mixer layer: token mixing across patches, then channel mixing per patch.

    U = X + (W2 GELU(W1 LayerNorm(X)^T))^T    (token mixing, on the transpose: N -> S -> N)
    Y = U + W4 GELU(W3 LayerNorm(U))          (channel mixing, per patch: D -> C -> D)

    Args:
        num_patches: N, fixed: the token-mixing MLP has weights of shape (S, N).
        dim: D, channels per patch.
        token_mlp_dim: S, hidden width of the token-mixing MLP.
        channel_mlp_dim: C, hidden width of the channel-mixing MLP.
        activation: ``"gelu"`` (exact) or ``"gelu_tanh"`` (the paper's JAX code), in both MLPs.
    """

    def __init__(
        self,
        num_patches: int,
        dim: int,
        token_mlp_dim: int,
        channel_mlp_dim: int,
        *,
        dropout: float = 0.0,
        norm_eps: float = 1e-6,
        activation: str = "gelu",
    ):
        super().__init__()
        self.num_patches = check_int("num_patches", num_patches, minimum=1)
        check_int("dim", dim, minimum=1)
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.token_mlp = MLP(num_patches, token_mlp_dim, activation=activation, dropout=dropout)  # on (B, D, N)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.channel_mlp = MLP(dim, channel_mlp_dim, activation=activation, dropout=dropout)  # on (B, N, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"x must have shape (B, N, D), got {tuple(x.shape)}")
        B, N, D = x.shape
        if N != self.num_patches:
            raise ValueError(
                f"x has {N} patches, but this MixerBlock's token-mixing MLP was built for "
                f"num_patches={self.num_patches}: its weights are tied to one number of patches"
            )
        y = self.norm1(x).transpose(1, 2)  # (B, D, N): each row is one channel across all patches
        x = x + self.token_mlp(y).transpose(1, 2)  # (B, N, D)  mix tokens, same MLP for every channel
        x = x + self.channel_mlp(self.norm2(x))  # (B, N, D)  mix channels, same MLP for every patch
        return x


class MLPMixer(nn.Module):
    """MLP-Mixer classifier: patch embedding, ``depth`` `MixerBlock` s, LayerNorm, mean over patches, head.

    Build it from a config: ``MLPMixer(MixerConfig.s16())``. There is no class
    token and no position embedding: the token-mixing MLP knows each patch's
    position because every patch has its own weights.
    """

    def __init__(self, config: MixerConfig):
        super().__init__()
        if not isinstance(config, MixerConfig):
            raise TypeError(f"config must be a MixerConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self.patch_embed = PatchEmbedding(c.patch_size, c.in_channels, c.dim)  # shared with the ViT
        self.blocks = nn.ModuleList(
            MixerBlock(
                c.num_patches,
                c.dim,
                c.token_mlp_dim,
                c.channel_mlp_dim,
                dropout=c.dropout,
                norm_eps=c.norm_eps,
                activation=c.activation,
            )
            for _ in range(c.depth)
        )
        self.norm = nn.LayerNorm(c.dim, eps=c.norm_eps)
        self.head = nn.Linear(c.dim, c.num_classes)

    def _check_images(self, images: torch.Tensor) -> None:
        c = self.config
        if images.ndim != 4:
            raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
        _, C, H, W = images.shape
        if C != c.in_channels:
            raise ValueError(f"images have {C} channels, expected in_channels={c.in_channels}")
        if (H, W) != (c.image_size, c.image_size):
            n = (H // c.patch_size) * (W // c.patch_size)
            raise ValueError(
                f"image size {H}x{W} does not match this Mixer's image_size={c.image_size}: its token-mixing "
                f"weights are tied to {c.num_patches} patches (of {c.patch_size} px), and a {H}x{W} image would "
                f"give {n}. Resize the images to {c.image_size}x{c.image_size} or build a new MLPMixer"
            )

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the last block and the final LayerNorm: ``(B, N, D)``."""
        self._check_images(images)
        x = self.patch_embed(images)  # (B, N, D)
        for block in self.blocks:
            x = block(x)  # (B, N, D)
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, num_classes)`` for images ``(B, C, image_size, image_size)``."""
        x = self.forward_features(images)  # (B, N, D)
        return self.head(x.mean(dim=1))  # (B, num_classes)  global average pooling over patches
