"""Tests of vitcourse.vit (paper parameter counts, patches, errors), vit_hf (Hugging Face and timm parity),
rollout (attention maps) and augment (random_affine)."""
import dataclasses

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from vitcourse.attention import record_attention
from vitcourse.augment import random_affine
from vitcourse.rollout import attention_rollout, cls_attention_grid
from vitcourse.vit import PatchEmbedding, ViT, ViTConfig, count_parameters, patchify, unpatchify
from vitcourse.vit_hf import vit_from_hf, vit_from_timm


def _transformers():
    """Hugging Face transformers, or skip the test that needs it (the others in this file run without it)."""
    return pytest.importorskip("transformers")


# Table 1 of the paper (and DeiT for Ti/S): 224 px, 1000 classes, class token, no pre-logits layer.
PAPER_COUNTS = {"ti16": 5_717_416, "s16": 22_050_664, "b16": 86_567_656, "b32": 88_224_232,
                "l16": 304_326_632, "h14": 632_045_800}


def small_config(**overrides) -> ViTConfig:
    return ViTConfig(**{**dict(image_size=32, patch_size=8, in_channels=3, num_classes=5, dim=32, depth=2,
                               num_heads=4, mlp_dim=64), **overrides})


def hf_model(image_size=32, patch_size=8, hidden=32, layers=2, heads=4, mlp=64, labels=5, seed=0, attn="sdpa",
             scale=0.3, hidden_act="gelu"):
    """A randomly initialised Hugging Face ViTForImageClassification with weights of a realistic size."""
    transformers = _transformers()
    cfg = transformers.ViTConfig(image_size=image_size, patch_size=patch_size, hidden_size=hidden,
                                 num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=mlp,
                                 num_labels=labels, attn_implementation=attn, hidden_act=hidden_act)
    torch.manual_seed(seed)
    model = transformers.ViTForImageClassification(cfg).eval()
    with torch.no_grad():  # HF's init (std 0.02) gives logits near zero; perturb so a mismatch shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize("name", sorted(PAPER_COUNTS))
def test_preset_parameter_counts_equal_paper(name):
    config = getattr(ViTConfig, name)()
    with torch.device("meta"):
        model = ViT(config)
    assert next(model.parameters()).device.type == "meta"  # nothing allocated
    assert sum(p.numel() for p in model.parameters()) == PAPER_COUNTS[name]
    assert count_parameters(config) == PAPER_COUNTS[name]


def test_tiny_digits_preset():
    c = ViTConfig.tiny_digits()
    assert (c.image_size, c.patch_size, c.in_channels, c.num_classes) == (16, 4, 1, 10)
    assert c.num_patches == 16 and c.num_tokens == 17 and c.head_dim == 16
    assert count_parameters(c) == 136_906


