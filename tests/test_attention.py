"""vitcourse.attention: parity with PyTorch, invariants (hypothesis), error messages."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitcourse.attention import MultiHeadAttention, load_from_torch_mha, record_attention, scaled_dot_product_attention

FEW = settings(max_examples=25, deadline=None)


def _qkv(seed, B=2, H=3, Nq=5, Nk=7, Dk=8, Dv=6, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, Nq, Dk, generator=g, dtype=dtype)
    k = torch.randn(B, H, Nk, Dk, generator=g, dtype=dtype)
    v = torch.randn(B, H, Nk, Dv, generator=g, dtype=dtype)
    return q, k, v


def _rand_bool_mask(shape, seed, keep_one=True):
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(shape, generator=g) < 0.6
    if keep_one:
        m[..., 0] = True  # every row may attend somewhere: PyTorch's MHA gives NaN for an empty row
    return m


# ----------------------------------------------------------------------------- function parity


@FEW
@given(seed=st.integers(0, 10_000), Nq=st.integers(1, 9), Nk=st.integers(1, 9), Dk=st.integers(1, 16),
       Dv=st.integers(1, 16))
def test_sdpa_matches_torch_without_mask(seed, Nq, Nk, Dk, Dv):
    q, k, v = _qkv(seed, Nq=Nq, Nk=Nk, Dk=Dk, Dv=Dv)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                               atol=1e-6, rtol=1e-6)


@FEW
@given(seed=st.integers(0, 10_000), Nq=st.integers(1, 8), Nk=st.integers(1, 8),
       mask_shape=st.sampled_from(["full", "rows", "keys"]), keep_one=st.booleans())
def test_sdpa_matches_torch_bool_mask(seed, Nq, Nk, mask_shape, keep_one):
    q, k, v = _qkv(seed, Nq=Nq, Nk=Nk)
    shape = {"full": (2, 3, Nq, Nk), "rows": (Nq, Nk), "keys": (2, 1, 1, Nk)}[mask_shape]
    mask = _rand_bool_mask(shape, seed, keep_one)
    ours = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)
    assert not ours.isnan().any()


@FEW
@given(seed=st.integers(0, 10_000), Nq=st.integers(1, 8), Nk=st.integers(1, 8))
def test_sdpa_matches_torch_additive_mask(seed, Nq, Nk):
    q, k, v = _qkv(seed, Nq=Nq, Nk=Nk)
    g = torch.Generator().manual_seed(seed + 1)
    mask = torch.randn(Nq, Nk, generator=g) * 3
    mask[torch.rand(Nq, Nk, generator=g) < 0.3] = float("-inf")
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, mask),
                               F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("Nq,Nk", [(6, 6), (4, 7), (7, 4)])
def test_sdpa_matches_torch_causal_and_scale(Nq, Nk):
    q, k, v = _qkv(0, Nq=Nq, Nk=Nk)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, is_causal=True),
                               F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, scale=0.3),
                               F.scaled_dot_product_attention(q, k, v, scale=0.3), atol=1e-6, rtol=1e-6)


def test_sdpa_causal_weights_are_lower_triangular():
    q, k, v = _qkv(1, Nq=6, Nk=6)
    _, attn = scaled_dot_product_attention(q, k, v, is_causal=True, return_attn=True)
    assert (attn.triu(1) == 0).all()
    lower = torch.ones(6, 6, dtype=torch.bool).tril()
    assert (attn[..., lower] > 0).all()


def test_sdpa_written_out_by_hand():
    """The explicit formula softmax(q k^T / sqrt(d)) v, on numbers small enough to check."""
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    w0 = torch.tensor(1 / 2**0.5).exp() / (torch.tensor(1 / 2**0.5).exp() + 1)
    out, attn = scaled_dot_product_attention(q, k, v, return_attn=True)
    torch.testing.assert_close(attn, torch.stack([w0, 1 - w0])[None])
    torch.testing.assert_close(out, (10 * w0 + 20 * (1 - w0)).reshape(1, 1))


# ----------------------------------------------------------------------------- invariants


@FEW
@given(seed=st.integers(0, 10_000), Nq=st.integers(1, 8), Nk=st.integers(1, 8), scale=st.floats(0.01, 100.0))
def test_weights_non_negative_rows_sum_to_one(seed, Nq, Nk, scale):
    q, k, v = _qkv(seed, Nq=Nq, Nk=Nk)
    mask = _rand_bool_mask((Nq, Nk), seed)
    _, attn = scaled_dot_product_attention(q * scale, k, v, mask, return_attn=True)
    assert (attn >= 0).all()
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3, Nq))
    assert (attn[..., ~mask] == 0).all()  # masked keys get exactly zero weight


@FEW
@given(seed=st.integers(0, 10_000), dead_row=st.integers(0, 4), additive=st.booleans())
def test_fully_masked_row_is_zero_not_nan(seed, dead_row, additive):
    q, k, v = _qkv(seed, Nq=5, Nk=4)
    mask = _rand_bool_mask((5, 4), seed)
    mask[dead_row] = False
    if additive:
        mask = torch.zeros(5, 4).masked_fill(~mask, float("-inf"))
    q.requires_grad_(True)
    out, attn = scaled_dot_product_attention(q, k, v, mask, return_attn=True)
    assert not out.isnan().any() and not attn.isnan().any()
    assert (out[..., dead_row, :] == 0).all() and (attn[..., dead_row, :] == 0).all()
    out.sum().backward()
    assert torch.isfinite(q.grad).all()


def _explicit_before_lean(q, k, v, mask=None, is_causal=False):
    """The explicit path as it was before it was made lean (issue 16), kept verbatim as a reference."""
    scale = 1.0 / q.shape[-1] ** 0.5
    Nq, Nk = q.shape[-2], k.shape[-2]
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        causal = torch.ones(Nq, Nk, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    dead = torch.isneginf(scores).all(dim=-1, keepdim=True)
    attn = scores.masked_fill(dead, 0.0).softmax(dim=-1).masked_fill(dead, 0.0)
    return attn @ v, attn


def _mask_case(kind, seed, B=2, H=3, Nq=5, Nk=7):
    """(mask, is_causal) for one kind of masking; the 'dead' kinds have fully masked rows."""
    g = torch.Generator().manual_seed(seed)
    if kind == "none":
        return None, False
    if kind == "causal":
        return None, True
    if kind == "padding":  # (B, 1, 1, Nk), as MultiHeadAttention builds from a key_mask
        m = torch.rand(B, 1, 1, Nk, generator=g) < 0.7
        m[..., 0] = True
        return m, False
    if kind in ("dead_bool", "dead_additive", "dead_causal"):
        m = torch.rand(B, H, Nq, Nk, generator=g) < 0.5
        m[0, 1, 2] = False  # query 2 of head 1 of image 0 may attend to nothing
        m[1, :, 4] = False  # query 4 of image 1, every head
        if kind == "dead_additive":
            m = torch.zeros(B, H, Nq, Nk).masked_fill(~m, float("-inf"))
        return m, kind == "dead_causal"
    if kind == "extra_batch":  # the mask (like v) has a batch dimension that q and k lack (see _qkv_for)
        m = torch.rand(B, H, Nq, Nk, generator=g) < 0.5
        m[0, 2, 3] = False
        return m, False
    raise AssertionError(kind)


def _qkv_for(kind, seed, **kw):
    q, k, v = _qkv(seed, **kw)
    return (q[0], k[0], v) if kind == "extra_batch" else (q, k, v)  # q, k (H, N, Dk); v (B, H, Nk, Dv)


MASK_KINDS = ["none", "causal", "padding", "dead_bool", "dead_additive", "dead_causal", "extra_batch"]


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_explicit_path_equals_fused_kernel_and_its_gradients(kind, seed):
    """The explicit path is pinned to F.scaled_dot_product_attention: outputs and gradients, dead rows included."""
    q, k, v = _qkv_for(kind, seed)
    mask, causal = _mask_case(kind, seed)
    grads = []
    for fn in (scaled_dot_product_attention, None):
        qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
        if fn is None:
            batch = v.shape[:-2]  # PyTorch's kernel wants q and k with v's batch dimensions
            qe, ke = qq.expand(*batch, *q.shape[-2:]), kk.expand(*batch, *k.shape[-2:])
            if causal and mask is not None:  # PyTorch takes one or the other: combine them
                tril = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
                out = F.scaled_dot_product_attention(qe, ke, vv, attn_mask=mask & tril)
            else:
                out = F.scaled_dot_product_attention(qe, ke, vv, attn_mask=mask, is_causal=causal)
        else:
            out = fn(qq, kk, vv, mask, is_causal=causal)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        grads.append((out.detach(), qq.grad, kk.grad, vv.grad))
    for ours, ref, name in zip(grads[0], grads[1], ("out", "dq", "dk", "dv")):
        assert torch.isfinite(ours).all(), name
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5, msg=lambda m: f"{kind}, {name}: {m}")
    if kind.startswith("dead"):
        out = grads[0][0]
        assert (out[0, 1, 2] == 0).all() and (out[1, :, 4] == 0).all()


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("Dk", [4, 16, 64])
def test_explicit_path_unchanged_by_lean_rewrite(kind, Dk):
    """Bit for bit the numbers of the former explicit path when the scale 1/sqrt(Dk) is a power of two."""
    q, k, v = _qkv_for(kind, Dk, Dk=Dk)
    mask, causal = _mask_case(kind, Dk)
    want_out, want_attn = _explicit_before_lean(q, k, v, mask, causal)
    out, attn = scaled_dot_product_attention(q, k, v, mask, is_causal=causal, return_attn=True)
    torch.testing.assert_close(out, want_out, atol=0, rtol=0)
    torch.testing.assert_close(attn, want_attn, atol=0, rtol=0)


def test_explicit_path_close_to_former_one_for_any_width():
    """With a scale that is not a power of two, folding it into q changes only the last bits."""
    q, k, v = _qkv(7, Dk=10)
    mask, _ = _mask_case("dead_bool", 7)
    want_out, want_attn = _explicit_before_lean(q, k, v, mask)
    out, attn = scaled_dot_product_attention(q, k, v, mask, return_attn=True)
    torch.testing.assert_close(out, want_out, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(attn, want_attn, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_large_logits_stay_finite(dtype):
    q, k, v = _qkv(0, Dk=64, dtype=dtype)
    q = q * 200  # scores of order 200 * 8 * 8 = 1e4 after scaling: exp() would overflow in half precision
    k = k * 200
    out, attn = scaled_dot_product_attention(q, k, v, return_attn=True)
    assert out.dtype == dtype and attn.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(attn).all()
    torch.testing.assert_close(attn.float().sum(-1), torch.ones(2, 3, 5), atol=1e-2, rtol=0)
    ref = scaled_dot_product_attention(q.float(), k.float(), v.float())
    torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)


@FEW
@given(seed=st.integers(0, 10_000), N=st.integers(2, 8))
def test_self_attention_permutation_equivariant(seed, N):
    torch.manual_seed(seed)
    mha = MultiHeadAttention(12, 3).eval()
    x = torch.randn(2, N, 12)
    perm = torch.randperm(N)
    torch.testing.assert_close(mha(x[:, perm]), mha(x)[:, perm], atol=1e-6, rtol=1e-5)


def test_positions_break_permutation_equivariance():
    from vitcourse.positional import sinusoidal_encoding

    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3).eval()
    x = torch.randn(2, 6, 12)
    pe = sinusoidal_encoding(6, 12)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    y_perm = mha(x[:, perm] + pe)
    y = mha(x + pe)[:, perm]
    assert (y_perm - y).abs().max() > 1e-3


@FEW
@given(seed=st.integers(0, 10_000), Nq=st.integers(1, 7), Nk=st.integers(1, 7), use_kpm=st.booleans(),
       use_am=st.booleans(), float_am=st.booleans())
def test_fast_equals_explicit(seed, Nq, Nk, use_kpm, use_am, float_am):
    torch.manual_seed(seed)
    mha = MultiHeadAttention(16, 4, kdim=10, vdim=6).eval()
    x, m, mv = torch.randn(3, Nq, 16), torch.randn(3, Nk, 10), torch.randn(3, Nk, 6)
    km = torch.rand(3, Nk) < 0.6 if use_kpm else None  # True = real key
    am = None
    if use_am:
        am = torch.rand(Nq, Nk) < 0.6  # True = may attend
        if float_am:
            am = torch.randn(Nq, Nk).masked_fill(~am, float("-inf"))
    fast = mha(x, m, mv, key_mask=km, mask=am)
    explicit, attn = mha(x, m, mv, key_mask=km, mask=am, return_attn=True)
    assert attn.shape == (3, 4, Nq, Nk)
    torch.testing.assert_close(fast, explicit, atol=1e-5, rtol=1e-5)
    assert not fast.isnan().any()
    mha.fast = False
    torch.testing.assert_close(mha(x, m, mv, key_mask=km, mask=am), explicit, atol=0, rtol=0)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, kdim=5, vdim=3)
    for fast in (True, False):
        mha.fast = fast
        mha.zero_grad()
        mha(torch.randn(2, 4, 8), torch.randn(2, 6, 5), torch.randn(2, 6, 3)).pow(2).sum().backward()
        for name, p in mha.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


# ----------------------------------------------------------------------------- nn.MultiheadAttention parity


@FEW
@given(seed=st.integers(0, 10_000), B=st.integers(1, 3), Nq=st.integers(1, 7), Nk=st.integers(1, 7),
       heads=st.sampled_from([1, 2, 4]), cross=st.booleans(), bias=st.booleans(), mask_kind=st.sampled_from(
           ["none", "kpm", "bool2d", "float2d", "bool3d", "both"]))
def test_mha_matches_torch(seed, B, Nq, Nk, heads, cross, bias, mask_kind):
    torch.manual_seed(seed)
    D = 8
    kdim, vdim = (5, 7) if cross else (None, None)
    ref = nn.MultiheadAttention(D, heads, batch_first=True, bias=bias, kdim=kdim, vdim=vdim).eval()
    if bias:  # PyTorch initialises biases to zero: make them matter
        with torch.no_grad():
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
    ours = MultiHeadAttention.from_torch(ref).eval()
    if not cross:
        Nk = Nq
    x = torch.randn(B, Nq, D)
    k = torch.randn(B, Nk, kdim or D) if cross else x
    v = torch.randn(B, Nk, vdim or D) if cross else x
    kpm = am = None
    if mask_kind in ("kpm", "both"):
        kpm = torch.rand(B, Nk) < 0.4
        kpm[:, 0] = False  # PyTorch gives NaN for a query that sees no key
    if mask_kind in ("bool2d", "both"):
        am = torch.rand(Nq, Nk) < 0.4
        am[:, -1] = False
        if kpm is not None:
            am[:, 0] = False
    if mask_kind == "float2d":
        am = torch.randn(Nq, Nk)
    if mask_kind == "bool3d":
        am = torch.rand(B * heads, Nq, Nk) < 0.4
        am[..., 0] = False
    want, want_w = ref(x, k, v, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False)
    # the boundary: PyTorch's bool masks are True = NOT allowed, ours True = may attend; float masks are additive
    km = None if kpm is None else ~kpm
    m = None if am is None else (~am if am.dtype == torch.bool else am)
    got, got_w = ours(x, k, v, key_mask=km, mask=m, return_attn=True)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_w, want_w, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours(x, k, v, key_mask=km, mask=m), want, atol=1e-5, rtol=1e-5)


def test_mha_mask_layouts_agree():
    """(B, Nq, Nk), (B*H, Nq, Nk) and (B, H, Nq, Nk) masks mean the same thing when repeated over heads."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(3, 4, 8)
    m = torch.rand(3, 4, 4) < 0.6  # True = may attend
    m[..., 0] = True
    want = mha(x, mask=m.repeat_interleave(2, dim=0))  # (B*H, Nq, Nk), head index fastest
    torch.testing.assert_close(mha(x, mask=m), want)
    torch.testing.assert_close(mha(x, mask=m[:, None].expand(3, 2, 4, 4)), want)
    _, attn = mha(x, mask=m, return_attn=True)
    assert (attn[~m[:, None].expand(3, 2, 4, 4)] == 0).all()


