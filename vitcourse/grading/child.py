"""The untrusted side of grading: the program that runs one submission inside the sandbox.

This file is copied into the sandbox and run there as a script; it imports
nothing from the grader (the grader's package is absent in the sandbox):
from the course package, only `vitcourse.plain` (what plain data is) and,
once the job has come, `vitcourse.harness` (how to call the learner's
function). It also defines the wire format both sides speak, so the trusted
parent imports `encode`, `Decoder` and `read_frame` from here.

Protocol: the parent writes one frame with the job to the child's stdin;
the child writes frames to file descriptor 3 (a pipe to the parent): its
progress (``stage``), each blocked action (``violation``, sent at once so it
cannot be taken back), each failing notebook cell (``cell_error``), each
check's outputs (``result``: per case an output that `vitcourse.plain.validate`
accepts, or ``not_plain`` with the refusal's catalogue key and values) and
``done``. A frame is a 4-byte big-endian
length and a JSON document. Arrays travel inline (dtype, shape, base64
bytes), so a frame of N bytes decodes to at most N bytes of arrays: there
are no references to repeat. Nothing is pickled.

The sandbox, not this program, is the security boundary (see
`vitcourse.grading.sandbox`): this program's audit hook only *flags* what
student code tries, for the instructor's review.
"""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import struct
import sys

import numpy as np

import vitcourse.plain as plain
from vitcourse.plain import PlainDataError

__all__ = [
    "encode",
    "Decoder",
    "WireError",
    "read_frame",
    "write_frame",
    "main",
    "ARRAY_DTYPES",
    "frame_depth",
    "ENVELOPE_DEPTH",
]

ARRAY_DTYPES = plain.ARRAY_DTYPES
#: How deeply a frame's envelope nests what it carries: a job holds each case's inputs five levels down
#: (job, checks, check, cases, case); a result holds an output three levels down. Frames nest at most
#: `frame_depth` levels: this plus `vitcourse.plain.MAX_DEPTH`.
ENVELOPE_DEPTH = 5


def frame_depth() -> int:
    """How deeply a frame may nest (both ways): the envelope plus plain data's own limit."""
    return ENVELOPE_DEPTH + plain.MAX_DEPTH


class WireError(ValueError):
    """A frame that breaks the protocol: too large, not JSON, or not plain data."""


# ----------------------------------------------------------------------------- wire format


def _json(value):
    """Plain data (`vitcourse.plain`, already checked) as JSON values: arrays and non-finite floats tagged."""
    t = type(value)
    if t is dict:
        return {k: _json(v) for k, v in value.items()}
    if t is list:
        return [_json(v) for v in value]
    if t is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if t in (bool, int, str) or value is None:
        return value
    data = np.ascontiguousarray(value)
    return {"__nd__": [str(value.dtype), list(value.shape), base64.b64encode(data.tobytes()).decode("ascii")]}


def encode(value) -> bytes:
    """One frame's payload: ``value`` (plain data, `vitcourse.plain`) as JSON with arrays inline; raises
    `vitcourse.plain.PlainDataError` (a TypeError) for what is not plain data or nests past `frame_depth`."""
    return json.dumps(_json(plain.convert(value, max_depth=frame_depth())), separators=(",", ":")).encode("utf-8")


