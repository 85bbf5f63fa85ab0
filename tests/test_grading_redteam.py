"""Red team: one test per class of attack a student tried on the grader (docs/grading.md, threat model).

Each test builds the attack as a student would hand it in, grades it, and
asserts: no unearned point, no process left behind, no file changed outside
the submission's private ``/tmp``, and (where it applies) the grader's memory
under a stated cap. Correct solutions still get full marks
(`test_grading.py::test_every_solution_scores_full_marks`).
"""
from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from grading_attacks import solution_submission, student_version
from sandbox_available import needs_sandbox
from vitcourse.grading import Grader, discover
from vitcourse.grading.gradebook import csv_cell, write_csv, write_feedback
from vitcourse.notebooks import ROOT

pytestmark = needs_sandbox

WARMUP = ROOT / "solutions" / "00_warmup.ipynb"
ATTENTION = ROOT / "solutions" / "01_attention.ipynb"
RIGHT_RELU = "def relu(x):\n    return x.clamp(min=0)\n"
WRONG_RELU = "def relu(x):\n    return x.abs()\n"
# Switch the sandbox's audit hook off from an answer cell (through the frames, as the red team did), so the
# attacks below meet the kernel alone.
HOOK_OFF = (
    "import sys\n"
    "_f = sys._getframe()\n"
    "while _f is not None and 'hook' not in _f.f_locals:\n"
    "    _f = _f.f_back\n"
    "if _f is not None:\n"
    "    _g = _f.f_locals['hook'].__globals__\n"
    "    _g['_REFUSED'].clear(); _g['_REFUSED_IMPORTS'].clear(); _g['_WRITE_FLAGS'] = 0\n"
)
# Stronger: give the hook a body that does nothing (its code object swapped), so ctypes works too.
HOOK_GONE = HOOK_OFF + (
    "    _h = _f.f_locals['hook']\n"
    "    _v = _h.__code__.co_freevars\n"
    "    _src = ('def _outer():\\n    ' + ''.join(v + ' = ' for v in _v) + 'None\\n'\n"
    "            '    def hook(event, args):\\n        ' + ''.join(v + '; ' for v in _v) + 'return None\\n'\n"
    "            '    return hook\\n')\n"
    "    _ns = {}\n"
    "    exec(_src, _ns)\n"
    "    _h.__code__ = _ns['_outer']().__code__\n"
)


@pytest.fixture(scope="module")
def grader():
    with Grader(seed=2027, timeout=5.0) as g:
        yield g


def _grade(g, tmp_path, data, *, name="mallory", exercise="00_warmup"):
    path = tmp_path / f"{name}_{exercise}.ipynb"
    path.write_bytes(data if isinstance(data, bytes) else __import__("nbformat").writes(data).encode())
    [sub] = discover([path])
    return {r.task: r for r in g.grade(sub)}


