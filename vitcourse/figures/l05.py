"""Lecture 05 (transformer block): the four parts, post- vs pre-norm, the residual stream, depth and width."""

from __future__ import annotations

from . import INK, MUTED, PALETTE, Figure, figure, fmt


def _plus(f: Figure, x, y, r=11) -> dict:
    f.circle(x, y, r, fill="#ffffff", stroke=INK, sw=1.4)
    f.line(x - 6, y, x + 6, y, sw=1.6)
    f.line(x, y - 6, x, y + 6, sw=1.6)
    return {"cx": x, "cy": y, "t": y - r, "b": y + r, "l": x - r, "r": x + r}


def _prenorm(f: Figure, x, y_top, *, notes=False, label_y=None) -> None:
    """A vertical pre-norm block, input at the bottom (y_top + 400), output at the top."""
    cx = x
    yb = y_top + 400
    f.arrow(cx, yb + 20, cx, yb - 2, sw=1.6)
    f.text(cx, yb + 32, "x  (N, D)", size=13)
    # first branch
    ln1 = f.box(cx - 55, yb - 70, 110, 34, "LayerNorm", fill=PALETTE["norm"], size=13)
    at = f.box(cx - 70, yb - 140, 140, 44, "multi-head", fill=PALETTE["attn"], sub="self-attention", size=13)
    p1 = _plus(f, cx, yb - 180)
    f.arrow(cx, yb, cx, ln1["b"] + 2, sw=1.4)
    f.arrow(cx, ln1["t"], cx, at["b"] + 2, sw=1.4)
    f.arrow(cx, at["t"], cx, p1["b"] + 1, sw=1.4)
    f.elbow([(cx, yb - 8), (cx - 110, yb - 8), (cx - 110, yb - 180), (p1["l"] - 1, yb - 180)], color="#b3261e", sw=2)
    ln2 = f.box(cx - 55, yb - 250, 110, 34, "LayerNorm", fill=PALETTE["norm"], size=13)
    mlp = f.box(cx - 70, yb - 320, 140, 44, "MLP", fill=PALETTE["mlp"], sub="D → 4D → D, GELU", size=13)
    p2 = _plus(f, cx, yb - 360)
    f.arrow(cx, p1["t"], cx, ln2["b"] + 2, sw=1.4)
    f.arrow(cx, ln2["t"], cx, mlp["b"] + 2, sw=1.4)
    f.arrow(cx, mlp["t"], cx, p2["b"] + 1, sw=1.4)
    f.elbow(
        [(cx, yb - 196), (cx - 110, yb - 196), (cx - 110, yb - 360), (p2["l"] - 1, yb - 360)], color="#b3261e", sw=2
    )
    f.arrow(cx, p2["t"], cx, yb - 392, sw=1.6)
    f.text(cx, yb - 404, "(N, D)", size=13)
    if notes:
        nx = cx + 95
        f.text(nx, at["cy"] - 8, "mixes tokens:", size=13, anchor="start", weight="bold")
        f.text(nx, at["cy"] + 10, "output i = weighted sum of all values", size=12.5, anchor="start", fill=MUTED)
        f.text(nx, mlp["cy"] - 8, "per token, non-linear:", size=13, anchor="start", weight="bold")
        f.text(nx, mlp["cy"] + 10, "the same weights for every token", size=12.5, anchor="start", fill=MUTED)
        f.text(nx, ln1["cy"] - 8, "per token:", size=13, anchor="start", weight="bold")
        f.text(nx, ln1["cy"] + 10, "mean 0, variance 1, then γ, β", size=12.5, anchor="start", fill=MUTED)
        f.text(nx, p1["cy"] - 8, "residual x + f(x):", size=13, anchor="start", weight="bold", fill="#b3261e")
        f.text(nx, p1["cy"] + 10, "an identity path for signal and gradient", size=12.5, anchor="start", fill=MUTED)


@figure("05_block_parts")
def block_parts() -> str:
    """A pre-norm block with its four parts labelled."""
    f = Figure(760, 480, display_width=700)
    _prenorm(f, 200, 30, notes=True)
    return f.svg()


