"""Grade submissions: discover them, run each in the sandbox, judge the returned plain data here.

Only this (trusted) process decides a score. Per submission it reads the
student's code cells (`extract_student_code`), flags suspicious code
(`find_flags`, and `vitcourse.checks.rules.forbidden_uses` for library
functions a task asks the student to write), makes each check's inputs from
the visible seeds and from fresh random seeds (`secrets`), sends the public
part of them with the code to a fresh sandbox (`vitcourse.grading.sandbox`)
on its stdin, reads the outputs back from a pipe under byte and element caps,
computes the reference itself and calls ``Check.judge``. One row per
submission and task.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import threading
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..checks import get_check
from ..checks.rules import forbidden_uses
from ..messages import current_lang, msg, notebook_language, use_lang
from ..notebooks import ROOT
from ..plain import PlainDataError
from .exercise import Exercise, exercise_ids, extract_student_code, load_exercise, strip_magics
from .flags import find_flags, flags_for_targets
from .gradebook import FIELDS as GRADEBOOK_FIELDS
from .sandbox import Isolation, Limits, SandboxFactory, probe_isolation


class SandboxError(RuntimeError):
    """The sandbox could not be started or failed (not the student's fault)."""


__all__ = ["GRADER_VERSION", "Row", "Submission", "Grader", "discover", "STATUSES", "grade", "exercise_from_name"]

#: Bump when grading rules change, so a gradebook says which rules made it.
GRADER_VERSION = f"vitcourse-grader {__version__}/1"
STATUSES = ("passed", "failed", "error", "timeout", "crashed", "not attempted", "flagged")
MAX_SUBMISSION_BYTES = 50 * 2**20
_EX_PREFIX = re.compile(r"(?:^|[^0-9])(\d\d)_[A-Za-z]")
_CASE_STATUSES = {"ok", "not_plain", "not_implemented", "error", "timeout", "missing", "skipped"}


@dataclass
class Row:
    """One gradebook row: a submission's result on one task."""

    student: str
    exercise: str
    task: str
    points: float
    max_points: int
    status: str
    reason: str
    pending_points: float = 0  # earned but withheld while flagged for review
    flags: str = ""
    checks: str = ""
    submission: str = ""
    sha256: str = ""
    grader_version: str = GRADER_VERSION
    isolation: str = ""
    hint: str = field(default="", repr=False)
    lang: str = field(default="en", repr=False)  # the language of ``reason`` and ``hint`` (not a gradebook column)

    FIELDS = GRADEBOOK_FIELDS  # the gradebook's columns, in order

    def as_dict(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in self.FIELDS}


@dataclass
class Submission:
    path: Path
    student: str
    exercise: str | None  # "00", or None when it cannot be told


def exercise_from_name(name: str) -> str | None:
    """The exercise number a file or folder name gives (``"alice_01_attention.ipynb"`` -> ``"01"``), or None."""
    m = _EX_PREFIX.search(name)
    return m.group(1) if m else None


def _student_id(path: Path, top: Path | None, exercise_stems: set[str]) -> str:
    """Who handed ``path`` in. The rule (docs/grading.md):

    1. a submission inside a folder below the graded folder belongs to the first folder's name
       (``subs/alice/01_attention.ipynb`` and ``subs/alice/ps1/x.ipynb`` -> ``alice``), whatever the file is called;
    2. otherwise the file name without the exercise part (``alice_01_attention.ipynb``, ``alice.ipynb`` ->
       ``alice``).

    Names are normalised to Unicode NFC, so the same name typed two ways is one student.
    """
    if top is not None and path.parent != top:
        return unicodedata.normalize("NFC", path.relative_to(top).parts[0])
    stem = unicodedata.normalize("NFC", path.stem)
    for ex in sorted(exercise_stems, key=len, reverse=True):
        stem = stem.replace(ex, "")
    stem = re.sub(r"^[\W_]+|[\W_]+$", "", stem)
    if stem and not re.fullmatch(r"\d\d", stem):
        return unicodedata.normalize("NFC", stem)
    return unicodedata.normalize("NFC", path.parent.name or path.stem)


class SubmissionRefused(Exception):
    """A submission file the grader will not read (a link, a device, a pipe, too large)."""


def read_submission(path: Path, limit: int = MAX_SUBMISSION_BYTES) -> bytes:
    """The bytes of a submission that is a regular file of at most ``limit`` bytes, itself and not a link.

    A symbolic link is refused, never followed: one planted in a shared hand-in folder could point at the
    instructor's solutions (full marks for nothing), at another student's work, or at /dev/zero or a pipe
    (a grader that reads forever). The size is enforced while reading, not only from ``stat``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if path.is_symlink():
        raise SubmissionRefused(msg("grade.symlink"))
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if path.is_symlink():  # replaced by a link between the check and the open
            raise SubmissionRefused(msg("grade.symlink")) from None
        raise e
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionRefused(msg("grade.not_regular"))
        raw = f.read(limit + 1)
    if len(raw) > limit:
        raise SubmissionRefused(msg("grade.too_large", limit=limit))
    return raw


def read_notebook(raw: bytes) -> dict:
    """A notebook's JSON as a dict with string cell sources, checked enough to grade (no nbformat import)."""
    nb = json.loads(raw.decode("utf-8"))
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("it has no list of cells")
    if not isinstance(nb.get("metadata", {}), dict):
        raise ValueError("its metadata is not a dict")
    for cell in nb["cells"]:
        if (
            not isinstance(cell, dict)
            or not isinstance(cell.get("source", ""), (str, list))
            or not isinstance(cell.get("metadata", {}), dict)
        ):
            raise ValueError("a cell is malformed")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(x) for x in cell["source"])
    return nb


