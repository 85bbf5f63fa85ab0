"""The rule a task states, enforced: "write X yourself" means no library function that already does X.

`forbidden_uses` reads the learner's code with `ast` (it never runs it) and
finds every reference, in the graded function and the helpers it calls, to a
name the check lists in ``Check.forbidden``, following the ways a name can be
renamed: ``import ... as``, ``from ... import ... as``, assignments
(``sm = F.softmax``), ``getattr(torch, "softmax")``,
``importlib.import_module("torch.nn.functional")`` and ``__import__``.
``"Tensor.softmax"`` in a list stands for the method on any object
(``x.softmax(-1)``). A ``getattr`` or ``import_module`` whose name is
computed at run time cannot be checked and is reported too.

The same function serves the notebook's instant feedback (`vitcourse.checks.check`,
where ``env`` maps the notebook's global names to what they really are) and
the grader (`vitcourse.grading`, which reads every cell of the submission).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BUILT_IN_ATTENTION", "Use", "forbidden_uses", "expand", "runtime_env"]

#: What "write attention yourself" rules out: PyTorch's attention functions and layers and the course's own
#: attention module. The checks of lectures 01, 02, 03, 06 and 07 list it (some add more).
BUILT_IN_ATTENTION = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.MultiheadAttention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.TransformerEncoderLayer",
    "torch.nn.TransformerDecoderLayer",
    "vitcourse.attention",
)


@dataclass(frozen=True)
class Use:
    cell: int
    line: int
    scope: str | None  # the top-level function or class it is in; None for top-level code
    name: str  # the forbidden name it resolves to
    how: str  # the code as written

    def __str__(self) -> str:
        from ..messages import msg

        return msg("rule.use", cell=self.cell, line=self.line, how=self.how, name=self.name)


def _package_reexports(source: str | None = None) -> dict[str, list[str]]:
    """``{"attention": ["MultiHeadAttention", ...]}``: names ``vitcourse/__init__.py`` re-exports, by module.

    Read from the source, never by importing: ``from .x import ...`` lines and the lazy table ``_MODULES``
    (``[(".x", "Name1 Name2"), ...]``, PEP 562 re-exports), as `vitcourse.grading.sandbox` reads it.
    """
    out: dict[str, list[str]] = {}
    try:
        if source is None:
            source = (Path(__file__).resolve().parent.parent / "__init__.py").read_text()
        tree = ast.parse(source)
    except (OSError, SyntaxError):
        return out
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.setdefault(node.module.split(".")[0], []).extend(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_MODULES" for t in node.targets):
            try:
                table = ast.literal_eval(node.value)
            except ValueError:
                continue
            for module, names in table:
                out.setdefault(module.lstrip(".").split(".")[0], []).extend(names.split())
    return out


def expand(forbidden) -> set[str]:
    """The forbidden names with the package's re-exports added (``vitcourse.attention`` -> ``vitcourse.X``)."""
    names = set(forbidden)
    exports = _package_reexports()
    for f in list(names):
        parts = f.split(".")
        if parts[0] == "vitcourse" and len(parts) == 2 and parts[1] in exports:
            names.update(f"vitcourse.{n}" for n in exports[parts[1]])
    return names


def _lookup(dotted: str):
    """The object a dotted name refers to, if its module is already imported (never imports anything)."""
    import sys

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        mod = sys.modules.get(".".join(parts[:i]))
        if mod is not None:
            obj = mod
            try:
                for p in parts[i:]:
                    obj = getattr(obj, p)
            except AttributeError:
                return None
            return obj
    return None


def runtime_env(namespace: dict, forbidden) -> dict[str, str]:
    """Global names of a running notebook mapped to what they are: modules by name, forbidden functions by
    their listed name (found by identity, so ``sm = torch.softmax`` maps ``sm`` to ``torch.softmax``)."""
    import types

    known: dict[int, str] = {}  # id(object) -> its listed name
    for f in expand(forbidden):
        obj = _lookup(f) if not f.startswith("Tensor.") else None
        if obj is not None and not isinstance(obj, (int, float, str)):
            known.setdefault(id(obj), f)
    env = {}
    for k, v in namespace.items():
        if k.startswith("__"):
            continue
        if isinstance(v, types.ModuleType):
            env[k] = v.__name__
        elif id(v) in known:
            env[k] = known[id(v)]
    return env


