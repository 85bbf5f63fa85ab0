"""vitcourse.detr model parts: parameter counts of the paper preset, parity with Hugging Face's DETR, heads."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from vitcourse.detr.backbone import BackboneConfig, FrozenBatchNorm2d, build_backbone
from vitcourse.detr.model import DETR, DETRConfig, post_process
from vitcourse.detr.position import sine_position_encoding


def _need_transformers():
    """Skip the Hugging Face parity test that calls this; the other tests here need nothing optional."""
    pytest.importorskip("transformers")


def count(model, trainable=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def test_paper_r50_parameter_counts_on_meta_device():
    with torch.device("meta"):
        model = DETR(DETRConfig.r50())
    assert count(model) == 41_524_768
    assert count(model, trainable=True) == 41_302_368  # stem and first residual stage frozen
    frozen = {n.split(".")[1] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "layer1"}


def test_cpu_preset_shapes_aux_outputs_and_gradients():
    torch.manual_seed(0)
    config = DETRConfig.cpu(num_classes=3, encoder_layers=1, decoder_layers=2)
    model = DETR(config)
    out = model(torch.rand(2, 3, 64, 64), return_attn=True)
    assert out["pred_logits"].shape == (2, 10, 4) and out["pred_boxes"].shape == (2, 10, 4)
    assert len(out["aux_outputs"]) == 1 and out["aux_outputs"][0]["pred_boxes"].shape == (2, 10, 4)
    assert out["feature_size"] == (8, 8) and out["cross_attn"][0].shape == (2, 8, 10, 64)
    torch.testing.assert_close(out["cross_attn"][1].sum(-1), torch.ones(2, 8, 10))
    assert bool(((out["pred_boxes"] > 0) & (out["pred_boxes"] < 1)).all())
    loss = out["pred_logits"].logsumexp(-1).sum() + out["pred_boxes"].sum() + out["aux_outputs"][0]["pred_boxes"].sum()
    loss.backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    # The decoder input starts at zero, so the first self-attention's values are 0 whatever v_proj's weight is
    # (as in DETR); only its bias matters.
    assert missing == ["decoder.0.self_attn.v_proj.weight"], missing


def test_sine_encoding_equals_hugging_face_with_padding():
    _need_transformers()
    from transformers.models.detr.modeling_detr import DetrSinePositionEmbedding

    mask = torch.ones(2, 5, 7, dtype=torch.bool)  # True = image cell (HF's pixel_mask 1)
    mask[1, 3:, :] = False
    mask[1, :, 5:] = False
    ours = sine_position_encoding(mask, 64)  # (B, h, w, D)
    theirs = DetrSinePositionEmbedding(32, normalize=True)(shape=(2, 64, 5, 7), device="cpu", dtype=torch.float32,
                                                           mask=mask)  # (B, D, h, w)
    torch.testing.assert_close(ours, theirs.permute(0, 2, 3, 1))
    # rows first: the first half changes down a column only, the second half along a row only
    assert torch.equal(ours[0, :, 0, :32], ours[0, :, 3, :32]) and torch.equal(ours[0, 0, :, 32:], ours[0, 2, :, 32:])
    with pytest.raises(ValueError, match="divisible by 4"):
        sine_position_encoding(mask, 30)
    with pytest.raises(ValueError, match=r"pixel_mask must be a bool tensor.*Fix: pixel_mask\.bool\(\)"):
        sine_position_encoding(mask.float(), 64)
    # all padding: almost surely a mask True on padding (DETR's code) given where True = image is expected
    with pytest.raises(ValueError, match=r"all False \(all padding\) for sample\(s\) \[0\].*pixel_mask=~mask"):
        sine_position_encoding(torch.zeros(1, 4, 4, dtype=torch.bool), 64)


def test_frozen_batch_norm_equals_batch_norm_in_eval_and_has_no_parameters():
    bn = torch.nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2), bn.bias.normal_(), bn.running_mean.normal_(), bn.running_var.uniform_(0.5, 2)
    frozen = FrozenBatchNorm2d(6)
    frozen.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(frozen(x), bn(x))
    assert count(frozen) == 0


@pytest.mark.parametrize("config", [BackboneConfig.small_cnn(), BackboneConfig(widths=(16, 32, 48), depths=(1, 1, 1),
                                                                            stem_channels=8, block="basic")])
def test_backbone_stride(config):
    out = build_backbone(config)(torch.rand(1, 3, 64, 96))
    assert out.shape == (1, config.out_channels, 64 // config.stride, 96 // config.stride)


def randomise_(model, seed=0):
    """Random weights of a healthy scale everywhere (Hugging Face's init makes every query look the same)."""
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.normal_(0, 1 / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.1)
        for name, b in model.named_buffers():
            if name.endswith(("running_var", "weight")):
                b.uniform_(0.5, 1.5)
            elif name.endswith(("running_mean", "bias")):
                b.normal_(0, 0.1)
    return model


def hf_detr(block="bottleneck", **backbone):
    _need_transformers()
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig

    sizes = dict(embedding_size=16, hidden_sizes=[32, 64, 96, 128], depths=[1, 2, 1, 1]) if not backbone else backbone
    cfg = DetrConfig(backbone_config=ResNetConfig(layer_type=block, out_features=["stage4"], **sizes),
                     use_timm_backbone=False, use_pretrained_backbone=False, d_model=32, encoder_layers=2,
                     decoder_layers=3, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_attention_heads=4,
                     decoder_attention_heads=4, num_queries=6, num_labels=3, attn_implementation="eager")
    return randomise_(DetrForObjectDetection(cfg).eval())


@pytest.mark.parametrize("block", ["bottleneck", "basic"])
def test_outputs_equal_hugging_face_detr(block):
    from vitcourse.detr.hf import detr_from_hf

    hf = hf_detr(block)
    ours = detr_from_hf(hf)
    assert not ours.training and count(ours) == count(hf)
    x = torch.randn(2, 3, 96, 80, generator=torch.Generator().manual_seed(1))
    pixel_mask = torch.ones(2, 96, 80, dtype=torch.long)
    pixel_mask[1, 70:], pixel_mask[1, :, 60:] = 0, 0  # the second image is padded
    for mask in (None, pixel_mask):
        with torch.no_grad():
            theirs = hf(pixel_values=x, pixel_mask=mask, output_attentions=True)
            mine = ours(x, pixel_mask=None if mask is None else mask.bool(), return_attn=True)  # True = pixel
        torch.testing.assert_close(mine["pred_logits"], theirs.logits)
        torch.testing.assert_close(mine["pred_boxes"], theirs.pred_boxes)
        for a, b in zip(mine["cross_attn"], theirs.cross_attentions, strict=True):
            torch.testing.assert_close(a, b)
    # queries differ by far more than the tolerance, so a wrong query or position weight would show
    assert mine["pred_logits"].std(1).min() > 1e-3 and mine["cross_attn"][-1].std(2).mean() > 1e-3


def test_outputs_equal_hugging_face_detr_r50():
    _need_transformers()
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig

    from vitcourse.detr.hf import detr_from_hf

    cfg = DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, num_labels=91,
                     backbone_config=ResNetConfig(out_features=["stage4"]))
    hf = randomise_(DetrForObjectDetection(cfg).eval())
    ours = detr_from_hf(hf)
    assert ours.config == DETRConfig.r50(aux_loss=True)
    assert count(ours) == 41_524_768 and count(ours, trainable=True) == 41_302_368
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        theirs, mine = hf(pixel_values=x), ours(x)
    torch.testing.assert_close(mine["pred_logits"], theirs.logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(mine["pred_boxes"], theirs.pred_boxes, rtol=1e-4, atol=1e-4)


def test_detr_from_hf_refuses_what_it_cannot_express():
    _need_transformers()
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig

    from vitcourse.detr.hf import detr_from_hf

    small = dict(embedding_size=8, hidden_sizes=[16, 32], depths=[1, 1], out_features=["stage2"])
    cfg = DetrConfig(backbone_config=ResNetConfig(**small), use_timm_backbone=False, use_pretrained_backbone=False,
                     d_model=16, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=16, decoder_ffn_dim=16,
                     encoder_attention_heads=2, decoder_attention_heads=2, num_queries=2, num_labels=2,
                     position_embedding_type="learned")
    with pytest.raises(ValueError, match="position_embedding_type must be 'sine'"):
        detr_from_hf(DetrForObjectDetection(cfg))
    with pytest.raises(TypeError, match="DetrForObjectDetection"):
        detr_from_hf(torch.nn.Linear(2, 2))


def test_post_process_scores_labels_and_pixel_boxes():
    logits = torch.tensor([[[0.0, 3.0, 5.0], [4.0, 0.0, 0.0]]])  # query 0: mostly "no object"; query 1: class 0
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.4], [0.25, 0.5, 0.5, 1.0]]])
    (res,) = post_process({"pred_logits": logits, "pred_boxes": boxes}, (100, 200))
    prob = logits.softmax(-1)[0]
    torch.testing.assert_close(res["scores"], torch.stack([prob[0, 1], prob[1, 0]]))
    assert res["labels"].tolist() == [1, 0]
    torch.testing.assert_close(res["boxes"][1], torch.tensor([0.0, 0.0, 100.0, 100.0]))
    (kept,) = post_process({"pred_logits": logits, "pred_boxes": boxes}, 64, threshold=0.5)
    assert kept["labels"].tolist() == [0]