def discover(paths, *, exercise: str | None = None, solutions: Path = ROOT / "solutions") -> list[Submission]:
    """Submissions under ``paths`` (files or folders, searched recursively for ``*.ipynb``)."""
    ids = exercise_ids(solutions)
    stems = {p.stem for p in ids.values()}
    subs = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
            top = p
        elif p.exists():
            files, top = [p], None
        else:
            raise ValueError(f"submission path {str(p)!r} does not exist")
        for f in files:
            ex = exercise_from_name(f.name) or (exercise_from_name(f.parent.name) if top is not None else None)
            if ex is None:
                ex = exercise
            if exercise is not None and ex != exercise:
                continue
            subs.append(Submission(f, _student_id(f, top, stems), ex))
    return subs


def _short(text, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


_CSV_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text, n: int = 300) -> str:
    """Student-provided text made safe for a gradebook cell: one line, no control characters, truncated."""
    return _short(_CSV_TEXT.sub(" ", str(text)), n)


@dataclass
class _SandboxRuns:
    """What the sandboxes of one submission reported (`Grader._run_sandboxes`)."""

    results: dict[str, list | None] = field(default_factory=dict)  # check -> one record per case
    failure: dict[str, str] = field(default_factory=dict)  # check -> "status: why" when it has no results
    cell_errors: list[dict] = field(default_factory=list)  # notebook cells that raised (first run only)
    modules: dict[str, str] = field(default_factory=dict)  # target -> the module its function came from
    violations: list[str] = field(default_factory=list)  # actions the sandbox blocked


