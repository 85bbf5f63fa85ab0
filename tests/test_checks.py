"""The check framework: plain-data validation, comparisons, in-notebook feedback."""
import os
import sys

import numpy as np
import pytest
import torch

from vitcourse.checks import (Check, CheckFailed, check, compare_arrays, get_check, register, to_plain,
                              validate_output)


@register
class _Double(Check):
    name = "99.double"
    target = "double"
    hint = "Multiply by two."

    def make_inputs(self, rng, hidden):
        shape = (2, 3) if not hidden else tuple(int(s) for s in rng.integers(1, 6, size=3))
        return {"x": rng.normal(size=shape).astype(np.float32)}

    def reference(self, inputs):
        return inputs["x"] * 2


def test_check_passes_correct_function_and_returns_nothing_to_display(capsys):
    # None: a test cell shows no value (nbgrader warns on, and may score, a displayed value)
    assert check("99.double", lambda x: x * 2) is None
    assert "✔ 99.double: double passed 3 visible cases" in capsys.readouterr().out
    assert check("99.double", lambda x: 2 * x, hidden=True) is None
    assert f"passed {_Double.hidden_cases} hidden cases (fresh random" in capsys.readouterr().out


def test_student_side_hidden_cases_are_fresh_on_every_call_and_a_failure_can_be_rerun():
    seen = []

    def record(x):
        seen.append(x.numpy().tobytes())
        return x * 2

    check("99.double", record, hidden=True, quiet=True)
    first = list(seen)
    seen.clear()
    check("99.double", record, hidden=True, quiet=True)
    fixed = {i["x"].tobytes() for _, i in get_check("99.double").cases(hidden=True)}
    assert len(first) == len(seen) == _Double.hidden_cases
    assert not set(first) & set(seen), "two calls ran the same hidden case"
    assert not (set(first) | set(seen)) & fixed, "the package's fixed seeds were used"

    def wrong_on_big(x):
        return x * 2 if x.numel() < 20 else x * 3

    for _ in range(20):  # sizes are random: some call meets a case with 20+ elements
        try:
            check("99.double", wrong_on_big, hidden=True, quiet=True)
        except CheckFailed as e:
            msg = str(e)
            break
    else:
        pytest.fail("wrong_on_big never failed")
    seed = int(msg.split(", seed ")[1].split(":")[0])
    assert f"seeds=[{seed}]" in msg
    with pytest.raises(CheckFailed, match=f"seed {seed}"):  # the named seed runs the failing case again
        check("99.double", wrong_on_big, hidden=True, seeds=[seed])


def test_progress_bars_are_off_while_a_check_runs_the_learners_code(monkeypatch, capsys):
    from vitcourse.train import progress_enabled

    monkeypatch.setenv("TQDM_DISABLE", "0")
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # as inside a notebook kernel
    assert progress_enabled()
    during = []

    def double(x):
        during.append(progress_enabled())
        return x * 2

    check("99.double", double)
    assert during == [False] * 3
    assert progress_enabled() and os.environ["TQDM_DISABLE"] == "0"  # restored afterwards
    assert capsys.readouterr().err == ""


def test_check_reports_wrong_values_with_largest_difference_and_hint():
    with pytest.raises(CheckFailed) as e:
        check("99.double", lambda x: x * 2 + (x > 0).float() * 0.5)
    msg = str(e.value)
    assert "largest difference 0.5" in msg and "Hint: Multiply by two." in msg


