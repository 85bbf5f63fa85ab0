"""The library's lint and type check stay wired in: `make test` runs ruff and mypy, pinned in the test extra,
configured in pyproject.toml, and .pre-commit-config.yaml runs them from .venv (no download)."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from vitcourse.notebooks import ROOT

TOOLS = {"ruff check": "$(BIN)/ruff check vitcourse", "ruff format": "$(BIN)/ruff format --check vitcourse",
         "mypy": "$(BIN)/mypy"}


def recipe(makefile: str, target: str) -> list[str]:
    """The recipe lines of ``target`` (comments stripped); a ValueError if the Makefile has no such target."""
    lines = makefile.splitlines()
    starts = [i for i, ln in enumerate(lines) if re.match(rf"{re.escape(target)}\s*:(?!=)", ln)]
    if not starts:
        raise ValueError(f"the Makefile has no target {target!r}")
    out = []
    for ln in lines[starts[0] + 1:]:
        if not ln.startswith("\t"):
            break
        out.append(ln.split("#", 1)[0].strip())
    return out


def missing_tools(makefile: str) -> list[str]:
    """The tools of TOOLS that `make test` does not run (a line starting with the command, not ignored with -)."""
    lines = recipe(makefile, "test")
    return [name for name, command in TOOLS.items()
            if not any(ln == command or ln.startswith(command + " ") for ln in lines)]


def test_make_test_runs_ruff_and_mypy():
    assert missing_tools((ROOT / "Makefile").read_text()) == []


def test_missing_tools_fails_on_a_makefile_without_them():
    good = ("test: install\n\t$(BIN)/ruff check vitcourse   # lint\n\t$(BIN)/ruff format --check vitcourse\n"
            "\t$(BIN)/mypy   # types\n\t$(PY) -m pytest\n")
    assert missing_tools(good) == []
    assert missing_tools(good.replace("\t$(BIN)/mypy   # types\n", "")) == ["mypy"]
    assert missing_tools(good.replace("$(BIN)/ruff check vitcourse", "-$(BIN)/ruff check vitcourse")) == ["ruff check"]
    assert missing_tools(good.replace("\t$(BIN)/mypy", "\t# $(BIN)/mypy")) == ["mypy"]  # commented out
    assert missing_tools(good.replace("\t$(BIN)/ruff format --check vitcourse\n", "")) == ["ruff format"]
    assert missing_tools("test: install\n\t$(PY) -m pytest\nlint:\n\t$(BIN)/mypy\n") == ["ruff check", "ruff format",
                                                                                          "mypy"]
    with pytest.raises(ValueError, match="no target 'test'"):
        missing_tools("lint:\n\t$(BIN)/mypy\n")


def test_make_test_dry_run_shows_both_commands(tmp_path):
    out = subprocess.run(["make", "-n", "--no-print-directory", "test", f"VENV={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"{tmp_path}/bin/ruff check vitcourse" in out.stdout
    assert f"{tmp_path}/bin/mypy" in out.stdout
    assert f"{tmp_path}/bin/ruff format --check vitcourse" in out.stdout


def test_tools_are_pinned_and_configured():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    test_extra = project["project"]["optional-dependencies"]["test"]
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    for tool in ("ruff", "mypy"):
        pins = [d.split("#")[0].strip() for d in test_extra if re.match(rf"{tool}\s*==", d)]
        assert len(pins) == 1, f"the test extra must pin {tool} exactly (e.g. {tool}==X.Y.Z), got {test_extra}"
        assert pins[0].replace(" ", "") in constraints, f"{pins[0]} is not the version in constraints.txt"
    mypy = project["tool"]["mypy"]
    assert mypy["files"] == ["vitcourse"]
    # third-party packages without types are ignored one by one, never all at once
    assert "ignore_missing_imports" not in mypy
    for override in mypy.get("overrides", []):
        if override.get("ignore_missing_imports"):
            assert not any(m.startswith("vitcourse") for m in override["module"]), override


def test_pre_commit_runs_the_tools_from_the_project_environment():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in config["repos"] for h in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"]), "local hooks only: pre-commit downloads nothing"
    entries = {h["entry"] for h in hooks}
    assert entries == {".venv/bin/ruff check vitcourse", ".venv/bin/ruff format --check vitcourse", ".venv/bin/mypy"}
    assert all(h["language"] == "system" and h["pass_filenames"] is False for h in hooks)


# ----------------------------------------------------------------------------- dependencies: every import declared

def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def third_party_imports(package: Path, tooling: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Top-level third-party module -> how ``package`` imports it: "module-level" (when the library is imported),
    "lazy" (inside a function, or at module level of a tooling module: names in ``tooling``, which the library
    never imports)."""
    import ast

    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_tooling = path.relative_to(package).parts[0].removesuffix(".py") in tooling
        top = set() if is_tooling else {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                if root not in sys.stdlib_module_names and root != "vitcourse":
                    found.setdefault(root, set()).add("module-level" if id(node) in top else "lazy")
    return found


def undeclared(imports: dict[str, set[str]], core: set[str], extras: set[str], dists: dict) -> list[str]:
    """Imports whose distribution is not declared: module-level ones must be core dependencies (or PyTorch's own),
    lazy ones (inside a function) core or an extra."""
    out = []
    for module, how in sorted(imports.items()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        allowed = core if "module-level" in how else core | extras
        if not names & allowed:
            out.append(f"{module} ({', '.join(sorted(how))}) from {sorted(names)}")
    return out


def test_every_import_of_the_library_is_declared_and_jupyter_is_an_extra():
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for reqs in project["optional-dependencies"].values() for r in reqs if not r.startswith("vitcourse")}
    assert not core & {"jupyterlab", "jupyterlab-rise", "ipykernel", "ipywidgets", "nbconvert", "playwright"}, core
    assert {"jupyterlab", "jupyterlab-rise"} <= {_name(r) for r in project["optional-dependencies"]["lab"]}
    assert "vitcourse[lab,grade,hf,site]" in project["optional-dependencies"]["test"]
    # torch brings its own (typing_extensions, ...); they are not ours to declare
    from test_architecture import LAYERS

    imports = third_party_imports(ROOT / "vitcourse", tuple(LAYERS["tooling"]))
    assert undeclared(imports, core | {"typing-extensions"}, extras, packages_distributions()) == []


def test_an_undeclared_or_misplaced_import_is_reported():
    dists = {"sklearn": ["scikit-learn"], "ipywidgets": ["ipywidgets"]}
    core, extras = {"scikit-learn"}, {"ipywidgets"}
    assert undeclared({"sklearn": {"module-level"}, "ipywidgets": {"lazy"}}, core, extras, dists) == []
    assert undeclared({"ipywidgets": {"module-level"}}, core, extras, dists) == [
        "ipywidgets (module-level) from ['ipywidgets']"]
    assert undeclared({"leftpad": {"lazy"}}, core, extras, dists) == ["leftpad (lazy) from ['leftpad']"]
