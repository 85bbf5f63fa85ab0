"""Reproducibility, device and CPU-thread helpers used by every notebook.

`seed_everything` seeds Python, NumPy and PyTorch in one call; `get_device`
picks CUDA, then Apple's MPS, then the CPU, so the same notebook runs on a
laptop and on a GPU machine without edits. `configure_threads` picks the
number of CPU threads for a model's size, so training keeps its speed on a
busy laptop (see "CPU threads on a busy machine" in docs/teaching.md).
"""

from __future__ import annotations

import os
import random
import sys
from contextlib import contextmanager
from typing import Iterator, NamedTuple

import numpy as np
import torch

__all__ = [
    "seed_everything",
    "get_device",
    "moved_names",
    "preset",
    "check_int",
    "check_positive",
    "check_fraction",
    "check_share",
    "check_images",
    "check_image_dtype",
    "DEVICES",
    "choose_threads",
    "configure_threads",
    "threads_for",
    "wait_policy_at_start",
    "SMALL_MODEL_PARAMS",
]

DEVICES = ("cpu", "cuda", "mps")  # the devices the course supports; "auto" (None) picks the best one


def moved_names(module: str, moved: dict[str, str]):
    """A module ``__getattr__`` for names that moved to another module: importing one from the old place
    raises an ImportError that says where it lives now (an old notebook's ``from vitcourse.vit import
    random_affine`` then tells its reader what to write), and every other missing name is the usual
    AttributeError."""

    def __getattr__(name: str):
        if name in moved:
            raise ImportError(
                f"{name} moved from {module} to {moved[name]}: write `from {moved[name]} import {name}`", name=module
            )
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def preset(cls, overrides: dict, **settings):
    """A config preset: ``cls(**settings)`` with ``overrides`` (the caller's keyword arguments) taking precedence.
    An override that is no field of ``cls`` is a TypeError listing the fields (a misspelt ``heads=`` must not
    read as Python's bare "unexpected keyword argument")."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"{cls.__name__} has no setting {unknown[0]!r}; its settings are {', '.join(sorted(fields))}")
    return cls(**{**settings, **overrides})


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


def check_fraction(name: str, value) -> float:
    """Return ``value`` as ``float`` if it is a number in ``[0, 1)`` (a dropout rate, a share), else raise naming
    ``name``: TypeError for what is not a number, ValueError for a number outside ``[0, 1)`` (NaN included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1), got {value!r} of type {type(value).__name__}")
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_share(name: str, value, *, hint: str = "") -> float:
    """Return ``value`` as ``float`` if it is a number in ``(0, 1]`` (a share of a whole, a contrast), else raise
    naming ``name``; ``hint`` (e.g. ``" (1: all of it)"``) follows the range in the ValueError's text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in (0, 1], got {value!r} of type {type(value).__name__}")
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1]{hint}, got {value!r}")
    return float(value)


def check_images(name: str, images) -> None:
    """Raise unless ``images`` is a batch of images: a ``torch.Tensor`` of shape ``(B, C, H, W)``."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, C, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(images.shape)}")


def check_image_dtype(name: str, images: torch.Tensor, expected: torch.dtype) -> None:
    """Raise TypeError unless ``images`` is floating point with the model's weight dtype ``expected``.

    uint8 images (raw pixels 0..255) must be converted with ``.float() / 255``
    (and normalised as in training); float64 images are not cast silently:
    convert them with ``.float()`` (or the model with ``.double()``).
    """
    if not images.is_floating_point():
        raw = " (raw pixels 0..255)" if images.dtype == torch.uint8 else ""
        raise TypeError(
            f"{name} has dtype {images.dtype}{raw}"
            f", but the model takes floating point images: convert with `{name}.float() / 255` "
            f"(then normalise them as the training images were)"
        )
    if images.dtype != expected:
        raise TypeError(
            f"{name} has dtype {images.dtype} but the model's weights are {expected}: convert the "
            f"images with `{name}.to({str(expected).replace('torch.', 'torch.')})`"
            f"{' (i.e. `.float()`)' if expected == torch.float32 else ''}, or the model with "
            f"`model.to({expected})`"
        )


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


# ----------------------------------------------------------------------------- CPU threads

