"""Checks of exercises 01 and 02: right answers pass, typical mistakes fail with the hint, properties bite."""
import math

import numpy as np
import pytest
import torch

from vitcourse.checks import CheckFailed, check, get_check


def softmax_ok(x, tau=1.0):
    s = x / tau
    e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_naive(x, tau=1.0):
    e = torch.exp(x / tau)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_no_tau(x, tau=1.0):
    return softmax_ok(x)


def masked_attention_ok(q, k, v, mask):
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf"))
    alive = mask.any(-1, keepdim=True)
    w = torch.softmax(scores.masked_fill(~alive, 0.0), -1) * alive
    return w @ v, w


def masked_attention_nan(q, k, v, mask):
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf"))
    w = torch.softmax(scores, -1)
    return w @ v, w


def self_attention_ok(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(w_q.shape[1]), -1) @ v


def causal_ok(x, w_q, w_k, w_v):
    n = x.shape[1]
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    s = (q @ k.transpose(-2, -1) / math.sqrt(w_q.shape[1])).masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(),
                                                                         float("-inf"))
    return torch.softmax(s, -1) @ v


@pytest.mark.parametrize("name,fn", [
    ("01.softmax", softmax_ok), ("01.causal_mask", lambda n: torch.ones(n, n, dtype=torch.bool).tril()),
    ("01.masked_attention", masked_attention_ok), ("02.self_attention", self_attention_ok),
    ("02.causal_self_attention", causal_ok)])
def test_right_answers_pass_visible_and_hidden(name, fn):
    check(name, fn, quiet=True)
    check(name, fn, hidden=True, quiet=True)


@pytest.mark.parametrize("name,fn,hidden,match", [
    ("01.softmax", softmax_naive, False, "NaN"),
    ("01.softmax", softmax_no_tau, True, "values differ"),
    ("01.causal_mask", lambda n: torch.ones(n, n).tril(), False, "boolean"),
    ("01.causal_mask", lambda n: torch.ones(n, n, dtype=torch.bool).triu(), False, "values differ"),
    ("01.masked_attention", masked_attention_nan, False, "NaN"),
    ("01.masked_attention", lambda q, k, v, mask: masked_attention_ok(q, k, v, mask)[0], False, "pair"),
    ("02.self_attention", lambda x, w_q, w_k, w_v: torch.softmax((x @ w_q) @ (x @ w_k).transpose(-2, -1), -1)
     @ (x @ w_v), False, "values differ"),
    ("02.causal_self_attention", self_attention_ok, False, "values differ"),
])
def test_typical_mistakes_fail_with_hint(name, fn, hidden, match):
    with pytest.raises(CheckFailed, match=match) as info:
        check(name, fn, hidden=hidden, quiet=True)
    assert "Hint:" in str(info.value)


def test_not_implemented_is_reported_not_crashed():
    def todo(x, tau=1.0):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check("01.softmax", todo)


def test_hard_coded_visible_answers_fail_hidden():
    c = get_check("01.masked_attention")
    answers = {tuple(inp["q"].ravel()[:3]): c.reference(inp) for _, inp in c.cases()}

    def memorised(q, k, v, mask):
        out, w = answers.get(tuple(q.numpy().ravel()[:3]), [np.zeros(1), np.zeros(1)])
        return torch.from_numpy(out), torch.from_numpy(w)

    check("01.masked_attention", memorised, quiet=True)
    with pytest.raises(CheckFailed):
        check("01.masked_attention", memorised, hidden=True, quiet=True)


def test_property_failures_are_reported():
    """The property parts of compare() catch outputs that match the reference on one call but not across calls."""
    c = get_check("02.self_attention")
    _, inputs = c.cases()[0]
    ref = c.reference(inputs)
    good = {"out": ref, "out_perm": ref[:, inputs["perm"]]}
    assert c.judge(good, inputs) == []
    bad = {"out": ref, "out_perm": ref.copy()}  # not shuffled along
    assert any("permutation equivariant" in f for f in c.judge(bad, inputs))

    c = get_check("02.causal_self_attention")
    _, inputs = c.cases()[0]
    ref = c.reference(inputs)
    leaky = ref.copy()
    leaky[:, : inputs["cut"]] += 1.0
    assert c.judge({"out": ref, "out_changed_future": ref}, inputs) == []
    assert any("must not look at later tokens" in f for f in c.judge({"out": ref, "out_changed_future": leaky},
                                                                     inputs))


def test_the_visible_softmax_cases_vary_tau():
    """An answer that ignores tau must not get a visible ✔ (issue 15: a ✔ that lies)."""
    from vitcourse.checks import get_check

    taus = [inputs["tau"] for _, inputs in get_check("01.softmax").cases()]
    assert any(t != 1.0 for t in taus), taus
