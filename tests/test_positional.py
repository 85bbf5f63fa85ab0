"""vitcourse.positional: formulas against independent NumPy transcriptions, properties, errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vitcourse.positional import LearnedPositionalEmbedding, resize_grid_embedding, sincos_2d, sinusoidal_encoding

FEW = settings(max_examples=25, deadline=None)


def test_sinusoidal_matches_paper_formula_elementwise():
    N, D = 11, 8
    pe = sinusoidal_encoding(N, D)
    assert pe.shape == (N, D) and pe.dtype == torch.float32
    for pos in range(N):
        for i in range(D // 2):
            angle = pos / 10000 ** (2 * i / D)
            assert math.isclose(pe[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-6)
            assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-6)
    torch.testing.assert_close(sinusoidal_encoding(5, 4, base=100.0)[3, 2], torch.tensor(math.sin(3 / 10.0)))


@FEW
@given(offset=st.integers(0, 20), dim=st.sampled_from([2, 4, 16, 32]))
def test_sinusoidal_offset_is_a_fixed_linear_map(offset, dim):
    """PE[p + k] = R_k PE[p] for every p, with R_k a block rotation depending only on k."""
    pe = sinusoidal_encoding(40, dim).double()
    freq = 10000 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    R = torch.zeros(dim, dim, dtype=torch.float64)
    for i, f in enumerate(freq):
        c, s = math.cos(offset * f), math.sin(offset * f)
        R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[c, s], [-s, c]])  # [sin, cos](a+b)
    torch.testing.assert_close(pe[offset:], pe[:40 - offset] @ R.T, atol=1e-5, rtol=0)


def test_sinusoidal_similarity_depends_only_on_distance():
    pe = sinusoidal_encoding(64, 32)
    sim = pe @ pe.T  # (N, N)
    for k in (0, 1, 5, 13):
        diag = torch.diagonal(sim, offset=k)
        torch.testing.assert_close(diag, diag[:1].expand_as(diag), atol=1e-4, rtol=0)
    assert sim[0, 0] > sim[0, 1] > sim[0, 3]  # nearby positions are more similar


def test_sinusoidal_odd_dim_raises():
    with pytest.raises(ValueError, match=r"dim 7 must be even"):
        sinusoidal_encoding(10, 7)
    with pytest.raises(ValueError, match=r"num_positions must be >= 1, got 0"):
        sinusoidal_encoding(0, 8)


def test_learned_embedding_adds_and_learns():
    torch.manual_seed(0)
    emb = LearnedPositionalEmbedding(10, 6)
    assert emb.pos.shape == (1, 10, 6)
    assert 0.005 < emb.pos.std().item() < 0.05
    x = torch.randn(3, 7, 6, requires_grad=True)
    y = emb(x)
    torch.testing.assert_close(y - x, emb.pos[:, :7].expand(3, 7, 6))
    y.pow(2).sum().backward()
    assert emb.pos.grad is not None and emb.pos.grad[:, :7].abs().sum() > 0
    assert (emb.pos.grad[:, 7:] == 0).all()  # unused positions get no gradient
    with pytest.raises(ValueError, match=r"x has 11 tokens but the embedding has only num_positions=10"):
        emb(torch.randn(1, 11, 6))
    with pytest.raises(ValueError, match=r"x must have shape \(B, N, 6\), got \(1, 4, 5\)"):
        emb(torch.randn(1, 4, 5))


def _mae_2d_sincos(embed_dim, grid_h, grid_w):
    """MAE's get_2d_sincos_pos_embed (facebookresearch/mae util/pos_embed.py), transcribed in NumPy."""
    def one_d(d, pos):
        omega = np.arange(d // 2, dtype=np.float64) / (d / 2.0)
        omega = 1.0 / 10000**omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid = np.meshgrid(np.arange(grid_w, dtype=np.float64), np.arange(grid_h, dtype=np.float64))  # w first
    grid = np.stack(grid, axis=0).reshape(2, 1, grid_h, grid_w)
    emb_h = one_d(embed_dim // 2, grid[0])
    emb_w = one_d(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


@pytest.mark.parametrize("h,w,dim", [(4, 4, 16), (3, 5, 8), (14, 14, 64)])
def test_sincos_2d_matches_mae(h, w, dim):
    pe = sincos_2d(h, w, dim)
    assert pe.shape == (h * w, dim)
    np.testing.assert_allclose(pe.numpy(), _mae_2d_sincos(dim, h, w), atol=1e-6)


def test_sincos_2d_rows_and_columns():
    pe = sincos_2d(3, 4, 8).view(3, 4, 8)
    # the first half depends on the column only, the second half on the row only
    torch.testing.assert_close(pe[0, :, :4], pe[2, :, :4])
    torch.testing.assert_close(pe[:, 0, 4:], pe[:, 3, 4:])
    with pytest.raises(ValueError, match=r"dim 6 must be divisible by 4"):
        sincos_2d(3, 3, 6)


def test_resize_identity_prefix_and_shapes():
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 4 * 5, 8)
    same = resize_grid_embedding(pos, (4, 5), (4, 5), num_prefix_tokens=1)
    torch.testing.assert_close(same, pos, atol=1e-5, rtol=1e-5)
    big = resize_grid_embedding(pos, (4, 5), (8, 6), num_prefix_tokens=1)
    assert big.shape == (1, 1 + 48, 8)
    torch.testing.assert_close(big[:, :1], pos[:, :1], atol=0, rtol=0)  # class token untouched
    flat = resize_grid_embedding(pos[0, 1:], (4, 5), (2, 3), mode="bilinear")
    assert flat.shape == (6, 8)


def test_resize_keeps_constant_and_linear_structure():
    const = torch.full((9, 4), 2.5)
    torch.testing.assert_close(resize_grid_embedding(const, (3, 3), (7, 5)), torch.full((35, 4), 2.5))
    # a linear ramp along the columns stays a ramp (bilinear, interior points)
    h, w = 4, 8
    ramp = torch.arange(w, dtype=torch.float32).repeat(h, 1).reshape(h * w, 1)
    up = resize_grid_embedding(ramp, (h, w), (h, 2 * w), mode="bilinear").view(h, 2 * w)
    steps = up[:, 2:-2].diff(dim=1)
    torch.testing.assert_close(steps, torch.full_like(steps, 0.5))


def test_resize_errors():
    with pytest.raises(ValueError, match=r"pos has 10 tokens but num_prefix_tokens \+ h\*w = 0 \+ 3\*3 = 9"):
        resize_grid_embedding(torch.randn(10, 4), (3, 3), (4, 4))
    with pytest.raises(ValueError, match=r"mode must be"):
        resize_grid_embedding(torch.randn(9, 4), (3, 3), (4, 4), mode="area")
    with pytest.raises(ValueError, match=r"pos must have shape"):
        resize_grid_embedding(torch.randn(2, 9, 4), (3, 3), (4, 4))
    with pytest.raises(ValueError, match=r"antialias=True needs mode 'bicubic' or 'bilinear', got 'nearest'"):
        resize_grid_embedding(torch.randn(9, 4), (3, 3), (4, 4), mode="nearest", antialias=True)
    with pytest.raises(TypeError, match=r"antialias must be True or False, got 1"):
        resize_grid_embedding(torch.randn(9, 4), (3, 3), (4, 4), antialias=1)


def _timm_resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens=1, interpolation="bicubic",
                                 antialias=True):
    """timm's ``resample_abs_pos_embed`` (timm/layers/pos_embed.py), written out: timm is not installed."""
    posemb_prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    embed_dim, orig_dtype = posemb.shape[-1], posemb.dtype
    posemb = posemb.float().reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode=interpolation, antialias=antialias)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, embed_dim).to(orig_dtype)
    return torch.cat([posemb_prefix, posemb], dim=1)


