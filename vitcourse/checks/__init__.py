"""Exercise checks, defined once, run in two places.

A `Check` says how to make a test case from a seed (`make_inputs`, plain data
only), how to call the student's function on it (`run`), what the right answer
is (`reference`) and how to compare (`compare`), plus a hint.

- In a notebook, ``check("01.softmax", softmax)`` runs every step in the
  learner's own process and prints a pass or raises `CheckFailed` with what
  went wrong and the hint: instant feedback, not a defence against cheating.
- In the grader (`vitcourse.grading`), only `run` happens in a sandboxed child
  process that holds the student's code; the trusted parent makes the inputs
  from fresh seeds, computes the reference itself, validates the returned
  plain data (`validate_output`) and compares (`Check.judge`). A student who
  patches ``torch.allclose`` patches it in a process that decides nothing.

Checks live in ``vitcourse/checks/exNN.py`` and are named ``"NN.task"``; the
module is imported on first use, so a new exercise needs no change here or in
the grader. See ``docs/authoring.md`` for how to write one.

This module is the framework (`Check`, the registry, `check`); comparisons are
in `vitcourse.checks.compare`, the training-task base in
`vitcourse.checks.training`, and what plain data is in `vitcourse.plain`.
Every name of ``__all__`` is importable from here.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import secrets
from typing import Any, Callable

import numpy as np

from ..harness import to_plain, to_torch
from ..messages import has as _has_message
from ..messages import msg
from ..plain import PlainDataError, validate
from .compare import accuracy_failures, compare_arrays

__all__ = [
    "Check",
    "CheckFailed",
    "register",
    "get_check",
    "all_checks",
    "check",
    "validate_output",
    "compare_arrays",
    "to_plain",
    "to_torch",
    "HIDDEN_SEED_BASE",
    "accuracy_failures",
    "DigitsTrainingCheck",
    "perturb_digits",
    "visible_variant",
]

#: `Check.cases` (hidden=True, no seeds) uses seeds from here on, for reproducible tests; `check` in a notebook
#: and the grader draw fresh random seeds instead.
HIDDEN_SEED_BASE = 1000
_REGISTRY: dict[str, "Check"] = {}
_NAME = re.compile(r"^(\d\d)\.[A-Za-z_][A-Za-z0-9_]*$")


class CheckFailed(AssertionError):
    """A check did not pass; the message says what was expected and gives a hint."""


def validate_output(value) -> Any:
    """``value`` itself if it is exactly plain data (`vitcourse.plain`), as the grader's parent requires;
    raises `vitcourse.plain.PlainDataError` (a TypeError) for anything else, including subclasses of
    ``ndarray``/``dict``/``list`` (which could carry a lying ``__eq__``) and arrays that are too large."""
    return validate(value)


# ----------------------------------------------------------------------------- the Check


class Check:
    """One graded property of a student's function; subclass and `register` it.

    Class attributes:
        name: ``"NN.task"``, the key used in ``check(name, fn)``.
        target: the name the student defines (function or class) in the notebook.
        hint: the first-level hint (a nudge, never the solution), read from the message catalogue
            (``hint.<name>.1`` in `vitcourse.catalogue`, in the learner's language); a check outside the
            course may set it as a plain string instead. `hint_text` gives either level.
        visible_seeds: seeds of the cases run by the visible test cell.
        hidden_cases: how many fresh cases the hidden tests / the grader run.
        rtol, atol: tolerances of the default `compare`.
        timeout: seconds the grader allows one case (training tasks need more).

    Override `make_inputs` and `reference`; override `run` when the function is
    not called as ``fn(**inputs)`` (e.g. a class, or several calls for a
    property), and `compare` for properties or accuracy thresholds.
    """

    name: str = ""
    target: str = ""
    visible_seeds: tuple[int, ...] = (0, 1, 2)
    hidden_cases: int = 5
    rtol: float = 1e-4
    atol: float = 1e-5
    timeout: float = 20.0
    #: How the learner's function is called (a key of `vitcourse.harness.RUNNERS`); the grader's sandbox
    #: gets this key and the inputs, never the check.
    runner: str = "kwargs"
    #: Package modules (``"attention"`` = ``vitcourse.attention``) absent from the grader's sandbox while this
    #: check runs: the ones that hold the answer the task asks for.
    absent: tuple[str, ...] = ()
    #: Library functions that do what the task asks the learner to write (dotted names; ``"Tensor.softmax"``
    #: means the method on any tensor). Using one in the graded function is flagged, in the notebook's
    #: instant feedback and by the grader (`vitcourse.checks.rules`).
    forbidden: tuple[str, ...] = ()
    #: Inputs that only the trusted side sees (e.g. held-out labels): never passed to `run`, never
    #: written where the grader's child process can read them; `reference`/`compare` still get them.
    private_inputs: tuple[str, ...] = ()
    #: Common mistakes of the task, each ``(catalogue key, function of the inputs)``: the function computes
    #: (trusted side, it may use the reference) what an answer making that mistake returns. A failing
    #: answer that equals one of them (`matches_mistake`) gets the mistake named (`diagnose`), in words and
    #: without code; a key may appear twice (two ways to make one mistake). The first match wins.
    mistakes: tuple[tuple[str, Callable[[dict], Any]], ...] = ()

    @property
    def hint(self) -> str:
        """The first-level hint in the learner's language (see `hint_text`)."""
        return self.hint_text(1)

    def hint_text(self, level: int = 1) -> str:
        """Hint ``level`` (1: a nudge naming what to look at; 2: more detail) from the catalogue
        (``hint.<name>.<level>``), in the learner's language. Falls back to level 1, then to a plain string
        ``hint`` set on a subclass (checks written outside the course), then to nothing."""
        for lv in (level, 1):
            key = f"hint.{self.name}.{lv}"
            if _has_message(key):
                return msg(key)
        for klass in type(self).__mro__:
            own = klass.__dict__.get("hint")
            if isinstance(own, str):
                return own
        return ""

    def make_inputs(self, rng: np.random.Generator, hidden: bool) -> dict:
        """A test case drawn from ``rng``: a dict of NumPy arrays and plain numbers/strings.

        ``hidden`` cases should vary what the visible ones keep fixed (other
        shapes, sizes, masks) so that hard-coding the visible answers fails.
        """
        raise NotImplementedError

    def run(self, fn: Callable, inputs: dict) -> Any:
        """Call the student's ``fn`` on the case with this check's `runner`; return plain data."""
        from ..harness import run

        return run(self.runner, fn, inputs)

    def reference(self, inputs: dict) -> Any:
        """The right answer for the case (trusted side)."""
        raise NotImplementedError

    def compare(self, got, expected, inputs: dict) -> list[str]:
        """Failure messages comparing ``got`` with ``expected``; empty when it passes."""
        return compare_arrays(got, expected, rtol=self.rtol, atol=self.atol)

    def public_inputs(self, inputs: dict) -> dict:
        """The part of a case that the student's code may see: everything but `private_inputs`."""
        return {k: v for k, v in inputs.items() if k not in self.private_inputs}

    def judge(self, got, inputs: dict) -> list[str]:
        """Trusted side: validate plain data, compute the reference, compare; a failure that is one of the
        task's `mistakes` starts with the mistake's name."""
        return self.verdict(got, inputs)[0]

    def verdict(self, got, inputs: dict) -> tuple[list[str], str | None]:
        """(failures, the catalogue key of the mistake the answer makes or None), as `judge`."""
        try:
            validate_output(got)
        except PlainDataError as e:
            return [self.not_plain(e)], None
        failures = self.compare(got, self.reference(inputs), inputs)
        key = self.diagnose(got, inputs) if failures else None
        if key is not None:
            failures = [msg("mistake.found", mistake=msg(key))] + failures
        return failures, key

    def not_plain(self, error: PlainDataError) -> str:
        """The failure of an output that is not plain data (`vitcourse.plain`): the same words whether the
        judge refused it (`verdict`) or the learner's process did before sending it (`to_plain`, the grader's
        sandbox)."""
        return msg("judge.not_plain", target=self.target, error=error)

    def matches_mistake(self, got, variant, inputs: dict) -> bool:
        """Whether ``got`` equals a mistaken answer ``variant`` (default: `compare_arrays` at the check's
        tolerances). Override when the output holds more than the value the mistakes model."""
        return not compare_arrays(got, variant, rtol=self.rtol, atol=self.atol)

    def diagnose(self, got, inputs: dict) -> str | None:
        """The key of the first of `mistakes` whose answer ``got`` equals, or None (trusted side; ``got``
        is validated plain data). A mistake function that cannot handle the case is skipped."""
        for key, make in self.mistakes:
            try:
                with np.errstate(all="ignore"):
                    variant = make(inputs)
                    if self.matches_mistake(got, variant, inputs):
                        return key
            except Exception:  # noqa: BLE001 - a mistake that does not apply to this case names nothing
                continue
        return None

    def cases(self, hidden: bool = False, seeds=None) -> list[tuple[int, dict]]:
        if seeds is None:
            seeds = range(HIDDEN_SEED_BASE, HIDDEN_SEED_BASE + self.hidden_cases) if hidden else self.visible_seeds
        return [
            (int(s), self.make_inputs(np.random.default_rng([int(s), _stable_hash(self.name)]), hidden)) for s in seeds
        ]

    def __repr__(self) -> str:
        return f"<Check {self.name} on {self.target}>"


def visible_variant(rng: np.random.Generator, n: int) -> int:
    """Which of ``n`` variants of a task a visible case shows: the case's seed modulo ``n``.

    `Check.cases` makes each case's ``rng`` from its seed, so with ``visible_seeds = (0, 1, 2)`` and ``n = 3``
    the visible cases show variants 0, 1 and 2, one each: together they cover what the hidden cases vary
    (shapes, masks, scalar parameters), so an answer that handles one variant only fails a visible case,
    not only the grader. Reads the seed, draws nothing; for an ``rng`` made otherwise, a draw from it.
    """
    entropy = getattr(getattr(rng.bit_generator, "seed_seq", None), "entropy", None)
    if isinstance(entropy, (list, tuple)) and entropy:
        entropy = entropy[0]
    if isinstance(entropy, (int, np.integer)):
        return int(entropy) % n
    return int(rng.integers(n))


def _stable_hash(text: str) -> int:
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31 - 1)
    return h


