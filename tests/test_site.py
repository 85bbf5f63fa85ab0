"""`make slides` and `make site`: built into temporary folders, checked on disk, then opened in headless Chromium.

On disk: one deck and one page per lecture, student downloads without
solutions, instructor pages with solutions and grading notes, every local link
resolves, and no built file names a CDN host or loads anything from the web.

In the browser (the system Chromium driven by Playwright, `vitcourse.webcheck`;
skipped with the reason when either is missing; pages served by a local HTTP
server, every other request blocked): reveal.js initialised, the number of
slides is what the notebook's slide metadata says, speaker notes are in the
deck, MathJax typeset the formulas without errors, every image loaded, nothing
failed to load, no console error, every link serves what it promises. A
screenshot of every slide goes to ``build/screenshots/``.
"""
from __future__ import annotations

import base64
import copy
import html
import json
import io
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from vitcourse import decks, reader, site, webcheck
from vitcourse import notebooks as nbtools
from vitcourse.notebooks import ROOT, code, md, new_notebook, solution_cell

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LECTURES_KO = sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
SOLUTIONS_KO = sorted((ROOT / "solutions" / "ko").glob("*.ipynb"))
DOCS = sorted((ROOT / "docs").glob("*.md"))
SHOTS = ROOT / "build" / "screenshots"
TIMINGS: dict[str, float] = {}
REPORT: list[str] = []

pytestmark = pytest.mark.slow


# ----------------------------------------------------------------------------- fixtures


def _png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [1, 0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _demo_course(root: Path) -> Path:
    """A tiny course: one lecture (math, notes, skip, fragment, subslide, a figure), one exercise, two docs."""
    for d in ("notebooks", "solutions", "docs"):
        (root / d).mkdir(parents=True)
    fig = code("plt.plot([0, 1, 2], [1, 0, 1])", "subslide")
    fig.execution_count = 2
    fig.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"})]
    run = code("# NBVAL_CHECK_OUTPUT\nx = 1  # " + "a long comment that must wrap, not be clipped; " * 6 + "\nprint(x)", "fragment")
    run.execution_count = 1
    run.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cells = [
        md("# 01 Demo attention\n\n**Learning goals**\n- read $\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$\n- mask with $-\\infty$"
           "\n\n**Prerequisites**: matrix products.", "slide"),
        md("Speaker notes: 2 minutes. Ask the room what $\\sqrt{d}$ is for.", "notes"),
        md("## Scores\n$$s_{ij} = \\frac{q_i \\cdot k_j}{\\sqrt{d}}$$", "slide"),
        run,
        md("a skipped cell with $a$", "skip"),
        fig,
        md("## Summary", "slide"),
    ]
    nbformat.write(new_notebook(cells), root / "notebooks" / "01_demo.ipynb")
    sol = [md("# Exercise 01: ReLU", "slide"),
           solution_cell("def relu(x):\n    ### BEGIN SOLUTION\n    return x.clamp(min=0)\n    ### END SOLUTION", "relu"),
           nbtools.test_cell('from vitcourse.checks import check\ncheck("00.relu", relu)\n### BEGIN HIDDEN TESTS\n'
                     'check("00.relu", relu, hidden=True)\n### END HIDDEN TESTS', "test_relu", 3)]
    nbformat.write(new_notebook(sol), root / "solutions" / "01_demo.ipynb")
    ko_cells = [copy.deepcopy(c) for c in cells]
    ko_cells[0].source = ko_cells[0].source.replace("# 01 Demo attention", "# 01 데모 어텐션 (attention)")
    ko_cells[2].source = ko_cells[2].source.replace("## Scores", "## 점수 (scores)")
    for d in ("notebooks/ko", "solutions/ko"):
        (root / d).mkdir(parents=True)
    nbformat.write(new_notebook(ko_cells), root / "notebooks" / "ko" / "01_demo.ipynb")
    nbformat.write(new_notebook(sol), root / "solutions" / "ko" / "01_demo.ipynb")
    (root / "docs" / "glossary.md").write_text("# Glossary\n\n| English | 한국어 |\n|---|---|\n| attention | 어텐션 |\n\n"
                                              "softmax: $e^{x_i} / \\sum_j e^{x_j}$\n")
    (root / "docs" / "teaching.md").write_text("# Teaching\n\nLecture 01, 50 minutes.\n")
    (root / "docs" / "ko").mkdir()
    (root / "docs" / "ko" / "teaching.md").write_text(  # a translated doc (the header as vitcourse.i18n writes it)
        "<!-- translated from docs/teaching.md sha256:0000000000000000 -->\n# 강의 안내\n\n강의 01은 50분입니다. "
        "[용어집](../glossary.md)\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module", autouse=True)
def _timings():
    """Write how long building and browsing took (timings.txt) and a per-deck report (decks.txt: slides, notes,
    formulas, images, slides taller than the screen) to build/screenshots/."""
    yield
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "timings.txt").write_text("".join(f"{k}: {v:.1f} s\n" for k, v in TIMINGS.items()))
    (SHOTS / "decks.txt").write_text("".join(line + "\n" for line in REPORT))


