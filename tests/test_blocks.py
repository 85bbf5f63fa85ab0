"""vitcourse.blocks: parity with nn.TransformerEncoderLayer / nn.TransformerDecoderLayer, gradients, errors."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitcourse.blocks import MLP, DecoderBlock, PostNormBlock, PreNormBlock

FEW = settings(max_examples=15, deadline=None)


def _randomise(module):
    """PyTorch initialises biases and LayerNorm to 0/1: perturb them so the parity test sees every term."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return module


@FEW
@given(seed=st.integers(0, 10_000), norm_first=st.booleans(), N=st.integers(1, 7), heads=st.sampled_from([1, 2, 4]),
       masks=st.sampled_from(["none", "kpm", "attn", "both"]), activation=st.sampled_from(["gelu", "relu"]))
def test_encoder_blocks_match_torch(seed, norm_first, N, heads, masks, activation):
    torch.manual_seed(seed)
    ref = _randomise(nn.TransformerEncoderLayer(16, heads, dim_feedforward=24, dropout=0.0, activation=activation,
                                                batch_first=True, norm_first=norm_first)).eval()
    cls = PreNormBlock if norm_first else PostNormBlock
    ours = cls.from_torch(ref).eval()
    assert isinstance(ours, cls)
    x = torch.randn(2, N, 16)
    kpm = am = None
    if masks in ("kpm", "both"):
        kpm = torch.rand(2, N) < 0.4
        kpm[:, 0] = False
    if masks in ("attn", "both"):
        am = torch.rand(N, N) < 0.4
        am[:, 0] = False
    want = ref(x, src_mask=am, src_key_padding_mask=kpm)
    # the boundary: PyTorch's bool masks are True = NOT allowed, ours True = may attend
    km, m = (None if kpm is None else ~kpm), (None if am is None else ~am)
    got = ours(x, mask=m, key_mask=km)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    got2, attn = ours(x, mask=m, key_mask=km, return_attn=True)
    torch.testing.assert_close(got2, want, atol=1e-5, rtol=1e-5)
    assert attn.shape == (2, heads, N, N)


def test_blocks_constructor_matches_torch_layer_shapes():
    """A block built directly has the parameter count of the PyTorch layer it mirrors."""
    ref = nn.TransformerEncoderLayer(32, 4, dim_feedforward=128, batch_first=True)
    for cls in (PreNormBlock, PostNormBlock):
        ours = cls(32, 4, mlp_ratio=4.0)
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
        assert isinstance(ours.mlp, MLP) and ours.mlp.fc1.out_features == 128
    assert PreNormBlock(32, 4, mlp_dim=50).mlp.fc1.out_features == 50


@FEW
@given(seed=st.integers(0, 10_000), Q=st.integers(1, 6), M=st.integers(1, 9), use_mask=st.booleans())
def test_decoder_block_matches_torch(seed, Q, M, use_mask):
    torch.manual_seed(seed)
    ref = _randomise(nn.TransformerDecoderLayer(16, 4, dim_feedforward=20, dropout=0.0, activation="relu",
                                                batch_first=True, norm_first=False)).eval()
    ours = DecoderBlock.from_torch(ref).eval()
    tgt, mem = torch.randn(2, Q, 16), torch.randn(2, M, 16)
    mkpm = tmask = None
    if use_mask:
        mkpm = torch.rand(2, M) < 0.4
        mkpm[:, 0] = False
        tmask = torch.ones(Q, Q, dtype=torch.bool).triu(1)  # causal, True = not allowed
    want = ref(tgt, mem, tgt_mask=tmask, memory_key_padding_mask=mkpm)
    smask, mkm = (None if tmask is None else ~tmask), (None if mkpm is None else ~mkpm)  # True = may attend
    got = ours(tgt, mem, self_mask=smask, memory_key_mask=mkm)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    got2, w = ours(tgt, mem, self_mask=smask, memory_key_mask=mkm, return_attn=True)
    torch.testing.assert_close(got2, want, atol=1e-5, rtol=1e-5)
    assert w["self"].shape == (2, 4, Q, Q) and w["cross"].shape == (2, 4, Q, M)
    if use_mask:
        assert (w["cross"][mkpm[:, None, None, :].expand_as(w["cross"])] == 0).all()


def test_decoder_positions_go_to_queries_and_keys_not_values():
    """DETR: with positions, the result equals attention on (tgt+pos, mem+pos) as q/k and (tgt, mem) as v."""
    torch.manual_seed(0)
    block = DecoderBlock(8, 2, mlp_dim=16).eval()
    tgt, mem = torch.randn(1, 3, 8), torch.randn(1, 5, 8)
    qpos, mpos = torch.randn(1, 3, 8), torch.randn(1, 5, 8)
    got = block(tgt, mem, query_pos=qpos, memory_pos=mpos)
    t = block.norm1(tgt + block.self_attn(tgt + qpos, tgt + qpos, tgt))
    t = block.norm2(t + block.cross_attn(t + qpos, mem + mpos, mem))
    t = block.norm3(t + block.mlp(t))
    torch.testing.assert_close(got, t)
    assert (got - block(tgt, mem)).abs().max() > 1e-3  # positions matter


