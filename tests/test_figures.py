"""Drawn lecture figures (vitcourse.figures): well-formed SVG, committed files equal a fresh build, every
figure a lecture references exists, every lecture shows enough of them."""
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vitcourse.figures import LECTURES as FIGURE_LECTURES
from vitcourse.figures import Figure, all_figures, build, figure, figure_references, language, missing_figures, render
from vitcourse.figures import labels as figure_labels
from vitcourse.figures.__main__ import main as figures_main
from vitcourse.figures.korean import leftover_labels, load_catalogue, needs_entry
from vitcourse.notebooks import ROOT

FIGDIR = ROOT / "notebooks" / "figures"
LECTURES = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if 1 <= int(p.name[:2]) <= 11)
FIGURES = all_figures()
MIN_PER_LECTURE, MIN_06 = 3, 8
MAX_BYTES = 200_000


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_well_formed_svg_that_fits_a_slide(name):
    text = FIGURES[name]()
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    vb = [float(v) for v in root.attrib["viewBox"].split()]
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert 500 <= width <= 960, f"{name}: width {width} px does not fit a 1280x720 slide"
    assert abs(height - width * vb[3] / vb[2]) <= 1, f"{name}: height {height} is not proportional to the viewBox"
    assert height <= 720, f"{name}: {height} px high"
    assert "NanumGothic" in root.attrib["font-family"] and "Noto Sans KR" in root.attrib["font-family"]
    assert FIGURES[name]() == text, f"{name} is not deterministic"


def test_committed_figures_equal_a_fresh_build(tmp_path):
    build(tmp_path)
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob("*.svg")}
    committed = {p.name: p.read_bytes() for p in FIGDIR.glob("*.svg")}
    assert sorted(committed) == sorted(fresh), ("notebooks/figures/ and the figure functions disagree on the set "
                                                "of figures: run `python -m vitcourse.figures build`, delete stale "
                                                "files, and commit")
    stale = [n for n in fresh if fresh[n] != committed[n]]
    assert stale == [], f"out of date: {stale}; run `python -m vitcourse.figures build` and commit notebooks/figures/"


def test_no_figure_file_is_too_large():
    sizes = {p.name: p.stat().st_size for p in FIGDIR.glob("*.svg")}
    assert sizes and max(sizes.values()) < MAX_BYTES, {n: s for n, s in sizes.items() if s >= MAX_BYTES}


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_figure_reference_exists(path):
    assert missing_figures(path) == [], f"{path.name} shows figures that do not exist"


def _counts() -> dict[str, int]:
    return {p.name: len(figure_references(p)) for p in LECTURES}


def lectures_short_of_figures(counts: dict[str, int]) -> dict[str, int]:
    return {n: c for n, c in counts.items() if c < (MIN_06 if n.startswith("06_") else MIN_PER_LECTURE)}


def test_each_lecture_shows_enough_figures():
    counts = _counts()
    assert len(counts) == 11, sorted(counts)
    assert [p.name[:2] for p in LECTURES] == FIGURE_LECTURES, "every lecture 01-11 has a figure module, lNN.py"
    assert lectures_short_of_figures(counts) == {}, counts


def test_every_registered_figure_is_shown_by_its_lecture():
    shown = {ref for p in LECTURES for ref in figure_references(p)}
    unused = [n for n in FIGURES if f"figures/{n}.svg" not in shown]
    assert unused == [], f"figures built but never shown: {unused}"
    for p in LECTURES:
        wrong = [r for r in figure_references(p) if not Path(r).name.startswith(p.name[:2] + "_")]
        assert wrong == [], f"{p.name} shows another lecture's figures: {wrong}"