def test_check_reports_shape_and_not_implemented_without_crashing():
    with pytest.raises(CheckFailed, match=r"expected shape \(2, 3\), got \(3, 2\)"):
        check("99.double", lambda x: (x * 2).T)

    def todo(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check("99.double", todo)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check("99.double", lambda x: 1 / 0)
    with pytest.raises(CheckFailed, match="did you run the cell"):
        check("99.double", None)


def test_hidden_cases_differ_from_visible():
    c = get_check("99.double")
    vis = [i["x"].shape for _, i in c.cases()]
    hid = [i["x"].shape for _, i in c.cases(hidden=True)]
    assert set(vis) == {(2, 3)} and any(s != (2, 3) for s in hid)
    # hard-coding the visible answers fails the hidden cases
    answers = {i["x"].tobytes(): c.reference(i) for _, i in c.cases()}
    with pytest.raises(CheckFailed):
        check("99.double", lambda x: torch.from_numpy(answers.get(x.numpy().tobytes(), np.zeros((2, 3), np.float32))),
              hidden=True)


class _Liar(np.ndarray):
    def __eq__(self, other):
        return True


def test_validate_output_rejects_anything_but_exact_plain_data():
    validate_output({"a": np.zeros(3), "b": [1, 2.0, True], "c": "text", "d": None})  # a config is plain data too
    for bad in [np.zeros(3).view(_Liar), np.array([object()]), {"a": object()}, {1: np.zeros(2)},
                type("S", (str,), {"__eq__": lambda s, o: True})("text"), "x" * 20_000,
                type("D", (dict,), {})(), np.zeros(6_000_000, dtype=np.uint8)]:
        with pytest.raises(TypeError):
            validate_output(bad)
    c = get_check("99.double")
    inputs = c.cases()[0][1]
    failures = c.judge(np.zeros((2, 3)).view(_Liar), inputs)
    assert failures and "not plain data" in failures[0]


def test_to_plain_converts_tensors_and_rejects_objects():
    out = to_plain({"a": torch.ones(2, dtype=torch.bfloat16), "b": (torch.zeros(1), 3)})
    assert out["a"].dtype == np.float32 and isinstance(out["b"], list) and out["b"][1] == 3
    with pytest.raises(TypeError, match="got Linear"):
        to_plain(torch.nn.Linear(2, 2))


def test_compare_arrays_messages():
    assert compare_arrays(np.ones(3), np.ones(3)) == []
    assert "expected floating point" in compare_arrays(np.ones(3, dtype=np.int64), np.ones(3))[0]
    assert "NaN" in compare_arrays(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))[0]
    assert "missing keys ['b']" in compare_arrays({"a": np.ones(1)}, {"a": np.ones(1), "b": np.ones(1)})[0]
    assert "values differ, first at index (1)" in compare_arrays(np.array([1, 2]), np.array([1, 3]))[0]


def test_registry_errors():
    with pytest.raises(ValueError, match="must look like 'NN.task'"):
        get_check("softmax")
    with pytest.raises(ValueError, match="no check named '98.nothing'"):
        get_check("98.nothing")
    with pytest.raises(ValueError, match="check name must look like"):
        @register
        class Bad(Check):
            name = "bad name"
            target = "f"


@register
class _Labelled(Check):
    name = "99.labelled"
    target = "classify"
    hint = "Predict the label."
    private_inputs = ("y",)

    def make_inputs(self, rng, hidden):
        return {"x": rng.normal(size=(4,)).astype(np.float32), "y": np.arange(4)}

    def run(self, fn, inputs):
        return to_plain(fn(**inputs))

    def reference(self, inputs):
        return inputs["y"]


def test_private_inputs_never_reach_the_students_function():
    seen = []

    def classify(**kwargs):
        seen.append(sorted(kwargs))
        return np.arange(4)

    check("99.labelled", classify)
    assert seen and all(keys == ["x"] for keys in seen)
    # the training checks keep their held-out labels on the trusted side
    for name in ("06.train_vit", "08.train_mixer"):
        c = get_check(name)
        assert c.public_inputs({"y_test": 1, "x_test": 2, "x_train": 3}) == {"x_train": 3}


