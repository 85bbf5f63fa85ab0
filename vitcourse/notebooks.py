"""Notebook tooling: build cells with course metadata, execute in place, make exercises, validate.

Command line (used by the Makefile)::

    python -m vitcourse.notebooks execute notebooks/01_attention.ipynb   # make execute NB=...
    python -m vitcourse.notebooks exercises [--check]                     # make exercises
    python -m vitcourse.notebooks validate notebooks solutions           # executed top to bottom?

Exercise format (see ``docs/authoring.md``): ``solutions/NN_topic.ipynb`` is
the source. Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``; lines between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed; outputs
are cleared. Graded cells carry ``metadata.nbgrader`` (schema_version 3) so the
same files drop into an nbgrader course.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

__all__ = [
    "md", "code", "solution_cell", "test_cell", "new_notebook", "execute", "make_exercise", "generate_exercises",
    "executed_problems", "SLIDE_TYPES", "ROOT",
]

ROOT = Path(__file__).resolve().parent.parent
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# ----------------------------------------------------------------------------- building cells


def _slide(slide: str) -> dict:
    if slide not in SLIDE_TYPES:
        raise ValueError(f"slide must be one of {SLIDE_TYPES}, got {slide!r}")
    return {"slideshow": {"slide_type": slide}}


def md(source: str, slide: str = "-", **meta):
    """A markdown cell with ``slideshow.slide_type`` set (``"-"`` continues the current slide)."""
    cell = nbformat.v4.new_markdown_cell(source.strip("\n"))
    cell.metadata.update(_slide(slide), **meta)
    return cell


def code(source: str, slide: str = "-", **meta):
    """A code cell with ``slideshow.slide_type`` set."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata.update(_slide(slide), **meta)
    return cell


def solution_cell(source: str, grade_id: str, slide: str = "-"):
    """A student-editable cell whose ``### BEGIN/END SOLUTION`` region is blanked in the exercise."""
    if BEGIN_SOLUTION not in source or END_SOLUTION not in source:
        raise ValueError(f"solution cell {grade_id!r} needs '{BEGIN_SOLUTION}' and '{END_SOLUTION}' lines")
    cell = code(source, slide)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id,
                                 "schema_version": 3}
    return cell


def test_cell(source: str, grade_id: str, points: int, slide: str = "-"):
    """A locked, graded test cell worth ``points``; hidden tests go between ``### BEGIN/END HIDDEN TESTS``."""
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be a positive integer, got {points!r}")
    cell = code(source, slide)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id,
                                 "points": points, "schema_version": 3}
    return cell


