"""What a lecture notebook shows as a deck or a web page; the notebook stays the single source.

`shown_notebook` (pages and decks) works on a copy of the notebook:

- cells tagged ``remove_cell`` are dropped; ``remove_input`` / ``remove_output`` hide a cell's code / outputs
  (nbconvert's ``TagRemovePreprocessor`` tags, the same ones RISE and Jupyter Book honour);
- ``# NBVAL_...`` marker lines are stripped from the code shown;
- ``notes`` cells are dropped when ``notes=False`` (the student site carries no speaker notes);
- ``<kbd>Alt</kbd>`` becomes ```Alt```: nbconvert's ``embed_images`` passes each inline HTML tag through an HTML
  parser on its own, which renders ``<kbd>Alt</kbd>`` as an empty key box followed by "Alt".

`deck_notebook` then lays the cells out on 1280x720 slides (`SLIDE_SIZE`):

- ``skip`` cells are dropped;
- a cell that does not fit under what the (sub)slide already holds starts a new subslide; a code cell
  too tall even for an empty slide shows its code on one subslide and its outputs on the next; a
  markdown cell too tall is split between paragraphs or list items;
- every (sub)slide starts with a heading: one that does not gets the last heading shown, continued
  (``"## 3. Softmax (cont.)"``; ``(계속)`` in a Korean notebook, metadata ``language: ko``).

Heights are estimated from the source (lines, wrapped at the slide width; image sizes from the PNG
header) with the sizes of the deck style sheet (``templates/vitcourse_reveal``). The estimate is
deliberately rough: at view time the deck's ``vitcourseFit`` lets images give up height and then
shrinks the text (down to `MIN_SCALE`) until the slide fits, and ``python -m vitcourse.site check``
fails on any slide that still does not.

Authors override the layout per cell with the usual slide metadata (``slide``/``subslide`` start a
slide where they want one) and with tags: ``remove_input``, ``remove_output``, ``remove_cell``.
"""

from __future__ import annotations

import base64
import copy
import math
import re
import struct

__all__ = [
    "SLIDE_SIZE",
    "BUDGET",
    "MIN_SCALE",
    "HIDE_CELL",
    "HIDE_INPUT",
    "HIDE_OUTPUT",
    "strip_markers",
    "shown_notebook",
    "deck_notebook",
    "estimate_height",
]

#: reveal.js slide size (width, height) in CSS pixels: Reveal.initialize({width, height}).
SLIDE_SIZE = (1280, 720)
#: Height (px) the estimate may fill: the slide less its padding and a safety margin for the estimate.
BUDGET = 650
#: The smallest text scale the deck's fit script may use before a slide counts as too tall.
MIN_SCALE = 0.8
HIDE_CELL, HIDE_INPUT, HIDE_OUTPUT = "remove_cell", "remove_input", "remove_output"

# Sizes of the deck style sheet (templates/vitcourse_reveal/index.html.j2), in px at scale 1.
_TEXT_W = 1220  # content width: 1280 less 2 x 30 px padding
_FONT = 24  # body text
_LINE = _FONT * 1.35  # body line height
_CHARS = int(_TEXT_W / (_FONT * 0.58))  # proportional text: ~0.58 em per character (measured)
_CODE_LINE = _FONT * 0.7 * 1.3  # code: 0.7 em, line-height 1.3
_CODE_CHARS = int((_TEXT_W - 20) / (_FONT * 0.7 * 0.6))  # monospace: 0.6 em per character
_OUT_LINE = _FONT * 0.62 * 1.3  # text outputs: 0.62 em
_OUT_CHARS = int((_TEXT_W - 20) / (_FONT * 0.62 * 0.6))
_IMG_MAX = 16 * _FONT  # images: max-height 16 em
_IMG_MIN = 10 * _FONT  # images may give up height down to this when a slide is full
_HEADING = {1: _FONT * 1.8 * 1.2, 2: _FONT * 1.5 * 1.2, 3: _FONT * 1.3 * 1.2, 4: _FONT * 1.1 * 1.2}  # line height 1.2
_CELL_GAP = 10  # margin below each cell
_BLOCK_GAP = 0.35 * _FONT  # margin between paragraphs
_CODE_PAD = 12  # padding of a code box
_CONT = " (cont.)"
_CONT_KO = " (계속)"  # Korean decks (notebook metadata language "ko")

