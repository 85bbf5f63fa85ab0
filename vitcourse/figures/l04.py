"""Lecture 04 (positional encoding): order is invisible, sinusoid bands, offsets as rotations, 2D grid, resizing."""

from __future__ import annotations

import math

from . import INK, MUTED, PALETTE, SERIES, Figure, diverging, figure, fmt, heat, mix


def sinusoid(p: float, i: int, dim: int, base: float = 10000.0) -> tuple[float, float]:
    """(sin, cos) of channel pair ``i`` at position ``p``: the lecture's formula, omega_i = base^(-2i/D)."""
    w = base ** (-2 * i / dim)
    return math.sin(p * w), math.cos(p * w)


@figure("04_order_invisible")
def order_invisible() -> str:
    """Two sentences with the same words give the same set of outputs; pooled, they are identical."""
    f = Figure(900, 300, display_width=780)
    for row, words in enumerate([["dog", "bites", "man"], ["man", "bites", "dog"]]):
        y = 60 + row * 110
        for i, w in enumerate(words):
            f.box(30 + i * 80, y, 70, 36, w, fill=SERIES[["dog", "bites", "man"].index(w)], size=14)
        b = f.box(300, y - 2, 140, 40, "self-attention", fill=PALETTE["weight"], size=14)
        f.arrow(272, y + 18, b["l"] - 2, y + 18)
        for i, w in enumerate(words):
            f.box(480 + i * 80, y, 70, 36, w + "′", fill=SERIES[["dog", "bites", "man"].index(w)], size=14)
        f.arrow(b["r"] + 2, y + 18, 476, y + 18)
        f.arrow(722, y + 18, 770, 138 + 0 * row, color=MUTED, sw=1.2)
    p = f.box(772, 118, 110, 44, "mean", fill="#ffffff", sub="identical")
    del p
    f.text(
        450,
        262,
        "the outputs are the same vectors, only reordered: a classifier that pools them cannot",
        size=13,
        fill=MUTED,
    )
    f.text(450, 282, "tell who bit whom", size=13, fill=MUTED)
    return f.svg()


