"""Grade submissions: discover them, run each in the sandbox, judge the returned plain data here.

Only this (trusted) process decides a score. Per submission it reads the
student's code cells (`extract_student_code`), flags suspicious code
(`find_flags`), makes each check's inputs from the visible seeds and from
fresh random seeds (`secrets`), writes them as plain data for the runner,
and after the runner exits loads its outputs (JSON and ``.npy`` with
``allow_pickle=False``), computes the reference itself and calls
``Check.judge``. One row per submission and task.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from .. import __version__
from ..checks import get_check
from ..notebooks import ROOT
from .exercise import Exercise, extract_student_code, exercise_ids, load_exercise, strip_magics
from .flags import find_flags, flags_for_targets
from .plain import PlainDataError, dump_plain, load_plain, read_small_file
from .runner import Runner, SandboxError

__all__ = ["GRADER_VERSION", "Row", "Submission", "Grader", "discover", "STATUSES", "grade"]

#: Bump when grading rules change, so a gradebook says which rules made it.
GRADER_VERSION = f"vitcourse-grader {__version__}/1"
STATUSES = ("passed", "failed", "error", "timeout", "crashed", "not attempted", "flagged")
MAX_SUBMISSION_BYTES = 50 * 2**20
_EX_PREFIX = re.compile(r"(?:^|[^0-9])(\d\d)_[A-Za-z]")
_CASE_STATUSES = {"ok", "not_implemented", "error", "timeout", "missing", "skipped"}


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
    pending_points: float = 0      # earned but withheld while flagged for review
    flags: str = ""
    checks: str = ""
    submission: str = ""
    sha256: str = ""
    grader_version: str = GRADER_VERSION
    hint: str = field(default="", repr=False)

    FIELDS = ("student", "exercise", "task", "points", "max_points", "status", "reason", "pending_points", "flags",
              "checks", "submission", "sha256", "grader_version")

    def as_dict(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in self.FIELDS}


@dataclass
class Submission:
    path: Path
    student: str
    exercise: str | None     # "00", or None when it cannot be told


def _exercise_from_name(name: str) -> str | None:
    m = _EX_PREFIX.search(name)
    return m.group(1) if m else None


def _student_id(path: Path, top: Path | None, exercise_stems: set[str]) -> str:
    """From the file name (``alice.ipynb``, ``alice_00_warmup.ipynb``) or the folder (``alice/00_warmup.ipynb``)."""
    stem = path.stem
    for ex in sorted(exercise_stems, key=len, reverse=True):
        stem = stem.replace(ex, "")
    stem = re.sub(r"^[\W_]+|[\W_]+$", "", stem)
    if stem and not re.fullmatch(r"\d\d", stem):
        return stem
    if top is not None and path.parent != top:
        return path.relative_to(top).parts[0]
    return path.parent.name or path.stem


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
            ex = _exercise_from_name(f.name) or (_exercise_from_name(f.parent.name) if top is not None else None)
            if ex is None:
                ex = exercise
            if exercise is not None and ex != exercise:
                continue
            subs.append(Submission(f, _student_id(f, top, stems), ex))
    return subs


def _short(text: str, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Grader:
    """Grades submissions against the instructor's ``solutions/``; use as a context manager.

    Args:
        solutions: folder of instructor notebooks ``NN_topic.ipynb``.
        timeout: seconds allowed for each notebook cell and each test case
            (default: 120 s per cell, each check's own ``timeout`` per case).
        memory_mb: address space a runner may add on top of the pre-imported libraries.
        output_mb: largest file (printed output included) a runner may write.
        seed: makes the hidden cases reproducible (default: fresh random seeds per submission).
        protect: extra paths the runners may not read (gradebook, feedback folder, submissions).
        namespaces: hide files behind Linux user/mount namespaces where available
            (`isolation` says what a run got).
    """

    def __init__(self, solutions: str | Path = ROOT / "solutions", *, timeout: float | None = None,
                 memory_mb: int = 3072, output_mb: int = 64, seed: int | None = None, protect=(),
                 namespaces: bool = True):
        self.solutions = Path(solutions)
        if not self.solutions.is_dir():
            raise ValueError(f"solutions folder {str(self.solutions)!r} does not exist")
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.timeout = timeout
        self.memory_mb, self.output_mb = int(memory_mb), int(output_mb)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
        self._seed = seed
        self._exercises: dict[str, Exercise] = {}
        self._ids = exercise_ids(self.solutions)
        self.root: str | None = None
        self.runner: Runner | None = None
        self._runner_lock = threading.Lock()
        self._count = 0
        self.protect = [str(Path(p).resolve()) for p in protect]
        self.namespaces = bool(namespaces)

    # --------------------------------------------------------------- lifecycle

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="vitcourse-grade-")
        os.chmod(self.root, 0o700)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _get_runner(self, restart: bool = False) -> Runner:
        with self._runner_lock:
            if self.root is None:
                raise RuntimeError("use the Grader as a context manager: with Grader() as g: ...")
            if restart and self.runner is not None:
                self.runner.close()
                self.runner = None
            if self.runner is None or not self.runner.alive:
                self.runner = Runner(self.root).start()
            return self.runner

    @property
    def isolation(self) -> str:
        """What protects the instructor's files from student code in this run (for the report)."""
        runner = self._get_runner()
        if runner.namespaces == "ok" and self.namespaces:
            return "namespaces + audit hook"
        why = "turned off" if not self.namespaces else runner.namespaces
        return f"audit hook only (Linux namespaces: {why})"

    def exercise(self, number: str) -> Exercise:
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

    def _rows(self, sub: Submission, ex: Exercise | None, status: str, reason: str, digest: str) -> list[Row]:
        if ex is None:
            return [Row(sub.student, sub.exercise or "?", "-", 0, 0, status, _short(reason),
                        submission=str(sub.path), sha256=digest)]
        return [Row(sub.student, ex.name, t.task_id, 0, t.points, status, _short(reason), checks=" ".join(t.checks),
                    submission=str(sub.path), sha256=digest, hint=self._hint(t)) for t in ex.tasks]

    @staticmethod
    def _hint(task) -> str:
        return " ".join(get_check(n).hint for n in task.checks)

    def grade(self, sub: Submission) -> list[Row]:
        """Rows for one submission; never raises for anything the submission contains."""
        try:
            raw = sub.path.read_bytes() if sub.path.stat().st_size <= MAX_SUBMISSION_BYTES else None
        except OSError as e:
            return self._rows(sub, None, "error", f"cannot read the submission: {e.strerror}", "")
        if raw is None:
            return self._rows(sub, None, "error", f"the submission is larger than {MAX_SUBMISSION_BYTES} bytes", "")
        digest = hashlib.sha256(raw).hexdigest()
        ex = None
        try:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
            if not isinstance(nb.get("cells"), list):
                raise ValueError("it has no list of cells")
            for cell in nb.cells:
                if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), (str, list)) \
                        or not isinstance(cell.get("metadata", {}), dict):
                    raise ValueError("a cell is malformed")
                if isinstance(cell.get("source"), list):
                    cell["source"] = "".join(str(x) for x in cell["source"])
            meta = nb.get("metadata", {}).get("vitcourse", {}) if isinstance(nb.get("metadata"), dict) else {}
            made_from = _exercise_from_name(str(meta.get("generated_from", ""))) if isinstance(meta, dict) else None
            number = sub.exercise or made_from
        except Exception as e:  # noqa: BLE001 - any unreadable file is the submission's problem
            number = sub.exercise
            if number in self._ids:
                ex = self.exercise(number)
            return self._rows(sub, ex, "error", f"not a readable notebook ({type(e).__name__}: {_short(e, 120)})",
                              digest)
        if number not in self._ids:
            return self._rows(sub, None, "error", f"cannot tell which exercise this is (got {number!r}); "
                              f"name it NN_topic.ipynb or pass --exercise NN", digest)
        ex = self.exercise(number)
        try:
            return self._grade_notebook(sub, ex, nb, digest)
        except SandboxError as e:
            return self._rows(sub, ex, "crashed", f"grading sandbox failure: {e}", digest)

    def _grade_notebook(self, sub: Submission, ex: Exercise, nb, digest: str) -> list[Row]:
        code = extract_student_code(nb, ex)
        if code.untouched:
            return self._rows(sub, ex, "not attempted", "the notebook is the exercise as handed out", digest)
        trusted_sources = {s.strip() for s in ex.template_code}
        trusted = {i for i, s in code.cells if s.strip() in trusted_sources}
        targets = {t for task in ex.tasks for t in task.targets}
        flags, uses = find_flags(code.cells, targets, trusted=trusted)

        # Inputs: visible seeds and fresh hidden seeds, made here and written as plain data.
        with self._runner_lock:
            self._count += 1
            workdir = os.path.join(self.root, f"sub{self._count:05d}")
        os.makedirs(os.path.join(workdir, "in"))
        cases: dict[str, list[tuple[bool, dict]]] = {}
        job_checks: dict[str, list[str]] = {}
        case_timeout = {}
        for task in ex.tasks:
            for name in task.checks:
                if name in cases:
                    continue
                c = get_check(name)
                made = [(False, inp) for _, inp in c.cases(False)]
                seeds = self._hidden_seeds(c.hidden_cases, digest, name)
                made += [(True, inp) for _, inp in c.cases(True, seeds=seeds)]
                cases[name] = made
                job_checks[name] = []
                for k, (_, inp) in enumerate(made):
                    # held-out labels and other private inputs stay in this (trusted) process
                    dump_plain(c.public_inputs(inp), os.path.join(workdir, "in"), f"{name}.{k}")
                    job_checks[name].append(f"{name}.{k}")
                case_timeout[name] = float(self.timeout or c.timeout)
        cell_timeout = float(self.timeout or 120.0)
        cells = [[i, strip_magics(s)] for i, s in code.cells]

        results: dict[str, list | None] = {}
        failure: dict[str, str] = {}
        meta: dict = {}
        pending = list(job_checks)
        for attempt in range(len(job_checks) + 1):
            if not pending:
                break
            res = self._run(workdir, cells, {n: job_checks[n] for n in pending}, cell_timeout, case_timeout,
                            sub.path)
            meta = self._load_meta(workdir) or meta
            for name in pending:
                results[name] = self._load_result(workdir, name, len(job_checks[name]))
            done = [n for n in pending if results[n] is not None]
            rest = [n for n in pending if results[n] is None]
            if not rest:
                break
            how = "timeout" if res.killed else "crashed"
            why = (f"ran past the time limit and was stopped" if res.killed else
                   f"the process running your code ended abruptly (exit code {res.exit_code})")
            m = re.match(r"(?:check|write) (\S+)", res.stage)
            if m and m.group(1) in rest:
                failure[m.group(1)] = f"{how}: {why} while running {get_check(m.group(1)).target}"
                rest.remove(m.group(1))
                pending = rest  # the checks not reached get a fresh runner
            else:  # it died before reaching a check (e.g. in a notebook cell): every check left is lost
                stage = res.stage if res.stage.startswith("cell") else "start-up"
                for n in rest:
                    failure[n] = f"{how}: {why} during {stage}"
                pending = []
        for n in job_checks:
            if results.get(n) is None and n not in failure:
                failure[n] = "crashed: no results came back from the process running your code"
        violations = self._violations(workdir)
        shutil.rmtree(workdir, ignore_errors=True)

        rows = []
        cell_errors = meta.get("cell_errors", []) if isinstance(meta.get("cell_errors"), list) else []
        for task in ex.tasks:
            status, reason = self._judge_task(task, cases, results, failure, code.target_cells, cell_errors,
                                              code.syntax_errors)
            task_flags = [str(f) for f in flags_for_targets(flags, uses, task.targets)]
            task_flags += [f"runtime: {v}" for v in violations]
            modules = meta.get("modules", {}) if isinstance(meta.get("modules"), dict) else {}
            for t in task.targets:
                mod = modules.get(t)
                if isinstance(mod, str) and mod.split(".")[0] == "vitcourse":
                    task_flags.append(f"{t} is the package's own function from {mod[:80]} (delegates to the "
                                      f"reference implementation)")
            notes = [code.notes[g] for g, names in ex.solution_cells.items()
                     if g in code.notes and names & set(task.targets)]
            if notes:
                reason += " (note: " + "; ".join(notes) + ")"
            points, pending_points = (task.points if status == "passed" else 0), 0
            if task_flags and status == "passed":
                status, points, pending_points = "flagged", 0, task.points
                reason = f"passed, but {task.points} point(s) are withheld pending review: {task_flags[0]}"
            elif task_flags:
                reason += f" (also flagged for review: {task_flags[0]})"
            rows.append(Row(sub.student, ex.name, task.task_id, points, task.points, status, _short(reason),
                            pending_points, _short(" | ".join(task_flags), 500), " ".join(task.checks),
                            str(sub.path), digest, hint=self._hint(task)))
        return rows

    def _run(self, workdir, cells, checks, cell_timeout, case_timeout, submission: Path):
        import json

        for f in ("progress",):
            try:
                os.remove(os.path.join(workdir, f))
            except OSError:
                pass
        shutil.rmtree(os.path.join(workdir, "res"), ignore_errors=True)
        job = {"cells": cells, "checks": checks, "cell_timeout": cell_timeout, "case_timeout": case_timeout}
        with open(os.path.join(workdir, "job.json"), "w") as f:
            json.dump(job, f)

        def stage_limit(stage: str) -> float:
            if stage.startswith("cell"):
                return cell_timeout
            m = re.match(r"check (\S+) ", stage)
            if m and m.group(1) in case_timeout:
                return case_timeout[m.group(1)]
            return 60.0

        total = cell_timeout * max(1, len(cells)) + sum(case_timeout[n] * len(v) for n, v in checks.items()) + 60
        hide_dirs = [str(self.solutions.resolve()), str(ROOT / "tests"), str(ROOT / ".git"), str(ROOT / "solutions"),
                     str(Path(submission).resolve().parent), *[p for p in self.protect if os.path.isdir(p)]]
        hide_files = [str(Path(submission).resolve()), *[p for p in self.protect if not os.path.isdir(p)]]
        deny = hide_dirs + hide_files + [self.root]

        def attempt(runner):
            limits = {"as": int(runner.vm + self.memory_mb * 2**20), "fsize": self.output_mb * 2**20,
                      "cpu": int(total + 10)}
            isolate = {"enabled": runner.namespaces == "ok" and self.namespaces, "work_root": self.root,
                       "hide_dirs": hide_dirs, "hide_files": hide_files}
            return runner.run(workdir, limits=limits, deny=deny, stage_limit=stage_limit, total_limit=total,
                              isolate=isolate)

        try:
            return attempt(self._get_runner())
        except SandboxError:
            return attempt(self._get_runner(restart=True))  # one retry on a fresh sandbox

    @staticmethod
    def _load_meta(workdir) -> dict:
        try:
            meta = load_plain(os.path.join(workdir, "res"), "meta", max_bytes=2**20)
        except (PlainDataError, OSError):
            return {}
        return meta if isinstance(meta, dict) else {}

    @staticmethod
    def _load_result(workdir, name: str, n: int):
        try:
            doc = load_plain(os.path.join(workdir, "res"), name)
        except (PlainDataError, OSError):
            return None
        cases = doc.get("cases") if isinstance(doc, dict) else None
        if type(cases) is not list or len(cases) != n:
            return None
        for c in cases:
            if type(c) is not dict or c.get("status") not in _CASE_STATUSES:
                return None
        return cases

    @staticmethod
    def _violations(workdir) -> list[str]:
        """What the runner's audit hook blocked (it can only hide its own attempts, never gain by them)."""
        try:
            text = read_small_file(os.path.join(workdir, "violations.log"), 2**16).decode("utf-8", "replace")
        except PlainDataError:
            return []
        return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))[:20]

    def _judge_task(self, task, cases, results, failure, target_cells, cell_errors, syntax_errors
                    ) -> tuple[str, str]:
        """(status, reason) of one task from the runner's plain outputs, judged here."""
        n_visible = n_hidden = 0
        for name in task.checks:
            c = get_check(name)
            if results.get(name) is None:
                status, _, why = failure[name].partition(": ")
                return status, why
            visible_total = sum(1 for h, _ in cases[name] if not h)
            hidden_bad = 0
            hidden_total = len(cases[name]) - visible_total
            for k, ((hidden, inputs), r) in enumerate(zip(cases[name], results[name])):
                where = (f"hidden case {k - visible_total + 1} of {hidden_total}" if hidden
                         else f"visible case {k + 1} of {visible_total}")
                st = r.get("status")
                if st == "skipped":
                    continue
                if st == "missing":
                    why = f"{c.target} is not defined"
                    errs = [e for e in cell_errors if isinstance(e, dict)]
                    if c.target not in target_cells and syntax_errors:
                        first = next(iter(syntax_errors.values()))
                        cells_ = ", ".join(map(str, syntax_errors))
                        why += f" (cell {cells_} does not run; first problem: {first})"
                    elif c.target not in target_cells:
                        why += " (no cell of the notebook defines it: a missing cell?)"
                    elif errs:
                        bad = [e for e in errs if e.get("cell") == target_cells[c.target]]
                        if bad:
                            why += f" (its cell {bad[0].get('cell')} failed: {_short(bad[0].get('error'), 150)})"
                    return "error", why
                if st == "not_implemented":
                    return "not attempted", f"{c.target} is not implemented yet (it raises NotImplementedError)"
                if st == "timeout":
                    return "timeout", f"{c.target} ran past the {self.timeout or c.timeout:g} s limit ({where})"
                if st == "error":
                    msg = str(r.get("error", ""))
                    if hidden:
                        return "error", f"{c.target}: {msg.split(':')[0][:60]} on a {where}"
                    return "error", f"{c.target}: {_short(msg, 200)} ({where})"
                try:
                    problems = c.judge(r.get("out"), inputs)
                except Exception as e:  # noqa: BLE001 - output the check could not even compare
                    problems = [f"the output could not be compared ({type(e).__name__})"]
                if problems:
                    if hidden:
                        hidden_bad += 1
                        continue
                    return "failed", f"{where}: {_short(problems[0], 220)}"
            if hidden_bad:
                # no count: hidden inputs are fresh on every run, and a re-run must give the same gradebook
                return "failed", (f"{c.target} passes the visible cases but fails hidden cases "
                                  f"(other shapes and random inputs)")
            n_visible += visible_total
            n_hidden += hidden_total
        return "passed", f"passed {n_visible} visible and {n_hidden} hidden cases"

    # --------------------------------------------------------------- many submissions

    def grade_all(self, subs: list[Submission], jobs: int = 1, progress=None) -> list[Row]:
        """Rows for every submission (``jobs`` at a time); a broken submission only affects its own rows."""
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")

        def one(sub):
            try:
                rows = self.grade(sub)
            except Exception as e:  # noqa: BLE001 - a grader bug must not lose the other rows
                rows = self._rows(sub, None, "crashed", f"internal grader error: {type(e).__name__}: {e}", "")
            if progress:
                progress(sub, rows)
            return rows

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            out = [r for rows in pool.map(one, subs) for r in rows]
        return out


def grade(paths, *, exercise: str | None = None, jobs: int = 1, **kwargs) -> list[Row]:
    """Discover and grade submissions under ``paths``: the library form of ``vitcourse grade``."""
    subs = discover(paths, exercise=exercise, solutions=kwargs.get("solutions", ROOT / "solutions"))
    with Grader(**kwargs) as g:
        return g.grade_all(subs, jobs=jobs)
