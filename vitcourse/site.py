"""Instructor decks and the course website, built offline from the very notebooks students run.

Command line (used by the Makefile)::

    python -m vitcourse.site slides [--out build/slides]        # make slides: one reveal.js deck per lecture
                                                                #   (notebooks/ko -> build/slides/ko)
    python -m vitcourse.site pdf [build/slides] [--out build/pdf]   # make pdf: one PDF per deck
    python -m vitcourse.site site [--out build/site] [--instructor]   # make site / make site-instructor
    python -m vitcourse.site notes                              # speaker-notes report per lecture
    python -m vitcourse.site scan FOLDER                        # CDN references / external resources
    python -m vitcourse.site check FOLDER                       # open everything in headless Chromium, report

Nothing is fetched when a deck or page is viewed: reveal.js and MathJax are
installed at build time from the npm registry (versions pinned by the
committed ``package.json`` + ``package-lock.json``, ``npm ci`` into
``build/npm``), copied next to the built HTML (``vendor/``) and referenced by
relative URLs. Images are embedded as data URIs. Every build ends with a scan:
a CDN host anywhere in a built file, or an external ``src``/``href``/``url()``
resource in HTML or CSS, fails the build.

Site layout (``build/site``)::

    index.html              syllabus: each lecture's title, learning goals, links
    lectures/NN_x.html      each lecture as a page (executed outputs)
    slides/NN_x.slides.html each lecture as a deck (press S for speaker notes)
    notebooks/NN_x.ipynb    lecture notebooks to download
    exercises/NN_x.ipynb    student version, generated from solutions/ (+ .html preview)
    instructor/NN_x.html    instructor version: solutions shown, executed, grading notes
    instructor/NN_x.ipynb   the solution notebook (instructor/ is left out with --no-instructor)
    docs/*.html             docs/*.md rendered (glossary; teaching, grading, authoring only for instructors)
    ko/docs/*.html          docs/ko/*.md, the Korean docs (the Korean index links the English doc where none)
    vendor/                 reveal.js and MathJax
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import html
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import decks
from .lectureinfo import Lecture, lecture_info, notes_report, slide_counts, slide_type
from .notebooks import ROOT, make_exercise
from .vendor import (
    CDN_HOSTS,
    BuildError,
    _check_offline,
    copy_vendor,
    find_cdn_references,
    find_external_resources,
    install_vendor,
)

__all__ = [
    "CDN_HOSTS",
    "Lecture",
    "copy_figures",
    "build_slides",
    "build_site",
    "install_vendor",
    "copy_vendor",
    "slide_counts",
    "lecture_info",
    "notes_report",
    "find_cdn_references",
    "find_external_resources",
    "grading_notes",
    "rewrite_links",
    "check_built",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: docs/*.md for instructors and authors only: left out of a student site (``--no-instructor``).
INSTRUCTOR_DOCS = {"authoring", "grading", "teaching"}


# ----------------------------------------------------------------------------- rendering


def _exporter(kind: str):
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    config = Config()  # cell tags that hide a cell, its code or its outputs (as in RISE and Jupyter Book)
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {decks.HIDE_CELL}
    config.TagRemovePreprocessor.remove_input_tags = {decks.HIDE_INPUT}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {decks.HIDE_OUTPUT}
    exp: HTMLExporter  # SlidesExporter is an HTMLExporter
    if kind == "slides":
        exp = SlidesExporter(
            config=config,
            template_name="vitcourse_reveal",
            extra_template_basedirs=[str(TEMPLATES)],
            extra_template_paths=[str(TEMPLATES)],
        )
        exp.exclude_input_prompt = exp.exclude_output_prompt = True  # prompts take a tenth of a slide's width
    else:
        exp = HTMLExporter(
            config=config,
            template_name="vitcourse_lab",
            extra_template_basedirs=[str(TEMPLATES)],
            extra_template_paths=[str(TEMPLATES)],
        )
        exp.exclude_input_prompt = False
    exp.embed_images = True  # markdown images become data URIs: pages are self-contained
    # Defaults point to CDNs; the templates do not use them, and these keep any leftover reference local.
    exp.mathjax_url = "about:blank"
    exp.require_js_url = "about:blank"
    exp.jquery_url = "about:blank"
    exp.mermaid_js_url = "about:blank"
    exp.mermaid_layout_elk_js_url = "about:blank"
    exp.jupyter_widgets_base_url = "about:blank/"
    exp.widget_renderer_url = "about:blank"
    if isinstance(exp, SlidesExporter):  # kind == "slides"
        exp.reveal_url_prefix = "about:blank"  # set per deck below
        exp.reveal_theme = "white"  # the only theme vendored (others @import web fonts)
    return exp


def _render(
    kind: str, nb, src: Path, *, vendor: str, assets: str = "", nav=(), banner: str = "", mark_graded: bool = False
) -> str:
    exp = _exporter(kind)
    if kind == "slides":
        exp.reveal_url_prefix = f"{vendor}/reveal.js"
        exp.language_code = nb.metadata.get("language", "en")  # <html lang="ko">: Korean fonts and line breaking
    resources = {
        "metadata": {"name": src.stem, "path": str(src.parent.resolve())},
        "vitcourse": {
            "vendor": vendor,
            "assets": assets,
            "nav": list(nav),
            "banner": banner,
            "mark_graded": mark_graded,
            "min_scale": decks.MIN_SCALE,
        },
    }
    body, _ = exp.from_notebook_node(nb, resources=resources)
    return body


_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])([^"'#][^"']*)\2[^>]*>""", re.I)


