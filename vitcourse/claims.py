"""Claims in a notebook's prose that its own outputs must back (see ``docs/authoring.md``, "Claims").

Two rules, applied to every markdown cell of a notebook:

1. **No durations.** A time in seconds, minutes or hours ("30 s", "2-3 min", "a minute and a half", "well
   under a minute", "milliseconds") is never typed into prose: it depends on the machine, and the stored
   outputs are from one machine. State the work instead (a number of **steps**), and let code print the time.
   One exception: the class-time plan that opens a speaker-notes cell, ``Speaker notes (≈ 45 min ...``,
   which is about the lecture, not the computer (any other time in that cell is still checked).
2. **Percentages are backed.** A number with ``%`` or "percent" ("≥ 98%", "±10%", "80 percent") must also
   be printed, as that number with ``%``, by an output of the same notebook (stream or ``text/plain``), or
   the paragraph that states it must cite a paper (``arXiv``, ``doi.org`` or ``[paper]``), or name the check
   whose accuracy threshold it is (``06.train_vit`` needs 95%: the number is then read from the check).
   For an exercise (no outputs) the outputs of its source in ``solutions/`` count.

Inline code (```x % 3```) and fenced code blocks in markdown are not prose and are skipped.

    >>> problems = claim_problems(nb)              # [] when every claim is backed
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["claim_problems", "check_thresholds", "durations", "percentages", "printed_percentages"]

_SPACE = r"[ \u00a0\u2009\u202f]"  # space, no-break space, thin spaces
_NUM = r"\d+(?:[.,]\d+)*"
_RANGE = rf"{_NUM}(?:{_SPACE}?(?:-|–|—|to){_SPACE}?{_NUM})?"
# "30 s", "2-3 min", "1.5 minutes", "45 ms", "3 hours", "90sec"; a bare "s"/"ms"/"h" needs the space ("the 7s")
_TIME_WITH_NUMBER = re.compile(
    rf"(?<![\w.])(?:(?:≈|~|about){_SPACE}?)?{_RANGE}(?:{_SPACE}?(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|"
    rf"milliseconds?|microseconds?)\b|{_SPACE}(?:s|ms|µs|us|h)\b)",
    re.IGNORECASE,
)
# "a minute and a half", "well under a minute", "in minutes", "takes milliseconds", "seconds"
# (a bare "second" is left alone: "the second sentence" is an ordinal)
_TIME_WORD = re.compile(r"\b(?:(?:milli|micro)?seconds|(?:milli|micro)second|minutes?|hours?)\b", re.IGNORECASE)
_PERCENT = re.compile(rf"(?<![\w.])({_NUM})(?:{_SPACE}?%|{_SPACE}percent\b)", re.IGNORECASE)
_CITATION = re.compile(r"arxiv|doi\.org|\[paper\]", re.IGNORECASE)
# the class-time plan that opens a speaker-notes cell: "Speaker notes (≈ 45 min" / "Speaker notes (2 min)"
_CLASS_PLAN = re.compile(rf"^Speaker notes{_SPACE}*\({_SPACE}*(?:≈|~)?{_SPACE}*\d+{_SPACE}?min\b")
_FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def durations(text: str) -> list[str]:
    """Every duration stated in ``text`` (prose), as written: ``["30 s", "a minute"]``-like fragments."""
    found = [m.group(0).strip() for m in _TIME_WITH_NUMBER.finditer(text)]
    rest = _TIME_WITH_NUMBER.sub(" ", text)
    found += [m.group(0) for m in _TIME_WORD.finditer(rest)]
    return found


def percentages(text: str) -> list[tuple[str, float]]:
    """Every percentage stated in ``text``: ``(as written, value)`` pairs, e.g. ``("98%", 98.0)``."""
    return [(m.group(0), _number(m.group(1))) for m in _PERCENT.finditer(text)]


def _output_texts(nb) -> Iterable[str]:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                yield out.get("text", "")
            elif "data" in out and "text/plain" in out["data"]:
                yield out["data"]["text/plain"]


def printed_percentages(nb) -> set[float]:
    """The values of every ``N%`` printed by the notebook's outputs (stream and ``text/plain``)."""
    return {value for text in _output_texts(nb) for _, value in percentages(text)}


def check_thresholds() -> dict[str, float]:
    """``{"06.train_vit": 0.95, ...}``: the accuracy threshold of every registered check that has one."""
    from .checks import all_checks

    return {
        name: float(t)
        for name, c in all_checks().items()
        if isinstance(t := getattr(c, "threshold", None), (int, float))
    }


def claim_problems(nb, *, backing=None, thresholds: dict[str, float] | None = None) -> list[str]:
    """Claims in ``nb``'s markdown that break the rules (empty list: every claim is backed).

    Args:
        nb: a notebook (``nbformat.NotebookNode``).
        backing: another notebook whose outputs also back ``nb``'s percentages (an exercise's solution
            source); ``None``: only ``nb``'s own outputs.
        thresholds: check name -> accuracy threshold (a fraction); a paragraph that names a check
            (``06.train_vit``) may state its threshold as a percentage. Default: `check_thresholds()`.

    Returns:
        One message per offending claim: cell index, the claim as written, and how to fix it.
    """
    if thresholds is None:
        thresholds = check_thresholds()
    printed = printed_percentages(nb) | (printed_percentages(backing) if backing is not None else set())
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.get("metadata", {}).get("slideshow", {}).get("slide_type") == "notes":
            source = _CLASS_PLAN.sub("Speaker notes (", source)
        source = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), source)
        for claim in durations(_INLINE_CODE.sub(" ", source)):
            problems.append(
                f"cell {index}: the prose states a time, {claim!r}: times depend on the machine; state "
                "the work in steps (e.g. '1,500 steps') and let code print the time"
            )
        for paragraph in re.split(r"\n[ \t]*\n", source):
            if _CITATION.search(paragraph):
                continue
            required = {
                round(100 * t, 6)
                for name, t in thresholds.items()
                if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", paragraph)
            }
            for written, value in percentages(_INLINE_CODE.sub(" ", paragraph)):
                if value not in printed and value not in required:
                    problems.append(
                        f"cell {index}: the prose states {written!r} but no output of the notebook prints "
                        f"{value:g}%: print it from code (f'{{x:.0%}}'), refer to the printed value instead "
                        "('the accuracy printed above'), name the check whose threshold it is (`06.train_vit`), "
                        "or cite the paper ([paper] or arXiv) in the same paragraph"
                    )
    return problems