class Decoder:
    """Trusted side: decode frames, counting bytes and array elements against caps for the whole run.

    ``max_bytes`` caps the sum of frame sizes, ``max_elements`` the sum of
    decoded array elements; past either, `WireError`. Only plain JSON types
    and numeric arrays come out.
    """

    def __init__(self, *, max_bytes: int, max_elements: int, max_string: int = 100_000):
        self.max_bytes, self.max_elements, self.max_string = max_bytes, max_elements, max_string
        self.bytes = 0
        self.elements = 0

    def decode(self, payload: bytes):
        self.bytes += len(payload)
        if self.bytes > self.max_bytes:
            raise WireError(f"results exceed {self.max_bytes} bytes")
        try:
            doc = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise WireError(f"a results frame is not valid JSON ({type(e).__name__})") from None
        return self._dec(doc, 0)

    def _dec(self, doc, depth: int):
        if depth > frame_depth():
            raise WireError("results nested too deeply")
        t = type(doc)
        if t is dict:
            if "__nd__" in doc:
                spec = doc["__nd__"]
                if set(doc) != {"__nd__"} or type(spec) is not list or len(spec) != 3:
                    raise WireError("bad array")
                dtype, shape, data = spec
                if (
                    type(dtype) is not str
                    or dtype not in ARRAY_DTYPES
                    or type(shape) is not list
                    or len(shape) > 8
                    or any(type(n) is not int or n < 0 for n in shape)
                    or type(data) is not str
                ):
                    raise WireError("bad array header")
                n = math.prod(shape)
                self.elements += n
                if self.elements > self.max_elements:
                    raise WireError(f"results hold more than {self.max_elements} array elements")
                dt = np.dtype(dtype)
                try:
                    raw = base64.b64decode(data, validate=True)
                except ValueError:
                    raise WireError("bad array data") from None
                if len(raw) != n * dt.itemsize:
                    raise WireError("array data does not match its shape")
                return np.frombuffer(raw, dtype=dt).reshape(shape).copy()
            if "__float__" in doc:
                if set(doc) != {"__float__"} or doc["__float__"] not in ("nan", "inf", "-inf"):
                    raise WireError("bad float")
                return float(doc["__float__"])
            return {str(k): self._dec(v, depth + 1) for k, v in doc.items()}
        if t is list:
            return [self._dec(v, depth + 1) for v in doc]
        if t is str:
            return doc[: self.max_string]
        if doc is None or t in (bool, int, float):
            return doc
        raise WireError(f"unexpected {t.__name__} in results")