def _site_target(repo_path: str) -> str | None:
    """Where a repository file lives on the site (``docs/x.md`` -> ``docs/x.html``), or None."""
    parts = repo_path.split("/")
    if len(parts) == 3 and parts[1] == "ko" and parts[0] in ("notebooks", "solutions", "exercises"):
        inner = _site_target(f"{parts[0]}/{parts[2]}")  # the Korean edition lives in ko/
        return f"ko/{inner}" if inner else None
    if len(parts) == 2:
        folder, name = parts
        stem, ext = os.path.splitext(name)
        if folder == "notebooks" and ext == ".ipynb":
            return f"lectures/{stem}.html"
        if folder == "solutions" and ext == ".ipynb":
            return f"exercises/{stem}.html"
        if folder == "exercises" and ext == ".ipynb":
            return f"exercises/{name}"
        if folder == "docs" and ext == ".md":
            return f"docs/{stem}.html"
    if len(parts) == 3 and parts[:2] == ["docs", "ko"] and parts[2].endswith(".md"):
        return f"ko/docs/{parts[2][:-3]}.html"  # the Korean docs
    if repo_path in ("README.md", "index.md"):
        return "index.html"
    return None


def rewrite_links(text: str, src_dir: str, page_dir: str) -> str:
    """Point links an author wrote between repository files (``../docs/glossary.md``,
    ``02_self_attention.ipynb``) to the same documents on the site, seen from ``page_dir``.

    ``src_dir`` is the source file's folder in the repository (``notebooks``, ``solutions``, ``docs``).
    Links with a scheme, anchors, and links to files the site does not carry are left unchanged.
    """

    def fix(m):
        ref = html.unescape(m.group(3))
        if re.match(r"^[a-z][a-z0-9+.-]*:|^/", ref, re.I) or "data-vc-nav" in m.group(0):
            return m.group(0)  # the site's own navigation already points where it should
        path, sep, frag = ref.partition("#")
        repo = os.path.normpath(os.path.join(src_dir, path)).replace(os.sep, "/")
        target = _site_target(repo)
        if target is None:
            return m.group(0)
        new = os.path.relpath(target, page_dir).replace(os.sep, "/") + (sep + frag if sep else "")
        rest = m.group(0)[len(m.group(1)) + len(m.group(3)) + 2 :]
        return f"{m.group(1)}{m.group(2)}{html.escape(new)}{m.group(2)}{rest}"

    return _HREF.sub(fix, text)


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))


def copy_figures(notebooks, dest: Path) -> Path | None:
    """Copy the drawn figures the notebooks show (``figures/`` beside them, see `vitcourse.figures`) to
    ``dest/figures``, so the relative ``figures/NN_name.svg`` references work in built pages too."""
    folders = {Path(p).resolve().parent / "figures" for p in notebooks}
    copied = None
    for folder in sorted(folders):
        if folder.is_dir():
            copied = Path(dest) / "figures"
            shutil.copytree(folder, copied, dirs_exist_ok=True)
    return copied


def build_slides(
    out: Path = ROOT / "build" / "slides",
    notebooks: list[Path] | None = None,
    *,
    vendor: str = "vendor",
    node_modules: Path | None = None,
    copy_assets: bool = True,
    check: bool = True,
    notes: bool = True,
) -> list[Path]:
    """One reveal.js deck per lecture: ``out/NN_x.slides.html`` with reveal.js/MathJax in ``out/<vendor>``.

    Each deck shows `vitcourse.decks.deck_notebook` of its notebook: laid out on 1280x720 slides, hidden
    cells left out, every slide with a heading; ``notes=False`` leaves the speaker notes out.
    ``vendor`` is the relative URL of the vendor folder as seen from ``out``. Returns the decks.
    """
    out = Path(out)
    notebooks = _notebooks(ROOT / "notebooks") if notebooks is None else [Path(p) for p in notebooks]
    out.mkdir(parents=True, exist_ok=True)
    if copy_assets:
        copy_vendor(node_modules or install_vendor(), out / vendor)
    stems = [p.stem for p in notebooks]
    twice = sorted({st for st in stems if stems.count(st) > 1})
    if twice:
        raise ValueError(
            f"notebooks holds two notebooks named {twice[0]!r}: both decks would be written to "
            f"{out / (twice[0] + '.slides.html')}, the second over the first; build each edition into its own "
            "folder (the Korean decks go to OUT/ko)"
        )
    built = []
    for src in notebooks:
        nb = decks.deck_notebook(nbformat.read(src, as_version=4), notes=notes)
        dst = out / f"{src.stem}.slides.html"
        dst.write_text(_render("slides", nb, src, vendor=vendor))
        built.append(dst)
    copy_figures(notebooks, out)
    if check:
        _check_offline(out)
    return built