@pytest.fixture(scope="module")
def node_modules():
    t0 = time.perf_counter()
    try:
        path = site.install_vendor(install=False)  # tests never run npm: `make vendor` (make test does) installs
    except site.BuildError as e:
        pytest.skip(str(e))
    TIMINGS["npm ci (or cached)"] = time.perf_counter() - t0
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory, node_modules):
    root = _demo_course(tmp_path_factory.mktemp("demo-course"))
    out = root / "site"
    site.build_site(out, notebooks_dir=root / "notebooks", solutions_dir=root / "solutions", docs_dir=root / "docs",
                    node_modules=node_modules, log=lambda *a: None)
    return root, out


@pytest.fixture(scope="module")
def real_site(tmp_path_factory, node_modules):
    out = tmp_path_factory.mktemp("site") / "site"
    t0 = time.perf_counter()
    site.build_site(out, node_modules=node_modules, instructor=False, log=lambda *a: None)  # what `make site` builds
    TIMINGS["build_site (repo, student)"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- on disk


_LOCAL_REF = re.compile(r"""<(?:a|link|script|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"'#][^"']*)["']""", re.I)


def _broken_links(folder: Path) -> list[str]:
    """Local links and resources of every page that do not resolve to a built file.

    Links an author wrote to repository files the site does not carry (``../vitcourse/attention.py``)
    point outside the site: they are reported as a warning, not a failure.
    """
    broken, outside = [], []
    root = folder.resolve()
    for page in sorted(folder.rglob("*.html")):
        for ref in _LOCAL_REF.findall(page.read_text()):
            ref = html.unescape(ref)
            if re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I):  # http:, data:, mailto:, about: ...
                continue
            target = (page.parent / unquote(urlsplit(ref).path)).resolve()
            if not target.is_relative_to(root):
                outside.append(f"{page.relative_to(folder)} -> {ref}")
            elif not target.exists():
                broken.append(f"{page.relative_to(folder)} -> {ref}")
    if outside:
        warnings.warn(f"{len(outside)} link(s) to files outside the site: {outside[:5]}", UserWarning, stacklevel=2)
    return broken


def test_build_slides_one_offline_deck_per_lecture(tmp_path, node_modules, demo):
    root, _ = demo
    # every lecture's deck is built (and opened) with the site below; here: the layout make slides writes
    notebooks = LECTURES[:2] + [root / "notebooks" / "01_demo.ipynb"]
    t0 = time.perf_counter()
    decks = site.build_slides(tmp_path, notebooks, node_modules=node_modules)
    TIMINGS[f"build_slides ({len(notebooks)} decks)"] = time.perf_counter() - t0
    assert [d.name for d in decks] == [f"{p.stem}.slides.html" for p in notebooks]
    for rel in ("reveal.js/dist/reveal.js", "reveal.js/dist/plugin/notes.js", "reveal.js/dist/theme/white.css",
                "mathjax/startup.js", "mathjax/input/tex.js", "mathjax/output/chtml.js"):
        assert (tmp_path / "vendor" / rel).is_file(), rel
    for deck in decks:
        text = deck.read_text()
        assert 'src="vendor/reveal.js/dist/reveal.js"' in text and 'src="vendor/mathjax/startup.js"' in text
        assert "Reveal.initialize" in text
    assert site.find_cdn_references(tmp_path) == []
    assert site.find_external_resources(tmp_path) == []
    assert _broken_links(tmp_path) == []


def test_site_layout_and_links(real_site):
    out = real_site
    assert (out / "index.html").is_file()
    for nb in LECTURES:
        for rel in (f"lectures/{nb.stem}.html", f"slides/{nb.stem}.slides.html", f"notebooks/{nb.name}"):
            assert (out / rel).is_file(), rel
    for sol in SOLUTIONS:
        for rel in (f"exercises/{sol.name}", f"exercises/{sol.stem}.html"):
            assert (out / rel).is_file(), rel
    assert not (out / "instructor").exists(), "the student site must not carry instructor pages"
    for doc in DOCS:
        assert (out / "docs" / f"{doc.stem}.html").is_file() == (doc.stem not in site.INSTRUCTOR_DOCS), doc.name
    index = (out / "index.html").read_text()
    for nb in LECTURES:
        info = site.lecture_info(nb)
        assert html.escape(info.title) in index, f"the index lacks the title of {nb.name}: {info.title!r}"
        assert f'href="slides/{nb.stem}.slides.html"' in index and f'href="lectures/{nb.stem}.html"' in index
    assert _broken_links(out) == []


def test_no_cdn_host_or_web_resource_in_any_built_file(real_site):
    assert site.find_cdn_references(real_site) == []
    assert site.find_external_resources(real_site) == []


