"""Positional encodings: telling a permutation-equivariant layer where each token is (lecture 04).

Papers:
- Vaswani et al., "Attention Is All You Need", arXiv:1706.03762 (1D sinusoidal).
- Dosovitskiy et al., "An Image is Worth 16x16 Words", arXiv:2010.11929
  (learned absolute embeddings; interpolating them to a new grid).
- He et al., "Masked Autoencoders Are Scalable Vision Learners", arXiv:2111.06377,
  and Carion et al., DETR, arXiv:2005.12872 (2D sine-cosine for a grid).

Shape legend: B batch, N tokens (positions), D width, P prefix tokens
(e.g. the class token), (h, w) grid of patches with N = h * w, row-major.

Differences from the papers: none in the formulas. `sincos_2d` follows MAE's
layout (first half encodes the column x, second half the row y; each half is
[sin | cos]); DETR's `PositionEmbeddingSine` normalises coordinates and
interleaves sin/cos, which orders the same features differently.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .utils import check_int, check_positive

__all__ = ["sinusoidal_encoding", "LearnedPositionalEmbedding", "sincos_2d", "resize_grid_embedding"]


def sinusoidal_encoding(num_positions: int, dim: int, *, base: float = 10000.0) -> torch.Tensor:
    """The Transformer's fixed encoding, (N, D) float32:

        PE[pos, 2i]   = sin(pos / base^(2i / D))
        PE[pos, 2i+1] = cos(pos / base^(2i / D))

    Each pair of channels is a rotation at its own frequency, so PE[pos + k]
    is a fixed linear map (a block rotation depending only on k) of PE[pos].
    """
    num_positions = check_int("num_positions", num_positions, minimum=1)
    dim = check_int("dim", dim, minimum=2)
    base = check_positive("base", base)
    if dim % 2 != 0:
        raise ValueError(f"dim {dim} must be even for the sinusoidal encoding (channels come in sin/cos pairs)")
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (N, 1)
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (D/2,)  1 / base^(2i/D)
    angle = pos * freq  # (N, D/2)
    pe = torch.empty(num_positions, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)  # even channels
    pe[:, 1::2] = torch.cos(angle)  # odd channels
    return pe.float()


class LearnedPositionalEmbedding(nn.Module):
    """A learned vector per position, added to the tokens (as in ViT and BERT).

        forward(x) = x + pos[:, :N],  pos of shape (1, num_positions, D)

    Initialised with a truncated normal of std 0.02 (as ViT); a sequence
    shorter than ``num_positions`` uses the first N rows.
    """

    def __init__(self, num_positions: int, dim: int):
        super().__init__()
        self.num_positions = check_int("num_positions", num_positions, minimum=1)
        self.dim = check_int("dim", dim, minimum=1)
        self.pos = nn.Parameter(torch.zeros(1, num_positions, dim))  # (1, N, D)
        nn.init.trunc_normal_(self.pos, std=0.02)

    def extra_repr(self) -> str:
        return f"num_positions={self.num_positions}, dim={self.dim}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (B, N, {self.dim}), got {tuple(x.shape)}")
        B, N, D = x.shape
        if N > self.num_positions:
            raise ValueError(f"x has {N} tokens but the embedding has only num_positions={self.num_positions}")
        return x + self.pos[:, :N]  # (B, N, D)


def sincos_2d(grid_h: int, grid_w: int, dim: int, *, temperature: float = 10000.0) -> torch.Tensor:
    """Fixed 2D sine-cosine encoding of a (grid_h, grid_w) grid, (grid_h*grid_w, dim) float32 (MAE layout).

    With omega_i = 1 / temperature^(i / (D/4)), i = 0..D/4-1, token (y, x) (row-major) gets

        [sin(x omega) | cos(x omega) | sin(y omega) | cos(y omega)]

    so half the channels say which column, half which row.
    """
    grid_h = check_int("grid_h", grid_h, minimum=1)
    grid_w = check_int("grid_w", grid_w, minimum=1)
    dim = check_int("dim", dim, minimum=4)
    temperature = check_positive("temperature", temperature)
    if dim % 4 != 0:
        raise ValueError(
            f"dim {dim} must be divisible by 4 for the 2D sine-cosine encoding (sin and cos for each of the two axes)"
        )
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float64) / quarter)  # (D/4,)
    y, x = torch.meshgrid(
        torch.arange(grid_h, dtype=torch.float64), torch.arange(grid_w, dtype=torch.float64), indexing="ij"
    )  # (h, w) each
    ax = x.reshape(-1, 1) * omega  # (h*w, D/4)
    ay = y.reshape(-1, 1) * omega  # (h*w, D/4)
    pe = torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=1)  # (h*w, D)
    return pe.float()


def resize_grid_embedding(
    pos: torch.Tensor,
    old_grid: tuple[int, int],
    new_grid: tuple[int, int],
    num_prefix_tokens: int = 0,
    mode: str = "bicubic",
    *,
    antialias: bool = False,
) -> torch.Tensor:
    """Interpolate a grid of position embeddings to a new grid (ViT fine-tuning at another resolution).

    The grid is resized as an image with ``D`` channels by ``F.interpolate``
    (``align_corners=False``), in float32. Which codebase this reproduces:

    - default (``mode="bicubic", antialias=False``): Hugging Face's ViT
      ``interpolate_pos_encoding`` (``size=(h', w')``), exactly;
    - ``antialias=True``: timm's ``resample_abs_pos_embed`` (its default
      ``interpolation="bicubic", antialias=True``), exactly. The anti-aliased
      bicubic is PIL's (cubic kernel with a = -0.5, widened when shrinking),
      not the plain one (a = -0.75), so the two differ when enlarging too;
    - DINO (and DINOv2 with ``interpolate_offset=0.1``) passes
      ``scale_factor=((h' + 0.1) / h, (w' + 0.1) / w)`` instead of a size
      (the 0.1 guards the output size against float rounding); the output
      size is the same but the sampling positions differ, so neither
      option here reproduces DINO's numbers exactly.

    Args:
        pos: (1, P + h*w, D) or (P + h*w, D); the first P rows are prefix tokens
            (the class token) and are kept unchanged.
        old_grid: (h, w) of ``pos``; new_grid: (h', w').
        num_prefix_tokens: P.
        mode: ``F.interpolate`` mode: "bicubic", "bilinear" or "nearest".
        antialias: ``F.interpolate``'s anti-aliasing (bicubic or bilinear only).

    Returns:
        (1, P + h'*w', D) or (P + h'*w', D), matching the input's rank.
    """
    if not isinstance(pos, torch.Tensor) or pos.dim() not in (2, 3) or (pos.dim() == 3 and pos.shape[0] != 1):
        shape = tuple(pos.shape) if isinstance(pos, torch.Tensor) else type(pos).__name__
        raise ValueError(f"pos must have shape (1, P + h*w, D) or (P + h*w, D), got {shape}")
    for name, hw in (("old_grid", old_grid), ("new_grid", new_grid)):
        if len(tuple(hw)) != 2:
            raise ValueError(f"{name} must be (h, w), got {hw!r}")
        for g in hw:
            check_int(name, g, minimum=1)
    num_prefix_tokens = check_int("num_prefix_tokens", num_prefix_tokens, minimum=0)
    if mode not in ("bicubic", "bilinear", "nearest"):
        raise ValueError(f"mode must be 'bicubic', 'bilinear' or 'nearest', got {mode!r}")
    if not isinstance(antialias, bool):
        raise TypeError(f"antialias must be True or False, got {antialias!r}")
    if antialias and mode == "nearest":
        raise ValueError(f"antialias=True needs mode 'bicubic' or 'bilinear', got {mode!r}")
    squeeze = pos.dim() == 2
    if squeeze:
        pos = pos[None]  # (1, P + N, D)
    (h, w), (nh, nw) = tuple(old_grid), tuple(new_grid)
    _, total, D = pos.shape
    if total != num_prefix_tokens + h * w:
        raise ValueError(
            f"pos has {total} tokens but num_prefix_tokens + h*w = {num_prefix_tokens} + {h}*{w} "
            f"= {num_prefix_tokens + h * w} for old_grid {(h, w)}"
        )
    prefix, grid = pos[:, :num_prefix_tokens], pos[:, num_prefix_tokens:]  # (1, P, D), (1, h*w, D)
    grid = grid.reshape(1, h, w, D).permute(0, 3, 1, 2)  # (1, D, h, w)
    kwargs = {} if mode == "nearest" else {"align_corners": False, "antialias": antialias}
    grid = F.interpolate(grid.float(), size=(nh, nw), mode=mode, **kwargs).to(pos.dtype)  # (1, D, h', w')
    grid = grid.permute(0, 2, 3, 1).reshape(1, nh * nw, D)  # (1, h'*w', D)
    out = torch.cat([prefix, grid], dim=1)  # (1, P + h'*w', D)
    return out[0] if squeeze else out
