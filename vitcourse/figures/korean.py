"""Korean figure labels: the catalogue (``labels_ko.json``) and Hangul drawn as glyph outlines.

``python -m vitcourse.figures build --lang ko`` draws every figure again with each label looked up in
``labels_ko.json`` (``{"English label": "한국어 label"}``) and writes ``notebooks/figures/ko/NAME.svg``;
the Korean notebooks show those (`vitcourse.i18n` rewrites ``figures/NAME.svg`` to ``../figures/ko/NAME.svg``).

Which labels need an entry: every label with a run of three lower-case Latin letters (a word). Labels
that are notation only, ``(B, N, D)`` or ``Q K^T``, are drawn as they are. An entry equal to its English
keeps the label in English on purpose (``softmax``, ``LayerNorm``: names from the code).

Why Hangul is drawn as outlines and not as SVG text: an SVG figure is shown through an ``<img>`` in
JupyterLab, in the reveal.js decks and on the offline site, and an SVG shown that way cannot load a font
file; SVG text is drawn with whatever fonts the reader's machine has. Many have no Korean font (a fresh
Linux, a CI runner, a container), and Hangul then shows as empty boxes. The glyph outlines come from
NanumGothic (SIL OFL), shipped by the ``koreanize-matplotlib`` dependency that `vitcourse.plot` already
uses, so the Korean figures look the same everywhere, offline. Each glyph is defined once per figure
(``<defs>``) and placed with ``<use>``; labels without Hangul stay SVG text, as in the English figures.
The English figures do not change at all.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "labels_ko.json"
FONT_PACKAGE = "koreanize_matplotlib"
FONT_FILES = {"regular": "NanumGothic.ttf", "bold": "NanumGothicBold.ttf"}
_WORD = re.compile(r"[a-z]{3}")
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def needs_entry(label: str) -> bool:
    """Whether ``label`` is words (needs a catalogue entry) rather than notation."""
    return bool(_WORD.search(label))


def load_catalogue(path: Path | str = CATALOGUE) -> dict[str, str]:
    """``{English: Korean}``; a malformed file is a ValueError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{path}: the Korean label catalogue is missing; create it with "
            "`python -m vitcourse.figures labels` and translate its entries"
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in doc.items()
    ):
        raise ValueError(f'{path}: expected a JSON object of non-empty strings, {{"English label": "한국어"}}')
    return doc


def font_path(weight: str = "regular") -> Path:
    """NanumGothic inside the installed ``koreanize-matplotlib`` (found without importing it)."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILES[weight]
    if path is None or not path.is_file():
        raise RuntimeError(
            f"the Korean figures need {FONT_FILES[weight]} from the koreanize-matplotlib package, "
            "which is not installed: `pip install koreanize-matplotlib` (a vitcourse dependency)"
        )
    return path


@functools.lru_cache(maxsize=None)
def _font(weight: str):
    from fontTools.ttLib import TTFont  # matplotlib's own dependency; only the Korean build needs it

    font = TTFont(str(font_path(weight)), lazy=True)
    return font, font.getGlyphSet(), font.getBestCmap(), font["head"].unitsPerEm


@functools.lru_cache(maxsize=None)
def glyph(ch: str, weight: str = "regular") -> tuple[str, str, int]:
    """(glyph id for ``<defs>``, SVG path data in font units with y up, advance width in font units)."""
    from fontTools.pens.svgPathPen import SVGPathPen

    font, glyphs, cmap, _ = _font(weight)
    name = cmap.get(ord(ch)) or cmap.get(ord("?"))
    pen = SVGPathPen(glyphs, ntos=lambda v: str(round(v)))  # font units: 1/1000 em, whole numbers suffice
    glyphs[name].draw(pen)
    return f"k{weight[0]}{ord(ch):x}", relative(pen.getCommands()), glyphs[name].width


_TOKEN = re.compile(r"[MLQHVZ]|-?\d+")


def relative(d: str) -> str:
    """Absolute path data (``M L Q H V Z``, whole numbers) as relative commands: the same outline, fewer bytes."""
    out, x, y, sx, sy, cmd = [], 0, 0, 0, 0, ""  # path data starts with a command (SVGPathPen writes "M" first)
    tokens = _TOKEN.findall(d)
    i = 0
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd == "Z":
                out.append("z")
                x, y = sx, sy
                continue
        n = {"M": 2, "L": 2, "Q": 4, "H": 1, "V": 1}[cmd]
        v = [int(t) for t in tokens[i : i + n]]
        i += n
        if cmd == "H":
            out.append(f"h{v[0] - x}")
            x = v[0]
        elif cmd == "V":
            out.append(f"v{v[0] - y}")
            y = v[0]
        elif cmd == "Q":
            out.append(f"q{v[0] - x} {v[1] - y} {v[2] - x} {v[3] - y}")
            x, y = v[2], v[3]
        else:
            out.append(f"{cmd.lower()}{v[0] - x} {v[1] - y}")
            x, y = v
            if cmd == "M":
                sx, sy = x, y
                cmd = "L"  # SVG: further coordinate pairs after a moveto are implicit linetos ("M1 2 3 4")
    return "".join(out).replace(" -", "-")


def units_per_em(weight: str = "regular") -> int:
    return _font(weight)[3]


def leftover_labels(svg: str, catalogue: dict[str, str]) -> list[str]:
    """English labels left in a Korean figure: SVG text equal to a catalogue key translated to something else."""
    import xml.etree.ElementTree as ET

    from . import rich

    def plain(s: str) -> str:
        return "".join(ET.fromstring(f"<t>{rich(s, 10)}</t>").itertext())

    english = {plain(k): k for k, v in catalogue.items() if v != k}
    root = ET.fromstring(svg)
    shown = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return sorted({english[s] for s in shown if s in english})
