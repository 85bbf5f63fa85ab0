"""Plain data: what may cross from a learner's code to the judge, defined once.

A learner's function may return anything; the judge (the grader's trusted
process, or `vitcourse.checks.Check.judge` in a notebook) compares only
**plain data**: exact NumPy arrays of the numeric dtypes in `ARRAY_DTYPES`,
``bool``/``int``/``float``/``None``, ``str``, and ``dict`` (string keys) /
``list`` of them, nested at most `MAX_DEPTH` levels, within the size limits
below. Exact types, never duck types or subclasses, so no object with a
lying ``__eq__`` can reach a comparison.

Three users, one definition:

- `to_plain` (the learner's side, `vitcourse.harness`): converts an output
  (tensors, NumPy scalars, tuples) to plain data and refuses what cannot be;
- `validate` (the trusted side, `vitcourse.checks.validate_output`): accepts
  exactly plain data, converts nothing;
- the grader's wire format (`vitcourse.grading.child`): encodes the same
  types (`convert`), nested at most `MAX_DEPTH` plus the frame's own levels
  and without the size limits, which are for outputs only; the sandboxed
  child refuses an output that `validate` would refuse before it sends it.

A refusal is a `PlainDataError` (a ``TypeError``) carrying a catalogue key and
its values, so the grader's child can send *why* and the trusted side says it
in the submission's language. This module imports only NumPy (PyTorch only if
it is already loaded, the message catalogue only to print an error): it runs
inside the grader's sandbox.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = [
    "to_plain",
    "validate",
    "convert",
    "PlainDataError",
    "MAX_DEPTH",
    "MAX_ARRAY_ELEMENTS",
    "MAX_STRING",
    "MAX_LIST",
    "ARRAY_DTYPES",
    "RESERVED_KEYS",
    "REFUSALS",
]

#: How deeply dicts and lists may nest: a value inside more than this many containers is refused.
MAX_DEPTH = 4
#: Largest array (elements) in an output.
MAX_ARRAY_ELEMENTS = 5_000_000
#: Longest string (characters) in an output.
MAX_STRING = 10_000
#: Longest list in an output.
MAX_LIST = 1000
#: The array dtypes that are plain (native byte order): numbers and booleans.
ARRAY_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"}
)
#: Dict keys the wire format uses for arrays and non-finite floats.
RESERVED_KEYS = frozenset({"__nd__", "__float__"})
#: Every refusal: catalogue key -> the names of its values (`PlainDataError.key`, `PlainDataError.values`).
REFUSALS = {
    "plain.nested": ("limit",),
    "plain.dtype": ("dtype",),
    "plain.size": ("size", "limit"),
    "plain.string": ("limit",),
    "plain.keys": (),
    "plain.reserved": ("key",),
    "plain.list": ("limit",),
    "plain.type": ("type",),
}


class PlainDataError(TypeError):
    """A value that is not plain data. ``key`` (one of `REFUSALS`) and ``values`` say why; ``str()`` says it
    in the learner's language (`vitcourse.messages`)."""

    def __init__(self, key: str, /, **values):
        if key not in REFUSALS or set(values) != set(REFUSALS[key]):
            raise ValueError(
                f"PlainDataError needs one of {sorted(REFUSALS)} with its values, got {key!r} with {sorted(values)}"
            )
        super().__init__(key, values)
        self.key, self.values = key, values

    @classmethod
    def from_wire(cls, key, values) -> "PlainDataError | None":
        """A refusal sent by the grader's child (untrusted): rebuilt only if ``key`` is one of `REFUSALS` and
        its values are short strings or integers; None otherwise."""
        if type(key) is not str or key not in REFUSALS or type(values) is not dict or set(values) != set(REFUSALS[key]):
            return None
        if any(not (type(v) is int or (type(v) is str and len(v) <= 100)) for v in values.values()):
            return None
        return cls(key, **values)

    def __str__(self) -> str:
        from .messages import msg

        return msg(self.key, **self.values)


def to_plain(value) -> Any:
    """``value`` converted to plain data: tensors become arrays (on the CPU, detached; bfloat16 as float32),
    NumPy scalars Python numbers, tuples lists, dict keys and string subclasses exact strings, array subclasses
    their data; raises `PlainDataError` for anything else (a model, an object or complex array) and for what
    breaks a limit (nesting, sizes). What it returns, `validate` accepts."""
    return _walk(value, 0, MAX_DEPTH, convert=True, sized=True)


def validate(value) -> Any:
    """``value`` itself if it is exactly plain data (types, not duck types: no subclass, no NumPy scalar, no
    tuple) within every limit; else `PlainDataError`. Converts nothing."""
    return _walk(value, 0, MAX_DEPTH, convert=False, sized=True)


def convert(value, *, max_depth: int) -> Any:
    """`to_plain` without the size limits and with the nesting limit ``max_depth``: the wire format's encoder,
    for frames (a job holds notebook cells longer than an output's strings)."""
    return _walk(value, 0, max_depth, convert=True, sized=False)


def _array(value: np.ndarray, *, convert: bool, sized: bool) -> np.ndarray:
    if convert:  # a copy of the data alone (a subclass's data too), in native byte order
        value = np.array(value, copy=True, subok=False)
        if value.dtype.kind in "biuf" and not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
    if str(value.dtype) not in ARRAY_DTYPES:
        raise PlainDataError("plain.dtype", dtype=str(value.dtype)[:40])
    if sized and value.size > MAX_ARRAY_ELEMENTS:
        raise PlainDataError("plain.size", size=int(value.size), limit=MAX_ARRAY_ELEMENTS)
    return value


def _walk(value, depth: int, max_depth: int, *, convert: bool, sized: bool):
    if depth > max_depth:
        raise PlainDataError("plain.nested", limit=max_depth)
    t = type(value)
    if t is np.ndarray or (convert and isinstance(value, np.ndarray)):
        return _array(value, convert=convert, sized=sized)
    if t in (bool, int, float) or value is None:
        return value
    if t is str or (convert and isinstance(value, str)):
        value = str.__str__(value)  # an exact str, whatever the subclass overrides
        if sized and len(value) > MAX_STRING:
            raise PlainDataError("plain.string", limit=MAX_STRING)
        return value
    if t is dict or (convert and isinstance(value, dict)):
        out = {}
        for k, v in value.items():
            if convert:
                k = str.__str__(k if isinstance(k, str) else str(k))
            elif type(k) is not str:
                raise PlainDataError("plain.keys")
            if k in RESERVED_KEYS:
                raise PlainDataError("plain.reserved", key=k)
            out[k] = _walk(v, depth + 1, max_depth, convert=convert, sized=sized)
        return out if convert else value
    if t is list or (convert and isinstance(value, (list, tuple))):
        if sized and len(value) > MAX_LIST:
            raise PlainDataError("plain.list", limit=MAX_LIST)
        items = [_walk(v, depth + 1, max_depth, convert=convert, sized=sized) for v in value]
        return items if convert else value
    if convert:
        torch = sys.modules.get("torch")  # a tensor exists only where PyTorch is loaded: never import it here
        if torch is not None and isinstance(value, torch.Tensor):
            x = value.detach().cpu()
            if x.dtype == torch.bfloat16:
                x = x.float()
            return _array(x.numpy(), convert=True, sized=sized)
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
    raise PlainDataError("plain.type", type=t.__name__[:100])