def _md_to_html(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html_mistune

    return markdown2html_mistune(text)


def grading_notes(solution: Path) -> dict:
    """What an instructor needs to grade an exercise: its graded tasks, points, checks and hints."""
    from .checks import get_check

    nb = nbformat.read(solution, as_version=4)
    tasks, solutions, problems = [], [], []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            solutions.append(meta.get("grade_id", f"cell {i}"))
        if meta.get("grade") and not meta.get("solution"):
            visible, hidden = cell.source, ""
            if "### BEGIN HIDDEN TESTS" in cell.source:
                visible, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS")
                hidden = rest.partition("### END HIDDEN TESTS")[0]
            names = list(dict.fromkeys(re.findall(r"""check\(\s*["'](\d\d\.[A-Za-z_]\w*)["']""", cell.source)))
            checks = []
            for name in names:
                try:
                    c = get_check(name)
                    checks.append(
                        {
                            "name": name,
                            "target": c.target,
                            "hint": c.hint,
                            "visible_cases": len(tuple(c.visible_seeds)),
                            "hidden_cases": c.hidden_cases,
                            "timeout": c.timeout,
                            "in_hidden_tests": name in hidden,
                        }
                    )
                except (ValueError, ImportError) as e:
                    problems.append(f"{meta.get('grade_id')}: {e}")
                    checks.append(
                        {
                            "name": name,
                            "target": "?",
                            "hint": f"(unknown check: {e})",
                            "visible_cases": 0,
                            "hidden_cases": 0,
                            "timeout": 0,
                            "in_hidden_tests": name in hidden,
                        }
                    )
            tasks.append(
                {
                    "grade_id": meta.get("grade_id", f"cell {i}"),
                    "points": int(meta.get("points", 0)),
                    "checks": checks,
                    "has_hidden_tests": bool(hidden.strip()),
                }
            )
    return {
        "tasks": tasks,
        "solution_cells": solutions,
        "total_points": sum(t["points"] for t in tasks),
        "problems": problems,
    }


def _grading_notes_html(notes: dict, name: str) -> str:
    e = html.escape
    rows = []
    for t in notes["tasks"]:
        checks = (
            "<br>".join(
                f"<code>{e(c['name'])}</code> on <code>{e(c['target'])}</code>: {c['visible_cases']} visible + "
                f"{c['hidden_cases']} hidden cases{', timeout ' + format(c['timeout'], 'g') + ' s' if c['timeout'] else ''}"
                f"<br><small>hint shown on failure: {e(c['hint'])}</small>"
                for c in t["checks"]
            )
            or "(no check() call)"
        )
        rows.append(
            f"<tr><td><code>{e(t['grade_id'])}</code></td><td>{t['points']}</td><td>{checks}</td>"
            f"<td>{'yes' if t['has_hidden_tests'] else 'no'}</td></tr>"
        )
    problems = "".join(f"<li>{e(p)}</li>" for p in notes["problems"])
    return f"""<section class="vc-grading">
<h2>Grading notes: {e(name)}</h2>
<p>Total: <b>{notes["total_points"]} points</b> in {len(notes["tasks"])} graded test cell(s); students fill
{len(notes["solution_cells"])} solution cell(s). Grade a folder of submissions with
<code>make grade SUBMISSIONS=folder</code>: the grader never runs the test cells; it runs the student's own
code cells in a sandboxed process and judges every check listed below on fresh random cases (visible and
hidden). Solution and test cells are framed below; the hidden tests and the solutions appear only here, never
in the student version.</p>
<table class="vc-table"><thead><tr><th>test cell</th><th>points</th><th>checks (what is graded)</th>
<th>hidden tests</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
{f'<p class="vc-warn">Problems:</p><ul>{problems}</ul>' if problems else ""}
</section>"""


def _page(title: str, body: str, *, vendor: str, lang: str = "en") -> str:
    """A plain site page (index, docs) with local MathJax; `vitcourse.reader.decorate` adds the chrome."""
    math = f"""<script>
window.MathJax = {{loader: {{load: ['input/tex', 'output/chtml']}},
  tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
         processEscapes: true}},
  startup: {{pageReady: function () {{
    return MathJax.startup.defaultPageReady().then(function () {{ window.vitcourseMathDone = true; }}); }}}}}};
</script>
<script src="{vendor}/mathjax/startup.js" id="MathJax-script"></script>"""
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
{math}
</head>
<body class="vc-page">
<main>
{body}
</main>
</body>
</html>
"""


#: The words of the index and exercise pages per language (the lectures' own text comes from the notebooks).
_WORDS = {
    "en": {
        "title": "vitcourse: from attention to ViT and DETR",
        "syllabus": "Syllabus",
        "documents": "Documents",
        "more": "More exercises",
        "goals": "Learning goals",
        "prereq": "Prerequisites",
        "read": "Read",
        "slides": "Slides",
        "notebook": "Notebook (.ipynb)",
        "exercise": "Exercise {} (.ipynb)",
        "instructor": "Instructor version",
        "instructor_index": "Instructor material",
        "student_version": "Student version",
        "teaching": "Teaching guide and schedule",
        "glossary": "Glossary (English / 한국어)",
        "none": "No lecture notebooks yet.",
        "doc_suffix": "",
        "intro": "A notebook course from attention to Vision Transformers and DETR that runs on a laptop CPU. "
        "Every lecture is a Jupyter notebook; this site shows each one as a page and as a slide deck "
        "(press <kbd>S</kbd> in a deck for the speaker view), and offers the notebooks and exercises "
        "for download. Run the course locally with <code>make lab</code>.",
        "exercise_banner": 'Student version (no outputs). Download <a href="{href}">{name}</a>, open it in '
        "JupyterLab and replace each <code>raise NotImplementedError()</code>.",
        "instructor_banner": "Instructor version: solutions shown, executed outputs, hidden tests. Do not hand out.",
    },
    "ko": {
        "title": "vitcourse: 어텐션에서 ViT와 DETR까지",
        "syllabus": "강의 계획",
        "documents": "문서",
        "more": "추가 실습",
        "goals": "학습 목표",
        "prereq": "선수 지식",
        "read": "읽기",
        "slides": "슬라이드",
        "notebook": "노트북 (.ipynb)",
        "exercise": "실습 {} (.ipynb)",
        "instructor": "강사용",
        "instructor_index": "강사용 자료",
        "student_version": "학생용",
        "teaching": "강의 안내와 일정 (영어)",
        "glossary": "용어집 (English / 한국어)",
        "none": "아직 강의 노트북이 없습니다.",
        "doc_suffix": " (영어)",
        "intro": "노트북 CPU에서 돌아가는, 어텐션(attention)에서 비전 트랜스포머(Vision Transformer)와 DETR까지의 "
        "노트북 강의입니다. 강의마다 주피터 노트북(Jupyter notebook) 하나이며, 이 사이트는 각 강의를 "
        "웹 페이지와 슬라이드로 보여 주고(슬라이드에서 <kbd>S</kbd>를 누르면 발표자 화면), 노트북과 "
        "실습을 내려받게 합니다. 내 컴퓨터에서는 <code>make lab-ko</code>로 강의를 엽니다.",
        "exercise_banner": '학생용 (출력 없음). <a href="{href}">{name}</a>을 내려받아 주피터랩(JupyterLab)에서 '
        "열고 <code>raise NotImplementedError()</code>를 하나씩 직접 구현하세요.",
        "instructor_banner": "강사용: 풀이, 실행 결과, 숨은 테스트가 보입니다. 학생에게 나눠 주지 마세요.",
    },
}


@dataclass
class _Edition:
    """One language of the site: its sources and where it lives under the site root (``""`` or ``"ko/"``)."""

    lang: str
    prefix: str
    notebooks: Path
    solutions: Path
    lectures: list = field(default_factory=list)
    exercises: list = field(default_factory=list)
    pages: set = field(default_factory=set)  # site-root paths of its pages
    docs: dict = field(default_factory=dict)  # doc stem -> the .md this edition renders (docs/ or docs/ko/)
    index: list = field(default_factory=list)  # search entries

    @property
    def slides(self) -> str:
        return "slides/" + (f"{self.lang}/" if self.prefix else "")


def _href(page: str, target: str) -> str:
    """``target`` (a path from the site root, maybe with ``#frag``) as a link from the page at ``page``."""
    path, sep, frag = target.partition("#")
    rel = os.path.relpath(path or page, os.path.dirname(page) or ".").replace(os.sep, "/")
    return rel + (sep + frag if sep else "")


def _dark_theme_css() -> str:
    """JupyterLab's dark theme variables (nbconvert's ``lab`` template), scoped to ``html[data-vc-theme=dark]``."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("nbconvert", "templates", "lab", "static"):
        css = Path(folder) / "theme-dark.css"
        if css.is_file():
            return css.read_text().replace(":root {", 'html[data-vc-theme="dark"] {', 1)
    return ""


def build_site(
    out: Path = ROOT / "build" / "site",
    *,
    notebooks_dir: Path = ROOT / "notebooks",
    solutions_dir: Path = ROOT / "solutions",
    docs_dir: Path = ROOT / "docs",
    instructor: bool = True,
    node_modules: Path | None = None,
    title: str | None = None,
    languages=("en", "ko"),
    log=print,
) -> Path:
    """Build the static course website into ``out`` and return ``out/index.html``.

    ``instructor=False`` leaves out the solutions (instructor pages and solution notebooks) and the speaker
    notes. The English edition is built from ``notebooks_dir`` and ``solutions_dir`` into ``out``; with
    ``"ko"`` in ``languages`` and a ``notebooks_dir/ko`` folder, the Korean edition from ``notebooks_dir/ko``
    and ``solutions_dir/ko`` into ``out/ko`` (decks in ``out/slides/ko``). Every page links to the same page
    in the other language (or its start page when there is none).
    """
    from . import reader

    out = Path(out)
    t0 = time.perf_counter()
    unknown = [lang for lang in languages if lang not in _WORDS]
    if unknown or "en" not in languages:
        raise ValueError(f"languages={tuple(languages)!r}: expected 'en' and optionally 'ko' (known: {sorted(_WORDS)})")
    if out.exists() and any(out.iterdir()):
        if not ((out / "index.html").is_file() and (out / "vendor").is_dir()):
            raise BuildError(
                f"{out} is not empty and does not look like a built site (index.html + vendor/); "
                "refusing to delete it: choose an empty or new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_vendor(node_modules or install_vendor(), out / "vendor")
    reader.copy_assets(out / "assets", _dark_theme_css())

    notebooks_dir, solutions_dir = Path(notebooks_dir), Path(solutions_dir)
    editions = [_Edition("en", "", notebooks_dir, solutions_dir)]
    if "ko" in languages and (notebooks_dir / "ko").is_dir() and _notebooks(notebooks_dir / "ko"):
        editions.append(_Edition("ko", "ko/", notebooks_dir / "ko", solutions_dir / "ko"))
    docs = sorted(Path(docs_dir).glob("*.md")) if Path(docs_dir).is_dir() else []
    if not instructor:
        docs = [d for d in docs if d.stem not in INSTRUCTOR_DOCS]
    for ed in editions:  # a doc with a translation in docs/<lang>/ (docs/ko/teaching.md) is built in that edition
        ed.docs = (
            {d.stem: d for d in docs}
            if not ed.prefix
            else {
                d.stem: Path(docs_dir) / ed.lang / d.name for d in docs if (Path(docs_dir) / ed.lang / d.name).is_file()
            }
        )
    for ed in editions:  # plan every page first: the language switch needs to know what the other edition has
        ed.lectures = [lecture_info(p, ed.solutions) for p in _notebooks(ed.notebooks)]
        ed.exercises = _notebooks(ed.solutions) if ed.solutions.is_dir() else []
        ed.pages = {ed.prefix + "index.html"} | {f"{ed.prefix}lectures/{lec.stem}.html" for lec in ed.lectures}
        ed.pages |= {f"{ed.prefix}exercises/{s.stem}.html" for s in ed.exercises}
        if instructor:
            ed.pages |= {f"{ed.prefix}instructor/{s.stem}.html" for s in ed.exercises}
            ed.pages.add(f"{ed.prefix}instructor/index.html")
        ed.pages |= {f"{ed.prefix}docs/{stem}.html" for stem in ed.docs}

    def write(
        ed: _Edition,
        page: str,
        text: str,
        *,
        page_title: str,
        prev=None,
        next=None,
        slides=None,
        download=None,
        extra=(),
        searchable: bool = True,
    ):
        """Decorate and write the page at site path ``page``; prev/next/slides/download are site paths."""
        other = next_ed = None
        if len(editions) > 1:
            next_ed = editions[1] if ed is editions[0] else editions[0]
            rest = page[len(ed.prefix) :]
            other = next_ed.prefix + rest if next_ed.prefix + rest in next_ed.pages else next_ed.prefix + "index.html"
        nav = reader.PageNav(
            lang=ed.lang,
            root=_href(page, ed.prefix + "index.html")[: -len("index.html")],
            assets=_href(page, "assets/x").rsplit("/", 1)[0],
            index=_href(page, ed.prefix + "index.html") if page != ed.prefix + "index.html" else None,
            prev=(prev[0], _href(page, prev[1])) if prev else None,
            next=(next[0], _href(page, next[1])) if next else None,
            slides=_href(page, slides) if slides else None,
            download=(download[0], _href(page, download[1])) if download else None,
            other_lang=_href(page, other) if other else None,
            extra=[(label, _href(page, target)) for label, target in extra],
        )
        if searchable:
            ed.index += reader.search_sections(text, page[len(ed.prefix) :], page_title)
        (out / page).parent.mkdir(parents=True, exist_ok=True)
        (out / page).write_text(reader.decorate(text, nav))

    for ed in editions:
        W, L = _WORDS[ed.lang], reader.LABELS[ed.lang]
        vendor = _href(ed.prefix + "lectures/x.html", "vendor")
        lectures = ed.lectures
        # slides
        for deck in build_slides(
            out / ed.slides,
            [lec.path for lec in lectures],
            vendor=_href(ed.slides + "x", "vendor"),
            copy_assets=False,
            check=False,
            notes=instructor,
        ):
            src_dir = "notebooks" + ("/" + ed.lang if ed.prefix else "")
            deck.write_text(rewrite_links(deck.read_text(), src_dir, ed.slides.rstrip("/")))
        log(f"  {len(lectures)} decks ({ed.lang})")

        # lecture pages + notebook downloads
        src_nb = "notebooks" + ("/" + ed.lang if ed.prefix else "")
        (out / ed.prefix / "notebooks").mkdir(parents=True, exist_ok=True)
        titles = [
            f"{lec.number} {lec.title}" if lec.number and not lec.title.startswith(lec.number) else lec.title
            for lec in lectures
        ]
        for i, lec in enumerate(lectures):
            nb = nbformat.read(lec.path, as_version=4)
            download = f"{ed.prefix}notebooks/{lec.path.name}"
            if instructor:
                shutil.copy2(lec.path, out / download)
            else:  # students download the lecture without the speaker notes
                nb_public = copy.deepcopy(nb)
                nb_public.cells = [c for c in nb.cells if slide_type(c) != "notes"]
                (out / download).write_text(nbformat.writes(nb_public) + "\n")
            page = f"{ed.prefix}lectures/{lec.stem}.html"
            body = _render(
                "page",
                decks.shown_notebook(nb, notes=instructor),
                lec.path,
                vendor=vendor,
                assets=_href(page, "assets"),
            )
            write(
                ed,
                page,
                rewrite_links(body, src_nb, f"{ed.prefix}lectures".rstrip("/")),
                page_title=titles[i],
                prev=(titles[i - 1], f"{ed.prefix}lectures/{lectures[i - 1].stem}.html") if i else None,
                next=(titles[i + 1], f"{ed.prefix}lectures/{lectures[i + 1].stem}.html")
                if i + 1 < len(lectures)
                else None,
                slides=f"{ed.slides}{lec.stem}.slides.html",
                download=(L["download_lecture"], download),
                extra=[
                    (W["exercise"].format(ex.stem).replace(" (.ipynb)", ""), f"{ed.prefix}exercises/{ex.stem}.html")
                    for ex in lec.exercises
                ],
            )
        copy_figures([lec.path for lec in lectures], out / ed.prefix / "lectures")
        copy_figures([lec.path for lec in lectures], out / ed.prefix / "notebooks")
        if ed.prefix:  # the Korean notebooks show ../figures/x.svg (the English folder)
            copy_figures([notebooks_dir / "x.ipynb"], out / ed.prefix)
        log(f"  {len(lectures)} lecture pages ({ed.lang})")

        # exercises: student version (generated from solutions/) and instructor version
        src_sol = "solutions" + ("/" + ed.lang if ed.prefix else "")
        graded = {}
        sols = ed.exercises
        for i, sol in enumerate(sols):
            nb = nbformat.read(sol, as_version=4)
            student = make_exercise(nb, sol.name)
            (out / ed.prefix / "exercises").mkdir(parents=True, exist_ok=True)
            (out / ed.prefix / "exercises" / sol.name).write_text(
                nbformat.writes(student) + "\n"
            )  # as `make exercises`
            page = f"{ed.prefix}exercises/{sol.stem}.html"
            body = _render(
                "page",
                student,
                sol,
                vendor=vendor,
                assets="",
                banner=W["exercise_banner"].format(href=html.escape(sol.name), name=html.escape(sol.name)),
            )
            src_ex = "exercises" + ("/" + ed.lang if ed.prefix else "")
            write(
                ed,
                page,
                rewrite_links(body, src_ex, f"{ed.prefix}exercises"),
                page_title=sol.stem,
                prev=(sols[i - 1].stem, f"{ed.prefix}exercises/{sols[i - 1].stem}.html") if i else None,
                next=(sols[i + 1].stem, f"{ed.prefix}exercises/{sols[i + 1].stem}.html") if i + 1 < len(sols) else None,
                download=(L["download_exercise"], f"{ed.prefix}exercises/{sol.name}"),
            )
            if instructor:
                notes = grading_notes(sol)
                graded[sol.stem] = notes
                (out / ed.prefix / "instructor").mkdir(parents=True, exist_ok=True)
                shutil.copy2(sol, out / ed.prefix / "instructor" / sol.name)
                page = f"{ed.prefix}instructor/{sol.stem}.html"
                body = _render(
                    "page", nb, sol, vendor=vendor, assets="", mark_graded=True, banner=W["instructor_banner"]
                )
                body = body.replace(
                    '<div class="vc-banner">', _grading_notes_html(notes, sol.stem) + '\n<div class="vc-banner">', 1
                )
                write(
                    ed,
                    page,
                    rewrite_links(body, src_sol, f"{ed.prefix}instructor".rstrip("/")),
                    page_title=sol.stem,
                    searchable=False,
                    prev=(sols[i - 1].stem, f"{ed.prefix}instructor/{sols[i - 1].stem}.html") if i else None,
                    next=(sols[i + 1].stem, f"{ed.prefix}instructor/{sols[i + 1].stem}.html")
                    if i + 1 < len(sols)
                    else None,
                    download=(L["download_solution"], f"{ed.prefix}instructor/{sol.name}"),
                    extra=[
                        (W["instructor_index"], f"{ed.prefix}instructor/index.html"),
                        (W["student_version"], f"{ed.prefix}exercises/{sol.stem}.html"),
                    ],
                )
        log(f"  {len(sols)} exercises ({ed.lang})" + (" (student + instructor)" if instructor else " (student only)"))

        # docs: the English ones, and those translated in docs/ko/ (the Korean index links the English for the rest)
        src_docs = "docs" + ("/" + ed.lang if ed.prefix else "")
        for stem, d in ed.docs.items():
            page = f"{ed.prefix}docs/{stem}.html"
            text = d.read_text(encoding="utf-8")
            if text.startswith("<!-- translated from"):  # the i18n header (vitcourse.i18n.doc_problems)
                text = text.split("\n", 1)[-1]
            body = _page(stem, _md_to_html(text), vendor=_href(page, "vendor"), lang=ed.lang)
            write(
                ed,
                page,
                rewrite_links(body, src_docs, f"{ed.prefix}docs"),
                page_title=stem.replace("_", " ").capitalize(),
                extra=[(o.replace("_", " ").capitalize(), f"{ed.prefix}docs/{o}.html") for o in ed.docs if o != stem],
            )

        # instructor index
        if instructor:
            rows = "".join(
                f'<tr><td><a href="{s.stem}.html">{html.escape(s.stem)}</a></td><td>{graded[s.stem]["total_points"]}'
                f'</td><td>{len(graded[s.stem]["tasks"])}</td><td><a href="{s.name}">solution notebook</a> &middot; '
                f'<a href="../exercises/{s.name}">student notebook</a></td></tr>'
                for s in sols
            )
            body = (
                f'<h1 id="instructor-material">{W["instructor_index"]}</h1><p>Exercises with solutions, executed '
                "outputs, hidden tests and grading notes. Not for students: <code>make site</code> builds the "
                'student site.</p><table class="vc-table"><thead><tr><th>exercise</th><th>points</th>'
                f"<th>graded cells</th><th>downloads</th></tr></thead><tbody>{rows}</tbody></table>"
            )
            write(
                ed,
                f"{ed.prefix}instructor/index.html",
                _page(W["instructor_index"], body, vendor=vendor, lang=ed.lang),
                page_title=W["instructor_index"],
                searchable=False,
            )

        # index
        write(
            ed,
            f"{ed.prefix}index.html",
            _index_html(title if title and not ed.prefix else W["title"], ed, docs, instructor),
            page_title=W["title"],
        )
        reader.write_search_index(out / ed.prefix, ed.index, ed.lang)
        log(f"  search index ({ed.lang}): {len(ed.index)} sections")
    _check_offline(out)
    log(f"  site built in {time.perf_counter() - t0:.1f} s: {out / 'index.html'}")
    return out / "index.html"


def _index_html(title: str, ed: _Edition, docs, instructor: bool) -> str:
    e, W = html.escape, _WORDS[ed.lang]
    here = ed.prefix + "index.html"
    cards = []
    for lec in ed.lectures:
        links = [
            f'<a href="lectures/{lec.stem}.html">{W["read"]}</a>',
            f'<a href="{_href(here, ed.slides + lec.stem + ".slides.html")}">{W["slides"]}</a>',
            f'<a href="notebooks/{lec.path.name}">{W["notebook"]}</a>',
        ]
        for ex in lec.exercises:
            links.append(f'<a href="exercises/{ex.name}">{e(W["exercise"].format(ex.stem))}</a>')
            if instructor:
                links.append(f'<a href="instructor/{ex.stem}.html">{W["instructor"]}</a>')
        goals = (
            f'<div class="vc-goals"><b>{W["goals"]}</b>{_md_to_html(lec.goals)}</div>'
            if lec.goals
            else f'<div class="vc-summary">{_md_to_html(lec.summary)}</div>'
            if lec.summary
            else ""
        )
        prereq = (
            f'<div class="vc-prereq"><b>{W["prereq"]}</b>{_md_to_html(lec.prerequisites)}</div>'
            if lec.prerequisites
            else ""
        )
        cards.append(f"""<section class="vc-lecture" id="lecture-{e(lec.stem)}">
<h3 id="h-{e(lec.stem)}">{e(lec.number + " " if lec.number and not lec.title.startswith(lec.number) else "")}{e(lec.title)}</h3>
{goals}{prereq}
<p class="vc-links">{" ".join(links)}</p>
</section>""")
    listed = {ex for lec in ed.lectures for ex in lec.exercises}
    extra_html = "".join(
        f'<li><a href="exercises/{s.name}">{e(s.stem)} (.ipynb)</a>'
        + (f' &middot; <a href="instructor/{s.stem}.html">{W["instructor"]}</a>' if instructor else "")
        + "</li>"
        for s in ed.exercises
        if s not in listed
    )

    def doc(stem):  # this edition's doc page when it has one, else the English one
        return (ed.prefix if stem in ed.docs else "") + f"docs/{stem}.html"

    doc_links = "".join(
        f'<li><a href="{_href(here, doc(d.stem))}">{e(d.stem.replace("_", " ").capitalize())}'
        f"{'' if d.stem in ed.docs else W['doc_suffix']}</a></li>"
        for d in docs
    )
    names = {d.stem for d in docs}
    quick = []
    if "teaching" in names:
        quick.append(f'<a href="{_href(here, doc("teaching"))}">{W["teaching"]}</a>')
    if "glossary" in names:
        quick.append(f'<a href="{_href(here, doc("glossary"))}">{W["glossary"]}</a>')
    if instructor:
        quick.append(f'<a href="instructor/index.html">{W["instructor_index"]}</a>')
    body = f"""<h1 id="top">{e(title)}</h1>
<p>{W["intro"]}</p>
<p class="vc-links">{" ".join(quick)}</p>
<h2 id="syllabus">{W["syllabus"]}</h2>
{"".join(cards) or f"<p>{W['none']}</p>"}
{f'<h2 id="more-exercises">{W["more"]}</h2><ul>{extra_html}</ul>' if extra_html else ""}
<h2 id="documents">{W["documents"]}</h2>
<ul>{doc_links or "<li>-</li>"}</ul>
"""
    return _page(title, body, vendor=_href(here, "vendor"), lang=ed.lang)


# ----------------------------------------------------------------------------- in a browser


def check_built(folder: Path, notebooks_dir: Path = ROOT / "notebooks", screenshots: Path | None = None, log=print):
    """Open every deck and page under ``folder`` in headless Chromium (`vitcourse.webcheck`), print a report and
    return it (``report.problems`` is empty when everything passed).

    Each deck is compared with ``notebooks_dir/<stem>.ipynb`` (slide and notes counts) when it exists; a
    screenshot of every slide goes to ``screenshots/<stem>/slide-H-V.png`` when ``screenshots`` is given.
    """
    from . import webcheck

    why = webcheck.unavailable()
    if why:
        raise BuildError(f"no headless browser: {why}")

    def expected(deck: Path):  # ko/01_x.slides.html is compared with notebooks_dir/ko/01_x.ipynb
        rel = deck.relative_to(folder).as_posix()
        src = Path(notebooks_dir) / (rel[: -len(".slides.html")] + ".ipynb")
        return slide_counts(decks.deck_notebook(nbformat.read(src, as_version=4))) if src.is_file() else None

    with webcheck.serve(folder) as base, webcheck.Browser() as browser:
        return webcheck.check_folder(Path(folder), base, browser, shots=screenshots, expected=expected, log=log)


def build_pdfs(
    folder: Path = ROOT / "build" / "slides", out: Path = ROOT / "build" / "pdf", *, browser=None, log=print
) -> list[str]:
    """One PDF per deck built under ``folder`` (``make slides``) into ``out`` (``ko/`` decks into ``out/ko``),
    printed by headless Chromium from reveal.js's print view; returns the problems (a slide that would be cut or
    spill onto a second page, a page count other than the slide count), [] when every PDF is right.
    ``browser``: an open `vitcourse.webcheck.Browser` to use (default: a new one)."""
    from . import webcheck

    why = webcheck.unavailable()
    if why:
        raise BuildError(f"no headless browser: {why}")
    if not any(Path(folder).rglob("*.slides.html")):
        raise BuildError(f"no decks (*.slides.html) in {folder}: run `make slides` first")
    t0 = time.perf_counter()
    with webcheck.serve(folder) as base, contextlib.nullcontext(browser) if browser else webcheck.Browser() as b:
        results = webcheck.print_folder(Path(folder), base, b, Path(out), log=log)
    problems = [f"{deck}: {p}" for deck, r in results.items() for p in r["problems"]]
    log(f"{len(results)} PDFs in {out} ({time.perf_counter() - t0:.1f} s), {len(problems)} problem(s)")
    return problems


# ----------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.site", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("slides", help="one reveal.js deck per lecture notebook")
    p.add_argument("--out", default=str(ROOT / "build" / "slides"))
    p.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb, and notebooks/ko/*.ipynb into OUT/ko")
    p = sub.add_parser("pdf", help="one PDF per built deck (reveal.js print view, one slide per page)")
    p.add_argument("folder", nargs="?", default=str(ROOT / "build" / "slides"), help="built decks (make slides)")
    p.add_argument("--out", default=str(ROOT / "build" / "pdf"))
    p = sub.add_parser("site", help="the static course website (for students unless --instructor)")
    p.add_argument("--out", default=None, help="default: build/site, or build/site-instructor with --instructor")
    p.add_argument(
        "--instructor",
        action="store_true",
        help="add solutions, hidden tests, grading notes and speaker notes (never hand this site out)",
    )
    sub.add_parser("vendor", help="npm ci reveal.js and MathJax (package-lock.json) into build/npm")
    sub.add_parser("notes", help="speaker notes and slide types per lecture notebook")
    p = sub.add_parser("scan", help="list CDN references and external resources in a built folder")
    p.add_argument("folder")
    p = sub.add_parser("check", help="open every deck and page of a built folder in headless Chromium and report")
    p.add_argument("folder")
    p.add_argument(
        "--screenshots",
        default=None,
        help="folder for a screenshot of every slide (default: FOLDER-shots next to FOLDER)",
    )
    args = parser.parse_args(argv)
    try:
        if args.cmd == "slides":
            t0 = time.perf_counter()
            given = [Path(n) for n in args.notebooks]
            korean = ROOT / "notebooks" / "ko"
            ko_given = [p for p in given if p.resolve().parent.name == "ko"]  # notebooks/ko/x -> OUT/ko/x
            en_given = [p for p in given if p not in ko_given]
            built = build_slides(Path(args.out), en_given if given else None) if en_given or not given else []
            ko_list = ko_given if given else (_notebooks(korean) if korean.is_dir() else [])
            if ko_list:  # the Korean edition's decks share the vendor folder (copied here if no English deck did)
                built += build_slides(Path(args.out) / "ko", ko_list, vendor="../vendor", copy_assets=not built)
            print(f"{len(built)} decks in {args.out} ({time.perf_counter() - t0:.1f} s)")
            for d in built:
                print(f"  {d}")
        elif args.cmd == "pdf":
            return 1 if build_pdfs(Path(args.folder), Path(args.out)) else 0
        elif args.cmd == "site":
            out = args.out or str(ROOT / "build" / ("site-instructor" if args.instructor else "site"))
            build_site(Path(out), instructor=args.instructor)
        elif args.cmd == "vendor":
            print(f"reveal.js and MathJax in {install_vendor(quiet=False)}")
        elif args.cmd == "notes":
            rows = notes_report(_notebooks(ROOT / "notebooks"))
            for r in rows:
                flag = "" if r["notes"] else "   <- no speaker notes"
                bad = r["missing_slide_type"] + r["invalid_slide_type"]
                print(
                    f"{Path(r['notebook']).name:40s} {r['cells']:4d} cells {r['subslides']:3d} slides "
                    f"{r['notes']:3d} notes{flag}{f'   cells without a valid slide type: {bad}' if bad else ''}"
                )
            return 0
        elif args.cmd == "scan":
            hits = find_cdn_references(Path(args.folder)) + find_external_resources(Path(args.folder))
            print("\n".join(hits) if hits else "no CDN references, no external resources")
            return 1 if hits else 0
        elif args.cmd == "check":
            folder = Path(args.folder)
            shots = Path(args.screenshots) if args.screenshots else folder.parent / f"{folder.name}-shots"
            if shots.exists():
                shutil.rmtree(shots)
            report = check_built(folder, screenshots=shots)
            print(f"screenshots: {shots}")
            return 1 if report.problems else 0
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
