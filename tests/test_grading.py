"""The grader (vitcourse.grading): full marks for solutions, zero for untouched exercises, nothing for attacks.

One sandbox (`Grader`) is shared by most tests: starting it imports torch
once. Attack submissions use short time limits so the suite stays fast.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from grading_attacks import generic_attacks, solution_submission, student_version, warmup_attacks
from sandbox_available import needs_sandbox

from vitcourse.grading import STATUSES, Grader, discover, find_flags, load_exercise, merge_rows
from vitcourse.grading.child import Decoder, WireError, encode
from vitcourse.grading.grader import Submission
from vitcourse.notebooks import ROOT

pytestmark = needs_sandbox

SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
WARMUP = ROOT / "solutions" / "00_warmup.ipynb"
ATTACK_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def grader():
    # Seeded: hidden cases are fixed per submission, so a check that is flaky on some random inputs cannot make
    # this suite flaky (the CLI and class tests below use fresh random seeds, as real grading does).
    with Grader(seed=2026) as g:
        yield g


def _grade(g, tmp_path, name, data, *, timeout=None, exercise="00_warmup"):
    path = tmp_path / f"{name}_{exercise}.ipynb"
    path.write_bytes(data if isinstance(data, bytes) else nbformat.writes(data).encode())
    g.timeout = timeout
    try:
        [sub] = discover([path])
        return {r.task: r for r in g.grade(sub)}
    finally:
        g.timeout = None


# ----------------------------------------------------------------------------- pieces


def test_load_exercise_reads_tasks_points_and_checks_from_the_instructor_copy():
    ex = load_exercise(WARMUP)
    assert [(t.task_id, t.points, t.checks, t.targets) for t in ex.tasks] == [
        ("test_relu", 1, ("00.relu",), ("relu",)), ("test_row_normalize", 2, ("00.row_normalize",), ("row_normalize",))]
    assert ex.max_points == 3 and ex.test_ids == {"test_relu", "test_row_normalize"}
    assert ex.solution_cells["relu"] == {"relu"}


def test_discover_student_ids_and_exercises(tmp_path):
    for rel in ("alice/00_warmup.ipynb", "bob_00_warmup.ipynb", "carol/ps0/00_warmup.ipynb", "dave.ipynb"):
        p = tmp_path / "subs" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{}")
    subs = {s.student: s.exercise for s in discover([tmp_path / "subs"], exercise=None)}
    assert subs == {"alice": "00", "bob": "00", "carol": "00", "dave": None}
    subs = {s.student: s.exercise for s in discover([tmp_path / "subs"], exercise="00")}
    assert subs["dave"] == "00"
    with pytest.raises(ValueError, match="does not exist"):
        discover([tmp_path / "nope"])


def test_seeded_hidden_cases_are_reproducible_per_submission():
    with Grader(seed=7) as a, Grader(seed=7) as b, Grader(seed=8) as c:
        digest = "ab" * 32
        assert a._hidden_seeds(5, digest, "00.relu") == b._hidden_seeds(5, digest, "00.relu")
        assert a._hidden_seeds(5, digest, "00.relu") != c._hidden_seeds(5, digest, "00.relu")
        assert a._hidden_seeds(5, digest, "00.relu") != a._hidden_seeds(5, "cd" * 32, "00.relu")
    with Grader() as fresh:
        assert fresh._hidden_seeds(5, digest, "00.relu") != fresh._hidden_seeds(5, digest, "00.relu")
    with pytest.raises(ValueError, match="seed must be"):
        Grader(seed=-1)


def test_wire_round_trip_and_refusals():
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, True, float("nan")], "c": "x"}
    back = Decoder(max_bytes=2**20, max_elements=100).decode(encode(value))
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["a"].dtype == np.float32 and back["b"][:3] == [1, 2.5, True] and np.isnan(back["b"][3])
    with pytest.raises(TypeError, match="expected plain data .*got object"):
        encode({"x": object()})
    with pytest.raises(TypeError, match="dtype object; expected numbers"):
        encode({"x": np.array([{"a": 1}], dtype=object)})
    # an array header that claims more data than it carries, or more elements than the cap, is refused
    lie = json.dumps({"__nd__": ["float64", [10**6], "AAAA"]}).encode()
    with pytest.raises(WireError, match="does not match"):
        Decoder(max_bytes=2**20, max_elements=10**7).decode(lie)
    with pytest.raises(WireError, match="more than 5 array elements"):
        Decoder(max_bytes=2**20, max_elements=5).decode(encode([np.zeros(3), np.zeros(3)]))
    # the byte cap counts every frame of a run, so many small frames cannot add up past it
    d = Decoder(max_bytes=1000, max_elements=10**6)
    d.decode(encode(np.zeros(50)))
    with pytest.raises(WireError, match="exceed 1000 bytes"):
        for _ in range(10):
            d.decode(encode(np.zeros(50)))
    for bad in (b"not json", b'{"__float__": "1e999"}', b'{"__nd__": ["object", [1], ""]}'):
        with pytest.raises(WireError):
            Decoder(max_bytes=2**20, max_elements=100).decode(bad)


def test_static_flags_find_tampering_and_delegation():
    cells = [(0, "import numpy as np\nimport torch\nfrom vitcourse.checks import check"),
             (1, "np.allclose = lambda *a, **k: True"),
             (2, "from vitcourse.checks import get_check\ndef relu(x):\n    return get_check('00.relu').reference(x)"),
             (3, "import os\ndef helper():\n    os._exit(0)\ndef row_normalize(x):\n    return helper()"),
             (4, "def unrelated():\n    import ctypes")]
    flags, uses = find_flags(cells, {"relu", "row_normalize"}, trusted={0})
    text = [str(f) for f in flags]
    assert any("np.allclose" in t for t in text)
    assert any("get_check" in t and "grader's checks" in t for t in text)
    assert any("os._exit" in t for t in text) and any("ctypes" in t for t in text)
    from vitcourse.grading.flags import flags_for_targets

    row = [str(f) for f in flags_for_targets(flags, uses, ["row_normalize"])]
    assert any("os._exit" in t for t in row) and not any("ctypes" in t for t in row)
    relu = [str(f) for f in flags_for_targets(flags, uses, ["relu"])]
    assert any("uses reference" in t for t in relu) and not any("uses reference" in t for t in row)
    assert any("get_check" in t for t in row)  # a top-level import counts against every task
    assert find_flags([(0, "from vitcourse.checks import check\nimport torch")], {"relu"})[0] == []


# ----------------------------------------------------------------------------- whole notebooks


@pytest.mark.slow
def test_every_solution_scores_full_marks(grader, tmp_path):
    subs = []
    for sol in SOLUTIONS:
        p = tmp_path / "good" / sol.name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(solution_submission(sol))
        subs += discover([p])
    subs += discover([WARMUP])  # the instructor's own copy, hidden tests and all
    rows = grader.grade_all(subs, jobs=2)
    assert {r.exercise for r in rows} == {s.stem for s in SOLUTIONS}
    bad = [(r.exercise, r.task, r.status, r.reason, r.flags) for r in rows
           if r.status != "passed" or r.points != r.max_points or r.flags]
    assert not bad, bad


def test_untouched_exercises_score_zero_not_attempted(grader, tmp_path):
    exercises = [ROOT / "exercises" / s.name for s in SOLUTIONS if (ROOT / "exercises" / s.name).exists()]
    assert exercises
    rows = grader.grade_all([s for e in exercises for s in discover([e])], jobs=2)
    assert rows and all(r.status == "not attempted" and r.points == 0 for r in rows), rows
    # the same notebook, run after a trivial edit, is judged by running it: still not attempted
    nb = nbformat.read(ROOT / "exercises" / "00_warmup.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('hello')"))
    rows = _grade(grader, tmp_path, "edited", nb)
    assert {r.status for r in rows.values()} == {"not attempted"}, rows
    assert "NotImplementedError" in rows["test_relu"].reason


def test_test_cells_come_from_the_instructor(grader, tmp_path):
    rows = _grade(grader, tmp_path, "deleted_tests_good", student_version(WARMUP, {}, drop_tests=True))
    assert [r.points for r in rows.values()] == [1, 2]
    rows = _grade(grader, tmp_path, "lost_meta", student_version(WARMUP, {}, strip_metadata=("relu",)))
    assert rows["test_relu"].status == "passed" and "lost its metadata" in rows["test_relu"].reason


def test_one_broken_task_does_not_cost_the_others(grader, tmp_path):
    for code in ("import os\ndef relu(x):\n    os._exit(3)\n", "def relu(x):\n    while True:\n        pass\n"):
        rows = _grade(grader, tmp_path, "partial", student_version(WARMUP, {"relu": code}), timeout=ATTACK_TIMEOUT)
        assert rows["test_relu"].points == 0 and rows["test_relu"].status in ("crashed", "timeout", "flagged")
        assert rows["test_row_normalize"].status == "passed" and rows["test_row_normalize"].points == 2


def test_an_output_that_is_not_plain_data_fails_as_in_the_notebook(grader, tmp_path):
    # refused inside the sandbox by `vitcourse.plain` (the judge's own definition) and said on the trusted side in
    # the judge's words, whatever the depth past the limit (past the wire's old, deeper limit it was an "error")
    deep = ("def relu(x):\n    out = x.clamp(min=0)\n    for _ in range(12):\n        out = [out]\n"
            "    return out\n")
    odd = "import torch\ndef relu(x):\n    return x.clamp(min=0).to(torch.complex64)\n"
    for code, why in ((deep, "output nested too deeply"), (odd, "an output array has dtype complex64")):
        rows = _grade(grader, tmp_path, "notplain", student_version(WARMUP, {"relu": code}))
        r = rows["test_relu"]
        assert (r.status, r.points) == ("failed", 0) and f"not plain data: {why}" in r.reason, r
        assert rows["test_row_normalize"].points == 2


def test_delegating_to_the_package_reference_earns_nothing_and_is_flagged(grader, tmp_path):
    # the checks (with their references) are absent from the sandbox: the call fails, and the code is flagged
    code = ("import torch\n"
            "def relu(x):\n    from vitcourse.checks import get_check\n"
            "    return torch.from_numpy(get_check('00.relu').reference({'x': x.numpy()})).float()\n")
    rows = _grade(grader, tmp_path, "delegate", student_version(WARMUP, {"relu": code}))
    r = rows["test_relu"]
    assert (r.status, r.points) == ("error", 0) and "get_check" in r.flags, r
    assert rows["test_row_normalize"].points == 2


def test_adversarial_submissions_earn_nothing_and_crash_nothing(grader, tmp_path):
    attacks = warmup_attacks()
    assert len(attacks) >= 15
    other = next((s for s in SOLUTIONS if s.name.startswith("01_")), None) or \
        next((s for s in SOLUTIONS if not s.name.startswith("00_")), None)
    subs = []
    for name, data in attacks.items():
        p = tmp_path / "att" / f"{name}_00_warmup.ipynb"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        subs.append(Submission(p, name, "00"))
    if other is not None:
        for name, data in generic_attacks(other).items():
            p = tmp_path / "att" / f"{name}_{other.name}"
            p.write_bytes(data)
            subs.append(Submission(p, f"{name}-{other.stem[:2]}", other.stem[:2]))
    fake_gradebook = Path("/tmp/gradebook.csv")
    existed = fake_gradebook.exists()
    grader.timeout = ATTACK_TIMEOUT
    try:
        rows = grader.grade_all(subs, jobs=2)
    finally:
        grader.timeout = None
    by = {}
    for r in rows:
        assert r.status in STATUSES, r
        by.setdefault(r.student, {})[r.task] = r
    assert set(by) == {s.student for s in subs}
    earned = [(r.student, r.task, r.status, r.reason) for r in rows if r.points != 0]
    assert not earned, earned
    assert by["infinite_loop"]["test_relu"].status == "timeout"
    assert by["loop_ignoring_alarm"]["test_relu"].status == "timeout"
    assert by["os_exit"]["test_relu"].status == "crashed"
    assert by["hardcoded_visible"]["test_relu"].status == "failed"
    assert "hidden" in by["hardcoded_visible"]["test_relu"].reason
    assert by["missing_cells"]["test_relu"].status == "error" and "missing" in by["missing_cells"]["test_relu"].reason
    assert "does not run" in by["syntax_error"]["test_relu"].reason
    for name in ("corrupted_file", "not_a_notebook", "empty_file"):
        assert {r.status for r in by[name].values()} == {"error"}, by[name]
    assert "ctypes" in by["ctypes_and_kill"]["test_relu"].flags
    native = by["read_solutions_native"]["test_relu"]  # the instructor's file is not in the sandbox at all
    assert native.status == "error" and "No such file" in native.reason, native
    assert grader.isolation.startswith("kernel")
    assert existed or not fake_gradebook.exists()


# ----------------------------------------------------------------------------- command line and gradebook


def test_cli_gradebook_is_atomic_idempotent_and_feedback_hides_solutions(grader, tmp_path):
    from vitcourse.cli import main
    from vitcourse.grading import read_gradebook, write_csv

    def regrade(*paths):  # what `vitcourse grade PATHS --out gb.csv` does, on the shared sandbox
        grader.timeout = 5.0
        try:
            rows = grader.grade_all(discover(paths), jobs=2)
        finally:
            grader.timeout = None
        write_csv(merge_rows(read_gradebook(out), rows), out)

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    (subs / "bob_00_warmup.ipynb").write_bytes(warmup_attacks()["hardcoded_visible"])
    (subs / "carol_00_warmup.ipynb").write_bytes(b"garbage")
    out, js, fb = tmp_path / "gb.csv", tmp_path / "gb.json", tmp_path / "feedback"
    args = [str(subs), "--out", str(out), "--json", str(js), "--feedback", str(fb), "--jobs", "2", "--timeout", "5",
            "-q"]
    assert main(["grade", *args]) == 0
    first = out.read_text()
    rows = list(csv.DictReader(first.splitlines()))
    assert [(r["student"], r["task"], r["points"], r["status"]) for r in rows] == [
        ("alice", "test_relu", "1", "passed"), ("alice", "test_row_normalize", "2", "passed"),
        ("bob", "test_relu", "0", "failed"), ("bob", "test_row_normalize", "0", "failed"),
        ("carol", "test_relu", "0", "error"), ("carol", "test_row_normalize", "0", "error")]
    assert all(r["sha256"] and r["grader_version"].startswith("vitcourse-grader") for r in rows)
    doc = json.loads(js.read_text())
    assert doc["totals"]["alice"]["00_warmup"] == {"points": 3, "max_points": 3}
    # re-running gives the same gradebook; re-grading one student keeps the others' rows
    regrade(subs)
    assert out.read_text() == first
    (subs / "bob_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    regrade(subs / "bob_00_warmup.ipynb")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 6 and {r["student"] for r in rows if r["points"] != "0"} == {"alice", "bob"}
    assert not list(tmp_path.glob(".gb.csv.*"))  # no temporary files left behind
    text = (fb / "bob" / "00_warmup.md").read_text()
    assert "0 / 3" in text and "Hint:" in text and "hidden cases" in text
    for secret in ("torch.clamp(x, min=0)", "BEGIN HIDDEN", "BEGIN SOLUTION", "torch.where(s > 0"):
        assert secret not in text
    assert "3 / 3" in (fb / "alice" / "00_warmup.md").read_text()


def test_merge_rows_replaces_regraded_submissions_only():
    old = [{"student": "a", "exercise": "00_warmup", "task": "t", "points": 1},
           {"student": "b", "exercise": "00_warmup", "task": "t", "points": 0}]
    new = [{"student": "b", "exercise": "00_warmup", "task": "t", "points": 3}]
    merged = merge_rows(old, new)
    assert [(r["student"], r["points"]) for r in merged] == [("a", 1), ("b", 3)]


@pytest.mark.slow
def test_class_of_60_with_two_jobs(tmp_path):
    from vitcourse.cli import main

    subs = tmp_path / "class"
    subs.mkdir()
    good = solution_submission(WARMUP)
    attacks = warmup_attacks()
    quick = [k for k in attacks if k not in ("infinite_loop", "loop_ignoring_alarm", "memory_hog")]
    for i in range(60):
        data = good if i % 2 == 0 else attacks[quick[i % len(quick)]]
        (subs / f"s{i:02d}_00_warmup.ipynb").write_bytes(data)
    out = tmp_path / "gb.csv"
    assert main(["grade", str(subs), "--out", str(out), "--jobs", "2", "--timeout", str(ATTACK_TIMEOUT), "-q"]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 120 and len({r["student"] for r in rows}) == 60
    totals = {}
    for r in rows:
        totals[r["student"]] = totals.get(r["student"], 0) + float(r["points"])
    assert all(totals[f"s{i:02d}"] == (3 if i % 2 == 0 else 0) for i in range(60)), totals




def test_without_bubblewrap_the_grader_refuses_unless_told_it_is_unsafe(monkeypatch, tmp_path):
    from vitcourse.cli import main
    from vitcourse.grading import IsolationUnavailable, sandbox

    monkeypatch.setattr(sandbox, "_bwrap_path", lambda: None)
    with pytest.raises(IsolationUnavailable, match="bubblewrap is not installed.*--unsafe-no-isolation"):
        sandbox.probe_isolation()
    sub = tmp_path / "alice_00_warmup.ipynb"
    sub.write_bytes(solution_submission(WARMUP))
    assert main(["grade", str(sub), "--out", str(tmp_path / "gb.csv"), "-q"]) == 3
    assert not (tmp_path / "gb.csv").exists()
    assert main(["grade", str(sub), "--out", str(tmp_path / "gb.csv"), "-q", "--unsafe-no-isolation"]) == 0
    rows = list(csv.DictReader((tmp_path / "gb.csv").read_text().splitlines()))
    assert sum(float(r["points"]) for r in rows) == 3
    assert all(r["isolation"].startswith("none (--unsafe-no-isolation") for r in rows), rows


def _factory(kernel: bool):
    from sandbox_available import ISOLATION, WHY

    from vitcourse.grading.sandbox import Isolation, Limits, SandboxFactory

    if kernel and ISOLATION is None:
        pytest.skip(f"the grader's sandbox is unavailable here: {WHY}")
    return SandboxFactory(ISOLATION if kernel else Isolation(kernel=False, detail="none (test)"), Limits())


_JOB = {"sys_path": [], "cells": [[0, "x = 1"]], "cell_timeout": 30.0, "checks": {}}


def _run(sb, job=_JOB):
    return sb.run(job, stage_limit=lambda stage: 30.0, total_limit=60.0)


@pytest.mark.parametrize("kernel", [False, True])
def test_the_sandbox_factory_forks_each_job_from_one_server_per_package_view_and_ends_them_on_close(kernel):
    """Start-up (an interpreter + torch) is paid once per package view; every job is still a process of its own."""
    factory = _factory(kernel=kernel)
    try:
        first = factory.start(("vit",))
        server = factory.zygote(["vit"])  # the same view, however it is spelled
        second = factory.start(["vit"])
        assert factory.zygote(("vit",)) is server and second is not first
        other = factory.start(())
        assert factory.zygote(()) is not server
        outs = [_run(sb) for sb in (first, second, other)]
        assert [[f["t"] for f in out.frames] for out in outs] == [["ready", "stage", "done"]] * 3, outs
        assert [out.exit_code for out in outs] == [0, 0, 0], [(out.exit_code, out.stderr) for out in outs]
        assert server.proc.poll() is None  # the server outlives its jobs
        hung = factory.start(())
        hung.kill()  # before it ran anything: killed by its server, which lives on
        assert hung.proc.poll() is not None and factory.zygote(()).proc.poll() is None
        servers = [factory.zygote(k) for k in ((), ("vit",))]
    finally:
        factory.close()
    assert all(z.proc.poll() is not None for z in servers)
    assert factory._zygotes == {}


def test_a_fork_server_outlives_the_grading_thread_that_started_it():
    """bubblewrap --die-with-parent kills a sandbox when the thread that started it ends; grading threads end
    with their pool, so servers must come from the factory's own thread (a -9 'crash' of the next submission)."""
    import threading
    import time

    factory = _factory(kernel=True)
    try:
        asked = threading.Thread(target=lambda: factory.start(()).kill())
        asked.start()
        asked.join()
        time.sleep(1.0)
        server = factory.zygote(())
        assert server.proc.poll() is None, server.proc.returncode
        out = _run(factory.start(()))
        assert out.exit_code == 0 and out.frames[-1]["t"] == "done", (out.exit_code, out.stderr)
        assert factory.zygote(()) is server
    finally:
        factory.close()


