"""Explorers: four ideas a learner would rather play with than read about (lectures 01, 06, 09).

=========================  ===========================================================  =======
explorer                   what the control changes                                     lecture
=========================  ===========================================================  =======
`softmax_temperature`      the temperature tau of ``softmax(s / tau)``                  01
`query_attention`          which query token's row of an attention map is read          01
`patch_size`               the patch size P a ViT cuts the photograph into              06
`detr_queries`             test canvas, score threshold, one query of a trained DETR    09
=========================  ===========================================================  =======

Each explorer has two parts:

* a **pure drawing function** (``*_figure``) that takes the data and the settings and returns a matplotlib
  figure; it validates its arguments and is what the tests call, with no browser;
* an `Explorer` object, returned by the explorer function (``explore.softmax_temperature(s)``), that holds the
  data, the current settings and, built on first use, an ipywidgets widget (``.widget``): the controls above an
  ``ipywidgets.Image`` that is redrawn, by the same drawing function, whenever a control moves. Nothing is
  trained or recomputed beyond the figure: every redraw is cheap.

**What a notebook cell stores.** ``explore.softmax_temperature(s)`` as the last line of a cell displays the
`Explorer`; its ``_repr_mimebundle_`` decides what the output holds:

* ``image/png`` of the static figure for the current settings, and a ``text/plain`` line, **always**;
* the widget's ``application/vnd.jupyter.widget-view+json`` **only when a live frontend can be present**: inside
  an IPython kernel, with ipywidgets installed, and without ``VITCOURSE_STATIC_OUTPUTS=1`` in the environment.

`vitcourse.notebooks.execute`, which writes the committed outputs, sets ``VITCOURSE_STATIC_OUTPUTS=1`` for its
kernel. So a committed notebook stores the static figure (a plain PNG, like any other figure) and no widget view:
JupyterLab shows that PNG before the cell is run (a stored widget view would show "Error displaying widget:
model not found", since the widget's state lives in the kernel), and the decks and the site (nbconvert, static
HTML) show it too. When a learner runs the cell in JupyterLab, the output holds the widget view and the PNG;
JupyterLab renders the widget (its renderer outranks images). If such a live output is ever saved, nbconvert
still shows the PNG (it skips a widget view whose state the notebook does not carry), and
`widget_output_problems`, run on every committed notebook by ``tests/test_explore.py``, reports it, as it reports
any widget output that has only its ``text/plain`` repr (``VBox(children=...)``) to fall back on.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .plot import plot_attention, to_numpy_image

__all__ = [
    "STATIC_ENV",
    "WIDGET_VIEW",
    "Explorer",
    "Control",
    "live_frontend",
    "widget_output_problems",
    "softmax_temperature",
    "softmax_temperature_figure",
    "query_attention",
    "query_attention_figure",
    "cat_sat_on_the_mat",
    "patch_size",
    "patch_size_figure",
    "patch_sizes",
    "detr_queries",
    "detr_queries_figure",
]

STATIC_ENV = "VITCOURSE_STATIC_OUTPUTS"  # "1": explorers display their static figure only (committed outputs)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DPI = 100  # the PNG's resolution: a 9-inch figure is 900 px wide


# ----------------------------------------------------------------------------- the explorer object


def live_frontend() -> bool:
    """Whether an explorer shown now may be a live widget: in an IPython kernel, with ipywidgets installed,
    and not asked for static outputs (``VITCOURSE_STATIC_OUTPUTS=1``, set by `vitcourse.notebooks.execute`)."""
    if os.environ.get(STATIC_ENV, "").strip() not in ("", "0"):
        return False
    if importlib.util.find_spec("ipywidgets") is None or importlib.util.find_spec("IPython") is None:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@dataclass
class Control:
    """One control of an explorer: the setting it changes, a factory for the ipywidgets control (called with
    the setting's current value, already in the control's own terms) and the conversions between the two."""

    key: str
    build: Callable[[Any], Any]
    to_setting: Callable[[Any], Any] = lambda v: v
    to_control: Callable[[Any], Any] = lambda v: v


class Explorer:
    """A figure of some data for settings a learner can change: `figure` (static) and `widget` (live).

    Displaying an explorer shows the static figure of the current settings, plus the live widget when
    `live_frontend` says one can be present (see the module docstring).
    """

    def __init__(self, name: str, draw: Callable[..., Figure], settings: dict, controls: Sequence[Control]):
        self.name = name
        self._draw = draw
        self.settings = dict(settings)
        self.controls = list(controls)
        self._widget = None
        self._image = None
        self._message = None

    def figure(self, **changes) -> Figure:
        """The static figure for the current settings, with ``changes`` applied to a copy of them."""
        unknown = sorted(set(changes) - set(self.settings))
        if unknown:
            raise TypeError(f"{self.name}: unknown setting(s) {unknown}; its settings are {sorted(self.settings)}")
        return self._draw(**{**self.settings, **changes})

    def png(self, **changes) -> bytes:
        """`figure` as PNG bytes (the figure is closed: nothing is left for the inline backend to show twice)."""
        fig = self.figure(**changes)
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
        finally:
            plt.close(fig)
        return buf.getvalue()

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{self.name} explorer ({shown}): a static figure; run the cell in JupyterLab to change the settings"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    @property
    def widget(self):
        """The ipywidgets widget: the controls above an image redrawn on every change (built on first use)."""
        if self._widget is None:
            try:
                import ipywidgets as w
            except ImportError as e:  # pragma: no cover - ipywidgets is a dependency
                raise ImportError(
                    "the live explorer needs ipywidgets: pip install ipywidgets (the static figure "
                    f"works without it: {self.name}.figure())"
                ) from e
            widgets = []
            for c in self.controls:
                ctl = c.build(c.to_control(self.settings[c.key]))
                ctl.observe(self._changed(c), names="value")
                widgets.append(ctl)
            self._image = w.Image(value=self.png(), format="png")
            self._message = w.HTML(value="")
            self._widget = w.VBox([w.HBox(widgets), self._message, self._image])
        return self._widget

    def _changed(self, control: Control):
        def update(change):
            old = self.settings[control.key]
            self.settings[control.key] = control.to_setting(change["new"])
            try:
                self._image.value = self.png()
                self._message.value = ""
            except ValueError as e:  # a combination the drawing function refuses: say why, keep the last figure
                self.settings[control.key] = old
                self._message.value = f"<span style='color:#b00'>{_html_escape(str(e))}</span>"

        return update

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/png": base64.b64encode(self.png()).decode("ascii"), "text/plain": self.describe()}
        if live_frontend():
            data[WIDGET_VIEW] = self.widget._repr_mimebundle_()[WIDGET_VIEW]
        return data


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ----------------------------------------------------------------------------- committed outputs


_WIDGET_REPR = (
    "VBox(",
    "HBox(",
    "Box(",
    "interactive(",
    "Output(",
    "Image(value=",
    "FloatSlider(",
    "IntSlider(",
    "Dropdown(",
    "FloatLogSlider(",
    "SelectionSlider(",
)


def widget_output_problems(nb) -> list[str]:
    """Outputs of ``nb`` that are (or fall back to) a widget's text repr, one message each.

    A committed output must show a static figure: a widget view (``application/vnd.jupyter.widget-view+json``)
    in a committed notebook shows as "Error displaying widget" in JupyterLab before the cell is run, and an output
    whose only other form is the widget's ``text/plain`` (``VBox(children=...)``) shows as that text in the decks
    and the site. Re-execute with `vitcourse.notebooks.execute`, which stores explorers as static figures.
    """
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                fallback = "with a static PNG fallback" if "image/png" in data else "with no static fallback"
                problems.append(
                    f"cell {index}: a live widget view ({fallback}) is stored: it needs the kernel "
                    "that made it; re-execute the notebook with `python -m vitcourse.notebooks execute`"
                )
                continue
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            if set(data) <= {"text/plain"} and text.lstrip().startswith(_WIDGET_REPR):
                problems.append(
                    f"cell {index}: a widget stored as its text repr only ({text.strip()[:40]!r}...): "
                    "display an explorer (a static figure) or a figure instead, and re-execute"
                )
    return problems


# ----------------------------------------------------------------------------- argument checks


def _vector(name: str, value, *, min_len: int = 1) -> torch.Tensor:
    try:
        t = torch.as_tensor(value, dtype=torch.float32).detach().cpu()
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{name} must be a 1D sequence of numbers (a list or a tensor), got {type(value).__name__}"
        ) from e
    if t.ndim != 1 or len(t) < min_len:
        raise ValueError(f"{name} must be a 1D sequence of at least {min_len} number(s), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must hold finite numbers, got {t.tolist()}")
    return t


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}; e.g. {name}=1.0")
    return value


def _labels(name: str, labels, n: int, default: Sequence[str]) -> list[str]:
    if labels is None:
        return list(default)
    labels = [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels for {n} values; give one label per value")
    return labels


# ----------------------------------------------------------------------------- 1. softmax temperature


DEFAULT_SCORES = (2.0, 1.0, 0.5, -1.0)  # lecture 01's experiment on the temperature


def softmax_temperature_figure(scores=DEFAULT_SCORES, tau: float = 1.0, labels: Sequence[str] | None = None) -> Figure:
    """Bars of the scores ``s`` (left) and of ``softmax(s / tau)`` (right, titled ``weights``) for one ``tau``.

    Small ``tau`` puts (nearly) all the weight on the largest score, a hard look-up; large ``tau`` flattens the
    weights towards uniform (dashed line). The weights always sum to one.
    """
    s = _vector("scores", scores)
    tau = _positive("tau", tau)
    labels = _labels("labels", labels, len(s), [f"s={x:g}" for x in s.tolist()])
    weights = torch.softmax(s / tau, dim=-1)  # (n,)
    entropy = float(-(weights * weights.clamp_min(1e-12).log()).sum())
    n = len(s)
    fig, (ax_s, ax_w) = plt.subplots(1, 2, figsize=(9, 3.0), gridspec_kw={"width_ratios": [1, 1.3]})
    ax_s.bar(range(n), s.numpy(), color="0.6")
    ax_s.axhline(0, color="k", lw=0.6)
    ax_s.set_xticks(range(n), labels, fontsize=8)
    ax_s.set_title("scores s")
    ax_w.bar(range(n), weights.numpy(), color="tab:blue")
    ax_w.axhline(1 / n, color="k", lw=0.8, ls="--", label=f"uniform 1/{n}")
    ax_w.set_ylim(0, 1.05)
    ax_w.set_xticks(range(n), labels, fontsize=8)
    ax_w.set_ylabel("weight")
    ax_w.set_title(f"weights = softmax(s / tau), tau = {tau:.3g}")
    ax_w.legend(loc="upper right", fontsize=8, frameon=False)
    ax_w.text(
        0.02,
        0.97,
        f"max weight {float(weights.max()):.3f}\nentropy {entropy:.3f} (uniform {math.log(n):.3f})",
        transform=ax_w.transAxes,
        va="top",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def softmax_temperature(scores=DEFAULT_SCORES, tau: float = 1.0, labels: Sequence[str] | None = None) -> Explorer:
    """Explorer: a logarithmic slider for ``tau`` (0.03 to 100) over `softmax_temperature_figure`."""
    s = _vector("scores", scores)
    tau = _positive("tau", tau)
    labels = _labels("labels", labels, len(s), [f"s={x:g}" for x in s.tolist()])

    def build(value):
        import ipywidgets as w

        return w.FloatLogSlider(
            value=value,
            base=10,
            min=-1.5,
            max=2,
            step=0.05,
            description="tau",
            continuous_update=False,
            readout_format=".3g",
        )

    return Explorer(
        "softmax_temperature",
        lambda tau: softmax_temperature_figure(s, tau, labels),
        {"tau": tau},
        [Control("tau", build)],
    )


# ----------------------------------------------------------------------------- 2. one query token's attention


def cat_sat_on_the_mat() -> tuple[list[str], torch.Tensor]:
    """Lecture 01's worked sentence: its words and the ``(6, 6)`` attention of its hand-made features.

    Keys are word types ``[noun, verb, det, prep]``; a verb, a determiner and a preposition look for nouns,
    a noun looks for its verb and determiner (strength 3); ``softmax(Q K^T / sqrt(4))``.
    """
    words = ["The", "cat", "sat", "on", "the", "mat"]
    types = ["noun", "verb", "det", "prep"]
    word_type = {"The": "det", "the": "det", "cat": "noun", "mat": "noun", "sat": "verb", "on": "prep"}
    E = torch.eye(4)[[types.index(word_type[w]) for w in words]]  # (6, 4) one-hot types
    looks_for = (
        torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]) * 3.0
    )
    Q, K = E @ looks_for, E  # (6, 4), (6, 4)
    return words, torch.softmax(Q @ K.T / math.sqrt(4), dim=-1)  # (6, 6)


def _attention(tokens, attn) -> tuple[list[str], np.ndarray]:
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError(f"tokens must be a list of strings (one per row of attn), got {tokens!r}")
    tokens = list(tokens)
    a = attn.detach().float().cpu().numpy() if isinstance(attn, torch.Tensor) else np.asarray(attn, dtype=float)
    if a.ndim != 2 or a.shape != (len(tokens), len(tokens)):
        raise ValueError(
            f"attn must be a ({len(tokens)}, {len(tokens)}) matrix (queries x keys, one row and one "
            f"column per token), got shape {a.shape}; index batch and head axes away first, "
            f"e.g. attn[0, head]"
        )
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("attn must hold attention weights: finite and non-negative (the softmax's output)")
    return tokens, a


def _query_index(tokens: list[str], query) -> int:
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        if not 0 <= int(query) < len(tokens):
            raise ValueError(
                f"query position {query} is out of range: the sentence has {len(tokens)} tokens "
                f"(positions 0 to {len(tokens) - 1})"
            )
        return int(query)
    if not isinstance(query, str):
        raise TypeError(f"query must be a token (a string) or its position (an int), got {query!r}")
    where = [i for i, t in enumerate(tokens) if t == query]
    if not where:
        raise ValueError(
            f"unknown query token {query!r}: the tokens are {tokens} (case matters); pass one of them or its position"
        )
    if len(where) > 1:
        raise ValueError(
            f"query token {query!r} appears {len(where)} times (positions {where}); pass its "
            f"position instead, e.g. query={where[0]}"
        )
    return where[0]


def query_attention_figure(tokens: Sequence[str], attn, query: str | int) -> Figure:
    """The attention map with the row of ``query`` outlined (left), and that row as bars over the keys (right).

    Args:
        tokens: one string per token (rows and columns of ``attn``).
        attn: ``(N, N)`` self-attention weights, rows are queries.
        query: a token (must occur once) or its position.
    """
    tokens, a = _attention(tokens, attn)
    q = _query_index(tokens, query)
    row = a[q]  # (N,) the weights of query q
    n = len(tokens)
    fig, (ax_map, ax_row) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
    plot_attention(a, tokens, tokens, ax=ax_map, annotate=n <= 12, title="all queries (rows)")
    ax_map.add_patch(Rectangle((-0.5, q - 0.5), n, 1, fill=False, ec="red", lw=2.5))
    colors = ["tab:red" if j == int(row.argmax()) else "tab:blue" for j in range(n)]
    ax_row.bar(range(n), row, color=colors)
    ax_row.set_xticks(range(n), tokens, rotation=45, ha="right")
    ax_row.set_ylim(0, 1.05)
    ax_row.set_xlabel("key")
    ax_row.set_ylabel("weight")
    ax_row.set_title(f"query {tokens[q]!r} (row {q}): its weights sum to {row.sum():.2f}")
    fig.tight_layout()
    return fig


def query_attention(tokens: Sequence[str] | None = None, attn=None, query: str | int = "sat") -> Explorer:
    """Explorer: a drop-down of the query token over `query_attention_figure`.

    Without ``tokens`` and ``attn``: "The cat sat on the mat" of lecture 01 (`cat_sat_on_the_mat`).
    """
    if (tokens is None) != (attn is None):
        raise ValueError("give both tokens and attn (or neither, for 'The cat sat on the mat')")
    if tokens is None:
        tokens, attn = cat_sat_on_the_mat()
    tokens, a = _attention(tokens, attn)
    q = _query_index(tokens, query)

    def build(value):
        import ipywidgets as w

        return w.Dropdown(options=[(f"{i}: {t}", i) for i, t in enumerate(tokens)], value=value, description="query")

    return Explorer(
        "query_attention",
        lambda query: query_attention_figure(tokens, a, query),
        {"query": q},
        [Control("query", build)],
    )


# ----------------------------------------------------------------------------- 3. patch size on the photograph


def _photo(image) -> np.ndarray:
    if isinstance(image, torch.Tensor) and image.ndim == 3 and image.shape[0] != 3:
        raise ValueError(f"image must be a colour image (3, H, W), got shape {tuple(image.shape)}")
    arr = to_numpy_image(image)  # (H, W, 3)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"image must be a colour image (3, H, W) or (H, W, 3), got shape {arr.shape}")
    if arr.min() < -1e-3 or arr.max() > 1 + 1e-3:
        raise ValueError(
            f"image values must be in [0, 1], got [{arr.min():.2f}, {arr.max():.2f}]: an "
            "ImageNet-normalised image? pass vitcourse.data.denormalize(image)"
        )
    return arr.clip(0, 1)


def patch_sizes(height: int, width: int, *, smallest: int = 4) -> list[int]:
    """Patch sizes that cut an ``height x width`` image into whole patches, from ``smallest`` to half the side."""
    return [p for p in range(smallest, min(height, width) // 2 + 1) if height % p == 0 and width % p == 0]


def _check_patch(patch, h: int, w: int) -> int:
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)):
        raise TypeError(f"patch must be an int (pixels per side), got {patch!r}")
    if patch < 1 or h % patch or w % patch:
        raise ValueError(
            f"patch={patch} does not cut the {h} x {w} image into whole patches; choose a size that "
            f"divides both sides, e.g. one of {patch_sizes(h, w)}"
        )
    return int(patch)


def patch_size_figure(image, patch: int = 16) -> Figure:
    """The photograph under a ``patch x patch`` grid (left) and one colour per patch, its mean (right).

    The titles give what the patch size decides: the number of tokens ``N = (H/P)(W/P)``, the numbers per token
    ``P * P * 3``, and the attention matrix ``(N + 1)^2`` (with the class token) that every head computes.
    """
    arr = _photo(image)
    h, w, _ = arr.shape
    p = _check_patch(patch, h, w)
    gh, gw = h // p, w // p
    n = gh * gw
    mosaic = arr.reshape(gh, p, gw, p, 3).mean(axis=(1, 3))  # (gh, gw, 3) one colour per token
    fig, (ax_img, ax_tok) = plt.subplots(1, 2, figsize=(9, 4.6))
    ax_img.imshow(arr)
    for k in range(1, gh):
        ax_img.axhline(k * p - 0.5, color="white", lw=0.6)
    for k in range(1, gw):
        ax_img.axvline(k * p - 0.5, color="white", lw=0.6)
    ax_img.set_title(f"P = {p}: {gh} x {gw} = {n:,} patches")
    ax_tok.imshow(mosaic, interpolation="nearest")
    ax_tok.set_title(
        f"each patch is one token of P*P*3 = {p * p * 3:,} numbers\n(shown here by its mean colour)", fontsize=10
    )
    for ax in (ax_img, ax_tok):
        ax.set_axis_off()
    fig.suptitle(
        f"sequence of N + 1 = {n + 1:,} tokens with the class token; "
        f"attention matrix of {(n + 1) ** 2:,} weights per head",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def patch_size(image=None, patch: int = 16) -> Explorer:
    """Explorer: a slider over the patch sizes that divide the image (`patch_sizes`), over `patch_size_figure`.

    Without ``image``: Grace Hopper, 224 x 224 (`vitcourse.sample_image`, shipped with matplotlib; offline).
    """
    if image is None:
        from .data import sample_image

        image = sample_image("grace_hopper", size=224, normalize="unit")
    arr = _photo(image)
    h, w, _ = arr.shape
    p = _check_patch(patch, h, w)
    options = sorted(set(patch_sizes(h, w)) | {p})

    def build(value):
        import ipywidgets as w

        return w.SelectionSlider(options=options, value=value, description="patch P", continuous_update=False)

    return Explorer("patch_size", lambda patch: patch_size_figure(arr, patch), {"patch": p}, [Control("patch", build)])


# ----------------------------------------------------------------------------- 4. DETR's queries on a canvas


# 18 distinct colours; both are ListedColormaps with a tuple of colours (the stubs type get_cmap as a Colormap)
_QUERY_COLORS: tuple = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors  # type: ignore[attr-defined]


def _query_color(q: int):
    return _QUERY_COLORS[q % len(_QUERY_COLORS)]


def _detections(pred_logits, pred_boxes) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.as_tensor(pred_logits).detach().float().cpu()
    boxes = torch.as_tensor(pred_boxes).detach().float().cpu()
    if logits.ndim != 2 or logits.shape[-1] < 2:
        raise ValueError(
            f"pred_logits must be (Q, C+1) for one image (C classes and 'no object'), got "
            f"{tuple(logits.shape)}; for a batch, pass outputs['pred_logits'][k]"
        )
    if boxes.shape != (logits.shape[0], 4):
        raise ValueError(
            f"pred_boxes must be ({logits.shape[0]}, 4), one normalised cxcywh box per query, got {tuple(boxes.shape)}"
        )
    return logits, boxes


def _threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"threshold must be a number in [0, 1], got {threshold!r}")
    if not 0 <= float(threshold) <= 1:
        raise ValueError(f"threshold must be in [0, 1] (a probability), got {threshold}")
    return float(threshold)


def _query(query, num_queries: int) -> int | None:
    if query is None:
        return None
    if isinstance(query, bool) or not isinstance(query, (int, np.integer)) or not 0 <= query < num_queries:
        raise ValueError(
            f"query must be None (every query above the threshold) or a query index 0 to "
            f"{num_queries - 1}, got {query!r}"
        )
    return int(query)


def detr_queries_figure(
    image,
    pred_logits,
    pred_boxes,
    target: dict | None = None,
    *,
    threshold: float = 0.5,
    query: int | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """One canvas with DETR's predicted boxes, one colour per query (left), and every query's score (right).

    A query's score is its highest probability over the real classes (as `vitcourse.detr.post_process`).
    With ``query=None`` the boxes of every query scoring above ``threshold`` are drawn; with a query index, that
    query's box alone, whatever its score. Ground-truth boxes of ``target`` are dashed white.

    Args:
        image: ``(3, H, W)`` canvas with values in [0, 1].
        pred_logits: ``(Q, C+1)`` logits of one image; pred_boxes: ``(Q, 4)`` normalised ``cxcywh``.
        target: ``{"labels": (T,), "boxes": (T, 4)}`` normalised ``cxcywh``, or None.
    """
    from .detr.boxes import box_cxcywh_to_xyxy, scale_boxes

    arr = _photo(image)
    h, w, _ = arr.shape
    logits, boxes = _detections(pred_logits, pred_boxes)
    threshold = _threshold(threshold)
    nq, num_classes = logits.shape[0], logits.shape[1] - 1
    query = _query(query, nq)
    names = _labels("class_names", class_names, num_classes, [str(c) for c in range(num_classes)])
    scores, labels = logits.softmax(-1)[:, :-1].max(-1)  # (Q,), (Q,)
    pixel = scale_boxes(box_cxcywh_to_xyxy(boxes), (h, w))  # (Q, 4) xyxy pixels
    shown = [query] if query is not None else [q for q in range(nq) if scores[q] > threshold]

    fig, (ax_img, ax_s) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 1.2]})
    ax_img.imshow(arr)
    if target is not None:
        gt = scale_boxes(box_cxcywh_to_xyxy(torch.as_tensor(target["boxes"]).float().reshape(-1, 4)), (h, w))
        for x0, y0, x1, y1 in gt.tolist():
            ax_img.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="white", lw=1.2, ls="--", gid="target")
            )
    for q in shown:
        x0, y0, x1, y1 = pixel[q].tolist()
        color = _query_color(q)
        ax_img.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=color, lw=2, gid=f"query {q}"))
        ax_img.text(
            x0,
            y0 - 0.5,
            f"q{q} {names[int(labels[q])]} {float(scores[q]):.2f}",
            color="white",
            fontsize=7,
            va="bottom",
            bbox={"facecolor": color, "alpha": 0.85, "pad": 1, "lw": 0},
        )
    ax_img.set_axis_off()
    n_true = "" if target is None else f" for {len(torch.as_tensor(target['labels']).reshape(-1))} objects"
    ax_img.set_title(
        f"query {query}" if query is not None else f"{len(shown)} queries above {threshold:.2f}{n_true}", fontsize=10
    )
    ax_s.bar(range(nq), scores.numpy(), color=[(*_query_color(q)[:3], 1.0 if q in shown else 0.3) for q in range(nq)])
    if query is None:
        ax_s.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.2f}")
        ax_s.legend(loc="upper right", fontsize=8, frameon=False)
    ax_s.set_xticks(range(nq), [str(q) for q in range(nq)], fontsize=7 if nq > 20 else 9)
    ax_s.set_ylim(0, 1.05)
    ax_s.set_xlabel("query")
    ax_s.set_ylabel("score (best real class)")
    ax_s.set_title("every query's score", fontsize=10)
    fig.tight_layout()
    return fig


def detr_queries(
    images,
    outputs: dict,
    targets: Sequence[dict] | None = None,
    *,
    class_names: Sequence[str] | None = None,
    canvas: int = 0,
    threshold: float = 0.5,
    query: int | None = None,
) -> Explorer:
    """Explorer over stored DETR predictions (`vitcourse.detr.predict_detr`): canvas, threshold, one query.

    Args:
        images: ``(B, 3, H, W)`` canvases in [0, 1]; outputs: ``{"pred_logits": (B, Q, C+1),
            "pred_boxes": (B, Q, 4)}``; targets: one target dict per image, or None.
    """
    if not isinstance(outputs, dict) or not {"pred_logits", "pred_boxes"} <= set(outputs):
        raise TypeError(
            "outputs must be the model's output dict with 'pred_logits' and 'pred_boxes' "
            "(outputs, targets, images = vitcourse.detr.predict_detr(model, dataset))"
        )
    images = torch.as_tensor(images)
    logits, boxes = torch.as_tensor(outputs["pred_logits"]), torch.as_tensor(outputs["pred_boxes"])
    if images.ndim != 4 or logits.ndim != 3 or len(images) != len(logits) or len(logits) != len(boxes):
        raise ValueError(
            f"images must be (B, 3, H, W) and outputs (B, Q, ...) for the same B, got images "
            f"{tuple(images.shape)}, pred_logits {tuple(logits.shape)}, pred_boxes {tuple(boxes.shape)}"
        )
    if targets is not None and len(targets) != len(images):
        raise ValueError(f"targets has {len(targets)} entries for {len(images)} images; give one per image or None")
    b, nq = logits.shape[0], logits.shape[1]
    if isinstance(canvas, bool) or not isinstance(canvas, (int, np.integer)) or not 0 <= canvas < b:
        raise ValueError(f"canvas must be an image index 0 to {b - 1}, got {canvas!r}")
    _threshold(threshold)
    _query(query, nq)
    _labels("class_names", class_names, logits.shape[-1] - 1, ())

    def draw(canvas, threshold, query):
        return detr_queries_figure(
            images[canvas],
            logits[canvas],
            boxes[canvas],
            None if targets is None else targets[canvas],
            threshold=threshold,
            query=query,
            class_names=class_names,
        )

    def canvas_control(value):
        import ipywidgets as w

        return w.IntSlider(value=value, min=0, max=b - 1, description="canvas", continuous_update=False)

    def threshold_control(value):
        import ipywidgets as w

        return w.FloatSlider(value=value, min=0.0, max=1.0, step=0.05, description="threshold", continuous_update=False)

    def query_control(value):
        import ipywidgets as w

        return w.Dropdown(
            options=[("all above threshold", -1)] + [(f"query {q}", q) for q in range(nq)],
            value=value,
            description="show",
        )

    return Explorer(
        "detr_queries",
        draw,
        {"canvas": int(canvas), "threshold": float(threshold), "query": query},
        [
            Control("canvas", canvas_control),
            Control("threshold", threshold_control),
            Control(
                "query",
                query_control,
                to_setting=lambda v: None if v < 0 else v,
                to_control=lambda v: -1 if v is None else v,
            ),
        ],
    )