def test_config_is_frozen_keyword_only_and_overridable():
    c = ViTConfig.b16(num_classes=10)
    assert c.num_classes == 10 and c.dim == 768
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.dim = 10
    with pytest.raises(TypeError):
        ViTConfig(224, 16)  # noqa: keyword-only
    assert c.replace(image_size=384).grid_size == 24


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=30, patch_size=4), "image size 30 is not divisible by patch size 4"),
    (dict(dim=30, num_heads=4), "dim 30 is not divisible by num_heads 4"),
    (dict(pool="max"), "pool must be 'cls' or 'mean'"),
    (dict(pos_embedding="rope"), "pos_embedding must be"),
    (dict(pos_embedding="sincos", dim=6, num_heads=2), "divisible by 4"),
    (dict(depth=0), "depth must be >= 1, got 0"),
    (dict(num_classes=-1), "num_classes must be >= 0"),
    (dict(dropout=1.0), "dropout must be"),
    (dict(norm_eps=0.0), "norm_eps must be"),
    (dict(attn_dropout=1.0), "attn_dropout must be"),
    (dict(activation="swish"), "activation must be 'gelu' or 'gelu_tanh'"),
    (dict(pool="cls", class_token=False), "pool='cls' needs class_token"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_config(**kwargs)


def test_config_type_errors():
    with pytest.raises(TypeError, match="patch_size must be an integer"):
        small_config(patch_size=8.0)
    with pytest.raises(TypeError, match="config must be a ViTConfig"):
        ViT({"dim": 32})
    with pytest.raises(TypeError, match="fc_norm must be a bool"):
        small_config(fc_norm=1)
    with pytest.raises(TypeError, match="class_token must be None or a bool"):
        small_config(class_token="yes")


def test_config_repr_shows_later_options_only_when_set():
    """The repr printed in lecture 06 stays as recorded; options added since appear once they are set."""
    assert repr(ViTConfig.tiny_digits()) == (
        "ViTConfig(image_size=16, patch_size=4, in_channels=1, num_classes=10, dim=64, depth=4, num_heads=4, "
        "mlp_dim=128, pool='cls', pos_embedding='learned', qkv_bias=True, dropout=0.0, norm_eps=1e-06)")
    assert repr(ViTConfig.tiny_digits(attn_dropout=0.1, activation="gelu_tanh")).endswith(
        "norm_eps=1e-06, attn_dropout=0.1, activation='gelu_tanh')")


# ----------------------------------------------------------------------------- patches


def test_patchify_order_and_round_trip():
    x = torch.randn(2, 3, 8, 12)
    p = patchify(x, 4)
    assert p.shape == (2, 6, 48)
    # patch 4 is row 1, column 1 of the 2x3 grid; values ordered (row, column, channel)
    torch.testing.assert_close(p[:, 4], x[:, :, 4:8, 4:8].permute(0, 2, 3, 1).reshape(2, -1))
    torch.testing.assert_close(unpatchify(p, 4, (2, 3), channels=3), x)


def test_patchify_errors():
    with pytest.raises(ValueError, match="image size 30x32 is not divisible by patch size 4"):
        patchify(torch.randn(1, 3, 30, 32), 4)
    with pytest.raises(ValueError, match=r"shape \(B, C, H, W\)"):
        patchify(torch.randn(3, 32, 32), 4)
    with pytest.raises(ValueError, match="needs 16"):
        unpatchify(torch.randn(1, 15, 48), 4, 4)


def test_conv_patch_embedding_equals_flatten_linear():
    torch.manual_seed(0)
    embed = PatchEmbedding(4, 3, 24)
    x = torch.randn(2, 3, 16, 20)
    linear = embed.as_linear()
    torch.testing.assert_close(embed(x), linear(patchify(x, 4)), rtol=1e-5, atol=1e-5)
    # a differently ordered flattening does not match: the comparison can fail
    shuffled = linear(patchify(x, 4)[..., torch.randperm(48)])
    assert not torch.allclose(embed(x), shuffled, atol=1e-3)


def test_patch_embedding_errors():
    embed = PatchEmbedding(4, 3, 8)
    with pytest.raises(ValueError, match="images have 1 channels, expected 3"):
        embed(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match="image size 18x16 is not divisible by patch size 4"):
        embed(torch.randn(1, 3, 18, 16))


# ----------------------------------------------------------------------------- model


@pytest.mark.parametrize("pool, pos", [("cls", "learned"), ("mean", "learned"), ("cls", "sincos"), ("mean", "sincos")])
def test_shapes_and_gradients(pool, pos):
    torch.manual_seed(0)
    model = ViT(small_config(pool=pool, pos_embedding=pos))
    x = torch.randn(3, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (3, 5)
    tokens = model.forward_features(x)
    assert tokens.shape == (3, 16 + (pool == "cls"), 32)
    logits.square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert ("pos_embed" in dict(model.named_parameters())) == (pos == "learned")


def test_batched_equals_one_by_one():
    torch.manual_seed(0)
    model = ViT(small_config()).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.cat([model(x[i:i + 1]) for i in range(4)]), rtol=1e-5, atol=1e-5)


def test_no_head_returns_pooled_features():
    model = ViT(small_config(num_classes=0)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.forward_features(x)[:, 0])


def test_input_errors():
    model = ViT(small_config())
    with pytest.raises(ValueError, match="image size 36x36 is not divisible by patch size 8"):
        model(torch.randn(1, 3, 36, 36))
    with pytest.raises(ValueError, match="images have 1 channels, expected 3"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="image size 48x48 differs from the configured 32x32"):
        model(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match=r"shape \(B, C, H, W\)"):
        model(torch.randn(3, 32, 32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0]])


