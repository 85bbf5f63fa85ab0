"""Pretrained ViT weights in the course's `ViT`: Hugging Face ``transformers`` and timm checkpoints.

Use it to run real pretrained weights through lecture 06's model::

    from transformers import ViTForImageClassification   # needs the weights on disk or a download
    hf_model = ViTForImageClassification.from_pretrained("google/vit-base-patch16-224")
    model = vit_from_hf(hf_model)                          # or vit_from_hf("path/to/checkpoint-folder")

`vit_from_hf` reads a Hugging Face ``ViTForImageClassification`` or ``ViTModel``,
its state dict, or a checkpoint folder (``config.json`` plus weights);
`vit_from_timm` reads the state dict of a timm ``VisionTransformer`` (also MAE
and DeiT fine-tuned ViTs). Neither ``transformers`` nor timm is imported by
this module, and nothing is downloaded. Every tensor is renamed to our names,
every name and shape is checked, and the tests compare the logits with the
original model's (``tests/test_vit.py``). The DETR port is `vitcourse.detr.hf`.

Name mapping (Hugging Face -> course; transformers >= 5's module names are mapped too), per block ``i``:
``vit.encoder.layer.i.{layernorm_before,layernorm_after}`` -> ``blocks.i.{norm1,norm2}``;
``...attention.attention.{query,key,value}`` -> ``blocks.i.attn.{q,k,v}_proj``;
``...attention.output.dense`` -> ``blocks.i.attn.out_proj``; ``...intermediate.dense``, ``...output.dense`` ->
``blocks.i.mlp.fc1``, ``fc2``; ``vit.embeddings.{cls_token,position_embeddings}`` -> ``cls_token``,
``pos_embed``; ``vit.embeddings.patch_embeddings.projection`` -> ``patch_embed.proj``;
``vit.layernorm`` -> ``norm``; ``classifier`` -> ``head``. timm: ``blocks.i.attn.qkv`` is split
into ``q_proj``, ``k_proj``, ``v_proj``; ``attn.proj`` -> ``attn.out_proj``; other names are already ours.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .vit import ViT, ViTConfig

__all__ = ["vit_from_hf", "vit_from_timm", "config_from_hf"]


# Per-block renames: Hugging Face transformers >= 5 module names, and the names saved in hub checkpoints.
_HF_BLOCK_KEYS = {
    "layernorm_before": "norm1",
    "layernorm_after": "norm2",
    "attention.q_proj": "attn.q_proj",
    "attention.k_proj": "attn.k_proj",
    "attention.v_proj": "attn.v_proj",
    "attention.o_proj": "attn.out_proj",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
    "attention.attention.query": "attn.q_proj",
    "attention.attention.key": "attn.k_proj",
    "attention.attention.value": "attn.v_proj",
    "attention.output.dense": "attn.out_proj",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
}
_HF_TOP_KEYS = {
    "embeddings.cls_token": "cls_token",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
    "classifier.weight": "head.weight",
    "classifier.bias": "head.bias",
}
_HF_IGNORED = ("pooler.", "embeddings.mask_token")  # ViTModel's pooler and the masked-image-modelling token
# Hugging Face's hidden_act names of the two GELUs (gelu_new is the tanh formula written out, as in GPT-2).
_HF_ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh"}


def _refuse_fc_norm(keys, port: str) -> None:
    """fc_norm is a LayerNorm *after* pooling: loading it as the final ``norm`` would give wrong logits, silently."""
    found = [k for k in keys if "fc_norm" in k]
    if found:
        raise ValueError(
            f"state_dict has {found} (timm's fc_norm: the LayerNorm after mean pooling, as in MAE and "
            f"DeiT-III); {port} has no such layer and must not load it as the final norm. Use "
            f"vit_from_timm, which maps it onto ViTConfig(fc_norm=True)"
        )


def _convert_hf_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face ViT state dict (``ViTForImageClassification`` or ``ViTModel``) to our names."""
    _refuse_fc_norm(state_dict, "a Hugging Face ViT")
    out, unknown = {}, []
    for key, value in state_dict.items():
        k = key[len("vit.") :] if key.startswith("vit.") else key
        if any(k.startswith(p) for p in _HF_IGNORED):
            continue
        if k in _HF_TOP_KEYS:
            out[_HF_TOP_KEYS[k]] = value
            continue
        for prefix in ("layers.", "encoder.layer."):
            if k.startswith(prefix):
                index, _, rest = k[len(prefix) :].partition(".")
                stem, _, leaf = rest.rpartition(".")
                if index.isdigit() and stem in _HF_BLOCK_KEYS:
                    out[f"blocks.{int(index)}.{_HF_BLOCK_KEYS[stem]}.{leaf}"] = value
                    break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"state_dict has keys that are not part of a Hugging Face ViT: {unknown[:8]}"
            f"{' ...' if len(unknown) > 8 else ''}"
        )
    return out


