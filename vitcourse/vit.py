"""The Vision Transformer: an image as a sequence of patches, classified by a transformer encoder.

Paper: Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for
Image Recognition at Scale", ICLR 2021, arXiv:2010.11929. Lecture:
``notebooks/06_vision_transformer.ipynb``.

Shapes: ``B`` batch, ``C`` image channels, ``S`` image side, ``P`` patch
side, ``h, w`` patch grid (``S // P``), ``N`` patches (``h * w``), ``T``
tokens (``N`` plus one class token), ``D`` model width, ``H`` heads, ``L``
blocks, ``K`` classes.

The forward pass (eq. 1-4 of the paper)::

    z0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos        (B, T, D)
    z_l = z_l-1 + MSA(LN(z_l-1)); z_l = z_l + MLP(LN(z_l))   (pre-norm blocks, l = 1..L)
    y = head(LN(z_L)[:, 0])                                (B, K)

Differences from the paper:
- The classification head is one linear layer (the paper's fine-tuning
  head); the pre-training head with a tanh hidden layer is left out.
- ``pool="mean"`` (global average pooling over patch tokens, the paper's
  appendix D.3 ablation) and ``pos_embedding="sincos"`` (fixed 2D sine-cosine
  positions, as in MAE) are options; the paper's ViT uses the class token and
  learned positions.
- Layer-norm epsilon is a config field: 1e-6 in the paper's JAX code, 1e-12
  in Hugging Face's port (`vit_from_hf` copies it from the checkpoint).
- The MLP uses PyTorch's exact (erf) GELU by default, as timm and Hugging
  Face do; the paper's JAX code uses the tanh approximation
  (``activation="gelu_tanh"``; the two differ by at most 4.7e-4, at x = 2.7).
- ``pool="mean"`` normalises every token, then averages (the paper's JAX
  code); ``fc_norm=True`` averages, then normalises (timm's ``fc_norm``, MAE,
  DeiT-III), and `vit_from_timm` maps timm's ``fc_norm`` weights onto it.
- ``dropout`` (embeddings, attention output, MLP) and ``attn_dropout`` (the
  attention weights) are separate settings, as in the paper and timm/HF.

The transformer blocks, attention and position helpers are imported from
`vitcourse.blocks`, `vitcourse.attention` and `vitcourse.positional`; this
module only adds what is specific to images. Around the model, each in its
own module: `vitcourse.rollout` (attention rollout), `vitcourse.augment`
(`random_affine`) and `vitcourse.vit_hf` (pretrained Hugging Face and timm
weights: `vit_from_hf`, `vit_from_timm`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn as nn
from einops import rearrange

from .blocks import PreNormBlock
from .positional import resize_grid_embedding, sincos_2d
from .utils import check_fraction, check_image_dtype, check_images, check_int, check_positive, moved_names, preset

__all__ = ["ViTConfig", "ViT", "PatchEmbedding", "patchify", "unpatchify", "count_parameters"]
# names that lived here before the split (an old notebook importing one is told where it went)
__getattr__ = moved_names(
    __name__,
    {
        "random_affine": "vitcourse.augment",
        "attention_rollout": "vitcourse.rollout",
        "cls_attention_grid": "vitcourse.rollout",
        "vit_from_hf": "vitcourse.vit_hf",
        "vit_from_timm": "vitcourse.vit_hf",
    },
)


# ----------------------------------------------------------------------------- patches


def _check_divisible(height: int, width: int, patch_size: int) -> None:
    if height % patch_size or width % patch_size:
        raise ValueError(f"image size {height}x{width} is not divisible by patch size {patch_size}")


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into non-overlapping patches and flatten each one: ``(B, C, H, W) -> (B, N, P*P*C)``.

    Patches are read row by row (left to right, top to bottom); inside a
    patch, pixels are ordered ``(row, column, channel)``, the order of the
    paper's ``x_p`` and of `PatchEmbedding.as_linear`.
    """
    check_images("images", images)
    patch_size = check_int("patch_size", patch_size, minimum=1)
    _check_divisible(images.shape[-2], images.shape[-1], patch_size)
    return rearrange(images, "b c (h p) (w q) -> b (h w) (p q c)", p=patch_size, q=patch_size)  # (B, N, P*P*C)


