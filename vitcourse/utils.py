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

__all__ = ["seed_everything", "get_device", "check_int", "check_positive"]


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
        if prefer not in {"cpu", "cuda", "mps"}:
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
