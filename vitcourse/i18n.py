"""The Korean edition, from one source: English notebooks plus translations that know what they translate.

The English notebook is the source. A translation file
``i18n/ko/<folder>/<stem>.json`` holds, for every markdown cell of the
English notebook (by cell ``id``), the SHA-256 of the English text it
translates (``en_sha``) and the Korean text (``ko``)::

    {"source": "notebooks/01_attention.ipynb", "language": "ko",
     "cells": {"3f2a...": {"en_sha": "9b1c...", "ko": "## 어텐션 (attention) ..."}},
     "extra": [{"after": "3f2a...", "ko": "Korean-only teaching, e.g. 어절 vs token"}]}

`build` makes the Korean notebook (``<folder>/ko/<stem>.ipynb``): code cells,
their outputs and metadata copied from the executed English notebook (the
code is the same, so are its outputs; `make test` re-executes both), markdown
cells from the translations, relative figure links pointed one folder up.
``exercises/ko/`` is then made from ``solutions/ko/`` the way ``exercises/``
is made from ``solutions/`` (`vitcourse.notebooks.generate_exercises`). `problems`
lists every English cell whose translation is missing or stale (the English
text changed after it was translated) and every Korean notebook whose code
differs from the English; `tests/test_i18n.py` fails on any of them.

The docs in `DOCS_TRANSLATED` have a Korean edition in ``docs/ko/``, whose first line records the hash of
the English doc it translates (``<!-- translated from docs/teaching.md sha256:... -->``, `doc_header`);
`doc_problems` lists a missing, stale or not-Korean-enough one, and `check` reports it with the notebooks.

    python -m vitcourse.i18n template notebooks/01_attention.ipynb   # add missing cells to the file
    python -m vitcourse.i18n build [notebooks/01_attention.ipynb ...]  # write the Korean notebooks
    python -m vitcourse.i18n check                                     # list problems, exit 1 if any
    make ko                                                            # build all, then exercises/ko/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

__all__ = [
    "ROOT",
    "LANG",
    "FOLDERS",
    "en_sha",
    "translation_path",
    "korean_path",
    "load",
    "template",
    "build",
    "problems",
    "hangul_share",
    "english_sources",
    "DOCS_TRANSLATED",
    "doc_problems",
]

ROOT = Path(__file__).resolve().parent.parent
LANG = "ko"
FOLDERS = ("notebooks", "solutions")  # exercises/ko/ is made from solutions/ko/ like exercises/ from solutions/
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z]")
#: The docs with a Korean edition in ``docs/ko/`` (``docs/glossary.md`` is bilingual itself).
DOCS_TRANSLATED = ("teaching.md", "authoring.md", "architecture.md", "grading.md")
DOC_MIN_HANGUL = 0.5  # share of Hangul among the letters of a Korean doc's prose (code and links left out)
_CODE = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|<[^>]+>", re.S)


def en_sha(text: str) -> str:
    """What a translation records of the English text it translates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def translation_path(english: Path, root: Path = ROOT) -> Path:
    english = Path(english).resolve()
    rel = english.relative_to(root)
    return root / "i18n" / LANG / rel.parent / f"{english.stem}.json"


def korean_path(english: Path) -> Path:
    english = Path(english)
    return english.parent / LANG / english.name


def english_sources(root: Path = ROOT) -> list[Path]:
    """The English notebooks that have (or should have) a Korean edition."""
    out = []
    for folder in FOLDERS:
        out += sorted((root / folder).glob("[0-9][0-9]_*.ipynb"))
    return out


def load(english: Path, root: Path = ROOT) -> dict:
    path = translation_path(english, root)
    if not path.is_file():
        return {"source": str(Path(english).resolve().relative_to(root)), "language": LANG, "cells": {}}
    doc = _read(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), dict):
        raise ValueError(f"{path}: expected a JSON object with a 'cells' object")
    return doc


