"""Plain data is defined once (`vitcourse.plain`): the checks, the harness and the grader's wire format agree.

Each test that compares two sides also changes the definition (`plain.MAX_DEPTH`) and sees both sides follow,
so it fails if either side kept a limit of its own.
"""
import json

import numpy as np
import pytest
import torch

import vitcourse.plain as plain
from vitcourse import harness
from vitcourse.checks import Check, CheckFailed, check, register, to_plain, validate_output
from vitcourse.grading.child import Decoder, WireError, encode, frame_depth, run_case
from vitcourse.grading.grader import Grader
from vitcourse.plain import PlainDataError


@register
class _Nest(Check):
    """A task whose answer is ``x`` wrapped in ``depth`` lists: how deep an output may nest is the only question."""
    name = "98.nest"
    target = "nest"
    hint = "Wrap it."
    visible_seeds = (0,)

    def make_inputs(self, rng, hidden):
        return {"x": np.ones(2, np.float32)}

    def reference(self, inputs):
        return nested(inputs["x"], 1)


def nested(leaf, depth: int):
    """``leaf`` inside ``depth`` lists: a value at depth ``depth``."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def every_side(value) -> dict:
    """How each side treats ``value`` as an output: None when it accepts it, else the refusal's message."""
    def refusal(f):
        try:
            f()
        except PlainDataError as e:
            return str(e)
        return None

    out = {"checks.validate_output": refusal(lambda: validate_output(value)),
           "harness.to_plain": refusal(lambda: to_plain(value))}
    got, _ = _Nest().verdict(value, {"x": np.ones(2, np.float32)})
    out["Check.verdict"] = (got[0].split(": ", 1)[1] if got and "not plain data" in got[0] else None)
    case = run_case(harness.run, "kwargs", lambda x: value, {"x": np.ones(2, np.float32)}, 0)
    out["grading.child.run_case"] = (str(PlainDataError.from_wire(case["key"], case["values"]))
                                     if case["status"] == "not_plain" else None)
    assert case["status"] in ("ok", "not_plain"), case
    return out


@pytest.mark.parametrize("limit", [plain.MAX_DEPTH, 2])
def test_one_depth_limit_for_the_checks_the_harness_and_the_grader(monkeypatch, limit):
    monkeypatch.setattr(plain, "MAX_DEPTH", limit)
    leaf = np.zeros(3, np.float32)
    assert set(every_side(nested(leaf, limit)).values()) == {None}
    refused = every_side(nested(leaf, limit + 1))
    assert set(refused.values()) == {f"output nested too deeply: more than {limit} levels of dicts and lists"}, \
        refused


@pytest.mark.parametrize("value, why", [
    (np.zeros(3, np.complex64), "dtype complex64"),
    (np.zeros(plain.MAX_ARRAY_ELEMENTS + 1, np.uint8), "more than 5000000"),
    ("x" * (plain.MAX_STRING + 1), "longer than 10,000 characters"),
    ([0] * (plain.MAX_LIST + 1), "more than 1000 items"),
    ({"__nd__": 1}, "'__nd__' is reserved"),
    (torch.nn.Linear(2, 2), "got Linear"),
])
def test_every_side_refuses_the_same_values_in_the_same_words(value, why):
    sides = every_side(value)
    assert len(set(sides.values())) == 1 and why in sides["checks.validate_output"], sides


def test_refused_in_the_notebook_as_in_the_grader():
    # the learner's function returned something that cannot be judged: a failed case (not "raised"), saying why
    with pytest.raises(CheckFailed, match="returned something that is not plain data: output nested too deeply"):
        check("98.nest", lambda x: nested(x, plain.MAX_DEPTH + 1))
    check("98.nest", lambda x: [x], quiet=True)


def test_to_plain_converts_and_validate_does_not():
    value = {"a": torch.ones(2, dtype=torch.bfloat16), "b": (np.float32(1.5), np.int64(2), np.bool_(True)), 3: None,
             "c": np.arange(3, dtype=">i4")}
    out = to_plain(value)
    assert out["a"].dtype == np.float32 and out["b"] == [1.5, 2, True] and out["3"] is None
    assert out["c"].dtype == np.int32 and out["c"].dtype.isnative
    assert [type(v) for v in out["b"]] == [float, int, bool]
    assert validate_output(out) is out
    for raw in ({"b": (1, 2)}, {"b": np.float32(1)}, {3: None}, np.arange(3, dtype=">i4")):
        with pytest.raises(PlainDataError):
            validate_output(raw)


def test_the_wire_frames_follow_the_same_limit(monkeypatch):
    for limit in (plain.MAX_DEPTH, 1):
        monkeypatch.setattr(plain, "MAX_DEPTH", limit)
        d = Decoder(max_bytes=2**20, max_elements=100)
        assert d.decode(encode(nested(1, frame_depth()))) == nested(1, frame_depth())
        with pytest.raises(PlainDataError, match=f"more than {frame_depth()} levels"):
            encode(nested(1, frame_depth() + 1))
        with pytest.raises(WireError, match="nested too deeply"):
            d.decode(json.dumps(nested(1, frame_depth() + 1)).encode())


def test_a_refusal_from_the_sandbox_is_rebuilt_only_from_known_keys():
    e = PlainDataError.from_wire("plain.size", {"size": 7, "limit": 5})
    assert isinstance(e, PlainDataError) and str(e) == "an output array has 7 elements, more than 5"
    for key, values in [("plain.size", {"size": 7}), ("plain.size", {"size": 7, "limit": 5, "x": 1}),
                        ("check.raised", {}), ("plain.type", {"type": "x" * 500}), ("plain.type", {"type": [1]}),
                        (None, {}), ("plain.keys", [])]:
        assert PlainDataError.from_wire(key, values) is None, (key, values)
    ok = {"status": "not_plain", "key": "plain.keys", "values": {}}
    assert Grader._valid_cases([ok], 1) == [ok]
    assert Grader._valid_cases([{"status": "not_plain", "key": "check.raised", "values": {}}], 1) is None
    with pytest.raises(ValueError, match="PlainDataError needs one of"):
        PlainDataError("plain.size", size=1)


def test_the_sandboxed_child_imports_only_plain_and_harness_from_the_package():
    # the sandbox stays small (docs/architecture.md): the child script imports `plain` and `harness`, and `plain`
    # itself loads nothing of the package (the message catalogue only when an error is printed), nor PyTorch
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import vitcourse.grading.child as child

    found = set()
    for node in ast.walk(ast.parse(Path(child.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "vitcourse"}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "the child runs as a script: no relative imports"
            if node.module.split(".")[0] == "vitcourse":
                found.add(node.module)
    assert found == {"vitcourse.plain", "vitcourse.harness"}
    probe = ("import sys, vitcourse.plain as p\np.validate({'a': [1, 2.0]})\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vitcourse', 'torch')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['vitcourse',", "'vitcourse.plain']"], out
