"""Build the course's DETR from a Hugging Face ``DetrForObjectDetection`` (same weights, same outputs).

Use it to run real pretrained weights through the course's own code::

    from transformers import DetrForObjectDetection            # needs the weights on disk or a download
    hf_model = DetrForObjectDetection.from_pretrained("facebook/detr-resnet-50", use_timm_backbone=False)
    model = detr_from_hf(hf_model).eval()

Only the Hugging Face ResNet backbone is supported (``use_timm_backbone=False``;
timm is not used by this course). ``transformers`` is imported by the caller,
never by this module. The tests build a randomly initialised Hugging Face
model (no download) and check that both models give the same outputs.

One known difference: with ``config.auxiliary_loss=True``, Hugging Face's
decoder feeds each layer the *layer-normalised* output of the previous one
(and normalises the last output twice); the paper's code, and this course,
normalise only the copy sent to the heads. Outputs therefore agree with
``auxiliary_loss=False`` (the default, and what inference uses).

Name mapping (Hugging Face -> course):
``model.backbone.model.embedder.embedder.{convolution,normalization}`` -> ``backbone.{conv1,bn1}``;
``...encoder.stages.i.layers.j.layer.k.{convolution,normalization}`` -> ``backbone.layer{i+1}.j.{conv,bn}{k+1}``;
``...shortcut.{convolution,normalization}`` -> ``...downsample.{0,1}``;
``model.input_projection`` -> ``input_proj``; ``model.query_position_embeddings`` -> ``query_embed``;
encoder ``self_attn.o_proj``, ``self_attn_layer_norm``, ``final_layer_norm`` -> ``attn.out_proj``, ``norm1``, ``norm2``;
decoder ``encoder_attn`` -> ``cross_attn``, layer norms -> ``norm1..3``;
``model.decoder.layernorm`` -> ``decoder_norm``;
``class_labels_classifier`` -> ``class_head``; ``bbox_predictor`` -> ``box_head``.
"""

from __future__ import annotations

import re
from typing import Callable

import torch

from .backbone import BackboneConfig, ResNetBackbone
from .model import DETR, DETRConfig

__all__ = ["detr_from_hf", "config_from_hf", "hf_state_dict_to_ours"]

