"""Drawn figures for the lectures: SVG built by code, one module per lecture (``l01`` ... ``l11``).

Every figure is a function that returns SVG text, registered with ``@figure("NN_name")``.
``python -m vitcourse.figures build`` writes them all to ``notebooks/figures/NN_name.svg``; lecture
markdown shows them with ``![alt](figures/NN_name.svg)`` (JupyterLab, the decks and the site read the
same file). A test rebuilds them and compares with the committed files, so code and pictures cannot drift.

Pure string building, no dependency: the output is byte-for-byte deterministic (numbers are rounded
to fixed decimals; "random" cells come from :class:`random.Random` with a fixed seed).

Drawing conventions:
- a viewBox in user units (about 900 wide), a ``width`` of 700-900 px and a proportional ``height``;
- a light, opaque background, so the figure reads the same in light and dark JupyterLab themes;
- mid-tone fills with dark ink; one colour per role, the same in every lecture: queries blue, keys
  orange, values green, weights/outputs purple, masks red, positions yellow, class token pink;
- text in a font stack with Korean-capable fonts (Noto Sans KR, NanumGothic, Apple SD Gothic Neo,
  Malgun Gothic) before the generic sans-serif;
- shapes written as in the code, ``(B, N, D)``; ``_x`` / ``_{xy}`` make a subscript, ``^{T}`` a
  superscript (see :func:`rich`).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import random
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "Figure",
    "figure",
    "all_figures",
    "build",
    "render",
    "labels",
    "language",
    "LANGUAGES",
    "PALETTE",
    "heat",
    "fmt",
    "rich",
    "softmax",
    "LECTURES",
]

FONT_STACK = (
    "'Noto Sans', 'Noto Sans KR', 'Noto Sans CJK KR', NanumGothic, 'Nanum Gothic', "
    "'Apple SD Gothic Neo', 'Malgun Gothic', 'DejaVu Sans', Arial, sans-serif"
)
MONO_STACK = "'DejaVu Sans Mono', 'Noto Sans Mono', Menlo, Consolas, monospace"

INK = "#1f2328"  # text and outlines
MUTED = "#57606a"  # secondary text, thin guides
BACKGROUND = "#fbfbf7"  # opaque, so dark themes show the same picture
PALETTE = {
    "query": "#9cc3ea",
    "key": "#f5bf86",
    "value": "#a6d79c",
    "weight": "#c8b2e6",
    "output": "#c8b2e6",
    "mask": "#ef9a9a",
    "pos": "#f2dc7d",
    "cls": "#f4a9c8",
    "norm": "#d5dbe1",
    "mlp": "#93d0cb",
    "attn": "#9cc3ea",
    "grey": "#e4e6e9",
    "white": "#ffffff",
    "conv": "#d9c7a7",
    "head": "#f4a9c8",
}
# Distinct, mid-tone colours for heads, patches, classes (colour-blind-aware order).
SERIES = ["#6ea6dc", "#f0a35e", "#74c17a", "#d67b9a", "#a58bd6", "#5fc0b8", "#d9b84e", "#9aa5b1"]
LECTURES = [f"{i:02d}" for i in range(1, 12)]
_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+$")

FIGURES: dict[str, Callable[[], str]] = {}
# The language figures are drawn in: "en" (the labels as written in l01.py ... l11.py) or "ko" (each label
# looked up in figures/labels_ko.json, Hangul drawn as outlines: see vitcourse/figures/korean.py).
LANGUAGES = ("en", "ko")
_LANG: dict[str, Any] = {"lang": "en", "labels": {}, "missing": set(), "seen": None}


@contextlib.contextmanager
def language(lang: str, labels: dict[str, str] | None = None, *, seen: set | None = None):
    """Draw figures in ``lang`` inside the block; ``labels`` overrides the Korean catalogue (tests).

    Labels that need an entry and have none are collected in ``missing_labels()``; with ``seen``, every
    label drawn is added to it.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r}: expected one of {LANGUAGES}")
    if lang == "ko" and labels is None:
        from .korean import load_catalogue

        labels = load_catalogue()
    old = dict(_LANG)
    _LANG.update(lang=lang, labels=labels or {}, missing=set(), seen=seen)
    try:
        yield _LANG["missing"]
    finally:
        _LANG.clear()
        _LANG.update(old)


