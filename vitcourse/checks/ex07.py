"""Checks for exercises/07_cross_attention.ipynb: cross-attention with a key mask, attention pooling.

Weight layout follows ``torch.nn.MultiheadAttention`` with ``bias=False`` and
``kdim``/``vdim``: a linear map is ``x @ W.T``; ``w_q`` is ``(D, D)``,
``w_k`` and ``w_v`` are ``(D, Dc)`` (``Dc`` the width of the context), and
head ``h`` owns channels ``h*Dh : (h+1)*Dh``. Masks use the course's convention
(True = may attend): ``key_mask[b, j]`` is True where key ``j`` of sample ``b``
is real and False where it is padding (``nn.MultiheadAttention``'s
``key_padding_mask`` is the opposite, ``~key_mask``).
References are NumPy float64, sharing no code with the student's PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant
from .rules import BUILT_IN_ATTENTION


def _softmax_np(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def cross_attention_np(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    """Multi-head cross-attention in NumPy float64: queries from ``query``, keys and values from ``context``."""
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    query, context = f64(query), f64(context)
    B, Nq, D = query.shape
    Nk = context.shape[1]
    H = int(num_heads)
    Dh = D // H
    q = (query @ f64(w_q).T).reshape(B, Nq, H, Dh).transpose(0, 2, 1, 3)  # (B, H, Nq, Dh)
    k = (context @ f64(w_k).T).reshape(B, Nk, H, Dh).transpose(0, 2, 1, 3)  # (B, H, Nk, Dh)
    v = (context @ f64(w_v).T).reshape(B, Nk, H, Dh).transpose(0, 2, 1, 3)  # (B, H, Nk, Dh)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(Dh)  # (B, H, Nq, Nk)
    scores = np.where(np.asarray(key_mask, bool)[:, None, None, :], scores, -np.inf)  # False = padding
    out = (_softmax_np(scores) @ v).transpose(0, 2, 1, 3).reshape(B, Nq, D)  # (B, Nq, D)
    return out @ f64(w_o).T


def _cross_variant(inputs, *, inverted=False, scale=None):
    """`cross_attention_np` with one mistake: the key mask read the wrong way round, or the scores multiplied by
    ``scale`` on top of the right 1/√Dh (√Dh: no scaling; √Dh/√D: divided by √D)."""
    i = dict(inputs)
    if inverted:
        i["key_mask"] = ~np.asarray(i["key_mask"], bool)
    if scale is not None:
        i["w_q"] = np.asarray(i["w_q"], np.float64) * scale
    return cross_attention_np(**i)


def _width(i):
    return i["query"].shape[-1]


def _key_mask(rng, B: int, Nk: int, hidden: bool, every_sample_padded: bool = False) -> np.ndarray:
    """(B, Nk) bool, True = real key, False = padding at the end of each sequence; every sample keeps a key.
    Visible: the first sample unpadded, the others padded, or (``every_sample_padded``) all of them padded."""
    lengths = rng.integers(1, Nk + 1, size=B)
    if not hidden:
        lengths[0] = Nk
        lengths[1:] = np.minimum(lengths[1:], max(1, Nk - 2))
        if every_sample_padded:
            lengths[:] = np.minimum(lengths, Nk - 1)
    return np.arange(Nk)[None, :] < lengths[:, None]


@register
class CrossAttention(Check):
    name = "07.cross_attention"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "cross_attention"
    rtol, atol = 1e-4, 1e-5

    def make_inputs(self, rng, hidden):
        if hidden:
            B, Nq, Nk, H, Dh, Dc = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 7)),
                int(rng.integers(2, 10)),
                int(rng.integers(1, 4)),
                int(rng.integers(1, 5)),
                int(rng.integers(2, 9)),
            )
        else:  # one per seed: other sizes, a single head, a single sample, every sample padded, as hidden ones have
            B, Nq, Nk, H, Dh, Dc = ((2, 3, 5, 2, 4, 6), (1, 4, 3, 1, 5, 2), (3, 2, 6, 3, 2, 4))[visible_variant(rng, 3)]
        every_sample_padded = not hidden and visible_variant(rng, 3) == 1
        D = H * Dh
        return {
            "query": rng.normal(size=(B, Nq, D)).astype(np.float32),
            "context": rng.normal(size=(B, Nk, Dc)).astype(np.float32),
            "w_q": rng.normal(0, 1.5 / np.sqrt(D), size=(D, D)).astype(np.float32),
            "w_k": rng.normal(0, 1.5 / np.sqrt(Dc), size=(D, Dc)).astype(np.float32),
            "w_v": rng.normal(0, 1 / np.sqrt(Dc), size=(D, Dc)).astype(np.float32),
            "w_o": rng.normal(0, 1 / np.sqrt(D), size=(D, D)).astype(np.float32),
            "key_mask": _key_mask(rng, B, Nk, hidden, every_sample_padded),
            "num_heads": H,
        }

    runner = "garbage_padding"
    mistakes = (
        ("mistake.07.inverted_key_mask", lambda i: _cross_variant(i, inverted=True)),
        ("mistake.07.scale_D", lambda i: _cross_variant(i, scale=np.sqrt(_width(i) // i["num_heads"] / _width(i)))),
        ("mistake.07.no_scale", lambda i: _cross_variant(i, scale=np.sqrt(_width(i) // i["num_heads"]))),
    )

    def matches_mistake(self, got, variant, inputs):
        return type(got) is dict and not compare_arrays(got.get("output"), variant, rtol=self.rtol, atol=self.atol)

    def reference(self, inputs):
        out = cross_attention_np(**inputs)
        return {"output": out, "output_with_garbage_in_padding": out}

    def compare(self, got, expected, inputs):
        if type(got) is not dict:
            return [msg("ex07.not_tensor", got=type(got).__name__)]
        failures = compare_arrays(
            got.get("output"),
            expected["output"],
            what=msg("what.output_of", target="cross_attention"),
            rtol=self.rtol,
            atol=self.atol,
        )
        if failures:
            return failures
        failures = compare_arrays(
            got.get("output_with_garbage_in_padding"),
            expected["output"],
            what=msg("what.garbage_padding"),
            rtol=self.rtol,
            atol=self.atol,
        )
        return [msg("ex07.padding", failure=f) for f in failures]


def attention_pool_np(tokens, queries, w_k, w_v):
    """Single-head attention pooling: learned queries (Q, D) read (B, N, D) tokens -> ((B, Q, D), (B, Q, N))."""
    tokens, queries = np.asarray(tokens, np.float64), np.asarray(queries, np.float64)
    D = tokens.shape[-1]
    k = tokens @ np.asarray(w_k, np.float64).T  # (B, N, D)
    v = tokens @ np.asarray(w_v, np.float64).T  # (B, N, D)
    attn = _softmax_np(np.einsum("qd,bnd->bqn", queries, k) / np.sqrt(D))  # (B, Q, N)
    return attn @ v, attn


@register
class AttentionPool(Check):
    name = "07.attention_pool"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "attention_pool"
    rtol, atol = 1e-4, 1e-5
    mistakes = (
        (
            "mistake.07.pool_no_scale",
            lambda i: list(
                attention_pool_np(
                    i["tokens"],
                    np.asarray(i["queries"], np.float64) * np.sqrt(i["tokens"].shape[-1]),
                    i["w_k"],
                    i["w_v"],
                )
            ),
        ),
        ("mistake.07.pool_axis", lambda i: AttentionPool.over_queries(i)),
    )

    @staticmethod
    def over_queries(inputs):
        """Attention pooling with the softmax over the queries instead of the tokens."""
        tokens, queries = np.asarray(inputs["tokens"], np.float64), np.asarray(inputs["queries"], np.float64)
        k, v = tokens @ np.asarray(inputs["w_k"], np.float64).T, tokens @ np.asarray(inputs["w_v"], np.float64).T
        s = np.einsum("qd,bnd->bqn", queries, k) / np.sqrt(tokens.shape[-1])  # (B, Q, N)
        e = np.exp(s - s.max(axis=-2, keepdims=True))
        attn = e / e.sum(axis=-2, keepdims=True)
        return [attn @ v, attn]

    def make_inputs(self, rng, hidden):
        if hidden:
            B, N, Q, D = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 17)),
                int(rng.integers(1, 6)),
                int(rng.integers(2, 9)),
            )
        else:  # one per seed: other sizes, a single query too, as the hidden cases have
            B, N, Q, D = ((2, 6, 3, 4), (1, 3, 1, 2), (3, 5, 4, 6))[visible_variant(rng, 3)]
        return {
            "tokens": rng.normal(size=(B, N, D)).astype(np.float32),
            "queries": rng.normal(size=(Q, D)).astype(np.float32),
            "w_k": rng.normal(0, 1.5 / np.sqrt(D), size=(D, D)).astype(np.float32),
            "w_v": rng.normal(0, 1 / np.sqrt(D), size=(D, D)).astype(np.float32),
        }

    def reference(self, inputs):
        pooled, attn = attention_pool_np(**inputs)
        return [pooled, attn]

    def compare(self, got, expected, inputs):
        if type(got) is not list or len(got) != 2:
            return [msg("ex07.pool_pair")]
        attn = np.asarray(got[1], np.float64) if type(got[1]) is np.ndarray else None
        if attn is not None and attn.shape == expected[1].shape and not np.allclose(attn.sum(-1), 1.0, atol=1e-4):
            return [msg("ex07.pool_sums")]
        return compare_arrays(got[1], expected[1], what="attn", rtol=self.rtol, atol=self.atol) + compare_arrays(
            got[0], expected[0], what="pooled", rtol=self.rtol, atol=self.atol
        )
