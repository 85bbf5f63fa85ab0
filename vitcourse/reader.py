"""Reader features of the course website: the bar on top of every page, the contents sidebar, previous/next,
light/dark, the language switch, and offline full-text search. Used by `vitcourse.site.build_site`.

Every page gets the same chrome (`decorate`): a top bar (course index, previous/next, slides, the page's
download, the other language, a light/dark toggle, a search box), a sidebar listing the page's headings, and a
previous/next pager at the bottom. Style and behaviour live in ``templates/site/site.css`` and ``site.js``
(vanilla JavaScript, no library, nothing fetched from the web).

Search is offline: at build time `search_sections` cuts each page into sections at its headings (prose and
code, not outputs) and `write_search_index` writes them as JSON into ``search-index.js`` at the root of each
language edition. It is a script (``window.vcSearchIndex = {...}``) rather than a bare ``.json`` file so that
it also loads from ``file://``, where browsers refuse ``fetch``; ``site.js`` loads it on the first keystroke.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

__all__ = [
    "LABELS",
    "ASSETS",
    "PageNav",
    "headings",
    "search_sections",
    "write_search_index",
    "decorate",
    "copy_assets",
]

ASSETS = Path(__file__).resolve().parent / "templates" / "site"

#: Interface words per language (the pages' own text comes from the notebooks).
LABELS = {
    "en": {
        "index": "Course index",
        "prev": "Previous",
        "next": "Next",
        "slides": "Slides",
        "contents": "Contents",
        "search": "Search the course",
        "theme": "Light/dark",
        "other": "한국어",
        "other_title": "이 페이지를 한국어로",
        "no_results": "No results for",
        "download_lecture": "Download notebook (.ipynb)",
        "download_exercise": "Download exercise notebook (.ipynb)",
        "download_solution": "Download solution notebook (.ipynb)",
    },
    "ko": {
        "index": "강의 목록",
        "prev": "이전",
        "next": "다음",
        "slides": "슬라이드",
        "contents": "목차",
        "search": "강의 검색",
        "theme": "밝게/어둡게",
        "other": "English",
        "other_title": "This page in English",
        "no_results": "검색 결과 없음:",
        "download_lecture": "노트북 내려받기 (.ipynb)",
        "download_exercise": "실습 노트북 내려받기 (.ipynb)",
        "download_solution": "풀이 노트북 내려받기 (.ipynb)",
    },
}


class PageNav:
    """Where one page's chrome points; every href is relative to the page.

    ``root``: the page's language edition root (``../`` for ``lectures/x.html``); ``assets``: the shared
    ``assets/`` folder; ``index``: the edition's start page (None on the start page itself);
    ``prev``/``next``: (label, href) or None; ``download``: (label, href) or None;
    ``other_lang``: href of the same page in the other language, or None for a one-language site.
    """

    def __init__(
        self,
        *,
        lang: str,
        root: str,
        assets: str,
        index: str | None,
        prev=None,
        next=None,
        slides=None,
        download=None,
        other_lang=None,
        extra=(),
    ):
        if lang not in LABELS:
            raise ValueError(f"lang={lang!r}: expected one of {sorted(LABELS)}")
        self.lang, self.root, self.assets, self.index = lang, root, assets, index
        self.prev, self.next, self.slides, self.download = prev, next, slides, download
        self.other_lang, self.extra = other_lang, list(extra)


# ----------------------------------------------------------------------------- reading a rendered page


_HEADING = re.compile(r"<h([1-3])\b[^>]*\bid\s*=\s*\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.S | re.I)


def _text(fragment: str) -> str:
    fragment = re.sub(r"<a\b[^>]*class=\"anchor-link\"[^>]*>.*?</a>", "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def headings(page: str) -> list[tuple[int, str, str]]:
    """(level, id, text) of every h1-h3 with an id in a rendered page, in order."""
    return [(int(lvl), hid, _text(inner)) for lvl, hid, inner in _HEADING.findall(page) if _text(inner)]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
#: What search leaves out: outputs (numbers of one run, images), prompts, scripts and styles.
_SKIP_CLASSES = ("jp-OutputArea", "jp-InputPrompt", "jp-OutputPrompt", "anchor-link", "vc-grading")


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = [["", "", []]]  # [id, title, text parts]
        self.skip = 0  # depth inside a skipped element
        self.heading = None  # [id, parts] while inside h1-h3 with an id

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        if self.skip:
            self.skip += 1
            return
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag in ("script", "style", "svg", "nav", "head") or any(c in cls for c in _SKIP_CLASSES):
            self.skip = 1
            return
        if tag in ("h1", "h2", "h3") and a.get("id"):
            self.heading = [a["id"], []]

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if self.skip:
            self.skip -= 1
            return
        if self.heading and tag in ("h1", "h2", "h3"):
            hid, parts = self.heading
            self.sections.append([hid, " ".join("".join(parts).split()), []])
            self.heading = None

    def handle_data(self, data):
        if self.skip:
            return
        (self.heading[1] if self.heading else self.sections[-1][2]).append(data)


def search_sections(page: str, url: str, page_title: str, *, max_chars: int = 20_000) -> list[dict]:
    """The search entries of one rendered page: one per heading (h1-h3 with an id) and one for the text
    before the first heading. ``u`` is ``url#id``, ``t`` the heading, ``p`` the page title, ``x`` the
    section's prose and code (outputs, prompts and grading tables left out), at most ``max_chars``."""
    parser = _Sections()
    parser.feed(page)
    parser.close()
    out = []
    for hid, title, parts in parser.sections:
        text = " ".join(" ".join(parts).split())
        if not (title or text):
            continue
        out.append(
            {"u": f"{url}#{hid}" if hid else url, "t": title or page_title, "p": page_title, "x": text[:max_chars]}
        )
    return out


