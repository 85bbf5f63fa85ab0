"""Lecture 06 (Vision Transformer): the visual guide's steps drawn on a stand-in photograph.

The "photograph" is a 16 x 16 pixel drawing (``vitcourse.figures.PHOTO``), cut into 4 x 4 patches, so every
pixel of every patch can be shown; the lecture's ViT-B/16 does the same with 224 x 224 pixels and 16 x 16
patches (196 of them).
"""

from __future__ import annotations

import math

from . import (
    INK,
    MUTED,
    PALETTE,
    SERIES,
    Figure,
    _hex,
    draw_patch,
    draw_photo,
    figure,
    heat,
    mix,
    photo_pixels,
    rng,
    softmax,
)
from .l04 import _sincos2d
from .l05 import _prenorm

P, K = 4, 4  # patch size (pixels), patches per side
N = K * K  # 16 patches


def _channel_cells(pr: int, pc: int) -> list[str]:
    """The flattened patch in (row, column, channel) order as 48 colours: each channel's intensity in its hue."""
    px = photo_pixels()
    out = []
    for r in range(P):
        for c in range(P):
            red, green, blue = _hex(px[pr * P + r][pc * P + c])
            out += [
                mix("#ffffff", "#d7301f", red / 255),
                mix("#ffffff", "#238b45", green / 255),
                mix("#ffffff", "#2166ac", blue / 255),
            ]
    return out


