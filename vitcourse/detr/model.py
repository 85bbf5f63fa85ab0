"""DETR: a CNN backbone, a transformer encoder-decoder and N object queries that predict a set of boxes.

Paper: Carion et al., "End-to-End Object Detection with Transformers" (DETR,
arXiv:2005.12872), section 3.2 and figure 2; code ``models/detr.py`` and
``models/transformer.py``.

Pipeline (lecture 09):
1. backbone: image ``(B, 3, H0, W0)`` -> features ``(B, C, h, w)``;
2. input projection (1x1 convolution) to the model width and flattening to
   ``h*w`` tokens ``(B, M, D)``;
3. 2D sine positional encoding (`vitcourse.detr.position`) ``(B, M, D)``, added
   to the queries and keys of every attention layer, never to the values;
4. encoder: ``L_enc`` post-norm blocks (`vitcourse.blocks.PostNormBlock`, ReLU);
5. decoder: ``Q`` learned object queries (``query_embed``) start from zeros and
   go through ``L_dec`` `vitcourse.blocks.DecoderBlock` (self-attention among
   queries, cross-attention to the encoder's tokens, MLP), followed by a shared
   LayerNorm;
6. heads on every query: a linear class head with ``C + 1`` outputs (the last
   is "no object") and a 3-layer MLP predicting a normalised ``cxcywh`` box
   (sigmoid). The heads also run on every earlier decoder layer's output for
   the auxiliary losses (``aux_outputs``).

Shapes: ``B`` batch, ``C`` classes (without "no object"), ``D`` model width,
``H`` heads, ``Q`` object queries, ``h, w`` feature map, ``M = h*w`` memory tokens.

Differences from the paper: none in the maths of ``DETRConfig.r50()``; the
pixel mask (images of different sizes in one batch) is optional; the CPU
preset swaps ResNet-50 for a small CNN and shrinks every size.

Masks follow the course's convention, True = keep (see `vitcourse.attention`):
``pixel_mask`` ``(B, H0, W0)`` is True on the image's real pixels and False
on padding, like Hugging Face's ``pixel_mask`` (1 = pixel). The original DETR
code carries the opposite, ``mask`` True on padding (its ``NestedTensor``);
``pixel_mask = ~mask`` converts. The old name ``padding_mask`` is refused with
a TypeError that says so, rather than silently inverted.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..blocks import DecoderBlock, PostNormBlock
from ..utils import check_image_dtype, check_int
from .backbone import BackboneConfig, build_backbone
from .boxes import box_cxcywh_to_xyxy, scale_boxes
from .position import sine_position_encoding

__all__ = ["DETRConfig", "DETR", "BoxMLP", "post_process"]


@dataclass(frozen=True, kw_only=True)
class DETRConfig:
    """Sizes of a DETR model, keyword-only like `vitcourse.vit.ViTConfig` (presets: `DETRConfig.r50`, `DETRConfig.cpu`).

    Args:
        num_classes: object classes ``C``; the class head has ``C + 1`` outputs.
        num_queries: object queries ``Q``, the most objects one image can hold.
        dim: model width ``D``; num_heads: attention heads ``H`` (``D % H == 0``).
        encoder_layers, decoder_layers: numbers of blocks.
        mlp_dim: hidden width of the blocks' MLP.
        dropout: dropout in the transformer (paper: 0.1).
        aux_loss: also predict from every earlier decoder layer (``aux_outputs``).
        backbone: a `BackboneConfig`.

    ``heads`` is the field's old name: it is refused with a TypeError that gives the new one.
    """

    num_classes: int = 91
    num_queries: int = 100
    dim: int = 256
    num_heads: int = 8
    encoder_layers: int = 6
    decoder_layers: int = 6
    mlp_dim: int = 2048
    dropout: float = 0.1
    aux_loss: bool = True
    backbone: BackboneConfig = field(default_factory=BackboneConfig.resnet50)
    heads: InitVar[int | None] = None  # the old name of num_heads: refused in __post_init__

    def __post_init__(self, heads):
        if heads is not None:
            raise TypeError(
                f"DETRConfig(heads={heads!r}): the field is now num_heads, as in ViTConfig and "
                f"MultiHeadAttention; pass num_heads={heads!r}"
            )
        for name in ("num_classes", "num_queries", "dim", "num_heads", "decoder_layers", "mlp_dim"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        object.__setattr__(self, "encoder_layers", check_int("encoder_layers", self.encoder_layers, minimum=0))
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")
        if self.dim % 4:
            raise ValueError(f"dim must be divisible by 4 for the 2D sine encoding, got {self.dim}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.backbone, BackboneConfig):
            raise TypeError(f"backbone must be a BackboneConfig, got {type(self.backbone).__name__}")

    @classmethod
    def r50(cls, *, num_classes: int = 91, **overrides) -> "DETRConfig":
        """The paper's DETR-R50: 100 queries, 6+6 layers, width 256, 8 heads, MLP 2048."""
        # 41,524,768 params (91 classes), 41,302,368 trainable (stem and first stage frozen)
        return cls(num_classes=num_classes, **overrides)

    @classmethod
    def cpu(cls, *, num_classes: int = 3, **overrides) -> "DETRConfig":
        """A DETR that learns to detect coloured shapes on small canvases on a CPU.

        Lecture 09 trains it with ``encoder_layers=1`` on 48x48 canvases for 1,000 steps of 16.
        """
        # 1,333,352 params with 3 classes
        settings: dict[str, Any] = dict(
            num_queries=10,
            dim=128,
            num_heads=8,
            encoder_layers=3,
            decoder_layers=3,
            mlp_dim=256,
            dropout=0.0,
            backbone=BackboneConfig.small_cnn(),
        )
        settings.update(overrides)
        return cls(num_classes=num_classes, **settings)


