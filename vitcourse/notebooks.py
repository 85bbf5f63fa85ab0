"""Notebook tooling: build cells with course metadata, execute in place, make exercises, validate.

Command line (used by the Makefile)::

    python -m vitcourse.notebooks execute notebooks/01_attention.ipynb   # make execute NB=...
    python -m vitcourse.notebooks exercises [--check] [--force]           # make exercises
    python -m vitcourse.notebooks work-copy                               # make lab: my-work/ for the student
    python -m vitcourse.notebooks validate notebooks solutions           # executed top to bottom?

Exercise format (see ``docs/authoring.md``): ``solutions/NN_topic.ipynb`` is
the source. Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``; lines between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed; outputs
are cleared. Graded cells carry ``metadata.nbgrader`` (schema_version 3) so the
same files drop into an nbgrader course, and each exercise carries what
``nbgrader generate_assignment`` would add to its release copy (``checksum``,
``cell_type``, ``editable``, ``deletable``), so ``nbgrader validate`` reports an
edited test cell in a notebook taken from ``exercises/``.

Students work in ``my-work/`` (git-ignored): ``make lab`` copies every
exercise there once (:func:`make_work_copy`) and never overwrites a file in
it. ``make exercises`` refuses to overwrite a file in ``exercises/`` that is
not what it generated (someone edited it), unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "md",
    "code",
    "solution_cell",
    "test_cell",
    "new_notebook",
    "execute",
    "make_exercise",
    "generate_exercises",
    "executed_problems",
    "make_work_copy",
    "nbgrader_checksum",
    "ExerciseEdited",
    "SLIDE_TYPES",
    "ROOT",
    "WORK_DIR",
]

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / "my-work"  # the student's copies of the exercises (git-ignored; made by `make lab`)
GENERATED_RECORD = ".generated.json"  # in exercises/ (git-ignored): sha256 of each file generate_exercises wrote
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbformat():
    """nbformat, imported on first use: it pulls in jsonschema (about a second), which the grader does not need."""
    import nbformat

    return nbformat


class NotebookDict(dict):
    """A notebook (or a cell, or metadata) as a dict whose keys read as attributes, like nbformat's NotebookNode."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value


def parse_notebook(text: str) -> NotebookDict:
    """A v4 notebook from its JSON text, cell sources joined into strings; no nbformat (so no jsonschema) import.

    For the grader, which reads many notebooks and validates what it needs itself; everything that writes a
    notebook uses nbformat.
    """
    nb = json.loads(text, object_hook=NotebookDict)
    version = nb.get("nbformat") if isinstance(nb, dict) else None
    if version != 4 or not isinstance(nb.get("cells"), list):
        raise ValueError(
            f"not a version-4 Jupyter notebook with a list of cells (nbformat {version!r}); "
            "open it in JupyterLab and save it again"
        )
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


# ----------------------------------------------------------------------------- building cells


def _slide(slide: str) -> dict:
    if slide not in SLIDE_TYPES:
        raise ValueError(f"slide must be one of {SLIDE_TYPES}, got {slide!r}")
    return {"slideshow": {"slide_type": slide}}


def md(source: str, slide: str = "-", **meta):
    """A markdown cell with ``slideshow.slide_type`` set (``"-"`` continues the current slide)."""
    cell = _nbformat().v4.new_markdown_cell(source.strip("\n"))
    cell.metadata.update(_slide(slide), **meta)
    return cell


def code(source: str, slide: str = "-", **meta):
    """A code cell with ``slideshow.slide_type`` set."""
    cell = _nbformat().v4.new_code_cell(source.strip("\n"))
    cell.metadata.update(_slide(slide), **meta)
    return cell


def solution_cell(source: str, grade_id: str, slide: str = "-"):
    """A student-editable cell whose ``### BEGIN/END SOLUTION`` region is blanked in the exercise."""
    if BEGIN_SOLUTION not in source or END_SOLUTION not in source:
        raise ValueError(f"solution cell {grade_id!r} needs '{BEGIN_SOLUTION}' and '{END_SOLUTION}' lines")
    cell = code(source, slide)
    cell.metadata["nbgrader"] = {
        "grade": False,
        "solution": True,
        "locked": False,
        "grade_id": grade_id,
        "schema_version": 3,
    }
    return cell


