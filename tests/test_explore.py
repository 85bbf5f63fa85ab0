"""vitcourse.explore: the static figures show what they claim, the widgets build without a browser, bad settings
get clear errors, and no committed notebook stores a widget the decks, the site or JupyterLab cannot show."""
from __future__ import annotations

import base64
import types

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch

from vitcourse import explore
from vitcourse.notebooks import ROOT, code, new_notebook

PNG = b"\x89PNG\r\n\x1a\n"
COMMITTED = sorted(p for folder in ("notebooks", "notebooks/ko", "solutions", "solutions/ko", "exercises",
                                    "exercises/ko") for p in (ROOT / folder).glob("*.ipynb"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _axes_titled(fig, start: str):
    axes = [ax for ax in fig.axes if ax.get_title().startswith(start)]
    assert len(axes) == 1, [ax.get_title() for ax in fig.axes]
    return axes[0]


def _bars(ax) -> np.ndarray:
    return np.array([p.get_height() for p in ax.patches if type(p).__name__ == "Rectangle"])


# ----------------------------------------------------------------------------- 1. softmax temperature


def test_softmax_bars_sum_to_one_and_sharpen_as_tau_falls():
    scores = [2.0, 1.0, 0.5, -1.0]
    peaks = []
    for tau in (4.0, 1.0, 0.25):
        bars = _bars(_axes_titled(explore.softmax_temperature_figure(scores, tau), "weights"))
        assert bars.shape == (4,)
        assert bars.sum() == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(bars, torch.softmax(torch.tensor(scores) / tau, -1).numpy(), rtol=1e-6)
        assert bars.argmax() == 0                                    # the largest score keeps the largest weight
        peaks.append(bars.max())
    assert peaks[0] < peaks[1] < peaks[2]                            # sharper as tau falls
    assert "tau = 0.25" in _axes_titled(explore.softmax_temperature_figure(scores, 0.25), "weights").get_title()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tau": 0.0}, ValueError, "tau must be a positive finite number, got 0.0"),
    ({"tau": -1}, ValueError, "tau must be a positive finite number"),
    ({"tau": float("inf")}, ValueError, "tau must be a positive finite number"),
    ({"tau": "hot"}, TypeError, "tau must be a positive number, got 'hot'"),
    ({"scores": [[1.0, 2.0]]}, ValueError, r"scores must be a 1D sequence .* got shape \(1, 2\)"),
    ({"scores": [1.0, float("nan")]}, ValueError, "scores must hold finite numbers"),
    ({"scores": [1.0, 2.0], "labels": ["a"]}, ValueError, "labels has 1 labels for 2 values"),
])
def test_softmax_bad_settings_are_refused_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        explore.softmax_temperature_figure(**kwargs)
    with pytest.raises(error, match=match):
        explore.softmax_temperature(**kwargs)


# ----------------------------------------------------------------------------- 2. one query token