@pytest.mark.parametrize("new", [(8, 6), (2, 3), (4, 5)])
def test_resize_antialias_matches_timm_and_pil(new):
    """antialias=True is timm's resampling; the default (no anti-aliasing) is Hugging Face's, and differs."""
    from PIL import Image  # a matplotlib dependency

    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 4 * 5, 3)
    ours = resize_grid_embedding(pos, (4, 5), new, num_prefix_tokens=1, antialias=True)
    torch.testing.assert_close(ours, _timm_resample_abs_pos_embed(pos, new, (4, 5)), rtol=0, atol=0)
    # an independent check: PyTorch's anti-aliased bicubic is PIL's (Keys kernel a=-0.5, support scaled when shrinking)
    grid = pos[0, 1:].reshape(4, 5, 3)
    for d in range(3):
        pil = np.asarray(Image.fromarray(grid[:, :, d].numpy()).resize((new[1], new[0]), Image.BICUBIC))
        torch.testing.assert_close(ours[0, 1:, d].reshape(new), torch.from_numpy(pil.copy()), rtol=1e-5, atol=1e-5)
    hf = resize_grid_embedding(pos, (4, 5), new, num_prefix_tokens=1)  # F.interpolate(size, bicubic), as HF
    if new != (4, 5):
        assert (hf - ours).abs().max() > 1e-2
