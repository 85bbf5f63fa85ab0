"""Measuring what a call costs: CPU time, peak memory, memory saved for backward, FLOPs (lectures 02 and 03).

The lectures measure the $O(N^2)$ cost of attention; the plumbing that measures
it lives here so the notebooks show only the measurement. Every function takes
a zero-argument callable ``fn`` (e.g. ``lambda: attn(x)``) and runs it:

- `cpu_time`: fastest of ``repeats`` runs, in CPU seconds of the calling thread, on one intra-op thread
  (time the machine spends on other programs does not count, only the work);
- `peak_bytes`: peak of (allocated - freed) bytes during the call, replayed from PyTorch's profiler memory
  events (``profile_memory=True``);
- `saved_tensor_bytes`: bytes autograd keeps for the backward pass (``saved_tensors_hooks``), and how many of
  them sit in ``(..., n, n)`` tensors (attention matrices);
- `count_flops`: floating-point operations of the matrix products (``torch.utils.flop_counter``).

Example::

    >>> q = k = v = torch.randn(1, 1024, 32)                               # (B, N, d)
    >>> cpu_time(lambda: F.scaled_dot_product_attention(q, k, v))          # seconds, fastest of 5
    >>> count_flops(lambda: F.scaled_dot_product_attention(q, k, v))       # 2 * 2 N^2 d
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable

import torch

from .utils import check_int

__all__ = ["cpu_time", "peak_bytes", "saved_tensor_bytes", "count_flops"]


def _check_callable(fn) -> None:
    if not callable(fn):
        raise TypeError(
            f"fn must be a callable with no arguments, e.g. `lambda: attn(x)`; got {fn!r} of type "
            f"{type(fn).__name__} (pass the call wrapped in a lambda, not its result)"
        )


@contextlib.contextmanager
def _quiet_stderr():
    """Hide what C++ code writes to file descriptor 2 (the profiler's "profiler_start/stop" lines)."""
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (some embedded interpreters): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def cpu_time(fn: Callable[[], object], *, repeats: int = 5, warmup: bool = True) -> float:
    """Fastest of ``repeats`` runs of ``fn()``, in CPU seconds of this thread, with one intra-op thread.

    Args:
        fn: the call to time, with no arguments.
        repeats: how many timed runs (the minimum is returned: the run least disturbed by other programs).
        warmup: run ``fn`` once, untimed, first (allocations and kernel selection happen then).

    Returns:
        Seconds (float). The thread count of PyTorch is restored afterwards, even on error.
    """
    _check_callable(fn)
    repeats = check_int("repeats", repeats, minimum=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if warmup:
            fn()
        best = float("inf")
        for _ in range(repeats):
            start = time.thread_time()
            fn()
            best = min(best, time.thread_time() - start)
    finally:
        torch.set_num_threads(threads)
    return best


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak of (allocated - freed) CPU bytes while ``fn()`` runs, from the profiler's memory events."""
    _check_callable(fn)
    from torch.profiler import ProfilerActivity, profile

    logger = logging.getLogger("torch.profiler")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
    finally:
        logger.setLevel(level)
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    current = peak = 0
    for e in events:
        current += e.self_cpu_memory_usage
        peak = max(peak, current)
    return int(peak)


def saved_tensor_bytes(fn: Callable[[], object], *, square: int | None = None) -> tuple[int, int]:
    """Bytes autograd saves for the backward pass while ``fn()`` runs (the forward pass of a training step).

    Each storage is counted once, however many saved tensors view it.

    Args:
        fn: the forward call; at least one input must require gradients, or nothing is saved.
        square: also count the bytes of saved tensors whose last two dimensions are ``(square, square)``
            (the ``(N, N)`` attention matrices for ``square = N``); ``None``: do not.

    Returns:
        ``(total, in_square)`` bytes; ``in_square`` is 0 when ``square`` is None.
    """
    _check_callable(fn)
    if square is not None:
        square = check_int("square", square, minimum=1)
    storages: dict[int, tuple[int, bool]] = {}

    def pack(t):
        is_square = square is not None and t.dim() >= 2 and t.shape[-1] == t.shape[-2] == square
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = (storage.nbytes(), is_square)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    total = sum(b for b, _ in storages.values())
    return total, sum(b for b, sq in storages.values() if sq)


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of the matrix products in ``fn()`` (``FlopCounterMode``; a multiply-add is 2)."""
    _check_callable(fn)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())