def test_query_row_plotted_is_the_attention_row_of_that_token():
    words, attn = explore.cat_sat_on_the_mat()
    for q, word in enumerate(words):
        fig = explore.query_attention_figure(words, attn, q)
        ax = _axes_titled(fig, "query")
        np.testing.assert_allclose(_bars(ax), attn[q].numpy(), rtol=1e-6)
        assert f"row {q}" in ax.get_title() and repr(word) in ax.get_title()
        outline = [p for p in _axes_titled(fig, "all queries").patches if p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
        assert len(outline) == 1 and outline[0].get_y() == pytest.approx(q - 0.5)   # the row outlined is q's
    by_name = _bars(_axes_titled(explore.query_attention_figure(words, attn, "sat"), "query"))
    np.testing.assert_allclose(by_name, attn[2].numpy(), rtol=1e-6)
    top2 = {words[i] for i in np.argsort(by_name)[-2:]}
    assert top2 == {"cat", "mat"}                                    # lecture 01's reading of row "sat"


def test_cat_sat_on_the_mat_is_lecture_01s_attention():
    from vitcourse import scaled_dot_product_attention

    words, attn = explore.cat_sat_on_the_mat()
    types_ = ["noun", "verb", "det", "prep"]
    word_type = {"The": "det", "the": "det", "cat": "noun", "mat": "noun", "sat": "verb", "on": "prep"}
    E = torch.stack([torch.nn.functional.one_hot(torch.tensor(types_.index(word_type[w])), 4).float()
                     for w in words])
    looks_for = torch.tensor([[0.0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]) * 3.0
    _, expected = scaled_dot_product_attention(E @ looks_for, E, torch.eye(6), return_attn=True)
    torch.testing.assert_close(attn, expected)


@pytest.mark.parametrize("tokens, attn, query, error, match", [
    (["The", "cat", "sat"], torch.full((3, 3), 1 / 3), "dog", ValueError,
     r"unknown query token 'dog': the tokens are \['The', 'cat', 'sat'\]"),
    (["The", "cat", "sat"], torch.full((3, 3), 1 / 3), "the", ValueError, "unknown query token 'the'.*case matters"),
    (["a", "b", "a"], torch.full((3, 3), 1 / 3), "a", ValueError,
     r"query token 'a' appears 2 times \(positions \[0, 2\]\); pass its position"),
    (["a", "b"], torch.full((2, 2), 0.5), 2, ValueError, "query position 2 is out of range.*positions 0 to 1"),
    (["a", "b"], torch.full((2, 2), 0.5), 1.0, TypeError, "query must be a token"),
    (["a", "b"], torch.full((1, 2, 2), 0.5), "a", ValueError, r"attn must be a \(2, 2\) matrix.*attn\[0, head\]"),
    (["a", "b"], torch.tensor([[1.0, 0.0], [-0.5, 1.5]]), "a", ValueError, "non-negative"),
    ("a b", torch.full((3, 3), 1 / 3), 0, TypeError, "tokens must be a list of strings"),
])
def test_query_bad_arguments_are_refused_clearly(tokens, attn, query, error, match):
    with pytest.raises(error, match=match):
        explore.query_attention_figure(tokens, attn, query)
    with pytest.raises(error, match=match):
        explore.query_attention(tokens, attn, query)


def test_query_explorer_needs_both_tokens_and_attn():
    with pytest.raises(ValueError, match="give both tokens and attn"):
        explore.query_attention(["a", "b"])


# ----------------------------------------------------------------------------- 3. patch size


def _photo(h=32, w=48):
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, h, w, generator=g)


@pytest.mark.parametrize("patch", [4, 8, 16])
def test_patch_figure_shows_one_mean_colour_per_patch_and_counts_tokens(patch):
    img = _photo()                                                   # (3, 32, 48)
    fig = explore.patch_size_figure(img, patch)
    gh, gw = 32 // patch, 48 // patch
    mosaic = np.asarray(_axes_titled(fig, "each patch").images[0].get_array())
    assert mosaic.shape == (gh, gw, 3)
    means = img.unfold(1, patch, patch).unfold(2, patch, patch).mean((-1, -2)).permute(1, 2, 0)   # (gh, gw, 3)
    np.testing.assert_allclose(mosaic, means.numpy(), rtol=1e-5, atol=1e-6)
    grid = _axes_titled(fig, f"P = {patch}")
    assert f"{gh} x {gw} = {gh * gw:,} patches" in grid.get_title()
    assert len(grid.lines) == (gh - 1) + (gw - 1)                    # the interior grid lines
    assert f"N + 1 = {gh * gw + 1:,} tokens" in fig._suptitle.get_text()


def test_patch_sizes_are_the_common_divisors():
    assert explore.patch_sizes(224, 224) == [4, 7, 8, 14, 16, 28, 32, 56, 112]
    assert explore.patch_sizes(32, 48) == [4, 8, 16]


@pytest.mark.parametrize("image, patch, error, match", [
    (_photo(), 5, ValueError, r"patch=5 does not cut the 32 x 48 image into whole patches.*\[4, 8, 16\]"),
    (_photo(), 0, ValueError, "patch=0 does not cut"),
    (_photo(), 4.0, TypeError, "patch must be an int"),
    (_photo() * 4 - 2, 8, ValueError, r"values must be in \[0, 1\].*denormalize\(image\)"),
    (torch.rand(1, 32, 32), 8, ValueError, r"colour image \(3, H, W\)"),
    (torch.rand(32, 32), 8, ValueError, r"colour image \(3, H, W\)"),
])
def test_patch_bad_arguments_are_refused_clearly(image, patch, error, match):
    with pytest.raises(error, match=match):
        explore.patch_size_figure(image, patch)
    with pytest.raises(error, match=match):
        explore.patch_size(image, patch)


def test_patch_explorer_defaults_to_the_course_photograph():
    e = explore.patch_size()
    assert e.settings == {"patch": 16}
    fig = e.figure()
    assert "14 x 14 = 196 patches" in _axes_titled(fig, "P = 16").get_title()


# ----------------------------------------------------------------------------- 4. DETR queries


def _detr_batch(b=3, q=6, c=3):
    g = torch.Generator().manual_seed(1)
    images = torch.rand(b, 3, 32, 32, generator=g)
    logits = torch.randn(b, q, c + 1, generator=g) * 3
    boxes = torch.cat([torch.rand(b, q, 2, generator=g) * 0.5 + 0.25, torch.full((b, q, 2), 0.2)], -1)
    targets = [{"labels": torch.tensor([0, 2]), "boxes": torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.3, 0.2]])}
               for _ in range(b)]
    return images, {"pred_logits": logits, "pred_boxes": boxes}, targets


