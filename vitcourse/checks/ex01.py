"""Checks for exercises/01_attention.ipynb: stable softmax with temperature, causal mask, masked attention.

References are written in NumPy (float64) so they share no code with the
student's PyTorch. Mask convention as in the lecture and
``F.scaled_dot_product_attention``: bool, True = the query MAY attend to the key.
"""
from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register


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


@register
class Softmax(Check):
    name = "01.softmax"
    absent = ("attention",)
    forbidden = ("torch.softmax", "torch.nn.functional.softmax", "torch.special.softmax", "Tensor.softmax",
                 "torch.nn.Softmax", "torch.log_softmax", "torch.nn.functional.log_softmax", "Tensor.log_softmax",
                 "scipy.special.softmax")
    target = "softmax"

    def make_inputs(self, rng, hidden):
        shape = (2, 3, 5) if not hidden else tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 4))))
        tau = 1.0 if not hidden else float(rng.choice([0.1, 0.5, 2.0, 8.0]))
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
        failures = compare_arrays(got, expected, rtol=1e-3, atol=1e-6)
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

    def make_inputs(self, rng, hidden):
        return {"n": int(rng.integers(1, 6) if not hidden else rng.integers(6, 40))}

    def reference(self, inputs):
        n = inputs["n"]
        return np.tril(np.ones((n, n), dtype=bool))


@register
class MaskedAttention(Check):
    name = "01.masked_attention"
    absent = ("attention",)
    forbidden = ("torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
                 "torch.nn.functional.multi_head_attention_forward", "torch.nn.TransformerEncoderLayer",
                 "torch.nn.TransformerDecoderLayer", "vitcourse.attention")
    target = "masked_attention"

    def make_inputs(self, rng, hidden):
        if not hidden:
            B, Nq, Nk, d, dv = 2, 3, 5, 4, 2
        else:
            B, Nq, Nk, d, dv = (int(n) for n in rng.integers(1, 9, size=5))
        mask_shape = (Nq, Nk) if not hidden or rng.random() < 0.5 else (B, Nq, Nk)
        mask = rng.random(mask_shape) < 0.6
        mask[..., 0] = True
        if not hidden or rng.random() < 0.7:
            mask[..., int(rng.integers(Nq)), :] = False  # one query that may look at nothing
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
        return (compare_arrays(got[0], expected[0], what="out", rtol=1e-4, atol=1e-5)
                + compare_arrays(got[1], expected[1], what="weights", rtol=1e-4, atol=1e-5))