@figure("04_sinusoid_bands")
def sinusoid_bands() -> str:
    """Three channel pairs as waves, and the heat map PE[p, channel] for 64 positions and D = 32."""
    f = Figure(980, 420, display_width=880)
    D, P = 32, 64
    # left: waves of pairs 0, 3, 10
    x0, w, y0 = 40, 330, 40
    for k, (i, col) in enumerate([(0, SERIES[0]), (3, SERIES[1]), (10, SERIES[2])]):
        cy = y0 + 50 + k * 115
        f.line(x0, cy, x0 + w, cy, stroke="#c9ced4", sw=1)
        fine = [(x0 + w * t / (P - 1), cy - 38 * sinusoid(t, i, D)[0]) for t in [k / 8 for k in range(8 * P - 7)]]
        f.path("M " + " L ".join(f"{fmt(x)} {fmt(y)}" for x, y in fine), stroke=col, sw=1.2, opacity=0.55)
        for p in range(P):
            f.circle(x0 + w * p / (P - 1), cy - 38 * sinusoid(p, i, D)[0], 2.4, fill=col, stroke=None)
        wl = 2 * math.pi * 10000 ** (2 * i / D)
        f.text(x0, cy - 50, f"pair i = {i}: sin(p ω_{i}), wavelength {fmt(wl, 1)}", size=12.5, anchor="start")
    f.text(x0 + w / 2, 392, "position p = 0 … 63 →", size=12, fill=MUTED)
    # right: heat map, rows = channels, columns = positions
    hx, hy, cw, ch = 430, 50, 7.5, 9.4
    for c in range(D):
        for p in range(P):
            s, co = sinusoid(p, c // 2, D)
            v = s if c % 2 == 0 else co
            f.add(
                f'<rect x="{fmt(hx + p * cw)}" y="{fmt(hy + c * ch)}" width="{fmt(cw + 0.05)}" '
                f'height="{fmt(ch + 0.05)}" fill="{diverging(v)}"/>'
            )
    f.rect(hx, hy, P * cw, D * ch, stroke=INK, sw=1.2, rx=0)
    f.text(hx + P * cw / 2, hy - 16, "PE[p, channel], D = 32", size=14, weight="bold")
    f.text(hx + P * cw / 2, hy + D * ch + 16, "position p →", size=12, fill=MUTED)
    f.text(hx - 14, hy + D * ch / 2, "channel (sin, cos pairs) →", size=12, fill=MUTED, rotate=-90)
    f.text(hx + P * cw + 10, hy + 10, "fast", size=11, anchor="start", fill=MUTED)
    f.text(hx + P * cw + 10, hy + D * ch - 10, "slow", size=11, anchor="start", fill=MUTED)
    f.legend(hx + 60, 402, [(diverging(-1), "−1"), (diverging(0), "0"), (diverging(1), "+1")], size=12, gap=50)
    return f.svg()


@figure("04_rotation")
def rotation() -> str:
    """Each channel pair is a clock hand; a shift by k turns pair i by the angle k·omega_i, for every p."""
    f = Figure(960, 330, display_width=860)
    D, p, k = 8, 1.0, 2.0
    for i in range(D // 2):
        cx, cy, r = 120 + i * 240, 140, 80
        f.circle(cx, cy, r, fill="#ffffff", stroke="#aab1b9", sw=1.2)
        f.line(cx - r - 8, cy, cx + r + 8, cy, stroke="#e0e3e6", sw=1)
        f.line(cx, cy - r - 8, cx, cy + r + 8, stroke="#e0e3e6", sw=1)
        for pos, col in [(p, SERIES[0]), (p + k, SERIES[1])]:
            s, c = sinusoid(pos, i, D)
            # point (cos, sin) drawn with sin up: x = cos, y = sin
            f.arrow(cx, cy, cx + r * c, cy - r * s, color=col, sw=2.4, head=8)
        w = 10000 ** (-2 * i / D)
        f.text(cx, cy + r + 26, f"pair {i}: ω = {fmt(w, 4)}", size=13)
        f.text(cx, cy + r + 46, f"turn k·ω = {fmt(k * w, 3)} rad", size=12, fill=MUTED)
    f.legend(300, 24, [(SERIES[0], "PE[p], p = 1"), (SERIES[1], "PE[p + k], k = 2")], size=13, gap=150)
    f.text(480, 310, "PE[p + k] = M_k PE[p]: M_k rotates every pair by its own angle, the same for every p", size=13.5)
    return f.svg()


def _sincos2d(y: int, x: int, dim: int, temperature: float = 10000.0) -> list[float]:
    """MAE's layout: [sin(x w) | cos(x w) | sin(y w) | cos(y w)], w_i = T^(-i / (D/4))."""
    q = dim // 4
    ws = [temperature ** (-i / q) for i in range(q)]
    return (
        [math.sin(x * w) for w in ws]
        + [math.cos(x * w) for w in ws]
        + [math.sin(y * w) for w in ws]
        + [math.cos(y * w) for w in ws]
    )


@figure("04_sincos_2d")
def sincos_2d() -> str:
    """A 4 x 6 patch grid, the channel layout of the 2D encoding, and one patch's similarity to all others."""
    f = Figure(980, 290, display_width=880)
    h, w, D, c = 4, 6, 32, 40
    # grid with token numbers
    f.text(30 + w * c / 2, 34, "patch grid, token t = y·w + x", size=14, weight="bold")
    f.grid(
        30,
        60,
        h,
        w,
        c,
        fill=lambda r, cc: mix("#ffffff", SERIES[0], 0.12 + 0.1 * r + 0.05 * cc),
        values=lambda r, cc: str(r * w + cc),
        size=13,
    )
    f.text(30 + w * c / 2, 60 + h * c + 16, "x (column) →", size=12, fill=MUTED)
    f.text(16, 60 + h * c / 2, "y (row) →", size=12, fill=MUTED, rotate=-90)
    # channel layout
    lx, ly = 330, 80
    f.text(lx + 140, 34, "channels of PE_2D[y, x]", size=14, weight="bold")
    parts = [
        ("sin(x ω)", SERIES[0]),
        ("cos(x ω)", mix(SERIES[0], "#ffffff", 0.45)),
        ("sin(y ω)", SERIES[1]),
        ("cos(y ω)", mix(SERIES[1], "#ffffff", 0.45)),
    ]
    for k, (lab, col) in enumerate(parts):
        f.box(lx + k * 70, ly, 70, 40, lab, fill=col, size=12, rx=0)
    f.brace(lx + 2, ly + 50, lx + 138, "column x: D/2", size=12)
    f.brace(lx + 142, ly + 50, lx + 278, "row y: D/2", size=12)
    f.text(lx + 140, ly + 110, "ω_i = T^{−i/(D/4)}, i = 0 … D/4 − 1", size=13)
    # similarity map of one patch
    ref = (1, 2)
    e0 = _sincos2d(*ref, D)
    sims = [[sum(a * b for a, b in zip(e0, _sincos2d(r, cc, D))) for cc in range(w)] for r in range(h)]
    lo, hi = min(min(r) for r in sims), max(max(r) for r in sims)
    mx = 690
    f.text(mx + w * c / 2, 34, f"PE_2D[{ref[0]}, {ref[1]}] · PE_2D[y, x]", size=14, weight="bold")
    f.grid(
        mx,
        60,
        h,
        w,
        c,
        fill=lambda r, cc: heat((sims[r][cc] - lo) / (hi - lo)),
        values=lambda r, cc: fmt(sims[r][cc], 1),
        size=11,
    )
    f.rect(mx + ref[1] * c, 60 + ref[0] * c, c, c, stroke="#b3261e", sw=2.6, rx=0)
    f.text(
        mx + w * c / 2, 60 + h * c + 16, 'a "plus": same row or column shares half the channels', size=12, fill=MUTED
    )
    f.text(
        490, 270, f"D = {D}, T = 10000; the similarity is a function of Δy plus a function of Δx", size=13, fill=MUTED
    )
    return f.svg()


@figure("04_resize_grid")
def resize_grid() -> str:
    """Learned grid embeddings resized 4x4 -> 8x8 by interpolation; the class token is kept as it is."""
    f = Figure(900, 360, display_width=780)

    def colour(y: float, x: float) -> str:
        return mix(mix("#f7f7f7", SERIES[0], x), SERIES[1], y * 0.8)

    f.box(30, 130, 56, 56, "cls", fill=PALETTE["cls"], size=14)
    f.text(58, 206, "kept", size=12, fill=MUTED)
    g = f.grid(130, 80, 4, 4, 40, fill=lambda r, c: colour(r / 3, c / 3))
    f.text(g["cx"], 60, "4 × 4 grid (N = 16)", size=14, weight="bold")
    f.text(g["cx"], g["b"] + 18, "(16, D) → image (D, 4, 4)", size=12, fill=MUTED)
    f.arrow(g["r"] + 20, g["cy"], g["r"] + 150, g["cy"], sw=2)
    f.lines(g["r"] + 85, g["cy"] - 26, ["bicubic", "interpolation"], size=12, fill=MUTED)
    h = f.grid(g["r"] + 170, 40, 8, 8, 30, fill=lambda r, c: colour(r / 7, c / 7))
    f.text(h["cx"], 24, "8 × 8 grid (N = 64)", size=14, weight="bold")
    f.text(h["cx"], h["b"] + 18, "→ (64, D); prepend cls again", size=12, fill=MUTED)
    f.text(
        450, 340, "each new patch is closest to the old patch covering the same area of the image", size=13, fill=MUTED
    )
    return f.svg()
