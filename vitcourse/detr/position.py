"""DETR's 2D sine positional encoding of a feature map.

Paper: Carion et al., "End-to-End Object Detection with Transformers" (DETR,
arXiv:2005.12872), appendix A.4, and its code ``models/position_encoding.py``
(``PositionEmbeddingSine``).

Each feature-map cell ``(y, x)`` gets a ``D``-vector: the first ``D/2``
entries encode the row, the last ``D/2`` the column, each as the 1D sinusoid
of lecture 04,

    [sin(w_0 p), cos(w_0 p), sin(w_1 p), cos(w_1 p), ...],   w_k = 1 / T^(2k / (D/2))

with ``p`` the (1-based) row or column index counted over *valid* cells only,
normalised to ``(0, 2 pi]`` so the encoding does not depend on the image size.
The encoding is added to the queries and keys of every attention layer
(never to the values).

Shapes: ``B`` batch, ``h, w`` feature-map height and width, ``D`` model width.

How it differs from `vitcourse.positional.sincos_2d` (the MAE/ViT layout):
rows come first, sin and cos are interleaved, positions are normalised and
padding (``mask``) is skipped, exactly as in DETR's code, so that pretrained
DETR weights see the encoding they were trained with.
"""
from __future__ import annotations

import math

import torch

__all__ = ["sine_position_encoding"]


def sine_position_encoding(mask: torch.Tensor, dim: int, *, temperature: float = 10000.0, normalize: bool = True,
                           scale: float = 2 * math.pi) -> torch.Tensor:
    """DETR's 2D sine encoding ``(B, h, w, dim)`` of a feature map with padding ``mask`` ``(B, h, w)``.

    Args:
        mask: bool ``(B, h, w)``, True where the cell is padding (no image there).
            Pass ``torch.zeros(B, h, w, dtype=torch.bool)`` when nothing is padded.
        dim: the model width ``D``, divisible by 4 (half for rows, half for columns,
            each half made of sin/cos pairs).
        temperature: ``T`` of the frequencies ``1 / T^(2k / (D/2))``.
        normalize: divide positions by the number of valid rows/columns and
            multiply by ``scale`` (DETR: True, ``2 pi``).
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.ndim != 3:
        got = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor (B, h, w), True on padding; got {got}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 4 or dim % 4:
        raise ValueError(f"dim must be a positive integer divisible by 4 (rows and columns, sin and cos), got {dim!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    not_mask = (~mask).float()  # (B, h, w)
    y = not_mask.cumsum(1)  # (B, h, w) row index 1..h over valid cells
    x = not_mask.cumsum(2)  # (B, h, w) column index 1..w
    if normalize:
        eps = 1e-6
        y = y / (y[:, -1:, :] + eps) * scale  # (B, h, w) in (0, scale]
        x = x / (x[:, :, -1:] + eps) * scale
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32, device=mask.device)
    freq_div = temperature ** (2 * torch.div(k, 2, rounding_mode="floor") / half)  # (D/2,) T^(2*floor(k/2) / (D/2))
    pos_x = x[..., None] / freq_div  # (B, h, w, D/2)
    pos_y = y[..., None] / freq_div  # (B, h, w, D/2)
    pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=4).flatten(3)  # (B, h, w, D/2)
    pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=4).flatten(3)  # (B, h, w, D/2)
    return torch.cat((pos_y, pos_x), dim=3)  # (B, h, w, D): rows first, then columns