@figure("06_patch_grid")
def patch_grid() -> str:
    """Step 2: the photograph cut into a 4 x 4 grid of patches, read row by row."""
    f = Figure(960, 360, display_width=860)
    ph = draw_photo(f, 30, 40, 256, grid_patch=P, numbers=True)
    f.text(ph["cx"], 318, "image (C, H, W) = (3, 16, 16)", size=13, fill=MUTED)
    f.text(ph["cx"], 338, "patch size P = 4 → N = (16/4)² = 16 patches", size=13, fill=MUTED)
    f.arrow(ph["r"] + 14, ph["cy"], ph["r"] + 70, ph["cy"], sw=2)
    x0, y0, s = 370, 80, 30
    f.text(x0, 50, "the N patches in reading order, each (P, P, C) = (4, 4, 3)", size=14, anchor="start", weight="bold")
    for i in range(N):
        x = x0 + i * (s + 5)
        draw_patch(f, x, y0, s, i // K, i % K)
        f.text(x + s / 2, y0 + s + 13, str(i + 1), size=11, fill=MUTED)
    f.text(
        x0,
        175,
        "ViT-B/16 on a 224 × 224 photograph: P = 16, a 14 × 14 grid, N = 196 patches",
        size=13,
        anchor="start",
        fill=MUTED,
    )
    f.text(
        x0,
        200,
        'einops: rearrange(x, "b c (h p) (w q) -> b (h w) (p q c)")',
        size=12.5,
        anchor="start",
        mono=True,
        raw=True,
    )
    f.text(
        x0, 240, "no overlap, no gaps: every pixel belongs to exactly one patch", size=13, anchor="start", fill=MUTED
    )
    return f.svg()


@figure("06_flatten_patches")
def flatten_patches() -> str:
    """Step 3: one patch flattened to P*P*C = 48 numbers; all patches stacked into an (N, P^2 C) matrix."""
    f = Figure(980, 440, display_width=880)
    pr, pc = 1, 2
    draw_patch(f, 30, 60, 120, pr, pc)
    f.text(90, 40, f"patch {pr * K + pc + 1}: (4, 4, 3)", size=13, weight="bold")
    cells = _channel_cells(pr, pc)
    # the first pixel's three channels
    f.arrow(160, 120, 210, 120)
    cw = 15
    x0 = 220
    f.text(
        x0,
        40,
        "flatten in (row, column, channel) order: P²C = 4·4·3 = 48 numbers",
        size=14,
        anchor="start",
        weight="bold",
    )
    g = f.grid(x0, 105, 1, 48, cw, fill=lambda r, c: cells[c], sw=0.4, cell_h=30)
    for k in range(0, 48, 12):
        f.brace(x0 + k * cw + 1, 145, x0 + (k + 12) * cw - 1, f"row {k // 12 + 1} of the patch", size=11)
    f.text(x0, 80, "R G B of pixel (1,1), then pixel (1,2), …", size=12, anchor="start", fill=MUTED)
    # the stacked matrix
    y0 = 205
    f.text(x0, y0 - 18, "all N = 16 patches: a matrix (N, P²C) = (16, 48)", size=14, anchor="start", weight="bold")
    rows = [_channel_cells(i // K, i % K) for i in range(N)]
    m = f.grid(x0, y0, N, 48, cw, fill=lambda r, c: rows[r][c], sw=0.25, cell_h=11)
    for i in range(N):
        draw_patch(f, x0 - 22, y0 + i * 11 + 0.5, 10, i // K, i % K)
    f.rect(x0, y0 + (pr * K + pc) * 11, 48 * cw, 11, stroke="#b3261e", sw=2, rx=0)
    f.text(m["cx"], m["b"] + 16, "one row per patch (red: patch 7)", size=12, fill=MUTED)
    del g
    return f.svg()


@figure("06_patch_projection")
def patch_projection() -> str:
    """Steps 4-5: one learned matrix E maps every flattened patch to a D-dimensional patch embedding."""
    f = Figure(960, 330, display_width=860)
    rows = [_channel_cells(i // K, i % K) for i in range(N)]
    x0, y0 = 40, 70
    a = f.grid(x0, y0, N, 48, 4.5, fill=lambda r, c: rows[r][c], sw=0.15, cell_h=11)
    f.text(a["cx"], y0 - 18, "flattened patches", size=14, weight="bold")
    f.text(a["cx"], a["b"] + 16, "(N, P²C) = (16, 48)", size=12.5, fill=MUTED)
    f.text(a["r"] + 22, a["cy"], "×", size=22)
    r = rng(6)
    e = f.grid(a["r"] + 44, y0 - 20, 16, 8, 11, fill=lambda i, j: heat(r.random() * 0.8, "#6b4fa3"), sw=0.3)
    f.text(e["cx"], y0 - 38, "E (learned)", size=14, weight="bold")
    f.text(e["cx"], e["b"] + 16, "(P²C, D) = (48, 8)", size=12.5, fill=MUTED)
    f.text(e["r"] + 22, a["cy"], "=", size=22)
    r2 = rng(7)
    z = f.grid(e["r"] + 44, y0, N, 8, 11, fill=lambda i, j: heat(0.15 + r2.random() * 0.7), sw=0.3)
    f.text(z["cx"], y0 - 18, "patch embeddings", size=14, weight="bold")
    f.text(z["cx"], z["b"] + 16, "(N, D) = (16, 8)", size=12.5, fill=MUTED)
    for i in range(N):
        draw_patch(f, z["r"] + 6, y0 + i * 11 + 0.5, 10, i // K, i % K)
    tx = z["r"] + 50
    f.text(tx, 90, "x_p^i E: the same E for every patch", size=14, anchor="start")
    f.text(tx, 118, "D = 8 here (drawn); ViT-B/16: P²C = D = 768", size=12.5, anchor="start", fill=MUTED)
    f.text(tx, 140, "the digits ViT: P²C = 16, D = 64", size=12.5, anchor="start", fill=MUTED)
    f.text(tx, 180, "a linear layer acting on the last axis:", size=12.5, anchor="start", fill=MUTED)
    f.text(tx, 200, "nn.Linear(P*P*C, D)", size=12.5, anchor="start", mono=True)
    return f.svg()


@figure("06_conv_equals_linear")
def conv_equals_linear() -> str:
    """The patch embedding as Conv2d(C, D, kernel_size=P, stride=P): each kernel position is one patch."""
    f = Figure(960, 340, display_width=860)
    ph = draw_photo(f, 40, 50, 224, grid_patch=P)
    cell = 224 / K
    # kernel footprints at a few positions
    for k, (r, c) in enumerate([(0, 0), (0, 1), (2, 3)]):
        f.rect(
            40 + c * cell + 2,
            50 + r * cell + 2,
            cell - 4,
            cell - 4,
            stroke="#b3261e",
            sw=2.6,
            rx=2,
            dash=None if k == 0 else "6 4",
        )
    f.arrow(40 + cell / 2, 44, 40 + 1.5 * cell, 44, color="#b3261e", sw=1.6, head=7)
    f.text(40 + cell, 30, "stride P", size=12, fill="#b3261e")
    f.text(ph["cx"], ph["b"] + 18, "kernel P × P × C, stride P: sees each patch once", size=12.5, fill=MUTED)
    f.arrow(ph["r"] + 16, ph["cy"], ph["r"] + 80, ph["cy"], sw=2)
    f.lines(ph["r"] + 48, ph["cy"] - 28, ["Conv2d(C, D,", "k=P, s=P)"], size=11.5, fill=MUTED, raw=True)
    # feature map D x 4 x 4
    fx, fy = 360, 90
    gen = rng(8)
    for d in range(4, -1, -1):
        f.grid(
            fx + d * 9,
            fy - d * 9,
            K,
            K,
            30,
            fill=(lambda i, j, d=d: heat(0.15 + 0.7 * gen.random())) if d == 0 else "#eef0f2",
            sw=0.6,
        )
    f.text(fx + 60 + 18, fy - 64, "(D, 4, 4)", size=13, fill=MUTED)
    f.arrow(fx + 170, ph["cy"], fx + 240, ph["cy"], sw=2)
    f.lines(fx + 205, ph["cy"] - 26, ["flatten,", "transpose"], size=11.5, fill=MUTED)
    z = f.grid(fx + 255, 60, N, 8, 11, fill=lambda i, j: heat(0.15 + 0.7 * gen.random()), sw=0.3)
    f.text(z["cx"], z["b"] + 16, "(N, D)", size=12.5, fill=MUTED)
    f.text(z["r"] + 20, 110, "= flatten + Linear", size=15, anchor="start", weight="bold")
    f.text(z["r"] + 20, 136, "the same dot products,", size=12.5, anchor="start", fill=MUTED)
    f.text(z["r"] + 20, 154, "kernel flattened in (row,", size=12.5, anchor="start", fill=MUTED)
    f.text(z["r"] + 20, 172, "column, channel) order", size=12.5, anchor="start", fill=MUTED)
    return f.svg()


@figure("06_class_token_positions")
def class_token_positions() -> str:
    """Steps 6-8: prepend the class token, add position embeddings: z_0 of shape (N+1, D)."""
    f = Figure(960, 400, display_width=860)
    r = rng(9)
    rows, c = N + 1, 12
    y0 = 60
    x0 = 60
    tok = [[0.15 + 0.6 * r.random() for _ in range(8)] for _ in range(rows)]
    pos = [[0.25 + 0.5 * r.random() for _ in range(8)] for _ in range(rows)]

    def tok_colour(i, j):
        return PALETTE["cls"] if i == 0 else heat(tok[i][j])

    a = f.grid(x0, y0, rows, 8, c, fill=tok_colour, sw=0.3, cell_h=16)
    for i in range(N):
        draw_patch(f, x0 - 20, y0 + (i + 1) * 16 + 1, 14, i // K, i % K)
    f.text(x0 - 13, y0 + 8, "cls", size=11, anchor="end", weight="bold")
    f.text(a["cx"], y0 - 16, "[x_{class}; x_p^1 E; …; x_p^N E]", size=13)
    f.text(a["cx"], a["b"] + 16, "(N+1, D) = (17, 8)", size=12.5, fill=MUTED)
    f.text(a["r"] + 28, a["cy"], "+", size=24)
    p = f.grid(a["r"] + 56, y0, rows, 8, c, fill=lambda i, j: mix("#ffffff", "#c9a227", pos[i][j]), sw=0.3, cell_h=16)
    f.text(p["cx"], y0 - 16, "E_{pos} (learned)", size=13)
    f.text(p["cx"], p["b"] + 16, "(N+1, D)", size=12.5, fill=MUTED)
    f.text(p["r"] + 28, a["cy"], "=", size=24)
    z = f.grid(
        p["r"] + 56,
        y0,
        rows,
        8,
        c,
        fill=lambda i, j: mix(tok_colour(i, j), "#c9a227", 0.6 * pos[i][j]),
        sw=0.3,
        cell_h=16,
    )
    f.text(z["cx"], y0 - 16, "z_0", size=14, weight="bold")
    f.text(z["cx"], z["b"] + 16, "(N+1, D): the transformer's input", size=12.5, fill=MUTED)
    tx = z["r"] + 40
    f.text(tx, 80, "step 6: the class token", size=14, anchor="start", weight="bold")
    f.lines(
        tx,
        120,
        [
            "a learned vector, the same for every",
            "image; belongs to no patch; collects",
            "through attention what the classifier",
            "needs (only its final state is used)",
        ],
        size=12.5,
        anchor="start",
        fill=MUTED,
    )
    f.text(tx, 200, "steps 7-8: position embeddings", size=14, anchor="start", weight="bold")
    f.lines(
        tx,
        240,
        [
            "one learned row per token, class token",
            "included; added, so the width stays D;",
            "without them a shuffled image gives",
            "shuffled outputs (lecture 02)",
        ],
        size=12.5,
        anchor="start",
        fill=MUTED,
    )
    f.text(480, 385, "z_0 = [x_{class}; x_p^1 E; …; x_p^N E] + E_{pos}", size=15)
    return f.svg()


@figure("06_position_embeddings")
def position_embeddings() -> str:
    """Position embeddings as images: each patch's similarity to every position of the 4 x 4 grid."""
    f = Figure(900, 400, display_width=760)
    D = 64
    emb = [_sincos2d(i // K, i % K, D, temperature=20.0) for i in range(N)]

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    s, gap = 16, 14
    x0, y0 = 60, 40
    for i in range(N):
        r, c = divmod(i, K)
        gx, gy = x0 + c * (K * s + gap), y0 + r * (K * s + gap)
        sims = [cos(emb[i], emb[j]) for j in range(N)]
        lo = min(sims)
        f.grid(
            gx,
            gy,
            K,
            K,
            s,
            fill=lambda a, b, sims=sims, lo=lo: heat((sims[a * K + b] - lo) / (1 - lo)),
            sw=0.3,
            outline=1,
        )
        f.rect(gx + c * s, gy + r * s, s, s, stroke="#b3261e", sw=1.6, rx=0)
    w = K * (K * s + gap) - gap
    f.text(x0 + w / 2, y0 + w + 20, "cell (r, c): cosine similarity of patch (r, c)'s embedding", size=12.5, fill=MUTED)
    f.text(x0 + w / 2, y0 + w + 38, "to every position (red: the patch itself)", size=12.5, fill=MUTED)
    tx = x0 + w + 50
    f.lines(
        tx,
        120,
        [
            "each embedding is most similar to",
            "itself, then to the patches of its",
            "row and column:",
            "the 2D grid, seen through",
            "N = 16 position vectors",
        ],
        size=13,
        anchor="start",
    )
    f.lines(
        tx,
        260,
        [
            "drawn from a 2D sine-cosine encoding",
            "(D = 64); ViT's learned embeddings",
            "come to look like this after training",
            "(the paper's Figure 7, centre)",
        ],
        size=12,
        anchor="start",
        fill=MUTED,
    )
    return f.svg()


@figure("06_attention_in_block")
def attention_in_block() -> str:
    """Steps 9-16: Q, K, V; (N+1) x (N+1) scores per head; row softmax; context vectors; heads; W^O."""
    f = Figure(1000, 380, display_width=900)
    n, c = N + 1, 9
    r = rng(11)
    z = f.grid(30, 90, n, 6, 10, fill=lambda i, j: PALETTE["cls"] if i == 0 else heat(0.35), sw=0.3, cell_h=c)
    f.text(z["cx"], 72, "LN(z)", size=13, weight="bold")
    f.text(z["cx"], z["b"] + 14, "(N+1, D)", size=12, fill=MUTED)
    for k, (nm, col) in enumerate([("Q", PALETTE["query"]), ("K", PALETTE["key"]), ("V", PALETTE["value"])]):
        y = 40 + k * 100
        g = f.grid(150, y, n, 4, 8, fill=col, sw=0.3, cell_h=4.6)
        f.text(g["l"] - 10, g["cy"], nm, size=14, anchor="end", weight="bold")
        f.arrow(z["r"] + 4, z["cy"], g["l"] - 22, g["cy"], color=MUTED, sw=1.1)
    f.text(166, 345, "per head: (N+1, D_h)", size=12, fill=MUTED)
    scores = [[r.gauss(0, 1.3) for _ in range(n)] for _ in range(n)]
    att = [softmax(row) for row in scores]
    A = f.grid(300, 66, n, n, c * 1.25, fill=lambda i, j: heat(min(1.0, att[i][j] * 3)), sw=0.2)
    f.rect(300, 66, n * c * 1.25, c * 1.25, stroke="#b3261e", sw=2, rx=0)
    f.text(A["cx"], 28, "softmax(Q K^T / √D_h), row by row", size=13, weight="bold")
    f.text(300, 54, "the class token's row ↓", size=11, anchor="start", fill="#b3261e")
    f.text(A["cx"], A["b"] + 16, "(N+1, N+1) per head; every row sums to 1", size=12, fill=MUTED)
    f.arrow(218, 60, 296, 100, color=MUTED, sw=1.1)
    f.arrow(218, 160, 296, 140, color=MUTED, sw=1.1)
    ctx = f.grid(A["r"] + 120, 90, n, 4, 8, fill=PALETTE["output"], sw=0.3, cell_h=c)
    f.arrow(A["r"] + 8, A["cy"] + 20, ctx["l"] - 6, ctx["cy"], sw=1.6)
    f.arrow(218, 260, ctx["l"] - 6, ctx["b"] - 10, color=MUTED, sw=1.1)
    f.text(ctx["cx"], 72, "A V", size=13, weight="bold")
    f.text(ctx["cx"], ctx["b"] + 14, "c_i = Σ_j A_ij v_j", size=12, fill=MUTED)
    hx = ctx["r"] + 40
    for h in range(3):
        f.grid(hx + h * 18, 90, n, 1, 18, fill=SERIES[h], sw=0.3, cell_h=c)
    f.text(hx + 27, 72, "H heads", size=13, weight="bold")
    f.text(hx + 27, 90 + n * c + 14, "concat", size=12, fill=MUTED)
    f.arrow(ctx["r"] + 6, ctx["cy"], hx - 4, ctx["cy"], color=MUTED, sw=1.1)
    wo = f.box(hx + 80, 140, 60, 50, "W^O", fill="#ffffff")
    f.arrow(hx + 58, 165, wo["l"] - 2, 165)
    out = f.grid(wo["r"] + 20, 90, n, 6, 10, fill=PALETTE["output"], sw=0.3, cell_h=c)
    f.arrow(wo["r"] + 2, 165, out["l"] - 2, 165)
    f.text(out["cx"], 72, "out", size=13, weight="bold")
    f.text(out["cx"], out["b"] + 14, "(N+1, D)", size=12, fill=MUTED)
    f.text(
        560,
        365,
        "steps 9-11: Q, K, V, scores, softmax · 12-13: context vectors · 14: per head · 15-16: back to width D",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("06_block_residual")
def block_residual() -> str:
    """Steps 17-20: the pre-norm encoder block with ViT-B/16's shapes."""
    f = Figure(820, 480, display_width=700)
    _prenorm(f, 200, 30, notes=True)
    f.text(560, 458, "ViT-B/16: x is (197, 768); the MLP is 768 → 3072 → 768", size=12.5, fill=MUTED)
    return f.svg()


@figure("06_encoder_to_head")
def encoder_to_head() -> str:
    """Steps 21-24: the token sequence through L blocks; the class token's final state -> head -> loss."""
    f = Figure(1000, 360, display_width=900)
    n, c = N + 1, 11

    def tokens(x, shade):
        g = f.grid(x, 70, n, 1, 22, fill=lambda i, j: PALETTE["cls"] if i == 0 else heat(shade), sw=0.4, cell_h=c)
        return g

    t = tokens(30, 0.3)
    f.text(t["cx"], 52, "z_0", size=13, weight="bold")
    f.text(t["cx"], t["b"] + 16, "(N+1, D)", size=12, fill=MUTED)
    x = t["r"] + 14
    for lv, name in enumerate(["block 1", "block 2", "…", "block L"]):
        if name == "…":
            f.text(x + 20, t["cy"], "…", size=20)
            x += 40
            continue
        b = f.box(x + 8, 80, 56, 170, "", fill=PALETTE["attn"])
        f.text(b["cx"], b["cy"], name, size=13, rotate=-90)
        f.arrow(x, t["cy"], b["l"] - 1, t["cy"], sw=1.2)
        t2 = tokens(b["r"] + 14, 0.3 + 0.15 * (lv + 1))
        f.arrow(b["r"] + 1, t["cy"], t2["l"] - 1, t["cy"], sw=1.2)
        x = t2["r"] + 4
    f.text((30 + x) / 2, 300, "step 21: L blocks (separate weights); the shape never changes", size=12.5, fill=MUTED)
    ln = f.box(x + 20, 58, 70, 34, "LN", fill=PALETTE["norm"])
    f.arrow(x - 1, 75, ln["l"] - 2, 75, color="#b3261e", sw=2)
    f.text(ln["cx"], 110, "step 22: keep", size=12, fill=MUTED)
    f.text(ln["cx"], 126, "the class token", size=12, fill=MUTED)
    hd = f.box(ln["r"] + 30, 50, 110, 50, "head", fill=PALETTE["head"], sub="Linear(D, classes)")
    f.arrow(ln["r"] + 2, 75, hd["l"] - 2, 75, sw=1.6)
    probs = softmax([0.2, 2.6, 0.1, 0.4, 1.2, 0.0, 0.3, 0.2, 0.5, 0.1])
    bx = hd["r"] + 30
    f.bars(
        bx,
        60,
        170,
        110,
        probs,
        colors=[SERIES[0] if k != 1 else "#2f6fb0" for k in range(10)],
        labels=[str(k) for k in range(10)],
        show_values=False,
        size=10,
    )
    f.arrow(hd["r"] + 2, 75, bx - 4, 75, sw=1.6)
    f.text(bx + 85, 40, "step 23: softmax → p", size=12.5, fill=MUTED)
    f.text(bx + 85, 215, "step 24: loss = −log p[label]", size=13)
    f.text(bx + 85, 235, "(cross-entropy)", size=12, fill=MUTED)
    return f.svg()


@figure("06_cls_attention")
def cls_attention() -> str:
    """The class token's attention row over the patch grid, and rollout across layers (schematic)."""
    f = Figure(960, 360, display_width=860)
    px = photo_pixels()
    # schematic weights: patches that contain the house (roof red, walls) get more score
    house = {"#d65745", "#f2ede1", "#8a5a3c", "#6aa7d8"}
    share = [
        sum(px[(i // K) * P + a][(i % K) * P + b] in house for a in range(P) for b in range(P)) / (P * P)
        for i in range(N)
    ]
    layers = [softmax([1.0 * s for s in share]), softmax([4.0 * s for s in share]), softmax([8.0 * s for s in share])]
    for k, (w, name) in enumerate(zip(layers, ["block 1", "block 2", "rollout R"])):
        x = 40 + k * 300
        ph = draw_photo(f, x, 60, 200)
        m = max(w)
        for i in range(N):
            r, c = divmod(i, K)
            dark = 0.85 * (1 - w[i] / m) ** 0.7
            f.rect(x + c * 50, 60 + r * 50, 50, 50, fill="#0b1d33", stroke=None, rx=0, opacity=dark)
        f.rect(x, 60, 200, 200, stroke=INK, sw=1.4, rx=0)
        f.text(ph["cx"], 40, name if k < 2 else "rollout over all layers", size=14, weight="bold")
        if k < 2:
            f.text(x + 250, 160, "→", size=26, fill=MUTED)
    f.text(
        480,
        290,
        "row 0 of the attention (the class token's query), reshaped to the patch grid: bright = more "
        "weight (schematic)",
        size=12.5,
        fill=MUTED,
    )
    f.text(480, 316, "rollout: R = Ã_L ⋯ Ã_1, Ã_l = ½(mean over heads of A_l + I), rows renormalised", size=13)
    f.text(
        480,
        340,
        "a hint of where information flows, not an explanation (measured in the lecture)",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("06_inductive_bias")
def inductive_bias() -> str:
    """CNN: local kernels shared across positions; ViT: patches, global attention from the first layer."""
    f = Figure(960, 390, display_width=860)
    # CNN
    f.text(230, 28, "CNN: locality and weight sharing built in", size=15, weight="bold")
    g = f.grid(40, 60, 8, 8, 26, fill="#ffffff", sw=0.5)
    for (r0, c0), col in [((1, 1), SERIES[0]), ((4, 4), SERIES[0])]:
        f.rect(40 + c0 * 26, 60 + r0 * 26, 78, 78, fill=col, stroke=INK, sw=1.6, rx=0, opacity=0.5)
    f.text(g["cx"], g["b"] + 18, "the same 3×3 kernel everywhere", size=12.5, fill=MUTED)
    f.text(g["cx"], g["b"] + 36, "(translation equivariant)", size=12.5, fill=MUTED)
    fx = g["r"] + 40
    for lv, rf in enumerate([3, 5, 7]):
        y = 70 + lv * 80
        f.text(fx, y, f"layer {lv + 1}: sees {rf}×{rf} pixels", size=13, anchor="start")
        f.grid(fx, y + 14, 1, 9, 12, fill=lambda a, b, rf=rf: SERIES[0] if abs(b - 4) <= rf // 2 else "#ffffff", sw=0.4)
    f.text(fx, 300, "receptive field grows slowly", size=12.5, anchor="start", fill=MUTED)
    f.line(480, 50, 480, 360, stroke="#c9ced4", sw=1)
    # ViT
    f.text(720, 28, "ViT: almost nothing built in", size=15, weight="bold")
    ph = draw_photo(f, 520, 60, 208, grid_patch=P)
    cs = 208 / K
    src = (1, 1)
    sx, sy = 520 + (src[1] + 0.5) * cs, 60 + (src[0] + 0.5) * cs
    for i in range(N):
        r, c = divmod(i, K)
        if (r, c) != src:
            f.line(sx, sy, 520 + (c + 0.5) * cs, 60 + (r + 0.5) * cs, stroke="#b3261e", sw=1.2, opacity=0.8)
    f.circle(sx, sy, 6, fill="#b3261e", stroke="#ffffff", sw=1.5)
    f.text(ph["cx"], ph["b"] + 18, "layer 1: any patch can read every patch", size=12.5, fill=MUTED)
    f.lines(
        850,
        150,
        ["given: the patch", "split and (learned)", "positions", "", "locality must be", "learned from data"],
        size=12.5,
        fill=MUTED,
    )
    f.text(480, 378, "little data: the CNN's assumptions are worth more; much more data: the learned ones win", size=13)
    return f.svg()
