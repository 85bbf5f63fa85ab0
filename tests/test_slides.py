"""Slide metadata of the lecture notebooks: every cell has a valid slide type, decks start with a slide.

Speaker notes (``notes`` cells) are reported, not required: a lecture without
any shows up as a warning in the test summary (``python -m vitcourse.site notes``
prints the full table).
"""
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from vitcourse.notebooks import ROOT, SLIDE_TYPES, code, md, new_notebook
from vitcourse.lectureinfo import formula_cells, has_formula, notes_report, slide_counts

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
KO_LECTURES = sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
#: reveal.js themes bundled with jupyterlab-rise that load no web font; RISE's default, 'simple', @imports Google
#: Fonts (News Cycle, Lato), a request to the web on every slideshow, and offline a font that never comes.
RISE_OFFLINE_THEMES = ("white", "black", "serif")


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


def _rise_theme_problem(nb) -> str | None:
    theme = nb.metadata.get("rise", {}).get("theme")
    if theme not in RISE_OFFLINE_THEMES:
        return (f"metadata.rise.theme is {theme!r}: RISE would use a theme that loads Google Fonts; set "
                f"\"rise\": {{\"theme\": \"white\"}} in the notebook metadata (one of {RISE_OFFLINE_THEMES})")
    return None


@pytest.mark.parametrize("path", LECTURES + KO_LECTURES,
                         ids=[p.stem for p in LECTURES] + [f"ko-{p.stem}" for p in KO_LECTURES])
def test_rise_theme_loads_no_web_font(path):
    problem = _rise_theme_problem(nbformat.read(path, as_version=4))
    assert problem is None, f"{path.relative_to(ROOT)}: {problem}"


def test_rise_theme_check_can_fail():
    assert "loads Google Fonts" in _rise_theme_problem(new_notebook([md("# x", "slide")]))
    nb = new_notebook([md("# x", "slide")])
    nb.metadata["rise"] = {"theme": "simple"}
    assert _rise_theme_problem(nb) is not None


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


# ----------------------------------------------------------------------------- decks in Chromium
# `make slides` (English and Korean decks), `make pdf`, the reveal.js plugins and the console and font checks,
# on tiny courses built into temporary folders and on one real deck. Skipped with the reason when reveal.js and
# MathJax are not installed (`make vendor`) or there is no Playwright + system Chromium; nothing is installed.


@pytest.fixture(scope="module")
def node_modules():
    from vitcourse import site

    try:
        return site.install_vendor(install=False)  # tests never run npm: `make vendor` installs
    except site.BuildError as e:
        pytest.skip(str(e))


def _course(root: Path, *, tall: bool = False) -> Path:
    """notebooks/01_demo.ipynb and its Korean edition notebooks/ko/01_demo.ipynb (metadata language "ko").
    ``tall``: the English deck gets a slide whose content (a 1500 px block) no layout or fit can shrink."""
    (root / "notebooks" / "ko").mkdir(parents=True)
    en = [md("# 01 Demo\n\n- attention weights $w_i$ sum to one", "slide"),
          md("Speaker notes: ask what $\\sqrt{d}$ is for.", "notes"),
          md("## Scores\n\n$$s_{ij} = q_i \\cdot k_j / \\sqrt{d}$$", "slide")]
    if tall:
        en.append(md('## Too tall\n\n<div style="height: 1500px; background: #eef">a block no fit can shrink</div>',
                     "slide"))
    nbformat.write(new_notebook(en, title="01 Demo"), root / "notebooks" / "01_demo.ipynb")
    ko = new_notebook([md("# 01 어텐션 맛보기\n\n- 어텐션 가중치(attention weight) $w_i$의 합은 1입니다", "slide"),
                       md("발표자 노트: $\\sqrt{d}$로 나누는 이유를 물어보세요.", "notes"),
                       md("## 점수\n\n고양이가 쥐를 쫓았다. 한국어 문장은 어절이 아니라 토큰으로 나뉩니다.\n\n"
                          "$$s_{ij} = q_i \\cdot k_j / \\sqrt{d}$$", "slide")], title="01 데모")
    ko.metadata["language"] = "ko"
    nbformat.write(ko, root / "notebooks" / "ko" / "01_demo.ipynb")
    return root


def test_keys_are_not_rendered_as_empty_boxes():
    """``<kbd>Alt</kbd>`` in markdown: nbconvert (embed_images) rendered an empty key box, then "Alt"."""
    from vitcourse import site
    from vitcourse.decks import shown_notebook

    nb = new_notebook([md("# Keys\n\nPresent with RISE (<kbd>Alt</kbd>+<kbd>R</kbd>).", "slide")])
    raw = site._render("slides", nb, ROOT / "notebooks" / "01_x.ipynb", vendor="vendor")
    assert "<kbd></kbd>Alt" in raw  # the nbconvert behaviour this works around (fails once nbconvert is fixed)
    html = site._render("slides", shown_notebook(nb), ROOT / "notebooks" / "01_x.ipynb", vendor="vendor")
    assert "<kbd></kbd>" not in html and "<code>Alt</code>+<code>R</code>" in html


