"""Benchmark: do the training notebooks keep their speed on a busy laptop?

A learner's laptop is rarely idle (a browser, a video call). Issue 16 measured
notebook 06 at 71 s quiet and 845 s beside a busy loop, because OpenMP threads
spin-wait when they share cores. The package now picks threads per model size
(`vitcourse.utils.configure_threads`); this benchmark checks the result as a
learner meets it: each notebook executed top to bottom in a fresh kernel
(`vitcourse.notebooks.execute`, on a temporary copy), once on the machine as it
is ("quiet") and once beside ``--busy`` processes that spin forever ("busy"),
in paired rounds (shuffled order within a round). The busy/quiet ratio of the
wall times is the number; target: <= 2 for every notebook.

"Quiet" is only as quiet as the machine: on a shared machine run it when
nothing else runs, and read the load average printed at the top.

    python benchmarks/notebooks_load.py [--notebooks 06 08 09 10] [--busy 4] [--rounds 1] [--quick]

``--quick`` executes the start page (00, seconds) with one busy process: it
checks the benchmark works (tests/test_benchmarks.py), it is not a measurement.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import common_args, machine, paired, ratio, verdict  # noqa: E402

from vitcourse.notebooks import ROOT, execute  # noqa: E402

TARGET_SLOWDOWN = 2.0  # busy wall time / quiet wall time
DEFAULT_NOTEBOOKS = ["06", "08", "09", "10"]


@contextmanager
def busy(n: int):
    """``n`` processes that spin on the CPU until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def notebook(number: str) -> Path:
    found = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"--notebooks: no single lecture notebook numbered {number!r} in notebooks/ "
                         f"(found {[f.name for f in found]}); use two digits like 06")
    return found[0]


def run_copy(src: Path, tmp: Path, busy_procs: int) -> None:
    """Execute a copy of ``src`` placed beside the lecture notebooks (same relative paths), optionally under load."""
    dst = src.parent / f".bench-{tmp.name}-{src.name}"
    shutil.copyfile(src, dst)
    try:
        with busy(busy_procs):
            execute(dst)
    finally:
        dst.unlink(missing_ok=True)


def main(argv=None) -> int:
    parser = common_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), rounds=1)
    parser.add_argument("--notebooks", nargs="+", default=DEFAULT_NOTEBOOKS,
                        help="lecture numbers (default 06 08 09 10)")
    parser.add_argument("--busy", type=int, default=4, help="spinning processes beside the busy run (default 4)")
    args = parser.parse_args(argv)
    numbers, procs, rounds = (["00"], 1, 1) if args.quick else (args.notebooks, args.busy, max(1, args.rounds))
    print(f"machine: {machine()}")
    print(f"each notebook executed top to bottom in a fresh kernel, quiet and beside {procs} busy process(es), "
          f"{rounds} paired rounds (shuffled order)")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for number in numbers:
            src = notebook(number)
            times = paired({"quiet": lambda src=src: run_copy(src, Path(tmp), 0),
                            "busy": lambda src=src: run_copy(src, Path(tmp), procs)}, rounds, warmup=0)
            r = ratio(times["busy"].wall, times["quiet"].wall)
            worst = max(worst, r.median)
            print(f"{src.name}: quiet {min(times['quiet'].wall):.0f} s, busy {min(times['busy'].wall):.0f} s "
                  f"(best of {rounds}); busy / quiet = {r}", flush=True)
    verdict(f"worst notebook slowdown beside {procs} busy process(es)", worst, TARGET_SLOWDOWN,
            detail=f"notebooks {' '.join(numbers)}", quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