def test_config_is_keyword_only_and_refuses_the_old_heads():
    """DETRConfig takes keywords only, like ViTConfig and MixerConfig, and names the head count num_heads."""
    assert DETRConfig.cpu().num_heads == 8 and DETRConfig.r50().num_heads == 8
    assert DETRConfig(num_classes=3, num_heads=4).num_heads == 4
    with pytest.raises(TypeError, match="positional"):
        DETRConfig(3)
    with pytest.raises(TypeError, match="positional"):
        DETRConfig.cpu(3)
    for build in (lambda: DETRConfig(heads=4), lambda: DETRConfig.cpu(heads=4), lambda: DETRConfig.r50(heads=4)):
        with pytest.raises(TypeError, match=r"heads=4.*now num_heads.*pass num_heads=4"):
            build()
    assert "heads" not in {f.name for f in dataclasses.fields(DETRConfig)}  # not a field: not in repr or asdict
    assert DETRConfig.cpu(num_heads=np.int64(4)).num_heads.__class__ is int  # stored as a Python int


def test_config_errors():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        DETRConfig.cpu(dim=100, num_heads=8)
    with pytest.raises(ValueError, match="num_queries must be >= 1, got 0"):
        DETRConfig.cpu(num_queries=0)
    with pytest.raises(TypeError, match="num_heads must be an integer, got 8.0"):
        DETRConfig.cpu(num_heads=8.0)
    with pytest.raises(ValueError, match="encoder_layers must be >= 0, got -1"):
        DETRConfig.cpu(encoder_layers=-1)
    with pytest.raises(ValueError, match="kind must be"):
        BackboneConfig(kind="vgg")
    with pytest.raises(ValueError, match="images must be a tensor"):
        DETR(DETRConfig.cpu())(torch.rand(2, 1, 64, 64))