def test_a_fork_server_that_cannot_start_is_the_sandbox_s_failure_with_its_reason():
    """Not a crash of the student's code: every row says what the server printed (grader: SandboxError)."""
    import os

    factory = _factory(kernel=False)
    try:
        os.remove(os.path.join(factory.package(()), "vcgrade_child.py"))  # a broken installation
        out = _run(factory.start(()))
    finally:
        factory.close()
    assert out.frames == [] and "fork server ended before it was ready" in out.server_error, out
    assert "vcgrade_child.py" in out.server_error, out.server_error


def test_the_gradebook_says_when_the_sandbox_itself_failed(tmp_path):
    import os

    from vitcourse.grading import Grader, discover

    sub = tmp_path / "bob_00_warmup.ipynb"
    sub.write_bytes(solution_submission(WARMUP))
    with Grader(allow_unsafe=True, timeout=30.0) as g:  # kernel isolation where it runs
        os.remove(os.path.join(g.factory.package(()), "vcgrade_child.py"))
        rows = g.grade(discover([sub])[0])
    assert rows and all(r.status == "crashed" and r.points == 0 for r in rows), rows
    assert all("grading sandbox failure" in r.reason and "vcgrade_child.py" in r.reason for r in rows), rows


def test_installed_packages_below_tmp_stay_importable_in_every_job(tmp_path, monkeypatch):
    """A virtual environment made below /tmp (a CI checkout's): each job's fresh /tmp must not hide it, or what a
    job imports after the server's own imports (a library only one exercise uses) is gone."""
    import vitcourse.grading.sandbox as sandbox

    site = tmp_path / "site-packages"  # below /tmp, as pytest's tmp_path is
    site.mkdir()
    (site / "vc_probe_mod.py").write_text("VALUE = 42\n")
    assert str(site).startswith("/tmp/")
    for name in ("_site_dirs", "_bound_dirs"):
        monkeypatch.setattr(sandbox, name, lambda real=getattr(sandbox, name): real() + [str(site)])
    probe = "import vc_probe_mod\nraise RuntimeError(f'value {vc_probe_mod.VALUE}')\n"
    factory = _factory(kernel=True)
    try:
        outs = [_run(factory.start(()), {**_JOB, "cells": [[0, probe]]}) for _ in range(2)]
    finally:
        factory.close()
    for out in outs:
        errors = [f["error"] for f in out.frames if f["t"] == "cell_error"]
        assert errors == ["RuntimeError: value 42"], (errors, out.stderr)


def test_grading_starts_every_fork_server_it_will_need_before_the_first_submission(tmp_path):
    """The servers import PyTorch while the grader reads the first notebooks; grading then uses those servers."""
    from vitcourse.checks import get_check

    attention = ROOT / "solutions" / "01_attention.ipynb"
    (tmp_path / "bob_01_attention.ipynb").write_bytes(solution_submission(attention))
    subs = discover([tmp_path])
    with Grader(allow_unsafe=True, timeout=30.0) as g:
        views = {tuple(sorted(get_check(n).absent)) for t in g.exercise("01").tasks for n in t.checks}
        assert g.factory._zygotes == {}
        g._start_servers(subs)
        started = dict(g.factory._zygotes)
        assert set(started) == views and views, (set(started), views)
        rows = g.grade_all(subs)
        assert all(r.status == "passed" for r in rows), rows
        assert all(g.factory._zygotes[v] is started[v] for v in views)  # the same servers graded it
