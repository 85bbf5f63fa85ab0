"""vitcourse: from attention to Vision Transformers and DETR, trained on a laptop CPU.

The package is the course's second textbook: every lecture notebook derives
an idea with small tensors, then checks that the tested implementation here
computes the same numbers. Public names are re-exported below in lecture order.
"""
from .utils import get_device, seed_everything
from .data import DetectionCanvas, DigitsSplit, collate_fn, denormalize, load_digits, sample_image
from .train import History, evaluate, fit, predict
from .plot import plot_attention, plot_history, show_images

__version__ = "0.1.0"
# Lecture modules (re-exported in lecture order; each helper adds its line below).
from .attention import MultiHeadAttention, load_from_torch_mha, record_attention, scaled_dot_product_attention
from .positional import LearnedPositionalEmbedding, resize_grid_embedding, sincos_2d, sinusoidal_encoding
from .blocks import MLP, DecoderBlock, PostNormBlock, PreNormBlock
from .vit import PatchEmbedding, ViT, ViTConfig, attention_rollout, patchify, unpatchify, vit_from_hf
from .mixer import MixerBlock, MixerConfig, MLPMixer
from .unet import (DenoisingCanvas, SegmentationCanvas, TransUNet, UNet, dice_per_class, iou_per_class,
                   mean_dice, mean_iou)
