"""Slide metadata of the lecture notebooks: every cell has a valid slide type, decks start with a slide.

Speaker notes (``notes`` cells) are reported, not required: a lecture without
any shows up as a warning in the test summary (``python -m vitcourse.site notes``
prints the full table).
"""
import warnings
from pathlib import Path

import nbformat
import pytest

from vitcourse.notebooks import ROOT, SLIDE_TYPES, code, md, new_notebook
from vitcourse.site import formula_cells, has_formula, notes_report, slide_counts

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_cell_has_a_valid_slide_type(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells, f"{path.name} has no cells"
    bad = []
    for i, cell in enumerate(nb.cells):
        slideshow = cell.metadata.get("slideshow")
        if not isinstance(slideshow, dict) or "slide_type" not in slideshow:
            bad.append(f"cell {i} ({cell.cell_type}, {cell.source[:40]!r}): no metadata.slideshow.slide_type")
        elif slideshow["slide_type"] not in SLIDE_TYPES:
            bad.append(f"cell {i}: slide_type {slideshow['slide_type']!r} is not one of {SLIDE_TYPES}")
    assert not bad, f"{path.name}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_deck_opens_with_a_slide_and_has_notes(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].metadata.get("slideshow", {}).get("slide_type")
    assert first == "slide", (f"{path.name}: the first cell (title, learning goals) must be a 'slide', got {first!r}; "
                              "notes or skip cells before it would fall outside the deck")
    counts = slide_counts(nb)
    assert counts["subslides"] >= 2, f"{path.name}: a deck of {counts['subslides']} slide(s) is not a lecture"
    if counts["notes"] == 0:
        warnings.warn(f"{path.name} has no speaker notes ('notes' cells: timing, a question, a common mistake)",
                      UserWarning, stacklevel=1)


def _nb(types):
    return new_notebook([md(f"cell {i}", t) for i, t in enumerate(types)])


def test_slide_counts_follow_nbconvert_layout():
    # notes/skip before the first visible cell do not start it; the first visible cell always starts a slide
    nb = _nb(["notes", "-", "fragment", "subslide", "skip", "slide", "notes", "subslide", "-"])
    c = slide_counts(nb)
    assert (c["slides"], c["subslides"], c["notes"], c["skip"], c["fragments"]) == (2, 4, 2, 1, 1)
    assert slide_counts(_nb(["slide"]))["subslides"] == 1
    with pytest.raises(ValueError, match="no visible slide"):
        slide_counts(_nb(["skip", "notes"]))


def test_formula_detection():
    assert has_formula("the weight $w_i$ sums to one")
    assert has_formula("$$\\mathrm{softmax}(x)$$")
    assert has_formula("inline \\(x^2\\) and display \\[y\\]")
    assert not has_formula("costs $5 and $10")          # prices are not math
    assert not has_formula("code `x = $y$` is not math")
    assert not has_formula("no math here")
    nb = new_notebook([md("$a$", "slide"), md("$b$", "skip"), code("x = '$c$'", "-")])
    assert formula_cells(nb, deck=True) == 1 and formula_cells(nb, deck=False) == 2


def test_notes_report_flags_missing_and_invalid_types(tmp_path):
    nb = _nb(["slide", "notes"])
    nb.cells.append(nbformat.v4.new_markdown_cell("no metadata"))
    nb.cells.append(nbformat.v4.new_markdown_cell("bad", metadata={"slideshow": {"slide_type": "sliide"}}))
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    (row,) = notes_report([path])
    assert row["notes"] == 1 and row["missing_slide_type"] == [2] and row["invalid_slide_type"] == [3]
