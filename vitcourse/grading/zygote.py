"""The sandbox's fork server: imports the libraries once, then forks one fresh process per submission.

This file is copied into the sandbox (as ``vcgrade_zygote.py``) and run
there as a script, inside the bubblewrap container that
`vitcourse.grading.sandbox` starts. Importing PyTorch costs far more CPU than
grading a short exercise; paid once per container instead of once per
submission, it no longer dominates a grading run (`benchmarks/README.md`).
The server itself never runs student code and never reads a job: it only
forks.

For each job the parent sends ``run ID`` on the control socket with three
file descriptors (the job's stdin, the results pipe, stderr). The server
forks a *keeper*, which

1. starts a new session and dies with the server (``PR_SET_PDEATHSIG``);
2. with kernel isolation: enters new mount, PID, IPC, network and UTS
   namespaces, mounts a fresh size-capped ``tmpfs`` on ``/tmp`` and
   ``/dev/shm``, a ``devpts`` of its own on ``/dev/pts`` and an empty
   read-only ``tmpfs`` over ``/proc`` (the container's ``/proc`` would show
   the server and the other jobs), then gives up every
   privilege: as root it becomes ``nobody``; it drops every capability
   (bounding, ambient, permitted, effective, inheritable) and checks that
   none is left, or the job ends before any student code runs; a seccomp
   filter refuses the kernel's key management calls (`deny_keyrings`);
3. forks the namespace's *init* (PID 1 of the new PID namespace; it dies
   with the keeper and, like any PID 1, cannot be signalled from inside its
   namespace), which forks the *job process*: it sets the resource limits
   and runs `vitcourse.grading.child` (the same program a fresh interpreter
   used to run) with the job's descriptors as 0, 2 and 3.

The keeper and the init wait for their child and exit with its status; the
server reports ``exit ID CODE`` to the parent. ``kill ID`` kills a keeper,
and with it (``PR_SET_PDEATHSIG``) the init: when a namespace's PID 1 ends,
the kernel kills every process in it, whatever the job did to its own
process group or parent-death signal, so nothing a job starts outlives it.
Every job therefore starts from the same state, the server's, which no job
can change: jobs are separate processes that cannot see the server or each
other (PID namespaces, hidden ``/proc``), cannot write anything another job
reads (read-only root, private ``/tmp`` and ``/dev/shm``), and, without
capabilities, cannot undo their mounts.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import random
import resource
import select
import signal
import socket
import sys
import tempfile

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1,
    2,
    4,
    8,
    4096,
    8192,
    1 << 14,
    1 << 18,
)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_VERSION_3 = 0x20080522
NOBODY = 65534
FAILED = 125  # the keeper's exit code when it could not set up the job (the reason is on the job's stderr)

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode() or None), f"mount {target}"
    )


def drop_privileges(root: bool) -> None:
    """Give up every privilege for good: uid ``nobody`` as root, no capabilities in any set, no_new_privs."""
    for cap in range(64):  # the bounding set first: it needs CAP_SETPCAP, which goes last
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap} from the bounding set")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear the ambient capabilities")
    if root:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.capget(header, data), "capget")
    if any(data) or (root and (os.getresuid() != (NOBODY,) * 3 or os.getresgid() != (NOBODY,) * 3)):
        raise OSError(errno.EPERM, f"privileges left after dropping them: capabilities {list(data)}")


#: Per architecture: AUDIT_ARCH_*, seccomp, and the kernel's key management calls (add_key, request_key, keyctl).
_KEY_SYSCALLS = {"x86_64": (0xC000003E, 317, 248, 249, 250), "aarch64": (0xC00000B7, 277, 217, 218, 219)}
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1, 4


def deny_keyrings() -> None:
    """Refuse the key management calls (``EPERM``) from here on, for good (a seccomp filter, after no_new_privs).

    Keyrings are in none of the job's namespaces: every process keeps the session keyring it was started with
    (the grader's, the instructor's login one, with whatever credentials it holds) and may read and write it
    even as ``nobody``; and every job as ``nobody`` shares one user keyring that outlives the grading run, so
    one submission could leave something there for the next one, or for the next run.
    """
    machine = os.uname().machine
    if machine not in _KEY_SYSCALLS:
        raise OSError(errno.ENOSYS, f"no seccomp filter for the key management calls on {machine}")
    arch, seccomp, *calls = _KEY_SYSCALLS[machine]
    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06
    deny = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO
    prog = [
        (ld_w_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq_k, 0, 6, arch),  # another ABI (i386 through int 0x80): denied whole
        (ld_w_abs, 0, 0, 0),  # seccomp_data.nr
        (jge_k, 4, 0, 0x40000000 if machine == "x86_64" else 0xFFFFFFFF),  # x32 calls: denied whole
        (jeq_k, 3, 0, calls[0]),
        (jeq_k, 2, 0, calls[1]),
        (jeq_k, 1, 0, calls[2]),
        (ret_k, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
        (ret_k, 0, 0, deny),
    ]

    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

    insns = (Insn * len(prog))(*[Insn(*i) for i in prog])
    fprog = Prog(len(prog), insns)
    # SPEC_ALLOW: without it the kernel turns on its speculation mitigations for every filtered process, which
    # made forks in a job about 6x slower (the job's own timing side channels are not defended anyway)
    _check(
        _libc.syscall(seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, ctypes.byref(fprog)),
        "seccomp (key management)",
    )


def isolate(tmpfs_bytes: int, under_tmp: list[str]) -> None:
    """New namespaces for this job, its own /tmp and /dev/shm, /proc hidden (before privileges are dropped).

    ``under_tmp``: folders the container binds below ``/tmp`` (a virtual environment made there, as a CI
    checkout's is): bound again, read-only as before, into the job's fresh ``/tmp``, or whatever the job
    imports from them after the server's imports (a lazily loaded submodule, a library only one exercise
    uses) would be gone.
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS), "unshare namespaces")
    _mount("none", "/", "", MS_REC | MS_PRIVATE)
    # the new /tmp is made on /proc (hidden below anyway), filled while the old /tmp is still visible, then moved
    _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmpfs_bytes},mode=1777")
    for folder in under_tmp:
        inside = os.path.join("/proc", os.path.relpath(folder, "/tmp"))
        os.makedirs(inside, mode=0o755, exist_ok=True)
        _mount(folder, inside, "", MS_BIND | MS_REC)
    _mount("/proc", "/tmp", "", MS_MOVE)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmpfs_bytes},mode=1777")
    # the container's /dev/pts is one devpts instance for every job: a pty one job opens, another could open
    # and read (a channel between submissions graded side by side). Each job gets an instance of its own.
    _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    _mount("tmpfs", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4096,mode=555")


def _die_with_parent(alive) -> None:
    """Be killed when the parent dies; end now if it already has (``alive()`` says whether it lives)."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG")
    if not alive():  # the parent died before the line above
        os._exit(FAILED)


def keeper(fds: list[int], config: dict, child_code, server: int) -> None:
    """The forked keeper of one job (never returns)."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        _die_with_parent(lambda: os.getppid() == server)
        job_in, results, err = fds
        os.dup2(err, 2)
        if config["isolate"]:
            isolate(config["tmpfs_bytes"], config["under_tmp"])
            work = "/tmp"
        else:
            work = tempfile.mkdtemp(prefix="job-", dir=config["workdir"])
        os.dup2(job_in, 0)
        os.dup2(results, 3)
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, 1)
        os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.chdir(work)
        if config["isolate"]:
            drop_privileges(config["root"])
            deny_keyrings()
            _die_with_parent(lambda: os.getppid() == server)  # a change of uid cleared it
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace by the job, whatever the uid change did
        # The namespace's PID 1 (the first fork after unshare) sees 0 as its parent's PID: it learns that the
        # keeper died from this pipe, whose only write end the keeper holds.
        lifeline, held = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(held)
            init(config, child_code, lifeline)
        for fd in (0, 3, lifeline):
            os.close(fd)
        os._exit(_wait(pid))
    except BaseException as e:  # noqa: BLE001 - whatever it is, no student code has run: report and end
        try:
            os.write(2, f"the sandbox could not set up the job: {e!r}\n".encode())
        finally:
            os._exit(FAILED)


