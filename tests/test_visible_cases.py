"""Visible cases span what the hidden cases vary (issue 15, "feedback that diagnoses": a ✔ that lies).

A visible ✔ must not hide a failure the grader will find: whatever the hidden
cases vary (ranks and sizes, mask layouts, masks with a query that may look
at nothing, empty inputs, scalar parameters such as tau, eps or num_heads),
some visible case shows it too. The test computes "features" of each case's
inputs and asserts that every feature of ~40 hidden cases occurs in a visible
case of the same check.

Features of one case, for each input (names with digits, such as the ViT's
``p_blocks.0.norm1.weight``, are read with ``#`` for the digits):

- an array: its dtype, its number of axes, whether it is empty; a bool array
  (a mask): whether some row (last axis) is all False (a query that may look
  at nothing) and whether some row is all True;
- an int: whether it is negative, 0, 1 or more (n = 1, a single head);
  a float: whether it is negative, 0, in (0, 1), 1 or more;
- a family of inputs whose names differ only in digits (the ViT's blocks):
  whether there is one or several (depth 1);
- what the check itself names (`Check.case_features`, optional): properties
  only the task knows, e.g. "an image without objects" for the DETR loss.

Features of a set of cases: which scalar inputs take more than one value
(tau, eps, base, ...), and which axes of an array input take more than one
size (an answer that hard-codes a size fails). Training checks keep one
visible case (they train a model): only their per-case features are compared.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from vitcourse.checks import HIDDEN_SEED_BASE, CheckFailed, DigitsTrainingCheck, all_checks, check, get_check
from vitcourse.checks.ex01 import MaskedAttention

HIDDEN_SEEDS = range(HIDDEN_SEED_BASE, HIDDEN_SEED_BASE + 40)

#: Features of hidden cases that no visible case can show, with the reason (keep this short and justified).
EXEMPT: dict[str, dict[tuple, str]] = {}


def course_checks() -> dict:
    """The exercises' checks (vitcourse/checks/exNN.py), not the throwaway ones other test files register."""
    return {n: c for n, c in all_checks().items() if type(c).__module__.startswith("vitcourse.checks.ex")}


def _scalar_class(value) -> str:
    if value < 0:
        return "<0"
    if value == 0:
        return "0"
    if value == 1:
        return "1"
    return ">1" if value > 1 else "(0,1)"


def case_features(c, inputs: dict) -> set[tuple]:
    """Features of one case's inputs (see the module's docstring)."""
    out: set[tuple] = set()
    families: dict[str, set[str]] = {}
    for name, value in inputs.items():
        n = re.sub(r"\d+", "#", name)
        if n != name:
            families.setdefault(n, set()).add(name)
        if isinstance(value, np.ndarray):
            out |= {(n, "dtype", value.dtype.name), (n, "ndim", value.ndim), (n, "empty", value.size == 0)}
            if value.dtype == bool and value.ndim >= 1 and value.size:
                out.add((n, "a row all False", bool((~value).all(axis=-1).any())))
                out.add((n, "a row all True", bool(value.all(axis=-1).any())))
        elif isinstance(value, (bool, np.bool_)):
            out.add((n, "bool", bool(value)))
        elif isinstance(value, (int, np.integer)):
            out.add((n, "int", _scalar_class(value)))
        elif isinstance(value, (float, np.floating)):
            out.add((n, "float", _scalar_class(value)))
        else:
            out.add((n, "type", type(value).__name__))
    for n, members in families.items():
        out.add((n, "how many", "1" if len(members) == 1 else ">1"))
    own = getattr(c, "case_features", None)
    if own is not None:
        out |= {("check", f) for f in own(inputs)}
    return out


def set_features(cases: list[dict]) -> set[tuple]:
    """What varies across ``cases``: scalar inputs taking several values, array axes taking several sizes."""
    values: dict[str, set] = {}
    shapes: dict[str, set] = {}
    for inputs in cases:
        for name, value in inputs.items():
            n = re.sub(r"\d+", "#", name)
            if isinstance(value, np.ndarray):
                shapes.setdefault(n, set()).add(value.shape)
            elif isinstance(value, (bool, int, float, str, np.generic)):
                values.setdefault(n, set()).add(value)
    out = {(n, "varies") for n, v in values.items() if len(v) > 1}
    for n, found in shapes.items():
        ndims = {len(s) for s in found}
        if len(ndims) > 1:
            out.add((n, "shape varies"))
            continue
        for axis in range(ndims.pop()):
            if len({s[axis] for s in found}) > 1:
                out.add((n, "size varies", axis))
    return out


