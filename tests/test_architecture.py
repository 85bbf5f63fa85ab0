"""The package's layers (docs/architecture.md): the teaching library never reaches into the course tooling.

The import graph is read from the source with `ast` (imports inside functions included), so a lazy import
cannot hide a dependency. Every module must belong to a layer: a new module forces a decision here and in
docs/architecture.md.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vitcourse"
ARCHITECTURE_DOC = PACKAGE.parent / "docs" / "architecture.md"

# layer -> module name prefixes (relative to vitcourse); a module belongs to the first layer with a matching prefix
LAYERS = {
    "teaching": ["utils", "data", "plot", "attention", "positional", "blocks", "vit", "augment", "rollout", "vit_hf",
                 "mixer", "unet", "metrics", "detr", "train", "checkpoint", "distributed", "profiling", "pretrained",
                 "explore"],
    "checks": ["checks", "harness", "plain", "messages", "catalogue"],
    "tooling": ["notebooks", "i18n", "glossary", "claims", "decks", "site", "lectureinfo", "vendor", "reader", "webcheck", "figures",
                "grading", "cli"],
}
ALLOWED = {  # layer -> the layers it may import (itself included)
    "teaching": {"teaching"},
    "checks": {"teaching", "checks"},
    "tooling": {"teaching", "checks", "tooling"},
}
PACKAGE_ROOT = "__init__"  # vitcourse/__init__.py: lazy re-exports of the teaching layer only


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts) or PACKAGE_ROOT


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the vitcourse modules it imports (names relative to the package), anywhere in its source."""
    graph = {}
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        is_pkg = path.name == "__init__.py"
        here = [] if name == PACKAGE_ROOT else name.split(".")
        base = here if is_pkg else here[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parent = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                    target = parent + (node.module.split(".") if node.module else [])
                elif node.module and node.module.split(".")[0] == "vitcourse":
                    target = node.module.split(".")[1:]
                else:
                    continue
                if node.module is None:  # from . import x, y: each name may be a submodule
                    deps.update(".".join(target + [a.name]) for a in node.names)
                deps.add(".".join(target) or PACKAGE_ROOT)
            elif isinstance(node, ast.Import):
                deps.update(".".join(a.name.split(".")[1:]) or PACKAGE_ROOT for a in node.names
                            if a.name.split(".")[0] == "vitcourse")
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                  == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
                target = str(node.args[0].value)
                deps.add(".".join(base + [target.lstrip(".")]) if target.startswith(".") else target)
        graph[name] = {d for d in deps if d and d != name}
    return graph


def layer_of(module: str, layers=LAYERS) -> str | None:
    for layer, prefixes in layers.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return layer
    return None


def violations(graph: dict[str, set[str]], layers=LAYERS, allowed=ALLOWED) -> list[str]:
    problems = []
    known = set(graph)
    for module, deps in sorted(graph.items()):
        if module == PACKAGE_ROOT:
            bad = sorted(d for d in deps if layer_of(d, layers) not in (None, "teaching"))
            problems += [f"vitcourse/__init__ re-exports from {d}, which is not in the teaching layer" for d in bad]
            continue
        layer = layer_of(module, layers)
        if layer is None:
            problems.append(f"vitcourse.{module} belongs to no layer: add it to LAYERS here and to "
                            f"docs/architecture.md")
            continue
        for dep in sorted(deps):
            if dep == PACKAGE_ROOT or (dep not in known and not any(k.startswith(dep + ".") for k in known)):
                continue  # `from . import x` of a name, not a module; the package's own __init__
            dep_layer = layer_of(dep, layers)
            if dep_layer is not None and dep_layer not in allowed[layer]:
                problems.append(f"vitcourse.{module} ({layer}) imports vitcourse.{dep} ({dep_layer}); the {layer} "
                                f"layer may import only {sorted(allowed[layer])}")
    return problems


def test_the_real_package_keeps_its_layers():
    assert violations(import_graph()) == []


def test_the_graph_sees_relative_absolute_and_lazy_imports():
    graph = import_graph()
    assert "attention" in graph["blocks"]              # from .attention import ...
    assert "checks" in graph["grading.exercise"]       # a lazy import inside a function
    assert "plot" in graph[PACKAGE_ROOT]               # importlib.import_module(".plot", __name__)


@pytest.mark.parametrize("graph, expected", [
    ({"attention": {"grading.grader"}, "grading.grader": set()},
     "vitcourse.attention (teaching) imports vitcourse.grading.grader (tooling)"),
    ({"checks.ex01": {"site"}, "site": set()}, "vitcourse.checks.ex01 (checks) imports vitcourse.site (tooling)"),
    ({"newthing": set()}, "vitcourse.newthing belongs to no layer"),
    ({PACKAGE_ROOT: {"grading"}, "grading": set()}, "re-exports from grading"),
])
def test_a_layer_violation_is_reported(graph, expected):
    assert any(expected in p for p in violations(graph)), violations(graph)


# ----------------------------------------------------------------------------- the document names every module


def unnamed_modules(doc: str, graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    """Modules that docs/architecture.md does not name in backticks: every top-level module and subpackage
    (`vit`, `detr/`), and every module of a teaching subpackage by its own name (`detr/` -> `boxes`)."""
    named = set(re.findall(r"`([^`]+)`", doc))
    missing = []
    for module in sorted(m for m in graph if m != PACKAGE_ROOT):
        top, _, rest = module.partition(".")
        if not ({top, top + "/", top + ".py"} & named):
            missing.append(top)
        elif rest and layer_of(module, layers) == "teaching" and rest.split(".")[-1] not in named:
            missing.append(module)
    return sorted(set(missing))


def test_the_architecture_document_names_every_module():
    assert unnamed_modules(ARCHITECTURE_DOC.read_text(encoding="utf-8"), import_graph()) == []


def test_an_unnamed_module_is_reported():
    graph = {"vit": set(), "augment": set(), "detr": set(), "detr.boxes": set(), "detr.matcher": set()}
    assert unnamed_modules("`vit`, `detr/`: `boxes`", graph) == ["augment", "detr.matcher"]


# ----------------------------------------------------------------------------- the model file is the model only

# Names that belong to a port of pretrained weights, an augmentation or an analysis of attention maps, not to
# the model: vit.py must neither define nor import them (they live in vit_hf, augment, rollout).
NOT_THE_MODEL = re.compile(r"from_hf|from_timm|_hf_|^_?hf_|timm|random_affine|augment|rollout|attention_grid"
                           r"|^_HF|^_TIMM", re.IGNORECASE)
NOT_IMPORTED_BY_THE_MODEL = {"vit_hf", "augment", "rollout", "data", "metrics", "transformers", "timm",
                             "safetensors", "json"}


def model_file_problems(source: str) -> list[str]:
    """What in a model file's source is a port, an augmentation, an analysis or a data set (by name)."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, ast.Import):
            problems += [f"imports {a.name}" for a in node.names
                         if set(a.name.split(".")) & NOT_IMPORTED_BY_THE_MODEL or NOT_THE_MODEL.search(a.name)]
            continue
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if set(module.split(".")) & NOT_IMPORTED_BY_THE_MODEL:
                problems.append(f"imports from {'.' * node.level}{module}")
            problems += [f"imports {a.name}" for a in node.names if NOT_THE_MODEL.search(a.name)]
            continue
        else:
            continue
        problems += [f"defines {name}" for name in defined if NOT_THE_MODEL.search(name)]
    return problems


def test_vit_py_is_the_model_only():
    assert model_file_problems((PACKAGE / "vit.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source, expected", [
    ("def vit_from_hf(source):\n    pass\n", "defines vit_from_hf"),
    ("def random_affine(images):\n    pass\n", "defines random_affine"),
    ("def attention_rollout(maps):\n    pass\n", "defines attention_rollout"),
    ("_HF_BLOCK_KEYS = {}\n", "defines _HF_BLOCK_KEYS"),
    ("from .vit_hf import vit_from_hf\n", "imports from .vit_hf"),
    ("from .augment import random_affine\n", "imports random_affine"),
    ("import json\n", "imports json"),
    ("from .data import SegmentationCanvas\n", "imports from .data"),
])
def test_a_port_or_augmentation_in_the_model_file_is_reported(source, expected):
    assert expected in model_file_problems(source)


def test_the_real_vit_py_would_fail_with_the_port_back():
    source = (PACKAGE / "vit.py").read_text(encoding="utf-8")
    port = (PACKAGE / "vit_hf.py").read_text(encoding="utf-8")
    assert model_file_problems(source + "\n" + port.split("__all__", 1)[1].split("\n", 1)[1])


@pytest.mark.parametrize("old, new", [("vitcourse.vit", "vitcourse.augment"), ("vitcourse.unet", "vitcourse.metrics")])
def test_a_name_imported_from_before_the_split_says_where_it_went(old, new):
    """An old notebook's import of a moved name is a clear error naming the new module, not Python's bare
    "cannot import name"; names that never lived there stay AttributeErrors (hasattr keeps working)."""
    import importlib

    name = {"vitcourse.augment": "random_affine", "vitcourse.metrics": "mean_iou"}[new]
    with pytest.raises(ImportError, match=f"{name} moved from {old} to {new}: write `from {new} import {name}`"):
        exec(f"from {old} import {name}", {})
    module = importlib.import_module(old)
    assert not hasattr(module, "no_such_name")