def _processes_named(name: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() == name:
                    found.append(int(p.name))
            except OSError:
                pass
    return found


# ----------------------------------------------------------------------------- 1. daemons and the audit hook


def test_a_daemon_with_the_hook_switched_off_dies_with_its_submission(grader, tmp_path):
    token = secrets.token_hex(3)
    targets = [str(ROOT / "vitcourse" / "checks" / f"poison_{token}.py"), f"/tmp/vc-poison-{token}",
               str(Path.home() / f"vc-poison-{token}"), str(tmp_path / f"poison-{token}")]
    daemon = (HOOK_OFF + "import os, time\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    if os.fork() == 0:\n"
              f"        open('/proc/self/comm', 'w').write('vcd{token}')\n"
              "        for _ in range(150):\n"
              f"            for t in {targets!r}:\n"
              "                try:\n"
              "                    fd = os.open(t, os.O_WRONLY | os.O_CREAT, 0o644); os.write(fd, b'x'); os.close(fd)\n"
              "                except OSError:\n"
              "                    pass\n"
              "            time.sleep(0.1)\n"
              "    os._exit(0)\n" + WRONG_RELU)
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": daemon}))
    assert rows["test_relu"].points == 0
    time.sleep(1.0)
    assert _processes_named(f"vcd{token}") == [], "a process of the submission outlived it"
    assert not [t for t in targets if os.path.exists(t)], "the submission wrote outside its sandbox"


def test_a_job_that_leaves_its_group_and_clears_its_death_signal_still_dies_when_it_times_out(grader, tmp_path):
    token = secrets.token_hex(3)
    stubborn = (HOOK_GONE + "import ctypes, os, signal, time\n"
                "_libc = ctypes.CDLL(None)\n"
                f"_libc.prctl(15, b'vcs{token}', 0, 0, 0)  # PR_SET_NAME, seen from outside\n"
                "_libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG 0: survive the keeper\n"
                "os.setsid()  # leave the keeper's process group\n"
                "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                "while True:\n"
                "    try:\n"
                "        time.sleep(0.05)\n"
                "    except BaseException:\n"
                "        pass\n")
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": stubborn}))
    assert rows["test_relu"].points == 0
    time.sleep(1.0)
    assert _processes_named(f"vcs{token}") == [], "a timed-out job outlived its kill"


# ----------------------------------------------------------------------------- 2. files outside the sandbox


def test_root_only_files_and_the_course_checkout_are_not_in_the_sandbox(grader, tmp_path):
    probe = (HOOK_OFF + "import os\n"
             "_seen = []\n"
             f"for _p in ['/etc/shadow', {str(ROOT / 'solutions' / '00_warmup.ipynb')!r}, {str(ROOT)!r},\n"
             f"           {str(Path.home())!r}, '/etc/passwd']:\n"
             "    try:\n"
             "        _fd = os.open(_p, os.O_RDONLY); os.read(_fd, 1); _seen.append(_p)\n"
             "    except OSError:\n"
             "        pass\n"
             "def relu(x):\n"
             "    # right only if something outside the sandbox could be read\n"
             "    return x.clamp(min=0) if _seen else x.abs()\n")
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": probe}))
    assert rows["test_relu"].points == 0 and rows["test_relu"].status == "failed", rows["test_relu"]
    # writes, relative to a directory descriptor or not, fail too
    writer = (HOOK_OFF + "import os\n"
              f"_d = os.open({str(ROOT / 'vitcourse')!r} if os.path.isdir({str(ROOT / 'vitcourse')!r}) else '/usr', "
              "os.O_RDONLY)\n"
              "try:\n"
              "    os.open('dirfd-poison', os.O_WRONLY | os.O_CREAT, dir_fd=_d)\n"
              "except OSError:\n"
              "    pass\n" + WRONG_RELU)
    _grade(grader, tmp_path, student_version(WARMUP, {"relu": writer}))
    assert not (ROOT / "vitcourse" / "dirfd-poison").exists() and not Path("/usr/dirfd-poison").exists()


# ----------------------------------------------------------------------------- 3. processes and signals


def test_signals_pidfd_and_ptrace_cannot_reach_the_grader(grader, tmp_path):
    me = os.getpid()
    attack = (HOOK_GONE + "import os, signal, ctypes\n"
              "for _pid in [p for p in range(1, 64) if p != os.getpid()]:\n"
              "    try:\n"
              "        os.kill(_pid, signal.SIGKILL)\n"
              "    except OSError:\n"
              "        pass\n"
              "_libc = ctypes.CDLL(None, use_errno=True)\n"
              f"_fd = _libc.syscall(434, {me}, 0)  # pidfd_open(the grader)\n"
              "if _fd >= 0:\n"
              "    _libc.syscall(424, _fd, 9, None, 0)  # pidfd_send_signal(SIGKILL)\n"
              f"_libc.ptrace(16, {me}, None, None)  # PTRACE_ATTACH\n" + WRONG_RELU)
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": attack}))
    assert rows["test_relu"].points == 0
    # the grader and the rest of the submission were untouched: row_normalize was graded and passed (its points
    # are withheld for review, since the top-level attack code is flagged against every task)
    r = rows["test_row_normalize"]
    assert (r.status, r.pending_points) == ("flagged", 2), r


# What a job could leave for the jobs after it (all forked from one server per package view) or do to the ones
# beside it: marks in every writable place, undone mounts, module state, signals to every process, a daemon.
_LEAVE = (HOOK_GONE + "import builtins, ctypes, os, signal, time, torch\n"
          "_libc = ctypes.CDLL(None, use_errno=True)\n"
          "for _p in ('/tmp/vc-mark', '/dev/shm/vc-mark', 'vc-mark', '/vc-mark', '/dev/vc-mark', '/opt/vc-mark'):\n"
          "    try:\n"
          "        open(_p, 'w').write('x')\n"
          "    except OSError:\n"
          "        pass\n"
          "for _m in (b'/proc', b'/tmp', b'/dev/shm'):\n"
          "    _libc.umount2(_m, 2)\n"
          "if _libc.unshare(0x10000000 | 0x20000) == 0:  # a user namespace of its own, then unmount there\n"
          "    for _m in (b'/proc', b'/tmp', b'/dev/shm'):\n"
          "        _libc.umount2(_m, 2)\n"
          "builtins.vc_mark = 1\n"
          "torch.nn.functional.relu = lambda *a, **k: 'poisoned'\n"
          "for _pid in [p for p in range(1, 4096) if p != os.getpid()]:  # PID 1 too: the job's init\n"
          "    try:\n"
          "        os.kill(_pid, signal.SIGKILL)\n"
          "    except OSError:\n"
          "        pass\n"
          "if os.fork() == 0:\n"
          "    os.setsid()\n"
          "    for _ in range(40):\n"
          "        for _p in ('/tmp/vc-mark', '/dev/shm/vc-mark'):\n"
          "            try:\n"
          "                open(_p, 'w').write('x')\n"
          "            except OSError:\n"
          "                pass\n"
          "        time.sleep(0.1)\n"
          "    os._exit(0)\n")
# Right only if something of an earlier job is seen (or this job is not alone, or not PID 1 of its namespace).
_FIND = ("import builtins, os, torch\n"
         "def _seen():\n"
         "    marks = [p for p in ('/tmp/vc-mark', '/dev/shm/vc-mark', 'vc-mark', '/vc-mark', '/dev/vc-mark',\n"
         "                         '/opt/vc-mark') if os.path.exists(p)]\n"
         "    others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]\n"
         "    return marks or others or hasattr(builtins, 'vc_mark') or os.getpid() != 2 or \\\n"
         "        torch.nn.functional.relu(torch.ones(1)) == 'poisoned'\n"
         "def relu(x):\n"
         "    return x.clamp(min=0) if _seen() else x.abs()\n")


def test_a_submission_leaves_nothing_for_the_next_one_through_the_shared_fork_server(grader, tmp_path):
    server = grader.factory.zygote(())  # exercise 00 runs on the whole package
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": _LEAVE + WRONG_RELU}), name="first")
    assert rows["test_relu"].points == 0
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": _FIND}), name="second")
    assert (rows["test_relu"].points, rows["test_relu"].status) == (0, "failed"), rows["test_relu"]
    # the probe can see: in the submission that left the marks, it finds them
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": _LEAVE + _FIND}), name="control")
    assert rows["test_relu"].status in ("passed", "flagged") and rows["test_relu"].reason, rows["test_relu"]
    assert (rows["test_relu"].points or rows["test_relu"].pending_points) == 1, rows["test_relu"]
    # ...and one beside the attacker, graded at the same time, is untouched
    subs = tmp_path / "pair"
    subs.mkdir()
    (subs / "mallory_00_warmup.ipynb").write_bytes(__import__("nbformat").writes(
        student_version(WARMUP, {"relu": _LEAVE + "import time\ntime.sleep(2)\n" + WRONG_RELU})).encode())
    (subs / "alice_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    rows = {(r.student, r.task): r for r in grader.grade_all(discover([subs]), jobs=2)}
    assert rows[("alice", "test_relu")].points == 1 and rows[("alice", "test_row_normalize")].points == 2, rows
    assert rows[("mallory", "test_relu")].points == 0
    assert grader.factory.zygote(()) is server and server.proc.poll() is None  # the server was never reached


def test_every_job_starts_without_privileges_in_namespaces_of_its_own(grader):
    """What each forked job is, seen from inside with the audit hook gone (`vitcourse.grading.zygote`)."""
    import json

    probe = (HOOK_GONE + "import ctypes, json, os\n"
             "_libc = ctypes.CDLL(None, use_errno=True)\n"
             "_hdr, _caps = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()\n"
             "_libc.capget(_hdr, _caps)\n"
             "def _write(p):\n"
             "    try:\n"
             "        open(p, 'w').close()\n"
             "        return 0\n"
             "    except OSError as e:\n"
             "        return e.errno\n"
             "_r = {'caps': list(_caps), 'uid': os.getresuid(), 'pid': os.getpid(), 'proc': os.listdir('/proc'),\n"
             "      'tmp': os.listdir('/tmp'), 'cwd': os.getcwd(), 'no_new_privs': _libc.prctl(39, 0, 0, 0, 0),\n"
             "      'writes': [_write(p) for p in ('/x', '/dev/x', '/opt/x', '/opt/vitcourse/x', '/tmp/x', '/dev/shm/x')],\n"
             "      'umount': [_libc.umount2(m, 2) for m in (b'/proc', b'/tmp', b'/dev/shm', b'/')]}\n"
             "raise RuntimeError(json.dumps(_r))\n")
    seen = []
    for _ in range(2):  # the second job sees none of the first one's /tmp
        out = grader.factory.start(()).run({"sys_path": [], "cells": [[0, probe]], "cell_timeout": 30.0, "checks": {}},
                                           stage_limit=lambda stage: 30.0, total_limit=60.0)
        [err] = [f["error"] for f in out.frames if f["t"] == "cell_error"]
        seen.append(json.loads(err.split(": ", 1)[1]))
    for r in seen:
        assert r["caps"] == [0] * 6 and r["no_new_privs"] == 1, r
        assert r["uid"] == ([65534] * 3 if os.geteuid() == 0 else [os.getuid()] * 3), r
        # /tmp is fresh: nothing but the way to folders the container binds below /tmp (a CI checkout's venv)
        bound = sorted({d.split("/")[2] for d in grader.factory.site_args() if d.startswith("/tmp/")})
        assert r["pid"] == 2 and r["proc"] == [] and sorted(r["tmp"]) == bound and r["cwd"] == "/tmp", r
        assert r["writes"][:4] == [30] * 4 and r["writes"][4:] == [0, 0], r  # EROFS, but /tmp and /dev/shm
        assert r["umount"] == [-1] * 4, r


def test_a_symlink_planted_in_the_working_folder_is_never_followed(grader, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("intact")
    attack = ("import os\n"
              "for _n in ('job.json', 'progress', 'violations.log', 'res', 'output.txt'):\n"
              "    try:\n"
              f"        os.symlink({str(victim)!r}, _n)\n"
              "    except OSError:\n"
              "        pass\n" + WRONG_RELU)
    for _ in range(2):  # a retry reuses nothing either
        rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": attack}))
    assert victim.read_text() == "intact" and rows["test_relu"].points == 0


def test_a_hand_in_that_is_a_link_a_device_or_a_pipe_is_refused_unread(grader, tmp_path):
    """A link in a shared hand-in folder to the instructor's solutions would earn full marks if followed."""
    from vitcourse.grading.grader import SubmissionRefused, read_submission

    links = {"01_attention": ROOT / "solutions" / "01_attention.ipynb", "00_warmup": Path("/dev/zero")}
    for exercise, target in links.items():
        folder = tmp_path / exercise / "mallory"
        folder.mkdir(parents=True)
        (folder / f"{exercise}.ipynb").symlink_to(target)
        [sub] = discover([tmp_path / exercise])
        rows = grader.grade(sub)
        assert rows and all(r.points == 0 and r.status == "error" for r in rows), rows
        assert "symbolic link" in rows[0].reason
    fifo = tmp_path / "00_warmup.ipynb"
    os.mkfifo(fifo)  # no writer: a grader that opened it blocking would wait forever
    with pytest.raises(SubmissionRefused, match="not a regular file"):
        read_submission(fifo)
    big = tmp_path / "big.ipynb"
    big.write_bytes(b"x" * 101)
    with pytest.raises(SubmissionRefused, match="larger than 100 bytes"):
        read_submission(big, limit=100)
    big.write_bytes(b"x" * 100)
    assert read_submission(big, limit=100) == b"x" * 100


def test_notebooks_nested_past_any_parser_limit_are_errors_and_grading_goes_on(grader, tmp_path):
    """JSON nested 200,000 deep, or a cell of 50,000 nested parentheses, must not crash the grader (a
    RecursionError escaping would end the run for the whole class): an error row, then the next submission."""
    import nbformat

    deep = b'{"nbformat": 4, "cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    rows = _grade(grader, tmp_path, deep, name="deep")
    assert rows and all(r.points == 0 and r.status == "error" for r in rows.values()), rows
    assert "not a readable notebook" in next(iter(rows.values())).reason
    nb = student_version(WARMUP, {"relu": RIGHT_RELU})
    nb.cells.insert(1, nbformat.v4.new_code_cell("x = " + "(" * 50_000 + "1" + ")" * 50_000))
    rows = _grade(grader, tmp_path, nb, name="parens")
    assert rows["test_relu"].points == rows["test_relu"].max_points, rows  # the answer cell still counts
    nb = student_version(WARMUP, {"relu": RIGHT_RELU})
    rows = _grade(grader, tmp_path, nb, name="after")
    assert rows["test_relu"].points == rows["test_relu"].max_points, rows


# ----------------------------------------------------------------------------- 4. amplification


def test_results_that_amplify_in_memory_are_refused_and_the_grader_stays_small(tmp_path):
    """A frame claiming a huge array, and a flood of frames, end the run; the grader's peak memory stays capped."""
    flood = (HOOK_OFF + "import os, struct, json, base64\n"
             "_big = base64.b64encode(bytes(8 * 2**20)).decode()\n"
             "_frame = json.dumps({'t': 'result', 'check': '00.relu', 'cases': [\n"
             "    {'status': 'ok', 'out': {'__nd__': ['float64', [2**20], _big]}}] * 8}).encode()\n"
             "for _ in range(64):\n"
             "    os.write(3, struct.pack('>I', len(_frame)) + _frame)\n" + WRONG_RELU)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "mallory_00_warmup.ipynb").write_bytes(
        __import__("nbformat").writes(student_version(WARMUP, {"relu": flood})).encode())
    cmd = [sys.executable, "-m", "vitcourse.cli", "grade", str(subs), "--out", str(tmp_path / "gb.csv"), "-q",
           "--timeout", "10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read().decode()[-2000:]
    rows = list(csv.DictReader((tmp_path / "gb.csv").read_text().splitlines()))
    assert all(float(r["points"]) == 0 for r in rows), rows
    assert "refuses" in rows[0]["reason"] or "crashed" in rows[0]["status"], rows[0]
    peak_mb = usage.ru_maxrss / 1024
    assert peak_mb < 1500, f"the grader peaked at {peak_mb:.0f} MB (cap 1500 MB: 64 MB of results plus libraries)"


# ----------------------------------------------------------------------------- 5. full marks without the work


def test_every_form_of_delegation_earns_nothing(grader, tmp_path):
    forms = {
        "package": ("from vitcourse.attention import scaled_dot_product_attention as _s\n"
                    "import torch\n"
                    "def softmax(x, tau=1.0):\n    return torch.softmax(x / tau, -1)\n"),
        "checks_reference": ("import numpy as np, torch\n"
                             "def softmax(x, tau=1.0):\n"
                             "    from vitcourse.checks.ex01 import softmax_np\n"
                             "    return torch.from_numpy(softmax_np(x.numpy(), tau)).float()\n"),
        "alias": "import torch\nsm = torch.softmax\ndef softmax(x, tau=1.0):\n    return sm(x / tau, dim=-1)\n",
        "getattr": ("import torch.nn.functional as F\n"
                    "def softmax(x, tau=1.0):\n    return getattr(F, 'softmax')(x / tau, -1)\n"),
        "importlib": ("import importlib\n"
                      "def softmax(x, tau=1.0):\n"
                      "    return importlib.import_module('torch.nn.functional').softmax(x / tau, -1)\n"),
        "method": "def softmax(x, tau=1.0):\n    return (x / tau).softmax(-1)\n",
        "computed": ("import torch\n"
                     "def softmax(x, tau=1.0):\n    return getattr(torch, 'soft' + 'max')(x / tau, -1)\n"),
    }
    for name, code in forms.items():
        rows = _grade(grader, tmp_path, student_version(ATTENTION, {"softmax": code}), name=name,
                      exercise="01_attention")
        r = rows["test_softmax"]
        assert r.points == 0, (name, r.status, r.reason)
        assert r.status in ("flagged", "error"), (name, r.status, r.reason)
        assert r.flags or r.status == "error", (name, r)


def test_a_model_that_is_not_the_required_architecture_earns_nothing(grader, tmp_path):
    knn = ("import torch\n"
           "class _NearestNeighbour(torch.nn.Module):\n"
           "    def __init__(self, x, y):\n"
           "        super().__init__()\n"
           "        self.register_buffer('x', x.flatten(1)); self.register_buffer('y', y)\n"
           "    def forward(self, q):\n"
           "        d = torch.cdist(q.flatten(1), self.x)\n"
           "        return torch.nn.functional.one_hot(self.y[d.argmin(1)], 10).float()\n"
           "def train_vit(x_train, y_train):\n"
           "    return _NearestNeighbour(x_train, y_train)\n")
    rows = _grade(grader, tmp_path, student_version(ROOT / "solutions" / "06_vision_transformer.ipynb",
                                                    {"train_vit": knn}), exercise="06_vision_transformer")
    r = rows["test_train_vit"]
    assert r.points == 0 and r.status == "error" and "config" in r.reason, r


# ----------------------------------------------------------------------------- 6. time


def test_padding_cells_cannot_stretch_the_time_limit(tmp_path):
    nb = student_version(WARMUP, {"relu": "def relu(x):\n    while True:\n        pass\n"})
    nbformat = __import__("nbformat")
    for _ in range(200):
        nb.cells.insert(0, nbformat.v4.new_code_cell("while True:\n    pass\n"))
    with Grader(timeout=0.5) as g:
        ex = g.exercise("00")
        budget = g.budget(ex, ["00.relu", "00.row_normalize"], 0.5)
        assert budget == g.budget(ex, ["00.relu", "00.row_normalize"], 0.5)  # the submission plays no part
        start = time.monotonic()
        rows = _grade(g, tmp_path, nb)
        elapsed = time.monotonic() - start
    assert elapsed < budget + 20, (elapsed, budget)  # 200 looping cells would need 100 s of cell time
    assert all(r.points == 0 for r in rows.values())


# ----------------------------------------------------------------------------- 7. leaks and flags


def test_runtime_flags_cannot_be_erased(grader, tmp_path):
    code = ("import os\n"
            "try:\n    open('/opt/vitcourse/x', 'w')\nexcept OSError:\n    pass\n"  # blocked and reported at once
            + HOOK_OFF +
            "for _p in ('violations.log', '/tmp/violations.log'):\n"
            "    try:\n        open(_p, 'w').close()\n    except OSError:\n        pass\n" + RIGHT_RELU)
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": code}))
    r = rows["test_relu"]
    assert r.status == "flagged" and r.points == 0 and r.pending_points == 1, r
    assert "runtime: tried to write /opt/vitcourse/x" in r.flags


def test_hidden_inputs_do_not_leak_through_error_messages(grader, tmp_path):
    from vitcourse.checks import get_check

    visible = {tuple(inputs["x"].shape) for _, inputs in get_check("00.relu").cases(hidden=False)}
    leak = ("def relu(x):\n"
            f"    if tuple(x.shape) not in {visible!r}:  # a hidden case: raise with its inputs in the message\n"
            "        raise type('Leak' + '_'.join(map(str, x.shape)), (Exception,), {})(str(x.tolist()))\n"
            "    return x.clamp(min=0)\n")
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": leak}))
    r = rows["test_relu"]
    assert r.points == 0 and "Leak" not in r.reason and "[" not in r.reason, r.reason


def test_visible_error_text_is_one_line_and_truncated(grader, tmp_path):
    noisy = "def relu(x):\n    raise ValueError('=1+1\\n' + 'x' * 5000)\n"
    r = _grade(grader, tmp_path, student_version(WARMUP, {"relu": noisy}))["test_relu"]
    assert "\n" not in r.reason and len(r.reason) <= 300, r.reason


def test_an_honest_load_digits_call_is_not_flagged(tmp_path):
    # its own grader with a generous cell limit: reading the digits takes seconds on a busy machine, and this
    # test is about flags, not time (the shared grader's 5 s limit made it fail at load average 15)
    code = "from vitcourse import load_digits\n_d = load_digits()\n" + RIGHT_RELU
    with Grader(seed=2027, timeout=120.0) as g:
        r = _grade(g, tmp_path, student_version(WARMUP, {"relu": code}))["test_relu"]
    assert (r.status, r.points, r.flags) == ("passed", 1, ""), r


# ----------------------------------------------------------------------------- 8. the gradebook


def test_the_folder_names_the_student_and_a_second_copy_is_a_conflict(grader, tmp_path):
    subs = tmp_path / "subs"
    (subs / "mallory").mkdir(parents=True)
    (subs / "mallory" / "alice_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    (subs / "bob").mkdir()
    (subs / "bob" / "00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    (subs / "bob_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    found = {(s.student, s.path.name) for s in discover([subs])}
    assert ("mallory", "alice_00_warmup.ipynb") in found and not any(s == "alice" for s, _ in found)
    rows = grader.grade_all(discover([subs]), jobs=2)
    bob = [r for r in rows if r.student == "bob"]
    assert sum(r.max_points for r in bob) == 3 and sum(r.points for r in bob) == 0, bob  # counted once, as errors
    assert all(r.status == "error" and "2 submissions" in r.reason for r in bob)
    assert sum(r.points for r in rows if r.student == "mallory") == 3


def test_gradebook_cells_cannot_be_formulas():
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for start in "=+-@\t\r":
        assert csv_cell(start + "1").startswith("'")
    assert csv_cell("alice") == "alice" and csv_cell(3) == 3


def test_formula_student_ids_are_escaped_and_read_back(tmp_path):
    from vitcourse.grading import read_gradebook
    from vitcourse.grading.grader import Row

    rows = [Row("=cmd|' /C calc'!A0", "00_warmup", "test_relu", 0, 1, "failed", "-1 is wrong")]
    write_csv(rows, tmp_path / "gb.csv")
    raw = (tmp_path / "gb.csv").read_text()
    assert "\n'=cmd" in raw and ",'-1 is wrong" in raw
    back = read_gradebook(tmp_path / "gb.csv")
    assert back[0]["student"] == "=cmd|' /C calc'!A0" and back[0]["reason"] == "-1 is wrong"


def test_similar_unicode_names_get_separate_feedback_and_one_spelling_is_one_student(tmp_path):
    from vitcourse.grading.grader import Row

    rows = [Row(name, "00_warmup", "test_relu", 1, 1, "passed", "ok") for name in ("josé", "josè", "jos_")]
    paths = write_feedback(rows, tmp_path / "fb")
    assert len({p.parent for p in paths}) == 3 and all(p.exists() for p in paths)
    assert all(p.parent.parent == tmp_path / "fb" for p in paths)  # nothing escapes the feedback folder
    subs = tmp_path / "subs"
    subs.mkdir()
    for form in ("NFC", "NFD"):
        (subs / f"{unicodedata.normalize(form, 'josé')}_00_warmup.ipynb").write_bytes(b"{}")
    names = {s.student for s in discover([subs])}
    assert len(list(subs.iterdir())) == 1 or names == {unicodedata.normalize("NFC", "josé")}


def test_sigterm_keeps_finished_rows_and_leaves_nothing_behind(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    (subs / "bob_00_warmup.ipynb").write_bytes(solution_submission(WARMUP))
    slow = student_version(WARMUP, {"relu": "import time\ndef relu(x):\n    time.sleep(600)\n"})
    (subs / "zed_00_warmup.ipynb").write_bytes(__import__("nbformat").writes(slow).encode())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "vitcourse.cli", "grade", str(subs), "--out",
                             str(tmp_path / "gb.csv"), "--timeout", "300"], stderr=subprocess.PIPE, env=env,
                            text=True)
    seen = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith("[2/3]"):
            break
    time.sleep(2.0)  # zed's sandbox is running now
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    rows = list(csv.DictReader((tmp_path / "gb.csv").read_text().splitlines()))
    assert {r["student"] for r in rows} == {"alice", "bob"} and sum(float(r["points"]) for r in rows) == 6
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())  # no temporary folder with student code left
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp) not in out  # no sandbox of this run is still alive


# ----------------------------------------------------------------------------- 9. what the namespaces leave shared


def test_a_job_that_leaves_its_keepers_group_and_clears_its_death_signal_dies_with_its_submission(grader, tmp_path):
    """The server ended a job by killing its keeper's process group, and the job by its parent-death signal:
    a job can leave the one (setsid) and clear the other (prctl), and then lived, with everything it started,
    until the end of the grading run (spinning at full speed beside every later submission)."""
    token = secrets.token_hex(3)
    attack = (HOOK_GONE + "import ctypes, os, time\n"
              "_libc = ctypes.CDLL(None, use_errno=True)\n"
              "if os.fork() != 0:  # PID 1 stays behind; its child finishes the grading\n"
              "    _libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none\n"
              "    os.setsid()\n"
              "    for _fd in (0, 2, 3):\n"
              "        os.close(_fd)\n"
              f"    _libc.prctl(15, b'vcs{token}', 0, 0, 0)  # PR_SET_NAME\n"
              "    while True:\n"
              "        time.sleep(0.2)\n" + RIGHT_RELU)
    rows = _grade(grader, tmp_path, student_version(WARMUP, {"relu": attack}))
    assert rows["test_relu"].points == 0
    time.sleep(1.0)
    assert _processes_named(f"vcs{token}") == [], "a process of the submission outlived it"


def _keyctl():
    """The key management calls (add_key, keyctl) through ctypes, or None where this test cannot make them."""
    import ctypes
    import platform

    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(platform.machine())
    if numbers is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc, numbers


def test_kernel_keyrings_are_out_of_reach(tmp_path):
    """Keyrings are in none of the job's namespaces: a job kept the grader's session keyring (the instructor's
    login one, pam_keyinit's, with whatever credentials are in it) and could read and write it, as nobody too;
    and all jobs as nobody share one user keyring that outlives the grading run: one submission left its answer
    there, and the next one used it (its flags could be kept off its graded function)."""
    kc = _keyctl()
    if kc is None:
        pytest.skip("no key management call numbers for this machine")
    libc, (add_key, keyctl) = kc
    if libc.syscall(keyctl, 1, None) < 0:  # KEYCTL_JOIN_SESSION_KEYRING: the instructor's login session keyring
        pytest.skip("no kernel keyrings here")
    token = secrets.token_hex(3)
    secret = f"s3cret-{token}".encode()
    assert libc.syscall(add_key, b"user", f"vc-secret-{token}".encode(), secret, len(secret), -3) > 0  # @s
    calls = {"x86_64": (248, 250), "aarch64": (217, 219)}  # the same, inside the sandbox
    reach = (HOOK_GONE + "import ctypes, platform\n"
             "_libc = ctypes.CDLL(None, use_errno=True)\n"
             "_libc.syscall.restype = ctypes.c_long\n"
             f"_add, _ctl = {calls!r}[platform.machine()]\n"
             "def _read(ring, desc):\n"
             "    kid = _libc.syscall(_ctl, 10, ring, b'user', desc, 0)  # KEYCTL_SEARCH\n"
             "    buf = ctypes.create_string_buffer(256)\n"
             "    n = _libc.syscall(_ctl, 11, kid, buf, 256) if kid > 0 else -1  # KEYCTL_READ\n"
             "    return buf.raw[:n] if n > 0 else b''\n"
             f"_seen = _read(-3, b'vc-secret-{token}') + _read(-4, b'vc-left-{token}')\n"
             f"_libc.syscall(_add, b'user', b'vc-planted-{token}', b'x', 1, -3)\n"
             f"_libc.syscall(_add, b'user', b'vc-left-{token}', b'x', 1, -4)  # @u, for the next submission\n"
             "def relu(x):\n"
             "    # right only if a keyring outside the job was read\n"
             "    return x.clamp(min=0) if _seen else x.abs()\n")
    with Grader(seed=2027, timeout=5.0) as g:  # started after the session keyring was made, as it would be
        for name in ("first", "second"):
            rows = _grade(g, tmp_path, student_version(WARMUP, {"relu": reach}), name=name)
            assert (rows["test_relu"].points, rows["test_relu"].status) == (0, "failed"), (name, rows["test_relu"])
    assert libc.syscall(keyctl, 10, -3, b"user", f"vc-planted-{token}".encode(), 0) < 0, "a job wrote the keyring"


def test_jobs_graded_side_by_side_share_no_terminal(grader, tmp_path):
    """The container's /dev/pts was one devpts for every job: a pty one job opened, the job beside it could
    open and read (and write)."""
    token = secrets.token_hex(3)
    writer = (HOOK_OFF + "import os, time\n"
              "_m, _s = os.openpty()\n"
              f"os.write(_m, b'{token}\\n')\n"
              "time.sleep(4)\n" + WRONG_RELU)
    reader = (HOOK_OFF + "import os, time\n"
              "_seen = b''\n"
              "for _ in range(30):\n"
              "    for _p in os.listdir('/dev/pts'):\n"
              "        if _p.isdigit():\n"
              "            try:\n"
              "                _fd = os.open('/dev/pts/' + _p, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)\n"
              "                _seen += os.read(_fd, 64)\n"
              "            except OSError:\n"
              "                pass\n"
              "    if _seen:\n"
              "        break\n"
              "    time.sleep(0.1)\n"
              "def relu(x):\n"
              "    # right only if the other job's terminal was read\n"
              f"    return x.clamp(min=0) if b'{token}' in _seen else x.abs()\n")
    subs = tmp_path / "pty"
    subs.mkdir()
    for name, code in (("mallory", writer), ("eve", reader)):
        (subs / f"{name}_00_warmup.ipynb").write_bytes(
            __import__("nbformat").writes(student_version(WARMUP, {"relu": code})).encode())
    rows = {(r.student, r.task): r for r in grader.grade_all(discover([subs]), jobs=2)}
    r = rows[("eve", "test_relu")]
    assert (r.points, r.status) == (0, "failed"), r


def test_code_that_runs_before_the_checks_is_flagged_against_every_task(grader, tmp_path):
    """A flag inside a top-level function counted only against the tasks whose graded function used it: the
    same code run from top-level code (a helper called there, a class body, a default value, ``locals()``)
    counted against none, so a submission could switch the audit hook off, use ctypes (e.g. read an answer
    another submission left in a keyring) and keep every point unflagged."""
    from vitcourse.grading.flags import find_flags, flags_for_targets

    hidden = {
        "called": "def _setup():\n    import ctypes\n_r = _setup()\n",
        "class_body": "class _C:\n    import ctypes\n",
        "default": "def _f(_=__import__('ctypes')):\n    pass\n",
        "locals": "def _setup():\n    import ctypes\nlocals()['_setup']()\n",
        "decorator": "def _d(f):\n    import ctypes\n    return f\n@_d\ndef _g():\n    pass\n",
    }
    for name, cell in hidden.items():
        flags, uses = find_flags([(0, cell), (1, "def row_normalize(x):\n    return x\n")], {"row_normalize"})
        assert flags_for_targets(flags, uses, ["row_normalize"]), name
    # a helper that only the graded function uses still counts against its task alone (and one never called,
    # against none)
    flags, uses = find_flags([(0, "def _h():\n    import ctypes\ndef _unused():\n    import pickle\n"
                                  "def relu(x):\n    return _h()\ndef row_normalize(x):\n    return x\n")],
                             {"relu", "row_normalize"})
    assert [f.message for f in flags_for_targets(flags, uses, ["relu"])] == ["imports ctypes (raw memory and C calls)"]
    assert flags_for_targets(flags, uses, ["row_normalize"]) == []
    # end to end: the audit hook switched off from a helper, the answer right: withheld for review
    import textwrap

    attack = ("def _setup():\n" + textwrap.indent(HOOK_GONE + "import ctypes\n", "    ") + "_setup()\n" + RIGHT_RELU)
    r = _grade(grader, tmp_path, student_version(WARMUP, {"relu": attack}))["test_relu"]
    assert (r.status, r.points, r.pending_points) == ("flagged", 0, 1), r
