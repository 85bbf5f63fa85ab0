"""vitcourse.mixer: shapes, gradients, the paper's parameter counts, the transpose, errors; checks of exercise 08."""
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vitcourse.checks import CheckFailed, check, get_check
from vitcourse.mixer import MixerBlock, MixerConfig, MLPMixer
from vitcourse.vit import PatchEmbedding


def tiny(**kw):
    return MixerConfig.tiny_digits(**kw)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize("preset, expected", [("s16", 18_528_264), ("b16", 59_880_472), ("l16", 208_196_168)])
def test_paper_parameter_counts_on_meta_device(preset, expected):
    config = getattr(MixerConfig, preset)()
    assert (config.image_size, config.patch_size, config.num_classes) == (224, 16, 1000)
    with torch.device("meta"):  # no memory allocated, even for Mixer-L/16
        model = MLPMixer(config)
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == expected


def test_tiny_preset_is_close_to_the_vit_of_lecture_06():
    from vitcourse.vit import ViT, ViTConfig

    mixer = sum(p.numel() for p in MLPMixer(tiny()).parameters())
    vit = sum(p.numel() for p in ViT(ViTConfig.tiny_digits()).parameters())
    assert 0.8 < mixer / vit < 1.25, (mixer, vit)


def test_config_is_frozen_keyword_only_and_validated():
    c = tiny()
    assert c.num_patches == 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.dim = 3
    with pytest.raises(TypeError):
        MixerConfig(224, 16)  # keyword-only
    with pytest.raises(ValueError, match="image_size 30 is not divisible by patch_size 4"):
        MixerConfig(image_size=30, patch_size=4)
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        tiny(depth=0)
    with pytest.raises(TypeError, match="dim must be an integer"):
        tiny(dim=64.0)
    with pytest.raises(ValueError, match="dropout must be a number in"):
        tiny(dropout=1.5)
    with pytest.raises(TypeError, match="config must be a MixerConfig"):
        MLPMixer({"dim": 64})
    with pytest.raises(ValueError, match="activation must be 'gelu' or 'gelu_tanh', got 'relu'"):
        tiny(activation="relu")


def test_gelu_variant_is_selectable_and_the_repr_stays_as_recorded():
    """Exact GELU by default (PyTorch, timm); the paper's JAX code uses the tanh approximation."""
    assert repr(tiny()) == ("MixerConfig(image_size=16, patch_size=4, in_channels=1, num_classes=10, dim=64, depth=4, "
                            "token_mlp_dim=64, channel_mlp_dim=256, dropout=0.0, norm_eps=1e-06)")  # as in lecture 08
    assert repr(tiny(activation="gelu_tanh")).endswith("norm_eps=1e-06, activation='gelu_tanh')")
    torch.manual_seed(0)
    exact, approx = MLPMixer(tiny()).eval(), MLPMixer(tiny(activation="gelu_tanh")).eval()
    acts = [m.approximate for m in approx.modules() if isinstance(m, nn.GELU)]
    assert acts == ["tanh"] * 8 and all(m.approximate == "none" for m in exact.modules() if isinstance(m, nn.GELU))
    approx.load_state_dict(exact.state_dict())
    x = torch.randn(2, 1, 16, 16) * 3
    with torch.no_grad():
        assert (exact(x) - approx(x)).abs().max() > 1e-5
    block = MixerBlock(4, 8, 6, 10, activation="gelu_tanh")
    assert block.token_mlp.act.approximate == block.channel_mlp.act.approximate == "tanh"


# ----------------------------------------------------------------------------- block


def test_block_equals_the_formula_written_out():
    torch.manual_seed(0)
    B, N, D, S, C = 2, 5, 3, 7, 6
    block = MixerBlock(N, D, S, C)
    for p in block.parameters():  # non-trivial LayerNorm affine parameters too
        nn.init.normal_(p, std=0.5)
    x = torch.randn(B, N, D)
    y = F.layer_norm(x, (D,), block.norm1.weight, block.norm1.bias, eps=1e-6).transpose(1, 2)  # (B, D, N)
    t = F.linear(F.gelu(F.linear(y, block.token_mlp.fc1.weight, block.token_mlp.fc1.bias)),
                 block.token_mlp.fc2.weight, block.token_mlp.fc2.bias)  # (B, D, N)
    u = x + t.transpose(1, 2)
    z = F.layer_norm(u, (D,), block.norm2.weight, block.norm2.bias, eps=1e-6)
    expected = u + F.linear(F.gelu(F.linear(z, block.channel_mlp.fc1.weight, block.channel_mlp.fc1.bias)),
                            block.channel_mlp.fc2.weight, block.channel_mlp.fc2.bias)
    torch.testing.assert_close(block(x), expected)


