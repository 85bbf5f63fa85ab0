"""Trusted scores in an nbgrader course: ``vitcourse grade --nbgrader COURSE_DIR --assignment ps1``.

``nbgrader autograde`` runs the test cells in the student's own kernel, so an
answer cell that redefines ``check`` or patches ``Check.judge`` scores full
marks there. Here the scores come from the vitcourse grader instead
(`vitcourse.grading.Grader`: the student's code in a kernel sandbox, the
judging in this process), in two steps:

1. `grade_course` grades every ``COURSE_DIR/submitted/<student>/<assignment>/<notebook>.ipynb``
   whose notebook is one of ``source/<assignment>/`` (named like ``solutions/NN_topic.ipynb``);
2. it then runs nbgrader's own ``nbgrader autograde <assignment> --force`` in
   ``COURSE_DIR`` with the notebook-executing steps (``Execute``,
   ``SaveAutoGrades``) replaced by `TrustedGrades`, a preprocessor that
   writes those scores into nbgrader's gradebook database through nbgrader's
   API (`nbgrader.api.Gradebook`): each test cell's ``Grade.auto_score``, a
   comment on each solution cell, and the grader's verdict as the test cell's
   output. Students, timestamps, late penalties, the ``autograded/`` copies
   (test cells restored from ``source/``) and the course's
   ``nbgrader_config.py`` are nbgrader's own; no student code runs outside
   the sandbox.

Formgrader, ``nbgrader generate_feedback`` and ``nbgrader export`` then show
these scores. A task flagged for review (see ``docs/grading.md``) gets 0
points and ``needs_manual_grade``, so formgrader lists it for a human.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nbgrader.utils as nbutils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from traitlets import Unicode

from ..notebooks import ROOT
from .exercise import exercise_ids, load_exercise
from .grader import Grader, Row, Submission, exercise_from_name

__all__ = [
    "TrustedGrades",
    "ReleasedCellsOverwrite",
    "NbgraderRun",
    "run_autograde",
    "grade_course",
    "find_submissions",
    "RESULTS_VERSION",
]

#: Format of the results file handed from `grade_course` to `TrustedGrades`.
RESULTS_VERSION = 1
#: ``Autograde.sanitize_preprocessors``: nbgrader's, with `ReleasedCellsOverwrite` for ``OverwriteCells``.
_SANITIZE = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "vitcourse.grading.nbgrader.ReleasedCellsOverwrite",
    "nbgrader.preprocessors.CheckCellMetadata",
]
#: ``Autograde.autograde_preprocessors``: nbgrader's without ``Execute`` (nothing runs here) and with
#: `TrustedGrades` for ``SaveAutoGrades``.
_AUTOGRADE = [
    "vitcourse.grading.nbgrader.TrustedGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


@dataclass
class NbgraderRun:
    """What `grade_course` did: the rows graded, nbgrader's exit status and its log, and problems found."""

    rows: list[Row]
    returncode: int
    log: str
    isolation: str = ""
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- step 1: grade submitted/


