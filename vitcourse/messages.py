"""Learner-facing messages in English and Korean, from one catalogue (`vitcourse.catalogue`).

Every message a learner reads from the instant feedback (``check(...)`` in a
notebook) or from the grader (gradebook reasons, feedback files) is a keyed
entry of `vitcourse.catalogue.MESSAGES` with an English and a Korean text and
named ``str.format`` placeholders; code asks for it with ``msg(key, **values)``.

The language, first that applies:

1. `use_lang` (the grader sets the language of the submission it grades);
2. ``VITCOURSE_LANG`` = ``en`` or ``ko``;
3. the running notebook, when it is Korean: its path (``JPY_SESSION_NAME``, set by
   Jupyter, or VS Code's ``__vsc_ipynb_file__``) has a ``ko`` folder, or, where
   neither tells, the kernel's working folder is called ``ko`` (Jupyter, nbclient and
   nbval start a kernel in its notebook's folder, and the Korean notebooks live in
   ``notebooks/ko``, ``exercises/ko`` and ``solutions/ko``);
4. English.

``python -m vitcourse.messages`` lists catalogue problems (a missing language,
mismatched placeholders, an untranslated text) and exits 1 if there are any.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import string
import sys
from pathlib import Path

__all__ = [
    "LANGS",
    "DEFAULT_LANG",
    "msg",
    "has",
    "current_lang",
    "use_lang",
    "notebook_lang",
    "notebook_language",
    "placeholders",
    "problems",
]

LANGS = ("en", "ko")
DEFAULT_LANG = "en"
_OVERRIDE: contextvars.ContextVar[str | None] = contextvars.ContextVar("vitcourse_lang", default=None)


def _catalogue() -> dict:
    from .catalogue import MESSAGES

    return MESSAGES


def _check_lang(lang, what: str) -> str:
    if lang not in LANGS:
        raise ValueError(
            f"{what} must be one of {', '.join(LANGS)}, got {lang!r}: use 'en' for English or 'ko' for Korean"
        )
    return lang


def _korean_path(path: str) -> bool:
    return "ko" in Path(path).parts[:-1]


def notebook_lang() -> str | None:
    """``"ko"`` when the running notebook is a Korean one (see the module docstring), else None."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session:
        return "ko" if _korean_path(session) else None
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    vsc = getattr(shell, "user_ns", {}).get("__vsc_ipynb_file__") if shell is not None else None
    if isinstance(vsc, str) and vsc:
        return "ko" if _korean_path(vsc) else None
    try:
        return "ko" if Path.cwd().name == "ko" else None
    except OSError:  # the working folder was removed
        return None


def current_lang() -> str:
    """The language messages are given in now: `use_lang`, ``VITCOURSE_LANG``, the notebook, or English."""
    lang = _OVERRIDE.get()
    if lang is not None:
        return lang
    env = os.environ.get("VITCOURSE_LANG", "").strip().lower()
    if env:
        return _check_lang(env, "VITCOURSE_LANG")
    return notebook_lang() or DEFAULT_LANG


@contextlib.contextmanager
def use_lang(lang: str | None):
    """Give messages in ``lang`` inside the block (this thread only); None leaves the usual choice."""
    if lang is not None:
        _check_lang(lang, "lang")
    token = _OVERRIDE.set(lang)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


def notebook_language(nb) -> str | None:
    """The language a notebook (its JSON as a dict) says it is in: ``metadata.language`` (written by
    ``python -m vitcourse.i18n build``) or ``metadata.vitcourse.lang``; None when it says nothing we know."""
    meta = nb.get("metadata", {}) if isinstance(nb, dict) else {}
    meta = meta if isinstance(meta, dict) else {}
    course = meta.get("vitcourse", {})
    for value in (meta.get("language"), course.get("lang") if isinstance(course, dict) else None):
        if isinstance(value, str) and value.strip().lower() in LANGS:
            return value.strip().lower()
    return None


def has(key: str) -> bool:
    """Whether the catalogue holds ``key``."""
    return key in _catalogue()


def msg(key: str, /, *, lang: str | None = None, **values) -> str:
    """The message ``key`` in ``lang`` (default: `current_lang`), its placeholders filled from ``values``."""
    entry = _catalogue().get(key)
    if entry is None:
        raise KeyError(
            f"no message {key!r} in vitcourse.catalogue.MESSAGES: add it there in every language ({', '.join(LANGS)})"
        )
    lang = current_lang() if lang is None else _check_lang(lang, "lang")
    text = entry.get(lang) or entry[DEFAULT_LANG]
    try:
        return text.format(**values)
    except (KeyError, IndexError) as e:
        raise KeyError(
            f"message {key!r} needs the value {e} (it has placeholders {sorted(placeholders(text))}, "
            f"got {sorted(values)})"
        ) from None


def placeholders(text: str) -> set[str]:
    """Names of the ``str.format`` fields of ``text`` (``"{n:g} of {total}"`` -> ``{"n", "total"}``)."""
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _only_placeholders(text: str) -> bool:
    """Text with nothing to translate: placeholders, punctuation, marks and spaces only."""
    rest = "".join(lit for lit, _, _, _ in string.Formatter().parse(text))
    return not any(ch.isalpha() for ch in rest)


def problems(catalogue: dict | None = None) -> list[str]:
    """What is wrong with a catalogue (default: the course's): every key needs a non-empty text in every
    language, the same placeholders in each, and a Korean text that is not the English one copied
    (unless the text is placeholders and punctuation only)."""
    catalogue = _catalogue() if catalogue is None else catalogue
    out = []
    for key, entry in catalogue.items():
        if not isinstance(entry, dict):
            out.append(f"{key}: expected a dict of language -> text, got {type(entry).__name__}")
            continue
        for lang in LANGS:
            if not isinstance(entry.get(lang), str) or not entry[lang].strip():
                out.append(f"{key}: no {lang} text")
        extra = sorted(set(entry) - set(LANGS))
        if extra:
            out.append(f"{key}: unknown language(s) {extra}; known: {list(LANGS)}")
        texts = {lang: entry[lang] for lang in LANGS if isinstance(entry.get(lang), str) and entry[lang].strip()}
        if len(texts) < len(LANGS):
            continue
        try:
            fields = {lang: placeholders(t) for lang, t in texts.items()}
        except ValueError as e:
            out.append(f"{key}: a text is not a valid format string ({e})")
            continue
        if len({frozenset(f) for f in fields.values()}) > 1:
            out.append(
                f"{key}: placeholders differ between languages: "
                + "; ".join(f"{lang} {sorted(f)}" for lang, f in fields.items())
            )
        if texts["ko"] == texts["en"] and not _only_placeholders(texts["en"]):
            out.append(f"{key}: the ko text is the en text, untranslated")
    return out


def main() -> int:
    found = problems()
    for p in found:
        print(p)
    print(f"{len(found)} problem(s) in {len(_catalogue())} message(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
