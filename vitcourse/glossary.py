"""The course glossary (``docs/glossary.md``), read by code, and the checks that keep translations to it.

``docs/glossary.md`` holds one table written by hand, **English -> 한국어**, one term per row::

    | English | 한국어 | Lecture | Also written | Other renderings | Note |
    | cross-attention | 크로스 어텐션 | 07 | | 교차 어텐션, 교차 주의 | |

- *English*: the term as the English lectures write it; *Also written*: other spellings or forms the
  lectures use for the same thing (``layer normalisation, LayerNorm``), comma-separated.
- *한국어*: the one Korean rendering the course uses. A row whose Korean has no Hangul (``DETR``) is a
  term the Korean edition keeps in English.
- *Other renderings*: Korean renderings found in other texts that the course does **not** use; Korean
  prose may name them only inside parentheses ("크로스 어텐션(교차 어텐션이라고도 합니다)").
- *Note*: free text; a note starting with ``kept:`` keeps a row that no lecture uses (the reason follows).

The second part, **한국어 -> English** (a Korean-ordered index, grouped by initial consonant), is made
from the first by ``python -m vitcourse.glossary write``; ``check`` fails when it is out of date.

The Korean translations (``i18n/ko/**.json``) gloss a term at first use as ``한국어 (English)``.
`glosses` finds those glosses; `problems` lists every gloss whose Korean is not the glossary's
rendering of its English term, every gloss of a term the glossary lacks (unless listed in `NOT_TERMS`),
every "other rendering" used in Korean prose, every glossary row no lecture uses (unless ``kept:``) and
a stale Korean index. ``tests/test_glossary.py`` runs them.

    python -m vitcourse.glossary write   # rewrite the 한국어 -> English index from the English table
    python -m vitcourse.glossary check   # list problems, exit status 1 if any
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ROOT",
    "GLOSSARY",
    "Term",
    "Gloss",
    "parse",
    "parse_index",
    "render_index",
    "write",
    "glosses",
    "translation_texts",
    "gloss_problems",
    "unknown_glosses",
    "other_rendering_problems",
    "dead_rows",
    "lecture_text",
    "problems",
    "NOT_TERMS",
]

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary.md"
EN_HEADING = "## English → 한국어"
KO_HEADING = "## 한국어 → English (가나다순 색인)"
COLUMNS = ["English", "한국어", "Lecture", "Also written", "Other renderings", "Note"]
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Initial consonants of precomposed syllables, in 가나다 order (U+AC00 + 588 * index).
_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_GROUP = {"ㄲ": "ㄱ", "ㄸ": "ㄷ", "ㅃ": "ㅂ", "ㅆ": "ㅅ", "ㅉ": "ㅈ"}  # doubled consonants go with the plain one

#: English words the translations put in parentheses that are not course terms: names, shapes, titles,
#: everyday words. A gloss of anything else must be a glossary term (`unknown_glosses`).
#: (Glosses with no run of three lower-case letters, such as shapes "(B, N, D)" or "(RGB)", are never terms.)
NOT_TERMS = frozenset(
    {
        # people, papers, projects, libraries, models
        "Carion",
        "Vaswani",
        "Vaswani et al., 2017",
        "Dosovitskiy et al., arXiv:2010.11929",
        "Dennis Turp",
        "Grace Hopper",
        "AlexNet, ResNeXt",
        "TransUNet, 2021; SETR",
        "DeiT",
        "PyTorch",
        "scikit-learn",
        "Figure 2",
        "MAE, DETR",
        "Mixer-S/16, B/16, L/16",
        "ViT-B/16: 16 x 16",
        "Malgun Gothic, Windows",
        # example words and quoted phrases, not terms
        "cat, dog, car, bus",
        "attends vaguely",
        "split, transform, merge",
        "boxes, matcher and set loss",
        "True =",
        "tau → 0",
        "Shift+Enter",
        # headings and course furniture
        "conventions",
        "environment check",
        "instructors",
        "map of the course",
        "self-study path",
        "seed notes",
        "source notes",
        "drop-down",
        # words of the docs that are not course terms: table headings, notation, names
        "column",
        "status",
        "reason",
        "lax",
        "SHA-256",
        "PEP 578",
        "mkdocs",
        "mistake",  # 실수, the word the Korean docs use, is float's rendering (실수, real number)
    }
)


@dataclass(frozen=True)
class Term:
    english: str
    korean: str
    lecture: str = ""
    also: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    note: str = ""
    line: int = 0

    @property
    def kept(self) -> bool:
        return self.note.lower().startswith("kept:")

    @property
    def english_forms(self) -> tuple[str, ...]:
        return (self.english, *self.also)


@dataclass(frozen=True)
class Gloss:
    """``한국어 (English)`` in a translation: ``before`` is the text just before the parenthesis."""

    english: str
    before: str
    where: str = ""

    def uses(self, korean: str) -> bool:
        return _squash(self.before).endswith(_squash(korean))


def _squash(s: str) -> str:
    return re.sub(r"[\s*_`]+", "", s)


def norm(english: str) -> str:
    """How English terms are compared: case, hyphens and spaces do not matter."""
    return re.sub(r"[\s\-‐_]+", " ", english.strip().casefold())


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _split(cell: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in cell.split(",") if p.strip())


def _section(text: str, heading: str) -> list[tuple[int, str]]:
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == heading)
    except StopIteration:
        raise ValueError(
            f"docs/glossary.md: no section {heading!r}; the glossary must have the sections "
            f"{EN_HEADING!r} and {KO_HEADING!r}"
        ) from None
    out = []
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("## "):
            break
        out.append((i + 1, lines[i]))
    return out


def parse(path: Path | str = GLOSSARY) -> list[Term]:
    """The rows of the English -> 한국어 table; a malformed or duplicate row is a ValueError naming its line."""
    text = Path(path).read_text(encoding="utf-8")
    terms, header = [], None
    for lineno, line in _section(text, EN_HEADING):
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if header is None:
            if cells != COLUMNS:
                raise ValueError(f"{path}:{lineno}: the English table's header is {cells}; expected {COLUMNS}")
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        if len(cells) != len(COLUMNS):
            raise ValueError(
                f"{path}:{lineno}: {len(cells)} cells, expected {len(COLUMNS)} ({COLUMNS}); "
                "leave a cell empty rather than dropping it"
            )
        en, ko, lec, also, other, note = cells
        if not en or not ko:
            raise ValueError(
                f"{path}:{lineno}: a row needs both an English term and its Korean rendering, "
                f"got English={en!r}, 한국어={ko!r}"
            )
        if "," in ko or "/" in ko:
            raise ValueError(
                f"{path}:{lineno}: 한국어 {ko!r} must be one rendering; put other renderings in "
                "'Other renderings' and a second term in a row of its own"
            )
        terms.append(Term(en, ko, lec, _split(also), _split(other), note, lineno))
    if not terms:
        raise ValueError(f"{path}: the {EN_HEADING!r} table has no rows")
    seen_en: dict[str, Term] = {}
    seen_ko: dict[str, Term] = {}
    for t in terms:
        for form in t.english_forms:
            if norm(form) in seen_en and seen_en[norm(form)] is not t:
                raise ValueError(
                    f"{path}:{t.line}: English {form!r} is already a term on line "
                    f"{seen_en[norm(form)].line}; one row per term"
                )
            seen_en[norm(form)] = t
        if t.korean in seen_ko:
            raise ValueError(
                f"{path}:{t.line}: 한국어 {t.korean!r} already renders {seen_ko[t.korean].english!r} "
                f"(line {seen_ko[t.korean].line}); the index needs one English term per Korean term"
            )
        seen_ko[t.korean] = t
    return terms


def _initial(korean: str) -> str:
    ch = korean[0]
    if "\uac00" <= ch <= "\ud7a3":
        jamo = _INITIALS[(ord(ch) - 0xAC00) // 588]
        return _GROUP.get(jamo, jamo)
    return "A-Z, 0-9"


def _sort_key(korean: str) -> tuple[int, str]:
    return (0 if _HANGUL.match(korean) else 1, korean)


def render_index(terms: list[Term]) -> str:
    """The 한국어 -> English section: every term sorted by its Korean (가나다), grouped by initial consonant."""
    out = [
        KO_HEADING,
        "",
        "Made from the table above by `python -m vitcourse.glossary write`; do not edit by hand. "
        "위 표에서 자동으로 만든 색인입니다.",
        "",
    ]
    group = None
    for t in sorted(terms, key=lambda t: _sort_key(t.korean)):
        g = _initial(t.korean)
        if g != group:
            if group is not None:
                out.append("")
            out += [f"### {g}", "", "| 한국어 | English | Lecture |", "|---|---|---|"]
            group = g
        out.append(f"| {t.korean} | {t.english} | {t.lecture} |")
    return "\n".join(out) + "\n"


def parse_index(path: Path | str = GLOSSARY) -> list[tuple[str, str]]:
    """The (한국어, English) rows of the 한국어 -> English index, in file order."""
    rows = []
    for _, line in _section(Path(path).read_text(encoding="utf-8"), KO_HEADING):
        if line.startswith("|"):
            cells = _cells(line)
            if cells[:2] != ["한국어", "English"] and not set("".join(cells)) <= set("-: "):
                rows.append((cells[0], cells[1]))
    return rows


def write(path: Path | str = GLOSSARY) -> Path:
    """Rewrite the 한국어 -> English index of ``path`` from its English table (everything after it is replaced)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    terms = parse(path)
    at = text.find("\n" + KO_HEADING)
    head = text if at < 0 else text[: at + 1]
    path.write_text(head.rstrip("\n") + "\n\n" + render_index(terms), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ glosses
# "한국어 (English)" or "**한국어**(English, 다른 말)": a Hangul syllable (maybe closing bold/code), an
# optional space, then a parenthesis that starts with a Latin letter. The English ends before any Hangul.
_GLOSS = re.compile(r"[\uac00-\ud7a3][*_`]*(?P<space> ?)\((?P<inner>[A-Za-z][^()\n]*)\)")
_NOTATION = re.compile(r"[a-z]{3}")  # a gloss without three lower-case letters in a row is notation, not a term


def glosses(text: str, where: str = "") -> list[Gloss]:
    """Every ``한국어 (English)`` gloss in ``text``."""
    out = []
    for m in _GLOSS.finditer(text):
        inner = m.group("inner")
        h = _HANGUL.search(inner)
        if h and not re.search(r"[,;]\s*[*_`]*$", inner[: h.start()]):
            continue  # "(MLP-믹서, MLP-Mixer)": Korean with English inside, not a gloss
        english = (inner[: h.start()] if h else inner).rstrip(" *_`").rstrip(",;:").strip()
        end = m.start("inner") - 1 - len(m.group("space"))  # where the Korean term ends
        before = text[max(0, end - 40) : end].split("\n\n")[-1].split(")")[-1]
        if english:
            out.append(Gloss(english, before.replace("\n", " "), where))
    return out


def translation_texts(root: Path = ROOT) -> list[tuple[str, str]]:
    """(where, Korean text) for every translated cell and Korean-only cell under ``root/i18n/ko``, and every
    Korean doc in ``root/docs/ko``."""
    out = [
        (p.relative_to(root).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted((root / "docs" / "ko").glob("*.md"))
    ]
    for path in sorted((root / "i18n" / "ko").rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        rel = path.relative_to(root).as_posix()
        for cid, entry in doc.get("cells", {}).items():
            out.append((f"{rel} cell {cid}", str(entry.get("ko", ""))))
        for i, entry in enumerate(doc.get("extra", [])):
            out.append((f"{rel} extra {i}", str(entry.get("ko", ""))))
    return out


def _lookup(terms: list[Term]) -> dict[str, Term]:
    return {norm(form): t for t in terms for form in t.english_forms}


def _find(english: str, table: dict[str, Term]) -> Term | None:
    """The term a gloss names: the whole text, else its first comma-separated part ("Vision Transformer, ViT")."""
    return table.get(norm(english)) or table.get(norm(english.split(",")[0]))


def gloss_problems(terms: list[Term], texts: list[tuple[str, str]]) -> list[str]:
    """Glosses of a glossary term whose Korean is not the glossary's rendering."""
    table, out = _lookup(terms), []
    for where, text in texts:
        for g in glosses(text, where):
            t = _find(g.english, table)
            if t is None or not _HANGUL.search(t.korean) or g.uses(t.korean):
                continue
            out.append(
                f"{where}: '{g.before.strip()[-20:]} ({g.english})' glosses {g.english!r} with other "
                f"Korean; docs/glossary.md (line {t.line}) renders it {t.korean!r}: write "
                f"'{t.korean} ({g.english})' or change the glossary"
            )
    return out


def unknown_glosses(terms: list[Term], texts: list[tuple[str, str]], not_terms=NOT_TERMS) -> list[str]:
    """Glossed English words that are neither a glossary term nor listed in `NOT_TERMS`."""
    table, skip = _lookup(terms), {norm(s) for s in not_terms}
    seen: dict[str, str] = {}
    for where, text in texts:
        for g in glosses(text, where):
            if _find(g.english, table) is None and norm(g.english) not in skip and _NOTATION.search(g.english):
                seen.setdefault(g.english, f"{where}: '{g.before.strip()[-20:]} ({g.english})'")
    return [
        f"{w}: {e!r} is glossed but is not in docs/glossary.md; add a row (English, 한국어, lecture) or, "
        f"if it is not a course term, add it to vitcourse.glossary.NOT_TERMS"
        for e, w in sorted(seen.items())
    ]


def other_rendering_problems(terms: list[Term], texts: list[tuple[str, str]]) -> list[str]:
    """Korean prose that uses a rendering the glossary lists as not the course's.

    Allowed: inside parentheses, quotes or code, and on a line that also names the course's rendering
    (a correction such as "| 변압기 | 트랜스포머(Transformer) | ... |").
    """
    out = []
    for where, text in texts:
        prose = re.sub(r"\([^()]*\)|`[^`]*`|'[^'\n]*'|\"[^\"\n]*\"|“[^”]*”|‘[^’]*’", " ", text)
        for t in terms:
            for other in t.other:
                if any(other in line and t.korean not in line for line in prose.splitlines()):
                    out.append(
                        f"{where}: uses {other!r} for {t.english!r}; the course writes {t.korean!r} "
                        f"(docs/glossary.md line {t.line}); name {other!r} only in parentheses"
                    )
    return out


def lecture_text(root: Path = ROOT) -> str:
    """The English course text, normalised like `norm`: markdown and code of the lectures
    (``notebooks/NN_*.ipynb``) and of their exercises (``solutions/NN_*.ipynb``), and the docs
    (``docs/*.md``, for the rows whose Lecture is ``docs``)."""
    parts = [p.read_text(encoding="utf-8") for p in sorted((root / "docs").glob("*.md")) if p.name != "glossary.md"]
    for path in [p for d in ("notebooks", "solutions") for p in sorted((root / d).glob("[0-9][0-9]_*.ipynb"))]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            src = cell.get("source", "")
            parts.append("".join(src) if isinstance(src, list) else src)
    return norm(" ".join(parts))


def dead_rows(terms: list[Term], text: str) -> list[str]:
    """Rows whose English (in any of its forms) no lecture uses and that are not marked ``kept:``."""
    return [
        f"docs/glossary.md line {t.line}: {t.english!r} appears in no lecture; remove the row or start its "
        "Note with 'kept: <why>'"
        for t in terms
        if not t.kept and not any(norm(f) in text for f in t.english_forms)
    ]


def index_problems(path: Path | str, terms: list[Term]) -> list[str]:
    """Rows missing from either direction: the index must hold exactly the English table's (한국어, English)."""
    forward = {(t.korean, t.english) for t in terms}
    backward = parse_index(path)
    out = [
        f"docs/glossary.md: {ko} -> {en} is in the English table but not in the Korean index"
        for ko, en in sorted(forward - set(backward))
    ]
    out += [
        f"docs/glossary.md: {ko} -> {en} is in the Korean index but not in the English table"
        for ko, en in sorted(set(backward) - forward)
    ]
    if not out and backward != [(t.korean, t.english) for t in sorted(terms, key=lambda t: _sort_key(t.korean))]:
        out.append("docs/glossary.md: the Korean index is not in 가나다 order")
    if out:
        out.append("run `python -m vitcourse.glossary write` to rebuild the index from the English table")
    return out


# "English term (한국어)" in the English prose: a parenthesis that starts with Hangul, after up to six words
_KO_GLOSS = re.compile(
    r"(?P<before>(?:[A-Za-z][\w'/-]*[*_`]* ){0,5}[A-Za-z][\w'/-]*)[*_`]* ?"
    r"\((?P<ko>[\uac00-\ud7a3][^()\n]*)\)"
)


def english_markdown(root: Path = ROOT) -> list[tuple[str, str]]:
    """(where, text) of every markdown cell of the English lectures and exercises (``notebooks/``, ``solutions/``)."""
    out = []
    for path in [p for d in ("notebooks", "solutions") for p in sorted((root / d).glob("[0-9][0-9]_*.ipynb"))]:
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell.get("cell_type") == "markdown":
                src = cell.get("source", "")
                out.append(
                    (f"{path.relative_to(root).as_posix()} cell {i}", "".join(src) if isinstance(src, list) else src)
                )
    return out


def english_gloss_problems(terms: list[Term], texts: list[tuple[str, str]]) -> list[str]:
    """Korean glosses in the English prose, ``term (한국어)``, whose Korean is not the glossary's rendering.

    The term is the longest run of the words before the parenthesis that is a glossary form ("Multi-head
    self-attention (...)" is the row "multi-head self-attention", not "self-attention"); a gloss of words
    that are no glossary term is not judged.
    """
    table, out = _lookup(terms), []
    for where, text in texts:
        for m in _KO_GLOSS.finditer(text):
            words = [w.strip("*_`") for w in m.group("before").split()]
            term, phrase = None, ""
            for k in range(len(words)):
                phrase = " ".join(words[k:])
                term = table.get(norm(phrase))
                if term is not None:
                    break
            if term is None or not _HANGUL.search(term.korean):
                continue
            if " " not in phrase and not any(phrase == f for f in term.english_forms if f != f.lower()):
                if any(f != f.lower() for f in term.english_forms):
                    continue  # "map" is not "mAP": an acronym matches only in its own case
            korean = m.group("ko")
            wider = [term.korean] + [t.korean for t in terms if norm(term.english) in norm(t.english)]  # "warm-up
            # exercise (준비 운동)" may be glossed after "warm-up"
            if not any(_squash(k) in _squash(korean) for k in wider):
                out.append(
                    f"{where}: '{' '.join(words)} ({korean})' glosses {term.english!r} with other Korean; "
                    f"docs/glossary.md (line {term.line}) renders it {term.korean!r}: write "
                    f"'({term.korean})' or change the glossary"
                )
    return out


def problems(root: Path = ROOT) -> list[str]:
    path = root / "docs" / "glossary.md"
    terms = parse(path)
    texts = translation_texts(root)
    return (
        index_problems(path, terms)
        + gloss_problems(terms, texts)
        + unknown_glosses(terms, texts)
        + other_rendering_problems(terms, texts)
        + dead_rows(terms, lecture_text(root))
        + english_gloss_problems(terms, english_markdown(root))
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.glossary", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("write", help="rewrite the 한국어 -> English index of docs/glossary.md")
    sub.add_parser("check", help="list problems; exit status 1 if any")
    args = parser.parse_args(argv)
    if args.cmd == "write":
        print(write())
        return 0
    found = problems()
    for msg in found:
        print(msg)
    print(f"{len(found)} glossary problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
