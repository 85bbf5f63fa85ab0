"""Lecture 08 (MLP-Mixer): the patches x channels table, token vs channel mixing, the block, weights tied to N."""

from __future__ import annotations

import math

from . import INK, MUTED, PALETTE, SERIES, Figure, figure, fmt, mix


@figure("08_table")
def table() -> str:
    """A 10 x 10 x 300 feature map: flattened to 30,000 numbers, or kept as a 100 x 300 table."""
    f = Figure(960, 360, display_width=860)
    # cube
    x, y, s, dz = 40, 110, 130, 60
    f.polygon([(x, y), (x + dz, y - dz * 0.6), (x + s + dz, y - dz * 0.6), (x + s, y)], fill="#dbe7f3", stroke=INK)
    f.polygon(
        [(x + s, y), (x + s + dz, y - dz * 0.6), (x + s + dz, y + s - dz * 0.6), (x + s, y + s)],
        fill="#b9d0e8",
        stroke=INK,
    )
    f.grid(x, y, 10, 10, s / 10, fill="#eaf1f8", sw=0.3)
    f.text(x + s / 2, y + s + 18, "10 × 10 positions", size=12.5, fill=MUTED)
    f.text(x + s + dz + 8, y + s / 2 - dz * 0.3, "300", size=12.5, fill=MUTED, anchor="start")
    f.text(x + s + dz + 8, y + s / 2 - dz * 0.3 + 16, "channels", size=12.5, fill=MUTED, anchor="start")
    # flattened
    f.arrow(265, 110, 325, 80, sw=1.6)
    f.text(340, 40, "early CNNs (VGG's classifier): one vector", size=13.5, anchor="start", weight="bold")
    f.rect(340, 62, 580, 24, fill=mix("#ffffff", SERIES[0], 0.4), stroke=INK, sw=1.2, rx=0)
    for k in range(1, 40):
        f.line(340 + k * 580 / 40, 62, 340 + k * 580 / 40, 86, stroke="#ffffff", sw=0.6)
    f.text(630, 102, "(30000,): a dense layer to 30,000 outputs needs 9 × 10⁸ weights", size=12.5, fill=MUTED)
    # table
    f.arrow(265, 200, 325, 220, sw=1.6)
    f.text(340, 150, "Mixer and ViT: a table", size=13.5, anchor="start", weight="bold")
    g = f.grid(
        340, 170, 10, 30, 9, fill=lambda r, c: mix("#ffffff", SERIES[0], 0.2 + 0.05 * (r % 4)), sw=0.2, cell_h=14
    )
    f.vbrace(g["l"] - 8, g["t"], g["b"], "100 patches", right=False, size=12)
    f.brace(g["l"], g["b"] + 8, g["r"], "300 channels", size=12)
    f.lines(
        g["r"] + 30,
        g["cy"],
        [
            "(100, 300): share weights along",
            "one axis, mix along the other",
            "→ two small MLPs instead of",
            "one huge dense layer",
        ],
        size=12.5,
        anchor="start",
        fill=MUTED,
    )
    return f.svg()


@figure("08_token_channel_mixing")
def token_channel_mixing() -> str:
    """Channel mixing: one MLP per row (patch); token mixing: one MLP per column (channel), via the transpose."""
    f = Figure(960, 440, display_width=860)
    n, d, c = 6, 8, 24
    for p, (title, row_mode) in enumerate(
        [("channel mixing: MLP_{ch} on each row", True), ("token mixing: MLP_{tok} on each column", False)]
    ):
        x0 = 60 + p * 470
        f.text(x0 + d * c / 2 + 40, 28, title, size=14.5, weight="bold")
        hl = 2

        def fill(r, cc, row_mode=row_mode, hl=hl):
            on = (r == hl) if row_mode else (cc == hl)
            return mix("#ffffff", SERIES[0] if row_mode else SERIES[1], 0.85 if on else 0.15)

        g = f.grid(x0, 70, n, d, c, fill=fill, sw=0.5)
        f.text(g["cx"], 56, "channels D →", size=12, fill=MUTED)
        f.text(x0 - 14, g["cy"], "patches N →", size=12, fill=MUTED, rotate=-90)
        if row_mode:
            f.arrow(g["r"] + 8, 70 + (hl + 0.5) * c, g["r"] + 50, 70 + (hl + 0.5) * c, sw=1.6)
            f.box(g["r"] + 54, 70 + hl * c - 10, 110, 44, "MLP_{ch}", fill=SERIES[0], sub="D → C → D", size=13)
            f.lines(
                g["cx"] + 50,
                260,
                [
                    "a patch never sees another patch;",
                    "the same weights for every row",
                    "(= the ViT's feed-forward layer)",
                    "nn.Linear acts on the last axis: (B, N, D)",
                ],
                size=12.5,
                fill=MUTED,
            )
        else:
            f.arrow(70 + 0 + x0 - 70 + (hl + 0.5) * c, g["b"] + 6, x0 + (hl + 0.5) * c, g["b"] + 44, sw=1.6)
            f.box(x0 + (hl + 0.5) * c - 20, g["b"] + 46, 120, 44, "MLP_{tok}", fill=SERIES[1], sub="N → S → N", size=13)
            f.lines(
                g["cx"],
                390,
                [
                    "mixes the patches of one channel;",
                    "the same weights for every column",
                    "transpose to (B, D, N), MLP, transpose back",
                ],
                size=12.5,
                fill=MUTED,
            )
    return f.svg()