def write_search_index(folder: Path, entries: list[dict], lang: str) -> Path:
    """``folder/search-index.js``: ``window.vcSearchIndex = {"lang": ..., "entries": [...]};`` (JSON)."""
    path = Path(folder) / "search-index.js"
    data = json.dumps({"lang": lang, "entries": entries}, ensure_ascii=False, separators=(",", ":"))
    path.write_text("window.vcSearchIndex = " + data + ";\n", encoding="utf-8")
    return path


def read_search_index(path: Path) -> dict:
    """The JSON in a ``search-index.js`` written by `write_search_index`."""
    text = Path(path).read_text(encoding="utf-8")
    prefix = "window.vcSearchIndex = "
    if not text.startswith(prefix):
        raise ValueError(f"{path} is not a search index written by write_search_index (no {prefix!r} prefix)")
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


# ----------------------------------------------------------------------------- the chrome


def _a(label: str, href: str, cls: str = "", **attrs) -> str:
    extra = "".join(
        f' {k.replace("_", "-")}="{html.escape(str(v))}"' if v is not True else f" {k}" for k, v in attrs.items() if v
    )
    return (
        f'<a href="{html.escape(href)}"{f" class={chr(34)}{cls}{chr(34)}" if cls else ""} data-vc-nav'
        f"{extra}>{html.escape(label)}</a>"
    )


def _top_bar(nav: PageNav) -> str:
    L = LABELS[nav.lang]
    links = [_a(L["index"], nav.index, "vc-home")] if nav.index else []
    if nav.prev:
        links.append(_a("← " + L["prev"], nav.prev[1], "vc-prev", title=nav.prev[0], rel="prev"))
    if nav.next:
        links.append(_a(L["next"] + " →", nav.next[1], "vc-next", title=nav.next[0], rel="next"))
    if nav.slides:
        links.append(_a(L["slides"], nav.slides, "vc-slides"))
    if nav.download:
        links.append(_a(nav.download[0], nav.download[1], "vc-download", download=True))
    links += [_a(label, href) for label, href in nav.extra]
    if nav.other_lang:
        links.append(
            _a(
                L["other"],
                nav.other_lang,
                "vc-lang",
                hreflang="en" if nav.lang == "ko" else "ko",
                title=L["other_title"],
            )
        )
    search = (
        f'<div class="vc-search" role="search"><input type="search" id="vc-search-box" '
        f'placeholder="{html.escape(L["search"])}" aria-label="{html.escape(L["search"])}" autocomplete="off" '
        f'data-index="{html.escape(nav.root)}search-index.js" data-root="{html.escape(nav.root)}" '
        f'data-none="{html.escape(L["no_results"])}">'
        f'<ol id="vc-search-results" class="vc-search-results" hidden></ol></div>'
    )
    theme = (
        f'<button type="button" class="vc-theme" id="vc-theme" title="{html.escape(L["theme"])}" '
        f'aria-label="{html.escape(L["theme"])}">◐</button>'
    )
    return f'<header class="vc-top"><nav class="vc-nav">{" ".join(links)}</nav>{search}{theme}</header>'


