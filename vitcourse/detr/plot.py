"""Plots for lecture 09 (DETR): detections on images, the matching cost, cross-attention, query specialisation.

Pure functions: they take tensors and return a figure, never change
matplotlib's global ``rcParams``. Boxes drawn are pixel ``xyxy`` unless said
otherwise; images are ``(3, H, W)`` in [0, 1].
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ..plot import to_numpy_image

__all__ = ["draw_detections", "plot_cost_matrix", "plot_cross_attention", "plot_query_centres"]

_PALETTE = (
    "#e41a1c",
    "#377eb8",
    "#4daf4a",
    "#ff7f00",
    "#984ea3",
    "#a65628",
    "#f781bf",
    "#999999",
    "#17becf",
    "#bcbd22",
)


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def draw_detections(
    image, boxes, labels, scores=None, *, class_names=None, ax=None, title: str | None = None, linestyle: str = "-"
):
    """Boxes (pixel ``xyxy`` ``(K, 4)``) with their class name and score on ``image`` ``(3, H, W)``.

    Used by lecture 09 for ground truth (no scores, dashed) and predictions. Returns the figure.
    """
    boxes = torch.as_tensor(boxes).detach().cpu().reshape(-1, 4)
    labels = torch.as_tensor(labels).detach().cpu().reshape(-1)
    if len(labels) != len(boxes):
        raise ValueError(f"got {len(boxes)} boxes but {len(labels)} labels")
    if scores is not None:
        scores = torch.as_tensor(scores).detach().cpu().reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f"got {len(boxes)} boxes but {len(scores)} scores")
    fig, ax = _axes(ax, (3, 3))
    ax.imshow(to_numpy_image(image))
    for k, (box, label) in enumerate(zip(boxes.tolist(), labels.tolist())):
        color = _PALETTE[label % len(_PALETTE)]
        x0, y0, x1, y1 = box
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.5, ec=color, ls=linestyle))
        text = class_names[label] if class_names is not None else str(label)
        if scores is not None:
            text += f" {float(scores[k]):.2f}"
        ax.text(
            x0,
            y0 - 1,
            text,
            color="white",
            fontsize=7,
            va="bottom",
            bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "lw": 0},
        )
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_cost_matrix(cost, assignment=None, *, row_labels=None, col_labels=None, ax=None, title: str | None = None):
    """Heat map of a matching cost ``(Q, T)``; the assigned (query, object) cells are outlined."""
    c = cost.detach().cpu().numpy() if isinstance(cost, torch.Tensor) else np.asarray(cost)
    if c.ndim != 2:
        raise ValueError(f"cost must be a (Q, T) matrix, got shape {c.shape}")
    fig, ax = _axes(ax, (0.9 * c.shape[1] + 2.5, 0.35 * c.shape[0] + 1.2))
    im = ax.imshow(c, cmap="viridis_r", aspect="auto")
    lo, hi = float(c.min()) if c.size else 0.0, float(c.max()) if c.size else 1.0
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            light = (c[i, j] - lo) < 0.5 * (hi - lo)  # low costs are drawn light (yellow): write in black
            ax.text(j, i, f"{c[i, j]:.1f}", ha="center", va="center", fontsize=7, color="black" if light else "white")
    if assignment is not None:
        for i, j in zip(*(torch.as_tensor(a).tolist() for a in assignment)):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
    ax.set_xticks(range(c.shape[1]), labels=col_labels if col_labels is not None else range(c.shape[1]))
    ax.set_yticks(range(c.shape[0]), labels=row_labels if row_labels is not None else range(c.shape[0]))
    ax.set_xlabel("ground-truth object")
    ax.set_ylabel("prediction (query)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="cost (lower = better match)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_cross_attention(image, attn, feature_size, queries, *, boxes=None, titles=None, scale: float = 2.2):
    """Where each query looks: its decoder cross-attention over the image, one panel per query.

    Args:
        image: ``(3, H, W)`` in [0, 1].
        attn: ``(Q, M)`` cross-attention weights of one image (e.g. averaged over heads), ``M = h*w``.
        feature_size: ``(h, w)``, the feature map the ``M`` keys come from.
        queries: which queries to show.
        boxes: optional pixel ``xyxy`` ``(Q, 4)``: each query's predicted box, drawn on its panel.
    """
    h, w = feature_size
    attn = attn.detach().float().cpu()
    if attn.ndim != 2 or attn.shape[1] != h * w:
        raise ValueError(f"attn must be (Q, h*w) = (Q, {h * w}), got {tuple(attn.shape)}")
    queries = list(queries)
    img = to_numpy_image(image)
    H, W = img.shape[:2]
    fig, axes = plt.subplots(1, len(queries), figsize=(scale * len(queries), scale + 0.3), squeeze=False)
    for k, (ax, q) in enumerate(zip(axes[0], queries)):
        a = attn[q].view(1, 1, h, w)
        a = F.interpolate(a, size=(H, W), mode="bilinear", align_corners=False)[0, 0].numpy()  # (H, W)
        ax.imshow(img)
        ax.imshow(a, cmap="inferno", alpha=0.6)
        if boxes is not None:
            x0, y0, x1, y1 = torch.as_tensor(boxes)[q].tolist()
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="cyan", lw=1.5))
        ax.set_title(titles[k] if titles is not None else f"query {q}", fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_query_centres(boxes, keep=None, *, ncols: int = 5, scale: float = 1.8, small: float = 0.2):
    """The box centres each query predicts over a test set, one panel per query (DETR paper, figure 7).

    Args:
        boxes: ``(N, Q, 4)`` normalised ``cxcywh`` predictions over ``N`` images.
        keep: optional bool ``(N, Q)``: which predictions to show (e.g. not "no object").
        small: boxes with both sides below this fraction of the image are green; larger ones are
            red when wider than tall and blue otherwise (the paper's colours).
    """
    boxes = boxes.detach().float().cpu()
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (N, Q, 4) normalised cxcywh, got {tuple(boxes.shape)}")
    N, Q, _ = boxes.shape
    keep = torch.ones(N, Q, dtype=torch.bool) if keep is None else keep.cpu()
    nrows = (Q + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for q in range(Q):
        b = boxes[keep[:, q], q]  # (n, 4)
        is_small = (b[:, 2] < small) & (b[:, 3] < small)
        color = np.where(is_small.numpy(), "tab:green", np.where((b[:, 2] > b[:, 3]).numpy(), "tab:red", "tab:blue"))
        ax = axes.flat[q]
        ax.set_axis_on()
        ax.scatter(b[:, 0], b[:, 1], s=4, c=list(color), alpha=0.6)
        ax.set(xlim=(0, 1), ylim=(1, 0), xticks=[], yticks=[], aspect="equal")
        ax.set_title(f"query {q} ({len(b)})", fontsize=8)
    fig.tight_layout()
    return fig
