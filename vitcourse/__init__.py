"""vitcourse: from attention to Vision Transformers and DETR, trained on a laptop CPU.

The package is the course's second textbook: every lecture notebook derives
an idea with small tensors, then checks that the tested implementation here
computes the same numbers. Public names are re-exported below in lecture order.

The re-exports are lazy (PEP 562 ``__getattr__``): ``import vitcourse`` loads
neither torch nor matplotlib, so the ``vitcourse`` command (``vitcourse --help``,
``vitcourse grade``) does not pay for them. ``from vitcourse import ViT`` imports
``vitcourse.vit`` on first use, as an eager import would. The first name taken
from here also imports ``vitcourse.plot``, which registers the Korean font
(NanumGothic) with matplotlib, so figures made in a notebook show Hangul
whatever the notebook imports first (tests/test_package.py).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# (submodule, names it exports), in lecture order (each lecture module adds its line here); a literal, so that
# the grader's sandbox can read it without importing the package (grading/sandbox.py `_lazy_init`)
_MODULES = [
    (".utils", "get_device seed_everything"),
    (
        ".data",
        "DenoisingCanvas DetectionCanvas DigitsSplit SegmentationCanvas collate_fn denormalize load_digits "
        "sample_image",
    ),
    (".train", "History evaluate fit predict"),
    (".plot", "plot_attention plot_history show_images"),
    (".attention", "MultiHeadAttention load_from_torch_mha record_attention scaled_dot_product_attention"),
    (".positional", "LearnedPositionalEmbedding resize_grid_embedding sincos_2d sinusoidal_encoding"),
    (".blocks", "MLP DecoderBlock PostNormBlock PreNormBlock"),
    (".vit", "PatchEmbedding ViT ViTConfig patchify unpatchify"),
    (".augment", "random_affine"),
    (".rollout", "attention_rollout"),
    (".vit_hf", "vit_from_hf"),
    (".mixer", "MixerBlock MixerConfig MLPMixer"),
    (".unet", "TransUNet UNet"),
    (".metrics", "dice_per_class iou_per_class mean_dice mean_iou"),
]
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES for name in names.split()}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vitcourse' has no attribute {name!r}")
    importlib.import_module(".plot", __name__)  # Korean font for every figure (see the module docstring)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