@figure("05_pre_post_norm")
def pre_post_norm() -> str:
    """Post-norm (norm after the residual add) next to pre-norm (norm inside the branch)."""
    f = Figure(900, 540, display_width=800)
    # post-norm
    cx, yb = 220, 470
    f.text(cx, 24, "post-norm (original Transformer)", size=15, weight="bold")
    f.text(cx, 46, "x ← LN(x + f(x))", size=14, fill=MUTED)
    f.arrow(cx, yb + 22, cx, yb - 2, sw=1.6)
    f.text(cx, yb + 34, "x", size=13)
    at = f.box(cx - 70, yb - 70, 140, 44, "multi-head", fill=PALETTE["attn"], sub="self-attention", size=13)
    p1 = _plus(f, cx, yb - 100)
    ln1 = f.box(cx - 55, yb - 150, 110, 32, "LayerNorm", fill=PALETTE["norm"], size=13, stroke="#b3261e", sw=2)
    mlp = f.box(cx - 70, yb - 230, 140, 44, "MLP", fill=PALETTE["mlp"], size=13)
    p2 = _plus(f, cx, yb - 262)
    ln2 = f.box(cx - 55, yb - 312, 110, 32, "LayerNorm", fill=PALETTE["norm"], size=13, stroke="#b3261e", sw=2)
    f.arrow(cx, yb, cx, at["b"] + 2, sw=1.4)
    f.arrow(cx, at["t"], cx, p1["b"] + 1, sw=1.4)
    f.arrow(cx, p1["t"], cx, ln1["b"] + 2, sw=1.4)
    f.arrow(cx, ln1["t"], cx, mlp["b"] + 2, sw=1.4)
    f.arrow(cx, mlp["t"], cx, p2["b"] + 1, sw=1.4)
    f.arrow(cx, p2["t"], cx, ln2["b"] + 2, sw=1.4)
    f.arrow(cx, ln2["t"], cx, yb - 352, sw=1.6)
    f.elbow([(cx, yb - 8), (cx - 110, yb - 8), (cx - 110, yb - 100), (p1["l"] - 1, yb - 100)], color="#b3261e", sw=2)
    f.elbow(
        [(cx, ln1["t"] - 8), (cx - 110, ln1["t"] - 8), (cx - 110, yb - 262), (p2["l"] - 1, yb - 262)],
        color="#b3261e",
        sw=2,
    )
    f.text(cx + 80, ln1["cy"], "LN on the main path", size=12, anchor="start", fill="#b3261e")
    f.text(cx + 10, yb - 340, "every output normalised", size=12, fill=MUTED, anchor="start")
    # pre-norm
    f.text(660, 24, "pre-norm (ViT, GPT-2, most models since)", size=15, weight="bold")
    f.text(660, 46, "x ← x + f(LN(x))", size=14, fill=MUTED)
    _prenorm(f, 660, 72)
    f.text(660 + 80, 370, "LN only inside the branch:", size=12, anchor="start", fill="#2f6fb0")
    f.text(660 + 80, 386, "the stream is a plain sum", size=12, anchor="start", fill="#2f6fb0")
    f.line(450, 70, 450, 510, stroke="#c9ced4", sw=1)
    return f.svg()