def test_pixel_mask_convention_and_errors():
    """pixel_mask is True on real pixels (the course's True = keep); the padding convention is refused, not inverted."""
    torch.manual_seed(0)
    model = DETR(DETRConfig.cpu(num_classes=3, encoder_layers=1, decoder_layers=1)).eval()
    x = torch.rand(2, 3, 64, 64)
    pixel_mask = torch.ones(2, 64, 64, dtype=torch.bool)
    pixel_mask[1, :, 32:] = False  # the right half of image 1 is padding
    with torch.no_grad():
        out = model(x, pixel_mask, return_attn=True)
        torch.testing.assert_close(model(x, torch.ones_like(pixel_mask))["pred_logits"], model(x)["pred_logits"])
    h, w = out["feature_size"]
    cross = out["cross_attn"][0][1].reshape(*out["cross_attn"][0].shape[1:3], h, w)  # (H, Q, h, w) of image 1
    assert cross[..., w // 2:].abs().max() == 0 and cross[..., :w // 2].sum(-1).sum(-1).min() > 0.99
    with pytest.raises(TypeError, match=r"DETR takes pixel_mask=.*not padding_mask=.*"
                                        r"Fix: pass pixel_mask=~padding_mask"):
        model(x, padding_mask=~pixel_mask)
    with pytest.raises(ValueError, match=r"pixel_mask has no True \(real\) pixel for image\(s\) \[0, 1\].*"
                                         r"pixel_mask=~padding_mask"):
        model(x, torch.zeros_like(pixel_mask))  # 'no padding' written in the padding convention
    with pytest.raises(ValueError, match=r"pixel_mask must be a bool tensor \(2, 64, 64\).*Fix: pixel_mask\.bool\(\)"):
        model(x, pixel_mask.long())


def test_every_config_is_keyword_only():
    """One style for every config of the package: fields by name only (a positional ``DETRConfig(3)`` or
    ``BackboneConfig("cnn")`` would bind a value to whichever field happens to come first)."""

    from vitcourse.mixer import MixerConfig
    from vitcourse.vit import ViTConfig

    for config in (ViTConfig, MixerConfig, DETRConfig, BackboneConfig):
        fields = [f for f in dataclasses.fields(config) if f.init]
        assert fields and all(f.kw_only for f in fields), config.__name__
    with pytest.raises(TypeError):
        BackboneConfig("cnn")
