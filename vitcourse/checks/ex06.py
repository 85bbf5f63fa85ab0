"""Checks for exercises/06_vision_transformer.ipynb: patchify, patch embedding, the ViT forward, training on digits.

Conventions (stated in the exercise notebook):
- ``patchify(images, patch_size)``: ``(B, C, H, W) -> (B, N, P*P*C)``, patches row by row
  (left to right, top to bottom), pixels inside a patch ordered (row, column, channel), i.e.
  einops ``"b c (h p) (w q) -> b (h w) (p q c)"``, as `vitcourse.vit.patchify`.
- ``patch_embedding(images, weight, bias)``: a convolution kernel ``weight (D, C, P, P)`` and ``bias (D,)``
  applied to every non-overlapping patch, output ``(B, N, D)`` in the same patch order.
- ``vit_forward(images, params, num_heads)``: logits ``(B, K)`` of a ViT whose weights ``params`` carry the
  names of ``vitcourse.vit.ViT.state_dict()`` (class token, learned positions, pre-norm blocks with
  LayerNorm eps 1e-6 and exact GELU, final norm, linear head on the class token).
- ``train_vit(x_train, y_train)`` returns a trained model, judged on held-out digits it never sees.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, DigitsTrainingCheck, compare_arrays, register, visible_variant
from .rules import BUILT_IN_ATTENTION

#: weights of one block: name -> shape as a function of (D, F) (F = MLP width)
_BLOCK_SHAPES = {
    "norm1.weight": lambda D, F: (D,),
    "norm1.bias": lambda D, F: (D,),
    "attn.q_proj.weight": lambda D, F: (D, D),
    "attn.q_proj.bias": lambda D, F: (D,),
    "attn.k_proj.weight": lambda D, F: (D, D),
    "attn.k_proj.bias": lambda D, F: (D,),
    "attn.v_proj.weight": lambda D, F: (D, D),
    "attn.v_proj.bias": lambda D, F: (D,),
    "attn.out_proj.weight": lambda D, F: (D, D),
    "attn.out_proj.bias": lambda D, F: (D,),
    "norm2.weight": lambda D, F: (D,),
    "norm2.bias": lambda D, F: (D,),
    "mlp.fc1.weight": lambda D, F: (F, D),
    "mlp.fc1.bias": lambda D, F: (F,),
    "mlp.fc2.weight": lambda D, F: (D, F),
    "mlp.fc2.bias": lambda D, F: (D,),
}


def vit_param_shapes(
    *, channels: int, patch: int, grid: int, dim: int, depth: int, mlp_dim: int, classes: int
) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight of ``vitcourse.vit.ViT`` (class token, learned positions)."""
    shapes = {
        "cls_token": (1, 1, dim),
        "pos_embed": (1, grid * grid + 1, dim),
        "patch_embed.proj.weight": (dim, channels, patch, patch),
        "patch_embed.proj.bias": (dim,),
    }
    for i in range(depth):
        shapes.update({f"blocks.{i}.{k}": f(dim, mlp_dim) for k, f in _BLOCK_SHAPES.items()})
    shapes.update({"norm.weight": (dim,), "norm.bias": (dim,), "head.weight": (classes, dim), "head.bias": (classes,)})
    return shapes


def random_vit_params(rng, shapes: dict) -> dict[str, np.ndarray]:
    """Weights of a realistic size: LayerNorm gains near one, matrices ~ 1/sqrt(fan_in), small biases."""
    out = {}
    for name, shape in shapes.items():
        if name.endswith("weight") and name.split(".")[-2].startswith("norm"):
            w = rng.normal(1.0, 0.2, size=shape)
        elif name.endswith("bias"):
            w = rng.normal(0.0, 0.1, size=shape)
        elif name in ("cls_token", "pos_embed"):
            w = rng.normal(0.0, 0.5, size=shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            w = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)
        out[name] = w.astype(np.float32)
    return out


