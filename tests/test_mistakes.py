"""Checks name the common mistakes of their task (issue 15, "feedback that diagnoses").

For every mistake a check lists (`Check.mistakes`), a wrong answer written the
way a learner would make exactly that mistake fails with the mistake's name,
in English and in Korean, and the message holds no line of the solution; a
right answer passes, and a wrong answer that is no listed mistake gets the
usual comparison only (nothing named).
"""
from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_messages import code_in  # a line of code in a message: the rule hints are held to

from vitcourse.catalogue import MESSAGES
from vitcourse.checks import CheckFailed, all_checks, check, compare_arrays, get_check
from vitcourse.messages import msg
from vitcourse.notebooks import ROOT

FOUND = re.compile(r"your output equals|출력이 다음과 같습니다")


# ----------------------------------------------------------------------------- wrong answers, one per mistake
# Each is the right answer with exactly one thing changed, as a learner would write it.

def relu_keeps_negatives(x):
    return torch.clamp(x, max=0)


def relu_mask(x):
    return (x > 0).to(x.dtype)


def relu_abs(x):
    return x.abs()


def _guarded(x, s):
    return torch.where(s > 0, x / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(x))


def row_normalize_columns(x):
    return _guarded(x, x.sum(dim=0, keepdim=True))


def row_normalize_zero_rows_nan(x):
    return x / x.sum(dim=-1, keepdim=True)


def row_normalize_length(x):
    return _guarded(x, x.norm(dim=-1, keepdim=True))


def _softmax(s, dim=-1):
    s = s - s.max(dim=dim, keepdim=True).values
    e = torch.exp(s)
    return e / e.sum(dim=dim, keepdim=True)


def softmax_axis(x, tau=1.0):
    return _softmax(x / tau, dim=0)


def softmax_unstable(x, tau=1.0):
    e = torch.exp(x / tau)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_no_tau(x, tau=1.0):
    return _softmax(x)


def softmax_tau_times(x, tau=1.0):
    return _softmax(x * tau)


def causal_mask_inverted(n):
    return ~torch.ones(n, n, dtype=torch.bool).tril()


def causal_mask_future(n):
    return torch.ones(n, n, dtype=torch.bool).triu()


def causal_mask_no_diagonal(n):
    return torch.ones(n, n, dtype=torch.bool).tril(-1)


def _masked_attention(q, k, v, mask, *, scale=None, inverted=False, dim=-1, guard=True):
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / (math.sqrt(d) if scale is None else scale)
    allowed = ~mask if inverted else mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    if not guard:
        w = _softmax(scores, dim)
        return w @ v, w
    alive = allowed.any(dim=-1, keepdim=True)
    w = _softmax(scores.masked_fill(~alive, 0.0), dim) * alive
    return w @ v, w


def masked_attention_no_scale(q, k, v, mask):
    return _masked_attention(q, k, v, mask, scale=1.0)


def masked_attention_scale_d(q, k, v, mask):
    return _masked_attention(q, k, v, mask, scale=q.shape[-1])


def masked_attention_inverted_mask(q, k, v, mask):
    return _masked_attention(q, k, v, mask, inverted=True)


def masked_attention_axis(q, k, v, mask):
    return _masked_attention(q, k, v, mask, dim=-2)


def masked_attention_nan_rows(q, k, v, mask):
    return _masked_attention(q, k, v, mask, guard=False)


def _self_attention(x, w_q, w_k, w_v, *, scale=None, dim=-1, allowed=None):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.transpose(-2, -1) / (math.sqrt(w_q.shape[1]) if scale is None else scale)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    return _softmax(scores, dim) @ v


def self_attention_no_scale(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, scale=1.0)


def self_attention_scale_D(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, scale=math.sqrt(x.shape[-1]))


def self_attention_axis(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, dim=-2)


def _tril(x):
    return torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()


def causal_self_attention_future(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, allowed=torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).triu())


def causal_self_attention_inverted(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, allowed=~_tril(x))


def causal_self_attention_no_scale(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, scale=1.0, allowed=_tril(x))


def causal_self_attention_scale_D(x, w_q, w_k, w_v):
    return _self_attention(x, w_q, w_k, w_v, scale=math.sqrt(x.shape[-1]), allowed=_tril(x))