@pytest.mark.parametrize("pos", ["learned", "sincos"])
def test_position_resizing_on_request(pos):
    torch.manual_seed(0)
    model = ViT(small_config(pos_embedding=pos)).eval()
    out = model(torch.randn(2, 3, 48, 64), interpolate_pos_encoding=True)
    assert out.shape == (2, 5)
    # resizing to the same grid is the identity
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(x, interpolate_pos_encoding=True), model(x))


def test_attention_maps_every_layer_and_head():
    torch.manual_seed(0)
    model = ViT(small_config(depth=3)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        logits, maps = model(x, return_attn=True)
        plain = model(x)
        with record_attention(model) as recorded:
            model(x)
    torch.testing.assert_close(logits, plain, rtol=1e-5, atol=1e-5)  # explicit path == fast path
    assert len(maps) == 3 and all(m.shape == (2, 4, 17, 17) for m in maps)
    for m, r in zip(maps, recorded.values()):
        torch.testing.assert_close(m, r)
        torch.testing.assert_close(m.sum(-1), torch.ones(2, 4, 17))


# ----------------------------------------------------------------------------- rollout


def test_attention_rollout_formula():
    torch.manual_seed(0)
    maps = [torch.softmax(torch.randn(2, 3, 5, 5), -1) for _ in range(3)]
    eye = torch.eye(5)
    expected = eye.expand(2, 5, 5)
    for a in maps:
        a = 0.5 * a.mean(1) + 0.5 * eye
        expected = (a / a.sum(-1, keepdim=True)) @ expected
    got = attention_rollout(maps)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got.sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(attention_rollout(torch.stack(maps)), got)  # (L, B, H, T, T) input
    # one layer without the residual is just the head-averaged attention
    torch.testing.assert_close(attention_rollout(maps[:1], residual=False), maps[0].mean(1))
    torch.testing.assert_close(attention_rollout(maps[:1], residual=False, head_fusion="max"),
                               maps[0].amax(1) / maps[0].amax(1).sum(-1, keepdim=True))
    dropped = attention_rollout(maps, discard_ratio=0.4)
    torch.testing.assert_close(dropped.sum(-1), torch.ones(2, 5))
    assert not torch.allclose(dropped, got)


def test_attention_rollout_errors_and_grid():
    with pytest.raises(ValueError, match="head_fusion"):
        attention_rollout([torch.rand(1, 2, 5, 5)], head_fusion="median")
    with pytest.raises(ValueError, match="same shape"):
        attention_rollout([torch.rand(1, 2, 5, 5), torch.rand(1, 2, 4, 4)])
    with pytest.raises(TypeError):
        attention_rollout([])
    w = torch.rand(2, 17, 17)
    grid = cls_attention_grid(w, 4)
    assert grid.shape == (2, 4, 4)
    torch.testing.assert_close(grid[:, 1, 2], w[:, 0, 1 + 4 + 2])
    with pytest.raises(ValueError, match="T = 3\\*3 \\+ 1 = 10"):
        cls_attention_grid(w, 3)


def test_random_affine():
    x = torch.rand(4, 1, 16, 16)
    torch.testing.assert_close(random_affine(x, degrees=0.0, translate=0.0, scale=(1.0, 1.0)), x,
                               rtol=1e-5, atol=1e-5)
    torch.manual_seed(0)
    y = random_affine(x)
    assert y.shape == x.shape and not torch.allclose(x, y)
    with pytest.raises(ValueError, match="scale"):
        random_affine(x, scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="mode must be"):
        random_affine(x, mode="bicubic")
    # nearest resampling keeps the pixel values of blocky upscaled digits; bilinear blurs them
    blocky = torch.rand(8, 1, 8, 8).repeat_interleave(2, 2).repeat_interleave(2, 3)
    torch.manual_seed(1)
    near = random_affine(blocky)
    values = set(blocky.unique().tolist()) | {0.0}
    assert set(near.unique().tolist()) <= values
    torch.manual_seed(1)
    assert not set(random_affine(blocky, mode="bilinear").unique().tolist()) <= values


# ----------------------------------------------------------------------------- Hugging Face parity


def test_logits_equal_hugging_face_small_model():
    hf = hf_model()
    ours = vit_from_hf(hf)
    assert ours.config.norm_eps == 1e-12 and not ours.training
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = hf(x).logits
        got = ours(x)
    assert expected.abs().max() > 0.1  # a meaningful comparison, not two near-zero outputs
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    # eager attention and resized positions agree as well
    hf_eager = hf_model(attn="eager")
    with torch.no_grad():
        torch.testing.assert_close(vit_from_hf(hf_eager)(x), hf_eager(x).logits, rtol=1e-4, atol=1e-4)
        big = torch.randn(2, 3, 48, 64)
        torch.testing.assert_close(ours(big, interpolate_pos_encoding=True),
                                   hf(big, interpolate_pos_encoding=True).logits, rtol=1e-4, atol=1e-4)


def test_hf_layer_norm_epsilon_matters():
    """Parity needs HF's eps 1e-12: with our default 1e-6 on small-variance tokens the logits drift."""
    hf = hf_model(scale=0.0)  # HF's own init: tiny activations, where eps is not negligible
    ours = vit_from_hf(hf)
    wrong = ViT(ours.config.replace(norm_eps=1e-2))
    wrong.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x).logits, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(wrong.eval()(x), hf(x).logits, rtol=1e-4, atol=1e-5)