class BoxMLP(nn.Module):
    """The box head: ``num_layers`` linear layers with ReLU between them, ``(..., D) -> (..., out_dim)``."""

    def __init__(self, dim: int, hidden_dim: int, out_dim: int, num_layers: int = 3):
        super().__init__()
        sizes = [dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class DETR(nn.Module):
    """DEtection TRansformer: ``images (B, 3, H0, W0) -> {"pred_logits": (B, Q, C+1), "pred_boxes": (B, Q, 4)}``.

    Boxes are normalised ``cxcywh`` in [0, 1] (a sigmoid); see the module docstring for the pipeline.
    """

    def __init__(self, config: DETRConfig):
        super().__init__()
        if not isinstance(config, DETRConfig):
            raise TypeError(f"config must be a DETRConfig, got {type(config).__name__}")
        self.config = c = config
        self.backbone = build_backbone(c.backbone)
        self.input_proj = nn.Conv2d(self.backbone.num_channels, c.dim, kernel_size=1)
        self.encoder = nn.ModuleList(
            PostNormBlock(c.dim, c.num_heads, mlp_dim=c.mlp_dim, activation="relu", dropout=c.dropout)
            for _ in range(c.encoder_layers)
        )
        self.decoder = nn.ModuleList(
            DecoderBlock(c.dim, c.num_heads, mlp_dim=c.mlp_dim, activation="relu", dropout=c.dropout)
            for _ in range(c.decoder_layers)
        )
        self.decoder_norm = nn.LayerNorm(c.dim)
        self.query_embed = nn.Embedding(c.num_queries, c.dim)
        self.class_head = nn.Linear(c.dim, c.num_classes + 1)
        self.box_head = BoxMLP(c.dim, c.dim, 4, num_layers=3)
        self._init_transformer()

    def _init_transformer(self) -> None:
        """Xavier-uniform weights in the encoder and decoder, as in DETR's ``Transformer._reset_parameters``."""
        for module in (self.encoder, self.decoder):
            for p in module.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

    def features(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None):
        """Backbone, projection, flattening and positions: memory ``(B, M, D)``, pos ``(B, M, D)``, key mask
        ``(B, M)`` (True = real cell), ``(h, w)``."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a tensor (B, 3, H, W), got {got}")
        check_image_dtype("images", images, self.input_proj.weight.dtype)
        B, _, H0, W0 = images.shape
        if pixel_mask is None:
            pixel_mask = torch.ones(B, H0, W0, dtype=torch.bool, device=images.device)
        elif (
            not isinstance(pixel_mask, torch.Tensor)
            or pixel_mask.shape != (B, H0, W0)
            or pixel_mask.dtype != torch.bool
        ):
            got_mask = (
                f"{pixel_mask.dtype} {tuple(pixel_mask.shape)}"
                if isinstance(pixel_mask, torch.Tensor)
                else type(pixel_mask).__name__
            )
            raise ValueError(
                f"pixel_mask must be a bool tensor {(B, H0, W0)}, True on the image's real pixels and "
                f"False on padding, got {got_mask}. Fix: pixel_mask.bool() for a 0/1 mask "
                f"(Hugging Face's pixel_mask), ~mask for DETR's padding mask (True on padding)"
            )
        else:
            empty = ~pixel_mask.flatten(1).any(1)  # (B,) images with no real pixel
            if bool(empty.any()):
                bad = empty.nonzero().flatten().tolist()
                raise ValueError(
                    f"pixel_mask has no True (real) pixel for image(s) {bad}: True marks the image's "
                    f"pixels, False the padding. A mask True on padding (DETR's original convention) "
                    f"must be inverted: pixel_mask=~padding_mask"
                )
        f = self.input_proj(self.backbone(images))  # (B, D, h, w)
        h, w = f.shape[-2:]
        mask = F.interpolate(pixel_mask[None].float(), size=(h, w))[0].bool()  # (B, h, w) True = real cell
        pos = sine_position_encoding(mask, self.config.dim).flatten(1, 2).to(f.dtype)  # (B, M, D)
        memory = f.flatten(2).transpose(1, 2)  # (B, M, D), M = h*w
        return memory, pos, mask.flatten(1), (h, w)

    def forward(
        self,
        images: torch.Tensor,
        pixel_mask: torch.Tensor | None = None,
        *,
        return_attn: bool = False,
        padding_mask=None,
    ):
        """Predict ``Q`` boxes per image.

        Args:
            images: ``(B, 3, H0, W0)``.
            pixel_mask: optional bool ``(B, H0, W0)``, True on the image's real pixels, False on
                padding (the course's True = keep; Hugging Face's ``pixel_mask``). ``padding_mask``
                (True on padding, the original DETR's) is refused: pass ``pixel_mask=~padding_mask``.
            return_attn: also return ``"cross_attn"``: one ``(B, H, Q, M)``
                decoder cross-attention map per layer, and ``"feature_size"`` ``(h, w)``.

        Returns:
            ``{"pred_logits": (B, Q, C+1), "pred_boxes": (B, Q, 4), "aux_outputs": [...]}``
            (``aux_outputs``: one such dict per earlier decoder layer, when ``aux_loss``).
        """
        if padding_mask is not None:
            raise TypeError(
                "DETR takes pixel_mask= (bool True on the image's real pixels, the course's True = keep), "
                "not padding_mask= (True on padding, the original DETR's convention). "
                "Fix: pass pixel_mask=~padding_mask."
            )
        memory, pos, key_mask, (h, w) = self.features(images, pixel_mask)  # key_mask (B, M) True = real cell
        km = None if bool(key_mask.all()) else key_mask
        for block in self.encoder:
            memory = block(memory, pos=pos, key_mask=km)  # (B, M, D)
        B = memory.shape[0]
        query_pos = self.query_embed.weight[None].expand(B, -1, -1)  # (B, Q, D)
        tgt = torch.zeros_like(query_pos)  # (B, Q, D): the decoder input starts empty
        hidden, cross = [], []
        for block in self.decoder:
            out = block(tgt, memory, query_pos=query_pos, memory_pos=pos, memory_key_mask=km, return_attn=return_attn)
            tgt, attn = out if return_attn else (out, None)  # (B, Q, D)
            hidden.append(self.decoder_norm(tgt))  # the shared final norm, applied to every layer's output
            if return_attn:
                assert attn is not None  # return_attn=True: the block returned (output, attention maps)
                cross.append(attn["cross"])  # (B, H, Q, M)
        if not self.config.aux_loss:
            hidden = hidden[-1:]
        hs = torch.stack(hidden)  # (L, B, Q, D)
        logits = self.class_head(hs)  # (L, B, Q, C+1)
        boxes = self.box_head(hs).sigmoid()  # (L, B, Q, 4) normalised cxcywh
        out = {"pred_logits": logits[-1], "pred_boxes": boxes[-1]}
        if self.config.aux_loss:
            out["aux_outputs"] = [{"pred_logits": a, "pred_boxes": b} for a, b in zip(logits[:-1], boxes[:-1])]
        if return_attn:
            out["cross_attn"] = cross
            out["feature_size"] = (h, w)
        return out


@torch.no_grad()
def post_process(outputs: dict, image_size, *, threshold: float | None = None) -> list[dict[str, torch.Tensor]]:
    """Model outputs -> per image ``{"scores": (K,), "labels": (K,), "boxes": (K, 4) xyxy pixels}``.

    The score of a query is its highest probability over the real classes
    (the "no object" probability is left out, as in DETR's ``PostProcess``).

    Args:
        outputs: ``{"pred_logits": (B, Q, C+1), "pred_boxes": (B, Q, 4)}``.
        image_size: an int, an ``(H, W)`` pair, or a ``(B, 2)`` tensor of sizes.
        threshold: keep only predictions scoring above it (None keeps all ``Q``).
    """
    logits, boxes = outputs["pred_logits"], outputs["pred_boxes"]
    prob = logits.softmax(-1)[..., :-1]  # (B, Q, C) without "no object"
    scores, labels = prob.max(-1)  # (B, Q), (B, Q)
    pixel = scale_boxes(box_cxcywh_to_xyxy(boxes), image_size)  # (B, Q, 4) xyxy in pixels
    results = []
    for s, lab, b in zip(scores, labels, pixel):
        keep = s > threshold if threshold is not None else torch.ones_like(s, dtype=torch.bool)
        results.append({"scores": s[keep], "labels": lab[keep], "boxes": b[keep]})
    return results
