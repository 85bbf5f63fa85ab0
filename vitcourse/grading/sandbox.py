"""The sandbox: student code runs in throw-away processes that the kernel confines.

Per package view the grader starts one
`bubblewrap <https://github.com/containers/bubblewrap>`_ container, and in it
a fork server (`vitcourse.grading.zygote`) that imports the libraries once.
Each submission (and each retry after a crash) is a fresh process forked
from that server:

- the container: new PID, mount, network, IPC and UTS namespaces (and a new
  user namespace that cannot make further ones when the grader is not
  root); ``--die-with-parent``; a minimal read-only root: ``/usr`` (system
  libraries), the Python installation, the installed packages, and a
  stripped copy of the course package (`build_package`) without
  ``vitcourse.checks``, the grader, the course tools, and the modules that
  hold the answers of the exercise being graded. No course checkout, no
  ``solutions/``, no ``/etc``, no home, no network;
- each job: new mount, PID, IPC, network and UTS namespaces of its own (it is
  PID 1 there, so no daemon outlives it), a private size-capped ``tmpfs`` on
  ``/tmp`` (the working folder) and ``/dev/shm``, ``/proc`` hidden, every
  capability dropped and ``no_new_privs``; as root it runs as the
  unprivileged ``nobody`` (uid 65534), otherwise as the grader's user inside
  the user namespace;
- resource limits set before any student code runs, which it cannot raise:
  address space, CPU seconds, file size, open files, processes (as
  ``nobody``), no core files.

The job goes in on stdin and the results come back on a pipe
(`vitcourse.grading.child`), so the trusted parent never opens a path the
child can write. The parent's own clock bounds each stage and the whole
submission. Where bubblewrap cannot run (macOS, Windows, no ``bwrap``) the
grader refuses unless the instructor passes ``--unsafe-no-isolation``; then
the same fork server runs as a plain subprocess, its jobs without
namespaces, and the gradebook says so.
"""

from __future__ import annotations

import ast
import compileall
import itertools
import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .child import Decoder, WireError, read_frame

__all__ = [
    "Isolation",
    "IsolationUnavailable",
    "Limits",
    "Outcome",
    "Sandbox",
    "SandboxFactory",
    "build_package",
    "probe_isolation",
    "TOOLING",
]

#: Parts of the course package that never enter the sandbox: the checks (they hold the reference answers),
#: the grader, and the course tools.
TOOLING = ("checks", "grading", "site.py", "browser.py", "cli.py", "notebooks.py", "templates", "__main__.py")
#: Capabilities the fork server keeps inside its container, and every job drops before it starts.
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETPCAP")