def test_load_from_torch_mha_copies_into_existing_module():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(12, 3, batch_first=True).eval()
    ours = load_from_torch_mha(MultiHeadAttention(12, 3), ref).eval()
    x = torch.randn(2, 5, 12)
    torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="shapes differ"):
        load_from_torch_mha(MultiHeadAttention(12, 4), ref)


# ----------------------------------------------------------------------------- recording


def test_record_attention_collects_every_module_and_detaches_hooks():
    torch.manual_seed(0)
    model = nn.Sequential(MultiHeadAttention(8, 2), nn.Identity())

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = MultiHeadAttention(8, 2)
            self.b = MultiHeadAttention(8, 4)

        def forward(self, x, mem):
            return self.b(self.a(x), mem)

    model = Two().eval()
    x, mem = torch.randn(3, 5, 8), torch.randn(3, 9, 8)
    plain = model(x, mem)
    with record_attention(model) as maps:
        out = model(x, mem)
    assert list(maps) == ["a", "b"]
    assert maps["a"].shape == (3, 2, 5, 5) and maps["b"].shape == (3, 4, 5, 9)
    assert not maps["a"].requires_grad
    torch.testing.assert_close(maps["b"].sum(-1), torch.ones(3, 4, 5))
    torch.testing.assert_close(out, plain, atol=1e-5, rtol=1e-5)
    _, w = model.a(x, return_attn=True)
    torch.testing.assert_close(maps["a"], w.detach())
    assert all(not m._attn_recorders for m in (model.a, model.b))
    with record_attention(model.a) as maps:
        model.a(x)
    assert list(maps) == [""]


