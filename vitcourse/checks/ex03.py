"""Checks for exercises/03_multi_head_attention.ipynb: split and merge heads, a multi-head forward.

Weight layout follows ``torch.nn.MultiheadAttention``: ``in_proj_weight`` is
``(3D, D)`` with the rows of W^Q, W^K, W^V stacked, a linear map is
``x @ W.T + b``, and head ``h`` owns channels ``h*Dh : (h+1)*Dh``.
References are written in NumPy (float64) so they do not share code with the
student's PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant
from .rules import BUILT_IN_ATTENTION


def _split_heads_np(x: np.ndarray, num_heads: int) -> np.ndarray:
    B, N, D = x.shape
    return x.reshape(B, N, num_heads, D // num_heads).transpose(0, 2, 1, 3)  # (B, H, N, Dh)


def _merge_heads_np(x: np.ndarray) -> np.ndarray:
    B, H, N, Dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, N, H * Dh)  # (B, N, D)


def _softmax_np(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def mha_forward_np(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, return_attn=False):
    """Multi-head self-attention in NumPy float64 (the trusted reference)."""
    x = np.asarray(x, np.float64)
    D = x.shape[-1]
    qkv = x @ np.asarray(in_proj_weight, np.float64).T + np.asarray(in_proj_bias, np.float64)  # (B, N, 3D)
    q, k, v = (_split_heads_np(qkv[..., i * D : (i + 1) * D], num_heads) for i in range(3))  # (B, H, N, Dh)
    attn = _softmax_np(q @ k.transpose(0, 1, 3, 2) / np.sqrt(D // num_heads))  # (B, H, N, N)
    out = _merge_heads_np(attn @ v)  # (B, N, D)
    out = out @ np.asarray(out_proj_weight, np.float64).T + np.asarray(out_proj_bias, np.float64)
    return (out, attn) if return_attn else out


def _split_by_reshape(x, num_heads):
    """(B, N, D) -> (B, H, N, Dh) by a plain reshape: tokens and heads mixed up (a mistake)."""
    B, N, D = x.shape
    return x.reshape(B, num_heads, N, D // num_heads)


def _split_interleaved(x, num_heads):
    """Channels dealt to the heads in turn (head h gets channels h, h+H, ...): a mistake."""
    B, N, D = x.shape
    return x.reshape(B, N, D // num_heads, num_heads).transpose(0, 3, 1, 2)


def _mha_variant(inputs, *, scale=None, out_transposed=False, by_reshape=False):
    """`mha_forward_np` with one mistake: the scores divided by ``scale`` (default √Dh), the output projection's
    weight not transposed, or heads split and merged by plain reshapes."""
    x = np.asarray(inputs["x"], np.float64)
    H = inputs["num_heads"]
    B, N, D = x.shape
    qkv = x @ np.asarray(inputs["in_proj_weight"], np.float64).T + inputs["in_proj_bias"]  # (B, N, 3D)
    split = _split_by_reshape if by_reshape else _split_heads_np
    q, k, v = (split(qkv[..., i * D : (i + 1) * D], H) for i in range(3))  # (B, H, N, Dh)
    attn = _softmax_np(q @ k.transpose(0, 1, 3, 2) / (np.sqrt(D // H) if scale is None else scale))
    heads = attn @ v  # (B, H, N, Dh)
    out = heads.reshape(B, N, D) if by_reshape else _merge_heads_np(heads)
    w = np.asarray(inputs["out_proj_weight"], np.float64)
    return out @ (w if out_transposed else w.T) + inputs["out_proj_bias"]


#: The visible cases' (B, N, H, Dh), one per seed: other sizes each, a single head too, as the hidden cases have.
VISIBLE_SHAPES = ((2, 3, 2, 4), (1, 5, 1, 3), (3, 2, 4, 2))


def _shape(rng, hidden):
    """(B, N, H, Dh): small fixed sizes when visible (one set per seed), random ones when hidden."""
    if not hidden:
        return VISIBLE_SHAPES[visible_variant(rng, 3)]
    return (int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 5)), int(rng.integers(1, 7)))


@register
class SplitHeads(Check):
    name = "03.split_heads"
    absent = ("attention",)
    forbidden = ("vitcourse.attention",)
    target = "split_heads"
    mistakes = (
        ("mistake.03.split_by_reshape", lambda i: _split_by_reshape(i["x"], i["num_heads"])),
        ("mistake.03.split_interleaved", lambda i: _split_interleaved(i["x"], i["num_heads"])),
    )

    def make_inputs(self, rng, hidden):
        B, N, H, Dh = _shape(rng, hidden)
        return {"x": rng.normal(size=(B, N, H * Dh)).astype(np.float32), "num_heads": H}

    def reference(self, inputs):
        return _split_heads_np(inputs["x"], inputs["num_heads"])


@register
class MergeHeads(Check):
    name = "03.merge_heads"
    absent = ("attention",)
    forbidden = ("vitcourse.attention",)
    target = "merge_heads"
    mistakes = (
        ("mistake.03.merge_by_reshape", lambda i: i["x"].reshape(i["x"].shape[0], i["x"].shape[2], -1)),
        (
            "mistake.03.merge_interleaved",
            lambda i: i["x"].transpose(0, 2, 3, 1).reshape(i["x"].shape[0], i["x"].shape[2], -1),
        ),
    )

    def make_inputs(self, rng, hidden):
        B, N, H, Dh = _shape(rng, hidden)
        return {"x": rng.normal(size=(B, H, N, Dh)).astype(np.float32)}

    def reference(self, inputs):
        return _merge_heads_np(inputs["x"])


@register
class MultiHeadForward(Check):
    name = "03.mha_forward"
    absent = ("attention",)
    forbidden = BUILT_IN_ATTENTION
    target = "mha_forward"
    mistakes = (
        ("mistake.03.mha_scale_D", lambda i: _mha_variant(i, scale=np.sqrt(i["x"].shape[-1]))),
        ("mistake.03.mha_no_scale", lambda i: _mha_variant(i, scale=1.0)),
        ("mistake.03.mha_out_transposed", lambda i: _mha_variant(i, out_transposed=True)),
        ("mistake.03.mha_heads_by_reshape", lambda i: _mha_variant(i, by_reshape=True)),
    )
    rtol, atol = 1e-4, 1e-5

    def make_inputs(self, rng, hidden):
        B, N, H, Dh = _shape(rng, hidden)
        if not hidden:
            B, N, H, Dh = ((2, 5, 2, 4), (1, 3, 1, 6), (3, 4, 3, 3))[visible_variant(rng, 3)]
        D = H * Dh
        s = 1 / np.sqrt(D)
        return {
            "x": rng.normal(size=(B, N, D)).astype(np.float32),
            "in_proj_weight": rng.normal(0, 2 * s, size=(3 * D, D)).astype(np.float32),
            "in_proj_bias": rng.normal(0, 0.1, size=(3 * D,)).astype(np.float32),
            "out_proj_weight": rng.normal(0, s, size=(D, D)).astype(np.float32),
            "out_proj_bias": rng.normal(0, 0.1, size=(D,)).astype(np.float32),
            "num_heads": H,
        }

    def reference(self, inputs):
        return mha_forward_np(**inputs)

    def compare(self, got, expected, inputs):
        return compare_arrays(
            got, expected, what=msg("what.output_of", target="mha_forward"), rtol=self.rtol, atol=self.atol
        )