def missing_features(c, hidden_seeds=HIDDEN_SEEDS) -> set[tuple]:
    """Features of ``c``'s hidden cases that none of its visible cases shows, less `EXEMPT`."""
    visible = [inputs for _, inputs in c.cases(False)]
    hidden = [inputs for _, inputs in c.cases(True, seeds=hidden_seeds)]
    seen = set().union(*(case_features(c, i) for i in visible))
    wanted = set().union(*(case_features(c, i) for i in hidden))
    if not isinstance(c, DigitsTrainingCheck):  # one visible case (a training run): nothing can vary
        seen |= set_features(visible)
        wanted |= set_features(hidden)
    return wanted - seen - set(EXEMPT.get(c.name, {}))


def test_the_course_has_checks_to_audit():
    names = set(course_checks())
    assert len(names) > 20 and {"01.masked_attention", "01.softmax", "06.train_vit"} <= names


@pytest.mark.parametrize("name", sorted(course_checks()))
def test_visible_cases_show_everything_the_hidden_cases_vary(name):
    c = get_check(name)
    missing = missing_features(c)
    assert not missing, (f"{name}: hidden cases vary what no visible case shows: {sorted(missing, key=str)}; "
                         "add a visible variant (see `vitcourse.checks.visible_variant`) or, where impossible, "
                         "an EXEMPT entry with its reason")


def test_training_checks_keep_one_visible_case():
    """A training check trains a model per case: one visible case, however many variants it has."""
    training = [c for c in course_checks().values() if isinstance(c, DigitsTrainingCheck)]
    assert training and all(len(c.visible_seeds) == 1 for c in training)


def test_exemptions_name_real_checks_and_give_a_reason():
    for name, entries in EXEMPT.items():
        assert name in course_checks(), name
        assert entries and all(isinstance(r, str) and len(r) > 10 for r in entries.values()), name


# ----------------------------------------------------------------------------- the test can fail


class _OldMaskedAttention(MaskedAttention):
    """01.masked_attention as it was: the visible cases always used one (Nq, Nk) mask for the whole batch."""

    def make_inputs(self, rng, hidden):
        if not hidden:
            B, Nq, Nk, d, dv = 2, 3, 5, 4, 2
        else:
            B, Nq, Nk, d, dv = (int(n) for n in rng.integers(1, 9, size=5))
        mask_shape = (Nq, Nk) if not hidden or rng.random() < 0.5 else (B, Nq, Nk)
        mask = rng.random(mask_shape) < 0.6
        mask[..., 0] = True
        if not hidden or rng.random() < 0.7:
            mask[..., int(rng.integers(Nq)), :] = False
        return {"q": rng.normal(size=(B, Nq, d)).astype(np.float32),
                "k": rng.normal(size=(B, Nk, d)).astype(np.float32),
                "v": rng.normal(size=(B, Nk, dv)).astype(np.float32), "mask": mask}


def test_the_audit_fails_when_the_visible_cases_never_batch_the_mask():
    missing = missing_features(_OldMaskedAttention())
    assert ("mask", "ndim", 3) in missing, missing  # the batched (B, Nq, Nk) mask: hidden only
    assert ("mask", "a row all False", False) in missing  # hidden cases without a dead query row
    assert ("q", "size varies", 0) in missing  # fixed visible sizes
    assert not missing_features(get_check("01.masked_attention"))


def test_the_features_see_a_scalar_that_never_varies_and_a_missing_family_size():
    class FixedEps(type(get_check("05.layer_norm"))):
        def make_inputs(self, rng, hidden):
            inputs = super().make_inputs(rng, hidden)
            return dict(inputs, eps=1e-5) if not hidden else inputs

    assert ("eps", "varies") in missing_features(FixedEps())
    one = case_features(None, {"p_blocks.0.w": np.zeros(2, np.float32)})
    two = case_features(None, {"p_blocks.0.w": np.zeros(2, np.float32), "p_blocks.1.w": np.zeros(2, np.float32)})
    assert ("p_blocks.#.w", "how many", "1") in one and ("p_blocks.#.w", "how many", ">1") in two
    dead = case_features(None, {"mask": np.array([[True, False], [False, False]])})
    assert ("mask", "a row all False", True) in dead and ("mask", "a row all True", False) in dead


