"""Checks for exercises/05_transformer_block.ipynb: layer norm, pre-norm and post-norm blocks.

The blocks take their weights as a dict ``params`` with the parameter names of
``torch.nn.TransformerEncoderLayer`` (``self_attn.in_proj_weight`` is written
``in_proj_weight`` and so on; see ``PARAM_NAMES``), GELU (exact, erf form) in
the MLP and layer-norm ``eps``. The grader passes plain arrays; `run` turns
them into the ``params`` dict of tensors the learner's function receives.
References are NumPy float64.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from . import Check, register, visible_variant
from .ex03 import mha_forward_np

#: Keys of ``params`` and their shapes (D model width, F hidden width of the MLP).
PARAM_NAMES = {
    "in_proj_weight": "(3D, D)",
    "in_proj_bias": "(3D,)",
    "out_proj_weight": "(D, D)",
    "out_proj_bias": "(D,)",
    "norm1_weight": "(D,)",
    "norm1_bias": "(D,)",
    "linear1_weight": "(F, D)",
    "linear1_bias": "(F,)",
    "linear2_weight": "(D, F)",
    "linear2_bias": "(D,)",
    "norm2_weight": "(D,)",
    "norm2_bias": "(D,)",
}


def layer_norm_np(x, weight, bias, eps=1e-5):
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # biased variance, as nn.LayerNorm
    return (x - mu) / np.sqrt(var + eps) * np.asarray(weight, np.float64) + np.asarray(bias, np.float64)


def _gelu_np(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _mlp_np(x, p):
    h = _gelu_np(x @ p["linear1_weight"].astype(np.float64).T + p["linear1_bias"])  # (B, N, F)
    return h @ p["linear2_weight"].astype(np.float64).T + p["linear2_bias"]  # (B, N, D)


def _attn_np(x, p, num_heads):
    return mha_forward_np(
        x, p["in_proj_weight"], p["in_proj_bias"], p["out_proj_weight"], p["out_proj_bias"], num_heads
    )


def pre_norm_np(x, p, num_heads, eps=1e-5):
    x = np.asarray(x, np.float64)
    x = x + _attn_np(layer_norm_np(x, p["norm1_weight"], p["norm1_bias"], eps), p, num_heads)
    return x + _mlp_np(layer_norm_np(x, p["norm2_weight"], p["norm2_bias"], eps), p)


def post_norm_np(x, p, num_heads, eps=1e-5):
    x = np.asarray(x, np.float64)
    x = layer_norm_np(x + _attn_np(x, p, num_heads), p["norm1_weight"], p["norm1_bias"], eps)
    return layer_norm_np(x + _mlp_np(x, p), p["norm2_weight"], p["norm2_bias"], eps)


def _gelu_tanh_np(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _block_variant(inputs, *, pre, act=None, residual_normed=False):
    """A block with one mistake: the other norm placement (``pre``), another activation in the MLP (``act``),
    or (pre-norm) the residual taken from the normalised input instead of the input."""
    x, p, h = _BlockCheck.split(inputs)
    x = np.asarray(x, np.float64)
    act = _gelu_np if act is None else act

    def mlp(z):
        hid = act(z @ p["linear1_weight"].astype(np.float64).T + p["linear1_bias"])
        return hid @ p["linear2_weight"].astype(np.float64).T + p["linear2_bias"]

    def ln(z, i):
        return layer_norm_np(z, p[f"norm{i}_weight"], p[f"norm{i}_bias"])

    if pre:
        z = ln(x, 1)
        x = (z if residual_normed else x) + _attn_np(z, p, h)
        z = ln(x, 2)
        return (z if residual_normed else x) + mlp(z)
    x = ln(x + _attn_np(x, p, h), 1)
    return ln(x + mlp(x), 2)


def _relu_np(x):
    return np.maximum(x, 0.0)


@register
class LayerNorm(Check):
    name = "05.layer_norm"
    absent = ("blocks", "attention")
    forbidden = (
        "torch.nn.functional.layer_norm",
        "torch.nn.LayerNorm",
        "torch.layer_norm",
        "torch.native_layer_norm",
        "vitcourse.blocks",
    )
    target = "layer_norm"
    rtol, atol = 1e-4, 1e-4
    mistakes = (
        ("mistake.05.layer_norm.unbiased", lambda i: LayerNorm.variant(i, ddof=1)),
        ("mistake.05.layer_norm.eps_outside", lambda i: LayerNorm.variant(i, eps_outside=True)),
        ("mistake.05.layer_norm.no_affine", lambda i: layer_norm_np(i["x"], 1.0, 0.0, i["eps"])),
    )

    @staticmethod
    def variant(inputs, *, ddof=0, eps_outside=False):
        """Layer norm with the unbiased variance (``ddof=1``) or eps added to the standard deviation."""
        x = np.asarray(inputs["x"], np.float64)
        mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True, ddof=ddof)
        std = np.sqrt(var) + inputs["eps"] if eps_outside else np.sqrt(var + inputs["eps"])
        return (x - mu) / std * np.asarray(inputs["weight"], np.float64) + np.asarray(inputs["bias"], np.float64)

    #: the visible cases (one per seed): (shape of x, eps); the hidden ones draw both
    VISIBLE = (((2, 3, 8), 1e-5), ((1, 4, 5), 0.1), ((3, 2, 16), 1e-3))

    def make_inputs(self, rng, hidden):
        if not hidden:
            shape, eps = self.VISIBLE[visible_variant(rng, 3)]
        else:
            shape = (int(rng.integers(1, 4)), int(rng.integers(1, 7)), int(rng.integers(2, 33)))
        D = shape[-1]
        return {
            "x": rng.normal(float(rng.uniform(-3, 3)), float(rng.uniform(0.5, 4)), size=shape).astype(np.float32),
            "weight": rng.normal(1, 0.3, size=D).astype(np.float32),
            "bias": rng.normal(0, 0.3, size=D).astype(np.float32),
            "eps": eps if not hidden else float(rng.choice([1e-5, 1e-3, 0.1])),
        }

    def reference(self, inputs):
        return layer_norm_np(**inputs)


class _BlockCheck(Check):
    """Shared inputs for the two block checks: x, num_heads, eps and the twelve weight arrays."""

    rtol, atol = 1e-4, 1e-4

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: other sizes, a single head too, as the hidden cases have
            B, N, H, Dh, F = ((2, 4, 2, 4, 16), (1, 3, 1, 3, 8), (3, 2, 3, 2, 12))[visible_variant(rng, 3)]
        else:
            B, N, H, Dh = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 8)),
                int(rng.integers(1, 4)),
                int(rng.integers(2, 6)),
            )
            F = int(rng.integers(4, 33))
        D = H * Dh
        s = 1 / np.sqrt(D)
        shapes = {
            "in_proj_weight": (3 * D, D),
            "in_proj_bias": (3 * D,),
            "out_proj_weight": (D, D),
            "out_proj_bias": (D,),
            "norm1_weight": (D,),
            "norm1_bias": (D,),
            "linear1_weight": (F, D),
            "linear1_bias": (F,),
            "linear2_weight": (D, F),
            "linear2_bias": (D,),
            "norm2_weight": (D,),
            "norm2_bias": (D,),
        }
        inputs = {"x": rng.normal(0.5, 1.5, size=(B, N, D)).astype(np.float32), "num_heads": H}
        for name, shape in shapes.items():
            if name.startswith("norm") and name.endswith("weight"):
                arr = rng.normal(1, 0.2, size=shape)
            elif name.endswith("bias"):
                arr = rng.normal(0, 0.1, size=shape)
            else:
                arr = rng.normal(0, 1.5 * s if name != "linear2_weight" else 1.5 / np.sqrt(F), size=shape)
            inputs["p_" + name] = arr.astype(np.float32)
        return inputs

    @staticmethod
    def split(inputs):
        params = {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}
        return inputs["x"], params, inputs["num_heads"]

    runner = "params_x"


@register
class PreNormBlock(_BlockCheck):
    name = "05.pre_norm_block"
    absent = ("blocks", "attention")
    forbidden = (
        "torch.nn.MultiheadAttention",
        "torch.nn.functional.multi_head_attention_forward",
        "torch.nn.TransformerEncoderLayer",
        "torch.nn.TransformerDecoderLayer",
        "vitcourse.attention",
        "vitcourse.blocks",
    )
    target = "pre_norm_block"
    mistakes = (
        ("mistake.05.block_post_norm", lambda i: _block_variant(i, pre=False)),
        ("mistake.05.block_residual_normed", lambda i: _block_variant(i, pre=True, residual_normed=True)),
        ("mistake.05.block_activation", lambda i: _block_variant(i, pre=True, act=_gelu_tanh_np)),
        ("mistake.05.block_activation", lambda i: _block_variant(i, pre=True, act=_relu_np)),
    )

    def reference(self, inputs):
        x, p, h = self.split(inputs)
        return pre_norm_np(x, p, h)


@register
class PostNormBlock(_BlockCheck):
    name = "05.post_norm_block"
    absent = ("blocks", "attention")
    forbidden = (
        "torch.nn.MultiheadAttention",
        "torch.nn.functional.multi_head_attention_forward",
        "torch.nn.TransformerEncoderLayer",
        "torch.nn.TransformerDecoderLayer",
        "vitcourse.attention",
        "vitcourse.blocks",
    )
    target = "post_norm_block"
    mistakes = (
        ("mistake.05.block_pre_norm", lambda i: _block_variant(i, pre=True)),
        ("mistake.05.block_activation", lambda i: _block_variant(i, pre=False, act=_gelu_tanh_np)),
        ("mistake.05.block_activation", lambda i: _block_variant(i, pre=False, act=_relu_np)),
    )

    def reference(self, inputs):
        x, p, h = self.split(inputs)
        return post_norm_np(x, p, h)
