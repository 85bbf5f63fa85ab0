"""Read an exercise from the instructor's copy and the student's code from a submission.

Tasks come only from ``solutions/NN_topic.ipynb``: every test cell (nbgrader
``grade: true``, ``solution: false``) is a task worth its ``points``, graded by
the ``check("NN.task", ...)`` calls its source makes (read with `ast`, never
run). From a submission only the student's own code cells are kept: cells
whose ``grade_id`` is an instructor test cell, cells marked as tests, and
cells that only call ``check(...)`` are dropped, so edited or deleted test
cells change nothing. A solution cell whose metadata was lost is matched by
the names it defines, and the match is reported.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import msg
from ..notebooks import ROOT, make_exercise, parse_notebook

__all__ = [
    "Task",
    "Exercise",
    "StudentCode",
    "load_exercise",
    "find_exercise",
    "extract_student_code",
    "defined_names",
    "strip_magics",
    "exercise_ids",
]

_EXERCISE_STEM = re.compile(r"^(\d\d)_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Task:
    """One graded test cell of the instructor's copy."""

    task_id: str  # the test cell's grade_id, e.g. "test_relu"
    points: int
    checks: tuple[str, ...]  # check names called in the cell, e.g. ("00.relu",)
    targets: tuple[str, ...]  # names the student defines for them


@dataclass
class Exercise:
    """An instructor's exercise: its tasks, solution cells and the template handed out."""

    number: str  # "00"
    name: str  # "00_warmup"
    path: Path
    tasks: list[Task]
    solution_cells: dict[str, set[str]]  # solution grade_id -> names it defines
    test_ids: set[str]
    test_sources: set[str]  # visible text of each test cell (as handed out)
    template_code: list[str]  # code cells of the exercise as handed out (test cells dropped)
    template_solution: dict[str, str]  # solution grade_id -> source as handed out
    problems: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def max_points(self) -> int:
        return sum(t.points for t in self.tasks)


def exercise_ids(solutions: Path = ROOT / "solutions") -> dict[str, Path]:
    """``{"00": solutions/00_warmup.ipynb, ...}`` for every instructor notebook."""
    out = {}
    for p in sorted(Path(solutions).glob("*.ipynb")):
        m = _EXERCISE_STEM.match(p.stem)
        if m:
            out[m.group(1)] = p
    return out


def find_exercise(number: str, solutions: Path = ROOT / "solutions") -> Path:
    ids = exercise_ids(solutions)
    if number not in ids:
        raise ValueError(f"exercise must be one of {sorted(ids)} (from {solutions}), got {number!r}")
    return ids[number]


def _check_calls(source: str) -> list[str]:
    """Names ``"NN.task"`` of every ``check("NN.task", ...)`` call in ``source`` (not executed)."""
    tree = ast.parse(source)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            arg = node.args[0]
            if fname == "check" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if arg.value not in names:
                    names.append(arg.value)
    return names


def strip_magics(source: str) -> str:
    """IPython magics and shell lines (``%...``, ``!...``) become comments so the cell is plain Python."""
    out = []
    for line in source.splitlines():
        s = line.lstrip()
        out.append(line[: len(line) - len(s)] + "# " + s if s.startswith(("%", "!")) else line)
    return "\n".join(out)


