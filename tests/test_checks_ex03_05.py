"""The checks of exercises 03-05 pass correct PyTorch solutions and fail typical mistakes.

Correct solutions here are built on torch's own modules (nn.MultiheadAttention,
nn.TransformerEncoderLayer, F.layer_norm), independent of the NumPy references in
vitcourse/checks/ex03..05.py, so a wrong reference would fail these tests too.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vitcourse.checks import CheckFailed, check, get_check


# ----------------------------------------------------------------------------- solutions built on torch



pytestmark = pytest.mark.usefixtures("torch_oracles")

def split_heads(x, num_heads):
    B, N, D = x.shape
    return x.view(B, N, num_heads, D // num_heads).transpose(1, 2)


def merge_heads(x):
    B, H, N, Dh = x.shape
    return x.transpose(1, 2).reshape(B, N, H * Dh)


def _torch_mha(in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads):
    D = out_proj_weight.shape[0]
    mha = nn.MultiheadAttention(D, num_heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(in_proj_weight)
        mha.in_proj_bias.copy_(in_proj_bias)
        mha.out_proj.weight.copy_(out_proj_weight)
        mha.out_proj.bias.copy_(out_proj_bias)
    return mha


def mha_forward(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads):
    mha = _torch_mha(in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads)
    return mha(x, x, x, need_weights=False)[0]


def mha_wrong_scale(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads):
    D = x.shape[-1]
    q, k, v = (x @ in_proj_weight.T + in_proj_bias).chunk(3, dim=-1)
    q, k, v = (split_heads(t, num_heads) for t in (q, k, v))
    attn = (q @ k.transpose(-2, -1) / math.sqrt(D)).softmax(-1)  # mistake: sqrt(D) instead of sqrt(Dh)
    return merge_heads(attn @ v) @ out_proj_weight.T + out_proj_bias


def sinusoidal_encoding(num_positions, dim, base=10000.0):
    p = torch.arange(num_positions, dtype=torch.float64)[:, None]
    w = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.stack([torch.sin(p * w), torch.cos(p * w)], dim=-1).reshape(num_positions, dim)


def offset_matrix(k, dim, base=10000.0):
    w = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    c, s = torch.cos(k * w), torch.sin(k * w)
    return torch.block_diag(*[torch.tensor([[ci, si], [-si, ci]]) for ci, si in zip(c, s)])


def sincos_2d(grid_h, grid_w, dim, temperature=10000.0):
    y, x = torch.meshgrid(torch.arange(grid_h, dtype=torch.float64), torch.arange(grid_w, dtype=torch.float64),
                          indexing="ij")
    omega = temperature ** (-torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    ax, ay = x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega
    return torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=1)


def layer_norm(x, weight, bias, eps):
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


def _torch_layer(params, num_heads, norm_first):
    D = params["out_proj_weight"].shape[0]
    F_ = params["linear1_weight"].shape[0]
    layer = nn.TransformerEncoderLayer(D, num_heads, F_, dropout=0.0, activation="gelu", batch_first=True,
                                       norm_first=norm_first)
    layer.eval()
    names = {"in_proj_weight": "self_attn.in_proj_weight", "in_proj_bias": "self_attn.in_proj_bias",
             "out_proj_weight": "self_attn.out_proj.weight", "out_proj_bias": "self_attn.out_proj.bias",
             "norm1_weight": "norm1.weight", "norm1_bias": "norm1.bias", "norm2_weight": "norm2.weight",
             "norm2_bias": "norm2.bias", "linear1_weight": "linear1.weight", "linear1_bias": "linear1.bias",
             "linear2_weight": "linear2.weight", "linear2_bias": "linear2.bias"}
    layer.load_state_dict({names[k]: v for k, v in params.items()})
    return layer


def pre_norm_block(x, params, num_heads):
    return _torch_layer(params, num_heads, norm_first=True)(x)


def post_norm_block(x, params, num_heads):
    return _torch_layer(params, num_heads, norm_first=False)(x)


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


CORRECT = {
    "03.split_heads": split_heads, "03.merge_heads": merge_heads, "03.mha_forward": mha_forward,
    "04.sinusoidal": sinusoidal_encoding, "04.offset_matrix": offset_matrix, "04.sincos_2d": sincos_2d,
    "05.layer_norm": layer_norm, "05.pre_norm_block": pre_norm_block, "05.post_norm_block": post_norm_block,
}

WRONG = {
    "03.split_heads": lambda x, num_heads: x.reshape(x.shape[0], num_heads, x.shape[1], -1),  # no transpose
    "03.merge_heads": lambda x: x.reshape(x.shape[0], x.shape[2], -1),  # no transpose
    "03.mha_forward": mha_wrong_scale,
    "04.sinusoidal": lambda num_positions, dim, base=10000.0: torch.cat(  # concatenated, not interleaved
        [sinusoidal_encoding(num_positions, dim, base)[:, 0::2], sinusoidal_encoding(num_positions, dim, base)[:, 1::2]], 1),
    "04.offset_matrix": lambda k, dim, base=10000.0: offset_matrix(k, dim, base).T,  # rotates the wrong way
    "04.sincos_2d": lambda grid_h, grid_w, dim, temperature=10000.0: torch.cat(  # row half first
        [sincos_2d(grid_h, grid_w, dim, temperature)[:, dim // 2:], sincos_2d(grid_h, grid_w, dim, temperature)[:, :dim // 2]], 1),
    "05.layer_norm": lambda x, weight, bias, eps: (x - x.mean(-1, keepdim=True))
    / torch.sqrt(x.var(-1, keepdim=True) + eps) * weight + bias,  # unbiased variance
    "05.pre_norm_block": post_norm_block,
    "05.post_norm_block": pre_norm_block,
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_solution_passes_visible_and_hidden(name):
    check(name, CORRECT[name], quiet=True)
    check(name, CORRECT[name], hidden=True, quiet=True)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistake_fails_with_hint(name):
    with pytest.raises(CheckFailed) as info:
        check(name, WRONG[name], hidden=True, quiet=True)
    assert "Hint:" in str(info.value)
    assert get_check(name).hint in str(info.value)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_unimplemented_fails_with_hint_not_crash(name):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(name, not_implemented, quiet=True)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_hidden_cases_vary_shapes(name):
    c = get_check(name)
    visible = {tuple(sorted((k, getattr(v, "shape", v)) for k, v in inp.items())) for _, inp in c.cases(False)}
    hidden = {tuple(sorted((k, getattr(v, "shape", v)) for k, v in inp.items())) for _, inp in c.cases(True)}
    assert hidden - visible, f"{name}: hidden cases repeat the visible shapes"


def test_exercise_conventions_match_the_package():
    """The exercises ask for the same layouts the lectures import from vitcourse."""
    import numpy as np

    from vitcourse import sincos_2d as package_sincos_2d
    from vitcourse import sinusoidal_encoding as package_sinusoidal
    from vitcourse.checks.ex04 import grid_2d_np, sinusoidal_np

    np.testing.assert_allclose(package_sinusoidal(17, 12).numpy(), sinusoidal_np(17, 12), atol=1e-6)
    np.testing.assert_allclose(package_sincos_2d(3, 5, 16, temperature=100.0).numpy(),
                               grid_2d_np(3, 5, 16, temperature=100.0), atol=1e-6)