def split_heads_by_reshape(x, num_heads):
    B, N, D = x.shape
    return x.reshape(B, num_heads, N, D // num_heads)


def split_heads_interleaved(x, num_heads):
    B, N, D = x.shape
    return x.reshape(B, N, D // num_heads, num_heads).permute(0, 3, 1, 2)


def _split(x, num_heads):
    B, N, D = x.shape
    return x.reshape(B, N, num_heads, D // num_heads).transpose(1, 2)


def _merge(x):
    B, H, N, Dh = x.shape
    return x.transpose(1, 2).reshape(B, N, H * Dh)


def merge_heads_by_reshape(x):
    B, H, N, Dh = x.shape
    return x.reshape(B, N, H * Dh)


def merge_heads_interleaved(x):
    B, H, N, Dh = x.shape
    return x.permute(0, 2, 3, 1).reshape(B, N, H * Dh)


def _mha(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, *, scale=None,
         out_t=False, split=_split, merge=_merge):
    D = x.shape[-1]
    q, k, v = (x @ in_proj_weight.T + in_proj_bias).chunk(3, dim=-1)
    q, k, v = (split(t, num_heads) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / (math.sqrt(D // num_heads) if scale is None else scale)
    out = merge(_softmax(scores) @ v)
    return out @ (out_proj_weight if out_t else out_proj_weight.T) + out_proj_bias


def mha_right(*args):
    return _mha(*args)


def mha_scale_D(*args):
    return _mha(*args, scale=math.sqrt(args[0].shape[-1]))


def mha_no_scale(*args):
    return _mha(*args, scale=1.0)


def mha_out_transposed(*args):
    return _mha(*args, out_t=True)


def mha_heads_by_reshape(*args):
    return _mha(*args, split=split_heads_by_reshape, merge=merge_heads_by_reshape)


def _named(fn):
    """mha_forward's parameter names (the harness calls it with keywords)."""
    def mha_forward(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads):
        return fn(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads)
    return mha_forward


def _sinusoidal(num_positions, dim, base, *, swapped=False, halves=False, pair_exponent=False):
    p = torch.arange(num_positions, dtype=torch.float64)[:, None]
    i = torch.arange(dim // 2, dtype=torch.float64)
    omega = base ** (-(i if pair_exponent else 2 * i) / dim)
    a, b = (torch.cos(p * omega), torch.sin(p * omega)) if swapped else (torch.sin(p * omega), torch.cos(p * omega))
    if halves:
        return torch.cat([a, b], dim=1)
    pe = torch.zeros(num_positions, dim, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = a, b
    return pe


def sinusoidal_swapped(num_positions, dim, base=10000.0):
    return _sinusoidal(num_positions, dim, base, swapped=True)


def sinusoidal_halves(num_positions, dim, base=10000.0):
    return _sinusoidal(num_positions, dim, base, halves=True)


def sinusoidal_frequency(num_positions, dim, base=10000.0):
    return _sinusoidal(num_positions, dim, base, pair_exponent=True)


def _offset(k, dim, base, *, transposed=False, pair_exponent=False):
    i = torch.arange(dim // 2, dtype=torch.float64)
    omega = base ** (-(i if pair_exponent else 2 * i) / dim)
    m = torch.zeros(dim, dim, dtype=torch.float64)
    c, s = torch.cos(k * omega), torch.sin(k * omega)
    if transposed:
        s = -s
    m[0::2, 0::2], m[0::2, 1::2], m[1::2, 0::2], m[1::2, 1::2] = (torch.diag(c), torch.diag(s), torch.diag(-s),
                                                                  torch.diag(c))
    return m


def offset_transposed(k, dim, base=10000.0):
    return _offset(k, dim, base, transposed=True)


def offset_frequency(k, dim, base=10000.0):
    return _offset(k, dim, base, pair_exponent=True)


def _grid(grid_h, grid_w, dim, temperature, *, rows_first=False, column_major=False):
    quarter = dim // 4
    omega = temperature ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    ys, xs = torch.arange(grid_h, dtype=torch.float64), torch.arange(grid_w, dtype=torch.float64)
    if column_major:
        x, y = torch.meshgrid(xs, ys, indexing="ij")
    else:
        y, x = torch.meshgrid(ys, xs, indexing="ij")
    ax, ay = x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega
    a, b = (ay, ax) if rows_first else (ax, ay)
    return torch.cat([a.sin(), a.cos(), b.sin(), b.cos()], dim=1)


def sincos_2d_rows_first(grid_h, grid_w, dim, temperature=10000.0):
    return _grid(grid_h, grid_w, dim, temperature, rows_first=True)


def sincos_2d_column_major(grid_h, grid_w, dim, temperature=10000.0):
    return _grid(grid_h, grid_w, dim, temperature, column_major=True)


def layer_norm_unbiased(x, weight, bias, eps=1e-5):
    return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) * weight + bias


def layer_norm_eps_outside(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    return (x - mu) / (x.var(dim=-1, keepdim=True, unbiased=False).sqrt() + eps) * weight + bias


def layer_norm_no_affine(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=False) + eps)


def _ln(x, params, i):
    return F.layer_norm(x, x.shape[-1:], params[f"norm{i}_weight"], params[f"norm{i}_bias"])


def _attn(x, p, h):
    return _mha(x, p["in_proj_weight"], p["in_proj_bias"], p["out_proj_weight"], p["out_proj_bias"], h)


def _mlp(x, p, act=F.gelu):
    return act(x @ p["linear1_weight"].T + p["linear1_bias"]) @ p["linear2_weight"].T + p["linear2_bias"]


def _pre(x, params, num_heads, *, act=F.gelu, residual_normed=False):
    z = _ln(x, params, 1)
    x = (z if residual_normed else x) + _attn(z, params, num_heads)
    z = _ln(x, params, 2)
    return (z if residual_normed else x) + _mlp(z, params, act)


def _post(x, params, num_heads, *, act=F.gelu):
    x = _ln(x + _attn(x, params, num_heads), params, 1)
    return _ln(x + _mlp(x, params, act), params, 2)


def pre_norm_block_post(x, params, num_heads):
    return _post(x, params, num_heads)


def pre_norm_block_residual_normed(x, params, num_heads):
    return _pre(x, params, num_heads, residual_normed=True)


def pre_norm_block_relu(x, params, num_heads):
    return _pre(x, params, num_heads, act=torch.relu)


def pre_norm_block_tanh_gelu(x, params, num_heads):
    return _pre(x, params, num_heads, act=lambda t: F.gelu(t, approximate="tanh"))


def post_norm_block_pre(x, params, num_heads):
    return _pre(x, params, num_heads)


def post_norm_block_relu(x, params, num_heads):
    return _post(x, params, num_heads, act=torch.relu)


def _patches(images, P, order):
    B, C, H, W = images.shape
    x = images.reshape(B, C, H // P, P, W // P, P).permute(*order)
    return x.reshape(B, (H // P) * (W // P), P * P * C)


def patchify_channels_first(images, patch_size):
    return _patches(images, patch_size, (0, 2, 4, 1, 3, 5))


def patchify_columns_first(images, patch_size):
    return _patches(images, patch_size, (0, 4, 2, 3, 5, 1))


def patchify_reshape(images, patch_size):
    B, C, H, W = images.shape
    return images.reshape(B, -1, patch_size * patch_size * C)


def patch_embedding_pixel_order(images, weight, bias):
    D, C, P, _ = weight.shape
    return _patches(images, P, (0, 2, 4, 3, 5, 1)) @ weight.reshape(D, -1).T + bias


def patch_embedding_no_bias(images, weight, bias):
    D, C, P, _ = weight.shape
    return _patches(images, P, (0, 2, 4, 3, 5, 1)) @ weight.permute(0, 2, 3, 1).reshape(D, -1).T


def _vit(images, params, num_heads, *, positions=True, pool="cls", final_norm=True):
    w = params["patch_embed.proj.weight"]
    D, C, P, _ = w.shape
    x = _patches(images, P, (0, 2, 4, 3, 5, 1)) @ w.permute(0, 2, 3, 1).reshape(D, -1).T + params[
        "patch_embed.proj.bias"]
    x = torch.cat([params["cls_token"].expand(x.shape[0], -1, -1), x], dim=1)
    if positions:
        x = x + params["pos_embed"]
    depth = len({k.split(".")[1] for k in params if k.startswith("blocks.")})
    for i in range(depth):
        p = {k[len(f"blocks.{i}."):]: v for k, v in params.items() if k.startswith(f"blocks.{i}.")}
        h = F.layer_norm(x, (D,), p["norm1.weight"], p["norm1.bias"], 1e-6)
        q, k, v = (_split(F.linear(h, p[f"attn.{n}_proj.weight"], p[f"attn.{n}_proj.bias"]), num_heads)
                   for n in "qkv")
        out = _merge(_softmax(q @ k.transpose(-2, -1) / math.sqrt(D // num_heads)) @ v)
        x = x + F.linear(out, p["attn.out_proj.weight"], p["attn.out_proj.bias"])
        h = F.layer_norm(x, (D,), p["norm2.weight"], p["norm2.bias"], 1e-6)
        x = x + F.linear(F.gelu(F.linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"])), p["mlp.fc2.weight"],
                         p["mlp.fc2.bias"])
    if final_norm:
        x = F.layer_norm(x, (D,), params["norm.weight"], params["norm.bias"], 1e-6)
    pooled = {"cls": x[:, 0], "mean": x[:, 1:].mean(dim=1), "all": x.mean(dim=1)}[pool]
    return F.linear(pooled, params["head.weight"], params["head.bias"])


def vit_forward_no_positions(images, params, num_heads):
    return _vit(images, params, num_heads, positions=False)


def vit_forward_mean_pool(images, params, num_heads):
    return _vit(images, params, num_heads, pool="mean")


def vit_forward_mean_of_all(images, params, num_heads):
    return _vit(images, params, num_heads, pool="all")


def vit_forward_no_final_norm(images, params, num_heads):
    return _vit(images, params, num_heads, final_norm=False)


def _cross(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads, *, inverted=False, scale=None):
    B, Nq, D = query.shape
    Nk = context.shape[1]
    H, Dh = num_heads, D // num_heads
    q = (query @ w_q.T).view(B, Nq, H, Dh).transpose(1, 2)
    k = (context @ w_k.T).view(B, Nk, H, Dh).transpose(1, 2)
    v = (context @ w_v.T).view(B, Nk, H, Dh).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / (math.sqrt(Dh) if scale is None else scale)
    padding = key_mask if inverted else ~key_mask
    scores = scores.masked_fill(padding[:, None, None, :], float("-inf"))
    return (_softmax(scores) @ v).transpose(1, 2).reshape(B, Nq, D) @ w_o.T


def cross_attention_inverted(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    return _cross(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads, inverted=True)


def cross_attention_scale_D(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    return _cross(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads, scale=math.sqrt(query.shape[-1]))


def cross_attention_no_scale(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    return _cross(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads, scale=1.0)


def attention_pool_no_scale(tokens, queries, w_k, w_v):
    attn = _softmax(torch.einsum("qd,bnd->bqn", queries, tokens @ w_k.T))
    return attn @ (tokens @ w_v.T), attn


def attention_pool_axis(tokens, queries, w_k, w_v):
    scores = torch.einsum("qd,bnd->bqn", queries, tokens @ w_k.T) / math.sqrt(tokens.shape[-1])
    attn = _softmax(scores, dim=-2)
    return attn @ (tokens @ w_v.T), attn


def _mixer(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight, norm2_bias,
           channel_w1, channel_b1, channel_w2, channel_b2, *, skips=True, channels_first=False):
    D = x.shape[-1]

    def token(z):
        z = F.layer_norm(z, (D,), norm1_weight, norm1_bias, 1e-6).transpose(1, 2)  # (B, D, N)
        return (F.gelu(z @ token_w1.T + token_b1) @ token_w2.T + token_b2).transpose(1, 2)

    def channel(z):
        z = F.layer_norm(z, (D,), norm2_weight, norm2_bias, 1e-6)
        return F.gelu(z @ channel_w1.T + channel_b1) @ channel_w2.T + channel_b2

    for step in ((channel, token) if channels_first else (token, channel)):
        x = (x if skips else 0.0) + step(x)
    return x


def mixer_block_no_skips(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight,
                         norm2_bias, channel_w1, channel_b1, channel_w2, channel_b2):
    return _mixer(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight, norm2_bias,
                  channel_w1, channel_b1, channel_w2, channel_b2, skips=False)


def mixer_block_channels_first(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight,
                               norm2_bias, channel_w1, channel_b1, channel_w2, channel_b2):
    return _mixer(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight, norm2_bias,
                  channel_w1, channel_b1, channel_w2, channel_b2, channels_first=True)


def box_full_size(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w, cy - h, cx + w, cy + h], dim=-1)


def box_corner(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx, cy, cx + w, cy + h], dim=-1)


def decoder_stage_up_first(x, skip, w_up, b_up, w1, b1, w2, b2):
    up = F.conv_transpose2d(x, w_up, b_up, stride=2)
    dh, dw = skip.shape[-2] - up.shape[-2], skip.shape[-1] - up.shape[-1]
    up = F.pad(up, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
    h = F.relu(F.conv2d(torch.cat([up, skip], dim=1), w1, b1, padding=1))
    return F.relu(F.conv2d(h, w2, b2, padding=1))


def _dice(pred, target, num_classes, absent):
    scores = torch.empty(num_classes, dtype=torch.float64)
    for c in range(num_classes):
        p, t = pred == c, target == c
        total = p.sum() + t.sum()
        scores[c] = 2 * (p & t).sum() / total if total > 0 else absent
    return scores


def dice_score_zero(pred, target, num_classes):
    return _dice(pred, target, num_classes, 0.0)


def dice_score_one(pred, target, num_classes):
    return _dice(pred, target, num_classes, 1.0)


#: (check, mistake key, wrong answer, hidden cases?): True runs the hidden cases instead of the visible ones.
#: Every mistake here is named on a visible case: the visible cases show every variant the hidden ones have
#: (tau, eps, a class absent from both, ...; tests/test_visible_cases.py).
WRONG = [
    ("00.relu", "mistake.00.relu.keeps_negatives", relu_keeps_negatives, False),
    ("00.relu", "mistake.00.relu.mask", relu_mask, False),
    ("00.relu", "mistake.00.relu.abs", relu_abs, False),
    ("00.row_normalize", "mistake.00.row_normalize.columns", row_normalize_columns, False),
    ("00.row_normalize", "mistake.00.row_normalize.zero_rows_nan", row_normalize_zero_rows_nan, False),
    ("00.row_normalize", "mistake.00.row_normalize.length", row_normalize_length, False),
    ("01.softmax", "mistake.01.softmax.axis", softmax_axis, False),
    ("01.softmax", "mistake.01.softmax.unstable", softmax_unstable, False),
    ("01.softmax", "mistake.01.softmax.no_tau", softmax_no_tau, False),
    ("01.softmax", "mistake.01.softmax.tau_times", softmax_tau_times, False),
    ("01.causal_mask", "mistake.01.causal_mask.inverted", causal_mask_inverted, False),
    ("01.causal_mask", "mistake.01.causal_mask.future", causal_mask_future, False),
    ("01.causal_mask", "mistake.01.causal_mask.no_diagonal", causal_mask_no_diagonal, False),
    ("01.masked_attention", "mistake.01.masked_attention.no_scale", masked_attention_no_scale, False),
    ("01.masked_attention", "mistake.01.masked_attention.scale_d", masked_attention_scale_d, False),
    ("01.masked_attention", "mistake.01.masked_attention.inverted_mask", masked_attention_inverted_mask, False),
    ("01.masked_attention", "mistake.01.masked_attention.axis", masked_attention_axis, False),
    ("01.masked_attention", "mistake.01.masked_attention.nan_rows", masked_attention_nan_rows, False),
    ("02.self_attention", "mistake.02.no_scale", self_attention_no_scale, False),
    ("02.self_attention", "mistake.02.scale_D", self_attention_scale_D, False),
    ("02.self_attention", "mistake.02.axis", self_attention_axis, False),
    ("02.causal_self_attention", "mistake.02.causal_future", causal_self_attention_future, False),
    ("02.causal_self_attention", "mistake.02.causal_future", causal_self_attention_inverted, False),
    ("02.causal_self_attention", "mistake.02.no_scale", causal_self_attention_no_scale, False),
    ("02.causal_self_attention", "mistake.02.scale_D", causal_self_attention_scale_D, False),
    ("03.split_heads", "mistake.03.split_by_reshape", split_heads_by_reshape, False),
    ("03.split_heads", "mistake.03.split_interleaved", split_heads_interleaved, False),
    ("03.merge_heads", "mistake.03.merge_by_reshape", merge_heads_by_reshape, False),
    ("03.merge_heads", "mistake.03.merge_interleaved", merge_heads_interleaved, False),
    ("03.mha_forward", "mistake.03.mha_scale_D", _named(mha_scale_D), False),
    ("03.mha_forward", "mistake.03.mha_no_scale", _named(mha_no_scale), False),
    ("03.mha_forward", "mistake.03.mha_out_transposed", _named(mha_out_transposed), False),
    ("03.mha_forward", "mistake.03.mha_heads_by_reshape", _named(mha_heads_by_reshape), False),
    ("04.sinusoidal", "mistake.04.sin_cos_swapped", sinusoidal_swapped, False),
    ("04.sinusoidal", "mistake.04.halves", sinusoidal_halves, False),
    ("04.sinusoidal", "mistake.04.frequency", sinusoidal_frequency, False),
    ("04.offset_matrix", "mistake.04.offset_transposed", offset_transposed, False),
    ("04.offset_matrix", "mistake.04.offset_frequency", offset_frequency, False),
    ("04.sincos_2d", "mistake.04.grid_rows_first", sincos_2d_rows_first, False),
    ("04.sincos_2d", "mistake.04.grid_column_major", sincos_2d_column_major, False),
    ("05.layer_norm", "mistake.05.layer_norm.unbiased", layer_norm_unbiased, False),
    ("05.layer_norm", "mistake.05.layer_norm.eps_outside", layer_norm_eps_outside, False),
    ("05.layer_norm", "mistake.05.layer_norm.no_affine", layer_norm_no_affine, False),
    ("05.pre_norm_block", "mistake.05.block_post_norm", pre_norm_block_post, False),
    ("05.pre_norm_block", "mistake.05.block_residual_normed", pre_norm_block_residual_normed, False),
    ("05.pre_norm_block", "mistake.05.block_activation", pre_norm_block_relu, False),
    ("05.pre_norm_block", "mistake.05.block_activation", pre_norm_block_tanh_gelu, False),
    ("05.post_norm_block", "mistake.05.block_pre_norm", post_norm_block_pre, False),
    ("05.post_norm_block", "mistake.05.block_activation", post_norm_block_relu, False),
    ("06.patchify", "mistake.06.patchify_channels_first", patchify_channels_first, False),
    ("06.patchify", "mistake.06.patchify_columns_first", patchify_columns_first, False),
    ("06.patchify", "mistake.06.patchify_reshape", patchify_reshape, False),
    ("06.patch_embedding", "mistake.06.embedding_pixel_order", patch_embedding_pixel_order, False),
    ("06.patch_embedding", "mistake.06.embedding_no_bias", patch_embedding_no_bias, False),
    ("06.vit_forward", "mistake.06.vit_no_positions", vit_forward_no_positions, False),
    ("06.vit_forward", "mistake.06.vit_mean_pool", vit_forward_mean_pool, False),
    ("06.vit_forward", "mistake.06.vit_mean_pool", vit_forward_mean_of_all, False),
    ("06.vit_forward", "mistake.06.vit_no_final_norm", vit_forward_no_final_norm, False),
    ("07.cross_attention", "mistake.07.inverted_key_mask", cross_attention_inverted, False),
    ("07.cross_attention", "mistake.07.scale_D", cross_attention_scale_D, False),
    ("07.cross_attention", "mistake.07.no_scale", cross_attention_no_scale, False),
    ("07.attention_pool", "mistake.07.pool_no_scale", attention_pool_no_scale, False),
    ("07.attention_pool", "mistake.07.pool_axis", attention_pool_axis, False),
    ("08.mixer_block", "mistake.08.no_skips", mixer_block_no_skips, False),
    ("08.mixer_block", "mistake.08.channels_first", mixer_block_channels_first, False),
    ("09.box_cxcywh_to_xyxy", "mistake.09.box_full_size", box_full_size, False),
    ("09.box_cxcywh_to_xyxy", "mistake.09.box_corner", box_corner, False),
    ("10.decoder_stage", "mistake.10.concat_order", decoder_stage_up_first, False),
    ("10.dice_score", "mistake.10.dice_absent", dice_score_zero, False),
    ("10.dice_score", "mistake.10.dice_absent", dice_score_one, False),
]

#: The exercises whose checks list mistakes, and must each have a wrong answer above per mistake.
COVERED = ("00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10")
NOTEBOOKS = {"00": "00_warmup", "01": "01_attention", "02": "02_self_attention", "03": "03_multi_head_attention",
             "04": "04_positional_encoding", "05": "05_transformer_block", "06": "06_vision_transformer",
             "07": "07_cross_attention", "08": "08_mlp_mixer", "09": "09_detr",
             "10": "10_unet"}


def _solution_lines(name: str) -> list[str]:
    """The code lines of the solution cells of check ``name``'s exercise (between BEGIN and END SOLUTION)."""
    nb = nbformat.read(ROOT / "solutions" / f"{NOTEBOOKS[name[:2]]}.ipynb", as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "### BEGIN SOLUTION" not in cell.source:
            continue
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                inside = "BEGIN" in line
                continue
            code = line.split("#", 1)[0].strip()
            if inside and len(code) >= 8:
                lines.append(code)
    assert lines, name
    return lines


def _fail(name, fn, hidden):
    with pytest.raises(CheckFailed) as info:
        check(name, fn, hidden=hidden, seeds=range(1000, 1005) if hidden else None, quiet=True, hint=1)
    return str(info.value)


def test_every_listed_mistake_has_a_wrong_answer_here_and_a_message_in_both_languages():
    listed = {(name, key) for name, c in all_checks().items() if name[:2] in COVERED for key, _ in c.mistakes}
    tested = {(name, key) for name, key, _, _ in WRONG}
    assert listed == tested, (listed ^ tested)
    for name, c in all_checks().items():  # exercises 00-05: every check names at least two mistakes
        if name[:2] <= "05":
            assert len({k for k, _ in c.mistakes}) >= 2, f"{name} names fewer than two mistakes"
    used = {key for c in all_checks().values() for key, _ in c.mistakes}
    defined = {k for k in MESSAGES if k.startswith("mistake.") and k != "mistake.found"}
    assert used == defined, (used ^ defined)
    for key in used | {"mistake.found", "grade.hidden_mistake"}:
        assert set(MESSAGES[key]) == {"en", "ko"}, key


@pytest.mark.parametrize("name, key, fn, hidden", WRONG, ids=[f"{k}-{f.__name__}" for _, k, f, _ in WRONG])
def test_a_mistake_fails_with_its_name_and_no_line_of_the_solution(english, name, key, fn, hidden):
    text = _fail(name, fn, hidden)
    assert msg("mistake.found", mistake=msg(key)) in text, text
    leaked = [line for line in _solution_lines(name) if line in text]
    assert not leaked, leaked
    for lang in ("en", "ko"):
        assert not code_in(MESSAGES[key][lang]), (key, lang)


@pytest.mark.parametrize("name, key, fn, hidden", WRONG[::3], ids=[f"{k}-{f.__name__}" for _, k, f, _ in WRONG[::3]])
def test_a_mistake_is_named_in_korean(english, monkeypatch, name, key, fn, hidden):
    monkeypatch.setenv("VITCOURSE_LANG", "ko")
    text = _fail(name, fn, hidden)
    assert msg("mistake.found", mistake=msg(key, lang="ko"), lang="ko") in text, text
    assert "출력이 다음과 같습니다" in text and "your output" not in text


def test_every_mistake_differs_from_the_right_answer_on_some_case():
    """A listed mistake that gives the right answer on every case would be no mistake (and never named)."""
    for name, c in all_checks().items():
        for key, make in c.mistakes:
            cases = c.cases() + c.cases(hidden=True)
            with np.errstate(all="ignore"):
                differs = [bool(compare_arrays(make(inputs), c.reference(inputs), rtol=c.rtol, atol=c.atol))
                           for _, inputs in cases if _applies(make, inputs)]
            assert any(differs), (name, key)


def _applies(make, inputs) -> bool:
    try:
        make(inputs)
    except Exception:  # noqa: BLE001 - a mistake that cannot happen on this case (e.g. no second axis)
        return False
    return True


def _perturbed(value, rng):
    """A wrong answer that is no listed mistake: the right one with random noise (one flipped entry for bools)."""
    if isinstance(value, list):
        return [_perturbed(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: _perturbed(v, rng) for k, v in value.items()}
    value = np.array(value)
    if value.dtype == bool:
        value.flat[int(rng.integers(value.size))] ^= True
        return value
    return (value + rng.normal(0, 0.3, size=value.shape)).astype(value.dtype)


def _float32(value):
    if isinstance(value, list):
        return [_float32(v) for v in value]
    if isinstance(value, dict):
        return {k: _float32(v) for k, v in value.items()}
    return value.astype(np.float32) if value.dtype.kind == "f" else value


def test_a_random_wrong_answer_is_not_named_and_a_right_one_passes():
    rng = np.random.default_rng(0)
    for name, c in all_checks().items():
        if not c.mistakes:
            continue
        for _, inputs in c.cases() + c.cases(hidden=True):
            right = _float32(c.reference(inputs))  # float32 like the learner's tensors (relu keeps x's dtype)
            wrong = _perturbed(right, rng)
            if c.runner == "permuted":
                right = {"out": right, "out_perm": right[:, inputs["perm"]]}
                wrong = {"out": wrong, "out_perm": wrong[:, inputs["perm"]]}
            elif c.runner == "future_changed":
                right = {"out": right, "out_changed_future": right}
                wrong = {"out": wrong, "out_changed_future": wrong}
            assert c.verdict(right, inputs) == ([], None), name
            failures, key = c.verdict(wrong, inputs)
            assert failures and key is None, (name, failures)
            assert not any(FOUND.search(f) for f in failures), (name, failures)


def test_a_wrong_answer_that_is_no_listed_mistake_gets_the_comparison_only(english):
    text = _fail("03.mha_forward", _named(lambda *a: mha_right(*a) * 1.1), False)
    assert "values differ" in text and not FOUND.search(text), text
    text = _fail("01.causal_mask", lambda n: torch.eye(n, dtype=torch.bool), False)
    assert not FOUND.search(text), text
    check("03.mha_forward", _named(mha_right), quiet=True)  # the right answer, written the same way, passes


def test_a_mistake_function_that_fails_names_nothing():
    class Broken(type(get_check("00.relu"))):
        mistakes = (("mistake.00.relu.abs", lambda i: 1 / 0), ("mistake.00.relu.mask", lambda i: i["missing"]))

    c = Broken()
    _, inputs = c.cases()[0]
    assert c.diagnose(np.abs(inputs["x"]), inputs) is None
    failures, key = c.verdict(np.abs(inputs["x"]), inputs)
    assert failures and key is None


@pytest.mark.slow
def test_the_grader_names_the_mistake_in_its_reason_with_the_same_columns(english, tmp_path):
    from grading_attacks import student_version
    from sandbox_available import ISOLATION, WHY

    from vitcourse.grading import Grader, Row, discover

    if ISOLATION is None:
        pytest.skip(f"the grader's sandbox is unavailable here: {WHY}")
    wrong = {
        "softmax": "def softmax(x, tau=1.0):\n    s = x - x.max(dim=-1, keepdim=True).values\n"
                   "    e = torch.exp(s)\n    return e / e.sum(dim=-1, keepdim=True)\n",  # tau ignored: visible
        # right for the visible sizes (n <= 5), the future allowed for the hidden ones: named on hidden cases only
        "causal_mask": "def causal_mask(n):\n    m = torch.ones(n, n, dtype=torch.bool)\n"
                       "    return m.tril() if n <= 5 else m.triu()\n",
    }
    path = tmp_path / "lee_01_attention.ipynb"
    path.write_text(nbformat.writes(student_version(ROOT / "solutions" / "01_attention.ipynb", wrong)),
                    encoding="utf-8")
    with Grader(seed=3) as g:
        rows = {r.task: r for r in g.grade_all(discover([path]))}
    assert Row.FIELDS == ("student", "exercise", "task", "points", "max_points", "status", "reason",
                          "pending_points", "flags", "checks", "submission", "sha256", "grader_version", "isolation")
    mask, soft = rows["test_causal_mask"], rows["test_softmax"]
    assert mask.status == "failed" and soft.status == "failed" and mask.points == soft.points == 0
    assert soft.reason == msg("case.visible", i=1, n=3) + ": " + msg(
        "mistake.found", mistake=msg("mistake.01.softmax.no_tau")), soft.reason
    call = "check('01.causal_mask', causal_mask, hidden=True)"
    assert mask.reason == msg("grade.hidden_mistake", target="causal_mask", call=call,
                              found=msg("mistake.found", mistake=msg("mistake.01.causal_mask.future"))), mask.reason
    for name, c in all_checks().items():  # every such reason fits the gradebook's cell (300, a case's 220) whole
        for key, _ in c.mistakes:
            for lang in ("en", "ko"):
                found = msg("mistake.found", mistake=msg(key, lang=lang), lang=lang)
                call = f"check({name!r}, {c.target}, hidden=True)"
                assert len(msg("grade.hidden_mistake", target=c.target, found=found, call=call, lang=lang)) <= 300
                assert len(found) <= 220, key
    assert rows["test_masked_attention"].status == "passed"
    for text in (mask.reason, soft.reason):
        assert not [line for line in _solution_lines("01.softmax") if line in text]


def test_the_solution_line_search_finds_a_leaked_line():
    lines = _solution_lines("01.masked_attention")
    assert "scores = scores.masked_fill(~mask, float(\"-inf\"))" in lines
    leaked = "✘ 01.masked_attention failed: try scores = scores.masked_fill(~mask, float(\"-inf\"))"
    assert [line for line in lines if line in leaked]
    assert code_in(leaked)