def unpatchify(patches: torch.Tensor, patch_size: int, grid: tuple[int, int] | int, channels: int = 3) -> torch.Tensor:
    """Inverse of `patchify`: ``(B, N, P*P*C) -> (B, C, h*P, w*P)`` for a patch grid ``(h, w)``."""
    if not isinstance(patches, torch.Tensor) or patches.ndim != 3:
        shape = tuple(patches.shape) if isinstance(patches, torch.Tensor) else type(patches).__name__
        raise ValueError(f"patches must be a tensor of shape (B, N, P*P*C), got {shape}")
    h, w = (grid, grid) if isinstance(grid, int) else tuple(grid)
    if patches.shape[1] != h * w:
        raise ValueError(f"patches has {patches.shape[1]} patches, but a {h}x{w} grid needs {h * w}")
    if patches.shape[2] != patch_size * patch_size * channels:
        raise ValueError(
            f"patches has {patches.shape[2]} values per patch, but patch size {patch_size} with "
            f"{channels} channels needs {patch_size * patch_size * channels}"
        )
    return rearrange(patches, "b (h w) (p q c) -> b c (h p) (w q)", h=h, w=w, p=patch_size, q=patch_size, c=channels)


class PatchEmbedding(nn.Module):
    """Linear embedding of flattened patches, computed as a strided convolution.

    ``E x_p`` for every patch ``x_p`` equals ``Conv2d(C, D, kernel_size=P,
    stride=P)``: the kernel sees each patch exactly once. `as_linear` returns
    the equivalent ``nn.Linear`` acting on `patchify`'s output.

    Input ``(B, C, H, W)``, output ``(B, N, D)`` with ``N = (H/P) * (W/P)``.
    """

    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        self.patch_size, self.in_channels, self.dim = patch_size, in_channels, dim
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images("images", images)
        check_image_dtype("images", images, self.proj.weight.dtype)
        B, C, H, W = images.shape
        if C != self.in_channels:
            raise ValueError(f"images have {C} channels, expected {self.in_channels} (shape {tuple(images.shape)})")
        _check_divisible(H, W, self.patch_size)
        x = self.proj(images)  # (B, D, h, w): one D-vector per patch
        return rearrange(x, "b d h w -> b (h w) d")  # (B, N, D)

    def as_linear(self) -> nn.Linear:
        """An ``nn.Linear(P*P*C, D)`` with the same weights, to apply to ``patchify(images, P)``."""
        linear = nn.Linear(self.patch_size * self.patch_size * self.in_channels, self.dim)
        with torch.no_grad():
            linear.weight.copy_(rearrange(self.proj.weight, "d c p q -> d (p q c)"))  # (D, P*P*C)
            assert self.proj.bias is not None  # the Conv2d in __init__ has a bias (the default bias=True)
            linear.bias.copy_(self.proj.bias)
        return linear.to(self.proj.weight.device)

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}, in_channels={self.in_channels}, dim={self.dim}"


# ----------------------------------------------------------------------------- config


# Options added after the lectures were recorded: shown by repr only when set, so printed configs stay as recorded.
_LATER = {"attn_dropout": 0.0, "activation": "gelu", "fc_norm": False, "class_token": None}