def test_token_mixing_weights_have_the_patch_axis_and_channel_mixing_the_channel_axis():
    block = MixerBlock(num_patches=16, dim=8, token_mlp_dim=5, channel_mlp_dim=12)
    assert block.token_mlp.fc1.weight.shape == (5, 16)
    assert block.channel_mlp.fc1.weight.shape == (12, 8)


def test_token_mixing_mixes_patches_and_channel_mixing_does_not():
    torch.manual_seed(0)
    block = MixerBlock(6, 4, 8, 8)
    x = torch.randn(1, 6, 4, requires_grad=True)
    block(x)[0, 0].sum().backward()
    assert (x.grad[0, 1:].abs().sum(-1) > 0).all()  # patch 0's output depends on every other patch
    # Without token mixing, patches are independent: the channel MLP alone is per patch.
    x2 = torch.randn(1, 6, 4, requires_grad=True)
    block.channel_mlp(block.norm2(x2))[0, 0].sum().backward()
    assert x2.grad[0, 1:].abs().sum() == 0


def test_block_is_not_permutation_equivariant_unlike_attention():
    """Each patch position owns its token-mixing weights: shuffling patches does not just shuffle outputs."""
    torch.manual_seed(0)
    block = MixerBlock(6, 4, 8, 8)
    x = torch.randn(2, 6, 4)
    perm = torch.randperm(6)
    assert not torch.allclose(block(x[:, perm]), block(x)[:, perm], atol=1e-4)


def test_block_errors_name_the_problem():
    block = MixerBlock(16, 8, 4, 4)
    with pytest.raises(ValueError, match="x has 9 patches.*num_patches=16"):
        block(torch.randn(2, 9, 8))
    with pytest.raises(ValueError, match=r"x must have shape \(B, N, D\)"):
        block(torch.randn(16, 8))
    with pytest.raises(ValueError, match="num_patches must be >= 1"):
        MixerBlock(0, 8, 4, 4)


# ----------------------------------------------------------------------------- model


def test_forward_shapes_and_patch_embedding_is_the_vits():
    model = MLPMixer(tiny(num_classes=7))
    assert isinstance(model.patch_embed, PatchEmbedding)
    x = torch.rand(3, 1, 16, 16)
    assert model(x).shape == (3, 7)
    assert model.forward_features(x).shape == (3, 16, 64)
    assert len(model.blocks) == 4