def register(cls):
    """Class decorator: instantiate and add a `Check` subclass to the registry."""
    obj = cls()
    if not _NAME.match(obj.name or ""):
        raise ValueError(f"check name must look like 'NN.task', got {obj.name!r} in {cls.__name__}")
    if not obj.target:
        raise ValueError(f"check {obj.name} has no target (the name the student defines)")
    if obj.name in _REGISTRY and type(_REGISTRY[obj.name]).__qualname__ != cls.__qualname__:
        raise ValueError(f"check name {obj.name!r} is registered twice")
    _REGISTRY[obj.name] = obj
    return cls


def get_check(name: str) -> Check:
    """The check called ``name`` (``"NN.task"``), importing ``vitcourse.checks.exNN`` on first use."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(msg("check.bad_name", name=name))
    if name not in _REGISTRY:
        module = f"{__name__}.ex{name[:2]}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    if name not in _REGISTRY:
        known = sorted(k for k in _REGISTRY if k[:2] == name[:2])
        raise ValueError(msg("check.unknown", name=name, exercise=name[:2], known=known))
    return _REGISTRY[name]


def all_checks() -> dict[str, Check]:
    """Every check of every exercise module (imports them all)."""
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"ex\d\d", info.name):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


# ----------------------------------------------------------------------------- in-notebook feedback


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the learner's: this package, the standard library, installed packages."""
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + "vitcourse"}
    dirs |= {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(os.path.abspath(d) + os.sep for d in dirs)


def student_line(e: BaseException) -> tuple[int, str, str] | None:
    """(line, function, source) of the deepest frame of the learner's own code in ``e``'s traceback, or None.

    In a notebook the learner's code lives in cells (files such as ``/tmp/ipykernel_1/123.py`` whose lines
    `linecache` holds); frames of this package, of PyTorch and of the standard library are left out, so the
    learner sees the line of their cell that raised, not our internals.
    """
    import linecache

    libs, found, tb = _library_dirs(), None, e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        path = os.path.abspath(code.co_filename) if not code.co_filename.startswith("<") else code.co_filename
        if not path.startswith(libs):
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            if line:
                found = (tb.tb_lineno, code.co_name, line)
        tb = tb.tb_next
    return found


def _describe_exception(target: str, e: BaseException) -> str:
    if isinstance(e, NotImplementedError):
        return msg("check.not_implemented", target=target)
    text = msg("check.raised", target=target, error=type(e).__name__, detail=e)
    where = student_line(e)
    if where is not None:
        text += "\n" + msg("check.raised_at", line=where[0], function=where[1], code=where[2][:200])
    return text


@contextlib.contextmanager
def _no_progress_bars():
    """Progress bars off while a check runs the learner's code: a test cell must write nothing to stderr
    (nbgrader scores a test cell with any stderr output 0). `vitcourse.train.progress_enabled` and tqdm
    itself honour ``TQDM_DISABLE``; the previous value is restored afterwards."""
    previous = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = previous


#: Failures of each check in this process (this kernel) since it last passed: the second failure in a row
#: shows the second-level hint as well.
_FAILURES: dict[str, int] = {}


def _hint_block(c: "Check", level: int, call: str) -> str:
    """``Hint: <nudge>``, then the more detailed hint at level 2, or how to get it at level 1."""
    first = c.hint_text(1)
    lines = [msg("check.hint", hint=first)]
    more = c.hint_text(2)
    if level >= 2 and more and more != first:
        lines.append(msg("check.hint_more", hint=more))
    elif level < 2 and more and more != first:
        lines.append(msg("check.hint_next", call=call))
    return "\n".join(lines)


def check(
    name: str, fn: Callable, *, hidden: bool = False, seeds=None, quiet: bool = False, hint: int | None = None
) -> None:
    """Run check ``name`` on ``fn`` here, in this process, for instant feedback.

    Prints a pass line, or raises `CheckFailed` saying which case failed, what
    was expected (shape, property, largest difference) and a hint. Visible
    cases by default; ``hidden=True`` runs cases like the grader's hidden ones
    (other shapes and values) from seeds drawn afresh on every call, so they
    are never the grader's own (it draws its seeds when it grades); a failure
    names its seed, and ``check(name, fn, hidden=True, seeds=[seed])`` runs
    that case again. Returns None, so a test cell displays no value; progress
    bars are off while it runs, so it writes nothing to stderr.

    Hints come in two levels: the first failure gives a nudge that names what
    to look at; a second failure of the same check in this kernel (before it
    passes) adds a more detailed one, and ``hint=2`` asks for it at once.
    Neither holds a line of the solution. Messages are in Korean when
    ``VITCOURSE_LANG=ko`` or the notebook is a Korean one (`vitcourse.messages`).
    """
    if hint is not None and (isinstance(hint, bool) or hint not in (1, 2)):
        raise ValueError(msg("check.bad_hint_level", value=hint))
    c = get_check(name)
    call = f"check({name!r}, {c.target}, hint=2)"

    def failed(text: str) -> CheckFailed:
        _FAILURES[name] = _FAILURES.get(name, 0) + 1
        level = hint if hint is not None else (2 if _FAILURES[name] >= 2 else 1)
        return CheckFailed(f"{text}\n{_hint_block(c, level, call)}")

    if not callable(fn):
        raise failed(msg("check.not_callable", name=name, target=c.target, got=type(fn).__name__))
    broken = rule_violations(c, fn)
    if broken:
        raise CheckFailed(msg("check.rule", name=name, target=c.target, violation=broken[0]))
    fresh = hidden and seeds is None
    if fresh:
        seeds = [secrets.randbits(31) for _ in range(c.hidden_cases)]
    cases = c.cases(hidden, seeds)

    def where(i: int, seed: int) -> str:
        text = msg("case.hidden" if hidden else "case.visible", i=i + 1, n=len(cases))
        if hidden:
            text = msg(
                "check.again", where=text, seed=seed, call=f"check({name!r}, {c.target}, hidden=True, seeds=[{seed}])"
            )
        return text

    with _no_progress_bars():
        for i, (seed, inputs) in enumerate(cases):
            try:
                got = c.run(
                    fn, {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in c.public_inputs(inputs).items()}
                )
            except PlainDataError as e:  # it returned something that cannot be judged: a failure, as in the grader
                raise failed(
                    msg("check.case_failed", name=name, where=where(i, seed), problems=c.not_plain(e))
                ) from None
            except Exception as e:  # the learner's code failed: report it, do not crash the checker
                raise failed(
                    msg("check.case_error", name=name, where=where(i, seed), problem=_describe_exception(c.target, e))
                ) from None
            failures = c.judge(got, inputs)
            if failures:
                raise failed(
                    msg("check.case_failed", name=name, where=where(i, seed), problems="\n  - ".join(failures[:5]))
                )
    _FAILURES.pop(name, None)
    if not quiet:
        key = f"check.passed_{'hidden' if hidden else 'visible'}.{'one' if len(cases) == 1 else 'many'}"
        line = msg(key, name=name, target=c.target, n=len(cases))
        if fresh:
            line += msg("check.passed_fresh")
        print(line)
    return None


def _function_sources(fn) -> list[tuple[int, str]]:
    """Source of ``fn`` and of the functions of its module it may call (the notebook's other cells)."""
    import inspect
    import textwrap

    out: list[tuple[int, str]] = []
    seen = set()
    todo = [fn]
    while todo and len(out) < 50:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        try:
            out.append((len(out), textwrap.dedent(inspect.getsource(f))))
        except (OSError, TypeError):
            continue
        code = getattr(f, "__code__", None)
        glb = getattr(f, "__globals__", {})
        scope = dict(glb)
        for var, cell in zip(code.co_freevars if code is not None else (), getattr(f, "__closure__", None) or ()):
            try:
                scope[var] = cell.cell_contents
            except ValueError:
                pass
        for n in code.co_names + code.co_freevars if code is not None else ():
            g = scope.get(n)
            if inspect.isfunction(g) and g.__module__ == getattr(fn, "__module__", None):
                todo.append(g)
    return out


def rule_violations(c: "Check", fn) -> list[str]:
    """What in ``fn`` breaks the task's rule (`Check.forbidden`), read from its source with `rules`."""
    if not c.forbidden:
        return []
    from .rules import forbidden_uses, runtime_env

    sources = _function_sources(fn)
    if not sources:
        return []
    names = dict(getattr(fn, "__globals__", {}))
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    for var, cell in zip(code.co_freevars if code is not None else (), cells):
        try:
            names[var] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    env = runtime_env(names, c.forbidden)
    name = getattr(fn, "__name__", c.target)
    uses = forbidden_uses(sources, {name}, c.forbidden, env=env)
    return [msg("rule.uses", how=u.how, name=u.name) for u in uses]


# The training-task base subclasses `Check`, so it is imported once `Check` exists.
from .training import DigitsTrainingCheck, perturb_digits  # noqa: E402