def write_frame(fd: int, payload: bytes) -> None:
    data = struct.pack(">I", len(payload)) + payload
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(1 << 20, n - got))
        if not b:
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame(fd: int, max_frame: int) -> bytes | None:
    """The next frame's payload from ``fd``; None at end of stream; `WireError` if it is over ``max_frame``."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > max_frame:
        raise WireError(f"a results frame of {n} bytes is over the {max_frame}-byte limit")
    payload = _read_exact(fd, n)
    if payload is None:
        raise WireError("the results stream ended inside a frame")
    return payload


# ----------------------------------------------------------------------------- the runner (in the sandbox)

#: Audit events flagged and refused (the sandbox stops them in any case; this records the attempt).
_REFUSED = {
    "subprocess.Popen": "start a process",
    "os.system": "start a process",
    "os.exec": "start a process",
    "os.posix_spawn": "start a process",
    "os.spawn": "start a process",
    "os.fork": "fork",
    "os.forkpty": "fork",
    "pty.spawn": "start a process",
    "os.kill": "send a signal",
    "os.killpg": "send a signal",
    "signal.pthread_kill": "send a signal",
    "socket.connect": "use the network",
    "socket.bind": "use the network",
    "socket.sendto": "use the network",
    "resource.setrlimit": "change resource limits",
    "resource.prlimit": "change resource limits",
    "sys.remote_exec": "attach to a process",
}
_REFUSED_IMPORTS = {"_posixsubprocess", "_ctypes", "ctypes", "cffi", "_socket", "socket", "pty"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class _Timeout(BaseException):
    """Raised by SIGALRM inside student code when a cell or a case runs past its limit."""


def _on_alarm(signum, frame):
    raise _Timeout()


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(0.0, float(seconds)))


def _describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    name = type(e).__name__
    return f"{name}: {text[:300]}" if text else name


def run_case(run, runner: str, fn, inputs: dict, timeout: float) -> dict:
    """One case's record for the ``result`` frame: ``ok`` with the output when `vitcourse.plain.validate`
    accepts it (what the judge accepts), ``not_plain`` with the refusal's key and values when it does not,
    else ``timeout`` (after ``timeout`` seconds; 0: no limit), ``not_implemented`` or ``error``."""
    try:
        _alarm(timeout)
        try:
            got = run(runner, fn, inputs)
        finally:
            _alarm(0)
        plain.validate(got)  # what the judge accepts, or the except below says why not
        return {"status": "ok", "out": got}
    except _Timeout:
        return {"status": "timeout"}
    except NotImplementedError as e:
        return {"status": "not_implemented", "error": _describe(e)}
    except PlainDataError as e:  # it returned something the judge refuses: say why, in the judge's words
        return {"status": "not_plain", "key": e.key, "values": e.values}
    except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, MemoryError included
        return {"status": "error", "error": _describe(e)}


def main() -> None:
    """Run one job: import the libraries, read the job from stdin, run cells and checks, report on fd 3."""
    out_fd = 3

    def send(value) -> None:
        write_frame(out_fd, encode(value))

    import torch

    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("Agg")
    send({"t": "ready"})
    payload = read_frame(0, 1 << 30)
    if payload is None:
        return
    job = Decoder(max_bytes=1 << 30, max_elements=1 << 28).decode(payload)
    for p in reversed(job["sys_path"]):
        sys.path.insert(0, p)
    import types

    import vitcourse.harness as harness

    # The student's own test calls decide nothing here: `vitcourse.checks` is absent, and a stand-in answers.
    stub = types.ModuleType("vitcourse.checks")
    setattr(stub, "check", lambda *a, **k: None)  # noqa: B010 - a module built at run time
    setattr(stub, "CheckFailed", AssertionError)  # noqa: B010
    sys.modules["vitcourse.checks"] = stub

    work = os.getcwd()

    def hook(event, args):
        what = None
        if event in _REFUSED:
            what = f"tried to {_REFUSED[event]} ({event})"
        elif event.startswith("ctypes."):
            what = f"tried to use ctypes ({event})"
        elif event == "import" and args and args[0] in _REFUSED_IMPORTS:
            what = f"tried to import {args[0]}"
        elif event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            write = bool(
                (isinstance(mode, str) and any(c in mode for c in "wax+"))
                or (isinstance(flags, int) and flags & _WRITE_FLAGS)
            )
            if write and isinstance(path, (str, bytes)):
                p = os.path.normpath(os.path.join(work, os.fsdecode(path)))
                if not (p == work or p.startswith(work + "/") or p == "/dev/null"):
                    what = f"tried to write {p[:200]}"
        if what is not None:
            try:
                send({"t": "violation", "what": what})
            except BaseException:  # noqa: BLE001 - the pipe may be gone; the attempt is refused either way
                pass
            raise PermissionError(f"blocked by the grader's sandbox: {what}")

    signal.signal(signal.SIGALRM, _on_alarm)
    torch.manual_seed(0)
    np.random.seed(0)
    import builtins

    ns = {"__name__": "__main__", "__builtins__": builtins}
    sys.addaudithook(hook)
    for idx, source in job["cells"]:
        send({"t": "stage", "stage": f"cell {idx}"})
        try:
            code = compile(source, f"<cell {idx}>", "exec")
            _alarm(job["cell_timeout"])
            try:
                exec(code, ns)
            finally:
                _alarm(0)
        except _Timeout:
            send({"t": "cell_error", "cell": idx, "error": f"timed out after {job['cell_timeout']:g} s"})
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, MemoryError included
            send({"t": "cell_error", "cell": idx, "error": _describe(e)})
    for name, spec in job["checks"].items():
        fn = ns.get(spec["target"])
        send({"t": "module", "target": spec["target"], "module": str(getattr(fn, "__module__", "") or "")[:200]})
        out, timed_out = [], False
        for k, inputs in enumerate(spec["cases"]):
            send({"t": "stage", "stage": f"case {name} {k}"})
            if timed_out:
                out.append({"status": "skipped"})
                continue
            if fn is None:
                out.append({"status": "missing"})
                continue
            out.append(run_case(harness.run, spec["runner"], fn, inputs, spec["timeout"]))
            timed_out = out[-1]["status"] == "timeout"
        send({"t": "stage", "stage": f"write {name}"})
        send({"t": "result", "check": name, "cases": out})
    send({"t": "done"})


if __name__ == "__main__":
    try:
        main()
    finally:
        sys.stdout.flush()
        os._exit(0)