class Grader:
    """Grades submissions against the instructor's ``solutions/``; use as a context manager.

    Args:
        solutions: folder of instructor notebooks ``NN_topic.ipynb``.
        timeout: seconds allowed for each notebook cell and each test case
            (default: 120 s per cell, each check's own ``timeout`` per case).
        memory_mb: address space a submission may use on top of the imported libraries.
        output_mb: largest file a submission may write (inside its private ``/tmp``).
        seed: makes the hidden cases reproducible (default: fresh random seeds per submission).
        allow_unsafe: grade even where kernel isolation (bubblewrap) is unavailable, running student code
            as this user with no isolation (``--unsafe-no-isolation``); the gradebook says so on every row.
        protect: accepted for compatibility; the sandbox sees none of the instructor's files anyway.
    """

    def __init__(
        self,
        solutions: str | Path = ROOT / "solutions",
        *,
        timeout: float | None = None,
        memory_mb: int = 3072,
        output_mb: int = 64,
        seed: int | None = None,
        protect=(),
        allow_unsafe: bool = False,
        max_result_mb: int = 64,
    ):
        self.solutions = Path(solutions)
        if not self.solutions.is_dir():
            raise ValueError(f"solutions folder {str(self.solutions)!r} does not exist")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        for name, value in (("memory_mb", memory_mb), ("output_mb", output_mb), ("max_result_mb", max_result_mb)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1 (megabytes), got {value!r}")
        self.timeout = timeout
        self.memory_mb, self.output_mb, self.max_result_mb = memory_mb, output_mb, max_result_mb
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
        self._seed = seed
        self._exercises: dict[str, Exercise] = {}
        self._ids = exercise_ids(self.solutions)
        self.allow_unsafe = bool(allow_unsafe)
        self.factory: SandboxFactory | None = None
        self._isolation: Isolation | None = None
        self._live: set = set()
        self._lock = threading.Lock()
        self.stopping = False
        self.interrupted = False

    # --------------------------------------------------------------- lifecycle

    def __enter__(self):
        self._isolation = probe_isolation(allow_unsafe=self.allow_unsafe)
        limits = Limits(memory_mb=self.memory_mb, file_mb=self.output_mb)
        self.factory = SandboxFactory(self._isolation, limits, max_bytes=self.max_result_mb * 2**20)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Stop every running sandbox and remove the grader's temporary folder."""
        self.stopping = True
        with self._lock:
            live = list(self._live)
        for sb in live:
            sb.kill()
        if self.factory is not None:
            self.factory.close()
            self.factory = None

    @property
    def isolation(self) -> str:
        """What protects the machine from student code in this run (also on every gradebook row)."""
        if self._isolation is None:
            raise RuntimeError("use the Grader as a context manager: with Grader() as g: ...")
        return str(self._isolation)

    @property
    def exercises(self) -> dict[str, Exercise]:
        """The exercises loaded so far (``{"00": Exercise, ...}``)."""
        return dict(self._exercises)

    def exercise(self, number: str) -> Exercise:
        with self._lock:
            if number not in self._exercises:
                if number not in self._ids:
                    raise ValueError(f"exercise must be one of {sorted(self._ids)}, got {number!r}")
                self._exercises[number] = load_exercise(self._ids[number])
            return self._exercises[number]

    def _hidden_seeds(self, n: int, digest: str, name: str) -> list[int]:
        """Fresh random seeds; with ``seed``, fixed per (seed, submission bytes, check) whatever the order."""
        if self._seed is None:
            return [secrets.randbits(31) for _ in range(n)]
        key = [self._seed, int(digest[:15], 16), int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)]
        return [int(s) for s in np.random.default_rng(key).integers(0, 2**31, size=n)]

    # --------------------------------------------------------------- one submission

    def _row(self, sub: Submission, exercise: str, task: str, points, max_points, status, reason, **kw) -> Row:
        return Row(
            sub.student,
            exercise,
            task,
            points,
            max_points,
            status,
            _clean(reason),
            submission=str(sub.path),
            isolation=self.isolation,
            lang=current_lang(),
            **kw,
        )

    def _rows(self, sub: Submission, ex: Exercise | None, status: str, reason: str, digest: str) -> list[Row]:
        if ex is None:
            return [self._row(sub, sub.exercise or "?", "-", 0, 0, status, reason, sha256=digest)]
        return [
            self._row(
                sub,
                ex.name,
                t.task_id,
                0,
                t.points,
                status,
                reason,
                checks=" ".join(t.checks),
                sha256=digest,
                hint=self._hint(t),
            )
            for t in ex.tasks
        ]

    @staticmethod
    def _hint(task) -> str:
        return " ".join(get_check(n).hint for n in task.checks)

    def grade(self, sub: Submission) -> list[Row]:
        """Rows for one submission; never raises for anything the submission contains.

        Reasons and hints are in the submission's language: Korean for a notebook whose metadata says so
        (``language: ko``, as the Korean edition's notebooks do), otherwise as `vitcourse.messages` chooses
        (``VITCOURSE_LANG``, default English). Statuses, points and columns are the same in every language.
        """
        try:
            raw = read_submission(sub.path)
        except SubmissionRefused as e:
            return self._rows(sub, None, "error", str(e), "")
        except OSError as e:
            return self._rows(sub, None, "error", msg("grade.unreadable", error=e.strerror), "")
        digest = hashlib.sha256(raw).hexdigest()
        ex = None
        try:
            nb = read_notebook(raw)
            meta = nb.get("metadata", {}).get("vitcourse", {})
            made_from = exercise_from_name(str(meta.get("generated_from", ""))) if isinstance(meta, dict) else None
            number = sub.exercise or made_from
        except Exception as e:  # noqa: BLE001 - any unreadable file is the submission's problem
            number = sub.exercise
            if number in self._ids:
                ex = self.exercise(number)
            return self._rows(
                sub, ex, "error", msg("grade.not_notebook", error=f"{type(e).__name__}: {_clean(e, 120)}"), digest
            )
        with use_lang(notebook_language(nb)):
            if number not in self._ids:
                return self._rows(sub, None, "error", msg("grade.which_exercise", number=number), digest)
            ex = self.exercise(number)
            try:
                return self._grade_notebook(sub, ex, nb, digest)
            except SandboxError as e:
                return self._rows(sub, ex, "crashed", msg("grade.sandbox", error=e), digest)

    def _make_cases(self, ex: Exercise, digest: str):
        cases: dict[str, list[tuple[bool, dict]]] = {}
        for task in ex.tasks:
            for name in task.checks:
                if name in cases:
                    continue
                c = get_check(name)
                made = [(False, inp) for _, inp in c.cases(False)]
                seeds = self._hidden_seeds(c.hidden_cases, digest, name)
                made += [(True, inp) for _, inp in c.cases(True, seeds=seeds)]
                cases[name] = made
        return cases

    def _grade_notebook(self, sub: Submission, ex: Exercise, nb, digest: str) -> list[Row]:
        """Rows of a readable notebook: review the code, make the cases, run them in sandboxes, judge each task."""
        code = extract_student_code(nb, ex)
        if code.untouched:
            return self._rows(sub, ex, "not attempted", msg("grade.untouched"), digest)
        review = self._review(ex, code)
        cases = self._make_cases(ex, digest)
        run = self._run_sandboxes(ex, code, cases)
        return [self._task_row(sub, ex, task, code, review, cases, run, digest) for task in ex.tasks]

    @staticmethod
    def _review(ex: Exercise, code) -> tuple[list, dict]:
        """Static review of the submission's code (`find_flags`): the instructor's own template cells are
        trusted; returns the flags and where each target is used."""
        trusted_sources = {s.strip() for s in ex.template_code}
        trusted = {i for i, s in code.cells if s.strip() in trusted_sources}
        targets = {t for task in ex.tasks for t in task.targets}
        return find_flags(code.cells, targets, trusted=trusted)

    def _run_sandboxes(self, ex: Exercise, code, cases) -> _SandboxRuns:
        """Run every check's cases on the submission's cells: one sandbox per package view (a task whose answer
        lives in a package module runs without that module)."""
        cells = [[i, strip_magics(s)] for i, s in code.cells]
        cell_timeout = float(self.timeout or 120.0)
        groups: dict[tuple, list[str]] = {}
        for name in cases:
            groups.setdefault(tuple(sorted(get_check(name).absent)), []).append(name)
        run = _SandboxRuns()
        for absent, names in groups.items():
            self._run_group(ex, absent, names, cells, cases, cell_timeout, run)
        return run

    @staticmethod
    def _task_flags(task, code, review, run: _SandboxRuns) -> list[str]:
        """Why a task's points are withheld for review: static flags on its targets, library functions it
        must not use, blocked actions at run time, targets that are the package's own functions."""
        flags, uses = review
        task_flags = [str(f) for f in flags_for_targets(flags, uses, task.targets)]
        forbidden = [f for n in task.checks for f in get_check(n).forbidden]
        if forbidden:
            task_flags += [str(u) for u in forbidden_uses(code.cells, set(task.targets), forbidden)]
        task_flags += [f"runtime: {v}" for v in run.violations]
        for t in task.targets:
            mod = run.modules.get(t)
            if isinstance(mod, str) and mod.split(".")[0] == "vitcourse":
                task_flags.append(
                    f"{t} is the package's own function from {mod[:80]} (delegates to the reference implementation)"
                )
        return list(dict.fromkeys(task_flags))

    def _task_row(
        self, sub: Submission, ex: Exercise, task, code, review, cases, run: _SandboxRuns, digest: str
    ) -> Row:
        """One task's row: its verdict (`_judge_task`), the student's notes, and the points, withheld while
        flagged."""
        status, reason = self._judge_task(task, cases, run, code)
        task_flags = self._task_flags(task, code, review, run)
        notes = [
            code.notes[g] for g, names in ex.solution_cells.items() if g in code.notes and names & set(task.targets)
        ]
        if notes:
            reason += msg("grade.note", notes="; ".join(notes))
        points, pending_points = (task.points if status == "passed" else 0), 0
        if task_flags and status == "passed":
            status, points, pending_points = "flagged", 0, task.points
            reason = msg("grade.withheld", points=task.points, flag=task_flags[0])
        elif task_flags:
            reason += msg("grade.also_flagged", flag=task_flags[0])
        return self._row(
            sub,
            ex.name,
            task.task_id,
            points,
            task.points,
            status,
            reason,
            pending_points=pending_points,
            flags=_clean(" | ".join(task_flags), 500),
            checks=" ".join(task.checks),
            sha256=digest,
            hint=self._hint(task),
        )

    def _run_group(self, ex, absent, names, cells, cases, cell_timeout, run: _SandboxRuns) -> None:
        """Run the checks ``names`` in fresh sandboxes without the ``absent`` modules; fill in ``run``."""
        case_timeout = {n: float(self.timeout or get_check(n).timeout) for n in names}
        pending = list(names)
        first = True
        while pending:
            if self.stopping:
                for n in pending:
                    run.failure[n] = "crashed: " + msg("grade.interrupted")
                return
            checks = {}
            for n in pending:
                c = get_check(n)
                checks[n] = {
                    "target": c.target,
                    "runner": c.runner,
                    "timeout": case_timeout[n],
                    "cases": [c.public_inputs(inp) for _, inp in cases[n]],
                }
            job = {"sys_path": [], "cells": cells, "cell_timeout": cell_timeout, "checks": checks}
            total = self.budget(ex, pending, cell_timeout)

            def stage_limit(stage: str) -> float:
                if stage.startswith("cell"):
                    return cell_timeout
                m = re.match(r"case (\S+) ", stage)
                if m and m.group(1) in case_timeout:
                    return case_timeout[m.group(1)]
                return 60.0

            out = self._sandbox_run(absent, job, stage_limit, total)
            got: dict[str, list] = {}
            for f in out.frames:
                t = f.get("t")
                if t == "result" and f.get("check") in checks and f["check"] not in got:
                    valid = self._valid_cases(f.get("cases"), len(cases[f["check"]]))
                    if valid is not None:
                        got[f["check"]] = valid
                elif t == "cell_error" and first and type(f.get("cell")) is int:
                    error = _clean(f.get("error", ""), 300)
                    late = re.fullmatch(r"timed out after ([0-9.]+) s", error)  # the child's words: say them here
                    if late:
                        error = msg("grade.cell_timeout", limit=float(late.group(1)))
                    run.cell_errors.append({"cell": f["cell"], "error": error})
                elif t == "module" and type(f.get("target")) is str and type(f.get("module")) is str:
                    run.modules.setdefault(f["target"], f["module"])
                elif t == "violation" and len(run.violations) < 20:
                    v = _clean(f.get("what", ""), 200)
                    if v not in run.violations:
                        run.violations.append(v)
            first = False
            for n in list(pending):
                if n in got:
                    run.results[n] = got[n]
            rest = [n for n in pending if n not in got]
            if not rest:
                return
            how = "timeout" if out.killed == "timeout" else "crashed"
            why = (
                msg("grade.why_timeout")
                if out.killed == "timeout"
                else msg("grade.why_protocol", error=out.protocol_error)
                if out.killed == "protocol"
                else msg("grade.why_exit", code=out.exit_code)
            )
            m = re.match(r"(?:case|write) (\S+)", out.stage)
            if m and m.group(1) in rest:
                run.failure[m.group(1)] = f"{how}: " + msg(
                    "grade.while_running", why=why, target=get_check(m.group(1)).target
                )
                rest.remove(m.group(1))
                pending = rest  # the checks not reached get a fresh sandbox
            else:  # it died before reaching a check (in a notebook cell, or at start-up): every check left is lost
                cell = re.fullmatch(r"cell (\d+)", out.stage or "")
                stage = msg("stage.cell", cell=cell.group(1)) if cell else msg("stage.startup")
                for n in rest:
                    run.failure[n] = f"{how}: " + msg("grade.during", why=why, stage=stage)
                pending = []

    def budget(self, ex: Exercise, names, cell_timeout: float) -> float:
        """Seconds one sandbox run may take in all, on the parent's clock: the instructor's number of code
        cells (not the submission's: padding a notebook with cells buys nothing) times the cell limit, plus
        each case's limit, plus 15 s to start."""
        n_cells = max(1, len(ex.template_code) + len(ex.solution_cells))
        per_case = sum(
            float(self.timeout or get_check(n).timeout) * (len(get_check(n).visible_seeds) + get_check(n).hidden_cases)
            for n in names
        )
        return cell_timeout * n_cells + per_case + 15.0

    def _start_servers(self, subs: list[Submission]) -> None:
        """Start the sandbox's fork server of every package view these submissions need, so that it imports
        PyTorch while this process reads and checks the first notebooks (best effort: `_sandbox_run` starts
        whatever is missing)."""
        if self.factory is None:
            return
        views = set()
        for number in {sub.exercise for sub in subs if sub.exercise in self._ids}:
            try:
                ex = self.exercise(number)
            except Exception:  # noqa: BLE001 - reported where the submission is graded
                continue
            views |= {tuple(sorted(get_check(n).absent)) for task in ex.tasks for n in task.checks}
        for view in sorted(views):
            try:
                self.factory.zygote(view)
            except (OSError, RuntimeError):  # started (or reported) again when a job needs it
                pass

    def _sandbox_run(self, absent, job, stage_limit, total):
        if self.factory is None:
            raise RuntimeError("use the Grader as a context manager: with Grader() as g: ...")
        sb = self.factory.start(absent)
        with self._lock:
            self._live.add(sb)
        try:
            out = sb.run(job, stage_limit=stage_limit, total_limit=total)
        finally:
            with self._lock:
                self._live.discard(sb)
        if out.server_error:
            raise SandboxError(out.server_error)
        return out

    @staticmethod
    def _valid_cases(cases, n: int):
        if type(cases) is not list or len(cases) != n:
            return None
        for c in cases:
            if type(c) is not dict or c.get("status") not in _CASE_STATUSES:
                return None
            if c["status"] == "not_plain" and PlainDataError.from_wire(c.get("key"), c.get("values")) is None:
                return None
        return cases

    def _judge_task(self, task, cases, run: _SandboxRuns, code) -> tuple[str, str]:
        """(status, reason) of one task from the runner's plain outputs, judged here."""
        results, failure, cell_errors = run.results, run.failure, run.cell_errors
        target_cells, syntax_errors = code.target_cells, code.syntax_errors
        n_visible = n_hidden = 0
        for name in task.checks:
            c = get_check(name)
            got = results.get(name)
            if got is None:
                status, _, why = failure[name].partition(": ")
                return status, why
            visible_total = sum(1 for h, _ in cases[name] if not h)
            hidden_bad = 0
            hidden_mistakes = set()  # the named mistakes of the failing hidden cases (None: not one we know)
            hidden_total = len(cases[name]) - visible_total
            for k, ((hidden, inputs), r) in enumerate(zip(cases[name], got)):
                where = (
                    msg("case.hidden", i=k - visible_total + 1, n=hidden_total)
                    if hidden
                    else msg("case.visible", i=k + 1, n=visible_total)
                )
                st = r.get("status")
                if st == "skipped":
                    continue
                if st == "missing":
                    why = msg("grade.not_defined", target=c.target)
                    errs = [e for e in cell_errors if isinstance(e, dict)]
                    if c.target not in target_cells and syntax_errors:
                        first = next(iter(syntax_errors.values()))
                        cells_ = ", ".join(map(str, syntax_errors))
                        why += msg("grade.syntax", cells=cells_, problem=first)
                    elif c.target not in target_cells:
                        why += msg("grade.no_cell")
                    elif errs:
                        bad = [e for e in errs if e.get("cell") == target_cells[c.target]]
                        if bad:
                            why += msg(
                                "grade.cell_failed", cell=bad[0].get("cell"), error=_short(bad[0].get("error"), 150)
                            )
                    return "error", why
                if st == "not_implemented":
                    return "not attempted", msg("grade.not_implemented", target=c.target)
                if st == "timeout":
                    return "timeout", msg(
                        "grade.timeout", target=c.target, limit=self.timeout or c.timeout, where=where
                    )
                if st == "error":
                    if hidden:  # nothing of the message, not even the exception's class name, which can carry inputs
                        return "error", msg(
                            "grade.hidden_error",
                            target=c.target,
                            where=where,
                            call=f"check({name!r}, {c.target}, hidden=True)",
                        )
                    return "error", msg(
                        "grade.visible_error", target=c.target, error=_clean(r.get("error", ""), 200), where=where
                    )
                mistake = None
                if st == "not_plain":  # refused in the sandbox before it was sent, as `Check.verdict` refuses it
                    refusal = PlainDataError.from_wire(r["key"], r["values"])
                    assert refusal is not None  # a refusal it could not rebuild was discarded as malformed above
                    problems = [c.not_plain(refusal)]
                else:
                    try:
                        problems, mistake = c.verdict(r.get("out"), inputs)
                    except Exception as e:  # noqa: BLE001 - output the check could not even compare
                        problems = [msg("grade.uncomparable", error=type(e).__name__)]
                if problems:
                    if hidden:
                        hidden_bad += 1
                        hidden_mistakes.add(mistake)
                        continue
                    return "failed", msg("grade.failed_case", where=where, problem=_short(problems[0], 220))
            if hidden_bad:
                # no count: hidden inputs are fresh on every run, and a re-run must give the same gradebook
                call = f"check({name!r}, {c.target}, hidden=True)"
                only = next(iter(hidden_mistakes))
                if len(hidden_mistakes) == 1 and only is not None:
                    # every failing hidden case makes the same named mistake: say it (it tells nothing of the
                    # inputs), before the call, so that a long reason loses the call, not the mistake
                    found = msg("mistake.found", mistake=msg(only))
                    return "failed", msg("grade.hidden_mistake", target=c.target, found=found, call=call)
                return "failed", msg("grade.hidden_failed", target=c.target, call=call)
            n_visible += visible_total
            n_hidden += hidden_total
        return "passed", msg("grade.passed", visible=n_visible, hidden=n_hidden)

    # --------------------------------------------------------------- many submissions

    def grade_all(self, subs: list[Submission], jobs: int = 1, progress=None) -> list[Row]:
        """Rows for every submission (``jobs`` at a time); a broken submission only affects its own rows.

        Two submissions of one student for one exercise are a conflict: both get error rows (the maximum
        is counted once) and neither is graded. On Ctrl-C or SIGTERM (`KeyboardInterrupt`) the running
        sandboxes are stopped, ``interrupted`` is set, and the rows finished so far are returned.
        """
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        by_key: dict[tuple, list[Submission]] = {}
        for sub in subs:
            by_key.setdefault((sub.student, sub.exercise), []).append(sub)
        out: dict[int, list[Row]] = {}
        todo = []
        for k, sub in enumerate(subs):
            same = by_key[(sub.student, sub.exercise)]
            if len(same) > 1 and sub.exercise is not None:
                if sub is same[0]:
                    ex = self.exercise(sub.exercise) if sub.exercise in self._ids else None
                    files = ", ".join(str(s.path) for s in same)
                    out[k] = self._rows(
                        sub, ex, "error", msg("grade.duplicates", n=len(same), student=sub.student, files=files), ""
                    )
                    for r in out[k]:
                        r.submission = _clean(files, 500)
            else:
                todo.append((k, sub))

        def one(sub):
            try:
                rows = self.grade(sub)
            except Exception as e:  # noqa: BLE001 - a grader bug must not lose the other rows
                rows = self._rows(sub, None, "crashed", msg("grade.internal", error=f"{type(e).__name__}: {e}"), "")
            if progress:
                progress(sub, rows)
            return rows

        self._start_servers([sub for _, sub in todo])
        pool = ThreadPoolExecutor(max_workers=jobs)
        futures = {pool.submit(one, sub): k for k, sub in todo}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in done:
                    out[futures[f]] = f.result()
        except KeyboardInterrupt:
            self.interrupted = True
            self.stopping = True
            for f in futures:
                f.cancel()
            with self._lock:
                live = list(self._live)
            for sb in live:
                sb.kill()
            for f, k in futures.items():  # the ones that finished before the interrupt still count
                if f.done() and not f.cancelled() and f.exception() is None and k not in out:
                    rows = f.result()
                    if not any(r.reason.endswith(msg("grade.interrupted", lang=r.lang)) for r in rows):
                        out[k] = rows
        finally:
            pool.shutdown(wait=not self.interrupted, cancel_futures=True)
        return [r for k in sorted(out) for r in out[k]]


def grade(paths, *, exercise: str | None = None, jobs: int = 1, **kwargs) -> list[Row]:
    """Discover and grade submissions under ``paths``: the library form of ``vitcourse grade``."""
    subs = discover(paths, exercise=exercise, solutions=kwargs.get("solutions", ROOT / "solutions"))
    with Grader(**kwargs) as g:
        return g.grade_all(subs, jobs=jobs)