# Below this many parameters a model trains on one CPU thread. Measured with
# benchmarks/threads.py on a 2-core machine: the lecture models (0.1-1.5M
# parameters) do too little work per operation to keep two threads busy, and
# when other programs share the cores, PyTorch's OpenMP threads spin-wait for
# each other (a 2-thread step ran 3-10x slower than a 1-thread step). ViT-Ti
# (5.7M) and larger keep PyTorch's thread count.
SMALL_MODEL_PARAMS = 5_000_000


class ThreadChoice(NamedTuple):
    """What `configure_threads` did: threads now, threads before, and why."""

    threads: int
    previous: int
    reason: str


def choose_threads(
    num_params: int | None, *, current: int, requested: int | str | None = None, env: str | None = None
) -> tuple[int, str]:
    """The CPU thread count for a model of ``num_params`` parameters, and the reason (a pure function).

    Order: ``requested`` (an argument), then ``env`` (the ``VITCOURSE_THREADS``
    variable), then the rule: one thread below `SMALL_MODEL_PARAMS`, else
    ``current`` (PyTorch's count, which honours ``OMP_NUM_THREADS``). Both
    ``requested`` and ``env`` may be a positive integer, ``"auto"`` (the rule)
    or ``"torch"`` (keep ``current``).
    """
    current = check_int("current", current, minimum=1)
    for name, value in (("threads", requested), ("VITCOURSE_THREADS", env)):
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "auto"}):
            continue
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "torch":
                return current, f"{name}='torch': PyTorch's count"
            if not text.isdigit():
                raise ValueError(f"{name} must be a positive integer, 'auto' or 'torch', got {value!r}")
            value = int(text)
        return check_int(name, value, minimum=1), f"{name}={value}"
    if num_params is None:
        return current, "no model given: PyTorch's count"
    num_params = check_int("num_params", num_params, minimum=0)
    if num_params < SMALL_MODEL_PARAMS:
        return 1, f"{num_params:,} parameters < {SMALL_MODEL_PARAMS:,}: one thread"
    return current, f"{num_params:,} parameters >= {SMALL_MODEL_PARAMS:,}: PyTorch's count"


def configure_threads(model=None, *, threads: int | str | None = None) -> ThreadChoice:
    """Set PyTorch's CPU thread count for ``model`` (see `choose_threads`); return what was done.

        configure_threads(model)             # one thread for a lecture-sized model
        configure_threads(threads=2)         # force two
        VITCOURSE_THREADS=2 jupyter lab      # force two for a whole session

    `fit` and `vitcourse.detr.fit_detr` call it for the model they train (and
    restore the previous count afterwards, see `threads_for`). The OpenMP wait
    policy cannot be changed from here: see `wait_policy_at_start`.
    """
    num_params = None
    if model is not None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}")
        num_params = sum(p.numel() for p in model.parameters())
    previous = torch.get_num_threads()
    n, reason = choose_threads(num_params, current=previous, requested=threads, env=os.environ.get("VITCOURSE_THREADS"))
    if n != previous:
        torch.set_num_threads(n)
    return ThreadChoice(n, previous, reason)


@contextmanager
def threads_for(model=None, *, threads: int | str | None = None) -> Iterator[ThreadChoice]:
    """`configure_threads` for the duration of a ``with`` block; the previous count comes back after it."""
    choice = configure_threads(model, threads=threads)
    try:
        yield choice
    finally:
        if torch.get_num_threads() != choice.previous:
            torch.set_num_threads(choice.previous)


def wait_policy_at_start() -> str | None:
    """``OMP_WAIT_POLICY`` as this process was started with, or None (OpenMP's default: spin, then sleep).

    The OpenMP runtime reads ``OMP_WAIT_POLICY`` once, when it is loaded, i.e. at
    ``import torch``: setting it later, e.g. with ``os.environ`` in a notebook,
    has no effect on this process (measured with torch 2.13: benchmarks/threads.py).
    So this reads the environment the process started with (``/proc/self/environ``
    on Linux; elsewhere ``os.environ``, which may have been changed since).
    Set it before starting Python or Jupyter: ``OMP_WAIT_POLICY=PASSIVE jupyter lab``.
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/environ", "rb") as f:
                for entry in f.read().split(b"\0"):
                    if entry.startswith(b"OMP_WAIT_POLICY="):
                        return entry.split(b"=", 1)[1].decode(errors="replace")
            return None
        except OSError:
            pass
    return os.environ.get("OMP_WAIT_POLICY")
