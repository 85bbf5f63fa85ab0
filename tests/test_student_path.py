"""The student's path: work in my-work/ is never overwritten, and `make exercises` refuses to destroy edits."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from vitcourse.notebooks import ROOT, ExerciseEdited, generate_exercises, main, make_work_copy

ANSWER = "    return torch.clamp(x, min=0)  # the student's answer"


def _course(tmp_path):
    """A tiny course in tmp_path: solutions/00_warmup.ipynb and its generated exercises/."""
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    shutil.copy(ROOT / "solutions" / "00_warmup.ipynb", sol)
    generate_exercises(sol, ex)
    return sol, ex


def _fill_in(path):
    """Replace the first `raise NotImplementedError()` of the notebook at path with an answer, as a student would."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "raise NotImplementedError()" in c.source)
    cell.source = cell.source.replace("    raise NotImplementedError()", ANSWER, 1)
    nbformat.write(nb, path)


def _change_solution(sol):
    nb = nbformat.read(sol / "00_warmup.ipynb", as_version=4)
    nb.cells[0].source += "\nA new sentence from the author."
    nbformat.write(nb, sol / "00_warmup.ipynb")


def test_work_copy_is_made_once_and_never_overwritten(tmp_path):
    sol, ex = _course(tmp_path)
    work = tmp_path / "my-work"
    assert make_work_copy(ex, work) == ["00_warmup.ipynb"]
    copy = nbformat.read(work / "00_warmup.ipynb", as_version=4)
    assert copy.metadata["vitcourse"]["do_not_edit"] is False
    assert copy.metadata["vitcourse"]["generated_from"] == "solutions/00_warmup.ipynb"  # the grader still knows it
    _fill_in(work / "00_warmup.ipynb")
    _change_solution(sol)
    assert main(["exercises", "--solutions", str(sol), "--exercises", str(ex)]) == 0  # regenerates exercises/
    assert make_work_copy(ex, work) == []
    assert main(["work-copy", "--exercises", str(ex), "--to", str(work)]) == 0
    assert ANSWER in (work / "00_warmup.ipynb").read_text()  # the answer is still there
    assert "A new sentence" in (ex / "00_warmup.ipynb").read_text()


def test_work_copy_adds_new_exercises_and_rejects_a_file_in_its_place(tmp_path):
    sol, ex = _course(tmp_path)
    work = tmp_path / "my-work"
    make_work_copy(ex, work)
    shutil.copy(ex / "00_warmup.ipynb", ex / "01_new.ipynb")
    assert make_work_copy(ex, work) == ["01_new.ipynb"]
    (tmp_path / "not-a-folder").write_text("x")
    with pytest.raises(ValueError, match="not-a-folder.*not a folder"):
        make_work_copy(ex, tmp_path / "not-a-folder")
    with pytest.raises(ValueError, match="make exercises"):
        make_work_copy(tmp_path / "missing", work)


def test_make_exercises_refuses_to_overwrite_answers_in_exercises(tmp_path, capsys):
    sol, ex = _course(tmp_path)
    _fill_in(ex / "00_warmup.ipynb")
    _change_solution(sol)
    assert main(["exercises", "--solutions", str(sol), "--exercises", str(ex)]) == 1
    err = capsys.readouterr().err
    assert "exercises/00_warmup.ipynb" in err and "edited" in err
    assert "my-work/" in err and "--force" in err and "FORCE=1" in err
    assert ANSWER in (ex / "00_warmup.ipynb").read_text()  # nothing written
    with pytest.raises(ExerciseEdited):
        generate_exercises(sol, ex)
    # an edited file whose solution vanished is not deleted either
    (sol / "00_warmup.ipynb").unlink()
    with pytest.raises(ExerciseEdited, match="00_warmup"):
        generate_exercises(sol, ex)
    assert (ex / "00_warmup.ipynb").exists()


def test_force_overwrites_and_regenerating_twice_needs_no_force(tmp_path):
    sol, ex = _course(tmp_path)
    _fill_in(ex / "00_warmup.ipynb")
    assert main(["exercises", "--force", "--solutions", str(sol), "--exercises", str(ex)]) == 0
    assert ANSWER not in (ex / "00_warmup.ipynb").read_text()
    _change_solution(sol)
    assert generate_exercises(sol, ex) == ["exercises/00_warmup.ipynb"]  # what we wrote last time: ours
    _change_solution(sol)
    assert generate_exercises(sol, ex) == ["exercises/00_warmup.ipynb"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_committed_version_counts_as_generated(tmp_path):
    sol, ex = _course(tmp_path)
    (ex / ".generated.json").unlink()  # a fresh clone has no record of what was written
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "course"], check=True)
    _change_solution(sol)
    assert generate_exercises(sol, ex) == ["exercises/00_warmup.ipynb"]  # equal to HEAD: regenerated
    (ex / ".generated.json").unlink()
    _fill_in(ex / "00_warmup.ipynb")
    _change_solution(sol)
    with pytest.raises(ExerciseEdited):  # neither HEAD's nor what was written
        generate_exercises(sol, ex)


def test_make_lab_makes_the_work_copy_and_docs_point_there():
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab:"):].split("\n\n")[0]
    assert "work-copy" in lab
    assert "my-work/" in (ROOT / ".gitignore").read_text().split()
    assert "my-work/" in (ROOT / "README.md").read_text()
    start = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    assert any("my-work/" in c.source for c in start.cells if c.cell_type == "markdown")


def test_make_lab_ko_copies_the_korean_exercises_and_opens_the_korean_lectures():
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab-ko:"):].split("\n\n")[0]
    assert "--exercises exercises/ko --to my-work/ko" in lab and "notebooks/ko/00_start_here.ipynb" in lab
    assert (ROOT / "notebooks" / "ko" / "00_start_here.ipynb").exists()
    assert "make lab-ko" in (ROOT / "README.ko.md").read_text() and "README.ko.md" in (ROOT / "README.md").read_text()
