"""Benchmark: does OMP_WAIT_POLICY=PASSIVE help, and does it work when set after `import torch`?

Runs the lecture ViT's training step (``ViTConfig.tiny_digits()``, batch 64) in
fresh processes, one configuration each, in paired rounds of shuffled order:

- ``1 thread``;
- ``2 threads`` with OpenMP's default wait policy (threads spin while waiting);
- ``2 threads, PASSIVE at start``: ``OMP_WAIT_POLICY=PASSIVE`` in the environment the process starts with;
- ``2 threads, PASSIVE after import``: set with ``os.environ`` after ``import torch`` (as a notebook cell would).

Target: 1 thread at most 1.1x the wall time of 2 threads with the default policy
(the rule of `vitcourse.utils.configure_threads`). The other ratios are printed:
the PASSIVE-after-import one shows whether the setting took effect (it does not
with torch 2.13 + GNU OpenMP: the runtime reads the variable once, when loaded).

    python benchmarks/threads.py [--quick] [--rounds 15] [--steps 20]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys

from _timing import common_args, machine, ratio, rounds_for, verdict

CHILD = r"""
import json, os, sys, time
after = os.environ.pop("VITCOURSE_BENCH_SET_AFTER", None)
import torch
if after:
    os.environ["OMP_WAIT_POLICY"] = after
torch.set_num_threads(int(sys.argv[1]))
from vitcourse.vit import ViT, ViTConfig
torch.manual_seed(0)
m = ViT(ViTConfig.tiny_digits())
opt = torch.optim.AdamW(m.parameters(), 1e-3)
x, y = torch.randn(int(sys.argv[3]), 1, 16, 16), torch.randint(0, 10, (int(sys.argv[3]),))
def step():
    loss = torch.nn.functional.cross_entropy(m(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(3):
    step()
n = int(sys.argv[2])
w, c = time.perf_counter(), time.process_time()
for _ in range(n):
    step()
print(json.dumps({"wall": (time.perf_counter() - w) / n, "cpu": (time.process_time() - c) / n}))
"""

CONFIGS = {  # name: (threads, extra environment)
    "1 thread": (1, {}),
    "2 threads": (2, {}),
    "2 threads, PASSIVE at start": (2, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "2 threads, PASSIVE after import": (2, {"VITCOURSE_BENCH_SET_AFTER": "PASSIVE"}),
}


def run(name: str, steps: int, batch: int) -> dict:
    n, extra = CONFIGS[name]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(steps), str(batch)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per process")
    args = parser.parse_args(argv)
    names = ["1 thread", "2 threads"] if args.quick else list(CONFIGS)
    rounds, steps, batch = (1, 2, 8) if args.quick else (rounds_for(args), args.steps, 64)
    print(f"{machine()}\ntiny ViT step, batch {batch}, {steps} steps per process, {rounds} rounds of "
          f"{len(names)} processes in shuffled order", flush=True)
    rng = random.Random(args.seed)
    times = {n: {"wall": [], "cpu": []} for n in names}
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            t = run(name, steps, batch)
            times[name]["wall"].append(t["wall"])
            times[name]["cpu"].append(t["cpu"])
    ref = times["2 threads"]
    for name in sorted(times):
        t = times[name]
        print(f"  {name:<32} wall/step {sorted(t['wall'])[len(t['wall']) // 2] * 1e3:7.1f} ms, CPU/step "
              f"{sorted(t['cpu'])[len(t['cpu']) // 2] * 1e3:7.1f} ms; wall / 2 threads "
              f"{ratio(t['wall'], ref['wall'])}", flush=True)
    r = ratio(times["1 thread"]["wall"], ref["wall"])
    verdict("tiny ViT step wall time, 1 thread / 2 threads (default wait policy)", r.median, 1.1, detail=str(r),
            quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
