"""Reproducibility and device helpers used by every notebook.

`seed_everything` seeds Python, NumPy and PyTorch in one call; `get_device`
picks CUDA, then Apple's MPS, then the CPU, so the same notebook runs on a
laptop and on a GPU machine without edits.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "get_device", "check_int", "check_positive", "check_image_dtype", "DEVICES"]

DEVICES = ("cpu", "cuda", "mps")  # the devices the course supports; "auto" (None) picks the best one


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as ``int`` or raise a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_positive(name: str, value) -> float:
    """Return ``value`` as ``float`` if it is a finite number > 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_image_dtype(name: str, images: torch.Tensor, expected: torch.dtype) -> None:
    """Raise TypeError unless ``images`` is floating point with the model's weight dtype ``expected``.

    uint8 images (raw pixels 0..255) must be converted with ``.float() / 255``
    (and normalised as in training); float64 images are not cast silently:
    convert them with ``.float()`` (or the model with ``.double()``).
    """
    if not images.is_floating_point():
        raise TypeError(f"{name} has dtype {images.dtype}{' (raw pixels 0..255)' if images.dtype == torch.uint8 else ''}"
                        f", but the model takes floating point images: convert with `{name}.float() / 255` "
                        f"(then normalise them as the training images were)")
    if images.dtype != expected:
        raise TypeError(f"{name} has dtype {images.dtype} but the model's weights are {expected}: convert the "
                        f"images with `{name}.to({str(expected).replace('torch.', 'torch.')})`"
                        f"{' (i.e. `.float()`)' if expected == torch.float32 else ''}, or the model with "
                        f"`model.to({expected})`")


def seed_everything(seed: int) -> int:
    """Seed ``random``, NumPy and PyTorch (CPU and all GPUs); return the seed.

    Also sets ``PYTHONHASHSEED`` for child processes. Deterministic kernels are
    not forced (they slow the CPU down); on the CPU a seeded run repeats
    exactly.
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device: ``cuda``, then ``mps``, then ``cpu``.

    ``prefer`` forces one (``"cpu"`` is always available); the environment
    variable ``VITCOURSE_DEVICE`` does the same for a whole run.
    """
    prefer = prefer or os.environ.get("VITCOURSE_DEVICE") or None
    if prefer is not None:
        if prefer not in DEVICES:
            raise ValueError(f"prefer must be one of 'cpu', 'cuda', 'mps', got {prefer!r}")
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        }
        if not available[prefer]:
            raise ValueError(f"prefer={prefer!r} was asked for, but that device is not available here")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
