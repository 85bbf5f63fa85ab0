"""The ``vitcourse`` command: ``vitcourse grade SUBMISSION_OR_FOLDER... [options]``, ``vitcourse gradebook merge``.

A small dispatcher; each subcommand's work lives in its module
(`vitcourse.grading` for ``grade``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _solutions(args) -> Path | None:
    """The instructor notebooks folder: ``--solutions``, else the course checkout's ``solutions/``; None (after
    saying why) when it does not exist."""
    from .notebooks import ROOT

    if args.solutions:
        folder = Path(args.solutions)
        if not folder.is_dir():
            print(
                f"vitcourse grade: --solutions {args.solutions!r} is not a folder; give the folder that holds the "
                f"instructor notebooks (NN_topic.ipynb), e.g. solutions/ of a course checkout",
                file=sys.stderr,
            )
            return None
        return folder
    folder = ROOT / "solutions"
    if not folder.is_dir():
        print(
            f"vitcourse grade: no solutions/ folder next to the installed package ({folder} does not exist): "
            f"this vitcourse was installed from a wheel, not run from a course checkout. Pass the instructor "
            f"notebooks with --solutions PATH (the solutions/ folder of a clone of the course)",
            file=sys.stderr,
        )
        return None
    return folder


def _grade(args) -> int:
    import signal

    from .grading import (
        Grader,
        IsolationUnavailable,
        discover,
        merge_rows,
        read_gradebook,
        write_csv,
        write_feedback,
        write_json,
    )

    solutions = _solutions(args)
    if solutions is None:
        return 2
    if args.exercise is not None and not (len(args.exercise) == 2 and args.exercise.isdigit()):
        print(f"--exercise must be two digits like 01, got {args.exercise!r}", file=sys.stderr)
        return 2
    try:
        subs = discover(args.paths, exercise=args.exercise, solutions=solutions)
    except ValueError as e:
        print(f"vitcourse grade: {e}", file=sys.stderr)
        return 2
    if not subs:
        print("vitcourse grade: no submissions (*.ipynb) found", file=sys.stderr)
        return 1
    if args.shard is not None:
        from .grading.shard import select_shard

        found = len(subs)
        subs = select_shard(subs, *args.shard)
        if not args.quiet:
            print(f"shard {args.shard[0]}/{args.shard[1]}: {len(subs)} of {found} submission(s)", file=sys.stderr)
        if not subs:  # a legitimate empty shard: still write its (empty) gradebook, so the merge finds every file
            if args.out:
                write_csv(merge_rows(read_gradebook(args.out), []), args.out)
            if args.json:
                write_json(merge_rows(read_gradebook(args.json), []), args.json)
            return 0
    start = time.perf_counter()
    done = [0]

    def progress(sub, rows):
        done[0] += 1
        pts = sum(float(r.points) for r in rows)
        mx = sum(float(r.max_points) for r in rows)
        if not args.quiet:
            print(
                f"[{done[0]}/{len(subs)}] {sub.student} {rows[0].exercise if rows else '?'}: {pts:g}/{mx:g} "
                f"({', '.join(sorted({r.status for r in rows}))})",
                file=sys.stderr,
                flush=True,
            )

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with Grader(
            solutions,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            seed=args.seed,
            allow_unsafe=args.unsafe_no_isolation,
        ) as g:
            isolation = g.isolation
            if not args.quiet:
                print(f"isolation: {isolation}", file=sys.stderr, flush=True)
            rows = g.grade_all(subs, jobs=args.jobs, progress=progress)
            interrupted = g.interrupted
            for ex in g.exercises.values():
                for problem in ex.problems:
                    print(f"warning: {problem}", file=sys.stderr)
    except IsolationUnavailable as e:
        print(f"vitcourse grade: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:  # before grading began (setting up the sandbox); one while grading is handled
        print("interrupted before grading began: nothing was written; run the command again", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - start
    if args.out:
        write_csv(merge_rows(read_gradebook(args.out), rows), args.out)
    if args.json:
        write_json(merge_rows(read_gradebook(args.json), rows), args.json, isolation=isolation)
    if args.feedback:
        write_feedback(rows, args.feedback)
    if not args.out and not args.json:
        import csv

        from .grading.gradebook import FIELDS

        w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r.as_dict())
    if interrupted:
        done_subs = len({r.submission for r in rows})
        print(
            f"interrupted: wrote the rows of the {done_subs} submission(s) finished before the stop; grade the "
            f"rest again with the same --out",
            file=sys.stderr,
        )
        return 130
    print(
        f"graded {len(subs)} submission(s) in {seconds:.1f} s ({60 * len(subs) / max(seconds, 1e-9):.1f} per "
        f"minute); isolation: {isolation}",
        file=sys.stderr,
    )
    return 0


def _grade_nbgrader(args) -> int:
    """``vitcourse grade --nbgrader COURSE --assignment NAME``: the work is in `vitcourse.grading.nbgrader`."""
    import signal

    try:
        from .grading import nbgrader as nbg
    except ImportError as e:
        print(
            f"vitcourse grade --nbgrader needs nbgrader ({e}); install it with `pip install nbgrader==0.9.6`",
            file=sys.stderr,
        )
        return 2
    from .grading import IsolationUnavailable, merge_rows, read_gradebook, write_csv, write_feedback, write_json

    solutions = _solutions(args)
    if solutions is None:
        return 2
    done = [0]

    def progress(sub, rows):
        done[0] += 1
        if not args.quiet:
            pts, mx = sum(float(r.points) for r in rows), sum(float(r.max_points) for r in rows)
            print(
                f"[{done[0]}] {sub.student} {rows[0].exercise if rows else '?'}: {pts:g}/{mx:g}",
                file=sys.stderr,
                flush=True,
            )

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)  # as in _grade: sandboxes stopped, nothing half-written
    try:
        run = nbg.grade_course(
            args.nbgrader,
            args.assignment,
            solutions=solutions,
            jobs=args.jobs,
            progress=progress,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            seed=args.seed,
            allow_unsafe=args.unsafe_no_isolation,
        )
    except ValueError as e:
        print(f"vitcourse grade: {e}", file=sys.stderr)
        return 2
    except IsolationUnavailable as e:
        print(f"vitcourse grade: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:  # while nbgrader was writing the gradebook (an interrupt while grading is handled)
        print(
            "interrupted while nbgrader wrote the gradebook: some students may have new scores, others not; "
            "run the command again",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.out:
        write_csv(merge_rows(read_gradebook(args.out), run.rows), args.out)
    if args.json:
        write_json(merge_rows(read_gradebook(args.json), run.rows), args.json, isolation=run.isolation)
    if args.feedback:
        write_feedback(run.rows, args.feedback)
    for problem in run.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if run.interrupted:
        print("interrupted: nothing was written to nbgrader's gradebook; run the command again", file=sys.stderr)
        return 130
    if run.log and (run.returncode != 0 or not args.quiet):
        print(run.log.rstrip(), file=sys.stderr)
    if run.returncode != 0:
        print(
            f"vitcourse grade: nbgrader autograde failed (exit code {run.returncode}); see its log above. The "
            f"gradebook database may hold scores for some students only: fix the cause and run again",
            file=sys.stderr,
        )
        return 1
    students = {r.student for r in run.rows}
    print(
        f"wrote the scores of {len(students)} student(s) for {args.assignment} into nbgrader's gradebook "
        f"(isolation: {run.isolation}); `nbgrader export` and `nbgrader generate_feedback "
        f"{args.assignment}` now use them",
        file=sys.stderr,
    )
    return 0


def _shard_arg(text: str) -> tuple[int, int]:
    from .grading.shard import parse_shard

    try:
        return parse_shard(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _gradebook_merge(args) -> int:
    from .grading import write_csv, write_json
    from .grading.shard import GradebookConflict, grader_versions, is_json, merge_gradebooks

    try:
        rows = merge_gradebooks(args.gradebooks)
    except (GradebookConflict, FileNotFoundError, ValueError) as e:
        print(f"vitcourse gradebook merge: {e}", file=sys.stderr)
        return 1
    versions = grader_versions(rows)
    if len(versions) > 1:
        print(
            f"warning: the gradebooks were made by {len(versions)} grader versions ({', '.join(sorted(versions))});"
            f" re-grade with one version for a fair class gradebook",
            file=sys.stderr,
        )
    (write_json if is_json(args.out) else write_csv)(rows, args.out)
    students = len({r["student"] for r in rows})
    print(
        f"merged {len(args.gradebooks)} gradebook(s): {len(rows)} row(s), {students} student(s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vitcourse", description="vitcourse course tools")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("grade", help="grade exercise submissions into a gradebook (see docs/grading.md)")
    p.add_argument("paths", nargs="*", help="submission notebooks or folders of them")
    p.add_argument(
        "--exercise", help="only this exercise (two digits, e.g. 01); also used for files whose name does not say"
    )
    p.add_argument("--out", help="CSV gradebook to write (rows of re-graded submissions are replaced)")
    p.add_argument("--json", help="JSON gradebook to write (same rows, plus totals)")
    p.add_argument("--feedback", help="folder for per-student Markdown feedback")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds for each notebook cell and each test case (default: 120 s per cell, each "
        "check's own limit per case)",
    )
    p.add_argument("--memory-mb", type=int, default=3072, help="memory a submission may use (default 3072)")
    p.add_argument("--seed", type=int, default=None, help="reproducible hidden cases (default: fresh random seeds)")
    p.add_argument("--solutions", help="instructor notebooks folder (default: the course's solutions/)")
    p.add_argument(
        "--unsafe-no-isolation",
        action="store_true",
        help="grade even where the kernel sandbox (bubblewrap, Linux) is unavailable: student code then "
        "runs as you, unconfined; every gradebook row says so",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-submission progress lines")
    p.add_argument(
        "--nbgrader",
        metavar="COURSE_DIR",
        help="grade COURSE_DIR/submitted/<student>/<assignment>/ of an nbgrader course and write the "
        "scores into its gradebook database (needs --assignment; see docs/grading.md)",
    )
    p.add_argument("--assignment", help="the nbgrader assignment to grade with --nbgrader (e.g. ps1)")
    p.add_argument(
        "--shard",
        type=_shard_arg,
        metavar="i/N",
        help="grade only shard i (0 to N-1) of N: a stable split by student and exercise, for grading "
        "on several machines; join the shards with 'vitcourse gradebook merge'",
    )
    g = sub.add_parser("gradebook", help="work on gradebooks (see docs/grading.md)")
    gsub = g.add_subparsers(dest="gradebook_cmd", required=True)
    m = gsub.add_parser(
        "merge", help="join shard gradebooks (CSV or JSON) into one; a row two shards give differently is an error"
    )
    m.add_argument("gradebooks", nargs="+", help="the shard gradebooks")
    m.add_argument("--out", required=True, help="the merged gradebook (.json for JSON, else CSV)")
    args = parser.parse_args(argv)
    if args.cmd == "gradebook":
        return _gradebook_merge(args)
    if args.cmd == "grade":
        if args.jobs < 1:
            parser.error(f"--jobs must be >= 1, got {args.jobs}")
        if args.timeout is not None and args.timeout <= 0:
            parser.error(f"--timeout must be > 0 seconds, got {args.timeout}")
        if args.nbgrader is not None:
            if not args.assignment:
                parser.error("--nbgrader needs --assignment NAME (the nbgrader assignment, e.g. ps1)")
            if args.shard is not None:
                parser.error("--shard splits plain submission folders; --nbgrader grades the whole course at once")
            if args.paths or args.exercise:
                parser.error(
                    f"--nbgrader grades COURSE_DIR/submitted/ itself: give no submission paths and no "
                    f"--exercise (got {' '.join(args.paths) or '--exercise ' + str(args.exercise)})"
                )
            return _grade_nbgrader(args)
        if args.assignment:
            parser.error("--assignment goes with --nbgrader COURSE_DIR")
        if not args.paths:
            parser.error(
                "give the submission notebooks or folders to grade (or --nbgrader COURSE_DIR --assignment NAME)"
            )
        return _grade(args)
    parser.error(f"unknown command {args.cmd!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