def _query_boxes(fig):
    ax = fig.axes[0]
    return sorted(int(p.get_gid().split()[1]) for p in ax.patches if (p.get_gid() or "").startswith("query"))


@pytest.mark.parametrize("threshold", [0.0, 0.4, 0.6, 0.9, 1.0])
def test_detr_figure_draws_the_queries_above_threshold_and_every_score(threshold):
    images, outputs, targets = _detr_batch()
    logits = outputs["pred_logits"][1]
    scores = logits.softmax(-1)[:, :-1].max(-1).values
    fig = explore.detr_queries_figure(images[1], logits, outputs["pred_boxes"][1], targets[1], threshold=threshold)
    assert _query_boxes(fig) == [q for q in range(6) if scores[q] > threshold]
    np.testing.assert_allclose(_bars(_axes_titled(fig, "every query")), scores.numpy(), rtol=1e-6)
    assert sum(p.get_gid() == "target" for p in fig.axes[0].patches) == 2


def test_detr_figure_of_one_query_draws_that_query_whatever_its_score():
    images, outputs, targets = _detr_batch()
    scores = outputs["pred_logits"][0].softmax(-1)[:, :-1].max(-1).values
    low = int(scores.argmin())
    fig = explore.detr_queries_figure(images[0], outputs["pred_logits"][0], outputs["pred_boxes"][0], threshold=1.0,
                                      query=low)
    assert _query_boxes(fig) == [low]
    # the drawn box is the query's box in pixels (cxcywh -> xyxy, times 32)
    cx, cy, w, h = (outputs["pred_boxes"][0, low] * 32).tolist()
    rect = next(p for p in fig.axes[0].patches if p.get_gid() == f"query {low}")
    assert (rect.get_x(), rect.get_y(), rect.get_width()) == pytest.approx((cx - w / 2, cy - h / 2, w), abs=1e-4)


@pytest.mark.parametrize("change, error, match", [
    ({"threshold": 1.5}, ValueError, r"threshold must be in \[0, 1\]"),
    ({"threshold": "high"}, TypeError, "threshold must be a number"),
    ({"query": 6}, ValueError, "query must be None .* or a query index 0 to 5, got 6"),
    ({"class_names": ["a", "b"]}, ValueError, "class_names has 2 labels for 3 values"),
])
def test_detr_bad_settings_are_refused_clearly(change, error, match):
    images, outputs, targets = _detr_batch()
    kwargs = {"threshold": 0.5, "query": None, "class_names": None, **change}
    with pytest.raises(error, match=match):
        explore.detr_queries_figure(images[0], outputs["pred_logits"][0], outputs["pred_boxes"][0], **kwargs)
    with pytest.raises(error, match=match):
        explore.detr_queries(images, outputs, targets, **kwargs)


@pytest.mark.parametrize("mangle, error, match", [
    (lambda i, o, t: (i, o, t[:1]), ValueError, "targets has 1 entries for 3 images"),
    (lambda i, o, t: (i[:2], o, t[:2]), ValueError, r"images must be \(B, 3, H, W\) and outputs \(B, Q, ...\)"),
    (lambda i, o, t: (i, o["pred_logits"], t), TypeError, "outputs must be the model's output dict"),
    (lambda i, o, t: (i, {**o, "pred_logits": o["pred_logits"][0]}, t), ValueError, "images must be"),
])
def test_detr_explorer_bad_data_is_refused_clearly(mangle, error, match):
    with pytest.raises(error, match=match):
        explore.detr_queries(*mangle(*_detr_batch()))


