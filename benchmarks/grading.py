"""Benchmark: how many submissions per minute `vitcourse grade` handles.

Builds a class of submissions per exercise (00, and 01 when it exists, else
the first other exercise): half of them the solved exercise, the other half
adversarial submissions from `vitcourse.grading.attacks` (the quick ones:
infinite loops and memory hogs are left out, they measure the time limit
rather than the grader). Grades them with ``--jobs`` runners through one
sandbox, as ``vitcourse grade FOLDER --jobs 2`` does, and prints submissions
per minute, with and without the one-off sandbox start-up (importing
torch once).

Target: at least 30 submissions per minute on 2 cores. Printed, not
asserted: timings depend on the machine and its load.

    python benchmarks/grading.py [--n 60] [--jobs 2] [--exercises 00 01]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vitcourse.grading import Grader, discover
from vitcourse.grading.attacks import generic_attacks, solution_submission, warmup_attacks
from vitcourse.grading.exercise import exercise_ids

TARGET = 30.0


def build_class(exercise: str, n: int, folder: Path) -> None:
    sol = exercise_ids()[exercise]
    attacks = warmup_attacks(sol) if exercise == "00" else generic_attacks(sol)
    quick = [k for k in sorted(attacks) if k not in ("infinite_loop", "loop_ignoring_alarm", "memory_hog")]
    good = solution_submission(sol)
    for i in range(n):
        data = good if i % 2 == 0 else attacks[quick[(i // 2) % len(quick)]]
        (folder / f"student{i:03d}_{sol.name}").write_bytes(data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="submissions per exercise")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per cell and test case")
    parser.add_argument("--exercises", nargs="*", default=None)
    args = parser.parse_args(argv)
    ids = exercise_ids()
    other = "01" if "01" in ids else next((k for k in sorted(ids) if k != "00"), None)
    exercises = args.exercises or ["00", other]
    exercises = [e for e in exercises if e in ids]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with Grader(timeout=args.timeout) as g:
            g._get_runner()
            startup = time.perf_counter() - t0
            print(f"sandbox start-up (imports torch once): {startup:.1f} s")
            for ex in exercises:
                folder = Path(tmp) / ex
                folder.mkdir()
                build_class(ex, args.n, folder)
                subs = discover([folder])
                t1 = time.perf_counter()
                rows = g.grade_all(subs, jobs=args.jobs)
                seconds = time.perf_counter() - t1
                rate = 60 * len(subs) / seconds
                rate_cold = 60 * len(subs) / (seconds + startup)
                passed = sum(r.status == "passed" for r in rows)
                verdict = "meets" if rate_cold >= TARGET else "below"
                print(f"exercise {ex}: {len(subs)} submissions ({len(rows)} rows, {passed} passed) in {seconds:.1f} s "
                      f"with --jobs {args.jobs}: {rate:.0f} per minute; {rate_cold:.0f} per minute counting start-up "
                      f"({verdict} the target of {TARGET:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
