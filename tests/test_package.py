"""The package's front door: `import vitcourse` is cheap, and every re-exported name resolves lazily."""
from __future__ import annotations

import subprocess
import sys

import pytest

import vitcourse

HEAVY = ("torch", "matplotlib", "nbformat", "scipy", "numpy")


def heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_probe_sees_a_heavy_import():  # the check below can fail
    assert "matplotlib" in heavy_modules_after("import matplotlib.pyplot")


CHEAP_IMPORTS = ["import vitcourse", "import vitcourse.cli", "import vitcourse.cli; vitcourse.__all__"]


@pytest.mark.parametrize("code", CHEAP_IMPORTS)
def test_importing_the_package_or_its_command_loads_no_heavy_library(code):
    assert heavy_modules_after(code) == []


def test_vitcourse_help_runs_without_torch_or_matplotlib():
    probe = ("import sys, contextlib, io\nfrom vitcourse.cli import main\n"
             "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'matplotlib'})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


@pytest.mark.parametrize("name", [n for n in vitcourse.__all__ if n != "__version__"])
def test_every_exported_name_resolves_to_the_module_that_defines_it(name):
    obj = getattr(vitcourse, name)
    assert obj.__module__ == "vitcourse" + vitcourse._EXPORTS[name], (name, obj.__module__)


def test_the_first_name_taken_registers_the_korean_font():
    probe = ("from vitcourse import seed_everything\nimport matplotlib.pyplot as plt\n"
             "print(plt.rcParams['font.family'][-1])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "NanumGothic"


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'ViTT'"):
        vitcourse.ViTT  # noqa: B018
    assert "ViT" in dir(vitcourse)


def test_the_grader_reads_every_exercise_without_nbformat_or_jsonschema():
    """nbformat's import pulls in jsonschema (over a second per process); the grader reads notebooks as JSON."""
    probe = ("from vitcourse.grading.exercise import exercise_ids, load_exercise\n"
             "[load_exercise(p) for p in exercise_ids().values()]\nimport vitcourse.cli\n"
             "import sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'nbformat', 'jsonschema'})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
    # the same probe sees nbformat as soon as something writes a notebook
    assert "nbformat" in heavy_modules_after("import vitcourse.notebooks as n; n.new_notebook([])")


def test_parse_notebook_joins_sources_and_refuses_what_is_not_a_v4_notebook():
    from vitcourse.notebooks import parse_notebook

    nb = parse_notebook('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
                        '"cells": [{"cell_type": "code", "source": ["a = 1\\n", "b = 2"], "metadata": {}}]}')
    assert nb.cells[0].source == "a = 1\nb = 2" and nb.cells[0].metadata == {}
    with pytest.raises(ValueError, match="not a version-4 Jupyter notebook.*nbformat 3.*save it again"):
        parse_notebook('{"nbformat": 3, "worksheets": []}')
    with pytest.raises(ValueError, match="nbformat None"):
        parse_notebook("[1, 2]")