def new_notebook(cells, title: str | None = None):
    """A notebook with the course's kernel spec and metadata."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    if title:
        nb.metadata["title"] = title
    return nb


# ----------------------------------------------------------------------------- executing


def execute(path: str | os.PathLike, *, timeout: int = 900, kernel_name: str = "python3") -> float:
    """Execute a notebook top to bottom in place, as CI does (fresh kernel, its folder as cwd).

    Returns the seconds it took. Raises ``nbclient`` ``CellExecutionError`` on
    the first failing cell, after saving the notebook with the error shown.
    """
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"path must be an existing .ipynb file, got {str(path)!r}")
    nb = nbformat.read(path, as_version=4)
    env_backup = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # committed outputs carry no progress bars
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        if env_backup is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = env_backup
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
    return time.perf_counter() - start


def executed_problems(nb) -> list[str]:
    """Why a notebook does not count as executed top to bottom (empty list: it does).

    Every non-empty code cell must have an execution count, the counts must be
    1..N in order, and no output may be an error.
    """
    problems = []
    counts = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        counts.append(cell.get("execution_count"))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i} has a stored error output ({out.get('ename')})")
    if any(c is None for c in counts):
        problems.append(f"{sum(c is None for c in counts)} of {len(counts)} code cells were never executed")
    elif counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are {counts[:12]}{'...' if len(counts) > 12 else ''}, "
                        f"not 1..{len(counts)}: re-run the notebook top to bottom (make execute NB=...)")
    return problems


# ----------------------------------------------------------------------------- exercises


def _blank_solutions(source: str, where: str, markdown: bool) -> str:
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if inside:
                raise ValueError(f"{where}: '{BEGIN_SOLUTION}' inside another solution region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += ["YOUR ANSWER HERE"] if markdown else [f"{indent}# YOUR CODE HERE",
                                                         f"{indent}raise NotImplementedError()"]
        elif stripped == END_SOLUTION:
            if not inside:
                raise ValueError(f"{where}: '{END_SOLUTION}' without a matching '{BEGIN_SOLUTION}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN_SOLUTION}' is never closed by '{END_SOLUTION}'")
    return "\n".join(out)


def _strip_hidden(source: str, where: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_HIDDEN:
            if inside:
                raise ValueError(f"{where}: nested '{BEGIN_HIDDEN}'")
            inside = True
        elif stripped == END_HIDDEN:
            if not inside:
                raise ValueError(f"{where}: '{END_HIDDEN}' without a matching '{BEGIN_HIDDEN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN_HIDDEN}' is never closed by '{END_HIDDEN}'")
    return "\n".join(out).rstrip()


def make_exercise(nb, name: str = "notebook"):
    """The student version of an instructor's solution notebook (a new notebook object)."""
    ex = nbformat.reads(nbformat.writes(nb), as_version=4)  # a deep copy
    graded = 0
    for i, cell in enumerate(ex.cells):
        where = f"{name}, cell {i}"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            if BEGIN_SOLUTION not in cell.source:
                raise ValueError(f"{where}: a solution cell (grade_id {meta.get('grade_id')!r}) has no "
                                 f"'{BEGIN_SOLUTION}' region")
            cell.source = _blank_solutions(cell.source, where, cell.cell_type == "markdown")
        elif BEGIN_SOLUTION in cell.source:
            raise ValueError(f"{where}: '{BEGIN_SOLUTION}' in a cell without nbgrader solution metadata")
        if meta.get("grade") and not meta.get("solution"):
            graded += 1
        cell.source = _strip_hidden(cell.source, where) if BEGIN_HIDDEN in cell.source or END_HIDDEN in cell.source \
            else cell.source
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    ex.metadata["vitcourse"] = {"generated_from": f"solutions/{name}", "do_not_edit": True}
    return ex


def generate_exercises(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises", *,
                       check: bool = False) -> list[str]:
    """Write ``exercises/NN_*.ipynb`` from ``solutions/``; with ``check``, only report what is out of sync.

    Returns the list of out-of-sync (check) or written files.
    """
    solutions, exercises = Path(solutions), Path(exercises)
    if not solutions.is_dir():
        raise ValueError(f"solutions folder {str(solutions)!r} does not exist")
    exercises.mkdir(parents=True, exist_ok=True)
    changed = []
    expected_names = set()
    for src in sorted(solutions.glob("*.ipynb")):
        expected_names.add(src.name)
        text = nbformat.writes(make_exercise(nbformat.read(src, as_version=4), src.name)) + "\n"
        dst = exercises / src.name
        if not dst.exists() or dst.read_text() != text:
            changed.append(str(dst.relative_to(exercises.parent)) if dst.is_relative_to(exercises.parent) else str(dst))
            if not check:
                dst.write_text(text)
    for stale in sorted(exercises.glob("*.ipynb")):
        if stale.name not in expected_names:
            changed.append(f"{stale} (no solutions/{stale.name})")
            if not check:
                stale.unlink()
    return changed


# ----------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.notebooks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("execute", help="execute notebooks top to bottom in place")
    p.add_argument("paths", nargs="+")
    p.add_argument("--timeout", type=int, default=900)
    p = sub.add_parser("exercises", help="generate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="fail if exercises/ is out of sync; write nothing")
    p = sub.add_parser("validate", help="check notebooks were executed top to bottom without errors")
    p.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.cmd == "execute":
        for path in args.paths:
            print(f"executing {path} ...", flush=True)
            seconds = execute(path, timeout=args.timeout)
            print(f"  done in {seconds:.1f} s", flush=True)
        return 0
    if args.cmd == "exercises":
        changed = generate_exercises(check=args.check)
        if args.check and changed:
            print("exercises/ is out of sync with solutions/; run `make exercises`:", *changed, sep="\n  ")
            return 1
        print(("up to date" if not changed else "wrote:\n  " + "\n  ".join(changed)))
        return 0
    bad = 0
    files = []
    for p in args.paths:
        p = Path(p)
        files += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    for f in files:
        problems = executed_problems(nbformat.read(f, as_version=4))
        for prob in problems:
            print(f"{f}: {prob}")
        bad += bool(problems)
    print(f"{len(files) - bad} of {len(files)} notebooks executed top to bottom")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