_KBD = re.compile(r"<kbd>([^<>`]*)</kbd>", re.I)
_MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[^\n]*(\n|$)", re.M)
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _slide_type(cell) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def _set_type(cell, slide_type: str) -> None:
    cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = slide_type


def _tags(cell) -> set:
    return set(cell.get("metadata", {}).get("tags", []))


def _add_tag(cell, tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def strip_markers(source: str) -> str:
    """``source`` without ``# NBVAL_...`` marker lines (they steer the notebook tests, not the reader)."""
    return _MARKER.sub("", source)


def shown_notebook(nb, *, notes: bool = True):
    """A copy of ``nb`` as readers see it: ``remove_cell`` cells dropped, NBVAL markers stripped from code,
    ``notes`` cells dropped unless ``notes``, ``<kbd>`` keys as code. (``remove_input``/``remove_output`` are
    applied by nbconvert.)"""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if HIDE_CELL in _tags(cell) or (not notes and _slide_type(cell) == "notes"):
            continue
        if cell.cell_type == "code":
            cell.source = strip_markers(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = _KBD.sub(r"`\1`", cell.source)
        cells.append(cell)
    nb.cells = cells
    return nb


# ----------------------------------------------------------------------------- height estimates


def _wrapped(lines, width: int) -> int:
    return sum(max(1, math.ceil(len(line.expandtabs(4)) / width)) for line in lines)


def _png_size(b64: str) -> tuple[int, int] | None:
    try:
        head = base64.b64decode(b64[:64])
    except ValueError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def _image_height(data: dict, meta: dict, *, flexible: bool) -> float:
    size = _png_size(data["image/png"]) if "image/png" in data else None
    w, h = size if size else (640, 480)
    m = meta.get("image/png", {}) if isinstance(meta, dict) else {}
    if isinstance(m, dict) and m.get("width") and m.get("height"):
        w, h = m["width"], m["height"]
    shown = min(h, _IMG_MAX, h * _TEXT_W / max(w, 1))
    return min(shown, _IMG_MIN) if flexible else shown


def _plain(text: str) -> str:
    """Markdown text roughly as wide as it renders: link targets, emphasis marks and TeX commands removed."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return re.sub(r"[*_`$\\{}]", "", text)


def _md_height(source: str, *, flexible: bool = True) -> float:
    h = 0.0
    for block in _md_blocks(source):
        first = block.lstrip().splitlines()[0] if block.strip() else ""
        m = _HEADING_RE.match(first)
        if m:
            h += _HEADING[min(len(m.group(1)), 4)]
            rest = block.strip().splitlines()[1:]
            if rest:
                h += _md_height("\n".join(rest), flexible=flexible)
            continue
        lines = block.strip("\n").splitlines()
        if first.startswith(("```", "~~~")):
            h += (len(lines) - 2) * _CODE_LINE + _CODE_PAD + _BLOCK_GAP
        elif first.startswith("$$") or first.startswith("\\begin"):
            h += max(2.2 * _LINE, len(lines) * 1.4 * _LINE) + _BLOCK_GAP
        elif first.startswith("|"):
            h += len([ln for ln in lines if not re.match(r"^\s*\|[\s:|-]+\|\s*$", ln)]) * 1.3 * _LINE + _BLOCK_GAP
        elif re.match(r"^!\[", first) or "<img" in first:
            h += _IMG_MIN if flexible else _IMG_MAX
        else:
            items = _join_items(lines)
            h += _wrapped([_plain(t) for t in items], _CHARS) * _LINE + _BLOCK_GAP
            h += 0.25 * _LINE * max(0, len(items) - 1) * (1 if _is_list(first) else 0)
            h += 1.2 * _LINE * len(re.findall(r"\$\$", block)) / 2  # display math inside a paragraph
    return h


def _is_list(line: str) -> bool:
    return bool(re.match(r"^\s*([-*+]|\d+[.)])\s", line))


def _join_items(lines: list[str]) -> list[str]:
    """Paragraph lines joined into the lines a reader sees: one per list item, one per plain paragraph."""
    out: list[str] = []
    for ln in lines:
        if _is_list(ln) or not out:
            out.append(ln.strip())
        else:
            out[-1] += " " + ln.strip()
    return out


def _md_blocks(source: str) -> list[str]:
    """Markdown split at blank lines, keeping fenced code and $$ display math whole; a heading is its own block."""
    blocks: list[str] = []
    cur: list[str] = []
    fence = None
    for ln in source.splitlines():
        s = ln.strip()
        if fence:
            cur.append(ln)
            if s.startswith(fence) and len(cur) > 1:
                blocks.append("\n".join(cur))
                cur, fence = [], None
            continue
        if s.startswith(("```", "~~~")):
            if cur:
                blocks.append("\n".join(cur))
            cur, fence = [ln], s[:3]
            continue
        if s.startswith("$$") and not (s.endswith("$$") and len(s) > 2):
            if cur:
                blocks.append("\n".join(cur))
            cur, fence = [ln], "$$"
            continue
        if not s:
            if cur:
                blocks.append("\n".join(cur))
                cur = []
            continue
        if _HEADING_RE.match(s) and cur:
            blocks.append("\n".join(cur))
            cur = []
        cur.append(ln)
        if _HEADING_RE.match(s):
            blocks.append("\n".join(cur))
            cur = []
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def _output_height(out, *, flexible: bool) -> float:
    kind = out.get("output_type")
    if kind == "stream":
        return _wrapped(out.get("text", "").rstrip("\n").splitlines(), _OUT_CHARS) * _OUT_LINE + 8
    if kind == "error":
        return _wrapped("\n".join(out.get("traceback", [])).splitlines(), _OUT_CHARS) * _OUT_LINE + 8
    data = out.get("data", {})
    if "image/png" in data or "image/jpeg" in data:
        return _image_height(data, out.get("metadata", {}), flexible=flexible) + 8
    if "text/html" in data:
        text = data["text/html"]
        text = text if isinstance(text, str) else "".join(text)
        rows = text.count("<tr")
        return (rows * 1.3 * _LINE if rows else _wrapped(re.sub(r"<[^>]+>", "", text).splitlines(), _CHARS) * _LINE) + 8
    if "text/latex" in data or "text/markdown" in data:
        return 2 * _LINE
    if "text/plain" in data:
        text = data["text/plain"]
        text = text if isinstance(text, str) else "".join(text)
        return _wrapped(text.rstrip("\n").splitlines(), _OUT_CHARS) * _OUT_LINE + 8
    return 0.0


def estimate_height(cell, *, flexible: bool = True) -> float:
    """Estimated height (px) of ``cell`` on a slide at scale 1. ``flexible``: images counted at the height
    they may shrink to (`_IMG_MIN`) rather than their full size."""
    if _slide_type(cell) == "notes":
        return 0.0
    if cell.cell_type == "markdown":
        return _md_height(cell.source, flexible=flexible) + _CELL_GAP
    if cell.cell_type != "code":
        return _wrapped(cell.source.splitlines(), _CHARS) * _LINE + _CELL_GAP
    tags = _tags(cell)
    h = 0.0
    transient = cell.get("metadata", {}).get("transient", {})
    if HIDE_INPUT not in tags and not transient.get("remove_source") and cell.source.strip():
        h += _wrapped(cell.source.splitlines(), _CODE_CHARS) * _CODE_LINE + _CODE_PAD
    if HIDE_OUTPUT not in tags:
        h += sum(_output_height(o, flexible=flexible) for o in cell.get("outputs", []))
    return h + _CELL_GAP if h else 0.0


# ----------------------------------------------------------------------------- layout


def _heading_of(cell) -> str | None:
    """The last heading (levels 1-3) a markdown cell shows, or None."""
    if cell.cell_type != "markdown":
        return None
    found = None
    for block in _md_blocks(cell.source):
        first = block.strip().splitlines()[0] if block.strip() else ""
        m = _HEADING_RE.match(first)
        if m and len(m.group(1)) <= 3:
            found = m.group(2)
    return found


def _starts_with_heading(cell) -> bool:
    if cell.cell_type != "markdown":
        return False
    text = cell.source.lstrip()
    return bool(_HEADING_RE.match(text.splitlines()[0])) if text else False


def _pieces(cell, room: float, fresh: float) -> list:
    """``cell`` as one or more cells, each (if possible) no taller than ``fresh`` (an empty slide's room);
    the first piece also tries to fit in ``room``. Code: code, then outputs; markdown: between blocks."""
    whole = estimate_height(cell)
    if whole <= room or whole <= fresh:
        return [cell]
    if cell.cell_type == "code":
        outputs = [] if HIDE_OUTPUT in _tags(cell) else cell.get("outputs", [])
        if HIDE_INPUT in _tags(cell):
            if len(outputs) < 2:
                return [cell]
            code = None
        else:
            code = copy.deepcopy(cell)
            code.outputs = []
        pieces = _code_pieces(code, fresh) if code is not None else []
        if not outputs:
            return pieces
        # the outputs join the last piece of code when they fit with it
        last = copy.deepcopy(pieces[-1]) if pieces else None
        if last is not None:
            last.outputs = list(outputs)
            if estimate_height(last) <= fresh:
                return pieces[:-1] + [last]
        rest = copy.deepcopy(cell)
        _add_tag(rest, HIDE_INPUT)
        rest.metadata.setdefault("transient", {})["remove_source"] = True
        group: list = []
        for out in outputs:  # outputs together while they fit on one slide, else one slide each
            trial = copy.deepcopy(rest)
            trial.outputs = group + [out]
            if group and estimate_height(trial) > fresh:
                piece = copy.deepcopy(rest)
                piece.outputs = group
                pieces.append(piece)
                group = []
            group.append(out)
        piece = copy.deepcopy(rest)
        piece.outputs = group
        pieces.append(piece)
        return pieces
    if cell.cell_type == "markdown":
        blocks = []
        for b in _md_blocks(cell.source):  # a long list may break between its items
            lines = b.splitlines()
            if _is_list(lines[0]) and _md_height(b) > fresh / 2:
                items: list[list[str]] = []
                for ln in lines:
                    if _is_list(ln) and not ln.startswith((" ", "\t")) or not items:
                        items.append([ln])
                    else:
                        items[-1].append(ln)
                blocks += ["\n".join(i) for i in items]
            else:
                blocks.append(b)
        pieces = []
        cur: list[str] = []
        limit = room
        for b in blocks:
            joined = "\n\n".join(cur + [b]) if not (cur and _is_list(b) and _is_list(cur[-1])) else "\n".join(cur + [b])
            if cur and _md_height(joined) + _CELL_GAP > limit:
                pieces.append(_md_piece(cell, cur))
                cur, limit = [], fresh
            cur.append(b)
        pieces.append(_md_piece(cell, cur))
        return pieces
    return [cell]


def _code_pieces(cell, fresh: float) -> list:
    """Code (no outputs) too tall for one slide as several cells: split between top-level statements
    (a blank line followed by an unindented line), else at any blank line, else between lines."""
    if estimate_height(cell) <= fresh:
        return [cell]
    lines = cell.source.splitlines()
    n_max = max(1, int((fresh - _CODE_PAD - _CELL_GAP) / _CODE_LINE))

    def fits(part: list[str]) -> bool:
        return _wrapped(part, _CODE_CHARS) <= n_max

    parts: list[list[str]] = []
    for chunk in _regroup(lines, lambda c, j: not c[j - 1].strip() and c[j].strip() and not c[j][0].isspace()):
        for sub in [chunk] if fits(chunk) else _regroup(chunk, lambda c, j: not c[j - 1].strip() and c[j].strip()):
            parts += [sub] if fits(sub) else [sub[k : k + n_max - 1] for k in range(0, len(sub), n_max - 1)]
    pieces: list[list[str]] = []
    cur: list[str] = []
    for part in parts:  # pack the parts back together while they fit
        if cur and not fits(cur + part):
            pieces.append(cur)
            cur = []
        cur = cur + part
    pieces.append(cur)
    out = []
    for p in pieces:
        piece = copy.deepcopy(cell)
        piece.source = "\n".join(p).strip("\n")
        out.append(piece)
    return out


def _regroup(lines: list[str], breakable) -> list[list[str]]:
    """``lines`` cut before every line ``j`` where ``breakable(lines, j)``."""
    out: list[list[str]] = [[]]
    for j, ln in enumerate(lines):
        if out[-1] and j > 0 and breakable(lines, j):
            out.append([])
        out[-1].append(ln)
    return out


def _md_piece(cell, blocks: list[str]):
    piece = copy.deepcopy(cell)
    text = ""
    for b in blocks:  # list items stay one list; other blocks are separated by a blank line
        text += (
            "\n" if text and _is_list(b) and _is_list(text.splitlines()[-1].lstrip() or "x") else "\n\n" if text else ""
        ) + b
    piece.source = text
    return piece


def deck_notebook(nb, *, notes: bool = True, budget: float = BUDGET):
    """A copy of ``nb`` laid out as a deck of 1280x720 slides (see the module docstring); counts of the result
    (`vitcourse.site.slide_counts`) are what reveal.js shows."""
    import nbformat

    nb = shown_notebook(nb, notes=notes)
    cont = _CONT_KO if nb.metadata.get("language") == "ko" else _CONT
    cells = [c for c in nb.cells if _slide_type(c) != "skip"]
    out: list = []
    heading = ""  # last heading shown, carried to slides without one
    used = 0.0  # estimated height filled on the current (sub)slide
    only_heading = True  # the current slide shows nothing but its heading so far
    started = False

    def new_slide(cell, slide_type: str):
        nonlocal used, only_heading
        used, only_heading = 0.0, True
        if _starts_with_heading(cell) or not heading:
            _set_type(cell, slide_type)
            return
        title = heading if heading.endswith((_CONT, _CONT_KO)) else heading + cont
        head = nbformat.v4.new_markdown_cell(f"## {title}", metadata={"slideshow": {"slide_type": slide_type}})
        out.append(head)
        used = estimate_height(head)
        _set_type(cell, "fragment" if _slide_type(cell) == "fragment" and slide_type == "-" else "-")

    for cell in cells:
        kind = _slide_type(cell)
        if kind == "notes":
            out.append(cell)
            continue
        if not started or kind in ("slide", "subslide"):
            new_slide(cell, "slide" if not started else kind)
            started = True
        fresh = budget - (_HEADING[2] + _CELL_GAP if not _starts_with_heading(cell) else 0)
        for i, piece in enumerate(_pieces(cell, budget - used, fresh)):
            h = estimate_height(piece)
            if i > 0 or (used + h > budget and not only_heading):
                _set_type(piece, "subslide")
                new_slide(piece, "subslide")
            out.append(piece)
            used += h
            only_heading = only_heading and _starts_with_heading(piece) and _md_height(piece.source) < 2 * _HEADING[2]
            heading = _heading_of(piece) or heading
    seen: set = set()
    for i, cell in enumerate(out):  # a cell split in pieces: each piece gets its own id
        if "id" in cell and cell.id in seen:
            cell.id = f"{cell.id[:40]}-p{i}"
        seen.add(cell.get("id"))
    nb.cells = out
    return nb
