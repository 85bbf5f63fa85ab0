"""Benchmark: the explicit (teaching) and fast attention paths against PyTorch's kernels.

For B=8, H=12, Dh=64 (D=768, ViT-B) and N in {65, 197, 577} tokens (ViT-B/16 at
128, 224 and 384 pixels, with the class token), compares in paired, shuffled
rounds (see benchmarks/_timing.py):

- `scaled_dot_product_attention` (the explicit path, the one learners read)
  against `F.scaled_dot_product_attention` (the fused kernel), forward;
  target at N=577: at most 3x;
- `MultiHeadAttention` (fast path) against `nn.MultiheadAttention`, forward
  (under `torch.inference_mode`) and forward+backward; target: at most 1.1x.

Targets are judged on CPU time at one thread (robust to other programs on the
machine); wall time at ``--threads`` is printed beside it. Where a CUDA GPU is
present, the same pairs are timed on it too (wall time, synchronised) and
printed as GPU ratios; where none is, the benchmark says so. Outputs are checked
equal before anything is timed.

    python benchmarks/attention.py [--quick] [--rounds 15] [--tokens 65 197 577] [--threads 2]
"""
from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F
from torch import nn

from _timing import common_args, gpu, machine, ms, no_gpu_line, paired, ratio, rounds_for, threads, verdict
from vitcourse.attention import MultiHeadAttention, scaled_dot_product_attention

B, H, DH = 8, 12, 64
TARGET_EXPLICIT, TARGET_FAST, TARGET_N = 3.0, 1.1, 577


def candidates(n_tokens: int, batch: int, device: str = "cpu") -> dict:
    D = H * DH
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, batch_first=True)
    fast = MultiHeadAttention.from_torch(ref, fast=True).to(device)
    ref = ref.to(device)
    q, k, v = (torch.randn(batch, H, n_tokens, DH, device=device) for _ in range(3))
    x = torch.randn(batch, n_tokens, D, device=device)
    xg = x.clone().requires_grad_(True)

    def inference(fn):
        def run():
            with torch.inference_mode():
                return fn()
        return run

    def forward_backward(m, call):
        def run():
            call(m).sum().backward()
            m.zero_grad(set_to_none=True)
            xg.grad = None
        return run

    # Same numbers first: a benchmark of wrong code is worthless.
    with torch.inference_mode():
        torch.testing.assert_close(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fast(x), ref(x, x, x, need_weights=False)[0], atol=1e-4, rtol=1e-4)
    return {
        "explicit": inference(lambda: scaled_dot_product_attention(q, k, v)),
        "F.sdpa": inference(lambda: F.scaled_dot_product_attention(q, k, v)),
        "fast fwd": inference(lambda: fast(x)),
        "nn.MHA fwd": inference(lambda: ref(x, x, x, need_weights=False)[0]),
        "fast fwd+bwd": forward_backward(fast, lambda m: m(xg)),
        "nn.MHA fwd+bwd": forward_backward(ref, lambda m: m(xg, xg, xg, need_weights=False)[0]),
    }


PAIRS = [("explicit", "F.sdpa"), ("fast fwd", "nn.MHA fwd"), ("fast fwd+bwd", "nn.MHA fwd+bwd")]


def main(argv=None) -> int:
    parser = common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--tokens", type=int, nargs="+", default=[65, 197, 577])
    args = parser.parse_args(argv)
    batch = 1 if args.quick else B
    tokens = [65, TARGET_N] if args.quick else args.tokens
    rounds = rounds_for(args)
    print(f"{machine()}\nB={batch} H={H} Dh={DH}, {rounds} paired rounds in shuffled order; ratio = median of "
          f"per-round ratios (quartiles)", flush=True)
    results = {}
    for n in tokens:
        cands = candidates(n, batch)
        with threads(1):
            one = paired(cands, rounds, seed=args.seed)
        many = None
        if not args.quick and (args.threads or torch.get_num_threads()) != 1:
            with threads(args.threads):
                many = paired(cands, rounds, seed=args.seed + 1)
        for a, b in PAIRS:
            r_cpu = ratio(one[a].cpu, one[b].cpu)
            line = (f"N={n:>4} {a:>13} / {b:<15} CPU@1 thread {ms(one[a].cpu):>9} / {ms(one[b].cpu):>9} = {r_cpu}")
            if many is not None:
                line += f"; wall@{args.threads or torch.get_num_threads()} threads {ratio(many[a].wall, many[b].wall)}"
            print(line, flush=True)
            results[n, a] = r_cpu
    device = gpu()
    if device is None:
        print(no_gpu_line("attention"), flush=True)
    else:
        print(f"GPU: {torch.cuda.get_device_name(0)}, wall time (synchronised), same pairs", flush=True)
        for n in tokens:
            on_gpu = paired(candidates(n, batch, device), rounds, seed=args.seed + 2)
            for a, b in PAIRS:
                print(f"N={n:>4} {a:>13} / {b:<15} GPU wall {ms(on_gpu[a].wall):>9} / {ms(on_gpu[b].wall):>9} = "
                      f"{ratio(on_gpu[a].wall, on_gpu[b].wall)}", flush=True)
    ok = True
    n_target = TARGET_N if TARGET_N in tokens else max(tokens)
    ok &= verdict(f"explicit path forward / F.scaled_dot_product_attention at N={n_target}, CPU time at 1 thread",
                  results[n_target, "explicit"].median, TARGET_EXPLICIT, detail=str(results[n_target, "explicit"]),
                  quick=args.quick)
    worst = max((results[n, a] for n in tokens for a in ("fast fwd", "fast fwd+bwd")), key=lambda r: r.median)
    ok &= verdict("MultiHeadAttention fast path / nn.MultiheadAttention, worst of forward and forward+backward "
                  "over N, CPU time at 1 thread", worst.median, TARGET_FAST, detail=str(worst), quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
