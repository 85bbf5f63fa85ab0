"""Committed outputs render: no missing-glyph warnings (Korean labels), no image larger than a screen can use."""
import base64
import re
import struct

import nbformat
import pytest

from vitcourse.notebooks import ROOT, code, new_notebook

# the English notebooks and the Korean edition (notebooks/ko, solutions/ko: outputs copied from English, `make ko`)
NOTEBOOKS = [p for folder in ("notebooks", "solutions", "notebooks/ko", "solutions/ko")
             for p in sorted((ROOT / folder).glob("*.ipynb"))]
MAX_PIXELS = 4000  # longest side of a committed PNG output
GLYPH_MISSING = re.compile(r"Glyph \d+ .*? missing from font")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Lecture 06's 197 x 197 attention map was saved before plot_attention capped its figure size; it needs the lecture
# re-executed (minutes of training), which this change does not do. strict: the mark fails once 06 is fixed.
NEEDS_REEXECUTION: set[str] = set()


def _texts(output):
    if output.get("output_type") == "stream":
        yield output.get("text", "")
    for key in ("text/plain", "text/html"):
        if key in output.get("data", {}):
            yield output["data"][key]


def png_size(b64: str) -> tuple[int, int]:
    """``(width, height)`` of a base64 PNG, read from its IHDR header (the first 24 bytes)."""
    head = base64.b64decode(b64[:44])  # 44 base64 characters -> 33 bytes
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError(f"not a PNG: the first bytes are {head[:16]!r}")
    return struct.unpack(">II", head[16:24])


def output_problems(nb, *, max_pixels: int = MAX_PIXELS) -> list[str]:
    """Missing-glyph warnings and oversized PNGs among ``nb``'s outputs, one message each."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for text in _texts(output):
                for m in GLYPH_MISSING.finditer(text):
                    problems.append(f"cell {index}: {m.group(0)!r}: a label uses a character no registered font has "
                                    "(Korean: is koreanize-matplotlib installed? vitcourse.plot.use_korean_font())")
            if "image/png" in output.get("data", {}):
                width, height = png_size(output["data"]["image/png"])
                if max(width, height) > max_pixels:
                    problems.append(f"cell {index}: a {width} x {height} px PNG (limit {max_pixels} px a side): "
                                    "give the figure a smaller figsize or dpi and re-execute the notebook")
    return problems


def missing_figures(nb) -> list[str]:
    """Cells that call ``plt.show()`` but store no image (executed with a non-inline backend, e.g. MPLBACKEND=Agg)."""
    return [f"cell {i}: calls plt.show() but stores no image: re-execute without MPLBACKEND set (the kernel must "
            "use the inline backend)" for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and "plt.show()" in cell.source
            and not any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))]


def _png(width, height):
    header = PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height) + b"\x08\x06\0\0\0"
    return base64.b64encode(header + b"\0" * 16).decode()


def _notebook(outputs):
    cell = code("plot()")
    cell.outputs = outputs
    return new_notebook([cell])


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="06 must be re-executed to shrink its attention map"))
    if str(p.relative_to(ROOT)) in NEEDS_REEXECUTION else p for p in NOTEBOOKS
], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_committed_outputs_have_every_glyph_and_no_giant_image(path):
    assert output_problems(nbformat.read(path, as_version=4)) == [], path.relative_to(ROOT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shown_figure_is_stored(path):
    assert missing_figures(nbformat.read(path, as_version=4)) == [], path.relative_to(ROOT)


def test_a_figure_lost_to_a_non_inline_backend_fails():
    shown = code("plt.plot([1, 2])\nplt.show()")
    assert len(missing_figures(new_notebook([shown]))) == 1
    shown.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(400, 300), "text/plain": "<F>"})]
    assert missing_figures(new_notebook([shown])) == []


def test_a_missing_glyph_warning_fails():
    warning = ("/x/plot.py:98: UserWarning: Glyph 44256 (\\N{HANGUL SYLLABLE GO}) missing from font(s) DejaVu Sans.\n"
               "  fig.tight_layout()\n")
    problems = output_problems(_notebook([nbformat.v4.new_output("stream", name="stderr", text=warning)]))
    assert len(problems) == 1 and "Glyph 44256" in problems[0], problems
    fine = nbformat.v4.new_output("stream", name="stdout", text="{'고양이가': 'cat'}\n")
    assert output_problems(_notebook([fine])) == []


def test_an_image_wider_or_taller_than_the_limit_fails():
    assert png_size(_png(10942, 9960)) == (10942, 9960)
    for size, n_problems in [((4000, 4000), 0), ((4001, 300), 1), ((300, 4001), 1), ((10942, 9960), 1)]:
        out = nbformat.v4.new_output("display_data", data={"image/png": _png(*size), "text/plain": "<Figure>"})
        assert len(output_problems(_notebook([out]))) == n_problems, size
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(base64.b64encode(b"GIF89a" + b"\0" * 40).decode())


def test_korean_labels_render_without_a_missing_glyph_warning(recwarn):
    import matplotlib.pyplot as plt
    import torch

    from vitcourse.plot import korean_font_path, plot_attention

    assert korean_font_path() is not None, "koreanize-matplotlib is a dependency: pip install koreanize-matplotlib"
    assert plt.rcParams["font.family"][0] == "sans-serif"          # Latin text keeps the default font
    fig = plot_attention(torch.full((2, 3), 1 / 3), ["The", "cat", "sat"], ["고양이가", "앉았다"], title="한국어")
    fig.canvas.draw()
    plt.close(fig)
    assert not [w for w in recwarn if GLYPH_MISSING.search(str(w.message))]


def test_a_large_attention_map_is_drawn_screen_sized():
    import matplotlib.pyplot as plt
    import torch

    from vitcourse.plot import plot_attention

    fig = plot_attention(torch.rand(197, 197), annotate=False)
    width, height = fig.get_size_inches() * fig.dpi
    plt.close(fig)
    assert width <= MAX_PIXELS / 2 and height <= MAX_PIXELS / 2, (width, height)