# ----------------------------------------------------------------------------- errors


def test_error_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"dim 10 is not divisible by num_heads 3"):
        MultiHeadAttention(10, 3)


def test_error_q_k_width_mismatch():
    with pytest.raises(ValueError, match=r"q width 4 and k width 5"):
        scaled_dot_product_attention(torch.randn(2, 3, 4), torch.randn(2, 6, 5), torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r"k with 6 and v with 5"):
        scaled_dot_product_attention(torch.randn(2, 3, 4), torch.randn(2, 6, 4), torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"key must have shape \(B, N, 8\), got \(2, 6, 5\)"):
        MultiHeadAttention(8, 2)(torch.randn(2, 3, 8), torch.randn(2, 6, 5))


def test_error_mask_shape_and_dtype():
    q = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 5\) cannot be broadcast to .*\(2, 3, 6\)"):
        scaled_dot_product_attention(q, torch.randn(2, 6, 4), torch.randn(2, 6, 4), torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must have dtype torch.bool .* got torch.int64"):
        scaled_dot_product_attention(q, q, q, torch.ones(3, 3, dtype=torch.long))
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"key_mask must have shape \(B, Nk\) = \(2, 3\), got \(2, 4\)|"
                                         r"key_mask of shape \(2, 4\) cannot be broadcast"):
        mha(x, key_mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must have shape \(Nq, Nk\) = \(3, 3\).* got \(4, 3\)"):
        mha(x, mask=torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must have dtype torch.bool .* got torch.int32"):
        mha(x, mask=torch.ones(3, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"key_mask must have dtype torch.bool .* got torch.int64"):
        mha(x, key_mask=torch.ones(2, 3, dtype=torch.long))


def test_error_float_zero_one_mask_where_bool_expected():
    q = torch.randn(2, 3, 4)
    keep = torch.tensor([[1.0, 1, 0], [1, 0, 0], [1, 1, 1]])  # 1 = may attend, as floats
    with pytest.raises(ValueError, match=r"mask is a float tensor of 0s and 1s .*ADDED to the scores.*"
                                         r"True = may attend.*mask\.bool\(\)"):
        scaled_dot_product_attention(q, q, q, keep)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"key_mask is a float tensor of 0s and 1s .*"
                                         r"True = real key.*key_mask\.bool\(\)"):
        mha(x, key_mask=torch.tensor([[1.0, 1, 0], [1, 1, 1]]))
    with pytest.raises(ValueError, match=r"mask is a float tensor of 0s and 1s .*True = may attend"):
        mha(x, mask=keep)
    with pytest.raises(ValueError, match=r"mask is a float tensor"):
        mha(x, mask=torch.ones(3, 3))


def test_additive_float_masks_are_accepted():
    """0/-inf masks, all-zero masks and general biases are additive, not mistaken for 0/1 masks."""
    q, k, v = _qkv(3, Nq=3, Nk=3)
    keep = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    additive = torch.zeros(3, 3).masked_fill(~keep, float("-inf"))
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, additive),
                               scaled_dot_product_attention(q, k, v, keep))
    for m in (torch.zeros(3, 3), torch.tensor([[0.0, 1.0, 2.0]] * 3), additive + keep.float()):
        torch.testing.assert_close(scaled_dot_product_attention(q, k, v, m),
                                   F.scaled_dot_product_attention(q, k, v, attn_mask=m), atol=1e-6, rtol=1e-6)
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 3, 8)
    real = torch.tensor([[True, True, False], [True, True, True]])
    torch.testing.assert_close(mha(x, key_mask=torch.zeros(2, 3).masked_fill(~real, float("-inf"))),
                               mha(x, key_mask=real))


