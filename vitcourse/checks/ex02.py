"""Checks for exercises/02_self_attention.ipynb: self-attention from weight arrays, causal self-attention.

Weights are plain matrices applied on the right, ``Q = x @ w_q`` with
``x (B, N, D)`` and ``w_q (D, Dk)``. References are NumPy float64. Besides the
values, each check tests a property on the student's own outputs: shuffling
the tokens shuffles the outputs (permutation equivariance), and a causal
output never changes when later tokens change.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant
from .rules import BUILT_IN_ATTENTION


def _softmax_np(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def self_attention_np(x, w_q, w_k, w_v, causal=False):
    """softmax((x w_q)(x w_k)^T / sqrt(Dk) [+ causal mask]) (x w_v), float64."""
    x, w_q, w_k, w_v = (np.asarray(t, np.float64) for t in (x, w_q, w_k, w_v))
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (B, N, Dk), (B, N, Dk), (B, N, Dv)
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(w_q.shape[1])  # (B, N, N)
    if causal:
        n = x.shape[1]
        scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    return _softmax_np(scores) @ v  # (B, N, Dv)


def _attention_variant(inputs, *, scale=None, axis=-1, allowed=None):
    """Self-attention of the case with the scores divided by ``scale`` (default √Dk), the softmax over
    ``axis``, or ``allowed(n)`` as the causal mask: what a mistaken answer returns (float64)."""
    x, w_q, w_k, w_v = (np.asarray(inputs[n], np.float64) for n in ("x", "w_q", "w_k", "w_v"))
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ np.swapaxes(k, -1, -2) / (np.sqrt(w_q.shape[1]) if scale is None else scale)  # (B, N, N)
    if allowed is not None:
        scores = np.where(allowed(x.shape[1]), scores, -np.inf)
    s = scores - scores.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return (e / e.sum(axis=axis, keepdims=True)) @ v


def _causal(n):
    return np.tril(np.ones((n, n), dtype=bool))


def _future(n):
    return np.triu(np.ones((n, n), dtype=bool))


def _strict_future(n):
    return ~np.tril(np.ones((n, n), dtype=bool))


#: The visible cases' sizes (B, N, D, Dk, Dv), one per seed: the hidden cases draw each of them.
VISIBLE_SIZES = ((2, 4, 6, 3, 5), (1, 3, 4, 2, 2), (3, 5, 3, 4, 1))


def _weights(rng, hidden):
    if not hidden:
        B, N, D, Dk, Dv = VISIBLE_SIZES[visible_variant(rng, 3)]
    else:
        B, N, D, Dk, Dv = (int(n) for n in rng.integers(1, 10, size=5))
        N = max(N, 2)
    return {
        "x": rng.normal(size=(B, N, D)).astype(np.float32),
        "w_q": (rng.normal(size=(D, Dk)) / np.sqrt(D)).astype(np.float32),
        "w_k": (rng.normal(size=(D, Dk)) / np.sqrt(D)).astype(np.float32),
        "w_v": (rng.normal(size=(D, Dv)) / np.sqrt(D)).astype(np.float32),
    }


@register
class SelfAttention(Check):
    name = "02.self_attention"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "self_attention"
    mistakes = (
        ("mistake.02.no_scale", lambda i: _attention_variant(i, scale=1.0)),
        ("mistake.02.scale_D", lambda i: _attention_variant(i, scale=np.sqrt(i["x"].shape[-1]))),
        ("mistake.02.axis", lambda i: _attention_variant(i, axis=-2)),
    )

    def matches_mistake(self, got, variant, inputs):
        return type(got) is dict and not compare_arrays(got.get("out"), variant, rtol=self.rtol, atol=self.atol)

    def make_inputs(self, rng, hidden):
        inputs = _weights(rng, hidden)
        inputs["perm"] = rng.permutation(inputs["x"].shape[1])
        return inputs

    runner = "permuted"

    def reference(self, inputs):
        return self_attention_np(inputs["x"], inputs["w_q"], inputs["w_k"], inputs["w_v"]).astype(np.float32)

    def compare(self, got, expected, inputs):
        failures = compare_arrays(got["out"], expected, rtol=1e-4, atol=1e-5)
        if failures:
            return failures
        shuffled = np.asarray(got["out"])[:, inputs["perm"]]
        if compare_arrays(got["out_perm"], shuffled, rtol=1e-4, atol=1e-5):
            failures.append(msg("ex02.permutation"))
        return failures


@register
class CausalSelfAttention(Check):
    name = "02.causal_self_attention"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "causal_self_attention"
    mistakes = (
        ("mistake.02.causal_future", lambda i: _attention_variant(i, allowed=_future)),
        ("mistake.02.causal_future", lambda i: _attention_variant(i, allowed=_strict_future)),
        ("mistake.02.no_scale", lambda i: _attention_variant(i, scale=1.0, allowed=_causal)),
        ("mistake.02.scale_D", lambda i: _attention_variant(i, scale=np.sqrt(i["x"].shape[-1]), allowed=_causal)),
    )

    def matches_mistake(self, got, variant, inputs):
        return type(got) is dict and not compare_arrays(got.get("out"), variant, rtol=self.rtol, atol=self.atol)

    def make_inputs(self, rng, hidden):
        inputs = _weights(rng, hidden)
        n = inputs["x"].shape[1]
        # tokens cut..N-1 are replaced in a second call: a random cut; visible cases 2 and 3 replace every token
        # but the first, and only the last one (the hidden cases draw both too)
        variant = 0 if hidden else visible_variant(rng, 3)
        inputs["cut"] = (int(rng.integers(1, n)), 1, n - 1)[variant]
        inputs["future"] = rng.normal(size=(inputs["x"].shape[0], n - inputs["cut"], inputs["x"].shape[2])).astype(
            np.float32
        )
        return inputs

    runner = "future_changed"

    def reference(self, inputs):
        return self_attention_np(inputs["x"], inputs["w_q"], inputs["w_k"], inputs["w_v"], causal=True).astype(
            np.float32
        )

    def compare(self, got, expected, inputs):
        failures = compare_arrays(got["out"], expected, rtol=1e-4, atol=1e-5)
        if failures:
            return failures
        cut = inputs["cut"]
        before = np.asarray(got["out"])[:, :cut]
        after = np.asarray(got["out_changed_future"])
        if after.shape != np.asarray(got["out"]).shape or compare_arrays(after[:, :cut], before, rtol=1e-5, atol=1e-6):
            failures.append(msg("ex02.causal", cut=cut, last=cut - 1))
        return failures