def test_encoder_pos_added_to_queries_and_keys_only():
    torch.manual_seed(0)
    block = PostNormBlock(8, 2, mlp_dim=16).eval()
    x, pos = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    want = block.norm1(x + block.attn(x + pos, x + pos, x))
    want = block.norm2(want + block.mlp(want))
    torch.testing.assert_close(block(x, pos=pos), want)


@FEW
@given(seed=st.integers(0, 10_000), N=st.integers(2, 7), cls=st.sampled_from([PreNormBlock, PostNormBlock]))
def test_blocks_permutation_equivariant_without_positions(seed, N, cls):
    torch.manual_seed(seed)
    block = cls(12, 3, mlp_dim=20).eval()
    x = torch.randn(2, N, 12)
    perm = torch.randperm(N)
    torch.testing.assert_close(block(x[:, perm]), block(x)[:, perm], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [PreNormBlock, PostNormBlock, DecoderBlock])
def test_every_parameter_gets_a_gradient(cls):
    torch.manual_seed(0)
    block = cls(8, 2, mlp_dim=16)
    x = torch.randn(2, 5, 8)
    out = block(x, torch.randn(2, 6, 8)) if cls is DecoderBlock else block(x)
    assert out.shape == (2, 5, 8) and torch.isfinite(out).all()
    out.pow(2).sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fast_equals_explicit_in_blocks():
    torch.manual_seed(0)
    block = PreNormBlock(16, 4).eval()
    x = torch.randn(2, 9, 16)
    fast = block(x)
    block.attn.fast = False
    torch.testing.assert_close(block(x), fast, atol=1e-5, rtol=1e-5)


def test_mlp_and_errors():
    mlp = MLP(6, 10, 3, activation="relu")
    assert mlp(torch.randn(2, 4, 6)).shape == (2, 4, 3)
    with pytest.raises(ValueError, match=r"activation must be one of .* got 'swish'"):
        MLP(6, 10, activation="swish")
    with pytest.raises(ValueError, match=r"dim 10 is not divisible by num_heads 4"):
        PreNormBlock(10, 4)
    with pytest.raises(ValueError, match=r"PostNormBlock needs norm_first=False"):
        PostNormBlock.from_torch(nn.TransformerEncoderLayer(8, 2, norm_first=True))
    with pytest.raises(ValueError, match=r"mlp_dim must be >= 1, got 0"):
        PreNormBlock(8, 2, mlp_dim=0)
    with pytest.raises(TypeError, match=r"mlp_dim must be an integer, got 16.0 of type float"):
        PreNormBlock(8, 2, mlp_dim=16.0)
    with pytest.raises(TypeError, match=r"num_heads must be an integer, got True of type bool"):
        PreNormBlock(8, True)


def test_attention_dropout_follows_dropout_unless_given():
    """One rate for both by default, as nn.TransformerEncoderLayer; ``attn_dropout`` sets the weights' own rate."""
    x = torch.randn(2, 5, 8)
    torch.manual_seed(0)
    same = PreNormBlock(8, 2, dropout=0.5).train()
    assert same.attn.dropout == 0.5 and same.drop.p == 0.5
    _, attn = same(x, return_attn=True)
    assert (attn == 0).any()  # weights dropped
    apart = PreNormBlock(8, 2, dropout=0.5, attn_dropout=0.0).train()
    assert apart.attn.dropout == 0.0 and apart.drop.p == 0.5 and apart.mlp.drop1.p == 0.5
    _, attn = apart(x, return_attn=True)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 2, 5))  # no weight dropped
    assert PostNormBlock(8, 2, attn_dropout=0.25).attn.dropout == 0.25


def test_blocks_refuse_pytorch_mask_names():
    """nn.Transformer*Layer's mask names mean True = NOT allowed: refused with the conversion, never inverted."""
    x = torch.randn(2, 3, 8)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    for block in (PreNormBlock(8, 2), PostNormBlock(8, 2)):
        with pytest.raises(TypeError, match=r"takes key_mask=.*Fix: pass key_mask=~src_key_padding_mask"):
            block(x, src_key_padding_mask=pad)
        with pytest.raises(TypeError, match=r"takes mask=.*Fix: pass mask=~attn_mask"):
            block(x, attn_mask=torch.ones(3, 3, dtype=torch.bool).triu(1))
    dec = DecoderBlock(8, 2)
    with pytest.raises(TypeError, match=r"DecoderBlock takes memory_key_mask=.*"
                                        r"Fix: pass memory_key_mask=~memory_key_padding_mask"):
        dec(x, x, memory_key_padding_mask=pad)
    with pytest.raises(TypeError, match=r"takes self_mask=.*Fix: pass self_mask=~tgt_mask"):
        dec(x, x, tgt_mask=torch.ones(3, 3, dtype=torch.bool).triu(1))