@dataclass(frozen=True, kw_only=True, repr=False)
class ViTConfig:
    """Hyper-parameters of a `ViT`; presets reproduce the paper's models.

    ``ViTConfig.b16()`` is ViT-Base with 16x16 patches; any preset takes
    keyword overrides, e.g. ``ViTConfig.b16(num_classes=10, image_size=384)``.

    Options for other codebases' layouts (the defaults are the paper's):
    ``attn_dropout`` is dropout on the attention weights, separate from
    ``dropout`` (embeddings, residual branches, MLP), as in the paper, timm
    and Hugging Face (0 in all the paper's configs). ``activation`` is the
    MLP's GELU: ``"gelu"`` the exact erf form (PyTorch, timm, Hugging Face
    default), ``"gelu_tanh"`` the tanh approximation that the papers' JAX
    code uses (``flax.linen.gelu`` approximates by default; the two differ
    by at most ~5e-4 per unit). ``fc_norm`` moves the final LayerNorm after
    the pooling (timm's ``fc_norm``, MAE and DeiT-III fine-tuning: average,
    then normalise); without it ``pool="mean"`` normalises every token, then
    averages (the paper's JAX code). ``class_token`` keeps a class token with
    ``pool="mean"`` (MAE: it takes part in attention but is not averaged);
    ``None`` means "only when ``pool == 'cls'``".
    """

    image_size: int = 224  # side S of the (square) input image
    patch_size: int = 16  # side P of a patch
    in_channels: int = 3
    num_classes: int = 1000  # 0: no head, the model returns the pooled features
    dim: int = 768  # D, the width of every token
    depth: int = 12  # L, number of transformer blocks
    num_heads: int = 12  # H
    mlp_dim: int = 3072  # hidden width of the MLP in each block
    pool: str = "cls"  # "cls": class token (paper); "mean": average of patch tokens
    pos_embedding: str = "learned"  # "learned" (paper) or "sincos" (fixed 2D sine-cosine)
    qkv_bias: bool = True
    dropout: float = 0.0  # on the embeddings, the attention output and the MLP (not on attention weights)
    norm_eps: float = 1e-6
    attn_dropout: float = 0.0  # on the attention weights
    activation: str = "gelu"  # "gelu" (exact, erf) or "gelu_tanh" (tanh approximation, the papers' JAX code)
    fc_norm: bool = False  # True: final LayerNorm after pooling (timm fc_norm); False: before (paper)
    class_token: bool | None = None  # None: a class token exactly when pool == "cls"

    def __post_init__(self):
        for name in ("image_size", "patch_size", "in_channels", "dim", "depth", "num_heads", "mlp_dim", "num_classes"):
            value = check_int(name, getattr(self, name), minimum=0 if name == "num_classes" else 1)
            object.__setattr__(self, name, value)  # a numpy integer is stored as a Python int
        if self.image_size % self.patch_size:
            raise ValueError(f"image size {self.image_size} is not divisible by patch size {self.patch_size}")
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {self.pool!r}")
        if self.pos_embedding not in ("learned", "sincos"):
            raise ValueError(f"pos_embedding must be 'learned' or 'sincos', got {self.pos_embedding!r}")
        if self.pos_embedding == "sincos" and self.dim % 4:
            raise ValueError(f"pos_embedding='sincos' needs dim divisible by 4, got dim {self.dim}")
        for name in ("qkv_bias", "fc_norm"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name in ("dropout", "attn_dropout"):
            check_fraction(name, getattr(self, name))
        check_positive("norm_eps", self.norm_eps)
        if self.activation not in ("gelu", "gelu_tanh"):
            raise ValueError(f"activation must be 'gelu' or 'gelu_tanh', got {self.activation!r}")
        if self.class_token is not None and not isinstance(self.class_token, bool):
            raise TypeError(f"class_token must be None or a bool, got {self.class_token!r}")
        if self.pool == "cls" and self.class_token is False:
            raise ValueError(
                "pool='cls' needs class_token=True (or None): the class token is what is pooled; "
                "use pool='mean' for a model without one"
            )

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.name not in _LATER or getattr(self, f.name) != _LATER[f.name]
        ]
        return f"ViTConfig({', '.join(shown)})"

    @property
    def has_class_token(self) -> bool:
        """Whether the sequence starts with a class token (``class_token``, or by default ``pool == 'cls'``)."""
        return self.pool == "cls" if self.class_token is None else self.class_token

    @property
    def grid_size(self) -> int:
        """Patches per side, ``S // P``."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid_size**2

    @property
    def num_tokens(self) -> int:
        """Sequence length seen by the blocks: patches plus the class token if there is one."""
        return self.num_patches + self.has_class_token

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    def replace(self, **changes) -> "ViTConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # Presets: Table 1 of the paper (Ti and S from DeiT, arXiv:2012.12877). Counts for 224 px, 1000 classes.
    @classmethod
    def tiny_digits(cls, **overrides) -> "ViTConfig":
        """The lecture's CPU model for 16x16 digits (``load_digits(upscale=2)``).  # 137k params"""
        return preset(
            cls,
            overrides,
            image_size=16,
            patch_size=4,
            in_channels=1,
            num_classes=10,
            dim=64,
            depth=4,
            num_heads=4,
            mlp_dim=128,
        )

    @classmethod
    def ti16(cls, **overrides) -> "ViTConfig":
        """ViT-Ti/16.  # 5.7M params"""
        return preset(cls, overrides, dim=192, depth=12, num_heads=3, mlp_dim=768)

    @classmethod
    def s16(cls, **overrides) -> "ViTConfig":
        """ViT-S/16.  # 22.1M params"""
        return preset(cls, overrides, dim=384, depth=12, num_heads=6, mlp_dim=1536)

    @classmethod
    def b16(cls, **overrides) -> "ViTConfig":
        """ViT-B/16.  # 86.6M params"""
        return preset(cls, overrides, dim=768, depth=12, num_heads=12, mlp_dim=3072)

    @classmethod
    def b32(cls, **overrides) -> "ViTConfig":
        """ViT-B/32.  # 88.2M params"""
        return preset(cls, overrides, patch_size=32, dim=768, depth=12, num_heads=12, mlp_dim=3072)

    @classmethod
    def l16(cls, **overrides) -> "ViTConfig":
        """ViT-L/16.  # 304.3M params"""
        return preset(cls, overrides, dim=1024, depth=24, num_heads=16, mlp_dim=4096)

    @classmethod
    def h14(cls, **overrides) -> "ViTConfig":
        """ViT-H/14.  # 632.0M params"""
        return preset(cls, overrides, patch_size=14, dim=1280, depth=32, num_heads=16, mlp_dim=5120)