def test_detr_explorer_canvas_out_of_range_and_one_image_shapes():
    images, outputs, targets = _detr_batch()
    with pytest.raises(ValueError, match=r"canvas must be an image index 0 to 2, got 3"):
        explore.detr_queries(images, outputs, targets, canvas=3)
    with pytest.raises(ValueError, match=r"pred_logits must be \(Q, C\+1\) for one image.*\['pred_logits'\]\[k\]"):
        explore.detr_queries_figure(images[0], outputs["pred_logits"], outputs["pred_boxes"][0])
    with pytest.raises(ValueError, match=r"pred_boxes must be \(6, 4\)"):
        explore.detr_queries_figure(images[0], outputs["pred_logits"][0], outputs["pred_boxes"][0, :, :2])


# ----------------------------------------------------------------------------- widgets, without a frontend


def _explorers():
    images, outputs, targets = _detr_batch()
    return {
        "softmax_temperature": (explore.softmax_temperature([2.0, 1.0, 0.5, -1.0]), "tau", 0.1),
        "query_attention": (explore.query_attention(), "query", 1),
        "patch_size": (explore.patch_size(_photo(), 8), "patch", 16),
        "detr_queries": (explore.detr_queries(images, outputs, targets), "canvas", 2),
    }


@pytest.mark.parametrize("name", ["softmax_temperature", "query_attention", "patch_size", "detr_queries"])
def test_widget_builds_and_redraws_without_a_frontend(name):
    import ipywidgets

    e, key, new = _explorers()[name]
    w = e.widget
    assert isinstance(w, ipywidgets.VBox) and e.widget is w            # built once
    controls = w.children[0].children
    image = w.children[-1]
    assert isinstance(image, ipywidgets.Image) and bytes(image.value).startswith(PNG)
    control = next(c for c, spec in zip(controls, e.controls) if spec.key == key)
    before = bytes(image.value)
    control.value = new
    assert e.settings[key] == new and bytes(image.value).startswith(PNG) and bytes(image.value) != before


def test_detr_widget_query_dropdown_maps_all_to_none():
    e, _, _ = _explorers()["detr_queries"]
    show = e.widget.children[0].children[2]
    show.value = 3
    assert e.settings["query"] == 3
    show.value = -1
    assert e.settings["query"] is None


def test_widget_shows_why_a_setting_is_refused_and_keeps_the_figure(monkeypatch):
    e = explore.softmax_temperature()
    slider = e.widget.children[0].children[0]
    before = bytes(e._image.value)
    monkeypatch.setattr(e, "_draw", lambda tau: explore.softmax_temperature_figure([1.0, 2.0], -tau))
    slider.value = 2.0
    assert "tau must be a positive finite number" in e._message.value
    assert bytes(e._image.value) == before and e.settings["tau"] == 1.0


def test_figure_rejects_unknown_settings():
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['temperature'\]; its settings are \['tau'\]"):
        explore.softmax_temperature().figure(temperature=2)


# ----------------------------------------------------------------------------- what a cell stores


def _fake_kernel(monkeypatch, *, with_kernel=True):
    import IPython

    shell = types.SimpleNamespace(kernel=object() if with_kernel else None)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


def test_outside_a_kernel_an_explorer_is_a_static_png(monkeypatch):
    monkeypatch.delenv(explore.STATIC_ENV, raising=False)
    _fake_kernel(monkeypatch, with_kernel=False)                    # a terminal IPython, or plain Python
    bundle = explore.softmax_temperature()._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(PNG)
    assert "static figure" in bundle["text/plain"]


def test_in_a_live_kernel_the_widget_view_comes_with_the_static_png(monkeypatch):
    monkeypatch.delenv(explore.STATIC_ENV, raising=False)
    _fake_kernel(monkeypatch)
    e = explore.softmax_temperature()
    bundle = e._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain", explore.WIDGET_VIEW}
    assert bundle[explore.WIDGET_VIEW]["model_id"] == e.widget.model_id
    assert not bundle["text/plain"].startswith("VBox(")


@pytest.mark.parametrize("value", ["1", "yes"])
def test_static_outputs_env_makes_a_kernel_store_the_png_only(monkeypatch, value):
    _fake_kernel(monkeypatch)
    monkeypatch.setenv(explore.STATIC_ENV, value)
    assert not explore.live_frontend()
    assert explore.WIDGET_VIEW not in explore.query_attention()._repr_mimebundle_()
    monkeypatch.setenv(explore.STATIC_ENV, "0")
    assert explore.live_frontend()