def test_korean_continued_heading():
    """A slide continued from the one before repeats its heading with "(계속)" in a Korean deck."""
    nb = new_notebook([md("## 점수\n\n" + "\n\n".join(f"문단 {i}: 고양이가 쥐를 쫓았다." for i in range(40)), "slide")])
    nb.metadata["language"] = "ko"
    from vitcourse.decks import deck_notebook

    heads = [c.source for c in deck_notebook(nb).cells if c.source.startswith("## ")]
    assert len(heads) >= 2 and heads[1] == "## 점수 (계속)", heads
    del nb.metadata["language"]  # an English notebook
    heads = [c.source for c in deck_notebook(nb).cells if c.source.startswith("## ")]
    assert len(heads) >= 2 and heads[1] == "## 점수 (cont.)", heads


@pytest.mark.slow
def test_make_slides_builds_korean_decks_that_pass_the_check(tmp_path, monkeypatch, node_modules, browser):
    """`python -m vitcourse.site slides` (make slides) builds notebooks/ko into OUT/ko, sharing OUT/vendor; the
    deck check (make check-slides) opens both: plugins registered, no console error or warning (MathJax's
    'Invalid option' included), Korean drawn with a real font, lang="ko", screenshots under shots/ko/."""
    from vitcourse import site, webcheck

    root = _course(tmp_path / "course")
    monkeypatch.setattr(site, "ROOT", root)
    out = tmp_path / "slides"
    assert site.main(["slides", "--out", str(out)]) == 0
    ko = out / "ko" / "01_demo.slides.html"
    assert ko.is_file() and (out / "01_demo.slides.html").is_file()
    assert '<html lang="ko">' in ko.read_text() and 'src="../vendor/reveal.js/dist/plugin/search.js"' in ko.read_text()
    for plugin in ("zoom", "search"):
        assert (out / "vendor" / "reveal.js" / "dist" / "plugin" / f"{plugin}.js").is_file()
    with webcheck.serve(out) as base:
        report = webcheck.check_folder(out, base, browser, shots=tmp_path / "shots", log=lambda *a: None,
                                       expected=lambda d: site.slide_counts(site.decks.deck_notebook(nbformat.read(
                                           root / "notebooks" / d.relative_to(out).as_posix().replace(
                                               ".slides.html", ".ipynb"), as_version=4))))
        assert not report.problems, "\n".join(report.problems)
        assert sorted(report.decks) == ["01_demo.slides.html", "ko/01_demo.slides.html"]
        assert len(list((tmp_path / "shots" / "ko" / "01_demo").glob("slide-*.png"))) == 2
        ctx, blocked = browser.context(base)
        for deck in report.decks:
            tab = browser.open(ctx, blocked, base + deck, wait=webcheck._READY_DECK)
            assert tab.page.evaluate("[Reveal.hasPlugin('zoom'), Reveal.hasPlugin('search')]") == [True, True]
            # search (Ctrl+Shift+F): typing a word of the second slide and Enter goes there
            tab.page.evaluate("Reveal.getPlugin('search').open()")
            tab.page.fill(".searchinput", "점수" if deck.startswith("ko/") else "Scores")
            tab.page.press(".searchinput", "End")  # the plugin searches again only after a keyup other than Enter
            tab.page.press(".searchinput", "Enter")
            tab.page.wait_for_function("Reveal.getIndices().h === 1", timeout=10_000)
            glyphs = tab.page.evaluate(webcheck._TOFU_JS)
            assert glyphs["missing"] == [] and glyphs["checked"] >= (20 if deck.startswith("ko/") else 0), glyphs
            assert not tab.problems, tab.problems
            tab.page.close()
        ctx.close()


def test_korean_notebooks_named_on_the_command_line_go_to_ko(tmp_path, monkeypatch, node_modules):
    """`slides --out OUT notebooks/x notebooks/ko/x` used to write both decks to OUT/x.slides.html, the Korean one
    over the English; a Korean notebook alone must still get the shared vendor folder."""
    from vitcourse import site

    root = _course(tmp_path / "course")
    monkeypatch.setattr(site, "ROOT", root)
    en, ko = root / "notebooks" / "01_demo.ipynb", root / "notebooks" / "ko" / "01_demo.ipynb"
    out = tmp_path / "both"
    assert site.main(["slides", "--out", str(out), str(en), str(ko)]) == 0
    assert 'lang="ko"' not in (out / "01_demo.slides.html").read_text()
    assert '<html lang="ko">' in (out / "ko" / "01_demo.slides.html").read_text()
    out = tmp_path / "korean"
    assert site.main(["slides", "--out", str(out), str(ko)]) == 0
    assert (out / "ko" / "01_demo.slides.html").is_file() and not (out / "01_demo.slides.html").exists()
    assert (out / "vendor" / "reveal.js" / "dist" / "reveal.js").is_file()


def test_two_notebooks_of_one_name_in_one_deck_folder_are_refused(tmp_path):
    from vitcourse import site

    root = _course(tmp_path / "course")
    with pytest.raises(ValueError, match="two notebooks named '01_demo'.*second over the first"):
        site.build_slides(tmp_path / "out", [root / "notebooks" / "01_demo.ipynb",
                                             root / "notebooks" / "ko" / "01_demo.ipynb"], copy_assets=False)