@figure("05_residual_stream")
def residual_stream() -> str:
    """The residual stream of L blocks: pre-norm adds to it; post-norm normalises it after every block."""
    f = Figure(980, 390, display_width=880)
    L = 5
    for row, (title, y) in enumerate(
        [("pre-norm: x_L = x_0 + Σ_l f_l(LN(x_{l-1}))", 110), ("post-norm: x_l = LN(x_{l-1} + f_l(x_{l-1}))", 290)]
    ):
        f.text(30, y - 80, title, size=15, anchor="start", weight="bold")
        f.arrow(30, y, 950, y, sw=3.5 if row == 0 else 2.5, color="#2f6fb0" if row == 0 else INK)
        f.text(34, y + 20, "x_0", size=13, anchor="start")
        f.text(946, y + 20, "x_L", size=13, anchor="end")
        for lv in range(L):
            x = 130 + lv * 170
            b = f.box(
                x, y - 62, 84, 34, f"f_{lv + 1}", fill=PALETTE["attn"] if lv % 2 == 0 else PALETTE["mlp"], size=14
            )
            if row == 0:
                f.box(x - 40, y - 24, 30, 18, "LN", fill=PALETTE["norm"], size=10, rx=3)
                f.elbow([(x - 25, y), (x - 25, y - 6)], sw=1, head=5)
                f.elbow([(x - 25, y - 24), (x - 25, y - 45), (b["l"] - 1, y - 45)], sw=1.2, head=7)
                f.elbow([(b["r"], y - 45), (x + 110, y - 45), (x + 110, y - 12)], sw=1.2, head=7)
                _plus(f, x + 110, y, r=9)
            else:
                f.elbow([(x - 25, y), (x - 25, y - 45), (b["l"] - 1, y - 45)], sw=1.2, head=7)
                f.elbow([(b["r"], y - 45), (x + 100, y - 45), (x + 100, y - 12)], sw=1.2, head=7)
                _plus(f, x + 100, y, r=9)
                f.box(x + 118, y - 11, 30, 22, "LN", fill=PALETTE["norm"], size=10, rx=3, stroke="#b3261e", sw=2)
        if row == 0:
            f.text(
                490,
                y + 40,
                "the stream is never normalised: it grows with depth, every block gets gradient "
                "through the identity path",
                size=12.5,
                fill=MUTED,
            )
        else:
            f.text(
                490,
                y + 40,
                "L layer norms on the main path: each rescales the backward signal; without "
                "warm-up the lower blocks starve",
                size=12.5,
                fill=MUTED,
            )
    return f.svg()


@figure("05_depth_width")
def depth_width() -> str:
    """Depth L = number of blocks, width D; one block's 12 D^2 + 13 D parameters for ViT-B (D = 768)."""
    f = Figure(960, 360, display_width=860)
    L = 6
    for lv in range(L):
        y = 290 - lv * 40
        f.box(40, y, 200, 32, f"block {lv + 1}" if lv < L - 1 else "block L", fill=PALETTE["attn"], size=13)
    f.vbrace(255, 90, 322, "depth L", size=13)
    f.brace(40, 336, 240, "width D (token vectors, Q, K, V)", size=12)
    D = 768
    parts = [
        ("W^Q, W^K, W^V, W^O: 4D² + 4D", 4 * D * D + 4 * D, PALETTE["attn"]),
        ("MLP D → 4D → D: 8D² + 5D", 8 * D * D + 5 * D, PALETTE["mlp"]),
        ("two LayerNorms: 4D", 4 * D, PALETTE["norm"]),
    ]
    total = sum(p[1] for p in parts)
    x0, y0, w = 390, 120, 520
    f.text(x0, 60, f"one block = 12D² + 13D parameters; D = {D}: {total:,}", size=14, anchor="start", weight="bold")
    f.text(
        x0,
        84,
        f"ViT-B/16: 12 blocks = {12 * total:,} (no dependence on N or on the number of heads)",
        size=12.5,
        anchor="start",
        fill=MUTED,
    )
    x: float = x0
    for k, (lab, n, col) in enumerate(parts):
        bw = max(3, w * n / total)
        f.rect(x, y0, bw, 40, fill=col, stroke=INK, sw=1, rx=0)
        f.text(x0, y0 + 70 + k * 26, f"{lab} = {n:,} ({fmt(100 * n / total, 2)} %)", size=13, anchor="start")
        f.rect(x0 - 16, y0 + 63 + k * 26, 12, 12, fill=col, stroke=INK, sw=0.8, rx=2)
        x += bw
    f.text(
        x0, 290, "parameters grow linearly with depth, quadratically with width", size=13, anchor="start", fill=MUTED
    )
    return f.svg()
