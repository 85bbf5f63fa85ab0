"""Open built decks and site pages in headless Chromium (Playwright) and report what a viewer would get.

Used by ``python -m vitcourse.site check FOLDER`` and by ``tests/test_site.py``::

    with serve("build/site") as base, Browser() as browser:
        report = check_folder("build/site", base, browser, shots="build/site-shots")
        report.problems        # [] when every deck fits and every page works

Chromium is the system one (Debian's ``chromium``, found on ``$PATH`` or
``$CHROMIUM``) driven by the ``playwright`` Python package through
``executable_path``: Playwright never downloads a browser here. Nothing here
installs anything; `unavailable` says why a browser cannot be used.

Pages are served by a local HTTP server (`serve`) so that links behave as on a
web server (a ``.ipynb`` link serves the notebook, not a page). Every request
to any other host is blocked and reported, as are console errors, uncaught
exceptions, failed loads and HTTP errors.

A deck is checked slide by slide at the reveal.js size (1280x720): a (sub)slide
whose content is taller than the slide, a code or output block whose text is
wider than its box (``scrollWidth > clientWidth``: clipped or spilling), a slide
without a heading, and a slide count that differs from the deck notebook's
slide metadata are problems. A screenshot of every slide goes to
``shots/NN_x/slide-H-V.png`` (H, V counted from 1).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import http.server
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

if TYPE_CHECKING:  # playwright is optional at run time (the site extra); imported where a browser starts
    from playwright.sync_api import Page

__all__ = [
    "find_chromium",
    "unavailable",
    "serve",
    "Browser",
    "Tab",
    "Report",
    "check_deck",
    "check_page",
    "check_folder",
    "missing_glyphs",
    "print_deck",
    "print_folder",
    "pdf_page_count",
]

#: The slide size the decks are built for (Reveal.initialize width/height).
SLIDE_SIZE = (1280, 720)
#: Viewport of the checking browser: exactly one slide, so screenshots are 1:1.
VIEWPORT = {"width": 1280, "height": 720}


def find_chromium() -> str | None:
    """Path of the system Chromium (``$CHROMIUM`` first, then ``chromium`` etc. on ``$PATH``), or None."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def unavailable() -> str | None:
    """Why no browser check can run here (a sentence naming the fix), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "the Python package 'playwright' is not installed: pip install -c constraints.txt -e '.[test]' "
            "(no browser download is needed; the system Chromium is used)"
        )
    if find_chromium() is None:
        return (
            "no system Chromium on $PATH (or $CHROMIUM): install it, e.g. `apt-get install -y chromium` "
            "on Debian/Ubuntu; .ci/run does this in CI"
        )
    return None


# ----------------------------------------------------------------------------- local server


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/x-ipynb+json",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, *args):  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a browser closing a connection early is not an error
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on ``http://127.0.0.1:<free port>/`` in a background thread; yields the base URL."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"serve(folder={str(folder)!r}): not a folder; build it first (make slides / make site)"
        )
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ----------------------------------------------------------------------------- browser


@dataclass
class Tab:
    """One open page: the Playwright ``page`` and what went wrong while it ran."""

    page: Page
    errors: list = field(default_factory=list)  # console errors, exceptions, failed loads, HTTP errors
    blocked: list = field(default_factory=list)  # requests to anything but the local server

    @property
    def problems(self) -> list[str]:
        return list(self.errors) + [f"network request outside the local server: {u}" for u in self.blocked]


class Browser:
    """Headless system Chromium through Playwright's sync API; every request off ``allowed`` origins is blocked."""

    def __init__(
        self,
        *,
        executable: str | None = None,
        viewport: dict = VIEWPORT,
        timeout_s: float = 60,
        env: dict | None = None,
    ):
        why = unavailable() if executable is None else None
        if why:
            raise RuntimeError(f"no headless browser: {why}")
        self.executable = executable or find_chromium()
        self.viewport = dict(viewport)
        self.timeout_ms = timeout_s * 1000
        self.env = env  # environment of the browser process (None: this one), e.g. FONTCONFIG_FILE

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._launch()
        return self

    def _launch(self):
        args = [
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--hide-scrollbars",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses its sandbox as root (CI containers)
        return self._pw.chromium.launch(
            executable_path=self.executable,
            headless=True,
            args=args,
            **({"env": {**os.environ, **self.env}} if self.env else {}),
        )

    @contextlib.contextmanager
    def sibling(self, *, env: dict):
        """A second Chromium of this (open) browser's Playwright session, with ``env`` added to its environment
        (e.g. ``FONTCONFIG_FILE``); Playwright's sync API allows one session per thread."""
        other = copy.copy(self)
        other.env = {**(self.env or {}), **env}
        other._browser = other._launch()
        try:
            yield other
        finally:
            other._browser.close()

    def __exit__(self, *exc) -> None:
        self._browser.close()
        self._pw.stop()

    def context(self, allowed: str, *, viewport: dict | None = None):
        """A fresh browser context whose pages may only load from ``allowed`` (an origin such as
        ``http://127.0.0.1:8000``) and ``data:``/``blob:`` URLs; returns (context, blocked list)."""
        ctx = self._browser.new_context(viewport=viewport or self.viewport, service_workers="block")
        ctx.set_default_timeout(self.timeout_ms)
        blocked: list[str] = []
        origin = allowed.rstrip("/")

        def route(r):
            url = r.request.url
            if url.startswith(origin + "/") or url == origin or url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                blocked.append(url)
                r.abort("blockedbyclient")

        ctx.route("**/*", route)
        return ctx, blocked

    def open(self, ctx, blocked: list, url: str, *, wait: str | None = None, timeout_s: float = 60) -> Tab:
        """Open ``url`` in a new page of ``ctx``; wait for the JS expression ``wait`` to be truthy."""
        page = ctx.new_page()
        tab = Tab(page, blocked=blocked)
        watch(tab)
        page.goto(url, wait_until="load")
        if wait:
            try:
                page.wait_for_function(wait, timeout=timeout_s * 1000)
            except Exception:  # playwright TimeoutError; report, do not crash the whole check
                tab.errors.append(f"not ready after {timeout_s:g} s: {wait}")
        return tab


#: Console message types that are problems: errors, and warnings (MathJax reports a bad configuration, such as
#: an option it does not know, only as a warning: ``Invalid option "enableMenu" (no default value).``).
CONSOLE_PROBLEMS = ("error", "warning")
#: Console texts that are not problems of the page (Chromium's own notices in headless mode); empty so far.
CONSOLE_IGNORED: tuple[str, ...] = ()


def watch(tab: Tab) -> None:
    """Record console errors and warnings (`CONSOLE_PROBLEMS`), page exceptions, failed requests and HTTP errors
    of ``tab.page`` in ``tab.errors``."""
    page = tab.page
    page.on(
        "console",
        lambda m: (
            tab.errors.append(f"console {m.type}: {m.text}")
            if m.type in CONSOLE_PROBLEMS and not any(k in m.text for k in CONSOLE_IGNORED)
            else None
        ),
    )
    page.on("pageerror", lambda e: tab.errors.append(f"uncaught exception: {e}"))

    def failed(r) -> None:
        problem = request_failure(r.url, r.failure, tab.blocked)
        if problem:
            tab.errors.append(problem)

    page.on("requestfailed", failed)
    page.on("response", lambda r: tab.errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)


def request_failure(url: str, failure: str | None, blocked) -> str | None:
    """What a failed request says about the page, or None. A request this check blocked is reported as
    blocked; one the browser cancelled (``net::ERR_ABORTED``: the test navigated or reloaded while, say,
    MathJax's fonts were still loading) says nothing about the page; any other failure is a problem (a file
    the page needs and does not get shows up as an HTTP 404 on its response)."""
    if url in blocked or (failure or "").startswith("net::ERR_ABORTED"):
        return None
    return f"failed to load {url}: {failure}"


# ----------------------------------------------------------------------------- decks

_READY_DECK = "window.vitcourseRevealReady === true && window.vitcourseMathDone === true"
_READY_PAGE = "window.vitcourseMathDone === true"

_STATS_JS = """() => ({
  reveal: window.Reveal ? {ready: Reveal.isReady(), total: Reveal.getTotalSlides(),
                           horizontal: Reveal.getHorizontalSlides().length,
                           width: Reveal.getConfig().width, height: Reveal.getConfig().height} : null,
  mjx: document.querySelectorAll('mjx-container').length,
  merror: [...document.querySelectorAll('mjx-merror')].slice(0, 5).map(e => e.textContent),
  mathError: window.vitcourseMathError || null,
  images: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, src: i.src.slice(0, 80)})),
  notes: document.querySelectorAll('aside.notes').length,
})"""

_LAYOUT_JS = """() => {
  const idx = [];
  Reveal.getHorizontalSlides().forEach((hs, h) => {
    const n = Math.max(hs.querySelectorAll(':scope > section').length, 1);
    for (let v = 0; v < n; v++) idx.push([h, v]);
  });
  return idx;
}"""

# Show slide (h, v) with every fragment, let the deck fit it, then measure it in slide pixels.
_MEASURE_JS = """([h, v]) => {
  Reveal.slide(h, v, 9999);
  const s = Reveal.getCurrentSlide();
  if (window.vitcourseFit) window.vitcourseFit(s);
  const visible = e => e.offsetParent !== null && !e.closest('aside.notes');
  const boxes = [...s.querySelectorAll('pre, .highlight, .jp-InputArea-editor, .jp-OutputArea-output, table')]
    .filter(e => visible(e) && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .filter((e, i, all) => !all.some(o => o !== e && o.contains(e)))  // one report per block: the outermost
    .map(e => ({what: e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''),
                scroll: e.scrollWidth, client: e.clientWidth,
                text: (e.textContent || '').trim().split('\\n')[0].slice(0, 60)}));
  const head = [...s.querySelectorAll('h1, h2, h3, h4')].find(visible);
  const top = s.getBoundingClientRect().top, kids = [...s.children].filter(visible);
  const used = kids.length ? (Math.max(...kids.map(c => c.getBoundingClientRect().bottom)) - top) / (Reveal.getScale() || 1) : 0;
  return {h: h, v: v, height: s.scrollHeight, used: Math.round(used), room: s.clientHeight, width: s.scrollWidth, roomWidth: s.clientWidth,
          scale: s.dataset.vitcourseScale ? parseFloat(s.dataset.vitcourseScale) : 1,
          title: head ? head.textContent.replace('\\u00b6', '').trim() : '', clipped: boxes};
}"""


# Korean text drawn as missing-glyph boxes ("tofu"): every Hangul character the page shows (speaker notes left
# out) is drawn on a canvas in the font of its element and compared with a code point no font has (U+0378,
# unassigned): the same pixels, or no pixels at all, mean no font on this machine has the character.
_TOFU_JS = """() => {
  const hangul = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]/g;
  const fonts = new Map();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const chars = n.nodeValue.match(hangul), el = n.parentElement;
    if (!chars || !el || el.closest('aside.notes, script, style, mjx-container')) continue;
    const cs = getComputedStyle(el), font = `${cs.fontStyle} ${cs.fontWeight} 32px ${cs.fontFamily}`;
    if (!fonts.has(font)) fonts.set(font, new Set());
    chars.forEach(c => fonts.get(font).add(c));
  }
  const cv = document.createElement('canvas'); cv.width = 48; cv.height = 48;
  const g = cv.getContext('2d', {willReadFrequently: true});
  const draw = (font, c) => {
    g.clearRect(0, 0, 48, 48); g.font = font; g.textBaseline = 'top'; g.fillStyle = '#000'; g.fillText(c, 4, 4);
    const d = g.getImageData(0, 0, 48, 48).data;
    let h = 0, ink = 0;
    for (let i = 3; i < d.length; i += 4) { h = (h * 31 + d[i]) | 0; ink += d[i]; }
    return ink ? String(h) : 'blank';
  };
  const out = {checked: 0, missing: []};
  fonts.forEach((chars, font) => {
    const none = draw(font, '\u0378');
    const bad = [...chars].filter(c => { const d = draw(font, c); return d === none || d === 'blank'; });
    out.checked += chars.size;
    if (bad.length) out.missing.push({font: font, chars: bad.slice(0, 20).join(''), count: bad.length});
  });
  return out;
}"""


def missing_glyphs(page) -> list[str]:
    """Problems for Korean characters that the page in ``page`` (a Playwright page) draws as missing-glyph boxes."""
    res = page.evaluate(_TOFU_JS)
    return [
        f"{m['count']} Korean character(s) drawn as missing-glyph boxes (no font has them) in font "
        f"{m['font']!r}: {m['chars']!r}; install a Korean font (Debian/Ubuntu: apt-get install fonts-nanum)"
        for m in res["missing"]
    ]


def check_deck(tab: Tab, *, shots: Path | None = None, expected: dict | None = None) -> dict:
    """Measure every (sub)slide of the deck open in ``tab``; returns stats with ``slides`` (one dict per slide)
    and ``problems`` (tall slides, clipped code, slides without a heading, wrong slide counts, page problems).

    ``expected``: `vitcourse.site.slide_counts` of the deck notebook (slides, subslides, notes) to compare with.
    """
    page = tab.page
    stats = page.evaluate(_STATS_JS)
    problems = _content_problems(stats) + missing_glyphs(page)
    rev = stats["reveal"] or {}
    if not rev.get("ready"):
        problems.append("reveal.js did not initialise")
        stats["slides"], stats["problems"] = [], problems + tab.problems
        return stats
    if (rev.get("width"), rev.get("height")) != SLIDE_SIZE:
        problems.append(f"the deck is {rev.get('width')}x{rev.get('height')}, expected {SLIDE_SIZE[0]}x{SLIDE_SIZE[1]}")
    if expected is not None and (rev["total"], rev["horizontal"], stats["notes"]) != (
        expected["subslides"],
        expected["slides"],
        expected["notes"],
    ):
        problems.append(
            f"the deck shows {rev['total']} slides ({rev['horizontal']} horizontal) and {stats['notes']} "
            f"speaker notes; its notebook says {expected['subslides']} ({expected['slides']}) and "
            f"{expected['notes']}"
        )
    page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    if shots is not None:
        Path(shots).mkdir(parents=True, exist_ok=True)
    slides = []
    for h, v in page.evaluate(_LAYOUT_JS):
        m = page.evaluate(_MEASURE_JS, [h, v])
        where = f"slide {h + 1}.{v + 1} {m['title'][:40]!r}"
        if m["room"] and m["height"] > m["room"] + 1:
            problems.append(
                f"{where}: content is {m['height']} px tall, the slide has {m['room']} px "
                f"(x{m['height'] / m['room']:.2f})"
            )
        if m["roomWidth"] and m["width"] > m["roomWidth"] + 1:
            problems.append(f"{where}: content is {m['width']} px wide, the slide has {m['roomWidth']} px")
        for c in m["clipped"]:
            problems.append(
                f"{where}: clipped {c['what']} ({c['scroll']} px of text in {c['client']} px): {c['text']!r}"
            )
        if not m["title"]:
            problems.append(f"{where}: no heading (h1-h4)")
        if shots is not None:
            m["shot"] = str(Path(shots) / f"slide-{h + 1}-{v + 1}.png")
            page.screenshot(path=m["shot"])
        slides.append(m)
    page.evaluate("Reveal.slide(0, 0, 0)")
    stats["slides"] = slides
    stats["problems"] = problems + tab.problems
    return stats


def _content_problems(stats: dict) -> list[str]:
    problems = []
    if stats["mathError"]:
        problems.append(f"MathJax failed: {stats['mathError']}")
    if stats["merror"]:
        problems.append(f"MathJax could not typeset: {stats['merror']}")
    bad = [i["src"] for i in stats["images"] if not i["ok"]]
    if bad:
        problems.append(f"{len(bad)} image(s) did not load: {bad[:3]}")
    return problems


# ----------------------------------------------------------------------------- PDF (print view)

_READY_PRINT = "window.vitcoursePrintReady === true"

# Every page of the print view: its slide, how many paper pages it takes, whether its content is cut.
_PRINT_JS = """() => {
  const cfg = Reveal.getConfig(), pageH = Math.floor(cfg.height * (1 + cfg.margin)) + cfg.pdfPageHeightOffset;
  return [...document.querySelectorAll('.reveal .pdf-page')].map((p, i) => {
    const s = p.querySelector('section'), head = s && s.querySelector('h1, h2, h3, h4');
    const clipped = s ? [...s.querySelectorAll('pre, .highlight, .jp-OutputArea-output, table')]
      .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1).length : 0;
    return {page: i + 1, pages: Math.round(p.offsetHeight / pageH), height: s ? s.scrollHeight : 0,
            room: s ? s.clientHeight : 0, clipped: clipped,
            title: head ? head.textContent.replace('\u00b6', '').trim() : ''};
  });
}"""


def pdf_page_count(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it: its ``/Type /Page`` objects (a tiny parser, no PDF library).

    Raises ValueError for a PDF that keeps its objects in compressed object streams (not Chromium's)."""
    n = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))
    if n == 0 and b"/ObjStm" in pdf:
        raise ValueError("the PDF keeps its objects in compressed object streams; pdf_page_count cannot read it")
    return n


def print_deck(browser: "Browser", ctx, blocked: list, url: str, dest: Path, *, timeout_s: float = 120) -> dict:
    """Print the deck at ``url`` (reveal.js print view, ``?print-pdf``) to the PDF ``dest``: one 1280x720 slide
    (plus reveal.js's margin) per page, every fragment shown, no speaker notes.

    Returns ``slides`` (the deck's slide count), ``pages`` (of the PDF) and ``problems``: a slide whose content
    is taller than the slide (it would be cut, or spill onto a second page), code or output wider than its box,
    a page count that is not the slide count, and whatever went wrong loading the page. Nothing is written
    when the deck did not reach its print layout."""
    tab = browser.open(
        ctx, blocked, url + ("&" if "?" in url else "?") + "print-pdf", wait=_READY_PRINT, timeout_s=timeout_s
    )
    page = tab.page
    problems = []
    try:
        if not page.evaluate("window.vitcoursePrintReady === true"):
            return {"slides": 0, "pages": 0, "problems": tab.problems + ["the print view never became ready"]}
        total = page.evaluate("Reveal.getTotalSlides()")
        layout = page.evaluate(_PRINT_JS)
        for p in layout:
            where = f"slide {p['page']} {p['title'][:40]!r}"
            if p["height"] > p["room"] + 1:
                problems.append(
                    f"{where}: content is {p['height']} px tall, the page has {p['room']} px: it would "
                    f"be cut" + (f" and spill onto {p['pages']} pages" if p["pages"] > 1 else "")
                )
            if p["clipped"]:
                problems.append(f"{where}: {p['clipped']} code/output block(s) wider than their box (cut)")
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        pdf = page.pdf(path=str(dest), prefer_css_page_size=True, print_background=True)
        pages = pdf_page_count(pdf)
        if pages != total:
            problems.append(f"the PDF has {pages} pages for {total} slides (one page per slide expected)")
        return {"slides": total, "pages": pages, "problems": problems + tab.problems}
    finally:
        page.close()


def print_folder(folder: Path, base: str, browser: "Browser", out: Path, *, log=print) -> dict:
    """One PDF per deck (``*.slides.html``, ``vendor/`` left out) under ``folder``, served at ``base``:
    ``out/<same relative path>.pdf`` (``ko/01_x.slides.html`` -> ``out/ko/01_x.pdf``).
    Returns {deck path: `print_deck` result}."""
    folder, out = Path(folder), Path(out)
    found = [f for f in sorted(folder.rglob("*.slides.html")) if "vendor" not in f.relative_to(folder).parts]
    ctx, blocked = browser.context(base)
    results = {}
    try:
        for f in found:
            rel = f.relative_to(folder).as_posix()
            dest = out / (rel[: -len(".slides.html")] + ".pdf")
            del blocked[:]
            r = print_deck(browser, ctx, blocked, urljoin(base, rel), dest)
            results[rel] = dict(r, pdf=str(dest))
            log(
                f"{rel:48s} {r['slides']:>3} slides {r['pages']:>3} pages  {dest}"
                + ("" if not r["problems"] else "\n    PROBLEM " + "\n    PROBLEM ".join(r["problems"]))
            )
    finally:
        ctx.close()
    return results


# ----------------------------------------------------------------------------- pages and links

_LINKS_JS = """() => [...document.querySelectorAll('a[href]')].map(a => ({
  href: a.href, raw: a.getAttribute('href'), text: (a.textContent || '').trim().slice(0, 80),
  nav: !!a.closest('nav, .vc-nav, .vc-sidebar, .vc-pager')}))"""


def link_intent(text: str, href: str) -> str | None:
    """What a link promises by its label or name: ``notebook`` (an .ipynb), ``slides`` (a reveal.js deck),
    ``page`` (an HTML page) or None (no promise beyond existing)."""
    t = text.lower()
    path = urlsplit(href).path
    if "notebook" in t or "(.ipynb)" in t or path.endswith(".ipynb"):
        return "notebook"
    if t in ("slides", "deck") or path.endswith(".slides.html"):
        return "slides"
    if path.endswith((".html", "/")):
        return "page"
    return None


def _served_kind(body: bytes, content_type: str) -> str:
    if "json" in content_type or body[:1] == b"{":
        try:
            data = json.loads(body)
        except ValueError:
            return "broken json"
        return "notebook" if isinstance(data, dict) and "cells" in data and "nbformat" in data else "json"
    text = body[:400_000].decode("utf-8", "replace")
    if "Reveal.initialize" in text:
        return "slides"
    if "<html" in text.lower():
        return "page"
    return content_type or "file"


def check_links(tab: Tab, base: str, cache: dict) -> list[str]:
    """Every link of the page in ``tab``: a local one must load (HTTP 200) and serve what its label promises
    (`link_intent`; "Download notebook" must serve a notebook, not a page); it must not point to the page
    itself; an anchor must exist. Links to other hosts are not followed (they load nothing until clicked)."""
    page = tab.page
    here = urldefrag(page.url)[0]
    problems = []
    for a in page.evaluate(_LINKS_JS):
        url, frag = urldefrag(a["href"])
        label = f"link {a['text']!r} -> {a['raw']}"
        if not url.startswith(base):
            if url.startswith(("http:", "https:", "file:")) and urlsplit(url).hostname in ("127.0.0.1", "localhost"):
                problems.append(f"{label}: points outside the site")
            continue
        if url == here:
            if frag and not page.evaluate("id => !!document.getElementById(id)", frag):
                problems.append(f"{label}: no element with id {frag!r} on this page")
            elif not frag and a["nav"]:
                problems.append(f"{label}: points to the page itself")
            continue
        if url not in cache:
            r = page.request.get(url, fail_on_status_code=False)
            cache[url] = (r.status, _served_kind(r.body(), r.headers.get("content-type", "")) if r.ok else "")
        status, kind = cache[url]
        if status != 200:
            problems.append(f"{label}: HTTP {status}")
            continue
        want = link_intent(a["text"], url)
        if want == "notebook" and kind != "notebook":
            problems.append(f"{label}: promises a notebook, serves {kind}")
        elif want == "slides" and kind != "slides":
            problems.append(f"{label}: promises a slide deck, serves {kind}")
        elif want == "page" and kind not in ("page", "slides"):
            problems.append(f"{label}: promises a page, serves {kind}")
    return problems


def check_page(tab: Tab, base: str, cache: dict) -> dict:
    """Content and links of the site page open in ``tab``; ``problems`` lists what is wrong."""
    stats = tab.page.evaluate(_STATS_JS)
    stats["problems"] = (
        _content_problems(stats) + missing_glyphs(tab.page) + check_links(tab, base, cache) + tab.problems
    )
    return stats


# ----------------------------------------------------------------------------- a whole folder


@dataclass
class Report:
    lines: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    decks: dict = field(default_factory=dict)  # deck path (relative to the folder) -> check_deck stats

    @property
    def tall(self) -> int:
        return sum(1 for p in self.problems if " px tall, the slide has " in p)

    @property
    def clipped(self) -> int:
        return sum(1 for p in self.problems if ": clipped " in p)


def check_folder(
    folder: Path,
    base: str,
    browser: Browser,
    *,
    shots: Path | None = None,
    expected=None,
    links: bool = True,
    log=print,
) -> Report:
    """Check every deck (``*.slides.html``) and page (other ``*.html``, ``vendor/`` left out) under ``folder``,
    served at ``base``. ``expected(deck_path)`` may return `slide_counts` for a deck (or None)."""
    folder = Path(folder)
    files = [f for f in sorted(folder.rglob("*.html")) if "vendor" not in f.relative_to(folder).parts]
    report = Report()
    ctx, blocked = browser.context(base)
    cache: dict = {}
    try:
        for f in files:
            rel = f.relative_to(folder).as_posix()
            url = urljoin(base, rel)
            deck = f.name.endswith(".slides.html")
            del blocked[:]
            tab = browser.open(ctx, blocked, url, wait=_READY_DECK if deck else _READY_PAGE)
            if deck:
                stem = rel[: -len(".slides.html")]  # ko/01_attention: Korean decks keep their own screenshots
                st = check_deck(
                    tab,
                    shots=Path(shots) / stem if shots is not None else None,
                    expected=expected(f) if expected else None,
                )
                line = (
                    f"{rel:48s} {len(st['slides']):>3} slides {st['notes']:>3} notes {st['mjx']:>4} formulas "
                    f"{len(st['images']):>3} images"
                )
                report.decks[rel] = st
            else:
                st = check_page(tab, base, cache) if links else {"problems": tab.problems}
                line = f"{rel:48s} page"
            tab.page.close()
            report.problems += [f"{rel}: {p}" for p in st["problems"]]
            log(line + ("" if not st["problems"] else "\n    PROBLEM " + "\n    PROBLEM ".join(st["problems"])))
    finally:
        ctx.close()
    log(
        f"{len(files)} files, {len(report.problems)} problem(s): {report.tall} slide(s) taller than "
        f"{SLIDE_SIZE[0]}x{SLIDE_SIZE[1]}, {report.clipped} clipped code/output block(s)"
    )
    return report