def test_from_torch_without_bias_has_no_output_bias():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(8, 2, bias=False, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(ref).eval()
    assert ours.out_proj.bias is None and ours.q_proj.bias is None
    assert not any(name.endswith("bias") for name, _ in ours.named_parameters())
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0], atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="output bias but ours was built with out_bias=False"):
        load_from_torch_mha(MultiHeadAttention(8, 2, out_bias=False), nn.MultiheadAttention(8, 2, batch_first=True))
    with_bias = MultiHeadAttention(8, 2)  # loading a bias-free module into one with biases zeroes them
    load_from_torch_mha(with_bias, ref)
    assert (with_bias.out_proj.bias == 0).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_module_low_precision_large_inputs_stay_finite(dtype):
    torch.manual_seed(0)
    mha = MultiHeadAttention(64, 4).to(dtype).eval()
    x = (torch.randn(2, 9, 64) * 100).to(dtype)
    fast = mha(x)
    explicit, attn = mha(x, return_attn=True)
    assert torch.isfinite(fast).all() and torch.isfinite(explicit).all() and torch.isfinite(attn).all()
    torch.testing.assert_close(fast.float(), explicit.float(), atol=0.1, rtol=0.05)


def test_pytorch_mask_names_are_refused_with_the_conversion():
    """nn.MultiheadAttention's names take True = NOT allowed: passing them to ours must raise, never invert silently."""
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    with pytest.raises(TypeError, match=r"MultiHeadAttention takes key_mask= \(bool True = MAY attend.*"
                                        r"not key_padding_mask=.*True = NOT allowed.*"
                                        r"Fix: pass key_mask=~key_padding_mask"):
        mha(x, key_padding_mask=pad)
    with pytest.raises(TypeError, match=r"takes mask=.*not attn_mask=.*Fix: pass mask=~attn_mask"):
        mha(x, attn_mask=torch.ones(3, 3, dtype=torch.bool).triu(1))
    with pytest.raises(TypeError, match=r"Fix: pass mask=attn_mask \(a float mask is additive"):
        mha(x, attn_mask=torch.zeros(3, 3))
    # the conversion the message gives computes what nn.MultiheadAttention computes
    ref = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(ref).eval()
    torch.testing.assert_close(ours(x, key_mask=~pad), ref(x, x, x, key_padding_mask=pad)[0], atol=1e-5, rtol=1e-5)