def _wait(pid: int) -> int:
    """Wait for a child; its exit code, or 128 + the signal that ended it."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return FAILED
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def init(config: dict, child_code, lifeline: int) -> None:
    """PID 1 of the job's namespace (never returns): starts the job process and waits for it.

    When it ends, the kernel kills every process left in the namespace. It dies with the keeper, and it
    cannot be signalled from inside the namespace (the kernel drops signals to a namespace's PID 1 that it
    has no handler for) nor traced (not dumpable), so a job that leaves its process group or clears its own
    parent-death signal still ends when the grader kills its keeper.
    """
    try:
        _die_with_parent(lambda: not select.select([lifeline], [], [], 0)[0])  # EOF: the keeper is gone
        os.close(lifeline)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            job(config, child_code, me)
        for fd in (0, 3):
            os.close(fd)
        os._exit(_wait(pid))
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(2, f"the sandbox could not start the job: {e!r}\n".encode())
        finally:
            os._exit(FAILED)


def job(config: dict, child_code, parent: int) -> None:
    """The job process: limits, fresh random state, then the child program (never returns)."""
    try:
        _die_with_parent(lambda: os.getppid() == parent)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for name, value in config["limits"].items():
            lim = getattr(resource, name)
            hard = resource.getrlimit(lim)[1]
            value = min(value, hard) if hard != resource.RLIM_INFINITY else value
            resource.setrlimit(lim, (value, value))
        random.seed()
        sys.argv = [config["child"]]
        exec(child_code, {"__name__": "__main__"})
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(2, f"the sandbox could not start the job: {e!r}\n".encode())
        finally:
            os._exit(FAILED)
    os._exit(0)


def serve(ctl: socket.socket, config: dict, child_code) -> None:
    """Fork a keeper per ``run`` request; report each exit; kill on ``kill``; end when the parent hangs up."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    jobs: dict[int, str] = {}  # keeper pid -> job id
    server = os.getpid()
    ctl.send(b"ready")
    while True:
        while jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            jid = jobs.pop(pid, None)
            if jid is not None:
                ctl.send(f"exit {jid} {os.waitstatus_to_exitcode(status)}".encode())
        readable, _, _ = select.select([ctl.fileno(), wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
        if ctl.fileno() not in readable:
            continue
        msg, fds, _, _ = socket.recv_fds(ctl, 256, 3)
        if not msg:
            break
        words = msg.decode("ascii", "replace").split()
        if words[:1] == ["run"] and len(words) == 2 and len(fds) == 3:
            pid = os.fork()
            if pid == 0:
                ctl.close()
                keeper(fds, config, child_code, server)
            jobs[pid] = words[1]
        elif words[:1] == ["kill"] and len(words) == 2:
            for pid, jid in jobs.items():
                if jid == words[1]:
                    _kill(pid)
        for fd in fds:
            os.close(fd)
    for pid in jobs:
        _kill(pid)


def _kill(keeper_pid: int) -> None:
    """Kill a keeper's process group: the keeper and, where there is no PID namespace, what its job started
    without leaving the group. The job process dies with its keeper (PR_SET_PDEATHSIG)."""
    for kill in (os.killpg, os.kill):  # the group may not exist yet: the keeper makes it first thing
        try:
            kill(keeper_pid, signal.SIGKILL)
        except OSError:  # already gone
            pass


def main() -> None:
    """``vcgrade_zygote.py CTL_FD CONFIG_JSON SITE_DIR...``: import the libraries, then `serve`."""
    ctl_fd, config, dirs = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:]
    import site

    for d in dirs:
        site.addsitedir(d)
    sys.path.insert(0, config["package"])
    os.chdir("/")
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    import numpy  # noqa: F401 - imported once here, for every job
    import torch

    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("Agg")
    import vitcourse.harness  # noqa: F401
    import vitcourse.plain  # noqa: F401

    for optional in ("einops", "matplotlib.pyplot"):
        try:
            __import__(optional)
        except ImportError:
            pass
    with open(config["child"]) as f:
        child_code = compile(f.read(), config["child"], "exec")
    if config["isolate"] and os.uname().machine not in _KEY_SYSCALLS:
        raise SystemExit(
            f"the grader's sandbox has no seccomp filter for {os.uname().machine} (it has for "
            f"{', '.join(sorted(_KEY_SYSCALLS))}): grade on one of those, or pass --unsafe-no-isolation"
        )
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:  # a fork keeps only the forking thread: a lock another one held would stay held
        raise SystemExit(f"the sandbox's fork server has {threads} threads after its imports (expected 1)")
    serve(socket.socket(fileno=ctl_fd), config, child_code)


if __name__ == "__main__":
    main()
