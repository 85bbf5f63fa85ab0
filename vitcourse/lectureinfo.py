"""What a lecture notebook holds, read without rendering it: its slide counts, formulas, title and learning
goals, and the speaker-notes report (`vitcourse.site` builds decks and pages from these)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebooks import SLIDE_TYPES

__all__ = ["Lecture", "slide_type", "slide_counts", "has_formula", "formula_cells", "lecture_info", "notes_report"]

_FORMULA = re.compile(
    r"\$\$.+?\$\$|(?<![\\$])\$[^\s$](?:[^$\n]*?[^\s\\$])?\$(?!\d)|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\begin\{(equation|align|gather|multline)\*?\}",
    re.S,
)


# ----------------------------------------------------------------------------- notebooks


def slide_type(cell) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def slide_counts(nb) -> dict:
    """How nbconvert lays out ``nb`` as a deck: horizontal ``slides``, all ``subslides`` (what
    ``Reveal.getTotalSlides()`` counts), ``fragments``, ``notes`` and ``skip`` cells.

    The first cell that is neither ``notes`` nor ``skip`` always starts the first slide; after it,
    every ``slide`` cell starts a slide and every ``slide``/``subslide`` cell a (sub)slide.
    """
    types = [slide_type(c) for c in nb.cells]
    first = next((i for i, t in enumerate(types) if t not in ("notes", "skip")), None)
    if first is None:
        raise ValueError("every cell is 'notes' or 'skip': the notebook has no visible slide")
    after = types[first + 1 :]
    return {
        "slides": 1 + after.count("slide"),
        "subslides": 1 + after.count("slide") + after.count("subslide"),
        "fragments": types.count("fragment"),
        "notes": types.count("notes"),
        "skip": types.count("skip"),
        "cells": len(types),
    }


def has_formula(text: str) -> bool:
    """Whether markdown ``text`` holds TeX that MathJax should typeset ($..$, $$..$$, \\(..\\), \\[..\\])."""
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)  # code is not math
    return bool(_FORMULA.search(text))


def formula_cells(nb, *, deck: bool) -> int:
    """Markdown cells with formulas that a deck (``skip`` cells left out) or a page shows."""
    return sum(
        1
        for c in nb.cells
        if c.cell_type == "markdown" and has_formula(c.source) and not (deck and slide_type(c) == "skip")
    )


@dataclass
class Lecture:
    path: Path
    number: str
    title: str
    goals: str = ""  # markdown (a list), "" when the notebook states none
    prerequisites: str = ""  # markdown
    summary: str = ""  # markdown: the first paragraph after the title
    exercises: list[Path] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.path.stem


def _section(cells_md: list[str], names: tuple[str, ...]) -> str:
    """Markdown under a heading or bold label naming a section (``## Learning goals``, ``**Prerequisites**: ...``),
    up to the next heading or bold label; "" when no cell has one."""
    alt = "|".join(re.escape(n) for n in names)
    start = re.compile(r"^\s*(?P<kind>#{1,6}\s*|\*\*|__)\s*(?:" + alt + r")\b(?P<rest>.*)$", re.I)
    stop = re.compile(r"^\s*(#{1,6}\s|(\*\*|__)[^*_\n]+(\*\*|__))")
    for text in cells_md:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = start.match(line)
            if not m:
                continue
            out = []
            if not m.group("kind").startswith("#"):  # "**Label**: inline text" keeps the inline text
                rest = re.sub(r"^[^*_]*?(\*\*|__)", "", m.group("rest"), count=1).lstrip(" :")
                out = [rest] if rest.strip() else []
            rest_lines = lines[i + 1 :]
            for j, ln in enumerate(rest_lines):
                if stop.match(ln):
                    break  # the next heading or bold label
                if not ln.strip() and out and "".join(out).strip():
                    nxt = next((x for x in rest_lines[j + 1 :] if x.strip()), "")
                    if not re.match(r"\s*([-*+]|\d+[.)])\s", nxt):
                        break  # a blank line not followed by (more of) a list ends the section
                out.append(ln)
            body = "\n".join(out).strip()
            if body:
                return body
    return ""


def lecture_info(path: Path, solutions: Path | None = None) -> Lecture:
    """Title, learning goals, prerequisites and exercise notebooks of a lecture, read from the notebook itself."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    md_cells = [c.source for c in nb.cells if c.cell_type == "markdown"]
    title = ""
    for text in md_cells[:3]:
        m = re.search(r"^\s*#\s+(.+?)\s*#*\s*$", text, re.M)
        if m:
            title = m.group(1).strip()
            break
    title = title or nb.metadata.get("title") or path.stem.replace("_", " ")
    number = path.stem.split("_", 1)[0] if re.match(r"^\d\d_", path.stem) else ""
    exercises = sorted(Path(solutions).glob(f"{number}_*.ipynb")) if solutions and number else []
    head = md_cells[:4]
    summary = ""
    for text in md_cells[:2]:
        paragraphs = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
        summary = next((b for b in paragraphs if not re.match(r"^\s*(#|\*\*[^*]+\*\*\s*$|[-*+]\s|\d+[.)]\s)", b)), "")
        if summary:
            break
    return Lecture(
        path=path,
        number=number,
        title=title,
        summary=summary,
        goals=_section(head, ("learning goals", "learning objectives", "goals", "학습 목표")),
        prerequisites=_section(head, ("prerequisites", "prerequisite", "before you start", "선수")),
        exercises=exercises,
    )


def notes_report(notebooks: list[Path]) -> list[dict]:
    """Per notebook: cells, speaker-notes cells, invalid/missing slide types."""
    rows = []
    for p in notebooks:
        nb = nbformat.read(p, as_version=4)
        missing = [i for i, c in enumerate(nb.cells) if "slide_type" not in c.metadata.get("slideshow", {})]
        invalid = [i for i, c in enumerate(nb.cells) if slide_type(c) not in SLIDE_TYPES]
        counts = slide_counts(nb) if nb.cells else {"notes": 0, "subslides": 0}
        rows.append(
            {
                "notebook": str(p),
                "cells": len(nb.cells),
                "notes": counts["notes"],
                "subslides": counts["subslides"],
                "missing_slide_type": missing,
                "invalid_slide_type": invalid,
            }
        )
    return rows
