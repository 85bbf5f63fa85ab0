"""Prose never states a time, nor a percentage that no output backs (docs/authoring.md, "Claims")."""
import nbformat
import pytest

from vitcourse.claims import claim_problems, durations, percentages
from vitcourse.notebooks import ROOT, code, md, new_notebook

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")) + \
    sorted((ROOT / "exercises").glob("*.ipynb"))


def _with_output(cell, text):
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return cell


def _notebook(prose, printed="", slide="-"):
    return new_notebook([md(prose, slide), _with_output(code("print(...)"), printed)])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_claim_in_the_prose_is_backed(path):
    nb = nbformat.read(path, as_version=4)
    backing = None
    if path.parent.name == "exercises":  # no outputs: its source in solutions/ backs it
        backing = nbformat.read(ROOT / "solutions" / path.name, as_version=4)
    assert claim_problems(nb, backing=backing) == [], path.relative_to(ROOT)


def test_fixture_trains_in_30_s_with_an_output_of_90_s_fails():
    nb = _notebook("The model trains in 30 s on a laptop.", "trained 1500 steps in 90.2 s")
    problems = claim_problems(nb)
    assert len(problems) == 1 and "'30 s'" in problems[0] and "steps" in problems[0], problems
    # a time is never backed, not even by a matching output: the next machine prints another one
    assert claim_problems(_notebook("The model trains in 90.2 s.", "trained in 90.2 s")) != []
    assert claim_problems(_notebook("The model trains 1,500 steps (the time is printed).", "in 90.2 s")) == []


@pytest.mark.parametrize("prose, found", [
    ("trains in 30 s", ["30 s"]),
    ("about 2-3 min on a laptop", ["about 2-3 min"]),
    ("training runs ≈ 2–3 min", ["≈ 2–3 min"]),
    ("takes 45 ms per step and 1.5 hours in all", ["45 ms", "1.5 hours"]),
    ("takes about a minute and a half", ["minute"]),
    ("well under a minute on two cores", ["minute"]),
    ("on your laptop in minutes", ["minutes"]),
    ("is counted in milliseconds", ["milliseconds"]),
    ("a few seconds", ["seconds"]),
    ("90sec", ["90sec"]),
])
def test_durations_are_found(prose, found):
    assert durations(prose) == found


@pytest.mark.parametrize("prose", [
    "the second sentence", "a second prediction of the same object", "confuses 4s and 9s", "the 7s and the 1s",
    "1,500 steps", "the 24 steps of the guide", "$O(N^2)$ memory", "a 16 x 16 patch",
])
def test_words_that_are_not_durations_pass(prose):
    assert durations(prose) == []


def test_percentages_need_an_output_a_citation_or_a_check():
    found = percentages("reaches ≥ 98% (±10% shifts), 80 percent")
    assert found == [("98%", 98.0), ("10%", 10.0), ("80 percent", 80.0)]
    unbacked = _notebook("The model reaches ≥ 98% test accuracy.", "test accuracy 0.9844")
    assert len(claim_problems(unbacked)) == 1 and "'98%'" in claim_problems(unbacked)[0]
    assert claim_problems(_notebook("It reaches ≥ 98%.", "first evaluation at >= 98%: step 825")) == []
    cited = "ViT-L/16 reaches 87.76% top-1 on ImageNet (Dosovitskiy et al., arXiv:2010.11929)."
    assert claim_problems(_notebook(cited)) == []
    # the citation backs only its own paragraph
    assert len(claim_problems(_notebook(cited + "\n\nOurs reaches 99.5%."))) == 1
    thresholds = {"06.train_vit": 0.95}
    assert claim_problems(_notebook("Needs at least 95% (check `06.train_vit`)."), thresholds=thresholds) == []
    assert claim_problems(_notebook("Needs at least 97% (check `06.train_vit`)."), thresholds=thresholds) != []
    assert claim_problems(_notebook("Needs at least 95%."), thresholds=thresholds) != []


def test_exercise_prose_is_backed_by_its_solution_outputs():
    exercise = new_notebook([md("Reach 95% on held-out digits.")])
    solution = _notebook("Reach 95% on held-out digits.", "held-out accuracy 95%")
    assert claim_problems(exercise, thresholds={}) != []
    assert claim_problems(exercise, backing=solution, thresholds={}) == []


def test_code_and_the_class_plan_of_speaker_notes_are_not_prose():
    assert claim_problems(_notebook("Index with `t % 3` and run `sleep 30 s`:\n```\ntime.sleep(30)  # 30 s\n```")) == []
    assert claim_problems(_notebook("Speaker notes (≈ 45 min: 30 for the steps). Ask the room.", slide="notes")) == []
    # only the plan is exempt: a machine time in the same notes cell is still a claim
    notes = "Speaker notes (≈ 60 min, training runs ≈ 2–3 min in the middle)."
    assert len(claim_problems(_notebook(notes, slide="notes"))) == 1
    # and only in a notes cell
    assert len(claim_problems(_notebook("Speaker notes (≈ 45 min)."))) == 1