def test_vit_from_hf_state_dict_checkpoint_dir_and_vitmodel(tmp_path):
    hf = hf_model(seed=1)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = hf(x).logits
        # a state dict with today's names, given its config or just the head count
        torch.testing.assert_close(vit_from_hf(hf.state_dict(), config=hf.config)(x), expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(vit_from_hf(hf.state_dict(), num_heads=4)(x), expected, rtol=1e-4, atol=1e-4)
        # a checkpoint directory as save_pretrained writes it (hub key names: encoder.layer.N.attention.attention.query)
        hf.save_pretrained(tmp_path)
        torch.testing.assert_close(vit_from_hf(tmp_path)(x), expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(vit_from_hf(str(tmp_path))(x), expected, rtol=1e-4, atol=1e-4)
        # the bare encoder: features equal ViTModel's last hidden state
        encoder = hf.vit
        ours = vit_from_hf(encoder)
        assert ours.config.num_classes == 0
        torch.testing.assert_close(ours.forward_features(x), encoder(x).last_hidden_state, rtol=1e-4, atol=1e-4)


def test_vit_from_hf_errors(tmp_path):
    hf = hf_model()
    with pytest.raises(ValueError, match="num_heads"):
        vit_from_hf(hf.state_dict())
    bad = dict(hf.state_dict(), **{"vit.extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="vit.extra.weight"):
        vit_from_hf(bad, num_heads=4)
    missing = {k: v for k, v in hf.state_dict().items() if "layernorm_after" not in k}
    with pytest.raises(ValueError, match="missing"):
        vit_from_hf(missing, num_heads=4)
    with pytest.raises(ValueError, match="config.json"):
        vit_from_hf(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        vit_from_hf(tmp_path / "nope")
    with pytest.raises(TypeError, match="source must be"):
        vit_from_hf(42)
    transformers = _transformers()
    with pytest.raises(ValueError, match="hidden_act must be one of"):
        cfg = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=4, intermediate_size=64, hidden_act="relu")
        vit_from_hf(transformers.ViTForImageClassification(cfg))


def test_logits_equal_hugging_face_b16():
    """ViT-B/16 with random weights, batch 1, 224 px: same logits as Hugging Face to 1e-4."""
    transformers = _transformers()
    cfg = transformers.ViTConfig(num_labels=1000)  # the defaults are ViT-B/16, 224 px
    torch.manual_seed(0)
    hf = transformers.ViTForImageClassification(cfg).eval()
    with torch.no_grad():
        hf.classifier.weight.normal_(0, 1.0)  # logits of order one
    ours = vit_from_hf(hf)
    assert ours.config.replace(norm_eps=1e-6) == ViTConfig.b16()
    assert count_parameters(ours) == PAPER_COUNTS["b16"]
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = hf(x).logits
        got = ours(x)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- fidelity options (timm, papers)


def test_mean_pool_fc_norm_averages_then_normalises():
    """pool='mean': the paper's JAX code normalises every token, then averages; fc_norm=True (timm, MAE,
    DeiT-III) averages, then normalises. Same weights, different logits."""
    torch.manual_seed(0)
    paper = ViT(small_config(pool="mean")).eval()
    with torch.no_grad():
        paper.norm.weight.normal_(1.0, 0.5)
        paper.norm.bias.normal_(0.0, 0.5)
    fc = ViT(small_config(pool="mean", fc_norm=True)).eval()
    assert isinstance(fc.norm, nn.Identity) and isinstance(fc.fc_norm, nn.LayerNorm)
    assert isinstance(paper.fc_norm, nn.Identity) and isinstance(paper.norm, nn.LayerNorm)
    fc.load_state_dict({("fc_" + k if k.startswith("norm.") else k): v for k, v in paper.state_dict().items()})
    x = torch.randn(3, 3, 32, 32)
    w, b, eps = paper.norm.weight, paper.norm.bias, paper.norm.eps
    with torch.no_grad():
        tokens = fc.forward_features(x)  # (B, N, D): the blocks' output, not normalised (timm's norm is Identity)
        expected_fc = fc.head(F.layer_norm(tokens.mean(1), (32,), w, b, eps))  # average, then normalise
        expected_paper = paper.head(F.layer_norm(tokens, (32,), w, b, eps).mean(1))  # normalise, then average
        torch.testing.assert_close(fc(x), expected_fc)
        torch.testing.assert_close(paper(x), expected_paper)
        assert (fc(x) - paper(x)).abs().max() > 1e-2
    # the two layouts never load into each other silently
    with pytest.raises(RuntimeError, match="fc_norm"):
        ViT(small_config(pool="mean")).load_state_dict(fc.state_dict())


def _timm_state_dict(*, class_token=True, fc_norm=True, dim=32, depth=2, mlp=64, patch=8, grid=4, classes=5, seed=0):
    """Random weights under timm's VisionTransformer names (fused qkv, attn.proj, fc_norm), timm not needed."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, mean=0.0):
        return mean + 0.3 * torch.randn(*shape, generator=g)

    sd = {"patch_embed.proj.weight": r(dim, 3, patch, patch), "patch_embed.proj.bias": r(dim),
          "pos_embed": r(1, grid * grid + class_token, dim), "head.weight": r(classes, dim), "head.bias": r(classes)}
    if class_token:
        sd["cls_token"] = r(1, 1, dim)
    for i in range(depth):
        sd.update({f"blocks.{i}.norm1.weight": r(dim, mean=1.0), f"blocks.{i}.norm1.bias": r(dim),
                   f"blocks.{i}.attn.qkv.weight": r(3 * dim, dim), f"blocks.{i}.attn.qkv.bias": r(3 * dim),
                   f"blocks.{i}.attn.proj.weight": r(dim, dim), f"blocks.{i}.attn.proj.bias": r(dim),
                   f"blocks.{i}.norm2.weight": r(dim, mean=1.0), f"blocks.{i}.norm2.bias": r(dim),
                   f"blocks.{i}.mlp.fc1.weight": r(mlp, dim), f"blocks.{i}.mlp.fc1.bias": r(mlp),
                   f"blocks.{i}.mlp.fc2.weight": r(dim, mlp), f"blocks.{i}.mlp.fc2.bias": r(dim)})
    norm = "fc_norm" if fc_norm else "norm"  # timm: global_pool='avg' builds fc_norm and makes norm an Identity
    sd.update({f"{norm}.weight": r(dim, mean=1.0), f"{norm}.bias": r(dim)})
    return sd


def _timm_vit_forward(images, sd, num_heads, eps=1e-6):
    """timm's VisionTransformer.forward (forward_features, then forward_head) written out; no vitcourse code."""
    P = sd["patch_embed.proj.weight"].shape[-1]
    x = F.conv2d(images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=P)
    x = x.flatten(2).transpose(1, 2)  # (B, N, D)
    B, _, D = x.shape
    prefix = int("cls_token" in sd)
    if prefix:
        x = torch.cat([sd["cls_token"].expand(B, -1, -1), x], dim=1)
    x = x + sd["pos_embed"]
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    for i in range(depth):
        def p(name, i=i):
            return sd[f"blocks.{i}.{name}"]
        T = x.shape[1]
        h = F.layer_norm(x, (D,), p("norm1.weight"), p("norm1.bias"), eps)
        qkv = F.linear(h, p("attn.qkv.weight"), p("attn.qkv.bias")).reshape(B, T, 3, num_heads, D // num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, T, Dh) each
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D)
        x = x + F.linear(a, p("attn.proj.weight"), p("attn.proj.bias"))
        h = F.layer_norm(x, (D,), p("norm2.weight"), p("norm2.bias"), eps)
        x = x + F.linear(F.gelu(F.linear(h, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"),
                         p("mlp.fc2.bias"))
    if "fc_norm.weight" in sd:  # global_pool='avg': average the patch tokens, then fc_norm
        x = F.layer_norm(x[:, prefix:].mean(1), (D,), sd["fc_norm.weight"], sd["fc_norm.bias"], eps)
    else:  # global_pool='token': norm, then the class token
        x = F.layer_norm(x, (D,), sd["norm.weight"], sd["norm.bias"], eps)[:, 0]
    return F.linear(x, sd["head.weight"], sd["head.bias"])


@pytest.mark.parametrize("class_token, fc_norm", [(True, True), (False, True), (True, False)])
def test_vit_from_timm_equals_timms_forward(class_token, fc_norm):
    sd = _timm_state_dict(class_token=class_token, fc_norm=fc_norm)
    ours = vit_from_timm(sd, num_heads=4)
    c = ours.config
    assert (c.pool, c.fc_norm, c.class_token, c.norm_eps) == ("mean" if fc_norm else "cls", fc_norm, class_token, 1e-6)
    assert not ours.training
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = _timm_vit_forward(x, sd, 4)
        assert expected.abs().max() > 0.1
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)


def test_fc_norm_weights_are_never_loaded_as_the_final_norm():
    sd = _timm_state_dict(fc_norm=True)
    with pytest.raises(ValueError, match="fc_norm"):  # a config whose final norm comes before pooling
        vit_from_timm(sd, config=small_config(pool="mean", class_token=True))
    with pytest.raises(ValueError, match="fc_norm.*vit_from_timm"):  # the Hugging Face port names the right one
        vit_from_hf({**{"vit." + k: v for k, v in sd.items()}}, num_heads=4)
    with pytest.raises(ValueError, match="num_heads"):
        vit_from_timm(sd)
    with pytest.raises(ValueError, match="blocks.0.attn.extra"):
        vit_from_timm({**sd, "blocks.0.attn.extra": torch.zeros(1)}, num_heads=4)


def test_dropout_does_not_drop_attention_weights_attn_dropout_does():
    """As in the paper and timm/HF: ``dropout`` acts on the embeddings, residual branches and MLP;
    ``attn_dropout`` (default 0) on the attention weights."""
    assert ViTConfig().attn_dropout == 0.0
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    model = ViT(small_config(dropout=0.5)).train()
    _, maps = model(x, return_attn=True)
    for a in maps:  # every row still a probability distribution: no weight was dropped
        torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)))
    assert model(x).ne(model(x)).any()  # dropout is on elsewhere
    model = ViT(small_config(attn_dropout=0.5)).train()
    _, maps = model(x, return_attn=True)
    assert (maps[0] == 0).any() and not torch.allclose(maps[0].sum(-1), torch.ones(2, 4, 17))
    assert all(b.attn.dropout == 0.5 and b.drop.p == 0.0 for b in model.blocks)


def test_gelu_variant_is_selectable():
    torch.manual_seed(0)
    exact = ViT(small_config()).eval()
    tanh = ViT(small_config(activation="gelu_tanh")).eval()
    assert all(b.mlp.act.approximate == "none" for b in exact.blocks)
    assert all(b.mlp.act.approximate == "tanh" for b in tanh.blocks)
    tanh.load_state_dict(exact.state_dict())
    x = torch.randn(2, 3, 32, 32) * 3
    with torch.no_grad():
        assert (exact(x) - tanh(x)).abs().max() > 1e-5  # the approximation is visible in the logits


@pytest.mark.parametrize("hidden_act, activation", [("gelu", "gelu"), ("gelu_pytorch_tanh", "gelu_tanh"),
                                                    ("gelu_new", "gelu_tanh")])
def test_hf_port_reads_the_gelu_variant(hidden_act, activation):
    hf = hf_model(hidden_act=hidden_act)
    ours = vit_from_hf(hf)
    assert ours.config.activation == activation
    if hidden_act == "gelu":  # the two dropout rates are read apart (HF: hidden_dropout_prob, attention_probs_...)
        transformers = _transformers()
        cfg = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                   intermediate_size=64, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.2)
        c = vit_from_hf(transformers.ViTForImageClassification(transformers.ViTConfig(**cfg))).config
        assert (c.dropout, c.attn_dropout) == (0.1, 0.2)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x).logits, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- exercise 06 checks


