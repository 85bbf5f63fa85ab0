"""Plain data across the process boundary: JSON plus ``.npy`` files, never pickle.

`dump_plain` writes a value (arrays, numbers, strings, dicts/lists of them)
as ``NAME.json`` with every array stored beside it as ``NAME.aK.npy``.
`load_plain` reads it back with ``np.load(..., allow_pickle=False)``, opening
each file with ``O_NOFOLLOW`` and checking it is a small regular file, so a
hostile writer of the folder (the student's child process) cannot make the
trusted reader follow a symlink, block on a FIFO or unpickle anything.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np

__all__ = ["dump_plain", "load_plain", "read_small_file", "PlainDataError", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 256 * 2**20
_ARRAY_REF = re.compile(r"^[A-Za-z0-9_.-]{1,100}\.npy$")


class PlainDataError(ValueError):
    """A results file is missing, too large, not a regular file, or not plain data."""


def _encode(value, arrays: list, prefix: str, depth: int = 0):
    if depth > 6:
        raise TypeError("value nested too deeply")
    t = type(value)
    if t is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise TypeError(f"array dtype {value.dtype} is not numeric")
        name = f"{prefix}.a{len(arrays)}.npy"
        arrays.append((name, value))
        return {"__npy__": name}
    if t is float:
        if not math.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if t in (bool, int, str) or value is None:
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _encode(float(value), arrays, prefix, depth)
    if t is dict:
        if any(type(k) is not str for k in value):
            raise TypeError("dict keys must be strings")
        if "__npy__" in value or "__float__" in value:
            raise TypeError("dict keys '__npy__'/'__float__' are reserved")
        return {k: _encode(v, arrays, prefix, depth + 1) for k, v in value.items()}
    if t in (list, tuple):
        return [_encode(v, arrays, prefix, depth + 1) for v in value]
    raise TypeError(f"{t.__name__} is not plain data (array, number, string, dict or list)")


def dump_plain(value, folder: str | os.PathLike, name: str) -> Path:
    """Write ``value`` as ``folder/name.json`` (+ ``.npy`` files); atomically (temp file + rename)."""
    folder = Path(folder)
    arrays: list = []
    doc = _encode(value, arrays, name)
    for fname, arr in arrays:
        np.save(folder / fname, np.ascontiguousarray(arr), allow_pickle=False)
    tmp = folder / f".{name}.json.tmp"
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, folder / f"{name}.json")
    return folder / f"{name}.json"


def read_small_file(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Bytes of a regular file, refusing symlinks, FIFOs, devices and files over ``max_bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise PlainDataError(f"cannot open {os.path.basename(path)}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PlainDataError(f"{os.path.basename(path)} is not a regular file")
        if st.st_size > max_bytes:
            raise PlainDataError(f"{os.path.basename(path)} is {st.st_size} bytes, more than {max_bytes}")
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            total += len(b)
            if total > max_bytes:
                raise PlainDataError(f"{os.path.basename(path)} grew beyond {max_bytes} bytes")
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _decode(doc, folder: Path, depth: int = 0):
    if depth > 8:
        raise PlainDataError("results nested too deeply")
    if type(doc) is dict:
        if set(doc) == {"__npy__"}:
            name = doc["__npy__"]
            if type(name) is not str or not _ARRAY_REF.match(name):
                raise PlainDataError(f"bad array reference {name!r}")
            try:
                arr = np.load(io.BytesIO(read_small_file(folder / name)), allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise PlainDataError(f"{name} is not a valid .npy array: {e}") from None
            if type(arr) is not np.ndarray or arr.dtype.kind not in "biuf":
                raise PlainDataError(f"{name} does not hold a numeric array")
            return arr
        if set(doc) == {"__float__"}:
            if doc["__float__"] not in ("nan", "inf", "-inf"):
                raise PlainDataError("bad float")
            return float(doc["__float__"])
        return {str(k): _decode(v, folder, depth + 1) for k, v in doc.items()}
    if type(doc) is list:
        return [_decode(v, folder, depth + 1) for v in doc]
    if doc is None or type(doc) in (bool, int, float, str):
        return doc
    raise PlainDataError(f"unexpected {type(doc).__name__} in results")


def load_plain(folder: str | os.PathLike, name: str, max_bytes: int = 16 * 2**20):
    """Read what `dump_plain` wrote (trusted side): only JSON and ``.npy`` with ``allow_pickle=False``."""
    folder = Path(folder)
    raw = read_small_file(folder / f"{name}.json", max_bytes)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise PlainDataError(f"{name}.json is not valid JSON: {e}") from None
    return _decode(doc, folder)