def config_from_hf(hf_config, *, num_classes: int) -> ViTConfig:
    """The `ViTConfig` matching a Hugging Face ``ViTConfig`` (or its ``config.json`` as a dict), with a head of
    ``num_classes`` (0: none), as `vitcourse.detr.config_from_hf` is DETR's."""
    get: Callable[..., Any] = (
        hf_config.get if isinstance(hf_config, Mapping) else lambda k, d=None: getattr(hf_config, k, d)
    )
    act = get("hidden_act", "gelu")
    if act not in _HF_ACTIVATIONS:
        raise ValueError(f"hidden_act must be one of {sorted(_HF_ACTIVATIONS)} (exact or tanh GELU), got {act!r}")

    def side(name):
        v = get(name)
        if isinstance(v, (list, tuple)):
            if len(set(v)) != 1:
                raise ValueError(f"{name} must be square, got {v!r}")
            v = v[0]
        return int(v)

    return ViTConfig(
        image_size=side("image_size"),
        patch_size=side("patch_size"),
        in_channels=int(get("num_channels", 3)),
        num_classes=num_classes,
        dim=int(get("hidden_size")),
        depth=int(get("num_hidden_layers")),
        num_heads=int(get("num_attention_heads")),
        mlp_dim=int(get("intermediate_size")),
        qkv_bias=bool(get("qkv_bias", True)),
        norm_eps=float(get("layer_norm_eps", 1e-12)),
        activation=_HF_ACTIVATIONS[act],
        dropout=float(get("hidden_dropout_prob", 0.0)),
        attn_dropout=float(get("attention_probs_dropout_prob", 0.0)),
    )


def _config_from_state_dict(sd: Mapping[str, torch.Tensor], num_heads: int, norm_eps: float) -> ViTConfig:
    try:
        dim, channels, patch, _ = sd["patch_embed.proj.weight"].shape
        tokens = sd["pos_embed"].shape[1]
        mlp_dim = sd["blocks.0.mlp.fc1.weight"].shape[0]
    except KeyError as e:
        raise ValueError(f"state_dict lacks {e.args[0]!r} (after renaming), needed to infer the config") from None
    grid = math.isqrt(tokens - 1)
    if grid * grid != tokens - 1:
        raise ValueError(f"position embeddings have {tokens} rows; expected a class token plus a square grid")
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    return ViTConfig(
        image_size=grid * patch,
        patch_size=patch,
        in_channels=channels,
        num_classes=sd["head.weight"].shape[0] if "head.weight" in sd else 0,
        dim=dim,
        depth=depth,
        num_heads=num_heads,
        mlp_dim=mlp_dim,
        qkv_bias="blocks.0.attn.q_proj.bias" in sd,
        norm_eps=norm_eps,
    )


def _read_checkpoint_dir(path: Path) -> tuple[dict, dict]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(f"checkpoint directory {str(path)!r} has no config.json")
    hf_config = json.loads(config_file.read_text())
    files = sorted(path.glob("*.safetensors"))
    if files:
        from safetensors.torch import load_file

        state_dict = {}
        for f in files:
            state_dict.update(load_file(str(f)))
    elif (path / "pytorch_model.bin").is_file():
        state_dict = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise ValueError(f"checkpoint directory {str(path)!r} has no *.safetensors or pytorch_model.bin file")
    return hf_config, state_dict


