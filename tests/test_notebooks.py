"""The notebook pipeline: committed notebooks executed, exercises generated and in sync, nbval fails on errors."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from vitcourse.notebooks import (ROOT, code, executed_problems, generate_exercises, make_exercise, md,
                                 nbgrader_checksum, new_notebook, solution_cell)
from vitcourse.notebooks import test_cell as graded_cell  # aliased: pytest must not collect it

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_was_executed_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    assert executed_problems(nb) == [], f"{path}: re-run it with `make execute NB={path.relative_to(ROOT)}`"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_lectures_are_numbered_and_start_page_exists():
    names = [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert names and names[0] == "00_start_here.ipynb"
    assert all(n[:2].isdigit() and n[2] == "_" for n in names), names
    for sol in (ROOT / "solutions").glob("*.ipynb"):
        assert any(n[:2] == sol.name[:2] for n in names) or sol.name.startswith("00_"), \
            f"{sol.name} has no lecture with the same number"


def test_exercises_are_in_sync_with_solutions():
    out_of_sync = generate_exercises(ROOT / "solutions", ROOT / "exercises", check=True)
    assert out_of_sync == [], ("exercises/ is out of sync with solutions/: run `make exercises` and commit (if you "
                               "filled in answers there, copy the file into my-work/ first: that is where to work)")


def test_exercises_hide_solutions_and_hidden_tests():
    for sol in sorted((ROOT / "solutions").glob("*.ipynb")):
        ex = nbformat.read(ROOT / "exercises" / sol.name, as_version=4)
        text = nbformat.writes(ex)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
        graded = [c for c in ex.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert graded and all("raise NotImplementedError()" in c.source for c in graded if c.cell_type == "code")
        assert all(not c.get("outputs") for c in ex.cells if c.cell_type == "code")


def _solution_notebook():
    return new_notebook([
        md("# Tiny exercise", "slide"),
        solution_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double"),
        graded_cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
                  "test_double", points=2),
    ])


def test_make_exercise_blanks_solutions_keeps_indent_and_strips_hidden_tests():
    ex = make_exercise(_solution_notebook(), "99_tiny.ipynb")
    assert ex.cells[1].source == "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert ex.cells[2].source == "assert double(2) == 4"
    meta = ex.cells[2].metadata["nbgrader"]
    assert meta == {"grade": True, "solution": False, "locked": True, "grade_id": "test_double", "points": 2,
                    "schema_version": 3, "cell_type": "code", "checksum": nbgrader_checksum(ex.cells[2])}
    # what nbgrader's generate_assignment adds, so `nbgrader validate` notices an edited test cell
    assert (ex.cells[2].metadata["editable"], ex.cells[2].metadata["deletable"]) == (False, False)
    assert ex.cells[1].metadata["deletable"] is False and "editable" not in ex.cells[1].metadata
    edited = make_exercise(_solution_notebook(), "99_tiny.ipynb").cells[2]
    edited.source = "pass"
    assert nbgrader_checksum(edited) != meta["checksum"]
    assert ex.cells[0].metadata["slideshow"]["slide_type"] == "slide"


@pytest.mark.parametrize("source, match", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1", "never closed"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n    ### END SOLUTION", "without a matching"),
])
def test_make_exercise_rejects_broken_markers(source, match):
    nb = _solution_notebook()
    nb.cells[1].source = source
    with pytest.raises(ValueError, match=match):
        make_exercise(nb, "99_tiny.ipynb")
    nb = _solution_notebook()
    nb.cells.append(code("x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION"))
    with pytest.raises(ValueError, match="without nbgrader solution metadata"):
        make_exercise(nb, "99_tiny.ipynb")


def test_editing_a_solution_without_regenerating_is_detected(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    nbformat.write(_solution_notebook(), sol / "99_tiny.ipynb")
    assert generate_exercises(sol, ex) == ["exercises/99_tiny.ipynb"]
    assert generate_exercises(sol, ex, check=True) == []
    nb = nbformat.read(sol / "99_tiny.ipynb", as_version=4)
    nb.cells[0].source += "\nNow with more instructions."
    nbformat.write(nb, sol / "99_tiny.ipynb")
    assert generate_exercises(sol, ex, check=True) == ["exercises/99_tiny.ipynb"]
    (ex / "88_orphan.ipynb").write_text("{}")
    assert any("88_orphan" in c for c in generate_exercises(sol, ex, check=True))


def _run_nbval(path):
    env = dict(os.environ, TQDM_DISABLE="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                           "-q", str(path)], capture_output=True, text=True, env=env, cwd=path.parent, timeout=300)


@pytest.mark.parametrize("bad_cell", ["raise RuntimeError('boom')", "assert 1 + 1 == 3, 'arithmetic changed'"])
def test_notebook_pipeline_fails_on_exception_or_failed_assert(tmp_path, bad_cell):
    nb = new_notebook([md("# fixture", "slide"), code("x = 1"), code(bad_cell), code("print(x)")])
    path = tmp_path / "fixture.ipynb"
    nbformat.write(nb, path)
    result = _run_nbval(path)
    assert result.returncode != 0, result.stdout
    assert "1 failed" in result.stdout


def test_notebook_pipeline_passes_clean_notebook_and_checks_marked_outputs(tmp_path):
    nb = new_notebook([code("# NBVAL_CHECK_OUTPUT\nprint(6 * 7)")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, tmp_path / "ok.ipynb")
    assert _run_nbval(tmp_path / "ok.ipynb").returncode == 0
    nb.cells[0].outputs[0].text = "41\n"  # a stored output that is no longer true
    nbformat.write(nb, tmp_path / "stale.ipynb")
    assert _run_nbval(tmp_path / "stale.ipynb").returncode != 0


def test_executed_problems_detects_out_of_order_and_errors():
    nb = new_notebook([code("a = 1"), code("b = 2")])
    assert "never executed" in executed_problems(nb)[0]
    nb.cells[0].execution_count, nb.cells[1].execution_count = 2, 1
    assert "not 1..2" in executed_problems(nb)[0]
    nb.cells[0].execution_count, nb.cells[1].execution_count = 1, 2
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    assert "stored error output (ValueError)" in executed_problems(nb)[0]