# ----------------------------------------------------------------------------- the model


class ViT(nn.Module):
    """Vision Transformer classifier, built as ``ViT(config)``.

    ``forward(images)`` maps ``(B, C, S, S)`` to logits ``(B, K)``; with
    ``return_attn=True`` it also returns the attention weights of every
    block, a list of ``L`` tensors ``(B, H, T, T)``. An image of another size
    than ``config.image_size`` needs ``interpolate_pos_encoding=True`` (the
    learned positions are resized bicubically without anti-aliasing, exactly
    as Hugging Face does; see `vitcourse.positional.resize_grid_embedding`
    for timm's and DINO's variants).

    Parameters: ``patch_embed`` (`PatchEmbedding`), ``cls_token`` (1, 1, D)
    when the config has a class token, ``pos_embed`` (1, T, D) (a parameter
    when learned, a non-persistent buffer when sine-cosine), ``blocks`` (L
    `vitcourse.blocks.PreNormBlock`), ``norm`` (final LayerNorm on every
    token) and ``fc_norm`` (an Identity), or with ``config.fc_norm`` the other
    way round (``norm`` an Identity, ``fc_norm`` the LayerNorm on the pooled
    vector; timm's names and layout), ``head``.
    """

    pos_embed: torch.Tensor  # an nn.Parameter (learned) or a buffer (sine-cosine)

    def __init__(self, config: ViTConfig):
        super().__init__()
        if not isinstance(config, ViTConfig):
            raise TypeError(f"config must be a ViTConfig, got {type(config).__name__}")
        self.config = c = config
        self.patch_embed = PatchEmbedding(c.patch_size, c.in_channels, c.dim)
        self.num_prefix_tokens = int(c.has_class_token)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim)) if c.has_class_token else None
        if c.pos_embedding == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, c.num_tokens, c.dim))
        else:
            self.register_buffer("pos_embed", self._sincos(c.grid_size, c.grid_size), persistent=False)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            [
                PreNormBlock(
                    c.dim,
                    c.num_heads,
                    mlp_dim=c.mlp_dim,
                    activation=c.activation,
                    qkv_bias=c.qkv_bias,
                    dropout=c.dropout,
                    attn_dropout=c.attn_dropout,
                    norm_eps=c.norm_eps,
                )
                for _ in range(c.depth)
            ]
        )
        # The final LayerNorm: on every token before pooling (paper), or on the pooled vector (timm's fc_norm).
        self.norm = nn.Identity() if c.fc_norm else nn.LayerNorm(c.dim, eps=c.norm_eps)
        self.fc_norm = nn.LayerNorm(c.dim, eps=c.norm_eps) if c.fc_norm else nn.Identity()
        self.head = nn.Linear(c.dim, c.num_classes) if c.num_classes > 0 else nn.Identity()
        self.reset_parameters()

    # -- initialisation and positions

    def reset_parameters(self) -> None:
        """PyTorch's default init for linear and conv layers; truncated normal (std 0.02) for the learned tokens.

        timm and Hugging Face draw the linear weights from a normal with std
        0.02, the choice for large models trained for long; on the lecture's
        137k-parameter model trained for a few hundred steps PyTorch's default
        (Kaiming-uniform, std ~ 1/sqrt(3 fan_in)) reached a higher accuracy at
        the same step (95.6% against 93.8% after 600 steps in our runs), so we keep it.
        """
        for m in self.modules():
            weight = getattr(m, "weight", None)
            layer = (nn.Linear, nn.Conv2d, nn.LayerNorm)
            if isinstance(m, layer) and weight is not None and weight.device.type != "meta":
                m.reset_parameters()
        for p in (self.cls_token, self.pos_embed if isinstance(self.pos_embed, nn.Parameter) else None):
            if p is not None and p.device.type != "meta":
                nn.init.trunc_normal_(p, std=0.02)

    def _sincos(self, grid_h: int, grid_w: int) -> torch.Tensor:
        pos = sincos_2d(grid_h, grid_w, self.config.dim)  # (h*w, D)
        prefix = pos.new_zeros(self.num_prefix_tokens, self.config.dim)  # the class token gets position zero
        return torch.cat([prefix, pos]).unsqueeze(0)  # (1, T, D)

    def position_embeddings(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """Position embeddings ``(1, T, D)`` for a patch grid ``grid_h x grid_w`` (resized if needed)."""
        g = self.config.grid_size
        if (grid_h, grid_w) == (g, g):
            return self.pos_embed
        if self.config.pos_embedding == "sincos":
            return self._sincos(grid_h, grid_w).to(self.pos_embed)
        return resize_grid_embedding(
            self.pos_embed, (g, g), (grid_h, grid_w), num_prefix_tokens=self.num_prefix_tokens, mode="bicubic"
        )

    # -- forward

    def embed(self, images: torch.Tensor, *, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        """Steps 1-8 of the lecture: patches, patch embedding, class token, positions -> ``(B, T, D)``."""
        check_images("images", images)
        check_image_dtype("images", images, self.patch_embed.proj.weight.dtype)
        B, C, H, W = images.shape
        P, S = self.config.patch_size, self.config.image_size
        if C != self.config.in_channels:
            raise ValueError(
                f"images have {C} channels, expected {self.config.in_channels} (shape {tuple(images.shape)})"
            )
        _check_divisible(H, W, P)
        if (H, W) != (S, S) and not interpolate_pos_encoding:
            raise ValueError(
                f"image size {H}x{W} differs from the configured {S}x{S}; pass "
                f"interpolate_pos_encoding=True to resize the position embeddings"
            )
        x = self.patch_embed(images)  # (B, N, D)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)  # (B, T, D), T = N + 1
        x = x + self.position_embeddings(H // P, W // P)  # (B, T, D)
        return self.dropout(x)

    def forward_features(
        self, images: torch.Tensor, *, interpolate_pos_encoding: bool = False, return_attn: bool = False
    ):
        """All tokens after the last block and ``norm``, ``(B, T, D)`` (plus attention maps on request).

        With ``config.fc_norm`` the tokens are not normalised here (``norm``
        is an Identity): the LayerNorm comes after `pool`, as in timm.
        """
        x = self.embed(images, interpolate_pos_encoding=interpolate_pos_encoding)  # (B, T, D)
        maps = []
        for block in self.blocks:
            if return_attn:
                x, attn = block(x, return_attn=True)  # attn (B, H, T, T)
                maps.append(attn)
            else:
                x = block(x)  # (B, T, D)
        x = self.norm(x)
        return (x, maps) if return_attn else x

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """The image representation ``(B, D)``: the class token, or the mean of the patch tokens, then ``fc_norm``."""
        if self.config.pool == "cls":
            pooled = tokens[:, 0]  # (B, D)
        else:
            pooled = tokens[:, self.num_prefix_tokens :].mean(dim=1)  # (B, D), the class token (if any) left out
        return self.fc_norm(pooled)  # (B, D); an Identity unless config.fc_norm

    def forward(self, images: torch.Tensor, *, interpolate_pos_encoding: bool = False, return_attn: bool = False):
        """Logits ``(B, K)``; with ``return_attn=True`` also a list of ``L`` attention maps ``(B, H, T, T)``."""
        out = self.forward_features(images, interpolate_pos_encoding=interpolate_pos_encoding, return_attn=return_attn)
        tokens, maps = out if return_attn else (out, None)
        logits = self.head(self.pool(tokens))  # (B, K)
        return (logits, maps) if return_attn else logits


def count_parameters(model_or_config) -> int:
    """Number of parameters of a model, or of ``ViT(config)`` built on the meta device (no memory used)."""
    if isinstance(model_or_config, ViTConfig):
        with torch.device("meta"):
            model_or_config = ViT(model_or_config)
    if not isinstance(model_or_config, nn.Module):
        raise TypeError(f"expected an nn.Module or a ViTConfig, got {type(model_or_config).__name__}")
    return sum(p.numel() for p in model_or_config.parameters())
