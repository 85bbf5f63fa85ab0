"""Benchmark: `vitcourse grade` end to end, and what kernel isolation costs.

Builds a class of exercise-01 submissions (half the solution, half quick
adversarial submissions) and grades it with the real command,
``vitcourse grade FOLDER --jobs 2``, as a separate process, so the time
counts everything an instructor waits for: interpreter start-up, imports,
sandbox start-ups and grading.

Two measurements:

1. Throughput: submissions per minute of one kernel-isolated run of ``--n``
   submissions (target: at least 30 per minute with ``--jobs 2`` on 2 cores).
2. Cost of isolation: paired rounds (`_timing.paired`, shuffled order) of the
   same small class graded with the bubblewrap sandbox and with
   ``--unsafe-no-isolation`` (the same fork server and child program as plain
   processes, no namespaces); the median ratio of the two wall times is printed.

3. With ``--against REV``: speed-up over another revision of the course
   (e.g. the commit before a change): paired rounds of the same ``--pair-n``
   honest submissions (the solution; an attack that loops waits out the
   same timeout under any grader) graded by this checkout and by REV's code (a temporary
   ``git worktree`` of REV, run with its own ``vitcourse`` on PYTHONPATH);
   target: REV's time / this checkout's time >= 2 (issue 16: 10 submissions
   of exercise 01 end to end).

    python benchmarks/grading.py [--n 60] [--jobs 2] [--quick] [--against REV]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _timing import common_args, machine, paired, ratio, verdict  # noqa: E402
from grading_attacks import generic_attacks, solution_submission  # noqa: E402

from vitcourse.grading.exercise import exercise_ids  # noqa: E402

TARGET_PER_MINUTE = 30.0
TARGET_ISOLATION_COST = 1.5  # kernel-isolated time / unisolated time


def build_class(n: int, folder: Path, exercise: str = "01", *, honest: bool = False,
                solutions: Path | None = None) -> None:
    """``n`` submissions: half the solution and half quick attacks, or (``honest``) all the solution of
    ``solutions`` (default: this checkout's)."""
    sol = exercise_ids(solutions)[exercise] if solutions is not None else exercise_ids()[exercise]
    attacks = generic_attacks(sol)
    good = solution_submission(sol)
    names = sorted(attacks)
    for i in range(n):
        data = good if honest or i % 2 == 0 else attacks[names[(i // 2) % len(names)]]
        (folder / f"student{i:03d}_{sol.name}").write_bytes(data)


REPO = Path(__file__).resolve().parents[1]
TARGET_SPEEDUP = 2.0  # over the revision given with --against


def grade(folder: Path, jobs: int, *, unsafe: bool, code: Path = REPO) -> float:
    """Wall seconds of one `vitcourse grade` process over ``folder``, with the course code at ``code``."""
    out = folder.parent / f"gb-{folder.name}-{'u' if unsafe else 'k'}-{code.name}.csv"
    cmd = [sys.executable, "-m", "vitcourse.cli", "grade", str(folder), "--out", str(out), "--jobs", str(jobs),
           "--timeout", "5", "-q"] + (["--unsafe-no-isolation"] if unsafe else [])
    env = {**os.environ, "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(code)}
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"vitcourse grade failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out.unlink(missing_ok=True)
    return seconds


def main(argv=None) -> int:
    parser = common_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), rounds=3)
    parser.add_argument("--n", type=int, default=60, help="submissions in the throughput run (default 60)")
    parser.add_argument("--pair-n", type=int, default=10, help="submissions per paired isolation round")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--against", metavar="REV", help="also time the grader of git revision REV (paired rounds)")
    args = parser.parse_args(argv)
    if args.against:
        return against(args.against, args.pair_n if not args.quick else 2, args.jobs,
                       1 if args.quick else max(1, args.rounds), quick=args.quick)
    n, pair_n = (4, 2) if args.quick else (args.n, args.pair_n)
    rounds = 1 if args.quick else max(1, args.rounds)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "class"
        big.mkdir()
        build_class(n, big)
        seconds = grade(big, args.jobs, unsafe=False)
        rate = 60 * n / seconds
        print(f"{n} submissions of exercise 01, kernel isolation, --jobs {args.jobs}: {seconds:.1f} s end to end "
              f"(one process: start-up, imports, sandboxes, grading)")
        verdict("submissions per minute", rate, TARGET_PER_MINUTE, unit="/min", lower_is_better=False,
                detail=f"{n} submissions, --jobs {args.jobs}", quick=args.quick)
        small = Path(tmp) / "pair"
        small.mkdir()
        build_class(pair_n, small)
        times = paired({"kernel": lambda: grade(small, args.jobs, unsafe=False),
                        "none": lambda: grade(small, args.jobs, unsafe=True)}, rounds, warmup=0)
        r = ratio(times["kernel"].wall, times["none"].wall)
        print(f"{rounds} paired rounds of {pair_n} submissions: kernel isolation / no isolation = {r}")
        verdict("cost of isolation (wall time ratio)", r.median, TARGET_ISOLATION_COST,
                detail=f"kernel {min(times['kernel'].wall):.1f} s vs none {min(times['none'].wall):.1f} s (best)",
                quick=args.quick)
    return 0


def against(rev: str, n: int, jobs: int, rounds: int, *, quick: bool) -> int:
    """Paired rounds: ``n`` submissions graded by ``rev``'s code and by this checkout's; prints the speed-up."""
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "rev"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old), rev], check=True)
        try:
            head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            # each grader grades its own revision's solution (the notebooks' cells may differ between them);
            # honest submissions only: an attack that loops waits out the same timeout under any grader
            folders = {}
            for name, solutions in ((rev, old / "solutions"), ("this checkout", None)):
                folders[name] = Path(tmp) / f"class-{len(folders)}"
                folders[name].mkdir()
                build_class(n, folders[name], honest=True, solutions=solutions)
            times = paired({rev: lambda: grade(folders[rev], jobs, unsafe=False, code=old),
                            "this checkout": lambda: grade(folders["this checkout"], jobs, unsafe=False)},
                           rounds, warmup=1)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)
    r = ratio(times[rev].wall, times["this checkout"].wall)
    print(f"{rounds} paired rounds of {n} honest submissions of exercise 01, --jobs {jobs}: time at {rev} / time at "
          f"{head} (+ working tree) = {r}")
    verdict(f"grading speed-up over {rev}", r.median, TARGET_SPEEDUP, unit="x", lower_is_better=False,
            detail=f"{rev} {min(times[rev].wall):.1f} s vs {min(times['this checkout'].wall):.1f} s (best of "
                   f"{rounds})", quick=quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
