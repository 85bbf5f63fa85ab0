"""Gradebooks (CSV, JSON) written atomically, merged idempotently, and per-student feedback.

Re-running the grader replaces the rows of the submissions it graded again
(keyed by student, exercise and task) and keeps every other row, so grading
one late submission into an existing gradebook loses nothing and grading
the same folder twice gives the same gradebook. Files are written to a
temporary file beside the target and moved into place (`os.replace`), so a
crash never leaves half a gradebook.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path

from ..messages import msg

__all__ = ["write_csv", "write_json", "read_gradebook", "merge_rows", "write_feedback", "atomic_write"]

FIELDS = (
    "student",
    "exercise",
    "task",
    "points",
    "max_points",
    "status",
    "reason",
    "pending_points",
    "flags",
    "checks",
    "submission",
    "sha256",
    "grader_version",
    "isolation",
)
#: A spreadsheet runs a cell that starts with one of these as a formula: such cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _as_dict(row) -> dict:
    d = row.as_dict() if hasattr(row, "as_dict") else dict(row)
    return {k: d.get(k, "") for k in FIELDS}


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f.is_integer() else f


def read_gradebook(path: str | os.PathLike) -> list[dict]:
    """Rows of an existing CSV or JSON gradebook (empty list if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    if path.suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        rows = doc["rows"] if isinstance(doc, dict) else doc
    else:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [
                {
                    k: (v[1:] if isinstance(v, str) and v[:1] == "'" and v[1:2] and v[1] in "=+-@\t\r" else v)
                    for k, v in r.items()
                }
                for r in csv.DictReader(f)
            ]
    out = []
    for r in rows:
        d = {k: r.get(k, "") for k in FIELDS}
        for k in ("points", "max_points", "pending_points"):
            d[k] = _num(d[k])
        out.append(d)
    return out


def _task_order(row: dict) -> tuple:
    return (str(row["student"]), str(row["exercise"]))


def merge_rows(old: list[dict], new: list) -> list[dict]:
    """``old`` rows with every (student, exercise) graded in ``new`` replaced by the new rows; sorted."""
    new = [_as_dict(r) for r in new]
    regraded = {(r["student"], r["exercise"]) for r in new}
    kept = [r for r in old if (r["student"], r["exercise"]) not in regraded]
    rows = kept + new
    # stable order: by student and exercise; tasks keep the notebook's order
    return sorted(rows, key=_task_order)


def csv_cell(value):
    """A value safe to open in a spreadsheet: text that would start a formula is prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(rows, path: str | os.PathLike) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_cell(v) for k, v in _as_dict(r).items()})
    atomic_write(path, buf.getvalue())


def write_json(rows, path: str | os.PathLike, *, isolation: str | None = None) -> None:
    rows = [_as_dict(r) for r in rows]
    totals: dict = {}
    for r in rows:
        t = totals.setdefault(r["student"], {}).setdefault(r["exercise"], {"points": 0, "max_points": 0})
        t["points"] += _num(r["points"]) or 0
        t["max_points"] += _num(r["max_points"]) or 0
    doc = {"fields": list(FIELDS), "rows": rows, "totals": totals}
    if isolation is not None:
        doc["isolation"] = isolation
    atomic_write(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


_ICON = {
    "passed": "✔",
    "failed": "✘",
    "error": "✘",
    "timeout": "⏱",
    "crashed": "✘",
    "not attempted": "·",
    "flagged": "⚑",
}
_STATUS_KEYS = {f"status.{s}" for s in _ICON}


def _safe_name(text: str) -> str:
    """A file name for ``text`` that is safe everywhere and unique: ASCII letters, digits, ``_.-``; when that
    loses anything (``josé`` and ``josè``), a short hash of the original keeps the names apart."""
    text = str(text)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")[:80] or "student"
    if safe != text:
        safe += "-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def write_feedback(rows, folder: str | os.PathLike) -> list[Path]:
    """One Markdown file per student and exercise: points, what passed, what failed, and the hint.

    Shows only what the gradebook row says (visible-case details, counts of
    hidden cases) and each check's first-level hint: never hidden inputs or
    solutions. Written in the language the rows were graded in (``Row.lang``:
    Korean for a Korean notebook); rows without one (read back from a
    gradebook file) get the language `vitcourse.messages` chooses.
    """
    folder = Path(folder)
    by: dict = {}
    for r in rows:
        by.setdefault((r.student, r.exercise), []).append(r)
    written = []
    for (student, exercise), rs in sorted(by.items()):
        lang = getattr(rs[0], "lang", None)
        got = sum(float(r.points) for r in rs)
        total = sum(float(r.max_points) for r in rs)
        lines = [
            msg("fb.title", lang=lang, exercise=exercise),
            "",
            msg("fb.student", lang=lang, student=student),
            msg("fb.score", lang=lang, got=got, total=total),
            "",
        ]
        pending = sum(float(r.pending_points) for r in rs)
        if pending:
            lines += [msg("fb.pending", lang=lang, pending=pending), ""]
        for r in rs:
            status = msg(f"status.{r.status}", lang=lang) if f"status.{r.status}" in _STATUS_KEYS else r.status
            lines.append(
                msg(
                    "fb.task",
                    lang=lang,
                    icon=_ICON.get(r.status, "?"),
                    task=r.task,
                    points=float(r.points),
                    max_points=float(r.max_points),
                    status=status,
                )
            )
            lines.append("")
            lines.append(r.reason if r.status != "flagged" else msg("fb.flagged", lang=lang))
            if r.status == "flagged":
                lines += ["", *[f"- {f}" for f in r.flags.split(" | ") if f][:5]]
            if r.status not in ("passed", "flagged") and getattr(r, "hint", None):
                lines += ["", msg("check.hint", lang=lang, hint=r.hint)]
            lines.append("")
        path = folder / _safe_name(student) / f"{_safe_name(exercise)}.md"
        atomic_write(path, "\n".join(lines))
        written.append(path)
    return written