def _ref_patch_embedding(images, weight, bias):
    from einops import rearrange
    import torch.nn.functional as F

    return rearrange(F.conv2d(images, weight, bias, stride=weight.shape[-1]), "b d h w -> b (h w) d")


def _ref_vit_forward(images, params, num_heads, eps=1e-6, heads_override=None):
    """An independent functional ViT (no vitcourse code), as a student would write it."""
    import torch.nn.functional as F
    from einops import rearrange

    x = _ref_patch_embedding(images, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"])
    B, N, D = x.shape
    x = torch.cat([params["cls_token"].expand(B, -1, -1), x], 1) + params["pos_embed"]
    depth = 1 + max(int(k.split(".")[1]) for k in params if k.startswith("blocks."))
    H = heads_override or num_heads
    for i in range(depth):
        def p(n):
            return params[f"blocks.{i}.{n}"]
        h = F.layer_norm(x, (D,), p("norm1.weight"), p("norm1.bias"), eps)
        q, k, v = (rearrange(F.linear(h, p(f"attn.{n}_proj.weight"), p(f"attn.{n}_proj.bias")),
                             "b n (h d) -> b h n d", h=H) for n in "qkv")
        a = (q @ k.transpose(-1, -2) / (D // H) ** 0.5).softmax(-1) @ v
        x = x + F.linear(rearrange(a, "b h n d -> b n (h d)"), p("attn.out_proj.weight"), p("attn.out_proj.bias"))
        h = F.layer_norm(x, (D,), p("norm2.weight"), p("norm2.bias"), eps)
        x = x + F.linear(F.gelu(F.linear(h, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"),
                         p("mlp.fc2.bias"))
    x = F.layer_norm(x, (D,), params["norm.weight"], params["norm.bias"], eps)
    return F.linear(x[:, 0], params["head.weight"], params["head.bias"])


def _ref_patchify(images, patch_size):  # written as a student would: no vitcourse code (the task rule)
    from einops import rearrange

    return rearrange(images, "b c (h p) (w q) -> b (h w) (p q c)", p=patch_size, q=patch_size)


def _bad_patchify(images, patch_size):  # channel first inside a patch: the most common mistake
    from einops import rearrange

    return rearrange(images, "b c (h p) (w q) -> b (h w) (c p q)", p=patch_size, q=patch_size)


def _bad_vit_forward(images, params, num_heads):  # forgot the heads (one wide head)
    return _ref_vit_forward(images, params, num_heads, heads_override=1)


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("name, fn", [("06.patchify", _ref_patchify), ("06.patch_embedding", _ref_patch_embedding),
                                      ("06.vit_forward", _ref_vit_forward)])
def test_ex06_correct_solutions_pass_visible_and_hidden(name, fn):
    from vitcourse.checks import check

    check(name, fn, quiet=True)
    check(name, fn, hidden=True, quiet=True)


@pytest.mark.parametrize("name, fn, match", [
    ("06.patchify", _bad_patchify, "patches: values differ"),
    ("06.vit_forward", _bad_vit_forward, "logits: values differ"),
    ("06.vit_forward", _not_implemented, "not implemented yet"),
    ("06.patch_embedding", _not_implemented, "not implemented yet"),
])
def test_ex06_mistakes_fail_with_hint(name, fn, match):
    from vitcourse.checks import CheckFailed, check

    with pytest.raises(CheckFailed, match=match) as info:
        check(name, fn)
    assert "Hint:" in str(info.value)


def test_ex06_hidden_cases_vary_shapes_and_training_check_judges_accuracy():
    import numpy as np

    from vitcourse.checks import get_check

    for name in ("06.patchify", "06.patch_embedding", "06.vit_forward"):
        c = get_check(name)
        visible = {c.make_inputs(np.random.default_rng(s), False)["images"].shape for s in range(3)}
        hidden = {c.make_inputs(np.random.default_rng(s), True)["images"].shape for s in range(6)}
        # the visible cases show three sizes (tests/test_visible_cases.py), the hidden ones still others
        assert len(visible) == 3 and len(hidden - visible) >= 3, name
    # the training task is judged on the returned model's weights, rebuilt as a ViT, on held-out digits
    from vitcourse.mixer import MixerConfig, MLPMixer

    train = get_check("06.train_vit")
    (_, inputs), = train.cases()
    assert set(train.public_inputs(inputs)) == {"x_train", "y_train"}
    untrained = ViT(ViTConfig.tiny_digits())
    failures = train.judge(train.run(lambda x_train, y_train: untrained, train.public_inputs(inputs)), inputs)
    assert failures and "below the required 0.95" in failures[0]
    mixer = MLPMixer(MixerConfig.tiny_digits(depth=1))
    failures = train.judge(train.run(lambda x_train, y_train: mixer, train.public_inputs(inputs)), inputs)
    assert failures and "cannot be rebuilt as the required architecture" in failures[0]
    assert train.compare(np.arange(10), np.arange(10), {}) == [
        "train_vit must return the trained model (its config and weights are judged)"]


def test_both_ports_build_their_config_with_a_public_helper_of_one_style():
    """`vit_hf.config_from_hf` and `detr.config_from_hf`: public, the model's options keyword-only."""
    import inspect

    from vitcourse.detr import config_from_hf as detr_config_from_hf
    from vitcourse.vit_hf import config_from_hf

    for helper in (config_from_hf, detr_config_from_hf):
        params = list(inspect.signature(helper).parameters.values())
        assert params[0].name == "hf_config" and all(p.kind is p.KEYWORD_ONLY for p in params[1:]), helper
    hf = {"image_size": 32, "patch_size": [8, 8], "hidden_size": 48, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 96, "hidden_act": "gelu"}
    cfg = config_from_hf(hf, num_classes=7)
    assert (cfg.image_size, cfg.patch_size, cfg.dim, cfg.depth, cfg.num_heads, cfg.num_classes) == (32, 8, 48, 2, 4, 7)
    with pytest.raises(ValueError, match="patch_size must be square"):
        config_from_hf({**hf, "patch_size": [8, 4]}, num_classes=7)
    with pytest.raises(TypeError):
        config_from_hf(hf, 7)


def test_a_preset_names_a_setting_it_does_not_have():
    """Every preset goes through `vitcourse.utils.preset`: overrides win, and a misspelt one lists the settings."""
    from vitcourse.mixer import MixerConfig

    assert ViTConfig.b16(num_classes=10).num_classes == 10 and ViTConfig.b16().dim == 768
    for make in (ViTConfig.b16, ViTConfig.tiny_digits, MixerConfig.s16, MixerConfig.tiny_digits):
        with pytest.raises(TypeError, match=r"has no setting 'heads'; its settings are .*depth"):
            make(heads=4)