def test_console_warning_fails_the_check(tmp_path, node_modules, browser):
    """The MathJax configuration the decks had (options.enableMenu without the menu component) warns on the
    console; the check reports that warning, as it reports console errors."""
    from vitcourse import site, webcheck

    site.copy_vendor(node_modules, tmp_path / "vendor")
    (tmp_path / "warn.html").write_text("""<!DOCTYPE html><html><head><meta charset="utf-8"><script>
window.MathJax = {loader: {load: ['input/tex', 'output/chtml']}, options: {enableMenu: false},
  startup: {pageReady: () => MathJax.startup.defaultPageReady().then(() => { window.vitcourseMathDone = true; })}};
</script><script src="vendor/mathjax/startup.js"></script></head><body><p>$x$</p></body></html>""")
    with webcheck.serve(tmp_path) as base:
        ctx, blocked = browser.context(base)
        tab = browser.open(ctx, blocked, base + "warn.html", wait=webcheck._READY_PAGE)
        assert any(p.startswith("console warning:") and "enableMenu" in p for p in tab.problems), tab.problems
        ctx.close()


def test_korean_tofu_is_reported_without_a_korean_font(tmp_path, node_modules, browser):
    """On a machine without a Korean font (here: Chromium seeing only the DejaVu fonts through fontconfig) the
    Korean deck's text is drawn as boxes, and the check says so (with the system fonts it does not: the Korean
    decks test above)."""
    from vitcourse import site, webcheck

    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not (dejavu / "DejaVuSans.ttf").is_file():
        pytest.skip(f"the no-Korean-font fixture needs the DejaVu fonts in {dejavu} (fonts-dejavu-core)")
    root = _course(tmp_path / "course")
    out = tmp_path / "slides"
    site.build_slides(out, [root / "notebooks" / "ko" / "01_demo.ipynb"], node_modules=node_modules)
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>""")
    with webcheck.serve(out) as base, browser.sibling(env={"FONTCONFIG_FILE": str(conf)}) as no_korean:
        report = webcheck.check_folder(out, base, no_korean, log=lambda *a: None)
    tofu = [p for p in report.problems if "missing-glyph boxes" in p]
    assert tofu and "fonts-nanum" in tofu[0], report.problems


@pytest.mark.slow
def test_make_pdf_one_page_per_slide_of_a_real_deck(tmp_path, node_modules, browser):
    """`make pdf` on a real lecture deck (English and Korean): one page per slide, nothing cut."""
    from vitcourse import decks, site, webcheck

    lecture = next(p for p in LECTURES if p.name.startswith("00_"))
    nbs = [lecture] + [p for p in KO_LECTURES if p.name == lecture.name]
    out = tmp_path / "slides"
    site.build_slides(out, nbs[:1], node_modules=node_modules)
    if len(nbs) > 1:
        site.build_slides(out / "ko", nbs[1:], vendor="../vendor", copy_assets=False)
    problems = site.build_pdfs(out, tmp_path / "pdf", browser=browser, log=lambda *a: None)
    assert problems == [], "\n".join(problems)
    for nb_path in nbs:
        rel = "ko/" if nb_path.parent.name == "ko" else ""
        pdf = tmp_path / "pdf" / f"{rel}{nb_path.stem}.pdf"
        want = site.slide_counts(decks.deck_notebook(nbformat.read(nb_path, as_version=4)))["subslides"]
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and webcheck.pdf_page_count(data) == want, (pdf, want)
        assert len(re.findall(rb"/MediaBox", data)) == want  # a second count: one media box per page


def test_make_pdf_fails_on_a_slide_taller_than_a_page(tmp_path, node_modules, browser):
    """A slide whose content is taller than the page would spill onto more pages (reveal.js's print view) and
    be cut: the PDF step reports the slide and the page count, and the command fails."""
    from vitcourse import site

    root = _course(tmp_path / "course", tall=True)
    out = tmp_path / "slides"
    site.build_slides(out, [root / "notebooks" / "01_demo.ipynb"], node_modules=node_modules)
    problems = site.build_pdfs(out, tmp_path / "pdf", browser=browser, log=lambda *a: None)
    text = "\n".join(problems)
    assert "slide 3 'Too tall': content is" in text and "would be cut and spill onto 3 pages" in text, text
    assert "the PDF has 5 pages for 3 slides" in text, text
    cli = subprocess.run([sys.executable, "-m", "vitcourse.site", "pdf", str(out), "--out", str(tmp_path / "pdf2")],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert cli.returncode == 1 and "PROBLEM" in cli.stdout, cli.stdout + cli.stderr


def test_pdf_page_count():
    from vitcourse.webcheck import pdf_page_count

    two = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>\n2 0 obj << /Type /Page >>\n" \
          b"3 0 obj <</Type/Page/Parent 1 0 R>>\n"
    assert pdf_page_count(two) == 2
    with pytest.raises(ValueError, match="object streams"):
        pdf_page_count(b"%PDF-1.5\n1 0 obj << /Type /ObjStm /N 3 >>\n")
