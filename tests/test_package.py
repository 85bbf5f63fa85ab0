"""The package's front door: `import vitcourse` is cheap, and every re-exported name resolves lazily."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import vitcourse

HEAVY = ("torch", "matplotlib", "nbformat", "scipy", "numpy")


def heavy_modules_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``heavy`` (top-level names) a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_probe_sees_a_heavy_import():  # the check below can fail
    assert "matplotlib" in heavy_modules_after("import matplotlib.pyplot")


CHEAP_IMPORTS = ["import vitcourse", "import vitcourse.cli", "import vitcourse.cli; vitcourse.__all__"]


@pytest.mark.parametrize("code", CHEAP_IMPORTS)
def test_importing_the_package_or_its_command_loads_no_heavy_library(code):
    assert heavy_modules_after(code) == []


def test_vitcourse_help_runs_without_torch_or_matplotlib():
    code = ("import contextlib, io\nfrom vitcourse.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])")
    assert heavy_modules_after(code, ("torch", "matplotlib")) == []


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
    code = ("from vitcourse.grading.exercise import exercise_ids, load_exercise\n"
            "[load_exercise(p) for p in exercise_ids().values()]\nimport vitcourse.cli")
    assert heavy_modules_after(code, ("nbformat", "jsonschema")) == []
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


def missing_from_wheel(names_in_wheel: set[str], package: Path) -> list[str]:
    """Files of the package source (non-Python ones included) that a wheel with ``names_in_wheel`` lacks."""
    want = {p.relative_to(package.parent).as_posix() for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".orig", ".rej"}}
    return sorted(want - names_in_wheel)


def test_missing_from_wheel_names_a_data_file_the_wheel_lacks(tmp_path):
    pkg = tmp_path / "vitcourse"
    (pkg / "figures").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "figures" / "labels_ko.json").write_text("{}")
    assert missing_from_wheel({"vitcourse/__init__.py"}, pkg) == ["vitcourse/figures/labels_ko.json"]


@pytest.mark.slow
def test_the_wheel_ships_every_package_file_and_works_outside_a_checkout(tmp_path):
    """`pip wheel .` (no download: the installed setuptools builds it) holds every file of vitcourse/ and nothing
    else; unpacked away from the checkout it imports, and `vitcourse grade` says it needs --solutions."""
    import shutil
    import zipfile

    root = Path(vitcourse.__file__).resolve().parents[1]
    src = tmp_path / "src"  # a copy: setuptools builds in the source tree (build/, *.egg-info)
    shutil.copytree(root / "vitcourse", src / "vitcourse", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, src / name)
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheel_dir), str(src)], check=True, capture_output=True, text=True)
    (wheel,) = wheel_dir.glob("vitcourse-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    assert missing_from_wheel(names, root / "vitcourse") == []
    assert not [n for n in names if not n.startswith(("vitcourse/", "vitcourse-"))]  # no tests, no fixtures
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(tmp_path / "site")}
    probe = ("import vitcourse, vitcourse.figures.korean as k; print(vitcourse.__file__); vitcourse.ViT; "
             "print(len(k.load_catalogue()) > 0)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(tmp_path / "site" / "vitcourse" / "__init__.py"), "True"]
    (tmp_path / "x.ipynb").write_text("{}")
    out = subprocess.run([sys.executable, "-m", "vitcourse.cli", "grade", "x.ipynb"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert out.returncode == 2 and "installed from a wheel" in out.stderr and "--solutions PATH" in out.stderr, \
        out.stderr[-2000:]


def test_grade_with_a_solutions_path_that_is_not_a_folder_says_which_and_what_to_give(tmp_path):
    (tmp_path / "x.ipynb").write_text("{}")
    out = subprocess.run([sys.executable, "-m", "vitcourse.cli", "grade", "x.ipynb", "--solutions", "nowhere"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "--solutions 'nowhere' is not a folder" in out.stderr, out.stderr[-2000:]


def test_the_grader_sandbox_exports_the_same_names_as_the_package():
    """The sandbox writes its own lazy __init__ from the package's table; a table it cannot read would leave a
    student's `from vitcourse import fit` failing only under grading."""
    from vitcourse.grading.sandbox import _lazy_init

    source = (Path(vitcourse.__file__)).read_text(encoding="utf-8")
    namespace: dict = {}
    exec(_lazy_init(source, {"vit"}), namespace)  # noqa: S102 - our own generated source
    assert set(namespace["_NAMES"]) == set(vitcourse.__all__) - {"__version__"}
    assert namespace["_NAMES"]["fit"] == "train"
    assert _lazy_init("__version__ = '1'\n", set()).count("_NAMES = {}") == 1  # the check above can fail
