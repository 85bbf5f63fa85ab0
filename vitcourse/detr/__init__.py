"""DETR, built piece by piece (lecture 09): boxes, Hungarian matching, the set loss, the model, evaluation.

Paper: Carion et al., "End-to-End Object Detection with Transformers" (arXiv:2005.12872).
Modules, in the order the lecture uses them: `boxes`, `matcher`, `criterion`, `position`, `backbone`,
`model`, `hf` (weights from Hugging Face), `train`, `evaluate`, `plot`.
"""

from .boxes import (
    box_area,
    box_cxcywh_to_xyxy,
    box_iou,
    box_xyxy_to_cxcywh,
    check_boxes_xyxy,
    generalized_box_iou,
    scale_boxes,
)
from .matcher import HungarianMatcher
from .criterion import DEFAULT_WEIGHTS, SetCriterion
from .position import sine_position_encoding
from .backbone import BackboneConfig, FrozenBatchNorm2d, ResNetBackbone, SmallCNN, build_backbone
from .model import DETR, BoxMLP, DETRConfig, post_process
from .hf import config_from_hf, detr_from_hf
from .evaluate import coco_map, evaluate_detr, predict_detr
from .train import DetectionHistory, fit_detr
from .plot import draw_detections, plot_cost_matrix, plot_cross_attention, plot_query_centres

__all__ = [
    "box_area",
    "box_cxcywh_to_xyxy",
    "box_iou",
    "box_xyxy_to_cxcywh",
    "check_boxes_xyxy",
    "generalized_box_iou",
    "scale_boxes",
    "HungarianMatcher",
    "SetCriterion",
    "DEFAULT_WEIGHTS",
    "sine_position_encoding",
    "BackboneConfig",
    "FrozenBatchNorm2d",
    "ResNetBackbone",
    "SmallCNN",
    "build_backbone",
    "DETR",
    "BoxMLP",
    "DETRConfig",
    "post_process",
    "config_from_hf",
    "detr_from_hf",
    "coco_map",
    "evaluate_detr",
    "predict_detr",
    "DetectionHistory",
    "fit_detr",
    "draw_detections",
    "plot_cost_matrix",
    "plot_cross_attention",
    "plot_query_centres",
]
