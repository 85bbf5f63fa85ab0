"""The trusted side of the process boundary: start the zygote, run a job, enforce wall-clock limits.

`Runner` starts ``python -I`` running `vitcourse.grading.sandbox.zygote_main`
with a controlled environment (no GPU: ``CUDA_VISIBLE_DEVICES=""``, one
thread, no user site, no ``PYTHONPATH``), asks it to fork one sandboxed
runner per job and waits for it. A job that runs past its stage deadline
(a cell or a test case, as the runner reports its progress, plus a grace
period) or past the job's total deadline is killed with its whole process
group. Several jobs may run at once (one thread per job).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .plain import PlainDataError, read_small_file

__all__ = ["Runner", "RunResult", "SandboxError", "child_env"]


class SandboxError(RuntimeError):
    """The zygote could not be started or died (not the student's fault)."""


@dataclass
class RunResult:
    exit_code: int | None      # negative: killed by that signal
    killed: str | None         # why the parent killed it ("timeout"), else None
    stage: str                 # last progress the runner reported ("cell 3", "check 00.relu 2", "done")
    seconds: float


def child_env(home: str) -> dict:
    """The environment of the zygote and every runner: minimal, CPU only, single-threaded."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "CUDA_VISIBLE_DEVICES": "", "VITCOURSE_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "TQDM_DISABLE": "1",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}


class Runner:
    """One zygote process shared by all jobs of a grading run; use as a context manager."""

    def __init__(self, root: str | os.PathLike, *, start_timeout: float = 300.0):
        self.root = str(root)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.vm = 0
        self.namespaces = "unknown"   # "ok" when runners can hide files behind Linux namespaces
        self._lock = threading.Lock()
        self._ids: dict[int, tuple[threading.Event, list]] = {}
        self._exits: dict[int, tuple[threading.Event, list]] = {}
        self._next = 0
        self._dead = False

    # --------------------------------------------------------------- lifecycle

    def start(self) -> "Runner":
        home = tempfile.mkdtemp(prefix="zygote-", dir=self.root)
        log = open(os.path.join(self.root, "zygote.log"), "ab")
        cmd = [sys.executable, "-I", "-c", "from vitcourse.grading.sandbox import zygote_main; zygote_main()"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=home,
                                     env=child_env(home), start_new_session=True, close_fds=True)
        log.close()
        self._dead = False
        ready: list = []
        t = threading.Thread(target=self._read_first, args=(ready,), daemon=True)
        t.start()
        t.join(self.start_timeout)
        if not ready or not ready[0].get("ready"):
            self.close()
            tail = ""
            try:
                tail = Path(self.root, "zygote.log").read_text(errors="replace")[-2000:]
            except OSError:
                pass
            raise SandboxError(f"the grading sandbox did not start within {self.start_timeout:g} s:\n{tail}")
        self.vm = int(ready[0].get("vm", 0))
        self.namespaces = str(ready[0].get("namespaces", "unknown"))
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _read_first(self, out: list) -> None:
        line = self.proc.stdout.readline()
        try:
            out.append(json.loads(line))
        except (ValueError, TypeError):
            pass

    def _reader(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                if "id" in msg and msg["id"] in self._ids:
                    ev, box = self._ids[msg["id"]]
                    box.append(msg["pid"])
                    ev.set()
                elif "exit" in msg:
                    ev, box = self._exits.setdefault(msg["pid"], (threading.Event(), []))
                    box.append(msg["exit"])
                    ev.set()
        with self._lock:
            self._dead = True
            for ev, _ in list(self._ids.values()) + list(self._exits.values()):
                ev.set()

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, 9)
                except OSError:
                    pass
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and not self._dead

    def _send(self, msg: dict) -> None:
        data = (json.dumps(msg) + "\n").encode()
        with self._lock:
            if self.proc is None or self._dead:
                raise SandboxError("the grading sandbox is not running")
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (OSError, ValueError) as e:
                raise SandboxError(f"the grading sandbox died: {e}") from None

    # --------------------------------------------------------------- jobs

    def run(self, workdir: str, *, limits: dict, deny: list[str], stage_limit, total_limit: float,
            grace: float = 3.0, isolate: dict | None = None) -> RunResult:
        """Fork a runner for ``workdir`` (holding ``job.json`` and ``in/``) and wait for it.

        ``stage_limit(stage)`` gives the seconds allowed for the stage the
        runner last reported; past it (plus ``grace``) or past
        ``total_limit`` the runner's process group is killed.
        """
        with self._lock:
            self._next += 1
            rid = self._next
            ev_id, box_id = self._ids[rid] = (threading.Event(), [])
        start = time.monotonic()
        try:
            self._send({"op": "run", "id": rid, "workdir": workdir, "limits": limits, "deny": deny,
                        "isolate": isolate or {}})
            if not ev_id.wait(60) or not box_id:
                raise SandboxError("the grading sandbox did not answer")
        finally:
            with self._lock:
                self._ids.pop(rid, None)
        pid = box_id[0]
        with self._lock:
            ev_exit, box_exit = self._exits.setdefault(pid, (threading.Event(), []))
        stage, stage_start, killed = "start", start, None
        progress = os.path.join(workdir, "progress")
        while not ev_exit.wait(0.05):
            now = time.monotonic()
            try:
                s = read_small_file(progress, 400).decode("utf-8", "replace")
            except PlainDataError:
                s = stage
            if s != stage:
                stage, stage_start = s, now
            if now - stage_start > stage_limit(stage) + grace or now - start > total_limit:
                killed = "timeout"
                try:
                    self._send({"op": "kill", "pid": pid})
                except SandboxError:
                    break
                ev_exit.wait(10)
                break
        with self._lock:
            self._exits.pop(pid, None)
        if not box_exit:
            if self._dead:
                raise SandboxError("the grading sandbox died while running a job")
            raise SandboxError("a sandboxed runner could not be stopped")
        try:
            stage = read_small_file(progress, 400).decode("utf-8", "replace")
        except PlainDataError:
            pass
        return RunResult(box_exit[0], killed, stage, time.monotonic() - start)