def defined_names(source: str) -> set[str]:
    """Top-level names a cell binds (def, class, assignment, import); empty if it does not parse."""
    try:
        tree = ast.parse(strip_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def _only_check_calls(source: str) -> bool:
    """True for a cell made only of ``check(...)`` calls (a test cell that lost its metadata)."""
    try:
        tree = ast.parse(strip_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if not tree.body:
        return False
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            return False
        f = node.value.func
        if (f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)) != "check":
            return False
    return True


def load_exercise(path: str | Path) -> Exercise:
    """Parse the instructor's ``solutions/NN_topic.ipynb`` into tasks (never executes it)."""
    from ..checks import get_check

    path = Path(path)
    m = _EXERCISE_STEM.match(path.stem)
    if not m:
        raise ValueError(f"an instructor notebook must be named NN_topic.ipynb, got {path.name!r}")
    raw = path.read_bytes()
    nb = parse_notebook(raw.decode("utf-8"))
    handed_out = make_exercise(nb, path.name)
    tasks, solution_cells, test_ids, test_sources, problems = [], {}, set(), set(), []
    template_code, template_solution = [], {}
    for cell, ex_cell in zip(nb.cells, handed_out.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if meta.get("solution"):
            solution_cells[gid] = defined_names(cell.source)
            template_solution[gid] = ex_cell.source
        if meta.get("grade") and not meta.get("solution"):
            test_ids.add(gid)
            test_sources.add(ex_cell.source.strip())
            names = _check_calls(cell.source)
            if not names:
                problems.append(f"{path.name}: test cell {gid!r} calls no check(); it cannot be graded")
                continue
            targets = tuple(dict.fromkeys(get_check(n).target for n in names))
            tasks.append(Task(gid, int(meta.get("points", 0)), tuple(names), targets))
            continue
        template_code.append(ex_cell.source)
    h = hashlib.sha256(raw)
    for module in sorted({n[:2] for t in tasks for n in t.checks}):
        f = Path(__file__).resolve().parent.parent / "checks" / f"ex{module}.py"
        h.update(f.read_bytes() if f.is_file() else b"")
    digest = h.hexdigest()[:12]
    return Exercise(
        m.group(1),
        path.stem,
        path,
        tasks,
        solution_cells,
        test_ids,
        test_sources,
        template_code,
        template_solution,
        problems,
        digest,
    )


@dataclass
class StudentCode:
    """The code cells of a submission that the child may run, and what was dropped or matched."""

    cells: list[tuple[int, str]]  # (cell index in the submission, source)
    target_cells: dict[str, int]  # target name -> index of the last cell defining it
    notes: dict[str, str]  # solution grade_id -> note (metadata lost, matched by name)
    dropped: list[int]  # indices of test cells that were ignored
    untouched: bool  # code identical to the exercise as handed out
    syntax_errors: dict[int, str] = field(default_factory=dict)  # cell index -> message


def extract_student_code(nb, exercise: Exercise) -> StudentCode:
    """Keep the student's own code cells; drop every test cell; report lost metadata."""
    cells, dropped, notes = [], [], {}
    seen_solution_ids = set()
    for i, cell in enumerate(nb["cells"] if isinstance(nb, dict) else nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if not isinstance(source, str):
            source = "".join(source) if isinstance(source, list) else ""
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        meta = meta if isinstance(meta, dict) else {}
        gid = meta.get("grade_id")
        if gid in exercise.test_ids or (meta.get("grade") and not meta.get("solution")):
            dropped.append(i)
            continue
        if not meta and (source.strip() in exercise.test_sources or _only_check_calls(source)):
            dropped.append(i)
            continue
        if gid in exercise.solution_cells:
            seen_solution_ids.add(gid)
        cells.append((i, source))
    target_cells = {}
    for i, source in cells:
        for name in defined_names(source):
            target_cells[name] = i
    for gid, names in exercise.solution_cells.items():
        if gid in seen_solution_ids:
            continue
        found = sorted({target_cells[n] for n in names if n in target_cells})
        if found:
            notes[gid] = msg("grade.lost_metadata", cell=gid, cells=", ".join(map(str, found)))
        else:
            notes[gid] = msg("grade.missing_cell", cell=gid)
    untouched = [s.strip() for _, s in cells] == [s.strip() for s in exercise.template_code]
    syntax_errors = {}
    for i, source in cells:
        try:
            compile(strip_magics(source), f"<cell {i}>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            syntax_errors[i] = f"{type(e).__name__} on line {getattr(e, 'lineno', '?')}: {getattr(e, 'msg', e)}"
    return StudentCode(cells, target_cells, notes, dropped, untouched, syntax_errors)