def test_offline_scan_catches_cdn_references(tmp_path):
    (tmp_path / "a.html").write_text('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
                                     '<a href="https://example.org/paper.pdf">paper</a>'
                                     '<link rel="canonical" href="https://example.org/">'
                                     '<link href="https://example.org/x.css" rel="stylesheet">'
                                     '<script src="vendor/reveal.js/dist/reveal.js"></script>')
    (tmp_path / "b.css").write_text('@import url("https://example.org/font.css");')
    (tmp_path / "c.js").write_text('var u = "//unpkg.com/reveal.js";')
    assert site.find_cdn_references(tmp_path) == ["a.html: cdn.jsdelivr.net", "c.js: unpkg.com"]
    assert site.find_external_resources(tmp_path) == ["a.html: https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js",
                                                      "a.html: https://example.org/x.css",
                                                      "b.css: https://example.org/font.css"]
    with pytest.raises(site.BuildError, match="point to the web"):
        site._check_offline(tmp_path)


def test_student_downloads_are_generated_from_solutions(real_site, demo):
    _, demo_out = demo
    for out, sols in ((real_site, SOLUTIONS), (demo_out, [demo[0] / "solutions" / "01_demo.ipynb"])):
        for sol in sols:
            ex = nbformat.read(out / "exercises" / sol.name, as_version=4)
            text = nbformat.writes(ex)
            assert "### BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, sol.name
            assert all(not c.get("outputs") for c in ex.cells if c.cell_type == "code"), sol.name
            assert ex.metadata["vitcourse"]["generated_from"] == f"solutions/{sol.name}"
    demo_ex = nbformat.read(demo_out / "exercises" / "01_demo.ipynb", as_version=4)
    assert "raise NotImplementedError()" in demo_ex.cells[1].source


def test_instructor_page_shows_solutions_and_grading_notes(demo):
    _, out = demo
    page = (out / "instructor" / "01_demo.html").read_text()
    assert "Grading notes" in page and "<b>3 points</b>" in page
    assert "00.relu" in page and "clamp" in page and "BEGIN HIDDEN TESTS" in page
    assert page.count('class="vc-graded vc-solution"') == 1 and page.count('class="vc-graded vc-test"') == 1
    notes = site.grading_notes(demo[0] / "solutions" / "01_demo.ipynb")
    assert notes["total_points"] == 3 and notes["problems"] == []
    (task,) = notes["tasks"]
    assert task["has_hidden_tests"] and [c["name"] for c in task["checks"]] == ["00.relu"]
    index = (out / "index.html").read_text()
    assert "Learning goals" in index and "Prerequisites" in index and "instructor/01_demo.html" in index


def test_student_site_leaves_out_solutions(demo, node_modules, tmp_path):
    root, _ = demo
    out = tmp_path / "student"
    site.build_site(out, notebooks_dir=root / "notebooks", solutions_dir=root / "solutions", docs_dir=root / "docs",
                    node_modules=node_modules, instructor=False, log=lambda *a: None)
    assert not (out / "instructor").exists()
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".ipynb"):
            text = f.read_text()
            assert "BEGIN SOLUTION" not in text and "clamp(min=0)" not in text, f
    assert "instructor/" not in (out / "index.html").read_text()
    assert (out / "docs" / "glossary.html").is_file() and not (out / "docs" / "teaching.html").exists()