@figure("08_mixer_block")
def mixer_block() -> str:
    """A Mixer block (pre-norm, residuals) with the token-mixing MLP where the ViT block has attention."""
    f = Figure(980, 250, display_width=880)
    y = 120
    f.arrow(20, y, 70, y, sw=1.6)
    f.text(30, y - 16, "X", size=14, anchor="start", weight="bold")
    f.text(30, y + 22, "(B, N, D)", size=11.5, anchor="start", fill=MUTED)
    steps = [
        ("LN", PALETTE["norm"], 50),
        ("transpose", PALETTE["grey"], 84),
        ("MLP_{tok}", SERIES[1], 96),
        ("transpose", PALETTE["grey"], 84),
    ]
    x = 80
    for lab, col, w in steps:
        b = f.box(x, y - 20, w, 40, lab, fill=col, size=13)
        x = b["r"] + 22
        f.arrow(b["r"] + 1, y, x - 2, y, sw=1.3)
    f.circle(x + 10, y, 11, fill="#ffffff", stroke=INK, sw=1.4)
    f.text(x + 10, y, "+", size=16)
    f.elbow([(60, y), (60, y - 60), (x + 10, y - 60), (x + 10, y - 12)], color="#b3261e", sw=2)
    f.text(230, y - 72, "token mixing: U = X + (MLP_{tok}(LN(X)^T))^T", size=13)
    f.text(230, y + 40, "(B, D, N): mixes across patches", size=11.5, fill=MUTED)
    x2 = x + 32
    f.arrow(x + 21, y, x2 + 10, y, sw=1.6)
    b1 = f.box(x2 + 12, y - 20, 50, 40, "LN", fill=PALETTE["norm"], size=13)
    b2 = f.box(b1["r"] + 22, y - 20, 96, 40, "MLP_{ch}", fill=SERIES[0], size=13)
    f.arrow(b1["r"] + 1, y, b2["l"] - 2, y, sw=1.3)
    px = b2["r"] + 30
    f.arrow(b2["r"] + 1, y, px - 12, y, sw=1.3)
    f.circle(px, y, 11, fill="#ffffff", stroke=INK, sw=1.4)
    f.text(px, y, "+", size=16)
    f.elbow([(x2, y), (x2, y - 60), (px, y - 60), (px, y - 12)], color="#b3261e", sw=2)
    f.text((x2 + px) / 2, y - 72, "channel mixing: Y = U + MLP_{ch}(LN(U))", size=13)
    f.arrow(px + 11, y, px + 50, y, sw=1.6)
    f.text(px + 40, y + 22, "(B, N, D)", size=11.5, fill=MUTED)
    f.text(
        490,
        215,
        "a ViT block is the same with MSA in place of the transpose-MLP_{tok}-transpose: attention computes the mixing",
        size=12.5,
        fill=MUTED,
    )
    f.text(
        490,
        235,
        "weights from the data (different for every image); the token-mixing MLP learns them once",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("08_tied_to_n")
def tied_to_n() -> str:
    """Token-mixing weights are S x N (one N only) and cost 2NSD; attention's scores cost 2N^2 D."""
    f = Figure(960, 380, display_width=860)
    f.text(30, 30, "token-mixing weight W_1: (S, N)", size=14.5, anchor="start", weight="bold")
    f.grid(30, 50, 6, 4, 16, fill=SERIES[1], sw=0.4)
    f.text(130, 70, "N = 16 patches: fits", size=13, anchor="start")
    f.grid(30, 170, 6, 8, 16, fill="#ffffff", sw=0.4, stroke="#b3261e")
    f.text(30 + 8 * 16 + 14, 210, "N = 64: no weights exist →", size=13, anchor="start", fill="#b3261e")
    f.text(30 + 8 * 16 + 14, 230, "a clear error", size=13, anchor="start", fill="#b3261e")
    f.text(30, 300, "attention's W^Q, W^K, W^V, W^O: (D, D) each,", size=13, anchor="start")
    f.text(30, 320, "the same layer for any N", size=13, anchor="start")
    # cost plot
    D, S = 64, 256
    x0, y0, w, h = 520, 40, 400, 270
    ns = [2 ** (k / 4) for k in range(16, 45)]  # 16 .. 2048
    lx = [math.log2(n) for n in ns]
    mix_cost = [2 * n * S * D for n in ns]
    att_cost = [2 * n * n * D for n in ns]
    lo, hi = math.log10(min(att_cost)), math.log10(max(att_cost))

    def px(n):
        return x0 + w * (math.log2(n) - lx[0]) / (lx[-1] - lx[0])

    def py(v):
        return y0 + h - h * (math.log10(v) - lo) / (hi - lo)

    f.rect(x0, y0, w, h, fill="#ffffff", stroke=MUTED, sw=1, rx=0)
    for vals, col, _lab in [
        (mix_cost, SERIES[1], "token mixing 2NSD (slope 1)"),
        (att_cost, SERIES[0], "attention scores 2N²D (slope 2)"),
    ]:
        f.path("M " + " L ".join(f"{fmt(px(n))} {fmt(py(v))}" for n, v in zip(ns, vals)), stroke=col, sw=2.6)
    f.legend(x0 + 10, y0 + 16, [(SERIES[1], "token mixing 2NSD"), (SERIES[0], "attention 2N²D")], size=12, gap=140)
    f.line(px(S), y0, px(S), y0 + h, stroke=MUTED, sw=1, dash="4 4")
    f.text(px(S) + 6, y0 + h - 14, "N = S = 256", size=12, anchor="start", fill=MUTED)
    for n in [16, 64, 256, 1024]:
        f.text(px(n), y0 + h + 14, str(n), size=11.5, fill=MUTED)
    f.text(
        x0 + w / 2,
        y0 + h + 32,
        f"patches N (log scale); D = {D}, S = {S}; cost: multiply-adds (log scale)",
        size=12,
        fill=MUTED,
    )
    return f.svg()
