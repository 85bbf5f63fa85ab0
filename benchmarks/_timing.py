"""Shared timing for the benchmarks: paired A/B rounds in shuffled order, ratios with their spread.

Why paired: the load on a shared machine drifts by a factor of several within a
minute. Timing A for a while, then B, compares two different machines. Here
every round times each candidate once, in a freshly shuffled order, and the
ratio A/B is taken *within* the round; the median and spread (quartiles) of
those per-round ratios are reported. Each run is timed twice: wall time
(``time.perf_counter``) and CPU time of the process (``time.process_time``).
At one thread the CPU time is nearly immune to other programs on the machine
(it counts only the cycles this process got), so targets are judged on it
unless a benchmark says otherwise; wall time is printed beside it.
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

MIN_ROUNDS = 15


def common_args(parser: argparse.ArgumentParser, rounds: int = MIN_ROUNDS) -> argparse.ArgumentParser:
    """--quick, --rounds, --threads, --seed: the options every benchmark takes."""
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and 3 rounds: checks the benchmark runs (seconds), not a measurement")
    parser.add_argument("--rounds", type=int, default=rounds, help=f"paired rounds (default {rounds}, at least "
                                                                    f"{MIN_ROUNDS} for a reported number)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for the wall-time runs (default: PyTorch's count)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled order")
    return parser


def rounds_for(args) -> int:
    return 3 if args.quick else max(1, args.rounds)


def gpu() -> str | None:
    """The CUDA device the GPU sections run on, or None (they then print `no_gpu_line`)."""
    return "cuda" if torch.cuda.is_available() else None


def no_gpu_line(what: str) -> str:
    return (f"GPU: none here (torch.cuda.is_available() is False): {what} not timed on a GPU; run this benchmark on a "
            f"machine with a CUDA GPU and a CUDA build of PyTorch to see GPU times beside the CPU ones")


def machine() -> str:
    """One line naming the machine, PyTorch and the thread count."""
    import os

    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f}"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{load}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


@contextmanager
def threads(n: int | None):
    """Run the block with ``n`` PyTorch CPU threads (None: unchanged); restore the count after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Times:
    wall: list[float]
    cpu: list[float]


def paired(candidates: dict[str, Callable[[], object]], rounds: int, *, warmup: int = 1,
           seed: int = 0) -> dict[str, Times]:
    """Time every candidate once per round, in a shuffled order; ``warmup`` untimed rounds first."""
    rng = random.Random(seed)
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    out = {name: Times([], []) for name in names}
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            w, c = time.perf_counter(), time.process_time()
            candidates[name]()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            out[name].cpu.append(time.process_time() - c)
            out[name].wall.append(time.perf_counter() - w)
    return out


@dataclass
class Ratio:
    """Per-round ratios A/B: median and quartiles."""

    median: float
    q1: float
    q3: float
    n: int

    def __str__(self) -> str:
        return f"{self.median:.2f}x (quartiles {self.q1:.2f}-{self.q3:.2f}, {self.n} rounds)"


def ratio(a: list[float], b: list[float]) -> Ratio:
    """Median and quartiles of the paired ratios a[i] / b[i]."""
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty lists of times, got {len(a)} and {len(b)}")
    r = sorted(x / y for x, y in zip(a, b))
    if len(r) >= 4:
        q1, _, q3 = statistics.quantiles(r, n=4)
    else:
        q1, q3 = r[0], r[-1]
    return Ratio(statistics.median(r), q1, q3, len(r))


def ms(ts: list[float]) -> str:
    return f"{statistics.median(ts) * 1e3:.1f} ms"


def verdict(name: str, value: float, target: float, *, unit: str = "x", lower_is_better: bool = True,
            detail: str = "", quick: bool = False) -> bool:
    """Print one line ``TARGET <name>: <value> <= <target> MET|MISSED``; return whether met."""
    ok = value <= target if lower_is_better else value >= target
    sign = "<=" if lower_is_better else ">="
    note = " [--quick: tiny sizes, not a measurement]" if quick else ""
    print(f"TARGET {name}: {value:.3g}{unit} (target {sign} {target:g}{unit}) {'MET' if ok else 'MISSED'}"
          f"{'; ' + detail if detail else ''}{note}", flush=True)
    return ok