class IsolationUnavailable(RuntimeError):
    """Kernel isolation (bubblewrap) cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Isolation:
    kernel: bool
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class Limits:
    memory_mb: int = 3072  # address space on top of the imported libraries
    cpu_seconds: int = 600
    file_mb: int = 64  # largest file the child may write (its tmpfs is capped too)
    tmpfs_mb: int = 256
    open_files: int = 256
    processes: int = 256  # threads count too; enforced for the unprivileged uid only


@dataclass
class Outcome:
    frames: list = field(default_factory=list)  # decoded frames, in order
    exit_code: int | None = None
    killed: str | None = None  # "timeout", "protocol" (bad frames), or None
    stage: str = "start"
    stderr: str = ""
    seconds: float = 0.0
    protocol_error: str = ""
    server_error: str = ""  # the fork server ended before it could start the job: not the student's doing


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _site_dirs() -> list[str]:
    """Folders of installed packages outside the Python installation (a virtual environment's)."""
    dirs = []
    paths = sysconfig.get_paths()
    for key in ("purelib", "platlib"):
        dirs.append(paths[key])
    try:
        dirs += site.getsitepackages()
    except AttributeError:
        pass
    base = os.path.realpath(sys.base_prefix)
    out = []
    for d in dirs:
        d = os.path.realpath(d)
        if os.path.isdir(d) and not d.startswith(base + os.sep) and d not in out:
            out.append(d)
    return out


def _bound_dirs() -> list[str]:
    base = os.path.realpath(sys.base_prefix)
    return ([] if base == "/usr" or base.startswith("/usr/") else [base]) + _site_dirs()


def probe_isolation(*, allow_unsafe: bool = False) -> Isolation:
    """Kernel isolation if bubblewrap runs here; else `IsolationUnavailable` (or "none" when allowed)."""
    why = None
    bwrap = _bwrap_path()
    if not sys.platform.startswith("linux"):
        why = f"the grader's sandbox needs Linux (this is {sys.platform}); run the grader in a Linux VM or WSL 2"
    elif bwrap is None:
        why = (
            "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: dnf install "
            "bubblewrap)"
        )
    else:
        argv = _bwrap_argv(bwrap, "/", [], probe=True) + ["/usr/bin/true"]
        try:
            r = subprocess.run(argv, capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
            if r.returncode != 0:
                why = (
                    f"bubblewrap could not start a sandbox here: {r.stderr.decode(errors='replace').strip()[:300]} "
                    f"(unprivileged user namespaces may be disabled: see docs/grading.md)"
                )
        except (OSError, subprocess.TimeoutExpired) as e:
            why = f"bubblewrap could not start a sandbox here: {e}"
    if why is None:
        who = "uid 65534 (nobody), no capabilities" if os.geteuid() == 0 else f"uid {os.getuid()} in a user namespace"
        return Isolation(
            True, f"kernel (bubblewrap: PID, mount, network, IPC namespaces; read-only minimal root; {who})"
        )
    if allow_unsafe:
        return Isolation(False, f"none (--unsafe-no-isolation: {why})")
    raise IsolationUnavailable(
        f"cannot grade safely: {why}. To grade anyway on a machine you do not mind "
        f"students' code running on as you, pass --unsafe-no-isolation."
    )


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def _bwrap_argv(bwrap: str, pkg_dir: str, binds: list[str], *, tmpfs_mb: int = 256, probe: bool = False) -> list[str]:
    root = os.geteuid() == 0
    argv = [bwrap, "--die-with-parent", "--new-session"]
    if root:
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        argv += ["--cap-drop", "ALL"]
    else:
        argv += ["--unshare-all", "--unshare-user", "--disable-userns"]
    # the fork server keeps what it needs to give each job its own namespaces and mounts and then drop to
    # nothing (`vitcourse.grading.zygote`); as root, the uid change to nobody too
    for cap in ZYGOTE_CAPS + (("CAP_SETUID", "CAP_SETGID", "CAP_KILL") if root else ()):
        argv += ["--cap-add", cap]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("lib", "lib64", "bin", "sbin", "lib32"):
        target = os.path.join("/", link)
        if os.path.islink(target) and os.readlink(target).lstrip("/").startswith("usr/"):
            argv += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target) and not os.path.islink(target):
            argv += ["--ro-bind", target, target]
    argv += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(tmpfs_mb * 2**20),
        "--tmpfs",
        "/tmp",
        "--chdir",
        "/tmp",
    ]
    if probe:
        return argv + ["--remount-ro", "/", "--"]
    made = set()
    for d in binds:
        for a in _ancestors(d):
            if a not in made and not a.startswith("/usr/") and a != "/usr":
                argv += ["--perms", "0755", "--dir", a]
                made.add(a)
        argv += ["--ro-bind", d, d]
        installed = os.path.join(d, "vitcourse")
        if os.path.isdir(installed):  # an installed copy of the course package (with its checks): hide it
            argv += ["--tmpfs", installed]
    argv += ["--perms", "0755", "--dir", "/opt", "--ro-bind", pkg_dir, "/opt/vitcourse"]
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--"]
    return argv


# ----------------------------------------------------------------------------- the stripped package