def _fixture_notebook(folder: Path, sources: list[str]) -> Path:
    nb = {"cells": [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": s}
                    for i, s in enumerate(sources)],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / "06_fixture.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_reference_check_fails_on_a_missing_figure(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "06_here.svg").write_text(Figure(900, 400).svg())
    path = _fixture_notebook(tmp_path, [
        "# title", "![a patch grid](figures/06_here.svg)\n\n*caption*",
        "text ![gone, see [1]](figures/06_missing.svg) and <img src=\"figures/06_img.svg\">"])
    assert figure_references(path) == ["figures/06_here.svg", "figures/06_missing.svg", "figures/06_img.svg"]
    assert missing_figures(path) == ["figures/06_missing.svg", "figures/06_img.svg"]
    # and a lecture with fewer figures than required is reported
    assert lectures_short_of_figures({path.name: len(figure_references(path))}) == {"06_fixture.ipynb": 3}


def test_cli_check_reports_a_stale_figure(tmp_path, capsys):
    assert figures_main(["build", "--out", str(tmp_path)]) == 0
    assert figures_main(["check", "--out", str(tmp_path)]) == 0
    name = sorted(FIGURES)[0]
    (tmp_path / f"{name}.svg").write_text("<svg/>")
    assert figures_main(["check", "--out", str(tmp_path)]) == 1
    assert name in capsys.readouterr().err


def test_bad_figure_names_and_sizes_are_clear_errors():
    with pytest.raises(ValueError, match=r"figure name 'Bad' must look like 'NN_what'"):
        figure("Bad")
    with pytest.raises(ValueError, match="display_width=2000"):
        Figure(900, 400, display_width=2000)
    with pytest.raises(ValueError, match="unknown figure name"):
        build(Path("/nonexistent-never-written"), names=["99_nothing"])


def test_rich_text_subscripts_escape_and_stay_well_formed():
    f = Figure(900, 200)
    f.text(10, 10, "softmax(Q K^T / √d_k) < 1 & x_{class}")
    f.text(10, 40, "key_padding_mask", raw=True)
    root = ET.fromstring(f.svg())
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["softmax(Q KT / √dk) < 1 & xclass", "key_padding_mask"]
    assert re.search(r'<tspan dy="0.32em" font-size="[\d.]+">k</tspan>', f.svg())


# ----------------------------------------------------------------------------------- Korean figures
KO_FIGDIR = FIGDIR / "ko"


def test_every_label_of_every_figure_has_a_korean_entry():
    catalogue = load_catalogue()
    todo = sorted(label for label in figure_labels() if needs_entry(label) and label not in catalogue)
    assert todo == [], (f"{len(todo)} figure label(s) lack a Korean entry in vitcourse/figures/labels_ko.json: "
                        f"{todo[:10]}; `python -m vitcourse.figures labels` lists them")
    unused = sorted(set(catalogue) - set(figure_labels()))
    assert unused == [], f"labels_ko.json entries no figure draws (remove them): {unused[:10]}"


def test_a_figure_with_a_label_missing_from_the_catalogue_fails():
    name = "01_soft_lookup"
    catalogue = {k: v for k, v in load_catalogue().items() if k != "query q"}
    with pytest.raises(ValueError, match=r"figure 01_soft_lookup: 1 label\(s\) have no entry .*'query q'"):
        render(name, "ko", catalogue)
    assert "쿼리 q" in render(name, "ko", load_catalogue())


def test_committed_korean_figures_equal_a_fresh_build(tmp_path):
    build(tmp_path, lang="ko")
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob("*.svg")}
    committed = {p.name: p.read_bytes() for p in KO_FIGDIR.glob("*.svg")}
    assert sorted(committed) == sorted(fresh) == sorted(f"{n}.svg" for n in FIGURES), \
        "notebooks/figures/ko/ lacks figures or has stale ones: run `python -m vitcourse.figures build --lang ko`"
    stale = [n for n in fresh if fresh[n] != committed[n]]
    assert stale == [], f"out of date: {stale}; run `python -m vitcourse.figures build --lang ko` and commit"


@pytest.mark.parametrize("path", sorted(KO_FIGDIR.glob("*.svg")), ids=lambda p: p.name)
def test_korean_figure_is_well_formed_korean_and_has_no_leftover_english_label(path):
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    assert leftover_labels(text, load_catalogue()) == []
    defined = set(re.findall(r'<path id="(k[rb][0-9a-f]+)"', text))
    used = set(re.findall(r'xlink:href="#(k[rb][0-9a-f]+)"', text))
    assert used <= defined, f"{path.name}: glyphs used but not defined: {used - defined}"
    assert root.find(".//{http://www.w3.org/2000/svg}g[@aria-label]") is not None, f"{path.name}: no Korean label"