def figure(name: str):
    """Register a figure function under ``name`` ("NN_what", NN = lecture number)."""
    if not _NAME.match(name):
        raise ValueError(
            f"figure name {name!r} must look like 'NN_what' (two digits, underscore, lower-case "
            "letters, digits, underscores), e.g. '06_patch_grid'"
        )

    def register(fn: Callable[[], str]) -> Callable[[], str]:
        if name in FIGURES and FIGURES[name] is not fn:
            raise ValueError(
                f"figure name {name!r} is registered twice ({FIGURES[name].__qualname__} and "
                f"{fn.__qualname__}); give one of them another name"
            )
        FIGURES[name] = fn
        fn.figure_name = name  # type: ignore[attr-defined]  # a function attribute; Callable has none
        return fn

    return register


def all_figures() -> dict[str, Callable[[], str]]:
    """Every registered figure, ``{name: function}`` sorted by name (imports the lecture modules)."""
    for lec in LECTURES:
        importlib.import_module(f"{__name__}.l{lec}")
    return dict(sorted(FIGURES.items()))


def render(name: str, lang: str = "en", labels: dict[str, str] | None = None) -> str:
    """The SVG text of figure ``name`` in ``lang``; a label without a Korean entry is a ValueError."""
    fn = all_figures()[name]
    if lang == "en":
        return fn()
    with language(lang, labels) as missing:
        text = fn()
    if missing:
        raise ValueError(
            f"figure {name}: {len(missing)} label(s) have no entry in vitcourse/figures/labels_ko.json: "
            f"{sorted(missing)[:5]}; add them (`python -m vitcourse.figures labels` lists every label)"
        )
    return text