def test_the_task_rule_catches_every_spelling_of_a_forbidden_function():
    """`check` refuses an answer that calls what the task asks the learner to write, however it is renamed."""
    import importlib

    import torch.nn.functional as F

    sm = torch.softmax

    def helper(s):
        return F.softmax(s, -1)

    def alias(x, tau=1.0):
        return sm(x / tau, dim=-1)

    def by_getattr(x, tau=1.0):
        return getattr(F, "softmax")(x / tau, -1)

    def method(x, tau=1.0):
        return (x / tau).softmax(-1)

    def by_importlib(x, tau=1.0):
        return importlib.import_module("torch.nn.functional").softmax(x / tau, -1)

    def through_helper(x, tau=1.0):
        return helper(x / tau)

    spellings = {f.__name__: f for f in (alias, by_getattr, method, by_importlib, through_helper)}
    for name, fn in spellings.items():
        with pytest.raises(CheckFailed, match="asks you to write softmax yourself"):
            check("01.softmax", fn)

    def written_out(x, tau=1.0):
        s = x / tau
        s = s - s.max(-1, keepdim=True).values
        e = s.exp()
        return e / e.sum(-1, keepdim=True)

    check("01.softmax", written_out, quiet=True)


def test_the_task_rule_follows_a_moved_answer_to_its_new_module():
    """The answers moved out of the model files (issue 13) stay forbidden where they now live: Dice in
    `vitcourse.metrics`, the ViT re-exported by the port `vitcourse.vit_hf`."""
    def dice_from_the_package(pred, target, num_classes):
        import vitcourse.metrics as M

        return M.dice_per_class(torch.as_tensor(pred), torch.as_tensor(target), num_classes).numpy()

    def vit_from_the_port(images, params, num_heads):
        from vitcourse.vit_hf import ViT, ViTConfig

        return ViT(ViTConfig(num_heads=num_heads))(images)

    with pytest.raises(CheckFailed, match="asks you to write dice_score yourself"):
        check("10.dice_score", dice_from_the_package)
    with pytest.raises(CheckFailed, match="asks you to write vit_forward yourself"):
        check("06.vit_forward", vit_from_the_port)


def test_the_task_rule_sees_the_packages_lazy_re_exports():
    """``from vitcourse import patchify`` is ``vitcourse.vit.patchify``: the rule reads the lazy table _MODULES
    of vitcourse/__init__.py (it read only ``from .x import`` lines, which the lazy package no longer has)."""
    from vitcourse.checks.rules import _package_reexports, expand

    assert "patchify" in _package_reexports()["vit"] and "dice_per_class" in _package_reexports()["metrics"]
    assert {"vitcourse.patchify", "vitcourse.ViT"} <= expand(["vitcourse.vit"])
    assert _package_reexports('_MODULES = [(".a", "X Y")]\nfrom .b import Z\n') == {"a": ["X", "Y"], "b": ["Z"]}

    def patchify_from_the_package(images, patch_size):
        from vitcourse import patchify

        return patchify(images, patch_size)

    with pytest.raises(CheckFailed, match="asks you to write patchify yourself"):
        check("06.patchify", patchify_from_the_package)


def _cell(source: str, filename: str = "/tmp/ipykernel_1/cell7.py"):
    """Define the functions of ``source`` as a notebook cell would (its lines known to linecache, as IPython does)."""
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict = {"torch": torch}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - test input
    return namespace


def test_an_error_in_the_learners_code_shows_their_own_line_not_our_frames():
    cell = _cell("def relu(x):\n    y = x.clone()\n    return y @ torch.zeros(5, 6)\n")
    with pytest.raises(CheckFailed) as e:
        check("00.relu", cell["relu"])
    text = str(e.value)
    assert "relu raised RuntimeError" in text
    assert "at line 3 of your cell, in relu: return y @ torch.zeros(5, 6)" in text, text
    assert "vitcourse/checks" not in text and "Traceback" not in text


def test_student_line_is_the_deepest_frame_outside_the_libraries_or_none():
    from vitcourse.checks import student_line

    try:
        torch.zeros(3, 4) @ torch.zeros(5, 6)
    except RuntimeError as e:
        assert student_line(e)[2].startswith("torch.zeros(3, 4) @")  # this test file is "the learner" here
        e.__traceback__ = None
        assert student_line(e) is None