def _nb_with(outputs):
    cell = code("explore.softmax_temperature()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=d) for d in outputs]
    return new_notebook([cell])


def _widget_view(e):
    return {"model_id": e.widget.model_id, "version_major": 2, "version_minor": 0}


def test_widget_output_problems_catch_raw_widget_outputs():
    e = explore.softmax_temperature()
    static = {k: v for k, v in e._repr_mimebundle_().items() if k != explore.WIDGET_VIEW}
    assert explore.widget_output_problems(_nb_with([static])) == []
    text_only = {"text/plain": "VBox(children=(FloatLogSlider(value=1.0, description='tau'), Image(value=b'...')))"}
    [msg] = explore.widget_output_problems(_nb_with([text_only]))
    assert "cell 0: a widget stored as its text repr only ('VBox(children=" in msg
    [msg] = explore.widget_output_problems(_nb_with([{**text_only, explore.WIDGET_VIEW: _widget_view(e)}]))
    assert "live widget view (with no static fallback)" in msg
    [msg] = explore.widget_output_problems(_nb_with([{**static, explore.WIDGET_VIEW: _widget_view(e)}]))
    assert "live widget view (with a static PNG fallback)" in msg and "vitcourse.notebooks execute" in msg
    assert explore.widget_output_problems(_nb_with([{"text/plain": "Vision transformer"}])) == []


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_committed_notebook_stores_a_raw_widget(path):
    assert explore.widget_output_problems(nbformat.read(path, as_version=4)) == [], path.relative_to(ROOT)


def test_the_lectures_show_their_explorers_as_static_figures():
    """Each explorer is in its lecture, and its stored output is the PNG an explorer makes (not a widget)."""
    calls = {"01_attention": ["explore.softmax_temperature(", "explore.query_attention("],
             "06_vision_transformer": ["explore.patch_size("], "09_detr": ["explore.detr_queries("]}
    for stem, wanted in calls.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        for call in wanted:
            cells = [c for c in nb.cells if c.cell_type == "code" and call in c.source]
            assert len(cells) == 1, (stem, call)
            [out] = [o for o in cells[0].outputs if "image/png" in o.get("data", {})]
            assert out["data"]["text/plain"].endswith("run the cell in JupyterLab to change the settings")
            assert explore.WIDGET_VIEW not in out["data"]


@pytest.mark.slow
def test_a_saved_live_output_renders_as_its_png_in_the_site_and_decks():
    """Even a live output saved by mistake shows its PNG in nbconvert's HTML (no widget state in the notebook),
    never the widget's text repr."""
    pytest.importorskip("nbconvert")
    from vitcourse import decks, site

    e = explore.softmax_temperature()
    live = {**e._repr_mimebundle_(), explore.WIDGET_VIEW: _widget_view(e)}
    nb = _nb_with([live])
    for kind in ("lab", "slides"):
        body = site._render(kind, nb, ROOT / "notebooks" / "x.ipynb", vendor="vendor")
        assert 'src="data:image/png;base64,' in body, kind
        assert "static figure; run the cell" not in body and "VBox(" not in body, kind
    assert decks.estimate_height(nb.cells[0]) > 100                   # counted as an image, not one text line


@pytest.mark.slow
def test_executing_a_notebook_stores_the_static_figure_only(tmp_path):
    """End to end: `vitcourse.notebooks.execute` (how committed outputs are made) stores the PNG, no widget view;
    the same cell run by a plain kernel (a learner's JupyterLab) stores the widget view too."""
    from nbclient import NotebookClient

    from vitcourse.notebooks import execute

    src = f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom vitcourse import explore\nexplore.softmax_temperature()"
    path = tmp_path / "explorer.ipynb"
    nbformat.write(new_notebook([code(src)]), path)
    execute(path, timeout=300)
    [out] = nbformat.read(path, as_version=4).cells[0].outputs
    assert set(out["data"]) == {"image/png", "text/plain"}

    live = new_notebook([code(src)])
    NotebookClient(live, timeout=300, kernel_name="python3").execute()
    [out] = live.cells[0].outputs
    assert explore.WIDGET_VIEW in out["data"] and "image/png" in out["data"]
    assert explore.widget_output_problems(live)