def test_a_leftover_english_label_in_a_korean_figure_fails():
    f = Figure(900, 200)
    f.text(10, 10, "query q")          # drawn as English text: what a missing translation leaves
    f.text(10, 40, "keys k_j")         # rich text: subscript markup
    f.text(10, 70, "softmax")          # kept in English on purpose (catalogue entry equal to itself)
    catalogue = {"query q": "쿼리 q", "keys k_j": "키 k_j", "softmax": "softmax"}
    assert leftover_labels(f.svg(), catalogue) == ["keys k_j", "query q"]


def test_korean_labels_are_drawn_as_outlines_placed_like_text():
    f = Figure(900, 200)
    with language("ko", {"query q": "쿼리 q"}):
        f.text(100, 50, "query q", anchor="start", weight="bold")
        f.text(100, 90, "(B, N, D)")       # notation: no entry needed, stays text
    svg = f.svg()
    ET.fromstring(svg)
    assert '<g aria-label="쿼리 q" role="img"><g transform="translate(100 55.25) scale(' in svg
    assert svg.count('<path id="kb') == 3 and "<text " in svg and "(B, N, D)</text>" in svg
    assert "쿼" not in svg.replace('aria-label="쿼리 q"', "")   # no Hangul left as text


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_korean_lectures_show_the_korean_figures(path):
    refs = figure_references(path)
    drawn = [r for r in refs if Path(r).stem in FIGURES]
    assert all(r.startswith("../figures/ko/") for r in drawn), [r for r in drawn if "/ko/" not in r]
    assert missing_figures(path) == [], f"{path.name} shows figures that do not exist"


# ----------------------------------------------------------------------------------- lecture 11's resume picture
def resume_figure_mismatches(source: str) -> list[str]:
    """Where lecture 11's crash-and-resume code disagrees with the run `11_checkpoint_resume` draws."""
    from vitcourse.figures import l11

    found = {"steps": re.search(r"\bsteps=(\d+)", source),
             "checkpoint_every": re.search(r"checkpoint_every=(\d+)", source),
             "crash_after": re.search(r"crash_after\((\d+)\)", source)}
    drawn = {"steps": l11.STEPS, "checkpoint_every": l11.EVERY, "crash_after": l11.CRASH_STEP - 1}
    return [f"{k}: notebook {m[1] if m else 'not found'}, figure {drawn[k]}" for k, m in found.items()
            if m is None or int(m[1]) != drawn[k]]


def test_the_resume_figure_draws_lecture_11s_own_run():
    nb = json.loads((ROOT / "notebooks" / "11_going_further.ipynb").read_text(encoding="utf-8"))
    [source] = ["".join(c["source"]) for c in nb["cells"] if "crash_after(" in "".join(c["source"])
                and c["cell_type"] == "code" and "checkpoint_every=" in "".join(c["source"])]
    assert resume_figure_mismatches(source) == [], ("vitcourse/figures/l11.py STEPS / EVERY / CRASH_STEP no longer "
                                                    "match the lecture's run; update them and rebuild the figures")
    changed = source.replace("checkpoint_every=20", "checkpoint_every=25")
    assert resume_figure_mismatches(changed) == ["checkpoint_every: notebook 25, figure 20"]


def test_relative_path_data_keeps_implicit_linetos_after_a_moveto():
    """fontTools writes "M x y x2 y2": the second pair is a lineto (SVG rules). Read as a second moveto it drew
    'k' with a stray triangle and '→' as a dash in the Korean figures."""
    from vitcourse.figures.korean import glyph, relative

    assert relative("M10 20 30 40L50 60Z") == "m10 20l20 20l20 20z"
    assert relative("M0 0H5V5Z M10 10 20 10 20 20Z") == "m0 0h5v5zm10 10l10 0l0 10z"
    for ch in "k→":
        assert "m" not in glyph(ch)[1][1:].split("z")[0], ch  # one moveto per contour