def test_site_refuses_to_wipe_a_folder_that_is_not_a_site(tmp_path, node_modules):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(site.BuildError, match="refusing to delete"):
        site.build_site(tmp_path, node_modules=node_modules, log=lambda *a: None)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_cli_and_make_targets(tmp_path, demo, node_modules):
    root, _ = demo
    assert site.main(["slides", "--out", str(tmp_path), str(root / "notebooks" / "01_demo.ipynb")]) == 0
    assert (tmp_path / "01_demo.slides.html").is_file()
    assert site.main(["scan", str(tmp_path)]) == 0
    dry = subprocess.run(["make", "-n", "slides", "site"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "-m vitcourse.site slides" in dry.stdout and "-m vitcourse.site site" in dry.stdout


# ----------------------------------------------------------------------------- in the browser


def _expected(deck: Path, notes: bool = False):
    folder = ROOT / "notebooks" / ("ko" if deck.parent.name == "ko" else "")  # slides/ko/x: notebooks/ko/x
    src = folder / (deck.name[: -len(".slides.html")] + ".ipynb")
    return site.slide_counts(decks.deck_notebook(nbformat.read(src, as_version=4), notes=notes)) if src.is_file() else None


def _secrets() -> dict[str, list[str]]:
    """Text the student site must not contain: solution code, hidden tests (solutions/, solutions/ko/), speaker
    notes (notebooks/, notebooks/ko/)."""
    found = {"solution": [], "hidden test": [], "speaker note": []}
    for sol in SOLUTIONS + SOLUTIONS_KO:
        for cell in nbformat.read(sol, as_version=4).cells:
            for kind, begin, end in (("solution", "### BEGIN SOLUTION", "### END SOLUTION"),
                                     ("hidden test", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
                for block in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end), cell.source, re.S):
                    found[kind] += [ln.strip() for ln in block.splitlines() if len(ln.strip()) >= 16]
    public = ""  # lines students see anyway (lectures, generated exercises) are not secrets
    for nb in LECTURES + LECTURES_KO:
        for cell in nbformat.read(nb, as_version=4).cells:
            if cell.metadata.get("slideshow", {}).get("slide_type") == "notes":
                found["speaker note"].append(" ".join(cell.source.split())[:60])
            else:
                public += cell.source + "\n"
    for sol in SOLUTIONS + SOLUTIONS_KO:
        public += "\n".join(c.source for c in nbtools.make_exercise(nbformat.read(sol, as_version=4), sol.name).cells)
    return {k: sorted({s for s in v if s not in public}) for k, v in found.items()}


def _readable_text(path: Path) -> str:
    """A file's text as a reader or a program would see it: tags stripped and entities decoded for HTML,
    every string of a JSON file (a notebook, a search index), the raw text otherwise."""
    raw = path.read_text(errors="replace")
    if path.name == "search-index.js":
        entries = reader.read_search_index(path)["entries"]
        return raw + "\n" + "\n".join(e["t"] + " " + e["x"] for e in entries)
    if path.suffix in (".html", ".htm"):
        return raw + "\n" + " ".join(html.unescape(re.sub(r"<[^>]+>", "", raw)).split())
    if path.suffix in (".json", ".ipynb"):
        def strings(x):
            if isinstance(x, str):
                yield x
            elif isinstance(x, dict):
                for v in x.values():
                    yield from strings(v)
            elif isinstance(x, list):
                for v in x:
                    yield from strings(v)
        import json
        return raw + "\n" + "".join(strings(json.loads(raw)))
    return raw


def _leaks(folder: Path, secrets: dict) -> list[str]:
    """Every file under ``folder`` (vendor/ left out) that holds a secret or a solution/notes marker."""
    leaks = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or "vendor" in f.relative_to(folder).parts:
            continue
        text = _readable_text(f)
        flat = " ".join(text.split())
        leaks += [f"{f.relative_to(folder)}: {kind}: {snippet!r}" for kind, snippets in secrets.items()
                  for snippet in snippets if snippet in text or snippet in flat]
        for marker in ('class="notes"', "BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Grading notes"):
            if marker in text:
                leaks.append(f"{f.relative_to(folder)}: {marker!r}")
    return leaks


def test_student_site_has_no_solution_hidden_test_or_speaker_note(real_site):
    """Both languages: every file of the student site, the Korean edition (ko/, slides/ko/) and the search
    indexes included."""
    secrets = _secrets()
    assert all(secrets.values()), {k: len(v) for k, v in secrets.items()}  # the scan looks for something
    assert any(re.search("[가-힣]", s) for s in secrets["speaker note"]), "no Korean speaker note to look for"
    assert (real_site / "ko" / "search-index.js").is_file() and (real_site / "ko" / "exercises").is_dir()
    leaks = _leaks(real_site, secrets)
    assert not leaks, "\n".join(leaks[:30])


def test_secret_scan_finds_a_korean_speaker_note_in_a_search_index(tmp_path):
    """The scan can fail: a Korean speaker note planted in a search index and a solution line in a page."""
    secrets = _secrets()
    note = next(s for s in secrets["speaker note"] if re.search("[가-힣]", s))
    (tmp_path / "ko").mkdir()
    reader.write_search_index(tmp_path / "ko", [{"u": "lectures/x.html", "t": "x", "p": "x", "x": "앞 " + note}], "ko")
    line = next(x for x in secrets["solution"] if not re.search(r"[<>&]", x))
    (tmp_path / "page.html").write_text(f"<p>{html.escape(line)}</p>")
    leaks = _leaks(tmp_path, secrets)
    assert any(x.startswith("ko/search-index.js: speaker note") for x in leaks), leaks
    assert any(x.startswith("page.html: solution") for x in leaks), leaks


def test_instructor_site_links_in_chromium(browser, demo):
    """The instructor site's nav links (solution notebook, student version, slides) reach their targets."""
    _, out = demo
    with webcheck.serve(out) as base:
        report = webcheck.check_folder(out, base, browser, log=lambda *a: None)
    assert not report.problems, "\n".join(report.problems)


def test_demo_deck_in_chromium(browser, demo):
    root, out = demo
    with webcheck.serve(out) as base:
        ctx, blocked = browser.context(base)
        tab = browser.open(ctx, blocked, base + "slides/01_demo.slides.html", wait=webcheck._READY_DECK)
        stats = webcheck.check_deck(tab, shots=SHOTS / "test_fixture_deck",
                                    expected=site.slide_counts(decks.deck_notebook(nbformat.read(
                                        root / "notebooks" / "01_demo.ipynb", as_version=4))))
        assert not stats["problems"], "\n".join(stats["problems"])
        # known answer: first cell + 2 'slide' cells = 3 slides; plus 1 'subslide' = 4 (skip/notes start nothing)
        assert (stats["reveal"]["total"], stats["reveal"]["horizontal"], stats["notes"]) == (4, 3, 1)
        assert stats["mjx"] >= 4 and len(stats["images"]) == 1
        assert len(stats["slides"]) == 4 and all(Path(s["shot"]).stat().st_size > 5_000 for s in stats["slides"])
        # the speaker view (key S) opens offline and shows the notes cell
        with ctx.expect_page() as popup:
            tab.page.evaluate("Reveal.getPlugin('notes').open()")
        speaker = webcheck.Tab(popup.value, blocked=blocked)
        webcheck.watch(speaker)
        speaker.page.wait_for_function("((document.querySelector('.speaker-controls-notes') || {}).textContent || '')"
                                       ".includes('Speaker notes: 2 minutes')", timeout=20_000)
        speaker.page.screenshot(path=str(SHOTS / "test_fixture_speaker_view.png"))
        assert not speaker.problems and not tab.problems, speaker.problems + tab.problems
        ctx.close()


def test_real_site_in_chromium(browser, real_site):
    """Every deck and page of the real site, in one browser session: counts, formulas, images, links, network."""
    t0 = time.perf_counter()
    with webcheck.serve(real_site) as base:
        report = webcheck.check_folder(real_site, base, browser, shots=SHOTS / "site", expected=_expected,
                                       log=REPORT.append)
    TIMINGS["browser: every deck and page"] = time.perf_counter() - t0
    assert not report.problems, "\n".join(report.problems)
    assert (report.tall, report.clipped) == (0, 0)
    assert len(report.decks) == len(LECTURES) + len(LECTURES_KO)  # every English and every Korean deck
    assert {d.startswith("slides/ko/") for d in report.decks} == {True, False}
    assert all(s["height"] <= s["room"] + 1 and s["title"] for d in report.decks.values() for s in d["slides"])


def _bad_fixture(folder: Path, node_modules: Path) -> Path:
    """A deck and a page with one of each fault the check must catch."""
    site.copy_vendor(node_modules, folder / "vendor")
    tall = "".join(f"<p>line {i}</p>" for i in range(60))
    (folder / "bad.slides.html").write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="vendor/reveal.js/dist/reveal.css">
<style>.reveal .slides section {{ height: 720px; overflow: hidden; }}
pre {{ white-space: pre; overflow: hidden; width: 600px; }}</style></head>
<body><div class="reveal"><div class="slides">
<section><section><h2>Fine</h2><p>short</p></section><section><h2>Tall</h2>{tall}</section></section>
<section><section><h2>Long line</h2><pre><code>{"x = 1; " * 80}</code></pre></section></section>
<section><section><p>no heading here</p></section></section>
</div></div>
<script src="vendor/reveal.js/dist/reveal.js"></script>
<script>window.vitcourseMathDone = true;
Reveal.initialize({{width: 1280, height: 720, center: false}}).then(() => {{ window.vitcourseRevealReady = true; }});
console.error("boom");</script></body></html>""")
    (folder / "page.html").write_text("""<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<nav class="vc-nav"><a href="page.html">Download notebook</a> <a href="bad.slides.html">Download notebook</a>
<a href="missing.html">Next</a> <a href="#nowhere">Contents</a></nav>
<img src="https://example.org/logo.png" alt="web image">
<script>window.vitcourseMathDone = true;</script></body></html>""")
    return folder


def test_check_fails_on_a_bad_deck_and_page(browser, tmp_path, node_modules):
    """The deck check can fail: a tall slide, a clipped long line, a slide without a heading, a console error,
    a web request, and nav links that are broken or serve the wrong thing are each reported."""
    folder = _bad_fixture(tmp_path / "bad", node_modules)
    with webcheck.serve(folder) as base:
        report = webcheck.check_folder(folder, base, browser, shots=tmp_path / "shots", log=lambda *a: None)
    text = "\n".join(report.problems)
    assert report.tall == 1 and "slide 1.2 'Tall'" in text, text
    assert report.clipped == 1 and "slide 2.1 'Long line': clipped pre" in text, text
    assert "slide 3.1 '': no heading" in text, text
    assert "bad.slides.html: console error: boom" in text, text
    assert "page.html: network request outside the local server: https://example.org/logo.png" in text, text
    assert "link 'Download notebook' -> page.html: points to the page itself" in text, text
    assert "link 'Download notebook' -> bad.slides.html: promises a notebook, serves slides" in text, text
    assert "link 'Next' -> missing.html: HTTP 404" in text, text
    assert "link 'Contents' -> #nowhere: no element with id 'nowhere'" in text, text
    assert len(list((tmp_path / "shots" / "bad").glob("slide-*.png"))) == 4
    # the command line fails too (a separate process: Playwright's sync API allows one session per thread)
    cli = subprocess.run([sys.executable, "-m", "vitcourse.site", "check", str(folder), "--screenshots",
                          str(tmp_path / "cli-shots")], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert cli.returncode == 1 and "1 slide(s) taller than 1280x720, 1 clipped" in cli.stdout, cli.stdout + cli.stderr


# ----------------------------------------------------------------------------- reader features (both languages)


_NAV_A = re.compile(r"<a\b([^>]*\bdata-vc-nav\b[^>]*)>(.*?)</a>", re.S)


def _nav_links(page: str) -> list[tuple[str, str, str]]:
    """(class, href, label) of every chrome link (top bar, pager) of a built page."""
    out = []
    for attrs, label in _NAV_A.findall(page):
        href = re.search(r'href="([^"]*)"', attrs)
        cls = re.search(r'class="([^"]*)"', attrs)
        out.append((cls.group(1) if cls else "", html.unescape(href.group(1)), " ".join(re.sub("<[^>]+>", " ", label).split())))
    return out


def _sidebar_links(page: str) -> list[tuple[str, str]]:
    """(fragment, label) of every link of the contents sidebar."""
    m = re.search(r'<details class="vc-sidebar".*?</details>', page, re.S)
    return [(html.unescape(h), html.unescape(t)) for h, t in re.findall(r'<a href="#([^"]+)">(.*?)</a>', m.group(0))] if m else []


def _cell_sources(nb) -> list[str]:
    return [c.source for c in nb.cells]


def _editions(out: Path):
    """(prefix, lectures, solutions, slides folder) of each language of the real site."""
    return [("", LECTURES, SOLUTIONS, out / "slides"), ("ko/", LECTURES_KO, SOLUTIONS_KO, out / "slides" / "ko")]


def test_every_nav_link_reaches_its_intended_target(real_site):
    """On every lecture and exercise page of both languages: the download serves the notebook of that page
    (its cells are the lecture's, speaker notes left out; the exercise's as `make exercises` writes them),
    previous/next reach the neighbouring lectures, the language switch reaches the same page in the other
    language, the slides link the page's deck, and every sidebar link a heading of the page with that text."""
    out = real_site
    assert LECTURES_KO, "no Korean lectures in notebooks/ko"
    problems, missing_decks, checked = [], [], 0

    def target(page: Path, href: str) -> Path:
        return (page.parent / unquote(urlsplit(href).path)).resolve()

    for prefix, lectures, solutions, slides in _editions(out):
        other = "ko/" if prefix == "" else ""
        titles = [site.lecture_info(p).title for p in lectures]
        for i, nb_path in enumerate(lectures):
            page = out / prefix / "lectures" / f"{nb_path.stem}.html"
            text = page.read_text()
            links = _nav_links(text)
            kinds = {k: [(h, lbl) for c, h, lbl in links if k in c.split()] for k in
                     ("vc-download", "vc-prev", "vc-next", "vc-lang", "vc-slides")}
            (dl, _), = kinds["vc-download"]
            served = nbformat.read(target(page, dl), as_version=4)
            want = [c for c in nbformat.read(nb_path, as_version=4).cells
                    if c.metadata.get("slideshow", {}).get("slide_type") != "notes"]
            if target(page, dl).suffix != ".ipynb" or _cell_sources(served) != [c.source for c in want]:
                problems.append(f"{page.relative_to(out)}: download {dl} does not serve {nb_path.name}")
            for kind, j in (("vc-prev", i - 1), ("vc-next", i + 1)):
                expect = (out / prefix / "lectures" / f"{lectures[j].stem}.html").resolve() \
                    if 0 <= j < len(lectures) else None
                got = {target(page, h) for h, _ in kinds[kind]}
                if got != ({expect} if expect else set()):
                    problems.append(f"{page.relative_to(out)}: {kind} reaches {got}, expected {expect}")
                elif expect and html.escape(titles[j]) not in expect.read_text():
                    problems.append(f"{page.relative_to(out)}: {kind} page lacks the title {titles[j]!r}")
            (lang, _), = kinds["vc-lang"]
            if target(page, lang) != (out / other / "lectures" / page.name).resolve():
                problems.append(f"{page.relative_to(out)}: language switch reaches {lang}")
            (deck, _), = kinds["vc-slides"]
            if target(page, deck) != (slides / f"{nb_path.stem}.slides.html").resolve():
                problems.append(f"{page.relative_to(out)}: slides link {deck}")
            elif not target(page, deck).is_file():
                missing_decks.append(str(target(page, deck).relative_to(out)))
            heads = {hid: t for _, hid, t in reader.headings(text)}
            side = _sidebar_links(text)
            if len(side) < 3:
                problems.append(f"{page.relative_to(out)}: only {len(side)} sidebar links")
            problems += [f"{page.relative_to(out)}: sidebar #{frag} ({label!r}) has no heading with that text"
                         for frag, label in side if heads.get(frag) != label]
            checked += 1
        for sol in solutions:
            page = out / prefix / "exercises" / f"{sol.stem}.html"
            links = _nav_links(page.read_text())
            (dl,) = [h for c, h, _ in links if "vc-download" in c]
            expect = nbtools.make_exercise(nbformat.read(sol, as_version=4), sol.name)
            if _cell_sources(nbformat.read(target(page, dl), as_version=4)) != _cell_sources(expect):
                problems.append(f"{page.relative_to(out)}: download {dl} is not the student version of {sol.name}")
            (lang,) = [h for c, h, _ in links if "vc-lang" in c]
            if target(page, lang) != (out / other / "exercises" / page.name).resolve():
                problems.append(f"{page.relative_to(out)}: language switch reaches {lang}")
            checked += 1
        index = out / prefix / "index.html"
        (lang,) = [h for c, h, _ in _nav_links(index.read_text()) if "vc-lang" in c]
        if target(index, lang) != (out / other / "index.html").resolve():
            problems.append(f"{index.relative_to(out)}: language switch reaches {lang}")
    assert checked == len(LECTURES) + len(LECTURES_KO) + len(SOLUTIONS) + len(SOLUTIONS_KO)
    assert not problems, "\n".join(problems[:30])
    if missing_decks:
        pytest.skip(f"every other link reached its target; {len(missing_decks)} deck(s) the pages link are not built "
                    f"(the Korean decks come from vitcourse.decks): {missing_decks[:3]}")


def test_nav_link_check_catches_a_wrong_download(tmp_path):
    """The link parsing above can fail: a page whose download points at the page itself."""
    page = '<a href="01.html" class="vc-download" data-vc-nav download>Download notebook (.ipynb)</a>'
    ((cls, href, label),) = _nav_links(page)
    assert (cls, href) == ("vc-download", "01.html") and not href.endswith(".ipynb")


def test_instructor_page_downloads_the_solution(demo):
    root, out = demo
    for prefix in ("", "ko/"):
        page = out / prefix / "instructor" / "01_demo.html"
        (dl,) = [h for c, h, _ in _nav_links(page.read_text()) if "vc-download" in c]
        served = nbformat.read(page.parent / dl, as_version=4)
        assert dl == "01_demo.ipynb"
        assert _cell_sources(served) == _cell_sources(nbformat.read(root / "solutions" / prefix / "01_demo.ipynb",
                                                                     as_version=4))
        assert "### BEGIN SOLUTION" in nbformat.writes(served)
    assert (out / "ko" / "lectures" / "01_demo.html").is_file() and (out / "slides" / "ko" / "01_demo.slides.html").is_file()
    assert 'lang="ko"' in (out / "ko" / "lectures" / "01_demo.html").read_text()


def _search(page, query: str) -> list[str]:
    """Type ``query`` into the page's search box like a reader; the hrefs of the results shown."""
    box = page.locator("#vc-search-box")
    box.fill("")
    box.type(query, delay=20)
    page.wait_for_function("() => !document.getElementById('vc-search-results').hidden", timeout=20_000)
    return page.eval_on_selector_all("#vc-search-results a", "as => as.map(a => a.href)")


def _assert_search_finds(page, query: str, path_end: str) -> None:
    hrefs = _search(page, query)
    assert any(urlsplit(h).path.endswith(path_end) for h in hrefs), \
        f"search {query!r}: no result in {path_end}: {hrefs}"


def test_search_finds_hungarian_offline_and_links_work_in_chromium(browser, real_site):
    """In a real browser, everything else blocked: search finds "Hungarian" (and 헝가리안 in Korean) with a
    result linking to lecture 09; clicking through a sidebar link, next, the language switch and the download
    lands where each promises; the light/dark choice follows the system and is remembered; no console error
    and no request leaves the local server."""
    with webcheck.serve(real_site) as base:
        ctx, blocked = browser.context(base)
        ctx.set_default_timeout(60_000)
        tab = browser.open(ctx, blocked, base + "lectures/01_attention.html", wait=webcheck._READY_PAGE)
        page = tab.page
        _assert_search_finds(page, "Hungarian", "/lectures/09_detr.html")
        page.click("#vc-search-results a[href*='09_detr.html']")
        page.wait_for_url("**/lectures/09_detr.html*")
        assert "DETR" in page.locator("h1").first.text_content()
        frag, label = _sidebar_links(page.content())[3]
        page.click(f".vc-sidebar a[href='#{frag}']")
        assert page.evaluate("location.hash") == f"#{frag}"
        top = page.evaluate("id => document.getElementById(id).getBoundingClientRect().top", frag)
        assert 0 <= top < 200, f"sidebar link {label!r} scrolled its heading to y={top}"
        page.click(".vc-top a.vc-next")
        page.wait_for_url("**/lectures/10_unet.html")
        page.click(".vc-top a.vc-lang")
        page.wait_for_url("**/ko/lectures/10_unet.html")
        assert page.evaluate("document.documentElement.lang") == "ko"
        with page.expect_download() as dl:
            page.click(".vc-top a.vc-download")
        served = nbformat.read(dl.value.path(), as_version=4)
        want = [c.source for c in nbformat.read(ROOT / "notebooks" / "ko" / "10_unet.ipynb", as_version=4).cells
                if c.metadata.get("slideshow", {}).get("slide_type") != "notes"]
        assert dl.value.suggested_filename == "10_unet.ipynb" and _cell_sources(served) == want
        page.wait_for_function(webcheck._READY_PAGE)
        _assert_search_finds(page, "헝가리안", "/ko/lectures/09_detr.html")
        # light/dark: the system's choice first, then the reader's, remembered across pages
        page.emulate_media(color_scheme="dark")
        page.reload()
        assert page.evaluate("document.documentElement.dataset.vcTheme") == "dark"
        page.click("#vc-theme")
        assert page.evaluate("document.documentElement.dataset.vcTheme") == "light"
        page.goto(base + "index.html")
        assert page.evaluate("document.documentElement.dataset.vcTheme") == "light"
        page.wait_for_function(webcheck._READY_PAGE)
        assert not tab.problems and not blocked, tab.problems + blocked
        ctx.close()


def test_search_fails_on_a_site_whose_index_lacks_the_word(browser, real_site):
    """The search test can fail: the same site served with a search index whose sections naming
    "Hungarian" were dropped finds no result in lecture 09."""
    index = reader.read_search_index(real_site / "search-index.js")
    kept = [e for e in index["entries"] if "hungarian" not in (e["t"] + e["x"] + e["p"]).lower()]
    assert len(kept) < len(index["entries"])
    body = "window.vcSearchIndex = " + json.dumps({**index, "entries": kept}) + ";"
    with webcheck.serve(real_site) as base:
        ctx, blocked = browser.context(base)
        ctx.route("**/search-index.js", lambda r: r.fulfill(status=200, content_type="text/javascript", body=body))
        tab = browser.open(ctx, blocked, base + "lectures/01_attention.html", wait=webcheck._READY_PAGE)
        with pytest.raises(AssertionError, match="no result in /lectures/09_detr.html"):
            _assert_search_finds(tab.page, "Hungarian", "/lectures/09_detr.html")
        ctx.close()


_OVERFLOW_JS = """() => {
  const d = document.documentElement, w = d.clientWidth;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'fixed')
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= w + 1)
    .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + String(e.className).split(' ')[0]);
  return {scroll: d.scrollWidth, client: w, wide: wide};
}"""


def _horizontal_scroll(browser, base: str, pages: list[str]) -> list[str]:
    """Pages that scroll sideways on a 390x844 phone (scrollWidth > clientWidth), with the widest elements."""
    ctx, blocked = browser.context(base, viewport={"width": 390, "height": 844})
    bad = []
    try:
        for rel in pages:
            tab = browser.open(ctx, blocked, base + rel, wait=webcheck._READY_PAGE)
            m = tab.page.evaluate(_OVERFLOW_JS)
            if m["scroll"] > m["client"]:
                bad.append(f"{rel}: {m['scroll']} px wide in {m['client']} px ({m['wide']})")
            bad += [f"{rel}: {p}" for p in tab.problems]
            tab.page.close()
    finally:
        ctx.close()
    return bad


def test_phone_layout_has_no_horizontal_scroll(browser, real_site):
    pages = ["index.html", "ko/index.html", "docs/glossary.html", "exercises/09_detr.html",
             "ko/exercises/01_attention.html"]
    pages += [f"{prefix}lectures/{nb.stem}.html" for prefix, lectures, _, _ in _editions(real_site) for nb in lectures]
    with webcheck.serve(real_site) as base:
        bad = _horizontal_scroll(browser, base, pages)
    assert not bad, "\n".join(bad)


def test_phone_check_fails_on_a_wide_page(browser, tmp_path):
    (tmp_path / "wide.html").write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">'
                                        '</head><body><div style="width: 800px">wide</div>'
                                        '<script>window.vitcourseMathDone = true;</script></body></html>')
    with webcheck.serve(tmp_path) as base:
        bad = _horizontal_scroll(browser, base, ["wide.html"])
    assert len(bad) == 1 and bad[0].startswith("wide.html: 808 px wide in 390 px"), bad  # 800 + body margin


def test_korean_docs_are_built_into_the_korean_edition_and_linked_from_its_index(demo):
    _, out = demo
    ko = (out / "ko" / "docs" / "teaching.html").read_text()
    assert 'lang="ko"' in ko and "강의 01은 50분입니다" in ko and "translated from" not in ko
    assert 'href="../../docs/glossary.html"' in ko  # ../glossary.md from docs/ko/: the English (bilingual) glossary
    index = (out / "ko" / "index.html").read_text()
    assert 'href="docs/teaching.html">Teaching</a>' in index  # the Korean doc, no "(영어)" mark
    assert 'href="../docs/glossary.html">Glossary (영어)</a>' in index  # no translation: the English doc, marked
    assert 'href="../ko/docs/teaching.html"' in (out / "docs" / "teaching.html").read_text()  # language switch


def test_a_request_cancelled_by_navigation_is_no_page_problem_but_other_failures_are():
    """Navigating while MathJax's fonts load cancels them (net::ERR_ABORTED): not the page's fault, and it made
    the browser test flaky; a refused connection or a blocked outside request still counts."""
    url = "http://127.0.0.1:1/vendor/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"
    assert webcheck.request_failure(url, "net::ERR_ABORTED", set()) is None
    assert webcheck.request_failure(url, "net::ERR_CONNECTION_REFUSED", set()) == (
        f"failed to load {url}: net::ERR_CONNECTION_REFUSED")
    assert webcheck.request_failure("https://cdn.example/x.js", "net::ERR_FAILED", {"https://cdn.example/x.js"}) is None
