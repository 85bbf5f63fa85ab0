"""Comparisons of a learner's plain output with the reference: the judge's side of a `Check`.

`compare_arrays` walks dicts and lists of arrays and numbers and says, for the
first difference, where it is and by how much; `accuracy_failures` judges
predicted labels against an accuracy threshold. Both return a list of failure
messages (empty: pass) in the learner's language (`vitcourse.messages`).
"""

from __future__ import annotations

import math

import numpy as np

from ..messages import msg

__all__ = ["compare_arrays", "accuracy_failures"]


def _fmt_index(idx) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def compare_arrays(
    got, expected, *, what: str | None = None, rtol: float = 1e-4, atol: float = 1e-5, check_dtype_kind: bool = True
) -> list[str]:
    """Failures (empty list: pass) comparing ``got`` against ``expected`` (plain data, compared in NumPy).

    ``what`` names the compared value in the messages (default: "output" in the learner's language).
    """
    what = msg("what.output") if what is None else what
    if isinstance(expected, dict):
        if type(got) is not dict:
            return [msg("cmp.dict", what=what, keys=sorted(expected), got=type(got).__name__)]
        missing = sorted(set(expected) - set(got))
        if missing:
            return [msg("cmp.missing_keys", what=what, keys=missing)]
        out = []
        for k in expected:
            out += compare_arrays(
                got[k], expected[k], what=f"{what}[{k!r}]", rtol=rtol, atol=atol, check_dtype_kind=check_dtype_kind
            )
        return out
    if isinstance(expected, list):
        if type(got) is not list or len(got) != len(expected):
            n = len(got) if type(got) is list else type(got).__name__
            return [msg("cmp.sequence", what=what, n=len(expected), got=n)]
        out = []
        for i, (g, e) in enumerate(zip(got, expected)):
            out += compare_arrays(g, e, what=f"{what}[{i}]", rtol=rtol, atol=atol, check_dtype_kind=check_dtype_kind)
        return out
    exp = np.asarray(expected)
    if type(got) not in (np.ndarray, bool, int, float):
        return [msg("cmp.array", what=what, shape=exp.shape, got=type(got).__name__)]
    arr = np.asarray(got)
    if arr.shape != exp.shape:
        return [msg("cmp.shape", what=what, expected=exp.shape, got=arr.shape)]
    if check_dtype_kind:
        if exp.dtype.kind == "f" and arr.dtype.kind != "f":
            return [msg("cmp.float", what=what, dtype=arr.dtype)]
        if exp.dtype.kind in "iu" and arr.dtype.kind not in "iu":
            return [msg("cmp.int", what=what, dtype=arr.dtype)]
        if exp.dtype.kind == "b" and arr.dtype.kind != "b":
            return [msg("cmp.bool", what=what, dtype=arr.dtype)]
    if exp.dtype.kind == "f" or arr.dtype.kind == "f":
        a64, e64 = arr.astype(np.float64), exp.astype(np.float64)
        bad_nan = np.isnan(a64) != np.isnan(e64)
        if bad_nan.any():
            i = np.argwhere(bad_nan)[0]
            return [msg("cmp.nan", what=what, index=_fmt_index(i))]
        finite = ~np.isnan(e64)
        diff = np.where(finite, np.abs(a64 - e64), 0.0)
        tol = atol + rtol * np.abs(np.where(finite, e64, 0.0))
        if (diff > tol).any():
            at: tuple = np.unravel_index(int(np.argmax(diff - tol)), diff.shape) if diff.ndim else ()
            return [
                msg(
                    "cmp.values",
                    what=what,
                    diff=float(diff.max()),
                    index=_fmt_index(at),
                    got=float(a64[at]),
                    expected=float(e64[at]),
                    atol=atol,
                    rtol=rtol,
                )
            ]
        return []
    if not np.array_equal(arr, exp):
        j: tuple = tuple(np.argwhere(arr != exp)[0]) if arr.ndim else ()
        return [msg("cmp.values_exact", what=what, index=_fmt_index(j), got=arr[j], expected=exp[j])]
    return []


def accuracy_failures(pred, labels, threshold: float, what: str | None = None) -> list[str]:
    """Failures for predicted class labels against true ones at an accuracy threshold (``what``: the measure's
    name in the messages, default "accuracy" in the learner's language)."""
    what = msg("what.accuracy") if what is None else what
    pred = np.asarray(pred)
    if pred.shape != labels.shape:
        return [msg("acc.shape", expected=labels.shape, got=pred.shape)]
    if pred.dtype.kind not in "iu":
        return [msg("acc.dtype", dtype=pred.dtype)]
    acc = float((pred == labels).mean())
    if not math.isfinite(acc) or acc < threshold:
        return [msg("acc.below", what=what, acc=acc, threshold=threshold)]
    return []