def _lazy_init(source: str, absent: set[str]) -> str:
    """The sandbox's ``vitcourse/__init__.py``: the same public names, each imported on first use."""
    names: dict[str, str] = {}
    version = "0"
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for a in node.names:
                names[a.asname or a.name] = node.module
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            version = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_MODULES" for t in node.targets
        ):  # the package's lazy re-export table
            for module, exported in ast.literal_eval(node.value):
                names.update(dict.fromkeys(exported.split(), module.lstrip(".")))
    return f'''"""The course package as the grader's sandbox holds it: modules are imported on first use."""
import importlib

__version__ = {version!r}
_NAMES = {names!r}
_ABSENT = {sorted(absent)!r}


def __getattr__(name):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'vitcourse' has no attribute {{name!r}}")
    if module.split(".")[0] in _ABSENT:
        raise ImportError(f"vitcourse.{{module}} is not available while this exercise is graded: the task asks "
                          f"you to write {{name}} yourself")
    return getattr(importlib.import_module("." + module, __name__), name)


def __dir__():
    return sorted(_NAMES)
'''


def build_package(dest: str | os.PathLike, absent=(), *, source: str | os.PathLike | None = None) -> Path:
    """Copy the course package to ``dest/vitcourse`` without its tooling and without the ``absent`` modules.

    ``absent`` names top-level modules or subpackages (``"attention"``,
    ``"detr"``) that hold the answers of the exercise being graded: they are
    left out of the copy, not patched. Also writes the sandbox's runner,
    ``dest/vcgrade_child.py``. Everything is world-readable and nothing is
    compiled (the sandbox runs with ``-B``).
    """
    import vitcourse

    src = Path(source) if source is not None else Path(vitcourse.__file__).parent
    dest = Path(dest)
    pkg = dest / "vitcourse"
    skip = set(TOOLING) | {f"{m}.py" for m in absent} | set(absent)

    def ignore(folder, names):
        top = Path(folder) == src
        return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".so.tmp")) or (top and n in skip)]

    shutil.copytree(src, pkg, ignore=ignore)
    (pkg / "__init__.py").write_text(_lazy_init((src / "__init__.py").read_text(), set(absent)))
    shutil.copy(Path(__file__).with_name("child.py"), dest / "vcgrade_child.py")
    shutil.copy(Path(__file__).with_name("zygote.py"), dest / "vcgrade_zygote.py")
    # Byte-code compiled once here, on the trusted side: every sandbox (read-only, `python -B`) then loads the
    # .pyc files instead of compiling the package again at each start.
    compileall.compile_dir(str(pkg), quiet=1, workers=1)
    for p in [dest, *dest.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return pkg


# ----------------------------------------------------------------------------- one sandboxed run


def child_env() -> dict:
    """The environment of every sandboxed child: minimal, CPU only, single-threaded."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "",
        "VITCOURSE_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp",
        "TQDM_DISABLE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "VITCOURSE_LANG": os.environ.get("VITCOURSE_LANG", ""),
    }


def rlimits(lim: Limits) -> dict:
    """The resource limits of every job, set before any student code runs (hard limits: no way back up)."""
    out = {
        "RLIMIT_CORE": 0,
        "RLIMIT_FSIZE": lim.file_mb * 2**20,
        "RLIMIT_NOFILE": lim.open_files,
        "RLIMIT_CPU": lim.cpu_seconds,
        "RLIMIT_AS": (lim.memory_mb + 4096) * 2**20,  # + what the imported libraries reserve
    }
    if os.geteuid() == 0:
        out["RLIMIT_NPROC"] = lim.processes  # counted for the unprivileged uid (nobody)
    return out


def _keep_head(stream, into: bytearray, limit: int = 8192) -> None:
    """Read ``stream`` to its end, keeping its first ``limit`` bytes in ``into`` (error output of a sandbox)."""
    try:
        while b := stream.read(4096):
            if len(into) < limit:
                into += b[: limit - len(into)]
    except (OSError, ValueError):
        pass


class _Job:
    """One job forked by a `Zygote`: the part of a process that `Sandbox` uses (stdin, stderr, poll, kill,
    wait, returncode)."""

    def __init__(self, zygote: Zygote, jid: str, stdin: int, stderr: int):
        self.zygote, self.jid = zygote, jid
        self.stdin = os.fdopen(stdin, "wb")
        self.stderr = os.fdopen(stderr, "rb")
        self.returncode: int | None = None
        self._done = threading.Event()

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        if not self._done.is_set():
            self.zygote.send(f"kill {self.jid}")

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"sandbox job {self.jid}", timeout or 0.0)
        return self.returncode


class Zygote:
    """A started fork server (`vitcourse.grading.zygote`) in its own sandbox: one per package view per run.

    It imports the libraries once; `fork` gives each job a fresh process of its own (new namespaces, no
    privileges, its own ``/tmp``), forked from a server that never runs student code.
    """

    def __init__(self, argv: list[str], *, config: dict, site_dirs: list[str], env: dict, cwd: str):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            argv + [str(theirs.fileno()), json.dumps(config), *site_dirs],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(theirs.fileno(),),
            env=env,
            start_new_session=True,
            close_fds=True,
            cwd=cwd,
        )
        theirs.close()
        self._sock = ours
        self._send_lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._ids = itertools.count()
        self.ready = threading.Event()
        self.dead = False
        self.stderr = bytearray()
        threading.Thread(target=self._read_replies, daemon=True).start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def ended(self, timeout: float) -> bool:
        """Whether the server's process has ended (waiting up to ``timeout``), its error output read."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        self._err_reader.join(timeout)
        return True

    def _read_err(self) -> None:
        _keep_head(self.proc.stderr, self.stderr)

    def _read_replies(self) -> None:
        try:
            while msg := self._sock.recv(256):
                words = msg.decode("ascii", "replace").split()
                if words == ["ready"]:
                    self.ready.set()
                elif len(words) == 3 and words[0] == "exit":
                    with self._send_lock:
                        job = self._jobs.pop(words[1], None)
                    if job is not None:
                        job.exited(int(words[2]))
        except (OSError, ValueError):
            pass
        with self._send_lock:
            self.dead = True
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:  # the server is gone, and its jobs with it (PR_SET_PDEATHSIG)
            job.exited(-signal.SIGKILL)

    def send(self, message: str, fds: tuple[int, ...] = ()) -> None:
        with self._send_lock:
            if not self.dead:
                try:
                    socket.send_fds(self._sock, [message.encode()], list(fds))
                except OSError:
                    pass

    def fork(self) -> tuple[_Job, int]:
        """A new job: its process handle, and the read end of its results pipe."""
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        err_r, err_w = os.pipe()
        with self._send_lock:
            jid = str(next(self._ids))
            job = self._jobs[jid] = _Job(self, jid, job_w, err_r)
        try:
            self.send(f"run {jid}", (job_r, res_w, err_w))
        finally:
            for fd in (job_r, res_w, err_w):
                os.close(fd)
        with self._send_lock:
            if self.dead:
                self._jobs.pop(jid, None)
                job.exited(-signal.SIGKILL)
        return job, res_r

    def close(self) -> None:
        """End the server and every job it forked."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for how in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                how()
            except (OSError, ProcessLookupError):
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._sock.close()


class Sandbox:
    """One job in a sandbox (one submission, or one retry); `run` sends the job and collects the frames."""

    def __init__(self, proc, frames: int, *, limits: Limits, max_bytes: int, max_elements: int):
        self.limits = limits
        self.decoder = Decoder(max_bytes=max_bytes, max_elements=max_elements)
        self.max_frame = max_bytes
        self._r = frames
        self.started = time.monotonic()
        self.proc = proc
        self._stderr = bytearray()
        self._frames: list = []
        self._cond = threading.Condition()
        self._eof = False
        self._error = ""
        threading.Thread(target=self._read_err, daemon=True).start()
        threading.Thread(target=self._read_frames, daemon=True).start()

    def _rlimits(self) -> dict:
        lim = self.limits
        out = {
            "RLIMIT_CORE": 0,
            "RLIMIT_FSIZE": lim.file_mb * 2**20,
            "RLIMIT_NOFILE": lim.open_files,
            "RLIMIT_CPU": lim.cpu_seconds,
        }
        out["RLIMIT_AS"] = (lim.memory_mb + 4096) * 2**20  # + what the imported libraries reserve
        if os.geteuid() == 0:
            out["RLIMIT_NPROC"] = lim.processes  # counted for the unprivileged uid (nobody)
        return out

    def _read_err(self) -> None:
        _keep_head(self.proc.stderr, self._stderr)

    def _read_frames(self) -> None:
        try:
            while True:
                payload = read_frame(self._r, self.max_frame)
                if payload is None:
                    break
                value = self.decoder.decode(payload)
                if type(value) is not dict or type(value.get("t")) is not str:
                    raise WireError("a frame is not a message")
                with self._cond:
                    self._frames.append(value)
                    self._cond.notify_all()
        except (WireError, OSError, MemoryError) as e:
            self._error = str(e)[:300]
        finally:
            try:
                os.close(self._r)
            except OSError:
                pass
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def kill(self) -> None:
        self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def run(
        self, job: dict, *, stage_limit, total_limit: float, start_limit: float = 120.0, grace: float = 3.0
    ) -> Outcome:
        """Send ``job``; wait (parent's clock) until the child is done, dies, or runs out of time."""
        from .child import encode

        out = Outcome()
        start = time.monotonic()
        killed = None
        # 1. wait until the libraries are imported ("ready")
        with self._cond:
            while not self._eof and not self._frames and time.monotonic() - self.started < start_limit:
                self._cond.wait(0.05)
            ready = bool(self._frames) and self._frames[0].get("t") == "ready"
        if not ready:
            killed = "timeout" if not self._eof else None
            zygote = getattr(self.proc, "zygote", None)
            if isinstance(zygote, Zygote) and self._eof and not zygote.ready.is_set() and zygote.ended(5.0):
                tail = bytes(zygote.stderr).decode("utf-8", "replace").strip().splitlines()[-3:]
                out.server_error = (
                    f"the sandbox's fork server ended before it was ready (exit {zygote.proc.poll()}): "
                    + (" | ".join(tail) or "no message")
                )[:600]
        else:
            payload = encode(job)
            stdin = self.proc.stdin
            assert stdin is not None  # Popen(stdin=PIPE)
            try:
                stdin.write(len(payload).to_bytes(4, "big") + payload)
                stdin.close()
            except (OSError, ValueError):
                pass
            job_start = time.monotonic()
            stage, stage_start, seen = "start", job_start, 1
            while True:
                with self._cond:
                    if not self._eof and len(self._frames) == seen:
                        self._cond.wait(0.05)
                    new = self._frames[seen:]
                    seen = len(self._frames)
                    eof = self._eof
                for f in new:
                    if f.get("t") == "stage" and type(f.get("stage")) is str:
                        stage, stage_start = f["stage"][:200], time.monotonic()
                if eof:
                    break
                now = time.monotonic()
                if now - stage_start > stage_limit(stage) + grace or now - job_start > total_limit:
                    killed = "timeout"
                    break
            out.stage = stage
            if eof and killed is None:  # the results pipe closed: let the process end by itself first
                try:
                    self.proc.wait(2)
                except subprocess.TimeoutExpired:
                    pass
        if self._error:
            killed = killed or "protocol"
            out.protocol_error = self._error
        self.kill()
        out.exit_code = self.proc.returncode
        out.killed = killed
        with self._cond:
            out.frames = list(self._frames)
        out.stderr = bytes(self._stderr).decode("utf-8", "replace")
        out.seconds = time.monotonic() - start
        return out


class SandboxFactory:
    """Starts sandboxes for one grading run: builds the package copies and one fork server per package view."""

    def __init__(
        self, isolation: Isolation, limits: Limits, *, max_bytes: int = 64 * 2**20, max_elements: int = 16 * 2**20
    ):
        self.isolation = isolation
        self.limits = limits
        self.max_bytes, self.max_elements = max_bytes, max_elements
        self.pub = tempfile.mkdtemp(prefix="vitcourse-sandbox-")
        os.chmod(self.pub, 0o755)
        self._pkgs: dict[tuple, str] = {}
        self._lock = threading.Lock()
        self._binds = _bound_dirs()
        self._zygotes: dict[tuple, Zygote] = {}
        self._closed = False
        # Fork servers are started by one thread that lives as long as the factory: bubblewrap's
        # --die-with-parent kills a sandbox when the *thread* that started it ends, and grading threads end
        # with their pool.
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="vitcourse-sandboxes")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            zygotes = list(self._zygotes.values())
            self._zygotes.clear()
        for z in zygotes:
            z.close()
        self._starter.shutdown(wait=True)
        shutil.rmtree(self.pub, ignore_errors=True)

    def package(self, absent=()) -> str:
        key = tuple(sorted(set(absent)))
        with self._lock:
            if key not in self._pkgs:
                d = os.path.join(self.pub, "pkg-" + ("-".join(key) or "all"))
                build_package(d, key)
                self._pkgs[key] = d
            return self._pkgs[key]

    def zygote(self, absent=()) -> Zygote:
        """The fork server for this package view, started on first use (and again if it died).

        Starting one costs an interpreter and the import of PyTorch (most of a short grading run); every job of the
        run is then a fork of it. Call it early to have the imports done by the time the first job comes.
        """
        key = tuple(sorted(set(absent)))
        pkg = self.package(key)
        with self._lock:
            if self._closed:
                raise RuntimeError("this SandboxFactory is closed")
            z = self._zygotes.get(key)
            if z is None or z.dead:
                z = self._zygotes[key] = self._starter.submit(self._spawn, pkg).result()
            return z

    def start(self, absent=()) -> Sandbox:
        """A fresh sandboxed process without the ``absent`` modules, ready for one job.

        Every job is a new process forked from the package view's server: it shares nothing with the jobs
        before it, and the server has run nothing but its imports (`vitcourse.grading.zygote`).
        """
        job, frames = self.zygote(absent).fork()
        return Sandbox(job, frames, limits=self.limits, max_bytes=self.max_bytes, max_elements=self.max_elements)

    def _spawn(self, pkg: str) -> Zygote:
        python = os.path.realpath(sys.executable)
        config = {
            "isolate": self.isolation.kernel,
            "root": os.geteuid() == 0,
            "limits": rlimits(self.limits),
            "tmpfs_bytes": self.limits.tmpfs_mb * 2**20,
            "under_tmp": [d for d in self._binds if d.startswith("/tmp/")],
        }
        if self.isolation.kernel:
            inside = "/opt/vitcourse"
            bwrap = _bwrap_path()
            assert bwrap is not None  # kernel isolation: probe_isolation found and ran bubblewrap
            argv = _bwrap_argv(bwrap, pkg, self._binds, tmpfs_mb=self.limits.tmpfs_mb)
            cwd = "/"
        else:
            inside = pkg
            argv = []
            cwd = config["workdir"] = tempfile.mkdtemp(prefix="work-", dir=self.pub)
        config.update(package=inside, child=f"{inside}/vcgrade_child.py")
        argv += [python, "-I", "-B", f"{inside}/vcgrade_zygote.py"]
        return Zygote(argv, config=config, site_dirs=_site_dirs(), env=child_env(), cwd=cwd)

    def site_args(self) -> list[str]:
        return list(self._binds)
