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
padding is skipped, exactly as in DETR's code, so that pretrained DETR
weights see the encoding they were trained with. One difference in the
argument: DETR's code takes ``mask`` True on padding; this function takes
``pixel_mask`` True on the real cells (the course's True = keep convention,
Hugging Face's ``pixel_mask``), so ``pixel_mask = ~mask``.
"""

from __future__ import annotations

import math

import torch

from ..utils import check_int

__all__ = ["sine_position_encoding"]


def sine_position_encoding(
    pixel_mask: torch.Tensor,
    dim: int,
    *,
    temperature: float = 10000.0,
    normalize: bool = True,
    scale: float = 2 * math.pi,
) -> torch.Tensor:
    """DETR's 2D sine encoding ``(B, h, w, dim)`` of a feature map with ``pixel_mask`` ``(B, h, w)``.

    Args:
        pixel_mask: bool ``(B, h, w)``, True where the cell is image, False where it is padding
            (True = keep, the course's convention). Pass ``torch.ones(B, h, w, dtype=torch.bool)``
            when nothing is padded.
        dim: the model width ``D``, divisible by 4 (half for rows, half for columns,
            each half made of sin/cos pairs).
        temperature: ``T`` of the frequencies ``1 / T^(2k / (D/2))``.
        normalize: divide positions by the number of valid rows/columns and
            multiply by ``scale`` (DETR: True, ``2 pi``).
    """
    if not isinstance(pixel_mask, torch.Tensor) or pixel_mask.dtype != torch.bool or pixel_mask.ndim != 3:
        got = (
            f"{pixel_mask.dtype} {tuple(pixel_mask.shape)}"
            if isinstance(pixel_mask, torch.Tensor)
            else type(pixel_mask).__name__
        )
        raise ValueError(
            f"pixel_mask must be a bool tensor (B, h, w), True on image cells, False on padding; "
            f"got {got}. Fix: pixel_mask.bool() for a 0/1 mask"
        )
    empty = ~pixel_mask.flatten(1).any(1)  # (B,) maps with no image cell at all
    if bool(empty.any()):
        raise ValueError(
            f"pixel_mask is all False (all padding) for sample(s) {empty.nonzero().flatten().tolist()}: "
            f"True marks image cells. Nothing padded: torch.ones(B, h, w, dtype=torch.bool); "
            f"a mask True on padding (DETR's code) must be inverted: pixel_mask=~mask"
        )
    dim = check_int("dim", dim, minimum=4)
    if dim % 4:
        raise ValueError(f"dim must be a positive integer divisible by 4 (rows and columns, sin and cos), got {dim!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    not_mask = pixel_mask.float()  # (B, h, w) 1 on image cells (DETR's code: ~mask)
    y = not_mask.cumsum(1)  # (B, h, w) row index 1..h over valid cells
    x = not_mask.cumsum(2)  # (B, h, w) column index 1..w
    if normalize:
        eps = 1e-6
        y = y / (y[:, -1:, :] + eps) * scale  # (B, h, w) in (0, scale]
        x = x / (x[:, :, -1:] + eps) * scale
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32, device=pixel_mask.device)
    freq_div = temperature ** (2 * torch.div(k, 2, rounding_mode="floor") / half)  # (D/2,) T^(2*floor(k/2) / (D/2))
    pos_x = x[..., None] / freq_div  # (B, h, w, D/2)
    pos_y = y[..., None] / freq_div  # (B, h, w, D/2)
    pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=4).flatten(3)  # (B, h, w, D/2)
    pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=4).flatten(3)  # (B, h, w, D/2)
    return torch.cat((pos_y, pos_x), dim=3)  # (B, h, w, D): rows first, then columns