def test_cell(source: str, grade_id: str, points: int, slide: str = "-"):
    """A locked, graded test cell worth ``points``; hidden tests go between ``### BEGIN/END HIDDEN TESTS``."""
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be a positive integer, got {points!r}")
    cell = code(source, slide)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": grade_id,
        "points": points,
        "schema_version": 3,
    }
    return cell


def new_notebook(cells, title: str | None = None):
    """A notebook with the course's kernel spec and metadata."""
    nb = _nbformat().v4.new_notebook(cells=list(cells))
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

    from .explore import STATIC_ENV

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"path must be an existing .ipynb file, got {str(path)!r}")
    nb = _nbformat().read(path, as_version=4)
    # The kernel inherits these: committed outputs carry no progress bars, and explorers (vitcourse.explore)
    # store their static figure, not a live widget view that needs this kernel.
    env = {"TQDM_DISABLE": "1", STATIC_ENV: "1"}
    env_backup = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent.resolve())}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        _nbformat().write(nb, path)
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
        problems.append(
            f"execution counts are {counts[:12]}{'...' if len(counts) > 12 else ''}, "
            f"not 1..{len(counts)}: re-run the notebook top to bottom (make execute NB=...)"
        )
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
            out += (
                ["YOUR ANSWER HERE"]
                if markdown
                else [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            )
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


def nbgrader_checksum(cell) -> str:
    """nbgrader's checksum of a graded, solution or locked cell, as ``nbgrader.utils.compute_checksum``
    (0.9.6) computes it: MD5 of the source, the cell type, ``str()`` of is-grade, is-solution and
    is-locked, the ``grade_id`` and, for a graded cell, ``str(float(points))``.

    A copy of nbgrader's algorithm, so that making exercises (and loading one in the grader) does not
    import nbgrader; ``tests/test_nbgrader.py`` checks it against nbgrader's own function on every cell.
    """
    meta = cell.metadata.get("nbgrader", {})
    grade, solution = bool(meta.get("grade", False)), bool(meta.get("solution", False))
    locked = False if solution else True if grade else bool(meta.get("locked", False))
    m = hashlib.md5()
    for part in (
        cell.source,
        cell.cell_type,
        str(meta.get("grade", False)),
        str(meta.get("solution", False)),
        str(locked),
        meta["grade_id"],
    ):
        m.update(part.encode("utf-8"))
    if grade:
        m.update(str(float(meta["points"])).encode("utf-8"))
    return m.hexdigest()


def _release_metadata(cell) -> None:
    """The metadata ``nbgrader generate_assignment`` gives a released cell (its ``LockCells`` and
    ``ComputeChecksums`` steps): solution cells cannot be deleted; test cells and other locked cells can be
    neither deleted nor edited; each of them records its ``checksum`` and ``cell_type``, so that
    ``nbgrader validate`` reports an edited test cell."""
    meta = cell.metadata.get("nbgrader")
    if not meta:
        return
    grade, solution = meta.get("grade", False), meta.get("solution", False)
    locked = not solution and (grade or meta.get("locked", False))
    if solution:
        cell.metadata["deletable"] = False
    elif locked:
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    if grade or solution or locked:
        meta["checksum"] = nbgrader_checksum(cell)
        meta["cell_type"] = cell.cell_type


def make_exercise(nb, name: str = "notebook"):
    """The student version of an instructor's solution notebook (a new notebook object)."""
    ex = copy.deepcopy(nb)
    graded = 0
    for i, cell in enumerate(ex.cells):
        where = f"{name}, cell {i}"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            if BEGIN_SOLUTION not in cell.source:
                raise ValueError(
                    f"{where}: a solution cell (grade_id {meta.get('grade_id')!r}) has no '{BEGIN_SOLUTION}' region"
                )
            cell.source = _blank_solutions(cell.source, where, cell.cell_type == "markdown")
        elif BEGIN_SOLUTION in cell.source:
            raise ValueError(f"{where}: '{BEGIN_SOLUTION}' in a cell without nbgrader solution metadata")
        if meta.get("grade") and not meta.get("solution"):
            graded += 1
        cell.source = (
            _strip_hidden(cell.source, where)
            if BEGIN_HIDDEN in cell.source or END_HIDDEN in cell.source
            else cell.source
        )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        _release_metadata(cell)
    ex.metadata["vitcourse"] = {"generated_from": f"solutions/{name}", "do_not_edit": True}
    return ex


class ExerciseEdited(RuntimeError):
    """``generate_exercises`` would overwrite or delete exercise files that someone edited."""

    def __init__(self, paths: list[Path]):
        self.paths = list(paths)
        names = "\n  ".join(str(p) for p in self.paths)
        first = self.paths[0]
        keep = f"my-work/{first.stem}-edited{first.suffix}"
        super().__init__(
            f"refusing to overwrite {len(self.paths)} exercise file(s) that differ from what `make exercises` "
            f"generated (someone edited them, e.g. filled in answers):\n  {names}\n"
            f"To keep that work, copy each file into my-work/ under a new name first (e.g. `cp {first} {keep}`; "
            f"my-work/ is where exercises are done and nothing there is ever overwritten). Then, to regenerate "
            f"exercises/ from solutions/ anyway, run `make exercises FORCE=1` "
            f"(or `python -m vitcourse.notebooks exercises --force`)."
        )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_record(exercises: Path) -> dict:
    try:
        record = json.loads((exercises / GENERATED_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _committed_text(path: Path) -> str | None:
    """``path``'s content at git HEAD, or None (not in a git checkout, not committed, or git missing)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(path.parent), "show", f"HEAD:./{path.name}"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode() if out.returncode == 0 else None


def _is_generated(path: Path, new_text: str | None, record: dict) -> bool:
    """Whether the file on disk is one that the generator made: the new text, the last one written, or git HEAD's."""
    text = path.read_text()
    if text == new_text or record.get(path.name) == _sha256(text):
        return True
    committed = _committed_text(path)
    return committed is not None and committed == text


def generate_exercises(
    solutions: Path = ROOT / "solutions",
    exercises: Path = ROOT / "exercises",
    *,
    check: bool = False,
    force: bool = False,
) -> list[str]:
    """Write ``exercises/NN_*.ipynb`` from ``solutions/``; with ``check``, only report what is out of sync.

    Returns the list of out-of-sync (check) or written files. Without
    ``force`` it raises :class:`ExerciseEdited`, writing nothing, when a file
    it would overwrite or delete is not one it generated: not the new text,
    not the text it last wrote (recorded in ``exercises/.generated.json``) and
    not the committed (git HEAD) version: someone edited it.
    """
    solutions, exercises = Path(solutions), Path(exercises)
    if not solutions.is_dir():
        raise ValueError(f"solutions folder {str(solutions)!r} does not exist")
    exercises.mkdir(parents=True, exist_ok=True)
    record = _read_record(exercises)

    def shown(path: Path) -> str:
        return str(path.relative_to(exercises.parent)) if path.is_relative_to(exercises.parent) else str(path)

    changed, writes, deletes = [], {}, []
    expected_names = set()
    for src in sorted(solutions.glob("*.ipynb")):
        expected_names.add(src.name)
        text = _nbformat().writes(make_exercise(_nbformat().read(src, as_version=4), src.name)) + "\n"
        dst = exercises / src.name
        if not dst.exists() or dst.read_text() != text:
            changed.append(shown(dst))
            writes[dst] = text
    for stale in sorted(exercises.glob("*.ipynb")):
        if stale.name not in expected_names:
            changed.append(f"{stale} (no solutions/{stale.name})")
            deletes.append(stale)
    if check:
        return changed
    if not force:
        edited = [dst for dst, text in writes.items() if dst.exists() and not _is_generated(dst, text, record)]
        edited += [stale for stale in deletes if not _is_generated(stale, None, record)]
        if edited:
            raise ExerciseEdited([Path(shown(p)) for p in edited])
    for dst, text in writes.items():
        dst.write_text(text)
        record[dst.name] = _sha256(text)
    for stale in deletes:
        stale.unlink()
        record.pop(stale.name, None)
    if writes or deletes or not (exercises / GENERATED_RECORD).exists():
        (exercises / GENERATED_RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return changed


def make_work_copy(exercises: Path = ROOT / "exercises", work: Path = WORK_DIR) -> list[str]:
    """Copy each ``exercises/*.ipynb`` that ``work`` does not have yet into ``work`` (``my-work/``).

    A file already in ``work`` is never touched, so a student's answers
    survive every command; a new exercise appears the next time this runs.
    The copy's metadata says it is the student's own (``do_not_edit`` false);
    ``generated_from`` is kept so the grader knows the exercise. Returns the
    names copied.
    """
    exercises, work = Path(exercises), Path(work)
    if not exercises.is_dir():
        raise ValueError(f"exercises folder {str(exercises)!r} does not exist (run `make exercises`)")
    if work.exists() and not work.is_dir():
        raise ValueError(f"work folder {str(work)!r} exists but is not a folder; move it away and run again")
    work.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in sorted(exercises.glob("*.ipynb")):
        dst = work / src.name
        if dst.exists():
            continue
        nb = _nbformat().read(src, as_version=4)
        meta = nb.metadata.setdefault("vitcourse", {})
        meta.update(do_not_edit=False, work_copy_of=f"exercises/{src.name}")
        tmp = dst.with_name(f".{dst.name}.tmp")
        _nbformat().write(nb, tmp)
        os.replace(tmp, dst)  # never a half-written notebook
        copied.append(src.name)
    return copied


# ----------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.notebooks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("execute", help="execute notebooks top to bottom in place")
    p.add_argument("paths", nargs="+")
    p.add_argument("--timeout", type=int, default=900)
    p = sub.add_parser("exercises", help="generate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="fail if exercises/ is out of sync; write nothing")
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite exercise files even if someone edited them (copy your work to my-work/ first)",
    )
    p.add_argument("--solutions", default=str(ROOT / "solutions"), help=argparse.SUPPRESS)
    p.add_argument("--exercises", default=str(ROOT / "exercises"), help=argparse.SUPPRESS)
    p = sub.add_parser("work-copy", help="copy exercises/ into my-work/ (files already there are never touched)")
    p.add_argument("--exercises", default=str(ROOT / "exercises"))
    p.add_argument("--to", default=str(WORK_DIR))
    p = sub.add_parser("validate", help="check notebooks were executed top to bottom without errors")
    p.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.cmd == "execute":
        for path in args.paths:
            print(f"executing {path} ...", flush=True)
            seconds = execute(path, timeout=args.timeout)
            print(f"  done in {seconds:.1f} s", flush=True)
        return 0
    if args.cmd == "work-copy":
        copied = make_work_copy(Path(args.exercises), Path(args.to))
        where = os.path.relpath(args.to)
        print(
            f"{where}/: your copies of the exercises (do them there; never overwritten)"
            + (f"; new: {', '.join(copied)}" if copied else "")
        )
        return 0
    if args.cmd == "exercises":
        try:
            changed = generate_exercises(Path(args.solutions), Path(args.exercises), check=args.check, force=args.force)
        except ExerciseEdited as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        if args.check and changed:
            print(
                "exercises/ is out of sync with solutions/; run `make exercises` (if you edited an exercise, "
                "copy it to my-work/ first: that is where exercises are done):",
                *changed,
                sep="\n  ",
            )
            return 1
        print(("up to date" if not changed else "wrote:\n  " + "\n  ".join(changed)))
        return 0
    bad = 0
    files = []
    for arg in args.paths:
        path = Path(arg)
        files += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    for f in files:
        problems = executed_problems(_nbformat().read(f, as_version=4))
        for prob in problems:
            print(f"{f}: {prob}")
        bad += bool(problems)
    print(f"{len(files) - bad} of {len(files)} notebooks executed top to bottom")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
