"""Data augmentation for small image data: random affine copies of a batch, computed on its device.

Lecture: ``notebooks/06_vision_transformer.ipynb`` (a ViT trained on 1,347
digits learns shift and rotation invariance from augmented copies).

Shapes: ``B`` batch, ``C`` channels, ``H, W`` height and width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .utils import check_images

__all__ = ["random_affine"]


def random_affine(
    images: torch.Tensor,
    *,
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
    mode: str = "nearest",
) -> torch.Tensor:
    """Light random rotation, shift and zoom of a batch ``(B, C, H, W)``, one draw per image.

    ViT has no built-in notion that a shifted digit is the same digit (a
    CNN's weight sharing gives it that for free), so on small data it learns
    it from augmented copies. Angles are uniform in ``[-degrees, degrees]``,
    shifts in ``[-translate, translate]`` of the image side, zoom in
    ``scale``; pixels that come from outside the image are zero. ``mode`` is
    the resampling: ``"nearest"`` keeps the blocky look of digits upscaled by
    `vitcourse.data.load_digits` (bilinear would blur training images but not
    test images), ``"bilinear"`` suits photographs. Uses the global torch
    generator, so `vitcourse.fit`'s seed makes it repeatable.
    """
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
    check_images("images", images)
    lo, hi = scale
    if not 0 < lo <= hi:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale!r}")
    if degrees < 0 or translate < 0:
        raise ValueError(f"degrees and translate must be >= 0, got {degrees!r} and {translate!r}")
    B = images.shape[0]
    dev = images.device
    angle = (torch.rand(B, device=dev) * 2 - 1) * math.radians(degrees)  # (B,)
    zoom = torch.empty(B, device=dev).uniform_(lo, hi)  # (B,)
    shift = (torch.rand(B, 2, device=dev) * 2 - 1) * (2 * translate)  # (B, 2), in [-1, 1] grid units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (B, 2, 3) output -> input coordinates
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)