def labels(names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``{label: [figure names]}`` for every label drawn (in English) by the figures in ``names`` (default all)."""
    out: dict[str, list[str]] = {}
    figs = all_figures()
    for name in names or figs:
        seen: set = set()
        with language("ko", {}, seen=seen):
            figs[name]()
        for label in seen:
            out.setdefault(label, []).append(name)
    return dict(sorted(out.items()))


def build(out: Path | str, *, names: Iterable[str] | None = None, lang: str = "en") -> list[Path]:
    """Write every figure (or those in ``names``) in ``lang`` to ``out/NAME.svg``; return the written paths."""
    figs = all_figures()
    if names is not None:
        names = list(names)
        unknown = [n for n in names if n not in figs]
        if unknown:
            raise ValueError(f"unknown figure name(s) {unknown}; known: {sorted(figs)}")
        figs = {n: figs[n] for n in names}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in figs:
        path = out / f"{name}.svg"
        path.write_text(render(name, lang), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------------- numbers
def fmt(v: float, nd: int = 2) -> str:
    """A fixed-decimal string without trailing zeros or "-0" (deterministic on every platform)."""
    s = f"{v:.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def softmax(xs: Sequence[float], tau: float = 1.0) -> list[float]:
    """Numerically stable softmax of a list (the same formula as lecture 01)."""
    m = max(xs)
    e = [math.exp((x - m) / tau) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def mix(a: str, b: str, t: float) -> str:
    """Colour between ``a`` (t=0) and ``b`` (t=1)."""
    t = min(1.0, max(0.0, t))
    ra, ga, ba = _hex(a)
    rb, gb, bb = _hex(b)
    return "#{:02x}{:02x}{:02x}".format(round(ra + (rb - ra) * t), round(ga + (gb - ga) * t), round(ba + (bb - ba) * t))


def heat(t: float, hi: str = "#2f6fb0", lo: str = "#ffffff") -> str:
    """Sequential colour scale for weights in [0, 1]."""
    return mix(lo, hi, t)


def diverging(t: float) -> str:
    """Diverging scale for values in [-1, 1]: orange (negative), white (0), blue (positive)."""
    return mix("#ffffff", "#2f6fb0", t) if t >= 0 else mix("#ffffff", "#d9782d", -t)


def ink_on(fill: str) -> str:
    """Dark or white text, whichever reads better on ``fill``."""
    r, g, b = _hex(fill)
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def rng(seed: int) -> random.Random:
    """A seeded generator for decorative "random" cells (deterministic across platforms)."""
    return random.Random(seed)


# ----------------------------------------------------------------------------------------------- text
def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_RICH = re.compile(r"([_^])(\{[^}]*\}|[^\s{}_^(),·×=+\-/])")


def rich(s: str, size: float) -> str:
    """Escape ``s`` and turn ``_x``, ``_{xy}`` into subscripts and ``^x``, ``^{xy}`` into superscripts."""
    for sup, digit in (("²", "2"), ("³", "3"), ("⁸", "8")):  # real superscripts: uneven support across fonts
        s = s.replace(sup, "^{" + digit + "}")
    out, pos, shift = [], 0, 0.0
    small = fmt(size * 0.72, 1)
    for m in _RICH.finditer(s):
        if m.start() > pos:
            seg = esc(s[pos : m.start()])
            out.append(f'<tspan dy="{fmt(-shift, 2)}em">{seg}</tspan>' if shift else seg)
            shift = 0.0
        body = m.group(2)[1:-1] if m.group(2).startswith("{") else m.group(2)
        d = 0.32 if m.group(1) == "_" else -0.45
        out.append(f'<tspan dy="{fmt(d - shift, 2)}em" font-size="{small}">{esc(body)}</tspan>')
        shift = d
        pos = m.end()
    if pos < len(s):
        seg = esc(s[pos:])
        out.append(f'<tspan dy="{fmt(-shift * 0.72, 2)}em">{seg}</tspan>' if shift else seg)
    return "".join(out)


def _rich_runs(s: str) -> list[tuple[str, float, float]]:
    """``s`` as (text, size scale, baseline shift in ems of the base size) runs, the layout `rich` asks for."""
    for sup, digit in (("²", "2"), ("³", "3"), ("⁸", "8")):
        s = s.replace(sup, "^{" + digit + "}")
    runs, pos = [], 0
    for m in _RICH.finditer(s):
        if m.start() > pos:
            runs.append((s[pos : m.start()], 1.0, 0.0))
        body = m.group(2)[1:-1] if m.group(2).startswith("{") else m.group(2)
        runs.append((body, 0.72, 0.32 * 0.72 if m.group(1) == "_" else -0.45 * 0.72))
        pos = m.end()
    if pos < len(s):
        runs.append((s[pos:], 1.0, 0.0))
    return runs


def _hangul(s: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in s)


def _translate(s: str) -> str:
    """``s`` in the current language: its catalogue entry, else ``s`` (recorded as missing if it is words)."""
    from .korean import needs_entry

    if _LANG["seen"] is not None:
        _LANG["seen"].add(s)
    if s in _LANG["labels"]:
        return _LANG["labels"][s]
    if needs_entry(s):
        _LANG["missing"].add(s)
    return s


# ----------------------------------------------------------------------------------------------- canvas
class Figure:
    """A drawing in user units ``width x height``; :meth:`svg` returns the document.

    Methods add shapes and return useful geometry (a box's edges and centre) so that arrows can be
    attached without repeating coordinates.
    """

    def __init__(self, width: float, height: float, *, display_width: int = 820, background: str = BACKGROUND):
        if not (500 <= display_width <= 960):
            raise ValueError(
                f"display_width={display_width}: expected 500-960 px so the figure fits a 1280x720 "
                "slide; pass a value in that range"
            )
        self.width, self.height, self.display_width = width, height, display_width
        self.background = background
        self.parts: list[str] = []
        self.defs: list[str] = []
        self._glyphs: set[str] = set()

    # -- raw
    def add(self, element: str) -> None:
        self.parts.append(element)

    def svg(self) -> str:
        w, h = self.width, self.height
        dh = round(self.display_width * h / w)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{self.display_width}" height="{dh}" viewBox="0 0 {fmt(w)} {fmt(h)}" '
            f'font-family="{FONT_STACK}" font-size="15" fill="{INK}">'
        )
        body = [head]
        if self.defs:
            body.append("<defs>" + "".join(self.defs) + "</defs>")
        body.append(f'<rect x="0" y="0" width="{fmt(w)}" height="{fmt(h)}" rx="10" fill="{self.background}"/>')
        body.extend(self.parts)
        body.append("</svg>")
        return "\n".join(body) + "\n"

    # -- primitives
    def rect(self, x, y, w, h, *, fill="none", stroke=INK, sw=1.2, rx=3, dash=None, opacity=None) -> dict:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' fill-opacity="{fmt(opacity)}"' if opacity is not None else ""
        stroke_attr = f' stroke="{stroke}" stroke-width="{fmt(sw)}"' if stroke else ""
        self.add(
            f'<rect x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" height="{fmt(h)}" rx="{fmt(rx)}" '
            f'fill="{fill}"{stroke_attr}{extra}/>'
        )
        return {
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "cx": x + w / 2,
            "cy": y + h / 2,
            "l": x,
            "r": x + w,
            "t": y,
            "b": y + h,
        }

    def text(
        self,
        x,
        y,
        s: str,
        *,
        size=15,
        anchor="middle",
        weight=None,
        italic=False,
        fill=None,
        mono=False,
        rotate=None,
        raw=False,
    ) -> None:
        """Text centred vertically on ``y``; ``raw=True`` keeps underscores (no subscripts)."""
        if _LANG["lang"] != "en":
            s = _translate(s)
            if _hangul(s):
                self._outline_text(
                    x, y, s, size=size, anchor=anchor, weight=weight, italic=italic, fill=fill, rotate=rotate, raw=raw
                )
                return
        attrs = (
            f'x="{fmt(x)}" y="{fmt(y)}" dy="0.35em" font-size="{fmt(size)}" text-anchor="{anchor}" xml:space="preserve"'
        )
        if weight:
            attrs += f' font-weight="{weight}"'
        if italic:
            attrs += ' font-style="italic"'
        if fill:
            attrs += f' fill="{fill}"'
        if mono:
            attrs += f' font-family="{MONO_STACK}"'
        if rotate is not None:
            attrs += f' transform="rotate({fmt(rotate)} {fmt(x)} {fmt(y)})"'
        self.add(f"<text {attrs}>{esc(s) if raw else rich(s, size)}</text>")

    def _outline_text(self, x, y, s, *, size, anchor, weight, italic, fill, rotate, raw) -> None:
        """``s`` drawn as NanumGothic glyph outlines placed like `text` would place it (see korean.py)."""
        from .korean import glyph, units_per_em

        w = "bold" if weight in ("bold", "600", "700", 600, 700) else "regular"
        runs = [(s, 1.0, 0.0)] if raw else _rich_runs(s)
        k = size / units_per_em(w)
        placed, pen = [], 0.0  # pen: advance in font units at the base size
        for text, scale, shift in runs:
            uses = []
            for ch in text:
                gid, d, adv = glyph(ch, w)
                if not ch.isspace():
                    if gid not in self._glyphs:
                        self._glyphs.add(gid)
                        self.defs.append(f'<path id="{gid}" d="{d}"/>')
                    uses.append((gid, pen / scale))
                pen += adv * scale
            placed.append((scale, shift, uses))
        x0 = x - (pen * k / 2 if anchor == "middle" else pen * k if anchor == "end" else 0)
        base = y + 0.35 * size
        attrs = f' fill="{fill}"' if fill else ""
        transform = f' transform="rotate({fmt(rotate)} {fmt(x)} {fmt(y)})"' if rotate is not None else ""
        body = []
        for scale, shift, uses in placed:
            if not uses:
                continue
            ks = k * scale
            skew = " skewX(-12)" if italic else ""
            body.append(
                f'<g transform="translate({fmt(x0, 2)} {fmt(base + shift * size, 2)}){skew} '
                f'scale({fmt(ks, 5)} {fmt(-ks, 5)})">'
                + "".join(f'<use xlink:href="#{gid}" x="{fmt(ux, 1)}"/>' for gid, ux in uses)
                + "</g>"
            )
        self.add(f'<g aria-label="{esc(s)}" role="img"{attrs}{transform}>' + "".join(body) + "</g>")

    def lines(self, x, y, rows: Sequence[str], *, size=14, gap=1.3, **kw) -> None:
        """Several text lines centred vertically on ``y``."""
        y0 = y - (len(rows) - 1) * size * gap / 2
        for i, r in enumerate(rows):
            self.text(x, y0 + i * size * gap, r, size=size, **kw)

    def line(self, x1, y1, x2, y2, *, stroke=INK, sw=1.4, dash=None, opacity=None) -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' stroke-opacity="{fmt(opacity)}"' if opacity is not None else ""
        self.add(
            f'<line x1="{fmt(x1)}" y1="{fmt(y1)}" x2="{fmt(x2)}" y2="{fmt(y2)}" stroke="{stroke}" '
            f'stroke-width="{fmt(sw)}"{extra}/>'
        )

    def circle(self, cx, cy, r, *, fill="none", stroke=INK, sw=1.2) -> None:
        stroke_attr = f' stroke="{stroke}" stroke-width="{fmt(sw)}"' if stroke else ""
        self.add(f'<circle cx="{fmt(cx)}" cy="{fmt(cy)}" r="{fmt(r)}" fill="{fill}"{stroke_attr}/>')

    def polygon(self, pts, *, fill=INK, stroke=None, sw=1.0, opacity=None) -> None:
        p = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in pts)
        stroke_attr = f' stroke="{stroke}" stroke-width="{fmt(sw)}"' if stroke else ""
        op = f' fill-opacity="{fmt(opacity)}"' if opacity is not None else ""
        self.add(f'<polygon points="{p}" fill="{fill}"{stroke_attr}{op}/>')

    def path(self, d: str, *, stroke=INK, sw=1.4, fill="none", dash=None, opacity=None) -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' stroke-opacity="{fmt(opacity)}"' if opacity is not None else ""
        self.add(f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{fmt(sw)}"{extra}/>')

    def _head(self, x, y, ux, uy, color, size) -> None:
        px, py = -uy, ux
        self.polygon(
            [
                (x, y),
                (x - ux * size + px * size * 0.45, y - uy * size + py * size * 0.45),
                (x - ux * size - px * size * 0.45, y - uy * size - py * size * 0.45),
            ],
            fill=color,
        )

    def arrow(self, x1, y1, x2, y2, *, color=INK, sw=1.6, dash=None, head=9, opacity=None) -> None:
        """A straight arrow from (x1, y1) to (x2, y2), the head drawn as a polygon (no markers)."""
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        self.line(x1, y1, x2 - ux * head * 0.8, y2 - uy * head * 0.8, stroke=color, sw=sw, dash=dash, opacity=opacity)
        self._head(x2, y2, ux, uy, color, head)

    def elbow(self, pts: Sequence[tuple[float, float]], *, color=INK, sw=1.6, dash=None, head=9) -> None:
        """A polyline arrow through ``pts`` (head at the last point)."""
        (xa, ya), (xb, yb) = pts[-2], pts[-1]
        d = math.hypot(xb - xa, yb - ya) or 1.0
        ux, uy = (xb - xa) / d, (yb - ya) / d
        short = list(pts[:-1]) + [(xb - ux * head * 0.8, yb - uy * head * 0.8)]
        self.path("M " + " L ".join(f"{fmt(x)} {fmt(y)}" for x, y in short), stroke=color, sw=sw, dash=dash)
        self._head(xb, yb, ux, uy, color, head)

    def curve(self, x1, y1, x2, y2, *, bend=-60, lift=None, color=INK, sw=1.6, head=9, opacity=None) -> None:
        """A quadratic arc arrow from (x1, y1) to (x2, y2), bulging ``bend`` units sideways
        (or, with ``lift``, always upwards: control point ``lift`` above the higher end)."""
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        nx, ny = -(y2 - y1) / d, (x2 - x1) / d
        cx, cy = mx + nx * bend, my + ny * bend
        if lift is not None:
            cx, cy = mx, min(y1, y2) - lift
        ux, uy = x2 - cx, y2 - cy
        du = math.hypot(ux, uy) or 1.0
        ux, uy = ux / du, uy / du
        ex, ey = x2 - ux * head * 0.8, y2 - uy * head * 0.8
        self.path(
            f"M {fmt(x1)} {fmt(y1)} Q {fmt(cx)} {fmt(cy)} {fmt(ex)} {fmt(ey)}", stroke=color, sw=sw, opacity=opacity
        )
        self._head(x2, y2, ux, uy, color, head)

    # -- composites
    def box(
        self,
        x,
        y,
        w,
        h,
        label: str = "",
        *,
        fill=PALETTE["grey"],
        sub: str | None = None,
        size=15,
        sub_size=12.5,
        rx=6,
        stroke=INK,
        sw=1.2,
        dash=None,
        weight=None,
    ) -> dict:
        """A rounded box with a centred label and an optional second line (a shape, in grey)."""
        g = self.rect(x, y, w, h, fill=fill, stroke=stroke, sw=sw, rx=rx, dash=dash)
        color = ink_on(fill) if fill not in ("none",) else INK
        if sub:
            self.text(x + w / 2, y + h / 2 - sub_size * 0.62, label, size=size, fill=color, weight=weight)
            self.text(x + w / 2, y + h / 2 + size * 0.62, sub, size=sub_size, fill=MUTED if color == INK else color)
        elif label:
            self.text(x + w / 2, y + h / 2, label, size=size, fill=color, weight=weight)
        return g

    def grid(
        self,
        x,
        y,
        rows: int,
        cols: int,
        cell: float,
        *,
        fill: Callable[..., str] | str = "#ffffff",
        stroke=INK,
        sw=0.8,
        values: Callable[..., str] | None = None,
        size=None,
        cell_h=None,
        outline=1.4,
    ) -> dict:
        """A rows x cols grid of cells (a matrix); ``fill(r, c)`` colours and ``values(r, c)`` labels cells."""
        ch = cell if cell_h is None else cell_h
        size = size or min(cell, ch) * 0.42
        for r in range(rows):
            for c in range(cols):
                f = fill(r, c) if callable(fill) else fill
                self.add(
                    f'<rect x="{fmt(x + c * cell)}" y="{fmt(y + r * ch)}" width="{fmt(cell)}" '
                    f'height="{fmt(ch)}" fill="{f}" stroke="{stroke}" stroke-width="{fmt(sw)}"/>'
                )
                if values is not None:
                    v = values(r, c)
                    if v:
                        self.text(x + (c + 0.5) * cell, y + (r + 0.5) * ch, v, size=size, fill=ink_on(f))
        if outline:
            self.rect(x, y, cols * cell, rows * ch, stroke=stroke, sw=outline, rx=0)
        w, h = cols * cell, rows * ch
        return {
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "cx": x + w / 2,
            "cy": y + h / 2,
            "l": x,
            "r": x + w,
            "t": y,
            "b": y + h,
        }

    def matrix(
        self,
        x,
        y,
        rows: int,
        cols: int,
        cell: float,
        *,
        fill="#ffffff",
        name: str | None = None,
        shape: str | None = None,
        cell_h=None,
        name_size=16,
        shape_size=12.5,
        **kw,
    ) -> dict:
        """A grid with its name above and its shape below, e.g. ``Q`` over ``(N, d_k)``."""
        g = self.grid(x, y, rows, cols, cell, fill=fill, cell_h=cell_h, **kw)
        if name:
            self.text(g["cx"], y - 13, name, size=name_size, weight="bold")
        if shape:
            self.text(g["cx"], g["b"] + 14, shape, size=shape_size, fill=MUTED)
        return g

    def brace(self, x1, y, x2, label: str = "", *, down=True, size=13, color=MUTED) -> None:
        """A horizontal square bracket from x1 to x2 at height y with a label on its outer side."""
        t = 6 if down else -6
        self.path(
            f"M {fmt(x1)} {fmt(y - t)} L {fmt(x1)} {fmt(y)} L {fmt(x2)} {fmt(y)} L {fmt(x2)} {fmt(y - t)}",
            stroke=color,
            sw=1.2,
        )
        if label:
            self.text((x1 + x2) / 2, y + (12 if down else -12), label, size=size, fill=color)

    def vbrace(self, x, y1, y2, label: str = "", *, right=True, size=13, color=MUTED) -> None:
        """A vertical square bracket from y1 to y2 at x with a label on its outer side."""
        t = -6 if right else 6
        self.path(
            f"M {fmt(x + t)} {fmt(y1)} L {fmt(x)} {fmt(y1)} L {fmt(x)} {fmt(y2)} L {fmt(x + t)} {fmt(y2)}",
            stroke=color,
            sw=1.2,
        )
        if label:
            self.text(
                x + (8 if right else -8),
                (y1 + y2) / 2,
                label,
                size=size,
                fill=color,
                anchor="start" if right else "end",
            )

    def bars(
        self,
        x,
        y,
        w,
        h,
        values: Sequence[float],
        *,
        colors=None,
        labels=None,
        vmax=None,
        fmt_nd=2,
        size=12,
        show_values=True,
    ) -> dict:
        """Vertical bars in the box (x, y, w, h), baseline at the bottom, values printed above."""
        n = len(values)
        vmax = vmax or max(values) or 1.0
        slot = w / n
        bw = slot * 0.62
        self.line(x, y + h, x + w, y + h, stroke=MUTED, sw=1)
        for i, v in enumerate(values):
            bh = h * v / vmax
            bx = x + i * slot + (slot - bw) / 2
            col = colors[i] if colors else PALETTE["weight"]
            self.rect(bx, y + h - bh, bw, bh, fill=col, stroke=INK, sw=0.8, rx=1)
            if show_values:
                self.text(bx + bw / 2, y + h - bh - 9, fmt(v, fmt_nd), size=size)
            if labels:
                self.text(bx + bw / 2, y + h + 12, labels[i], size=size, fill=MUTED)
        return {
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "l": x,
            "r": x + w,
            "t": y,
            "b": y + h,
            "cx": x + w / 2,
            "cy": y + h / 2,
        }

    def legend(self, x, y, items: Sequence[tuple[str, str]], *, size=13, gap=None) -> None:
        """Colour swatches with labels in one row starting at (x, y)."""
        cx = x
        for color, label in items:
            self.rect(cx, y - 7, 14, 14, fill=color, stroke=INK, sw=0.8, rx=2)
            self.text(cx + 20, y, label, size=size, anchor="start")
            cx += 20 + (gap or (len(label) * size * 0.55 + 22))


# ----------------------------------------------------------------------------------------------- the stand-in photo
# A 16 x 16 "photograph" for lecture 06 (and the patch pictures of 02, 08, 10), pixel art so that
# patches, flattening and channels can be drawn exactly. One letter per pixel.
PHOTO_COLORS = {
    "s": "#8ec9ef",
    "u": "#f7d44c",
    "g": "#6cbf5b",
    "d": "#3f8f3a",
    "r": "#d65745",
    "w": "#f2ede1",
    "b": "#8a5a3c",
    "k": "#4a4a4a",
    "c": "#ffffff",
    "y": "#6aa7d8",
}
PHOTO = [
    "sssssssssssssuus",
    "sscccssssssssuuu",
    "scccccsssssssuus",
    "sssssssrrsssssss",
    "ssssssrrrrssssss",
    "sssssrrrrrrsssss",
    "ssssrrrrrrrrssss",
    "sddswwwwwwwwssss",
    "ddddwyywwyywssss",
    "ddddwyywwyywssss",
    "sddswwwbbwwwssss",
    "ssbswwwbbwwwssss",
    "ggbgwwwbbwwwgggg",
    "gggggggggggggggg",
    "gdgggggdgggggdgg",
    "gggggggggggggggg",
]


def photo_pixels() -> list[list[str]]:
    """The 16 x 16 stand-in photograph as rows of hex colours."""
    return [[PHOTO_COLORS[ch] for ch in row] for row in PHOTO]


def draw_photo(fig: Figure, x, y, size, *, grid_patch: int | None = None, numbers=False, stroke=INK) -> dict:
    """Draw the stand-in photo as a ``size`` x ``size`` square; ``grid_patch`` overlays the patch grid."""
    px = photo_pixels()
    n = len(px)
    cell = size / n
    for r in range(n):
        for c in range(n):
            fig.add(
                f'<rect x="{fmt(x + c * cell)}" y="{fmt(y + r * cell)}" width="{fmt(cell + 0.05)}" '
                f'height="{fmt(cell + 0.05)}" fill="{px[r][c]}"/>'
            )
    fig.rect(x, y, size, size, stroke=stroke, sw=1.4, rx=0)
    if grid_patch:
        k = n // grid_patch
        for i in range(1, k):
            fig.line(x + i * size / k, y, x + i * size / k, y + size, stroke="#ffffff", sw=2.6)
            fig.line(x, y + i * size / k, x + size, y + i * size / k, stroke="#ffffff", sw=2.6)
        if numbers:
            for r in range(k):
                for c in range(k):
                    cx, cy = x + (c + 0.5) * size / k, y + (r + 0.5) * size / k
                    fig.circle(cx, cy, 10, fill="#ffffff", stroke=INK, sw=0.8)
                    fig.text(cx, cy, str(r * k + c + 1), size=11)
    return {
        "x": x,
        "y": y,
        "w": size,
        "h": size,
        "l": x,
        "r": x + size,
        "t": y,
        "b": y + size,
        "cx": x + size / 2,
        "cy": y + size / 2,
    }


def draw_patch(fig: Figure, x, y, size, pr: int, pc: int, patch: int = 4) -> None:
    """Draw patch (pr, pc) of the stand-in photo (``patch`` x ``patch`` pixels) as a square."""
    px = photo_pixels()
    cell = size / patch
    for r in range(patch):
        for c in range(patch):
            fig.add(
                f'<rect x="{fmt(x + c * cell)}" y="{fmt(y + r * cell)}" width="{fmt(cell + 0.05)}" '
                f'height="{fmt(cell + 0.05)}" fill="{px[pr * patch + r][pc * patch + c]}"/>'
            )
    fig.rect(x, y, size, size, stroke=INK, sw=1, rx=0)


# ----------------------------------------------------------------------------------------------- references
# ![alt](figures/x.svg), <img src="figures/x.svg">; a Korean notebook (notebooks/ko/) shows ../figures/ko/x.svg
_REF = re.compile(
    r"!\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?((?:\.\./)?figures/[^)\s>]+)>?\s*\)"
    r"|<img\b[^>]*\bsrc=[\"']((?:\.\./)?figures/[^\"']+)[\"']"
)


def figure_references(notebook: Path | str) -> list[str]:
    """The ``figures/...`` (or ``../figures/...``) paths that the markdown cells of ``notebook`` show, in order."""
    import json

    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    refs = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        refs += [a or b for a, b in _REF.findall(src)]
    return refs


def missing_figures(notebook: Path | str) -> list[str]:
    """References of ``notebook`` whose file does not exist next to it (relative to the notebook's folder)."""
    folder = Path(notebook).parent
    return [ref for ref in figure_references(notebook) if not (folder / ref).is_file()]