def _sidebar(nav: PageNav, items: list[tuple[int, str, str]]) -> str:
    if not items:
        return ""
    top = min(level for level, _, _ in items)
    lis = "".join(
        f'<li class="vc-toc-{level - top + 1}"><a href="#{html.escape(hid)}">{html.escape(text)}</a></li>'
        for level, hid, text in items
    )
    return (
        f'<details class="vc-sidebar" open><summary>{html.escape(LABELS[nav.lang]["contents"])}</summary>'
        f'<nav aria-label="{html.escape(LABELS[nav.lang]["contents"])}"><ol>{lis}</ol></nav></details>'
    )


def _pager(nav: PageNav) -> str:
    if not (nav.prev or nav.next):
        return ""
    L = LABELS[nav.lang]
    prev = (
        f'<a href="{html.escape(nav.prev[1])}" rel="prev" class="vc-prev" data-vc-nav><small>{L["prev"]}</small>'
        f"<span>{html.escape(nav.prev[0])}</span></a>"
        if nav.prev
        else "<span></span>"
    )
    nxt = (
        f'<a href="{html.escape(nav.next[1])}" rel="next" class="vc-next" data-vc-nav><small>{L["next"]}</small>'
        f"<span>{html.escape(nav.next[0])}</span></a>"
        if nav.next
        else "<span></span>"
    )
    return f'<nav class="vc-pager">{prev}{nxt}</nav>'


#: Runs before the page paints: the stored choice, else the system's (prefers-color-scheme).
_THEME_HEAD = (
    "<script>(function(){var t=null;try{t=localStorage.getItem('vc-theme')}catch(e){}"
    "if(t!=='dark'&&t!=='light'){t=window.matchMedia&&matchMedia('(prefers-color-scheme: dark)').matches"
    "?'dark':'light'}document.documentElement.setAttribute('data-vc-theme',t)})();</script>"
)


def decorate(page: str, nav: PageNav) -> str:
    """Add the chrome to a rendered page: language and theme on ``<html>``, the site style sheet and script,
    the top bar and the contents sidebar after ``<body>``, the pager before ``</body>``."""
    page = re.sub(r"<html\b[^>]*>", f'<html lang="{nav.lang}">', page, count=1)
    page = re.sub(r"(<head\b[^>]*>)", lambda m: m.group(1) + "\n" + _THEME_HEAD, page, count=1)
    i = page.index("</head>")  # after the notebook's own styles, so that the site's rules win
    page = (
        page[:i] + f'<link rel="stylesheet" href="{html.escape(nav.assets)}/site.css">\n'
        f'<script src="{html.escape(nav.assets)}/site.js" defer></script>\n' + page[i:]
    )
    body = re.search(r"<body\b[^>]*>", page)
    if body is None or "</body>" not in page:
        raise ValueError("decorate: the page has no <body> ... </body>")
    open_tag = body.group(0)
    cls = re.search(r'class="([^"]*)"', open_tag)
    new_tag = (
        open_tag.replace(cls.group(0), f'class="{cls.group(1)} vc-site"')
        if cls
        else open_tag[:-1] + ' class="vc-site">'
    )
    chrome = _top_bar(nav) + _sidebar(nav, headings(page))
    page = page[: body.start()] + new_tag + "\n" + chrome + page[body.end() :]
    i = page.rindex("</body>")
    return page[:i] + _pager(nav) + "\n" + page[i:]


def copy_assets(dest: Path, dark_css: str = "") -> Path:
    """Write ``site.css`` (with JupyterLab's dark theme variables, scoped to ``[data-vc-theme=dark]``) and
    ``site.js`` into ``dest`` (the site's ``assets/``)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    css = (ASSETS / "site.css").read_text()
    if dark_css:
        css += "\n/* JupyterLab's dark theme, for notebook pages in dark mode */\n" + dark_css
    (dest / "site.css").write_text(css)
    (dest / "site.js").write_text((ASSETS / "site.js").read_text())
    return dest