def find_submissions(
    course_dir: str | Path, assignment: str, *, solutions: Path = ROOT / "solutions"
) -> tuple[list[Submission], dict[str, tuple[str, str]]]:
    """Submissions of ``assignment`` in nbgrader's layout, and per submission path its (student, notebook).

    Only notebooks that ``source/<assignment>/`` holds are graded (nbgrader ignores the others too); each
    must be named like an exercise of ``solutions/`` (``00_warmup.ipynb``) so the grader knows its tasks.
    Raises ValueError, saying what to fix, when the course or the assignment is not there.
    """
    course = Path(course_dir)
    if not course.is_dir():
        raise ValueError(
            f"--nbgrader: course folder {str(course)!r} does not exist (give the folder holding "
            f"nbgrader_config.py, source/ and submitted/)"
        )
    if not assignment or any(c in assignment for c in "/\\") or assignment in {".", ".."}:
        raise ValueError(f"--assignment must be an nbgrader assignment name like ps1, got {assignment!r}")
    source = course / "source" / assignment
    notebooks = sorted(p.stem for p in source.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(
            f"{source} holds no notebooks: copy solutions/NN_topic.ipynb there and run "
            f"`nbgrader generate_assignment {assignment}` first"
        )
    ids = exercise_ids(solutions)
    for name in notebooks:
        number = exercise_from_name(name + ".ipynb")
        if number not in ids or ids[number].stem != name:
            known = ", ".join(p.name for p in ids.values())
            raise ValueError(
                f"{source / (name + '.ipynb')} is not one of the course's exercises ({known}): "
                f"keep the file name of the solutions/ notebook it was copied from"
            )
    subs, owners = [], {}
    submitted = course / "submitted"
    for student_dir in sorted(submitted.iterdir()) if submitted.is_dir() else []:
        if not student_dir.is_dir() or student_dir.name.startswith("."):
            continue
        for name in notebooks:
            path = student_dir / assignment / f"{name}.ipynb"
            if path.is_file():
                subs.append(
                    Submission(path, unicodedata.normalize("NFC", student_dir.name), exercise_from_name(path.name))
                )
                owners[str(path)] = (student_dir.name, name)
    return subs, owners


def _results(rows: list[Row], owners: dict[str, tuple[str, str]], solutions: Path) -> dict:
    """The results file: per nbgrader student and notebook, each task's verdict and the solution cells'
    comments."""
    ids = exercise_ids(solutions)
    exercises = {}
    out: dict = {"version": RESULTS_VERSION, "students": {}}
    for r in rows:
        if r.submission not in owners:
            continue  # a conflict row names several files: nbgrader knows one notebook per name only
        student, notebook = owners[r.submission]
        entry = (
            out["students"]
            .setdefault(student, {})
            .setdefault(notebook, {"sha256": r.sha256, "tasks": {}, "solution_cells": {}})
        )
        entry["tasks"][r.task] = {
            "points": float(r.points),
            "max_points": float(r.max_points),
            "status": r.status,
            "reason": r.reason,
            "pending_points": float(r.pending_points),
            "flags": r.flags,
        }
        number = r.exercise[:2]
        if number in ids and number not in exercises:
            exercises[number] = load_exercise(ids[number])
        ex = exercises.get(number)
        if ex is not None and not entry["solution_cells"]:
            for grade_id, names in ex.solution_cells.items():
                entry["solution_cells"][grade_id] = [t.task_id for t in ex.tasks if set(t.targets) & names]
    return out


def _line(task: str, v: dict) -> str:
    """One line of the verdict on a task, as shown in the test cell's output and in comments."""
    mark = "✔" if v["status"] == "passed" else "⚑" if v["status"] == "flagged" else "✘"
    return f"{mark} {task}: {v['points']:g}/{v['max_points']:g} {v['status']}: {v['reason']}"


# ----------------------------------------------------------------------------- step 2: nbgrader's autograde


class TrustedGrades(NbGraderPreprocessor):
    """Writes the vitcourse grader's verdicts into nbgrader's gradebook (in place of running the notebook).

    Configured by `grade_course` as ``Autograde.autograde_preprocessors`` with ``TrustedGrades.results``
    set to the results file. Per test cell (nbgrader grade cell whose ``grade_id`` is a task of the
    exercise): ``auto_score`` is the task's points, scaled to the cell's points in ``source/`` when the
    instructor changed them; ``needs_manual_grade`` is set for a task flagged for review (or one a human
    already scored); the cell's output becomes the verdict line. Per solution cell: the comment lists the
    verdicts of the tasks whose functions it defines ("No response." when it is unchanged, as nbgrader
    says). A notebook the grader has no verdict for scores 0 and is marked for manual grading.
    """

    results = Unicode("", help="JSON file of verdicts written by vitcourse grade --nbgrader").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self._student, self._notebook = info["student"], info["notebook"]
        self._assignment = info["assignment"]
        if not self.results:
            raise ValueError(
                "TrustedGrades.results is not set: run `vitcourse grade --nbgrader COURSE "
                "--assignment NAME`, which sets it"
            )
        data = json.loads(Path(self.results).read_text())
        if data.get("version") != RESULTS_VERSION:
            raise ValueError(f"{self.results}: results version {data.get('version')!r}, expected {RESULTS_VERSION}")
        self._entry = data["students"].get(self._student, {}).get(self._notebook)
        if self._entry is None:
            self.log.error(
                "no vitcourse verdict for %s/%s/%s: it scores 0 and needs manual grading; run "
                "`vitcourse grade --nbgrader` again",
                self._student,
                self._assignment,
                self._notebook,
            )
        self._seen = set()
        self.gradebook = Gradebook(info["db_url"])
        with self.gradebook:
            nb, resources = super().preprocess(nb, resources)
            if self._entry is not None:
                missing = sorted(set(self._entry["tasks"]) - self._seen)
                if missing:
                    self.log.error(
                        "%s of %s: the vitcourse tasks %s are not test cells of source/%s/%s.ipynb "
                        "(is it a copy of the course's solution notebook?)",
                        self._student,
                        self._notebook,
                        ", ".join(missing),
                        self._assignment,
                        self._notebook,
                    )
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if nbutils.is_grade(cell):
            self._grade(cell)
        if nbutils.is_solution(cell) or nbutils.is_task(cell):
            self._comment(cell)
        return cell, resources

    def _grade(self, cell) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(grade_id, self._notebook, self._assignment, self._student)
        verdict = (self._entry or {}).get("tasks", {}).get(grade_id)
        if verdict is not None:
            self._seen.add(grade_id)
            scale = float(grade.max_score) / verdict["max_points"] if verdict["max_points"] else 0.0
            grade.auto_score = verdict["points"] * scale
            grade.needs_manual_grade = verdict["status"] == "flagged" or grade.manual_score is not None
            text = _line(grade_id, verdict) + "\n"
        elif self._entry is None:
            grade.auto_score = 0.0
            grade.needs_manual_grade = True
            text = "not graded: vitcourse grade has no verdict for this notebook\n"
        else:  # a grade cell that is not a vitcourse task (e.g. a written answer): a human grades it
            grade.auto_score = None
            grade.needs_manual_grade = True
            text = None
        self.gradebook.db.commit()
        if cell.cell_type == "code" and text is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            cell.execution_count = None

    def _comment(self, cell) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        try:
            comment = self.gradebook.find_comment(grade_id, self._notebook, self._assignment, self._student)
        except MissingEntry:
            return
        if cell.metadata.nbgrader.get("checksum") == nbutils.compute_checksum(cell) and not nbutils.is_task(cell):
            comment.auto_comment = "No response."
        elif self._entry is not None:
            tasks = self._entry["solution_cells"].get(grade_id, [])
            lines = [_line(t, self._entry["tasks"][t]) for t in tasks if t in self._entry["tasks"]]
            comment.auto_comment = "\n".join(lines) or None
        else:
            comment.auto_comment = None
        self.gradebook.db.commit()


class ReleasedCellsOverwrite(OverwriteCells):
    """nbgrader's ``OverwriteCells`` (test cells restored from ``source/``), without its false warning on a
    test cell with hidden tests that the student left as released.

    nbgrader 0.9.6 stores the checksum of a test cell *with* its hidden tests in the gradebook, but the
    released copy carries the checksum *without* them, so ``autograde`` warns "Attribute 'checksum' for
    cell ... has changed!" on every untouched cell with hidden tests (jupyter/nbgrader#1961). Here that
    message is logged at debug level only when the submitted cell equals the released one (the source
    cell with nbgrader's ``ClearHiddenTests`` applied); any real edit is still reported, and the cell is
    restored from ``source/`` either way, as nbgrader does.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        self._as_released = None
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and nbutils.is_locked(cell):
            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None
            if source is not None and source.cell_type == cell.cell_type:
                released = nbformat.from_dict(json.loads(json.dumps(cell)))
                released.source = source.source
                ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
                if nbutils.compute_checksum(released) == nbutils.compute_checksum(cell):
                    self._as_released = grade_id
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and name == getattr(self, "_as_released", None):
            self.log.debug("cell %s is the released test cell (its hidden tests restored from source/)", name)
            return
        super().report_change(name, attr, old, new)


def _nbgrader_env() -> dict:
    """Environment for the nbgrader process: this Python's scripts first on PATH (nbgrader calls
    ``alembic``), and this copy of vitcourse importable (for `TrustedGrades`)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def run_autograde(
    course_dir: str | Path, assignment: str, results: str | Path, *, timeout: float = 3600
) -> subprocess.CompletedProcess:
    """``nbgrader autograde <assignment> --force`` in ``course_dir``, scoring with `TrustedGrades` from
    ``results`` instead of executing the notebooks. Returns the finished process (stdout and stderr
    together in ``stdout``)."""

    def listed(names):
        return "[" + ", ".join(repr(p) for p in names) + "]"

    # -W: nbgrader 0.9.6's own database code makes SQLAlchemy 2 warn "Object of type <SubmittedAssignment>
    # not in session, add operation along ... will not proceed" on every new submission; the rows are added
    # explicitly right after, so the message is noise about nbgrader, not about the course.
    cmd = [
        sys.executable,
        "-W",
        "ignore:Object of type <Submitted",
        "-m",
        "nbgrader",
        "autograde",
        assignment,
        "--force",
        f"--Autograde.sanitize_preprocessors={listed(_SANITIZE)}",
        f"--Autograde.autograde_preprocessors={listed(_AUTOGRADE)}",
        f"--TrustedGrades.results={results}",
    ]
    return subprocess.run(
        cmd,
        cwd=str(course_dir),
        env=_nbgrader_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def grade_course(
    course_dir: str | Path,
    assignment: str,
    *,
    solutions: str | Path = ROOT / "solutions",
    jobs: int = 1,
    progress=None,
    **grader_kwargs,
) -> NbgraderRun:
    """Grade ``submitted/*/<assignment>/`` of an nbgrader course and write the scores into its gradebook.

    ``grader_kwargs`` go to `Grader` (``timeout``, ``memory_mb``, ``seed``, ``allow_unsafe``). Returns
    the rows (as ``vitcourse grade`` gives them) and nbgrader's exit status and log; raises ValueError for
    a course or assignment that is not there, and `IsolationUnavailable` without a sandbox.
    """
    solutions = Path(solutions)
    subs, owners = find_submissions(course_dir, assignment, solutions=solutions)
    if not subs:
        raise ValueError(
            f"no submissions of {assignment!r} in {Path(course_dir) / 'submitted'} (expected "
            f"submitted/<student>/{assignment}/<notebook>.ipynb; run `nbgrader collect` or "
            f"`nbgrader zip_collect` first)"
        )
    with Grader(solutions, **grader_kwargs) as g:
        isolation = g.isolation
        rows = g.grade_all(subs, jobs=jobs, progress=progress)
        interrupted = g.interrupted
        problems = [p for ex in g.exercises.values() for p in ex.problems]
    if interrupted:
        return NbgraderRun(rows, 130, "", isolation, True, problems)
    results = _results(rows, owners, solutions)
    with tempfile.TemporaryDirectory(prefix="vitcourse-nbgrader-") as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(json.dumps(results))
        done = run_autograde(course_dir, assignment, path)
    for r in rows:  # a file replaced while it was graded: its gradebook entry would not match its bytes
        p = Path(r.submission)
        if r.sha256 and p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() != r.sha256:
            problems.append(f"{p} changed while it was being graded: grade again")
    return NbgraderRun(rows, done.returncode, done.stdout, isolation, False, list(dict.fromkeys(problems)))
