"""Grading a class on several machines: pick one shard of the submissions, then merge the shard gradebooks.

``vitcourse grade SUBMISSIONS --shard i/N --out shard-i.csv`` grades the
submissions whose (student, exercise) hashes to ``i`` out of ``N`` (shards are
numbered ``0 .. N-1``, as Slurm array indices and Kubernetes indexed Jobs
count). The hash is SHA-256 of the student id and the exercise, so the split is
the same on every machine and every run, whatever the order of the files, and
all submissions of one student for one exercise land on one shard, where the
grader still sees two of them as a conflict.

``vitcourse gradebook merge shard-*.csv --out gradebook.csv`` joins the shard
gradebooks. A (student, exercise, task) that two files give with different
content is an error naming both files, never a silent choice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .gradebook import FIELDS, merge_rows, read_gradebook

__all__ = ["parse_shard", "shard_of", "select_shard", "merge_gradebooks", "GradebookConflict"]


class GradebookConflict(ValueError):
    """Two gradebooks disagree about one (student, exercise, task) row."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)`` with ``0 <= i < N``; a ValueError saying what was expected otherwise."""
    parts = str(text).strip().split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--shard must look like i/N (e.g. 0/4: the first of 4 shards), got {text!r}")
    i, n = (int(p) for p in parts)
    if n < 1:
        raise ValueError(f"--shard {text}: the number of shards N must be >= 1")
    if not 0 <= i < n:
        raise ValueError(f"--shard {text}: shards are numbered 0 to {n - 1} (Slurm: --array=0-{n - 1}), got {i}")
    return i, n


def shard_of(student: str, exercise: str | None, n: int) -> int:
    """The shard (``0 .. n-1``) of a student's submission for an exercise: a stable hash, the same everywhere."""
    key = f"{student}\x00{exercise or ''}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % n


def select_shard(subs: list, i: int, n: int) -> list:
    """The submissions of shard ``i`` of ``n`` (in their discovered order)."""
    return [s for s in subs if shard_of(s.student, s.exercise, n) == i]


def merge_gradebooks(paths) -> list[dict]:
    """Rows of all the gradebooks at ``paths`` (CSV or JSON), sorted as `vitcourse grade` writes them.

    A row given twice with the same content is kept once; with different content
    (the same student, exercise and task graded twice, differently) it is a
    `GradebookConflict`. A missing file is an error: a shard that did not finish
    must not vanish from the class gradebook.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no gradebooks given: pass the shard files, e.g. shard-*.csv")
    seen: dict[tuple, tuple[dict, Path]] = {}
    rows: list[dict] = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"gradebook {str(path)!r} does not exist: did that shard finish? Grade it "
                f"(vitcourse grade ... --shard i/N --out {path}) and merge again"
            )
        for row in read_gradebook(path):
            key = (row["student"], row["exercise"], row["task"])
            if key in seen:
                other, where = seen[key]
                if other != row:
                    diff = [f"{k}: {other[k]!r} vs {row[k]!r}" for k in FIELDS if other[k] != row[k]]
                    raise GradebookConflict(
                        f"student {key[0]!r}, exercise {key[1]!r}, task {key[2]!r} is in {str(where)!r} and "
                        f"{str(path)!r} with different content ({'; '.join(diff[:4])}): the same submission was "
                        f"graded in two shards, or graded again. Keep one of the files (or re-grade that student "
                        f"into one of them) and merge again"
                    )
                continue
            seen[key] = (row, path)
            rows.append(row)
    return merge_rows([], rows)


def grader_versions(rows) -> set[str]:
    """The distinct ``grader_version`` values in ``rows`` (more than one: shards graded by different rules)."""
    return {str(r.get("grader_version", "")) for r in rows if r.get("grader_version", "")}


def is_json(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".json"