def _patchify_variant(inputs, order):
    """Patches of the case with another layout: ``order`` is the axis order of ``(b, c, h, p, w, q)`` before the
    reshape to ``(B, N, P*P*C)``; the right one is ``(0, 2, 4, 3, 5, 1)``."""
    x, P = np.asarray(inputs["images"]), inputs["patch_size"]
    B, C, H, W = x.shape
    return x.reshape(B, C, H // P, P, W // P, P).transpose(order).reshape(B, (H // P) * (W // P), P * P * C)


@register
class Patchify(Check):
    name = "06.patchify"
    absent = ("vit",)
    forbidden = ("vitcourse.vit", "vitcourse.vit_hf")  # vit_hf re-exports ViT
    target = "patchify"
    mistakes = (
        ("mistake.06.patchify_channels_first", lambda i: _patchify_variant(i, (0, 2, 4, 1, 3, 5))),
        ("mistake.06.patchify_columns_first", lambda i: _patchify_variant(i, (0, 4, 2, 3, 5, 1))),
        (
            "mistake.06.patchify_reshape",
            lambda i: np.asarray(i["images"]).reshape(
                i["images"].shape[0], -1, i["patch_size"] ** 2 * i["images"].shape[1]
            ),
        ),
    )

    def case_features(self, inputs):
        B, C, H, W = inputs["images"].shape
        return {"square grid" if H == W else "grid wider or taller than it is long"}

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: (B, C, grid h, grid w, P); a 2x3 grid: mixing up h and w fails
            B, C, h, w, P = ((2, 3, 2, 3, 4), (1, 1, 3, 2, 2), (3, 2, 2, 2, 1))[visible_variant(rng, 3)]
        else:
            B, C, h, w, P = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 4)),
                int(rng.integers(1, 5)),
                int(rng.integers(1, 5)),
                int(rng.integers(1, 6)),
            )
        images = rng.normal(size=(B, C, h * P, w * P)).astype(np.float32)
        return {"images": images, "patch_size": P}

    def reference(self, inputs):
        x, P = np.asarray(inputs["images"]), inputs["patch_size"]
        B, C, H, W = x.shape
        x = x.reshape(B, C, H // P, P, W // P, P)  # b c h p w q
        return x.transpose(0, 2, 4, 3, 5, 1).reshape(B, (H // P) * (W // P), P * P * C)  # b (h w) (p q c)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what=msg("what.patches"), rtol=0, atol=0)


@register
class PatchEmbedding(Check):
    name = "06.patch_embedding"
    absent = ("vit",)
    forbidden = ("vitcourse.vit", "vitcourse.vit_hf")  # vit_hf re-exports ViT
    target = "patch_embedding"
    rtol, atol = 1e-4, 1e-4
    case_features = Patchify.case_features
    mistakes = (
        ("mistake.06.embedding_pixel_order", lambda i: PatchEmbedding.variant(i, pixel_order_mixed=True)),
        ("mistake.06.embedding_no_bias", lambda i: PatchEmbedding.variant(i, bias=False)),
    )

    @staticmethod
    def variant(inputs, *, pixel_order_mixed=False, bias=True):
        """The embedding with the patches flattened (row, column, channel) but the kernel flattened (channel,
        row, column), or without the bias."""
        x, wt, b = (np.asarray(inputs[k], np.float64) for k in ("images", "weight", "bias"))
        D = wt.shape[0]
        patches = _patchify_variant({"images": x, "patch_size": wt.shape[-1]}, (0, 2, 4, 3, 5, 1))
        kernel = wt.reshape(D, -1) if pixel_order_mixed else wt.transpose(0, 2, 3, 1).reshape(D, -1)
        return patches @ kernel.T + (b if bias else 0.0)

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: (B, C, grid h, grid w, P, D), as the hidden ones vary them
            B, C, h, w, P, D = ((2, 3, 2, 3, 4, 5), (1, 1, 3, 2, 2, 3), (3, 2, 2, 2, 1, 4))[visible_variant(rng, 3)]
        else:
            B, C, h, w, P, D = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 4)),
                int(rng.integers(1, 5)),
                int(rng.integers(1, 5)),
                int(rng.integers(1, 6)),
                int(rng.integers(1, 9)),
            )
        return {
            "images": rng.normal(size=(B, C, h * P, w * P)).astype(np.float32),
            "weight": rng.normal(0, 1 / np.sqrt(C * P * P), size=(D, C, P, P)).astype(np.float32),
            "bias": rng.normal(0, 0.5, size=(D,)).astype(np.float32),
        }

    def reference(self, inputs):
        x, wt, b = (np.asarray(inputs[k], np.float64) for k in ("images", "weight", "bias"))
        B, C, H, W = x.shape
        D, _, P, _ = wt.shape
        patches = x.reshape(B, C, H // P, P, W // P, P).transpose(0, 2, 4, 1, 3, 5)  # (B, h, w, C, P, P)
        out = np.einsum("bhwcpq,dcpq->bhwd", patches, wt) + b  # (B, h, w, D)
        return out.reshape(B, -1, D)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what=msg("what.patch_embeddings"), rtol=self.rtol, atol=self.atol)