class _Resolver:
    def __init__(self, env: dict[str, str]):
        self.alias: dict[str, str] = dict(env)

    def const_str(self, node) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    def resolve(self, node) -> str | None:
        if isinstance(node, ast.Name):
            return self.alias.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            fn = self.resolve(node.func) or (node.func.id if isinstance(node.func, ast.Name) else None)
            if fn in ("getattr", "builtins.getattr") and len(node.args) >= 2:
                base, attr = self.resolve(node.args[0]), self.const_str(node.args[1])
                return f"{base}.{attr}" if base and attr else None
            if fn in ("importlib.import_module", "__import__", "builtins.__import__") and node.args:
                return self.const_str(node.args[0])
        return None

    def learn(self, tree) -> None:
        """Aliases from imports and simple assignments, anywhere in ``tree`` (to a fixed point)."""
        for _ in range(5):
            before = dict(self.alias)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.asname:
                            self.alias[a.asname] = a.name
                        else:
                            top = a.name.split(".")[0]
                            self.alias.setdefault(top, top)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for a in node.names:
                        self.alias[a.asname or a.name] = f"{node.module}.{a.name}"
                elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    r = self.resolve(node.value)
                    if r:
                        self.alias[node.targets[0].id] = r
            if self.alias == before:
                break


def _top_defs(trees) -> dict[str, tuple[int, ast.AST]]:
    defs: dict[str, tuple[int, ast.AST]] = {}
    for cell, tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[node.name] = (cell, node)
    return defs


def _reachable(defs, targets) -> list[str]:
    seen, todo = [], [t for t in targets if t in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        for node in ast.walk(defs[name][1]):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in seen:
                todo.append(node.id)
    return seen


def forbidden_uses(cells, targets, forbidden, *, env: dict[str, str] | None = None) -> list[Use]:
    """References to ``forbidden`` names from the code that ``targets`` run, following aliases.

    ``cells`` is ``[(cell_index, source), ...]``; cells that do not parse are
    skipped (the grader reports them elsewhere). ``env`` maps global names to
    the dotted names of the objects they hold (the notebook's instant feedback
    knows them at run time).
    """
    forbidden = expand(forbidden)
    methods = {f.split(".", 1)[1] for f in forbidden if f.startswith("Tensor.")}
    trees = []
    for cell, source in cells:
        try:
            trees.append((cell, ast.parse(source)))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    r = _Resolver(env or {})
    for _, tree in trees:
        r.learn(tree)
    defs = _top_defs(trees)

    def hit(resolved: str | None) -> str | None:
        if not resolved:
            return None
        for f in forbidden:
            if resolved == f or resolved.startswith(f + "."):
                return f
        return None

    uses: list[Use] = []

    def scan(cell, node, scope):
        for sub in ast.walk(node):
            found = how = None
            if isinstance(sub, (ast.Attribute, ast.Name)):
                found = hit(r.resolve(sub))
                if (
                    found is None
                    and isinstance(sub, ast.Attribute)
                    and sub.attr in methods
                    and r.resolve(sub.value) is None
                ):
                    found = f"Tensor.{sub.attr}"
                how = ast.unparse(sub)
            elif isinstance(sub, ast.Call):
                fn = r.resolve(sub.func) or (sub.func.id if isinstance(sub.func, ast.Name) else None)
                if fn in ("getattr", "builtins.getattr") and len(sub.args) >= 2:
                    attr = r.const_str(sub.args[1])
                    if attr is None:
                        found, how = "a name computed at run time", ast.unparse(sub)
                    elif attr in methods and r.resolve(sub.args[0]) is None:
                        found, how = f"Tensor.{attr}", ast.unparse(sub)
                    else:
                        found, how = hit(r.resolve(sub)), ast.unparse(sub)
                elif fn in ("importlib.import_module", "__import__") and sub.args and r.const_str(sub.args[0]) is None:
                    found, how = "a module computed at run time", ast.unparse(sub)
            if found:
                uses.append(Use(cell, getattr(sub, "lineno", 0), scope, found, how[:80]))

    for name in _reachable(defs, targets):
        cell, node = defs[name]
        scan(cell, node, name)
    # the graded name bound directly at top level: `softmax = torch.softmax`
    for cell, tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in targets for t in node.targets):
                scan(cell, node.value, None)
    unique: dict[tuple, Use] = {}
    for u in uses:
        unique.setdefault((u.cell, u.line, u.name), u)
    return list(unique.values())
