"""Plot helpers: pure functions that take tensors and return a figure.

None of them changes matplotlib's global ``rcParams``. Used from lecture 01
(`plot_attention`) onwards.

Korean labels: importing this module registers NanumGothic, shipped by the
``koreanize-matplotlib`` package (a dependency), with matplotlib's font manager
and **appends** it to ``rcParams["font.family"]`` (`use_korean_font`), which
becomes ``["sans-serif", "NanumGothic"]``. The first entry (DejaVu Sans by
default) still draws every glyph it has, so Latin text looks as before;
matplotlib falls back along that list, glyph by glyph, to NanumGothic only for
what the first font lacks (Hangul). ``koreanize_matplotlib`` itself is never imported:
its import would make NanumGothic the font of every label.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager

__all__ = ["show_images", "plot_attention", "plot_history", "to_numpy_image", "use_korean_font", "korean_font_path"]

KOREAN_FONT_PACKAGE = "koreanize_matplotlib"  # pip: koreanize-matplotlib (ships NanumGothic, SIL OFL)
KOREAN_FONT_FILE = "NanumGothic.ttf"
MAX_FIGURE_INCHES = (12.0, 10.0)  # plot_attention's largest (width, height): ~1200 x 1000 px


def korean_font_path() -> Path | None:
    """Path of NanumGothic.ttf inside the installed ``koreanize-matplotlib`` (found without importing it)."""
    spec = importlib.util.find_spec(KOREAN_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / KOREAN_FONT_FILE
    return path if path.is_file() else None


def use_korean_font() -> str | None:
    """Register the Korean font and append it to ``font.family`` as a fallback; return its name.

    Called once when `vitcourse.plot` is imported; call it again after ``plt.rcdefaults()`` or a style
    that resets the font list. Returns ``None`` (and changes nothing) when ``koreanize-matplotlib`` is not
    installed: Korean text then shows as empty boxes with a "Glyph ... missing" warning; install it with
    ``pip install koreanize-matplotlib``.
    """
    path = korean_font_path()
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    families = list(plt.rcParams["font.family"])  # matplotlib falls back along this list, glyph by glyph
    if name not in families:
        plt.rcParams["font.family"] = families + [name]
    return name


use_korean_font()


def to_numpy_image(img) -> np.ndarray:
    """``(C, H, W)`` / ``(H, W)`` tensor or array -> ``(H, W[, 3])`` NumPy array for ``imshow``."""
    arr = img.detach().float().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        arr = arr[0] if arr.shape[0] == 1 else np.transpose(arr, (1, 2, 0))
    elif arr.ndim == 3 and arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"an image must have 1 or 3 channels, (C, H, W) with C in (1, 3), or (H, W) or (H, W, 3); "
            f"got shape {arr.shape}. Show one channel at a time (img[c]) or pick 3 of them "
            f"(img[:3])"
        )
    if arr.ndim not in (2, 3):
        raise ValueError(f"an image must have shape (C, H, W) with C in (1, 3), (H, W) or (H, W, 3), got {arr.shape}")
    return arr


def show_images(
    images,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray",
    scale: float = 1.5,
    suptitle: str | None = None,
    vmin=None,
    vmax=None,
):
    """A grid of images (a ``(B, C, H, W)`` tensor or a list of images); returns the figure."""
    if isinstance(images, torch.Tensor):
        if images.ndim not in (3, 4):
            raise ValueError(f"images must have shape (B, C, H, W) or (B, H, W), got {tuple(images.shape)}")
        images = list(images)
    images = list(images)
    if not images:
        raise ValueError("images is empty: nothing to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    ncols = min(ncols, len(images))
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(scale * ncols, scale * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        try:
            arr = to_numpy_image(img)
        except ValueError as err:
            plt.close(fig)
            raise ValueError(f"images[{i}]: {err}") from None
        ax.imshow(arr, cmap=cmap if arr.ndim == 2 else None, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_attention(
    weights,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    *,
    ax=None,
    title: str | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
):
    """Heat map of an attention matrix ``(N_q, N_k)``: rows are queries, columns keys.

    Args:
        weights: 2D tensor or array (batch and head axes must be indexed away first).
        x_labels: one label per key (columns); y_labels: one per query (rows).
        annotate: write the weight in each cell (default: when the matrix is at most 12 x 12).
    Returns the figure.
    """
    w = weights.detach().float().cpu().numpy() if isinstance(weights, torch.Tensor) else np.asarray(weights, float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2D (queries, keys) matrix, got shape {w.shape}")
    if x_labels is not None and len(x_labels) != w.shape[1]:
        raise ValueError(f"x_labels has {len(x_labels)} labels for {w.shape[1]} keys (columns)")
    if y_labels is not None and len(y_labels) != w.shape[0]:
        raise ValueError(f"y_labels has {len(y_labels)} labels for {w.shape[0]} queries (rows)")
    if ax is None:
        # about half an inch per row and column, capped: a 197 x 197 map stays a screen-sized image
        fig, ax = plt.subplots(
            figsize=(
                min(0.55 * w.shape[1] + 2, MAX_FIGURE_INCHES[0]),
                min(0.5 * w.shape[0] + 1.2, MAX_FIGURE_INCHES[1]),
            )
        )
    else:
        fig = ax.figure
    im = ax.imshow(w, cmap=cmap, vmin=0, vmax=max(1e-12, float(np.nanmax(w))) if np.all(w >= 0) else None)
    if x_labels is not None:
        ax.set_xticks(range(w.shape[1]), labels=list(x_labels), rotation=45, ha="right")
    if y_labels is not None:
        ax.set_yticks(range(w.shape[0]), labels=list(y_labels))
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if annotate is None:
        annotate = max(w.shape) <= 12
    if annotate:
        hi = np.nanmax(np.abs(w)) if w.size else 1.0
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{w[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if abs(w[i, j]) > 0.6 * hi else "white",
                )
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def plot_history(history, *, title: str | None = None):
    """Training loss, test loss and test accuracy of a `vitcourse.train.History`; returns the figure."""
    if not hasattr(history, "step") or not hasattr(history, "train_loss"):
        raise TypeError(
            f"history must be the History returned by vitcourse.fit (history = fit(model, ...); "
            f"plot_history(history)), got {type(history).__name__}"
            + (" (a dict: pass fit's return value itself, not a dict of losses)" if isinstance(history, dict) else "")
        )
    if not history.step:
        raise ValueError(
            "history has no recorded steps: it is an empty History; pass the one returned by "
            "vitcourse.fit after training (fit records one entry every eval_every steps)"
        )
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax1.plot(history.step, history.train_loss, label="train loss")
    if history.test_loss:
        ax1.plot(history.step, history.test_loss, label="test loss")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend()
    if history.test_acc:
        ax2.plot(history.step, history.test_acc, color="C2")
        ax2.set_ylim(min(history.test_acc) - 0.02, 1.0)
    ax2.set_xlabel("step")
    ax2.set_ylabel("test accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