def vit_from_hf(source, *, config=None, num_heads: int | None = None, norm_eps: float = 1e-12) -> ViT:
    """Build our `ViT` with the weights of a Hugging Face ViT, so pretrained checkpoints run in course code.

    Args:
        source: a ``transformers`` ``ViTForImageClassification`` or ``ViTModel``
            (``ViTModel`` gives ``num_classes=0``: the model returns the pooled
            class token), its ``state_dict()`` (current or hub key names), or
            the path of a local checkpoint directory (``config.json`` plus
            ``model.safetensors`` or ``pytorch_model.bin``, as written by
            ``save_pretrained``). Nothing is downloaded.
        config: for a bare state dict, its Hugging Face ``ViTConfig`` (or the
            ``config.json`` dict) or our `ViTConfig`; or give ``num_heads``
            (the only size not readable from the weights) and ``norm_eps``.

    Returns:
        a `ViT` in ``eval()`` mode whose logits equal the Hugging Face model's.
    """
    hf_config: Any = None  # a transformers ViTConfig, a config.json dict or our ViTConfig
    state_dict: Mapping[str, torch.Tensor]
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_dir():
            raise ValueError(f"source path {str(source)!r} is not a directory (expected a local checkpoint)")
        hf_config, state_dict = _read_checkpoint_dir(path)
    elif isinstance(source, nn.Module):
        if not hasattr(source, "config"):
            raise TypeError(f"source module {type(source).__name__} has no .config; pass a Hugging Face ViT model")
        hf_config, state_dict = source.config, source.state_dict()
    elif isinstance(source, Mapping):
        state_dict = source
        hf_config = config
    else:
        raise TypeError(
            f"source must be a Hugging Face ViT model, a state dict or a directory path, got {type(source).__name__}"
        )
    sd = _convert_hf_state_dict(state_dict)
    num_classes = sd["head.weight"].shape[0] if "head.weight" in sd else 0
    if isinstance(hf_config, ViTConfig):
        cfg = hf_config
    elif hf_config is not None:
        cfg = config_from_hf(hf_config, num_classes=num_classes)
    else:
        if num_heads is None:
            raise ValueError("a bare state dict needs config=... or num_heads=... (heads cannot be read from weights)")
        cfg = _config_from_state_dict(sd, num_heads, norm_eps)
    return _load_converted(cfg, sd)


def _load_converted(cfg: ViTConfig, sd: Mapping[str, torch.Tensor]) -> ViT:
    """``ViT(cfg)`` holding the (renamed) weights ``sd``, every name and shape checked; in ``eval()`` mode."""
    if cfg.fc_norm != ("fc_norm.weight" in sd):
        raise ValueError(
            f"the weights {'have' if 'fc_norm.weight' in sd else 'lack'} fc_norm (a LayerNorm after "
            f"pooling) but the config has fc_norm={cfg.fc_norm}: a LayerNorm before and one after "
            f"mean pooling give different logits; use config.replace(fc_norm={'fc_norm.weight' in sd})"
        )
    with torch.device("meta"):  # no memory and no random init: every weight comes from the checkpoint
        model = ViT(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(sd))
    extra = sorted(set(sd) - set(expected))
    if missing or extra:
        raise ValueError(f"weights do not fit ViT({cfg}): missing {missing[:6]}, unexpected {extra[:6]}")
    for k, v in sd.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ValueError(f"weight {k!r} has shape {tuple(v.shape)}, the config expects {tuple(expected[k].shape)}")
    model.load_state_dict({k: v.detach().clone() for k, v in sd.items()}, assign=True)
    if cfg.pos_embedding == "sincos":  # a non-persistent buffer: not in the checkpoint, computed here
        model.pos_embed = model._sincos(cfg.grid_size, cfg.grid_size)
    return model.eval()


# ----------------------------------------------------------------------------- timm (and MAE, DeiT) weights

# timm's VisionTransformer names -> ours; the fused ``attn.qkv`` is split into q, k, v in `_convert_timm_state_dict`.
_TIMM_BLOCK_KEYS = {
    "norm1": "norm1",
    "norm2": "norm2",
    "attn.proj": "attn.out_proj",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
}
_TIMM_TOP_KEYS = {
    "cls_token",
    "pos_embed",
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    "norm.weight",
    "norm.bias",
    "fc_norm.weight",
    "fc_norm.bias",
    "head.weight",
    "head.bias",
}