def test_every_parameter_gets_a_finite_gradient():
    torch.manual_seed(0)
    model = MLPMixer(tiny(depth=2, in_channels=3, image_size=8, patch_size=2))
    loss = F.cross_entropy(model(torch.rand(4, 3, 8, 8)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_batched_equals_one_by_one():
    torch.manual_seed(0)
    model = MLPMixer(tiny()).eval()
    x = torch.rand(4, 1, 16, 16)
    torch.testing.assert_close(model(x), torch.cat([model(x[i:i + 1]) for i in range(4)]), rtol=1e-5, atol=1e-5)


def test_another_image_size_is_a_clear_error_not_silent_garbage():
    model = MLPMixer(tiny())
    with pytest.raises(ValueError, match=r"image size 32x32 does not match.*image_size=16.*tied to 16 patches.*64"):
        model(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="images have 3 channels, expected in_channels=1"):
        model(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"images must have shape \(B, C, H, W\)"):
        model(torch.rand(1, 16, 16))


def test_a_few_steps_of_training_lower_the_loss():
    from vitcourse import load_digits

    torch.manual_seed(0)
    data = load_digits(upscale=2)
    x, y = data.x_train[:64], data.y_train[:64]
    model = MLPMixer(tiny(depth=1, dim=32, token_mlp_dim=16, channel_mlp_dim=64))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = F.cross_entropy(model(x), y).item()
    for _ in range(20):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert F.cross_entropy(model(x), y).item() < 0.5 * first


# ----------------------------------------------------------------------------- exercise 08 checks


def mixer_block(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight, norm2_bias,
                channel_w1, channel_b1, channel_w2, channel_b2):
    """A correct solution written with torch.nn.functional only (independent of vitcourse.mixer)."""
    D = x.shape[-1]
    y = F.layer_norm(x, (D,), norm1_weight, norm1_bias, eps=1e-6).transpose(1, 2)
    x = x + F.linear(F.gelu(F.linear(y, token_w1, token_b1)), token_w2, token_b2).transpose(1, 2)
    z = F.layer_norm(x, (D,), norm2_weight, norm2_bias, eps=1e-6)
    return x + F.linear(F.gelu(F.linear(z, channel_w1, channel_b1)), channel_w2, channel_b2)


def mixer_block_no_transpose(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight,
                             norm2_bias, channel_w1, channel_b1, channel_w2, channel_b2):
    """Mistake: the token MLP applied per patch without the transpose (only runs when N == D)."""
    D = x.shape[-1]
    y = F.layer_norm(x, (D,), norm1_weight, norm1_bias, eps=1e-6)
    x = x + F.linear(F.gelu(F.linear(y, token_w1, token_b1)), token_w2, token_b2)
    z = F.layer_norm(x, (D,), norm2_weight, norm2_bias, eps=1e-6)
    return x + F.linear(F.gelu(F.linear(z, channel_w1, channel_b1)), channel_w2, channel_b2)


def mixer_block_post_norm(x, norm1_weight, norm1_bias, token_w1, token_b1, token_w2, token_b2, norm2_weight,
                          norm2_bias, channel_w1, channel_b1, channel_w2, channel_b2):
    """Mistake: normalising after the residual add."""
    D = x.shape[-1]
    t = F.linear(F.gelu(F.linear(x.transpose(1, 2), token_w1, token_b1)), token_w2, token_b2).transpose(1, 2)
    x = F.layer_norm(x + t, (D,), norm1_weight, norm1_bias, eps=1e-6)
    c = F.linear(F.gelu(F.linear(x, channel_w1, channel_b1)), channel_w2, channel_b2)
    return F.layer_norm(x + c, (D,), norm2_weight, norm2_bias, eps=1e-6)


def test_check_mixer_block_passes_a_correct_solution():
    check("08.mixer_block", mixer_block)
    check("08.mixer_block", mixer_block, hidden=True)


@pytest.mark.parametrize("wrong", [mixer_block_no_transpose, mixer_block_post_norm])
def test_check_mixer_block_fails_typical_mistakes_with_the_hint(wrong):
    with pytest.raises(CheckFailed, match="Hint: Token mixing first"):
        check("08.mixer_block", wrong)


def test_check_mixer_block_reports_not_implemented():
    def mixer_block_todo(**kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check("08.mixer_block", mixer_block_todo)


def test_check_train_mixer_judges_the_weights_on_images_the_student_never_sees():
    from vitcourse.mixer import MixerConfig, MLPMixer
    from vitcourse.vit import ViT, ViTConfig

    c = get_check("08.train_mixer")
    (_, inputs), = c.cases()
    assert set(inputs) == {"x_train", "y_train", "x_test", "y_test"}
    assert set(c.public_inputs(inputs)) == {"x_train", "y_train"}  # test images and labels stay trusted
    assert inputs["x_train"].shape[1:] == (1, 16, 16)
    # the held-out images are the split's test digits, dimmed and noised afresh: not the public pixels
    from vitcourse.data import load_digits
    assert not np.allclose(inputs["x_test"], load_digits(upscale=2).x_test.numpy())

    class Constant(nn.Module):  # no config: it cannot be rebuilt as a Mixer, whatever it predicts
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.tensor([1.0] + [0.0] * 9))

        def forward(self, x):
            return self.bias.expand(len(x), 10)

    with pytest.raises(TypeError, match="has no .config"):
        c.run(lambda x_train, y_train: Constant(), c.public_inputs(inputs))
    with pytest.raises(TypeError, match="must return the trained torch.nn.Module"):
        c.run(lambda x_train, y_train: "a model", c.public_inputs(inputs))
    untrained = MLPMixer(MixerConfig.tiny_digits(depth=1))
    got = c.run(lambda x_train, y_train: untrained, c.public_inputs(inputs))
    assert set(got) == {"config", "state"}
    failures = c.judge(got, inputs)
    assert failures and "below the required 0.95" in failures[0]
    vit = ViT(ViTConfig.tiny_digits())
    failures = c.judge(c.run(lambda x_train, y_train: vit, c.public_inputs(inputs)), inputs)
    assert failures and "cannot be rebuilt as the required architecture" in failures[0]
    got["state"] = {k: v[..., :1] for k, v in got["state"].items()}  # weights of another shape
    assert "do not fit the required architecture" in c.judge(got, inputs)[0]
    hidden = c.cases(hidden=True)[0][1]
    assert not np.array_equal(hidden["y_test"], inputs["y_test"])  # another split
