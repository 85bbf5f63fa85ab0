"""nbgrader courses: the notebooks drop in unchanged, and the scores in nbgrader's gradebook are the trusted ones.

A small course is built in a temporary folder from the solutions of exercises 00 and 01
(``source/ps1/``), released with ``nbgrader generate_assignment``, and handed in by an honest, a
wrong and a blank student and by the two cheats of issue 19 (a fake ``check`` that prints a pass;
``Check.judge`` patched and ``{}`` returned everywhere). Plain ``nbgrader autograde`` gives the
cheats full marks; ``vitcourse grade --nbgrader`` writes the same points as ``vitcourse grade``
into nbgrader's gradebook, where ``nbgrader export`` and ``generate_feedback`` find them.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum
from sandbox_available import needs_sandbox

from vitcourse.notebooks import BEGIN_SOLUTION, END_SOLUTION, ROOT, nbgrader_checksum

NOTEBOOKS = ("00_warmup", "01_attention")
# nbgrader 0.9.6 under SQLAlchemy 2 warns about its own session handling on every new submission (see
# vitcourse/grading/nbgrader.py); that message is about nbgrader, not the course, and is filtered alike.
_QUIET_SA = ["-W", "ignore:Object of type <Submitted"]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]), **extra)
    return env


def nbgrader(course: Path, *args, timeout=600, env=None, check=True) -> str:
    """Run ``nbgrader ARGS`` in the course folder; its output (stdout and stderr)."""
    out = subprocess.run([sys.executable, *_QUIET_SA, "-m", "nbgrader", *args], cwd=course, env=env or _env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check:
        assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stdout}"
    return out.stdout


def vitcourse(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vitcourse.cli", *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=900)


def make_course(tmp: Path, assignment: str, names, config: str = "") -> Path:
    course = tmp / "course"
    (course / "source" / assignment).mkdir(parents=True)
    for name in names:
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", course / "source" / assignment)
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
                                               + config)
    return course


def _answers(name: str) -> dict[str, str]:
    """Solution cell sources of the instructor's notebook without the solution markers (an honest answer)."""
    sol = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        line for line in c.source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))
        for c in sol.cells if c.metadata.get("nbgrader", {}).get("solution")}


def hand_in(course: Path, assignment: str, student: str, name: str, edit) -> None:
    """``submitted/<student>/<assignment>/<name>.ipynb``: the released notebook with ``edit(grade_id, source)``
    applied to each solution cell, as a student would hand it in."""
    nb = nbformat.read(course / "release" / assignment / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = edit(meta["grade_id"], cell.source)
    dst = course / "submitted" / student / assignment / f"{name}.ipynb"
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)


WRONG = {"relu": "def relu(x):\n    return x", "masked_attention": "def masked_attention(q, k, v, mask=None):\n"
         "    return v"}
FAKE_CHECK = "\n\ndef check(*args, **kwargs):\n    print('✔ passed')\n"
PATCH_JUDGE = ("import vitcourse.checks\nvitcourse.checks.Check.judge = lambda self, got, inputs: []\n\n")


def _returns_empty_dict(source: str) -> str:
    head = source.split("\n")[0]  # the def line the exercise keeps
    return f"{head}\n    return {{}}"


@pytest.fixture(scope="module")
def ps1(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("nbgrader"), "ps1", NOTEBOOKS)
    log = nbgrader(course, "generate_assignment", "ps1")
    for name in NOTEBOOKS:
        answers = _answers(name)
        hand_in(course, "ps1", "honest", name, lambda g, s: answers[g])
        hand_in(course, "ps1", "wrong", name, lambda g, s: WRONG.get(g, answers[g]))
        hand_in(course, "ps1", "blank", name, lambda g, s: s)
        first = [True]

        def fake_check(g, s, first=first):  # blank answers; the first solution cell also redefines check
            out = s + FAKE_CHECK if first[0] else s
            first[0] = False
            return out

        hand_in(course, "ps1", "cheat_check", name, fake_check)
        hand_in(course, "ps1", "cheat_judge", name, lambda g, s: PATCH_JUDGE + _returns_empty_dict(s))
    return course, log


@pytest.mark.slow
def test_released_notebooks_equal_exercises_and_generate_assignment_gives_no_warning(ps1):
    course, log = ps1
    assert "WARNING" not in log and "ERROR" not in log, log
    for name in NOTEBOOKS:
        released = nbformat.read(course / "release" / "ps1" / f"{name}.ipynb", as_version=4)
        ours = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
        assert len(released.cells) == len(ours.cells)
        for a, b in zip(released.cells, ours.cells):  # source and metadata (checksums included), cell for cell
            assert (a.cell_type, a.source, a.metadata) == (b.cell_type, b.source, b.metadata)


