"""Adversarial submissions that try to fool the grader (for its tests and benchmark).

Each builder returns the bytes of a submission made from the exercise as
handed out, the way a student would hand it in. `warmup_attacks` targets
exercise 00 (``relu``, ``row_normalize``); `generic_attacks` works on any
exercise by filling every ``raise NotImplementedError()`` with hostile code.
None of them may earn a point: the tests assert it.
"""
from __future__ import annotations

import copy
import os

import nbformat

from vitcourse.notebooks import ROOT, make_exercise

__all__ = ["student_version", "warmup_attacks", "generic_attacks", "solution_submission"]

_WRONG_RELU = "def relu(x):\n    return x.abs()\n"
_WRONG_ROWNORM = "def row_normalize(x):\n    return x / (x.sum() + 1)\n"
_NOT_IMPLEMENTED = "raise NotImplementedError()"


def _read(path):
    return nbformat.read(str(path), as_version=4)


def solution_submission(solution_path) -> bytes:
    """A student who solved everything: the exercise with the instructor's solution code filled in."""
    return _bytes(student_version(solution_path, {}))


def student_version(solution_path, code: dict[str, str], *, drop_tests: bool = False, edit_tests: str | None = None,
                    prepend: str | None = None, drop_solutions=(), strip_metadata=()):
    """The handed-out exercise with solution cells replaced by ``code`` (grade_id -> source).

    Solution cells not in ``code`` get the instructor's solution. Options
    delete or edit the test cells, insert a cell first, delete solution
    cells, or strip a solution cell's metadata.
    """
    sol = _read(solution_path)
    ex = make_exercise(sol, os.path.basename(str(solution_path)))
    cells = []
    for s_cell, cell in zip(sol.cells, ex.cells):
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if meta.get("solution"):
            if gid in drop_solutions:
                continue
            cell.source = code.get(gid, s_cell.source)
            if gid in strip_metadata:
                cell.metadata.pop("nbgrader", None)
        elif meta.get("grade"):
            if drop_tests:
                continue
            if edit_tests is not None:
                cell.source = edit_tests
        cells.append(cell)
    if prepend is not None:
        cells.insert(0, nbformat.v4.new_code_cell(prepend))
    ex.cells = cells
    return ex


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def warmup_attacks(solution_path=ROOT / "solutions" / "00_warmup.ipynb") -> dict[str, bytes]:
    """Named hostile submissions of exercise 00; every one must score 0 points."""
    wrong = {"relu": _WRONG_RELU, "row_normalize": _WRONG_ROWNORM}
    sol_dir = os.path.dirname(os.path.abspath(str(solution_path)))
    A: dict[str, object] = {}

    def v(code=None, **kw):
        return student_version(solution_path, {**wrong, **(code or {})}, **kw)

    A["patch_allclose"] = v(prepend=(
        "import numpy as np, torch, torch.testing\n"
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\ntorch.allclose = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\nnp.array_equal = lambda *a, **k: True\n"))
    A["patch_checks_module"] = v(prepend=(
        "import sys\nmod = sys.modules['vitcourse.checks']\nmod.compare_arrays = lambda *a, **k: []\n"
        "mod.Check.judge = lambda self, got, inputs: []\nmod.validate_output = lambda v, **k: v\n"))
    A["edited_test_cells"] = v(edit_tests="relu = lambda x: x\nprint('all tests passed')\n")
    A["deleted_test_cells"] = v(drop_tests=True)
    A["lying_eq"] = v({
        "relu": ("class Liar:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
                 "    def __array__(self, *a, **k):\n        import numpy as np\n        return np.zeros(1)\n"
                 "    shape = property(lambda self: (3, 4))\n"
                 "def relu(x):\n    return Liar()\n"),
        "row_normalize": ("import numpy as np\nclass LyingArray(np.ndarray):\n    def __eq__(self, o): return True\n"
                          "def row_normalize(x):\n    return np.zeros(tuple(x.shape)).view(LyingArray)\n")})
    A["lying_tensor_subclass"] = v({
        "relu": ("import torch\nclass T(torch.Tensor):\n    def __eq__(self, o): return True\n"
                 "def relu(x):\n    return torch.zeros_like(x).as_subclass(T)\n")})
    A["hardcoded_visible"] = v({
        "relu": ("import torch\nfrom vitcourse.checks import check\n"
                 "_SEEN = {}\n"
                 "def relu(x):\n    # memorised from the visible cases (their shapes): right there, wrong elsewhere\n"
                 "    if tuple(x.shape) in ((3, 4), (5,), (2, 3, 2)):\n"
                 "        return torch.where(x > 0, x, torch.zeros_like(x))\n"
                 "    return torch.zeros_like(x)\n"),
        "row_normalize": ("import torch\ndef row_normalize(x):\n    if tuple(x.shape) in ((4, 5), (6, 2), (2, 7)):\n"
                          "        s = x.sum(-1, keepdim=True)\n"
                          "        return torch.where(s > 0, x / s.clamp_min(1e-12), torch.zeros_like(x))\n"
                          "    return torch.ones_like(x)\n")})
    read_sol = (
        "import json, glob\n"
        "def _steal():\n"
        "    paths = glob.glob('/**/solutions/00_warmup.ipynb', recursive=True) + "
        f"[{os.path.join(sol_dir, '00_warmup.ipynb')!r}]\n"
        "    for p in paths:\n"
        "        try:\n"
        "            nb = json.load(open(p))\n"
        "        except Exception:\n"
        "            continue\n"
        "        ns = {}\n"
        "        for c in nb['cells']:\n"
        "            src = ''.join(c['source'])\n"
        "            if c['cell_type'] == 'code' and 'def ' in src:\n"
        "                exec('import torch\\n' + src, ns)\n"
        "        return ns\n"
        "    return {}\n"
        "def relu(x):\n    return _steal()['relu'](x)\n"
        "def row_normalize(x):\n    return _steal()['row_normalize'](x)\n")
    A["read_solutions"] = v({"relu": read_sol, "row_normalize": "pass\n"})
    A["read_solutions_native"] = v({
        "relu": ("import torch, os\n"
                 "def relu(x):\n"
                 f"    p = {os.path.join(sol_dir, '00_warmup.ipynb')!r}\n"
                 "    raw = torch.from_file(p, size=os.path.getsize(p), dtype=torch.uint8).numpy().tobytes()\n"
                 "    exec(raw.decode().split('### BEGIN SOLUTION')[0][:0] + 'pass')\n"
                 "    return x.clamp(min=0)\n")})
    A["list_other_dirs"] = v({
        "relu": ("import os\ndef relu(x):\n    os.listdir('/'); os.listdir(os.path.expanduser('~'))\n"
                 "    return x.abs()\n")})
    A["fake_results"] = v(prepend=(
        "import json, os\nos.makedirs('res', exist_ok=True)\n"
        "for name in ('00.relu', '00.row_normalize'):\n"
        "    json.dump({'cases': [{'status': 'ok', 'out': 0.0, 'passed': True}] * 8, 'score': 100},\n"
        "              open(f'res/{name}.json', 'w'))\n"
        "for target in ('/tmp/gradebook.csv', os.path.expanduser('~/gradebook.csv')):\n"
        "    try:\n        open(target, 'w').write('student,points\\nme,100\\n')\n"
        "    except OSError:\n        pass\n"
        "os._exit(0)\n"))
    A["sys_exit"] = v({"relu": "import sys\ndef relu(x):\n    sys.exit(0)\n"}, prepend="import sys\nsys.exit(0)\n")
    A["os_exit"] = v({"relu": "import os\ndef relu(x):\n    os._exit(0)\n"})
    A["infinite_loop"] = v({"relu": "def relu(x):\n    while True:\n        pass\n"})
    A["loop_ignoring_alarm"] = v({"relu": ("import signal, time\ndef relu(x):\n"
                                           "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                           "    while True:\n        try:\n            time.sleep(0.01)\n"
                                           "        except BaseException:\n            pass\n")})
    A["memory_hog"] = v({"relu": ("def relu(x):\n    hog = []\n    while True:\n"
                                  "        hog.append(bytearray(2**26))\n")})
    A["huge_output"] = v({"relu": ("import sys\ndef relu(x):\n    line = 'x' * 2**20\n"
                                   "    for _ in range(200):\n        print(line)\n"
                                   "    return x.abs()\n")})
    A["syntax_error"] = v({"relu": "def relu(x)\n    return x.clamp(min=0\n",
                           "row_normalize": "def row_normalize(x):\n  return x /// 2\n"})
    A["missing_cells"] = v(drop_solutions=("relu", "row_normalize"))
    A["ctypes_and_kill"] = v({"relu": ("import ctypes, os, signal\ndef relu(x):\n"
                                       "    try:\n        os.kill(os.getppid(), signal.SIGKILL)\n"
                                       "    except Exception:\n        pass\n"
                                       "    libc = ctypes.CDLL(None)\n    libc.kill(os.getppid(), 9)\n"
                                       "    return x.abs()\n")})
    A["ipython_hook"] = v(prepend=("ip = get_ipython()\n"
                                   "ip.set_custom_exc((Exception,), lambda *a, **k: None)\n"))
    A["builtins_patch"] = v(prepend=("import builtins\nbuiltins.isinstance = lambda *a: True\n"
                                     "builtins.type = lambda *a: list\n"))
    A["string_output"] = v({"relu": "def relu(x):\n    return 'passed'\n",
                            "row_normalize": "def row_normalize(x):\n    return {'passed': True}\n"})
    A["spawn_process"] = v({"relu": ("import subprocess\ndef relu(x):\n"
                                     "    out = subprocess.run(['cat', '/etc/hostname'], capture_output=True)\n"
                                     "    return x.abs()\n")})
    out = {k: _bytes(nb) for k, nb in A.items()}
    out["corrupted_file"] = b"\x00\x01not a notebook at all\xff" * 10
    out["not_a_notebook"] = b'{"hello": "world", "cells": 3}'
    out["empty_file"] = b""
    return out


def generic_attacks(solution_path) -> dict[str, bytes]:
    """Hostile versions of any exercise: every solution body filled with cheating code."""
    sol = _read(solution_path)
    liar = ("class _Liar:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
            "    def __bool__(self): return True\n")
    fills = {
        "patch_allclose_zeros": ("import numpy as np, torch\nnp.allclose = lambda *a, **k: True\n"
                                 "torch.allclose = lambda *a, **k: True\n"
                                 "torch.testing.assert_close = lambda *a, **k: None\n", "return 0.0"),
        "lying_eq": (liar, "return _Liar()"),
        "os_exit": ("import os\n", "os._exit(0)"),
        "read_solutions": ("import json\n",
                           f"json.load(open({os.path.abspath(str(solution_path))!r})); raise RuntimeError('read it')"),
    }
    out = {}
    for name, (header, body) in fills.items():
        nb = make_exercise(copy.deepcopy(sol), os.path.basename(str(solution_path)))
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution") and _NOT_IMPLEMENTED in cell.source:
                cell.source = header + cell.source.replace(_NOT_IMPLEMENTED, body)
        out[name] = _bytes(nb)
    return out
