"""Benchmark: vitcourse.MultiHeadAttention (explicit and fast paths) against torch.nn.MultiheadAttention.

For B=8, H=12, Dh=64 (D=768, ViT-B) and N in {65, 197, 577} tokens (ViT-B/16 at
128, 224 and 384 pixels, with the class token), times self-attention forward
(under `torch.inference_mode`) and forward+backward, all three implementations
in one run, interleaved round-robin so that a change in machine load hits them
alike; reports the median of the repeats and the ratio to nn.MultiheadAttention.

Target: the fast path within 1.1x of nn.MultiheadAttention. Printed, not
asserted: timings depend on the machine and its load.

    python benchmarks/attention.py [--repeats 5] [--tokens 65 197 577] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from vitcourse.attention import MultiHeadAttention

B, H, DH = 8, 12, 64
TARGET = 1.1


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def bench(n_tokens: int, repeats: int, device: torch.device) -> dict[str, dict[str, float]]:
    D = H * DH
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, batch_first=True).to(device)
    fast = MultiHeadAttention.from_torch(ref, fast=True).to(device)
    explicit = MultiHeadAttention.from_torch(ref, fast=False).to(device)
    x = torch.randn(B, n_tokens, D, device=device)
    xg = x.clone().requires_grad_(True)
    models = {"explicit": explicit, "fast": fast, "nn.MultiheadAttention": ref}

    def forward(name):
        m = models[name]
        with torch.inference_mode():
            return m(x, x, x, need_weights=False)[0] if name == "nn.MultiheadAttention" else m(x)

    def forward_backward(name):
        m = models[name]
        out = m(xg, xg, xg, need_weights=False)[0] if name == "nn.MultiheadAttention" else m(xg)
        out.sum().backward()
        m.zero_grad(set_to_none=True)
        xg.grad = None

    # Same numbers first: a benchmark of wrong code is worthless.
    torch.testing.assert_close(forward("fast"), forward("nn.MultiheadAttention"), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(forward("explicit"), forward("nn.MultiheadAttention"), atol=1e-4, rtol=1e-4)

    times = {kind: {name: [] for name in models} for kind in ("forward", "forward+backward")}
    for name in models:  # warm-up
        forward(name)
        forward_backward(name)
    for _ in range(repeats):
        for name in models:
            times["forward"][name].append(_time(lambda: forward(name)))
            times["forward+backward"][name].append(_time(lambda: forward_backward(name)))
    return {kind: {name: statistics.median(ts) for name, ts in per.items()} for kind, per in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, nargs="+", default=[65, 197, 577])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} CPU threads, "
          f"B={B} H={H} Dh={DH}, median of {args.repeats} repeats")
    header = f"{'N':>5} {'pass':<17} {'nn.MHA':>10} {'fast':>10} {'explicit':>10} {'fast/nn':>8} {'expl/nn':>8}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    t_start = time.perf_counter()
    for n in args.tokens:
        res = bench(n, args.repeats, device)
        for kind, t in res.items():
            ref = t["nn.MultiheadAttention"]
            r_fast, r_expl = t["fast"] / ref, t["explicit"] / ref
            worst = max(worst, r_fast)
            print(f"{n:>5} {kind:<17} {ref * 1e3:>8.1f}ms {t['fast'] * 1e3:>8.1f}ms {t['explicit'] * 1e3:>8.1f}ms "
                  f"{r_fast:>7.2f}x {r_expl:>7.2f}x")
    verdict = "MET" if worst <= TARGET else "NOT MET"
    print(f"\nTarget: fast path within {TARGET}x of nn.MultiheadAttention: {verdict} "
          f"(worst fast/nn ratio {worst:.2f}x); total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