_RULES: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"^model\.backbone\.model\.embedder\.embedder\.convolution\.", "backbone.conv1."),
    (r"^model\.backbone\.model\.embedder\.embedder\.normalization\.", "backbone.bn1."),
    (
        r"^model\.backbone\.model\.encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.convolution\.",
        lambda m: f"backbone.layer{int(m[1]) + 1}.{m[2]}.downsample.0.",
    ),
    (
        r"^model\.backbone\.model\.encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.normalization\.",
        lambda m: f"backbone.layer{int(m[1]) + 1}.{m[2]}.downsample.1.",
    ),
    (
        r"^model\.backbone\.model\.encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.convolution\.",
        lambda m: f"backbone.layer{int(m[1]) + 1}.{m[2]}.conv{int(m[3]) + 1}.",
    ),
    (
        r"^model\.backbone\.model\.encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.normalization\.",
        lambda m: f"backbone.layer{int(m[1]) + 1}.{m[2]}.bn{int(m[3]) + 1}.",
    ),
    (r"^model\.input_projection\.", "input_proj."),
    (r"^model\.query_position_embeddings\.", "query_embed."),
    (r"^model\.encoder\.layers\.(\d+)\.self_attn\.o_proj\.", r"encoder.\1.attn.out_proj."),
    (r"^model\.encoder\.layers\.(\d+)\.self_attn\.", r"encoder.\1.attn."),
    (r"^model\.encoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"encoder.\1.norm1."),
    (r"^model\.encoder\.layers\.(\d+)\.final_layer_norm\.", r"encoder.\1.norm2."),
    (r"^model\.encoder\.layers\.(\d+)\.mlp\.", r"encoder.\1.mlp."),
    (r"^model\.decoder\.layers\.(\d+)\.self_attn\.o_proj\.", r"decoder.\1.self_attn.out_proj."),
    (r"^model\.decoder\.layers\.(\d+)\.self_attn\.", r"decoder.\1.self_attn."),
    (r"^model\.decoder\.layers\.(\d+)\.encoder_attn\.o_proj\.", r"decoder.\1.cross_attn.out_proj."),
    (r"^model\.decoder\.layers\.(\d+)\.encoder_attn\.", r"decoder.\1.cross_attn."),
    (r"^model\.decoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"decoder.\1.norm1."),
    (r"^model\.decoder\.layers\.(\d+)\.encoder_attn_layer_norm\.", r"decoder.\1.norm2."),
    (r"^model\.decoder\.layers\.(\d+)\.final_layer_norm\.", r"decoder.\1.norm3."),
    (r"^model\.decoder\.layers\.(\d+)\.mlp\.", r"decoder.\1.mlp."),
    (r"^model\.decoder\.layernorm\.", "decoder_norm."),
    (r"^class_labels_classifier\.", "class_head."),
    (r"^bbox_predictor\.", "box_head."),
]


def config_from_hf(hf_config, *, aux_loss: bool = True) -> DETRConfig:
    """The `DETRConfig` matching a Hugging Face ``DetrConfig`` (ResNet backbone, sine positions)."""
    c = hf_config
    backbone = getattr(c, "backbone_config", None)
    if backbone is None or getattr(backbone, "model_type", None) != "resnet":
        kind = getattr(backbone, "model_type", None)
        raise ValueError(
            f"only Hugging Face ResNet backbones are supported (use_timm_backbone=False), got "
            f"backbone model_type {kind!r}"
        )
    if getattr(backbone, "out_features", ["stage4"])[-1] != f"stage{len(backbone.depths)}":
        raise ValueError(f"the backbone must output its last stage, got out_features={backbone.out_features}")
    if c.position_embedding_type != "sine":
        raise ValueError(f"position_embedding_type must be 'sine', got {c.position_embedding_type!r}")
    if c.activation_function != "relu":
        raise ValueError(f"activation_function must be 'relu', got {c.activation_function!r}")
    if c.encoder_ffn_dim != c.decoder_ffn_dim or c.encoder_attention_heads != c.decoder_attention_heads:
        raise ValueError(
            f"encoder and decoder must share the MLP width and head count, got ffn "
            f"{c.encoder_ffn_dim}/{c.decoder_ffn_dim}, heads {c.encoder_attention_heads}/"
            f"{c.decoder_attention_heads}"
        )
    if backbone.downsample_in_bottleneck:
        raise ValueError(
            "downsample_in_bottleneck=True (stride in the 1x1 convolution) is not supported; "
            "the course's ResNet puts the stride in the 3x3 convolution"
        )
    return DETRConfig(
        num_classes=c.num_labels,
        num_queries=c.num_queries,
        dim=c.d_model,
        num_heads=c.encoder_attention_heads,
        encoder_layers=c.encoder_layers,
        decoder_layers=c.decoder_layers,
        mlp_dim=c.encoder_ffn_dim,
        dropout=float(c.dropout),
        aux_loss=aux_loss,
        backbone=BackboneConfig(
            kind="resnet",
            widths=tuple(backbone.hidden_sizes),
            depths=tuple(backbone.depths),
            stem_channels=backbone.embedding_size,
            block=backbone.layer_type,
            frozen_stages=1,
            stride_in_first_stage=bool(backbone.downsample_in_first_stage),
        ),
    )


def _rename(key: str) -> str | None:
    for pattern, repl in _RULES:
        new, n = re.subn(pattern, repl, key)
        if n:
            return new
    return None


def hf_state_dict_to_ours(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a ``DetrForObjectDetection`` state dict to the course's `DETR` names.

    ``num_batches_tracked`` entries are dropped; any other key that has no
    rule raises ValueError (so a silently ignored weight cannot happen).
    """
    out, unknown = {}, []
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        new = _rename(key)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise ValueError(
            f"{len(unknown)} Hugging Face weights have no counterpart in the course's DETR, e.g. {unknown[:3]}"
        )
    return out


def detr_from_hf(hf_model, *, aux_loss: bool = True) -> DETR:
    """A course `DETR` with the configuration and weights of ``hf_model`` (``DetrForObjectDetection``).

    Raises ValueError for what the course's DETR cannot express (timm backbones,
    learned position embeddings, ...). The result is in ``eval()`` mode iff
    ``hf_model`` is, on the same device and dtype.
    """
    if type(hf_model).__name__ != "DetrForObjectDetection":
        raise TypeError(f"hf_model must be a transformers DetrForObjectDetection, got {type(hf_model).__name__}")
    config = config_from_hf(hf_model.config, aux_loss=aux_loss)
    param = next(hf_model.parameters())
    with torch.device("meta"):  # no time spent initialising weights that are replaced right away
        model = DETR(config)
    state = {k: v.detach().clone() for k, v in hf_state_dict_to_ours(hf_model.state_dict()).items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ValueError(f"weights did not map one to one: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for p in model.parameters():
        p.requires_grad_(True)
    assert isinstance(model.backbone, ResNetBackbone)  # config_from_hf builds kind="resnet"
    model.backbone.freeze(config.backbone.frozen_stages)  # the paper's freezing: stem and first stage
    return model.to(device=param.device, dtype=param.dtype).train(hf_model.training)