def test_our_checksum_is_nbgraders_on_every_graded_cell():
    n = 0
    for path in sorted((ROOT / "exercises").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if "nbgrader" in cell.metadata:
                assert nbgrader_checksum(cell) == compute_checksum(cell), (path.name, cell.metadata.nbgrader)
                n += 1
    assert n > 50


def _gradebook(course: Path) -> dict:
    """{student: {grade cell: (score, needs_manual_grade)}} from nbgrader's database, through its API."""
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions("ps1"):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out.setdefault(sub.student.id, {})[g.name] = (g.score, g.needs_manual_grade)
    return out


@needs_sandbox
@pytest.mark.slow
def test_nbgrader_gradebook_holds_the_trusted_scores_and_the_cheats_get_nothing(ps1, tmp_path):
    course, _ = ps1
    max_points = {}
    for name in NOTEBOOKS:
        for cell in nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                max_points[meta["grade_id"]] = float(meta["points"])
    full = sum(max_points.values())

    # Why: plain `nbgrader autograde` runs the tests in the student's kernel, and both cheats pass there
    # (in a copy of the course, so that the trusted run below starts from a fresh gradebook).
    copy = tmp_path / "copy"
    shutil.copytree(course, copy)
    (copy / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(copy)!r}\n")
    nbgrader(copy, "autograde", "ps1", "--student=cheat_*", "--Execute.timeout=300")
    untrusted = _gradebook(copy)
    for cheat in ("cheat_check", "cheat_judge"):
        assert sum(score for score, _ in untrusted[cheat].values()) == full, (cheat, untrusted[cheat])

    # The trusted run: the same points as `vitcourse grade` on the same files.
    done = vitcourse("grade", "--nbgrader", str(course), "--assignment", "ps1", "--json", str(tmp_path / "nb.json"),
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "Warning" not in done.stderr, done.stderr
    plain = vitcourse("grade", str(course / "submitted"), "--json", str(tmp_path / "plain.json"), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    rows = json.loads((tmp_path / "plain.json").read_text())["rows"]
    expected = {}
    for r in rows:
        expected.setdefault(r["student"], {})[r["task"]] = float(r["points"])
    book = _gradebook(course)
    assert set(book) == {"honest", "wrong", "blank", "cheat_check", "cheat_judge"} == set(expected)
    for student, grades in book.items():
        assert {task: score for task, (score, _) in grades.items()} == expected[student], student
        assert not any(manual for _, manual in grades.values()), student  # nothing flagged here
    totals = {s: sum(score for score, _ in g.values()) for s, g in book.items()}
    assert totals["honest"] == full and totals["blank"] == 0 and 0 < totals["wrong"] < full
    assert totals["cheat_check"] == 0 and totals["cheat_judge"] == 0

    # The verdicts reach the students: test cell outputs and solution cell comments, in the feedback too.
    autograded = nbformat.read(course / "autograded" / "wrong" / "ps1" / "00_warmup.ipynb", as_version=4)
    outputs = {c.metadata.nbgrader["grade_id"]: "".join(o.get("text", "") for o in c.outputs)
               for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert outputs["test_relu"].startswith("✘ test_relu: 0/1 failed") and "✔ test_row_normalize: 2/2" in \
        outputs["test_row_normalize"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert "passed" in gb.find_comment("row_normalize", "00_warmup", "ps1", "wrong").comment
        assert gb.find_comment("relu", "00_warmup", "ps1", "blank").comment == "No response."
    feedback = nbgrader(course, "generate_feedback", "ps1")
    assert "WARNING" not in feedback, feedback
    html = (course / "feedback" / "wrong" / "ps1" / "00_warmup.html").read_text()
    assert "0/1 failed" in html

    # `nbgrader export` writes those scores.
    exported = nbgrader(course, "export")
    assert "WARNING" not in exported, exported
    with open(course / "grades.csv", newline="") as f:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert scores == totals


def test_cli_refuses_what_it_cannot_grade(tmp_path, capsys):
    from vitcourse.cli import main

    def refused(*args) -> str:
        try:
            code = main(["grade", *args])
        except SystemExit as e:  # argparse's own errors
            code = e.code
        assert code == 2, args
        return capsys.readouterr().err

    assert "does not exist" in refused("--nbgrader", str(tmp_path / "nope"), "--assignment", "ps1")
    assert "--nbgrader needs --assignment" in refused("--nbgrader", str(tmp_path))
    assert "--assignment goes with --nbgrader" in refused("--assignment", "ps1", "x.ipynb")
    assert "give no submission paths" in refused("--nbgrader", str(tmp_path), "--assignment", "ps1", "x.ipynb")
    assert "holds no notebooks" in refused("--nbgrader", str(tmp_path), "--assignment", "ps1")
    (tmp_path / "source" / "ps1").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "00_warmup.ipynb", tmp_path / "source" / "ps1" / "warmup.ipynb")
    assert "keep the file name" in refused("--nbgrader", str(tmp_path), "--assignment", "ps1")
    (tmp_path / "source" / "ps1" / "warmup.ipynb").rename(tmp_path / "source" / "ps1" / "00_warmup.ipynb")
    assert "no submissions of 'ps1'" in refused("--nbgrader", str(tmp_path), "--assignment", "ps1")


@pytest.mark.slow
def test_nbgrader_validate_reports_an_edited_test_cell_in_a_notebook_from_exercises(tmp_path):
    nb = nbformat.read(ROOT / "exercises" / "00_warmup.ipynb", as_version=4)
    nbformat.write(nb, tmp_path / "untouched.ipynb")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_relu":
            cell.source = "print('✔ passed')"
    nbformat.write(nb, tmp_path / "edited.ipynb")
    edited = nbgrader(tmp_path, "validate", "edited.ipynb", check=False)
    assert "THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED" in edited and "print('✔ passed')" in edited, edited
    untouched = nbgrader(tmp_path, "validate", "untouched.ipynb", check=False)
    assert "HAVE CHANGED" not in untouched, untouched


@pytest.mark.slow
def test_the_solution_of_exercise_08_scores_full_marks_under_nbgraders_own_autograde(tmp_path):
    name = "08_mlp_mixer"
    course = make_course(tmp_path, "ps8", [name], config="c.Execute.timeout = 900\n")
    nbgrader(course, "generate_assignment", "ps8")
    answers = _answers(name)
    hand_in(course, "ps8", "honest", name, lambda g, s: answers[g])
    env = _env()
    env.pop("TQDM_DISABLE", None)  # as in an instructor's shell: the check itself must keep the bar off
    nbgrader(course, "autograde", "ps8", env=env, timeout=1800)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission("ps8", "honest")
        assert sub.score == sub.max_score == 7.0, [(g.name, g.score) for nb in sub.notebooks for g in nb.grades]
    graded = nbformat.read(course / "autograded" / "honest" / "ps8" / f"{name}.ipynb", as_version=4)
    for cell in graded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):  # stderr-free, and no displayed value
            assert [o.get("name") for o in cell.outputs] == ["stdout"] * len(cell.outputs), cell.outputs


@pytest.mark.slow
def test_trusted_grades_flags_need_a_human_a_missing_verdict_scores_zero_and_real_edits_are_reported(tmp_path):
    """`TrustedGrades` on its own (no sandbox needed): verdicts handed to nbgrader's autograde directly."""
    from vitcourse.grading.nbgrader import RESULTS_VERSION, run_autograde

    course = make_course(tmp_path, "ps1", ["00_warmup"])
    nbgrader(course, "generate_assignment", "ps1")
    answers = _answers("00_warmup")
    hand_in(course, "ps1", "flagged", "00_warmup", lambda g, s: answers[g])
    hand_in(course, "ps1", "unknown", "00_warmup", lambda g, s: answers[g])
    hand_in(course, "ps1", "editor", "00_warmup", lambda g, s: answers[g])
    edited = course / "submitted" / "editor" / "ps1" / "00_warmup.ipynb"
    nb = nbformat.read(edited, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_relu":
            cell.source = "print('✔ passed')"
    nbformat.write(nb, edited)

    def verdict(points, status, reason, pending=0.0, flags=""):
        return {"points": points, "max_points": 1.0 if points <= 1 else 2.0, "status": status, "reason": reason,
                "pending_points": pending, "flags": flags}

    tasks = {"test_relu": verdict(0.0, "flagged", "passed, but 1 point(s) are withheld pending review: uses "
                                  "torch.relu", 1.0, "uses torch.relu"),
             "test_row_normalize": verdict(2.0, "passed", "passed 3 visible and 5 hidden cases")}
    cells = {"relu": ["test_relu"], "row_normalize": ["test_row_normalize"]}
    results = {"version": RESULTS_VERSION, "students": {
        s: {"00_warmup": {"sha256": "", "tasks": tasks, "solution_cells": cells}} for s in ("flagged", "editor")}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    done = run_autograde(course, "ps1", tmp_path / "results.json")
    assert done.returncode == 0, done.stdout
    log = done.stdout
    # the edited test cell is reported (and restored from source/), the untouched ones are not
    assert log.count("WARNING") == 1 and "Attribute 'checksum' for cell test_relu has changed" in log, log
    assert "no vitcourse verdict for unknown/ps1/00_warmup" in log
    book = _gradebook(course)
    assert book["flagged"] == {"test_relu": (0.0, True), "test_row_normalize": (2.0, False)}
    assert book["editor"] == book["flagged"]
    assert book["unknown"] == {"test_relu": (0.0, True), "test_row_normalize": (0.0, True)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        comment = gb.find_comment("relu", "00_warmup", "ps1", "flagged").comment
    assert comment.startswith("⚑ test_relu: 0/1 flagged: passed, but 1 point(s) are withheld"), comment