# ----------------------------------------------------------------------------- answers that fit one variant only
# Each is right on the old visible case (variant 0, kept as it was) and wrong on another variant the hidden cases
# have: today it fails a VISIBLE case, before the grader.

def _softmax(s, dim=-1):
    e = torch.exp(s - s.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def masked_attention_unbatched_mask_only(q, k, v, mask):
    """Right for one (Nq, Nk) mask shared by the batch; a (B, Nq, Nk) mask gets an extra axis and raises."""
    mask = mask.unsqueeze(0).expand(q.shape[0], -1, -1)  # (B, Nq, Nk) from (Nq, Nk)
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    alive = mask.any(dim=-1, keepdim=True)
    w = _softmax(scores.masked_fill(~mask, float("-inf")).masked_fill(~alive, 0.0)) * alive
    return w @ v, w


def relu_two_axes_only(x):
    """Right for a matrix; the zeros it compares with have two axes, so a vector or a 3-axis array fails."""
    return torch.maximum(x, torch.zeros(x.shape[0], x.shape[1]))


def softmax_last_axis_as_two(x, tau=1.0):
    """The last axis written as axis 2: right for (B, N, K) scores, wrong (or raising) for 1 or 2 axes."""
    s = x / tau
    e = torch.exp(s - s.max(dim=2, keepdim=True).values)
    return e / e.sum(dim=2, keepdim=True)


def split_heads_two_heads(x, num_heads):
    """Two heads hard-coded: right for the first visible case (num_heads = 2) only."""
    B, N, D = x.shape
    return x.reshape(B, N, 2, D // 2).transpose(1, 2)


def sinusoidal_base_ignored(num_positions, dim, base=10000.0):
    """The default base 10000 hard-coded: right for the first visible case only."""
    p = torch.arange(num_positions, dtype=torch.float64)[:, None]
    omega = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.zeros(num_positions, dim, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(p * omega), torch.cos(p * omega)
    return pe


def layer_norm_eps_ignored(x, weight, bias, eps=1e-5):
    """eps = 1e-5 hard-coded: right for the first visible case only."""
    mu = x.mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=False) + 1e-5) * weight + bias


ONE_VARIANT_ONLY = [
    ("00.relu", relu_two_axes_only),
    ("01.softmax", softmax_last_axis_as_two),
    ("01.masked_attention", masked_attention_unbatched_mask_only),
    ("03.split_heads", split_heads_two_heads),
    ("04.sinusoidal", sinusoidal_base_ignored),
    ("05.layer_norm", layer_norm_eps_ignored),
]


@pytest.mark.parametrize("name, fn", ONE_VARIANT_ONLY, ids=[f"{n}-{f.__name__}" for n, f in ONE_VARIANT_ONLY])
def test_an_answer_for_one_variant_only_fails_a_visible_case(name, fn):
    c = get_check(name)
    (_, first), *rest = c.cases(False)
    assert c.judge(c.run(fn, first), first) == []  # right on the case the visible ones used to be
    with pytest.raises(CheckFailed, match=r"visible case [2-9] of"):
        check(name, fn, quiet=True)


def _fails(c, fn, inputs) -> bool:
    try:
        return bool(c.judge(c.run(fn, inputs), inputs))
    except Exception:  # noqa: BLE001 - the answer raised on this case: it fails it
        return True


def test_the_unbatched_mask_answer_got_a_visible_tick_before_and_failed_the_grader():
    """The ✔ that lied: with the old visible cases the answer passed every one and failed hidden ones only."""
    old = _OldMaskedAttention()
    fn = masked_attention_unbatched_mask_only
    assert not any(_fails(old, fn, inputs) for _, inputs in old.cases(False))
    assert any(_fails(old, fn, inputs) for _, inputs in old.cases(True, seeds=HIDDEN_SEEDS))
    new = get_check("01.masked_attention")
    assert any(_fails(new, fn, inputs) for _, inputs in new.cases(False))
