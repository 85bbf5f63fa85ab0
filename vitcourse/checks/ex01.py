"""Checks for exercises/01_attention.ipynb: stable softmax with temperature, causal mask, masked attention.

References are written in NumPy (float64) so they share no code with the
student's PyTorch. Mask convention as in the lecture and
``F.scaled_dot_product_attention``: bool, True = the query MAY attend to the key.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant
from .rules import BUILT_IN_ATTENTION


def softmax_np(x: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Numerically stable softmax of ``x / tau`` along the last axis, in float64."""
    s = np.asarray(x, np.float64) / tau
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def masked_attention_np(q, k, v, mask):
    """(out, weights) of softmax(q k^T / sqrt(d), masked) v; fully masked rows give zeros."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])  # (B, Nq, Nk)
    mask = np.broadcast_to(mask, scores.shape)
    scores = np.where(mask, scores, -np.inf)
    alive = mask.any(axis=-1, keepdims=True)  # (B, Nq, 1)
    scores = np.where(alive, scores, 0.0)
    weights = softmax_np(scores) * alive  # dead rows: all zeros
    return weights @ v, weights


def _softmax_axis(x, axis):
    s = np.asarray(x, np.float64)
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_unstable(inputs):
    """Softmax of x / tau in float32 without subtracting the row maximum: exp overflows to inf, inf / inf is NaN."""
    e = np.exp(inputs["x"].astype(np.float32) / np.float32(inputs["tau"]))
    return e / e.sum(axis=-1, keepdims=True)


def _other_axis(inputs, axis):
    """Softmax of x / tau along ``axis`` (not the last); raises for inputs with no such axis."""
    x = inputs["x"]
    if x.ndim < 2 or axis >= x.ndim - 1:
        raise ValueError("no such axis")
    return _softmax_axis(np.asarray(x, np.float64) / inputs["tau"], axis)


def _attention_with(inputs, *, scale=1.0, mask=None, axis=-1):
    """masked_attention_np with the scores multiplied by ``scale``, another mask, or the softmax over ``axis``."""
    q, k, v = (np.asarray(inputs[n], np.float64) for n in "qkv")
    mask = inputs["mask"] if mask is None else mask
    if axis == -1:
        out, w = masked_attention_np(q * scale, k, v, mask)
        return [out, w]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) * scale
    m = np.broadcast_to(mask, scores.shape)
    scores = np.where(m, scores, -np.inf)
    alive = m.any(axis=-1, keepdims=True)  # the dead-row guard as in the right answer; only the softmax axis moves
    w = _softmax_axis(np.where(alive, scores, 0.0), axis) * alive
    return [w @ v, w]


def _attention_nan_rows(inputs):
    """Masked attention without the fully-masked-row guard: such rows are softmax of all -inf, i.e. NaN."""
    q, k, v = (np.asarray(inputs[n], np.float64) for n in "qkv")
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    m = np.broadcast_to(inputs["mask"], scores.shape)
    if m.any(axis=-1).all():
        raise ValueError("no fully masked row")
    w = softmax_np(np.where(m, scores, -np.inf))
    return [w @ v, w]


@register
class Softmax(Check):
    name = "01.softmax"
    absent = ("attention",)
    forbidden = (
        "torch.softmax",
        "torch.nn.functional.softmax",
        "torch.special.softmax",
        "Tensor.softmax",
        "torch.nn.Softmax",
        "torch.log_softmax",
        "torch.nn.functional.log_softmax",
        "Tensor.log_softmax",
        "scipy.special.softmax",
    )
    target = "softmax"
    rtol, atol = 1e-3, 1e-6
    mistakes = (
        ("mistake.01.softmax.axis", lambda i: _other_axis(i, 0)),
        ("mistake.01.softmax.axis", lambda i: _other_axis(i, 1)),
        ("mistake.01.softmax.unstable", _softmax_unstable),
        ("mistake.01.softmax.no_tau", lambda i: softmax_np(i["x"])),
        ("mistake.01.softmax.tau_times", lambda i: softmax_np(np.asarray(i["x"], np.float64) * i["tau"])),
    )

    #: the visible cases' shapes, one per seed: 3, 1 and 2 axes, as the hidden cases have
    VISIBLE_SHAPES = ((2, 3, 5), (6,), (4, 3))

    def make_inputs(self, rng, hidden):
        if not hidden:
            shape = self.VISIBLE_SHAPES[visible_variant(rng, 3)]
        else:
            shape = tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 4))))
        # the visible cases vary tau too (an answer that ignores it must not get a visible ✔)
        tau = float(rng.choice([0.5, 1.0, 2.0])) if not hidden else float(rng.choice([0.1, 0.5, 2.0, 8.0]))
        x = rng.normal(0, 3, size=shape)
        # Shift whole rows so that x / tau lies far beyond float32's exp() overflow (about 88): the
        # softmax does not change, but without the max-subtraction exp() gives inf and inf/inf = NaN.
        # The shift scales with tau so that x / tau stays below ~1000, where float32 rounding of the
        # scores alone moves a weight by ~1e-4 (a larger shift would fail correct float32 code).
        x = x + tau * rng.uniform(0, 500, size=shape[:-1] + (1,))
        x[(0,) * (x.ndim - 1)] += 400.0 * tau  # at least one row certainly overflows
        return {"x": x.astype(np.float32), "tau": tau}

    def reference(self, inputs):
        return softmax_np(inputs["x"], inputs["tau"]).astype(np.float32)

    def compare(self, got, expected, inputs):
        failures = compare_arrays(got, expected, rtol=self.rtol, atol=self.atol)
        if not failures:
            g = np.asarray(got, np.float64)
            if (g < 0).any() or not np.allclose(g.sum(-1), 1.0, atol=1e-4):
                failures.append(msg("ex01.softmax_rows"))
        return failures


@register
class CausalMask(Check):
    name = "01.causal_mask"
    absent = ("attention",)
    forbidden = ("vitcourse.attention",)
    target = "causal_mask"
    mistakes = (
        ("mistake.01.causal_mask.inverted", lambda i: ~np.tril(np.ones((i["n"], i["n"]), dtype=bool))),
        ("mistake.01.causal_mask.future", lambda i: np.triu(np.ones((i["n"], i["n"]), dtype=bool))),
        ("mistake.01.causal_mask.no_diagonal", lambda i: np.tril(np.ones((i["n"], i["n"]), dtype=bool), -1)),
    )

    def make_inputs(self, rng, hidden):
        return {"n": int(rng.integers(1, 6) if not hidden else rng.integers(6, 40))}

    def reference(self, inputs):
        n = inputs["n"]
        return np.tril(np.ones((n, n), dtype=bool))


@register
class MaskedAttention(Check):
    name = "01.masked_attention"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "masked_attention"
    mistakes = (
        ("mistake.01.masked_attention.no_scale", lambda i: _attention_with(i, scale=np.sqrt(i["q"].shape[-1]))),
        ("mistake.01.masked_attention.scale_d", lambda i: _attention_with(i, scale=1 / np.sqrt(i["q"].shape[-1]))),
        ("mistake.01.masked_attention.inverted_mask", lambda i: _attention_with(i, mask=~np.asarray(i["mask"]))),
        ("mistake.01.masked_attention.axis", lambda i: _attention_with(i, axis=-2)),
        ("mistake.01.masked_attention.nan_rows", _attention_nan_rows),
    )

    #: The visible cases, one per seed: (B, Nq, Nk, d, dv, mask batched?). Together they show what the hidden
    #: cases vary: one (Nq, Nk) mask for the batch or a (B, Nq, Nk) mask per sample, a query that may look at
    #: nothing or none, a query that may look at every key or none, and other sizes (B = 1 too).
    VISIBLE = ((2, 3, 5, 4, 2, False), (3, 4, 2, 3, 5, True), (1, 2, 6, 2, 3, True))

    def make_inputs(self, rng, hidden):
        if not hidden:
            variant = visible_variant(rng, 3)
            B, Nq, Nk, d, dv, batched = self.VISIBLE[variant]
        else:
            B, Nq, Nk, d, dv = (int(n) for n in rng.integers(1, 9, size=5))
            batched = rng.random() >= 0.5
        mask = rng.random((B, Nq, Nk) if batched else (Nq, Nk)) < 0.6
        mask[..., 0] = True
        if hidden:
            if rng.random() < 0.7:
                mask[..., int(rng.integers(Nq)), :] = False  # one query that may look at nothing
        elif variant == 0:
            mask[..., int(rng.integers(Nq)), :] = False  # one query that may look at nothing, in every sample
        elif variant == 1:
            mask[..., -1, :] = True  # the last query may look at every key; none at nothing
        else:
            mask[..., -1] = False  # no query may look at every key...
            mask[0, int(rng.integers(Nq)), :] = False  # ...and one query of the first sample may look at nothing
        return {
            "q": rng.normal(size=(B, Nq, d)).astype(np.float32),
            "k": rng.normal(size=(B, Nk, d)).astype(np.float32),
            "v": rng.normal(size=(B, Nk, dv)).astype(np.float32),
            "mask": mask,
        }

    def reference(self, inputs):
        out, w = masked_attention_np(inputs["q"], inputs["k"], inputs["v"], inputs["mask"])
        return [out.astype(np.float32), w.astype(np.float32)]

    def compare(self, got, expected, inputs):
        if type(got) is not list or len(got) != 2:
            return [msg("ex01.pair")]
        return compare_arrays(got[0], expected[0], what="out", rtol=1e-4, atol=1e-5) + compare_arrays(
            got[1], expected[1], what="weights", rtol=1e-4, atol=1e-5
        )