def _convert_timm_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a timm ``VisionTransformer`` state dict to our names (``fc_norm`` stays ``fc_norm``)."""
    out, unknown = {}, []
    for key, value in state_dict.items():
        if key in _TIMM_TOP_KEYS:
            out[key] = value
            continue
        index, _, rest = key[len("blocks.") :].partition(".") if key.startswith("blocks.") else ("", "", "")
        stem, _, leaf = rest.rpartition(".")
        if index.isdigit() and stem == "attn.qkv" and leaf in ("weight", "bias"):
            q, k, v = value.chunk(3, dim=0)  # timm stacks the projections as rows [q; k; v]
            for name, part in (("q", q), ("k", k), ("v", v)):
                out[f"blocks.{int(index)}.attn.{name}_proj.{leaf}"] = part
        elif index.isdigit() and stem in _TIMM_BLOCK_KEYS:
            out[f"blocks.{int(index)}.{_TIMM_BLOCK_KEYS[stem]}.{leaf}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"state_dict has keys that this port of timm's plain ViT does not know (layer scale, "
            f"register tokens, q/k norms and relative positions are not supported): {unknown[:8]}"
            f"{' ...' if len(unknown) > 8 else ''}"
        )
    return out


def vit_from_timm(
    state_dict: Mapping[str, torch.Tensor],
    *,
    config: ViTConfig | None = None,
    num_heads: int | None = None,
    norm_eps: float = 1e-6,
) -> ViT:
    """Build our `ViT` from the state dict of a timm ``VisionTransformer`` (also MAE and DeiT fine-tuned ViTs).

    timm names the final LayerNorm ``norm`` when it normalises every token
    before pooling and ``fc_norm`` when it normalises the pooled vector
    (``global_pool='avg'``, as MAE and DeiT-III fine-tune). Both are mapped
    onto our layout: a checkpoint with ``fc_norm`` gives
    ``ViTConfig(pool="mean", fc_norm=True)``, and its ``fc_norm`` weights are
    never loaded as ``norm`` (that would normalise before averaging and give
    other logits without any error). timm is not needed: pass the state dict
    (e.g. read with ``safetensors.torch.load_file``); nothing is downloaded.

    Args:
        state_dict: timm names (``blocks.0.attn.qkv.weight``, ``fc_norm.weight``, ...).
        config: our `ViTConfig` for the weights; or give ``num_heads`` (the
            only size not readable from the weights) and ``norm_eps`` (timm's
            default 1e-6). Inferred: a class token if ``cls_token`` is present;
            ``pool="mean", fc_norm=True`` if ``fc_norm`` is, ``pool="mean"``
            if there is no class token, else ``pool="cls"``.

    Returns:
        a `ViT` in ``eval()`` mode whose logits equal timm's forward.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    sd = _convert_timm_state_dict(state_dict)
    if config is None:
        if num_heads is None:
            raise ValueError("vit_from_timm needs config=... or num_heads=... (heads cannot be read from weights)")
        try:
            dim, channels, patch, _ = sd["patch_embed.proj.weight"].shape
            tokens = sd["pos_embed"].shape[1]
            mlp_dim = sd["blocks.0.mlp.fc1.weight"].shape[0]
        except KeyError as e:
            raise ValueError(f"state_dict lacks {e.args[0]!r}, needed to infer the config; pass config=...") from None
        has_cls, fc_norm = "cls_token" in sd, "fc_norm.weight" in sd
        grid = math.isqrt(tokens - has_cls)
        if grid * grid != tokens - has_cls:
            raise ValueError(
                f"pos_embed has {tokens} rows; expected {'a class token plus ' if has_cls else ''}a "
                f"square grid (timm's no_embed_class layout is not supported)"
            )
        config = ViTConfig(
            image_size=grid * patch,
            patch_size=patch,
            in_channels=channels,
            num_classes=sd["head.weight"].shape[0] if "head.weight" in sd else 0,
            dim=dim,
            depth=1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks.")),
            num_heads=num_heads,
            mlp_dim=mlp_dim,
            qkv_bias="blocks.0.attn.q_proj.bias" in sd,
            norm_eps=norm_eps,
            pool="cls" if has_cls and not fc_norm else "mean",
            fc_norm=fc_norm,
            class_token=has_cls,
        )
    elif not isinstance(config, ViTConfig):
        raise TypeError(f"config must be a vitcourse ViTConfig, got {type(config).__name__}")
    return _load_converted(config, sd)