@register
class ViTForward(Check):
    name = "06.vit_forward"
    absent = ("vit",)
    forbidden = (
        *BUILT_IN_ATTENTION,
        "vitcourse.vit",
        "vitcourse.vit_hf",
        "vitcourse.blocks",
    )
    target = "vit_forward"
    rtol, atol = 1e-4, 1e-4

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: other sizes, one head and one block too, as the hidden cases have
            B, C, grid, P, H, Dh, depth, F, K = (
                (2, 3, 2, 4, 2, 4, 2, 16, 5),
                (1, 1, 3, 2, 1, 4, 1, 8, 3),
                (3, 2, 1, 3, 3, 2, 3, 12, 4),
            )[visible_variant(rng, 3)]
        else:
            B, C, grid, P = (
                int(rng.integers(1, 4)),
                int(rng.integers(1, 4)),
                int(rng.integers(1, 4)),
                int(rng.integers(2, 5)),
            )
            H, Dh, depth = int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
            F, K = int(rng.integers(4, 33)), int(rng.integers(2, 11))
        D = H * Dh
        shapes = vit_param_shapes(channels=C, patch=P, grid=grid, dim=D, depth=depth, mlp_dim=F, classes=K)
        inputs = {"images": rng.normal(size=(B, C, grid * P, grid * P)).astype(np.float32), "num_heads": H}
        inputs.update({"p_" + k: v for k, v in random_vit_params(rng, shapes).items()})
        return inputs

    @staticmethod
    def split(inputs):
        return inputs["images"], {k[2:]: v for k, v in inputs.items() if k.startswith("p_")}, inputs["num_heads"]

    runner = "params_images"

    mistakes = (
        ("mistake.06.vit_no_positions", lambda i: ViTForward.logits(i, positions=False)),
        ("mistake.06.vit_mean_pool", lambda i: ViTForward.logits(i, pool="mean")),
        ("mistake.06.vit_mean_pool", lambda i: ViTForward.logits(i, pool="all")),
        ("mistake.06.vit_no_final_norm", lambda i: ViTForward.logits(i, final_norm=False)),
    )

    def reference(self, inputs):
        return self.logits(inputs)

    @classmethod
    def logits(cls, inputs, *, positions=True, pool="cls", final_norm=True):
        """Logits of `vitcourse.vit.ViT` with the case's weights (float64); the keywords make one mistake: no
        position embedding, the head on the mean of the patch tokens (``"mean"``) or of all tokens (``"all"``)
        instead of the class token, or no final LayerNorm."""
        import torch

        from ..vit import ViT, ViTConfig

        images, params, H = cls.split(inputs)
        if not positions:
            params = dict(params, pos_embed=np.zeros_like(params["pos_embed"]))
        D, C, P, _ = params["patch_embed.proj.weight"].shape
        depth = 1 + max(int(k.split(".")[1]) for k in params if k.startswith("blocks."))
        config = ViTConfig(
            image_size=images.shape[-1],
            patch_size=P,
            in_channels=C,
            num_classes=params["head.weight"].shape[0],
            dim=D,
            depth=depth,
            num_heads=H,
            mlp_dim=params["blocks.0.mlp.fc1.weight"].shape[0],
            norm_eps=1e-6,
        )
        model = ViT(config).double().eval()
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float64)) for k, v in params.items()})
        if not final_norm:
            model.norm = torch.nn.Identity()
        with torch.no_grad():
            tokens = model.forward_features(torch.from_numpy(np.asarray(images, np.float64)))  # (B, T, D)
            pooled = {"cls": tokens[:, 0], "mean": tokens[:, 1:].mean(dim=1), "all": tokens.mean(dim=1)}[pool]
            return model.head(pooled).numpy()  # (B, K)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what=msg("what.logits"), rtol=self.rtol, atol=self.atol)


@register
class TrainViT(DigitsTrainingCheck):
    """``train_vit(x_train, y_train)`` returns a trained model; it is judged on held-out digits."""

    name = "06.train_vit"
    target = "train_vit"

    def build_model(self, config):
        from ..vit import ViT, ViTConfig

        return ViT(ViTConfig(**config))
