"""Cross-attention (lecture 07): vitcourse.attention.MultiHeadAttention with queries from one sequence and keys and
values from another, against torch.nn.MultiheadAttention; key padding masks; learned-query pooling; checks of
exercise 07."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vitcourse.attention import MultiHeadAttention, load_from_torch_mha
from vitcourse.blocks import DecoderBlock
from vitcourse.checks import CheckFailed, check, get_check


def pair(dim=8, heads=2, kdim=None, vdim=None, bias=True, seed=0):
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(dim, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=True).eval()
    for p in ref.parameters():  # non-zero biases, so that a missing bias would show
        nn.init.normal_(p, std=0.3)
    ours = MultiHeadAttention(dim, heads, qkv_bias=bias, kdim=kdim, vdim=vdim).eval()
    load_from_torch_mha(ours, ref)
    return ours, ref


# ----------------------------------------------------------------------------- parity with nn.MultiheadAttention


@pytest.mark.parametrize("nq, nk", [(3, 7), (7, 3), (1, 16), (5, 1)])
@pytest.mark.parametrize("fast", [True, False])
def test_cross_attention_matches_torch_with_different_query_and_key_lengths(nq, nk, fast):
    ours, ref = pair()
    ours.fast = fast
    q, ctx = torch.randn(2, nq, 8), torch.randn(2, nk, 8)
    out, attn = ours(q, ctx, return_attn=True)
    expected, expected_attn = ref(q, ctx, ctx, average_attn_weights=False)
    assert out.shape == (2, nq, 8) and attn.shape == (2, 2, nq, nk)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attn, expected_attn, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours(q, ctx), expected, rtol=1e-5, atol=1e-5)  # the path without weights


def test_cross_attention_with_kdim_and_vdim_matches_torch():
    ours, ref = pair(dim=12, heads=3, kdim=5, vdim=7)
    q, k, v = torch.randn(3, 4, 12), torch.randn(3, 9, 5), torch.randn(3, 9, 7)
    torch.testing.assert_close(ours(q, k, v), ref(q, k, v)[0], rtol=1e-5, atol=1e-5)
    assert ours.k_proj.weight.shape == (12, 5) and ours.v_proj.weight.shape == (12, 7)


@pytest.mark.parametrize("fast", [True, False])
def test_key_padding_mask_matches_torch_and_padded_keys_get_zero_weight(fast):
    ours, ref = pair(kdim=6, vdim=6)
    ours.fast = fast
    q, ctx = torch.randn(3, 4, 8), torch.randn(3, 6, 6)
    lengths = torch.tensor([6, 3, 1])
    pad = torch.arange(6)[None, :] >= lengths[:, None]  # (B, Nk) True = padding (PyTorch's key_padding_mask)
    out, attn = ours(q, ctx, key_mask=~pad, return_attn=True)  # ours: True = real key
    expected = ref(q, ctx, ctx, key_padding_mask=pad)[0]
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours(q, ctx, key_mask=~pad), expected, rtol=1e-5, atol=1e-5)
    assert attn.masked_select(pad[:, None, None, :].expand_as(attn)).abs().max() == 0
    torch.testing.assert_close(attn.sum(-1), torch.ones(3, 2, 4))
    # Padded context tokens can hold anything: the output does not change.
    garbage = torch.where(pad[..., None], 1e3 * torch.randn_like(ctx), ctx)
    torch.testing.assert_close(ours(q, garbage, key_mask=~pad), out, rtol=1e-5, atol=1e-5)


def test_one_sample_equals_its_unpadded_version():
    """Padding a short context to the batch length and masking it gives the same answer as no padding."""
    ours, _ = pair()
    q, ctx = torch.randn(1, 3, 8), torch.randn(1, 4, 8)
    padded = torch.cat([ctx, torch.randn(1, 5, 8)], dim=1)
    real = torch.tensor([[True] * 4 + [False] * 5])
    torch.testing.assert_close(ours(q, padded, key_mask=real), ours(q, ctx), rtol=1e-5, atol=1e-5)


def test_each_query_is_answered_independently_and_keys_are_a_set():
    """Queries do not see each other (permuting them permutes outputs); permuting key-value pairs changes nothing."""
    ours, _ = pair()
    q, ctx = torch.randn(2, 5, 8), torch.randn(2, 6, 8)
    pq, pk = torch.randperm(5), torch.randperm(6)
    out = ours(q, ctx)
    torch.testing.assert_close(ours(q[:, pq], ctx), out[:, pq], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours(q, ctx[:, pk]), out, rtol=1e-5, atol=1e-5)


def test_self_attention_is_cross_attention_with_the_same_source():
    ours, _ = pair()
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(ours(x), ours(x, x, x))


def test_learned_query_pooling_gets_gradients_and_reads_the_right_token():
    """Learned queries (nn.Parameter) pool a variable set of tokens; gradients reach the queries."""
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 1)
    queries = nn.Parameter(torch.randn(1, 3, 8))
    tokens = torch.randn(4, 10, 8)
    pooled, w = attn(queries.expand(4, -1, -1), tokens, return_attn=True)
    assert pooled.shape == (4, 3, 8) and w.shape == (4, 1, 3, 10)
    pooled.sum().backward()
    assert queries.grad is not None and queries.grad.abs().sum() > 0
    assert all(p.grad is not None for p in attn.parameters())
    # A query equal to a (projected) key direction scaled up attends to that token almost only.
    with torch.no_grad():
        k = attn.k_proj(tokens[:1])  # (1, 10, 8)
        target = k[0, 7] - k[0].mean(0)
        q_raw = torch.linalg.lstsq(attn.q_proj.weight, (50 * target - attn.q_proj.bias)[:, None]).solution[:, 0]
        w = attn(q_raw[None, None], tokens[:1], return_attn=True)[1]
    assert w[0, 0, 0].argmax() == 7 and w[0, 0, 0, 7] > 0.9


def test_decoder_block_cross_attention_reads_memory_of_another_length_with_a_mask():
    torch.manual_seed(0)
    block = DecoderBlock(8, 2, mlp_dim=16).eval()
    tgt, memory = torch.randn(2, 3, 8), torch.randn(2, 11, 8)
    real = torch.ones(2, 11, dtype=torch.bool)
    real[1, 6:] = False
    out, maps = block(tgt, memory, memory_key_mask=real, return_attn=True)
    assert out.shape == (2, 3, 8)
    assert maps["cross"].shape == (2, 2, 3, 11) and maps["self"].shape == (2, 2, 3, 3)
    assert maps["cross"][1, :, :, 6:].abs().max() == 0


# ----------------------------------------------------------------------------- errors


def test_bad_inputs_are_clear_errors():
    ours, _ = pair(kdim=6, vdim=6)
    q = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"key must have shape \(B, N, 6\)"):
        ours(q, torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match="same batch size"):
        ours(q, torch.randn(3, 5, 6))
    with pytest.raises(ValueError, match="key and value must have the same number of tokens"):
        ours(q, torch.randn(2, 5, 6), torch.randn(2, 4, 6))
    with pytest.raises(ValueError, match="key_mask"):
        ours(q, torch.randn(2, 5, 6), key_mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must have shape \(Nq, Nk\) = \(3, 5\)"):
        ours(q, torch.randn(2, 5, 6), mask=torch.ones(5, 3, dtype=torch.bool))


# ----------------------------------------------------------------------------- exercise 07 checks


def cross_attention(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    """A correct solution on torch.nn.MultiheadAttention (independent of the NumPy reference)."""
    D, Dc = w_q.shape[0], w_k.shape[1]
    mha = nn.MultiheadAttention(D, num_heads, bias=False, kdim=Dc, vdim=Dc, batch_first=True)
    with torch.no_grad():
        if Dc == D:
            mha.in_proj_weight.copy_(torch.cat([w_q, w_k, w_v]))
        else:
            mha.q_proj_weight.copy_(w_q)
            mha.k_proj_weight.copy_(w_k)
            mha.v_proj_weight.copy_(w_v)
        mha.out_proj.weight.copy_(w_o)
    return mha(query, context, context, key_padding_mask=~key_mask, need_weights=False)[0]  # PyTorch: True = pad


def cross_attention_no_mask(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    return cross_attention(query, context, w_q, w_k, w_v, w_o, torch.ones_like(key_mask), num_heads)


def cross_attention_inverted_mask(query, context, w_q, w_k, w_v, w_o, key_mask, num_heads):
    # Mistake: treats True as "padding" (nn.MultiheadAttention's key_padding_mask). Keeps at least one key so no
    # row is fully masked.
    keep = ~key_mask
    keep[:, 0] = True
    return cross_attention(query, context, w_q, w_k, w_v, w_o, keep, num_heads)


def attention_pool(tokens, queries, w_k, w_v):
    k, v = tokens @ w_k.T, tokens @ w_v.T
    attn = torch.softmax(torch.einsum("qd,bnd->bqn", queries, k) / math.sqrt(tokens.shape[-1]), dim=-1)
    return attn @ v, attn


def attention_pool_softmax_over_queries(tokens, queries, w_k, w_v):
    k, v = tokens @ w_k.T, tokens @ w_v.T
    attn = torch.softmax(torch.einsum("qd,bnd->bqn", queries, k) / math.sqrt(tokens.shape[-1]), dim=1)
    return attn @ v, attn


@pytest.mark.usefixtures("torch_oracles")
def test_check_cross_attention_passes_a_correct_solution():
    check("07.cross_attention", cross_attention)
    check("07.cross_attention", cross_attention, hidden=True)


@pytest.mark.parametrize("wrong", [cross_attention_no_mask, cross_attention_inverted_mask])
@pytest.mark.usefixtures("torch_oracles")
def test_check_cross_attention_fails_mask_mistakes_with_the_hint(wrong):
    with pytest.raises(CheckFailed, match="Hint: Queries come from `query`"):
        check("07.cross_attention", wrong)


def test_check_cross_attention_cases_vary_shapes_and_keep_a_key_per_sample():
    c = get_check("07.cross_attention")
    visible = [inp for _, inp in c.cases()]
    hidden = [inp for _, inp in c.cases(hidden=True)]
    for inp in visible + hidden:
        assert inp["key_mask"].any(axis=1).all()
    assert any((~inp["key_mask"]).any() for inp in visible)
    assert {inp["context"].shape for inp in hidden} != {visible[0]["context"].shape}
    assert visible[0]["query"].shape[1] != visible[0]["context"].shape[1]  # N_q != N_kv


def test_check_attention_pool():
    check("07.attention_pool", attention_pool)
    check("07.attention_pool", attention_pool, hidden=True)
    with pytest.raises(CheckFailed, match="must sum to 1"):
        check("07.attention_pool", attention_pool_softmax_over_queries)
    with pytest.raises(CheckFailed, match="expected attention_pool to return a pair"):
        check("07.attention_pool", lambda tokens, queries, w_k, w_v: attention_pool(tokens, queries, w_k, w_v)[0])


def test_reference_matches_torch_on_a_random_case():
    from vitcourse.checks.ex07 import cross_attention_np

    rng = np.random.default_rng(0)
    inp = get_check("07.cross_attention").make_inputs(rng, hidden=True)
    got = cross_attention(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inp.items()})
    np.testing.assert_allclose(got.detach().numpy(), cross_attention_np(**inp), rtol=1e-4, atol=1e-5)
