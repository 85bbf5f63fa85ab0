"""Static review flags: code that tampers with the process, reads files, or hands in the package's answer.

A flag never runs anything: `find_flags` reads the student's cells with
`ast`. Flags are not zeros: the grader records what the task earned and
withholds it (status ``flagged``) until an instructor has looked. A flag in
a top-level function counts against the tasks whose graded function calls
it (directly or through other top-level functions); a flag in top-level code
(a class body, decorators and default values included, and the functions it
uses) counts against every task of the submission.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .exercise import strip_magics

__all__ = ["Flag", "find_flags", "flags_for_targets"]

#: Modules whose import is flagged (process, memory, file-system or grader internals).
FLAGGED_MODULES = {
    "ctypes": "ctypes (raw memory and C calls)",
    "_ctypes": "ctypes (raw memory and C calls)",
    "cffi": "cffi (C calls)",
    "builtins": "the builtins module",
    "__builtin__": "the builtins module",
    "importlib": "importlib",
    "subprocess": "subprocess",
    "socket": "socket",
    "gc": "gc (object graph access)",
    "inspect": "inspect (frame access)",
    "pty": "pty",
    "multiprocessing": "multiprocessing",
    "signal": "signal",
    "shutil": "shutil (file system)",
    "glob": "glob (file system)",
    "pathlib": "pathlib (file system)",
    "nbformat": "nbformat (reading notebooks)",
    "IPython.core": "IPython internals",
    "pickle": "pickle",
    "marshal": "marshal",
    "unittest": "unittest.mock (patching)",
    "pytest": "pytest",
    "mmap": "mmap",
    "vitcourse.grading": "the grader's own code",
    "_posixsubprocess": "_posixsubprocess",
    "sysconfig": "sysconfig",
}
#: Attribute names whose use is flagged wherever they appear.
FLAGGED_ATTRS = {
    "modules": ("sys",),
    "_getframe": None,
    "excepthook": None,
    "settrace": None,
    "setprofile": None,
    "addaudithook": None,
    "_exit": None,
    "system": ("os",),
    "popen": ("os",),
    "fork": ("os",),
    "forkpty": ("os",),
    "kill": ("os",),
    "killpg": ("os",),
    "execv": ("os",),
    "execve": ("os",),
    "execl": ("os",),
    "execvp": ("os",),
    "spawnv": ("os",),
    "posix_spawn": ("os",),
    "listdir": ("os",),
    "scandir": ("os",),
    "walk": ("os",),
    "open": ("os",),
    "chdir": ("os",),
    "remove": ("os",),
    "unlink": ("os",),
    "rename": ("os",),
    "environ": ("os",),
    "exit": ("sys",),
    "set_custom_exc": None,
    "showtraceback": None,
    "_showtraceback": None,
    "__builtins__": None,
    "__globals__": None,
    "__code__": None,
    "__subclasses__": None,
    "__import__": None,
    "f_back": None,
    "f_globals": None,
    "f_locals": None,
    "f_builtins": None,
    "tb_frame": None,
    "gi_frame": None,
    "from_file": None,
    "fromfile": None,
    "load": ("np", "numpy", "torch", "json", "pickle"),
    "reference": None,
    "_REGISTRY": None,
    "get_check": None,
    "all_checks": None,
    "judge": None,
}
FLAGGED_CALLS = {
    "open": "open() (reading or writing files)",
    "exec": "exec()",
    "eval": "eval()",
    "compile": "compile()",
    "__import__": "__import__()",
    "globals": "globals()",
    "setattr": "setattr()",
    "delattr": "delattr()",
    "get_ipython": "get_ipython() (IPython internals)",
    "exit": "exit()",
    "quit": "quit()",
    "breakpoint": "breakpoint()",
    "vars": "vars()",
    "locals": "locals()",
}
_ALLOWED_FROM_CHECKS = {"check", "CheckFailed"}


@dataclass(frozen=True)
class Flag:
    cell: int  # index of the cell in the submission
    line: int
    scope: str | None  # enclosing top-level function/class, None for top-level code
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.message}"


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


class _Visitor(ast.NodeVisitor):
    def __init__(self, cell: int, modules: dict[str, str], from_vitcourse: dict[str, str], targets: set[str]):
        self.cell, self.modules, self.from_vitcourse, self.targets = cell, modules, from_vitcourse, targets
        self.scope: str | None = None
        self.flags: list[Flag] = []
        self.uses: dict[str | None, set[str]] = {}

    def add(self, node, message):
        self.flags.append(Flag(self.cell, getattr(node, "lineno", 0), self.scope, message))

    def _scoped(self, node):
        if self.scope is not None:
            self.generic_visit(node)
            return
        # what runs when the definition runs (decorators, default values, annotations, base classes, a class's
        # own body) is top-level code: it counts against every task, whichever function it sits in
        at_definition = [*node.decorator_list]
        if isinstance(node, ast.ClassDef):
            at_definition += [*node.bases, *node.keywords]
            at_definition += [b for b in node.body if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef))]
            later = [b for b in node.body if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef))]
        else:
            a = node.args
            at_definition += [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
            at_definition += [
                x.annotation
                for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg)
                if x is not None and x.annotation is not None
            ]
            at_definition += [node.returns] if node.returns is not None else []
            later = node.body
        for n in at_definition:
            self.visit(n)
        self.scope = node.name
        for n in later:
            self.visit(n)
        self.scope = None

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Import(self, node):
        for a in node.names:
            self._module(node, a.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        self._module(node, mod)
        for a in node.names:
            full = f"{mod}.{a.name}"
            self._module(node, full)
            if mod.startswith("vitcourse.checks") or mod == "vitcourse" and a.name == "checks":
                if a.name not in _ALLOWED_FROM_CHECKS:
                    self.add(node, f"imports {a.name} from {mod} (the grader's checks and references)")
            if mod.split(".")[0] == "vitcourse" and (a.asname or a.name) in self.targets:
                self.add(
                    node,
                    f"binds the graded name {a.asname or a.name!r} to the package's own {full} "
                    f"(delegates to the reference implementation)",
                )
        self.generic_visit(node)

    def _module(self, node, name):
        for m, why in FLAGGED_MODULES.items():
            if name == m or name.startswith(m + "."):
                self.add(node, f"imports {why}")
                return

    def visit_Name(self, node):
        self.uses.setdefault(self.scope, set()).add(node.id)
        if node.id in ("__builtins__", "__import__"):
            self.add(node, f"uses {node.id}")
        if self.scope in self.targets and node.id in self.from_vitcourse:
            src = self.from_vitcourse[node.id]
            if _norm(node.id) == _norm(self.scope) or _norm(src.rsplit(".", 1)[-1]) == _norm(self.scope):
                self.add(node, f"{self.scope} uses the package's own {src} (delegates to the reference implementation)")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        rule = FLAGGED_ATTRS.get(node.attr, False)
        root = _root_name(node)
        if rule is None or (rule and root is not None and self.modules.get(root, root).split(".")[0] in rule):
            self.add(node, f"uses {_dotted(node) or node.attr}")
        if self.scope in self.targets and root is not None and self.modules.get(root, "").startswith("vitcourse"):
            if _norm(node.attr) == _norm(self.scope):
                self.add(
                    node,
                    f"{self.scope} uses the package's own {_dotted(node)} (delegates to the reference implementation)",
                )
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Name) and f.id in FLAGGED_CALLS:
            if f.id not in ("setattr", "delattr") or (node.args and _root_name(node.args[0]) in self.modules):
                self.add(node, f"calls {FLAGGED_CALLS[f.id]}")
        self.generic_visit(node)

    def _assign_targets(self, node, targets):
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Attribute):
                    root = _root_name(n)
                    if root in self.modules:
                        self.add(node, f"changes a library attribute: {_dotted(n)} = ...")
                elif isinstance(n, ast.Name) and self.scope is None and n.id in self.targets:
                    v = getattr(node, "value", None)
                    if v is not None and self.modules.get(_root_name(v) or "", "").startswith("vitcourse"):
                        self.add(
                            node,
                            f"binds the graded name {n.id!r} to the package's own {_dotted(v)} "
                            f"(delegates to the reference implementation)",
                        )

    def visit_Assign(self, node):
        self._assign_targets(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._assign_targets(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node):
        self._assign_targets(node, node.targets)
        self.generic_visit(node)


def _imports(trees) -> tuple[dict[str, str], dict[str, str]]:
    """Module aliases (``np`` -> ``numpy``) and names imported from vitcourse (``softmax`` -> full name)."""
    modules, from_vitcourse = {}, {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    modules[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if node.module.split(".")[0] == "vitcourse":
                        from_vitcourse[a.asname or a.name] = full
                        if a.name[:1].islower() and a.name in ("checks", "attention", "utils", "data", "train"):
                            modules[a.asname or a.name] = full
    return modules, from_vitcourse


def find_flags(
    cells: list[tuple[int, str]], targets: set[str], trusted=frozenset()
) -> tuple[list[Flag], dict[str | None, set[str]]]:
    """Flags in the student's cells and, per top-level function, the names it uses (for attribution).

    Cells listed in ``trusted`` (unchanged from the exercise as handed out) are read for imports but
    raise no flags.
    """
    trees = []
    for i, src in cells:
        try:
            trees.append((i, ast.parse(strip_magics(src))))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    modules, from_vitcourse = _imports(t for _, t in trees)
    flags: list[Flag] = []
    uses: dict[str | None, set[str]] = {}
    for i, tree in trees:
        v = _Visitor(i, modules, from_vitcourse, targets)
        try:
            v.visit(tree)
        except RecursionError:
            flags.append(Flag(i, 0, None, "code nested too deeply to review"))
        if i not in trusted:
            flags += v.flags
        for k, names in v.uses.items():
            uses.setdefault(k, set()).update(names)
    return flags, uses


def flags_for_targets(flags: list[Flag], uses: dict[str | None, set[str]], targets) -> list[Flag]:
    """The flags that count against a task graded through ``targets``: top-level code's, those of the functions
    the targets use (directly or through other top-level functions), and those of the functions top-level code
    uses, since they run before any check, whatever task they help."""
    reach, todo = set(), list(targets) + list(uses.get(None, ()))
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        todo += [n for n in uses.get(name, ()) if n is not None]
    return [f for f in flags if f.scope is None or f.scope in reach]
