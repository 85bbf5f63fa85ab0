"""Attention rollout: which input tokens an output token draws on, through every layer of a transformer.

Paper: Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020,
arXiv:2005.00928. Lecture: ``notebooks/06_vision_transformer.ipynb`` (and
``notebooks/11_going_further.ipynb`` on a pretrained ViT-B/16).

Shapes: ``L`` layers, ``B`` batch, ``H`` heads, ``T`` tokens (a class token
first, then ``h * w`` patches), ``h, w`` the patch grid.

One attention map says where a layer looks; the residual stream mixes every
layer's input back in, so rollout multiplies the maps of all layers, each
with the identity added for the skip connection::

    A'_l = (A_l + I) / 2   (rows renormalised to sum to one)
    R = A'_L ... A'_2 A'_1                                  (B, T, T)

It needs only the maps, not the model: `vitcourse.vit.ViT` returns them with
``return_attn=True``, and any other transformer's maps of shape
``(B, H, T, T)`` work the same way.

Differences from the paper: ``head_fusion="max"`` / ``"min"`` and
``discard_ratio`` are not in the paper; they follow jacobgil/vit-explain,
the implementation that made rollout common for ViTs (it drops the smallest
weights over the whole map; here they are dropped row by row).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange

from .utils import check_fraction

__all__ = ["attention_rollout", "cls_attention_grid"]


def _stack_maps(attn_maps, name: str = "attn_maps") -> torch.Tensor:
    if isinstance(attn_maps, torch.Tensor):
        maps = attn_maps
    elif isinstance(attn_maps, Sequence) and len(attn_maps) > 0 and all(isinstance(a, torch.Tensor) for a in attn_maps):
        shapes = {tuple(a.shape) for a in attn_maps}
        if len(shapes) != 1:
            raise ValueError(f"{name}: every layer's map must have the same shape, got {sorted(shapes)}")
        maps = torch.stack(list(attn_maps))  # (L, B, H, T, T)
    else:
        raise TypeError(
            f"{name} must be a non-empty list of (B, H, T, T) tensors or one (L, B, H, T, T) tensor, "
            f"got {type(attn_maps).__name__}"
        )
    if maps.ndim != 5 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"{name} must stack to shape (L, B, H, T, T), got {tuple(maps.shape)}")
    return maps


def attention_rollout(
    attn_maps, *, head_fusion: str = "mean", residual: bool = True, discard_ratio: float = 0.0
) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): how much each output token draws on each input token.

    Args:
        attn_maps: ``L`` attention maps ``(B, H, T, T)`` (as returned by
            ``ViT(..., return_attn=True)``) or one tensor ``(L, B, H, T, T)``.
        head_fusion: ``"mean"``, ``"max"`` or ``"min"`` over heads.
        residual: add the identity for the skip connection, ``A' = (A + I) / 2``.
        discard_ratio: share of the smallest weights per row set to zero
            before renormalising (``0`` keeps all; the class-token column is never dropped).

    Returns:
        ``(B, T, T)``: ``R = A'_L ... A'_2 A'_1`` with rows renormalised to sum
        to one; ``R[:, 0, 1:]`` is the class token's map over the patches.
    """
    maps = _stack_maps(attn_maps).float()  # (L, B, H, T, T)
    if head_fusion == "mean":
        fused = maps.mean(dim=2)
    elif head_fusion == "max":
        fused = maps.amax(dim=2)
    elif head_fusion == "min":
        fused = maps.amin(dim=2)
    else:
        raise ValueError(f"head_fusion must be 'mean', 'max' or 'min', got {head_fusion!r}")  # (L, B, T, T)
    check_fraction("discard_ratio", discard_ratio)
    T = fused.shape[-1]
    eye = torch.eye(T, dtype=fused.dtype, device=fused.device)
    rollout = eye.expand_as(fused[0]).clone()  # (B, T, T)
    for a in fused:  # a: (B, T, T), layer by layer from the input upwards
        if discard_ratio > 0:
            k = int(T * discard_ratio)
            if k > 0:
                low = a.topk(k, dim=-1, largest=False).indices  # (B, T, k)
                keep = torch.ones_like(a, dtype=torch.bool).scatter_(-1, low, False)
                keep[..., 0] = True
                a = a * keep
        if residual:
            a = 0.5 * a + 0.5 * eye  # the skip connection carries the token itself
        a = a / a.sum(dim=-1, keepdim=True).clamp_min(1e-12)  # rows sum to one
        rollout = a @ rollout  # (B, T, T)
    return rollout


def cls_attention_grid(weights: torch.Tensor, grid: tuple[int, int] | int) -> torch.Tensor:
    """The class token's row over the patches as an image: ``(..., T, T) -> (..., h, w)`` (class token first)."""
    h, w = (grid, grid) if isinstance(grid, int) else tuple(grid)
    if not isinstance(weights, torch.Tensor) or weights.ndim < 2 or weights.shape[-1] != h * w + 1:
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(f"weights must have shape (..., T, T) with T = {h}*{w} + 1 = {h * w + 1}, got {shape}")
    return rearrange(weights[..., 0, 1:], "... (h w) -> ... h w", h=h, w=w)  # (..., h, w)