def template(english: Path, root: Path = ROOT) -> Path:
    """Write the translation file with an entry (empty ``ko``) for every markdown cell not yet there."""
    nb = _read(english)
    doc = load(english, root)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            entry = doc["cells"].setdefault(cell["id"], {"en_sha": en_sha(_source(cell)), "ko": ""})
            entry.setdefault("en", _source(cell))
    path = translation_path(english, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


_FIGURE_LINK = re.compile(r"(\]\(\s*<?|\bsrc=[\"'])figures/(\d\d_[a-z0-9_]+)\.svg")


def _korean_markdown(text: str) -> str:
    """The Korean notebook sits one folder down (``notebooks/ko/``): ``figures/x.png`` -> ``../figures/x.png``,
    and a drawn lecture figure ``figures/NN_name.svg`` -> ``../figures/ko/NN_name.svg``, its Korean edition
    (``python -m vitcourse.figures build --lang ko``; `vitcourse.figures.korean`)."""
    from .figures import all_figures

    drawn = all_figures()
    text = _FIGURE_LINK.sub(
        lambda m: f"{m.group(1)}figures/ko/{m.group(2)}.svg" if m.group(2) in drawn else m.group(0), text
    )
    text = re.sub(r"\bsrc=([\"'])(?!https?:|/|\.\./|#)(figures/)", r"src=\1../\2", text)
    return re.sub(
        r"\]\(\s*<?(?!https?:|/|\.\./|#)(figures/)", lambda m: m.group(0)[: -len("figures/")] + "../figures/", text
    )


def problems(english: Path, root: Path = ROOT) -> list[str]:
    """What keeps the Korean edition of ``english`` from being complete and current."""
    nb = _read(english)
    doc = load(english, root)
    name = Path(english).resolve().relative_to(root)
    out = []
    ids = set()
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        ids.add(cell["id"])
        entry = doc["cells"].get(cell["id"])
        if not entry or not str(entry.get("ko", "")).strip():
            out.append(f"{name}: markdown cell {cell['id']} has no Korean translation")
        elif entry.get("en_sha") != en_sha(_source(cell)):
            out.append(
                f"{name}: markdown cell {cell['id']} changed after it was translated (stale translation): "
                f"update its 'ko' text and set en_sha to {en_sha(_source(cell))}"
            )
    for i, e in enumerate(doc.get("extra", [])):
        if e.get("after") not in ids | {c.get("id") for c in nb["cells"]} or not str(e.get("ko", "")).strip():
            out.append(
                f"{name}: Korean-only cell {i} follows {e.get('after')!r}, which is not a cell of the English "
                f"notebook, or is empty"
            )
    for extra in sorted(set(doc["cells"]) - ids):
        out.append(f"{name}: the translation of cell {extra} belongs to no markdown cell of the English notebook")
    ko = korean_path(english)
    if ko.is_file():
        kb = _read(ko)
        en_code = [_source(c) for c in nb["cells"] if c.get("cell_type") == "code"]
        ko_code = [_source(c) for c in kb["cells"] if c.get("cell_type") == "code"]
        if en_code != ko_code:
            out.append(f"{ko.relative_to(root)}: its code differs from {name}: run `make ko`")
    else:
        out.append(f"{ko.relative_to(root)} does not exist: run `make ko`")
    return out


def _keep_korean_outputs(nb: dict, korean: Path) -> str:
    """Give ``nb`` (being built) the outputs of the existing Korean notebook when its code is unchanged.

    A Korean notebook executed in Korean (`make ko`) shows Korean check messages and prints; rebuilding it for
    a prose change must not throw that away. Any change of code (one cell is enough: later outputs may
    depend on it) takes the English outputs for every cell until the notebook is executed again. Returns
    where the outputs now come from: ``"ko"`` (executed as Korean) or ``"en"`` (copied from the English).
    """
    if not korean.is_file():
        return "en"
    old = _read(korean)
    if old.get("metadata", {}).get("vitcourse", {}).get("outputs_from") != "ko":
        return "en"
    new_code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    old_code = [c for c in old["cells"] if c.get("cell_type") == "code"]
    if [(c.get("id"), _source(c)) for c in new_code] != [(c.get("id"), _source(c)) for c in old_code]:
        return "en"
    for new, kept in zip(new_code, old_code):
        new["outputs"] = kept.get("outputs", [])
        new["execution_count"] = kept.get("execution_count")
    return "ko"


def execute_korean(paths: list[Path] | None = None, *, only_stale: bool = True) -> list[Path]:
    """Execute Korean notebooks in place (`make ko`): those whose outputs are still the English ones, or all."""
    from .notebooks import execute

    done = []
    every = sorted([*(ROOT / "notebooks" / LANG).glob("*.ipynb"), *(ROOT / "solutions" / LANG).glob("*.ipynb")])
    for ko in [Path(p).resolve() for p in (paths or every)]:
        if only_stale and _read(ko).get("metadata", {}).get("vitcourse", {}).get("outputs_from") == "ko":
            continue
        print(f"executing {ko.relative_to(ROOT)} ...", flush=True)
        execute(ko)
        nb = _read(ko)
        nb["metadata"].setdefault("vitcourse", {})["outputs_from"] = "ko"
        ko.write_text(json.dumps(nb, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        done.append(ko)
    return done


def build(english: Path, root: Path = ROOT, *, strict: bool = True) -> Path:
    """Write the Korean notebook of ``english``; with ``strict``, refuse when a translation is missing or stale."""
    nb = _read(english)
    doc = load(english, root)
    missing = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        entry = doc["cells"].get(cell["id"])
        if not entry or not str(entry.get("ko", "")).strip() or entry.get("en_sha") != en_sha(_source(cell)):
            missing.append(cell["id"])
            continue
        cell["source"] = _korean_markdown(entry["ko"])
    # Korean-only teaching (markdown), placed after the English cell it follows
    extra = doc.get("extra", [])
    for i, e in reversed(list(enumerate(extra))):
        at = next((k for k, c in enumerate(nb["cells"]) if c.get("id") == e.get("after")), None)
        if at is None:
            missing.append(f"extra {i} (after {e.get('after')!r}: no such cell)")
            continue
        nb["cells"].insert(
            at + 1,
            {
                "cell_type": "markdown",
                "id": f"ko-extra-{i}",
                "metadata": {"slideshow": {"slide_type": e.get("slide_type", "subslide")}},
                "source": _korean_markdown(e["ko"]),
            },
        )
    if missing and strict:
        raise ValueError(
            f"{english}: {len(missing)} markdown cell(s) lack a current Korean translation "
            f"({', '.join(missing[:5])}...): translate them in {translation_path(english, root)}"
        )
    nb.setdefault("metadata", {})["language"] = LANG
    meta = nb["metadata"].setdefault("vitcourse", {})
    meta["translated_from"] = str(Path(english).resolve().relative_to(root))
    out = korean_path(english)
    meta["outputs_from"] = _keep_korean_outputs(nb, out)
    for cell in nb["cells"]:  # sources as lists of lines, as nbformat writes them (no diff after an execution)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def hangul_share(notebook: Path) -> float:
    """Share of Hangul among the letters of a notebook's prose (code, math and links left out)."""
    nb = _read(notebook)
    text = "\n".join(_CODE.sub(" ", _source(c)) for c in nb["cells"] if c.get("cell_type") == "markdown")
    hangul, latin = len(_HANGUL.findall(text)), len(_LATIN.findall(text))
    return hangul / max(1, hangul + latin)


def doc_header(name: str, english_text: str) -> str:
    """The first line of ``docs/ko/<name>``: which English doc it translates, and that doc's hash."""
    return f"<!-- translated from docs/{name} sha256:{en_sha(english_text)} -->"


def doc_problems(root: Path = ROOT) -> list[str]:
    """What keeps each doc in `DOCS_TRANSLATED` from having a current Korean edition in ``docs/ko/``.

    A Korean doc's first line records the hash of the English text it translates (`doc_header`);
    an English doc changed after its translation makes that hash stale. Empty list: all current.
    """
    root = Path(root)
    out = []
    for name in DOCS_TRANSLATED:
        en, ko = root / "docs" / name, root / "docs" / LANG / name
        if not en.is_file():
            out.append(
                f"docs/{name}: the English doc is missing; remove {name!r} from DOCS_TRANSLATED in "
                f"vitcourse/i18n.py or restore docs/{name}"
            )
            continue
        want = doc_header(name, en.read_text(encoding="utf-8"))
        if not ko.is_file():
            out.append(
                f"docs/{LANG}/{name}: missing; translate docs/{name} into docs/{LANG}/{name} "
                f"and make its first line {want}"
            )
            continue
        text = ko.read_text(encoding="utf-8")
        first = text.split("\n", 1)[0].strip()
        if first != want:
            out.append(
                f"docs/{LANG}/{name}: stale or without header (first line is {first[:80]!r}, expected "
                f"{want!r}); translate the changed parts of docs/{name} into docs/{LANG}/{name}, "
                f"then update the hash in its first line to {want}"
            )
        prose = _CODE.sub(" ", text)
        hangul, latin = len(_HANGUL.findall(prose)), len(_LATIN.findall(prose))
        share = hangul / max(1, hangul + latin)
        if share < DOC_MIN_HANGUL:
            out.append(
                f"docs/{LANG}/{name}: Hangul is {share:.0%} of the letters of its prose (code and links "
                f"left out), expected at least {DOC_MIN_HANGUL:.0%}; translate the English prose left "
                f"in docs/{LANG}/{name} into Korean"
            )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.i18n", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("template", "build", "check"):
        p = sub.add_parser(name)
        p.add_argument("notebooks", nargs="*", type=Path, help="English notebooks (default: all)")
    p = sub.add_parser(
        "execute", help="execute the Korean notebooks whose outputs are still English (--all: every one)"
    )
    p.add_argument("notebooks", nargs="*", type=Path, help="Korean notebooks (default: notebooks/ko, solutions/ko)")
    p.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "execute":
        execute_korean(args.notebooks or None, only_stale=not args.all)
        return 0
    paths = args.notebooks or english_sources()
    if args.cmd == "template":
        for path in paths:
            print(template(path))
        return 0
    if args.cmd == "build":
        failed = 0
        for path in paths:
            try:
                print(build(path))
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                failed += 1
        ko_solutions = ROOT / "solutions" / LANG
        if not args.notebooks and ko_solutions.is_dir():
            from .notebooks import generate_exercises

            for written in generate_exercises(ko_solutions, ROOT / "exercises" / LANG):
                print(written)
        return 1 if failed else 0
    found = [msg for p in paths for msg in problems(p)]
    docs = [] if args.notebooks else doc_problems()
    for msg in found + docs:
        print(msg)
    print(f"{len(found)} problem(s) in {len(paths)} notebook(s)")
    if not args.notebooks:
        print(f"{len(docs)} problem(s) in {len(DOCS_TRANSLATED)} doc(s) (docs/{LANG}/)")
    found += docs
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
