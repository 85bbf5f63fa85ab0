"""Lecture 10 (U-Net): the U with its skips, skip vs residual, pixels vs patches, TransUNet, anomaly detection."""

from __future__ import annotations

from . import INK, MUTED, PALETTE, SERIES, Figure, draw_photo, figure, mix

LEVELS = [(8, 32), (16, 16), (32, 8), (64, 4)]  # (channels, side) with base width 8 on 32 x 32 canvases


def _fmap(f: Figure, x, y, ch: int, side: int, col: str, *, label=True) -> dict:
    """A feature map drawn as a slab: width grows with channels, height with the side."""
    w, h = 8 + ch * 0.9, 10 + side * 2.6
    g = f.rect(x - w / 2, y - h / 2, w, h, fill=col, stroke=INK, sw=1.1, rx=2)
    if label:
        f.text(x, y + h / 2 + 13, f"({ch}, {side}, {side})", size=11, fill=MUTED)
    return g


@figure("10_unet")
def unet() -> str:
    """Encoder (down), bottleneck, decoder (up), skip connections across, 1x1 head: one output per pixel."""
    f = Figure(980, 470, display_width=880)
    xs_enc = [120, 230, 330, 0]
    ys = [125, 220, 310, 392]
    enc = []
    for i, (ch, side) in enumerate(LEVELS[:3]):
        enc.append(_fmap(f, xs_enc[i], ys[i], ch, side, mix("#ffffff", SERIES[0], 0.3 + 0.15 * i)))
    bott = _fmap(f, 490, ys[3], *LEVELS[3], PALETTE["weight"])
    f.text(490, ys[3] - 34, "bottleneck", size=13, weight="bold")
    dec_x = [860, 750, 650]
    dec = []
    for i, (ch, side) in enumerate(LEVELS[:3]):
        dec.append(_fmap(f, dec_x[i], ys[i], ch * 2, side, mix("#ffffff", SERIES[1], 0.3 + 0.15 * i)))
    # down arrows
    for i in range(3):
        a = enc[i]
        nxt = enc[i + 1] if i < 2 else bott
        f.arrow(a["cx"], a["b"] + 18, nxt["l"] - 6, nxt["cy"] - 8, color="#2f6fb0", sw=1.8)
    f.text(150, 230, "max-pool 2×2:", size=12, anchor="end", fill="#2f6fb0")
    f.text(150, 246, "÷2 size, ×2 channels", size=12, anchor="end", fill="#2f6fb0")
    # up arrows
    for i in range(3):
        d = dec[i]
        prev = dec[i + 1] if i < 2 else bott
        f.arrow(prev["r"] + 6, prev["cy"] - 8, d["cx"], d["b"] + 18, color="#c0631b", sw=1.8)
    f.text(830, 230, "transposed conv:", size=12, anchor="start", fill="#c0631b")
    f.text(830, 246, "×2 size", size=12, anchor="start", fill="#c0631b")
    # skips
    for i in range(3):
        f.arrow(enc[i]["r"] + 4, ys[i], dec[i]["l"] - 4, ys[i], color=INK, sw=2, dash="7 4")
        f.text((enc[i]["r"] + dec[i]["l"]) / 2, ys[i] - 10, "skip: concatenate" if i == 0 else "skip", size=12)
    f.text(120, 30, "encoder: what is there", size=13.5, weight="bold")
    f.text(860, 30, "decoder: where exactly", size=13.5, weight="bold")
    f.text(20, 56, "input (3, 32, 32)", size=12, anchor="start", fill=MUTED)
    f.text(960, 56, "1×1 head → (K, 32, 32)", size=12, anchor="end", fill=MUTED)
    f.text(
        490,
        455,
        "each level: two 3×3 convs (+BN, ReLU); the bottleneck sees 8×8-pixel blocks, the skips "
        "hand back the full-resolution maps",
        size=12,
        fill=MUTED,
    )
    return f.svg()


@figure("10_skip_vs_residual")
def skip_vs_residual() -> str:
    """A residual connection adds x; a U-Net skip concatenates s, and conv([s; u]) = conv(s; W_s) + conv(u; W_u)."""
    f = Figure(960, 300, display_width=860)
    f.text(190, 30, "residual (lecture 05)", size=15, weight="bold")
    x = f.box(30, 120, 60, 44, "x", fill=PALETTE["grey"])
    fx = f.box(150, 120, 90, 44, "f", fill=PALETTE["mlp"])
    f.arrow(x["r"] + 2, 142, fx["l"] - 2, 142)
    f.circle(300, 142, 12, fill="#ffffff", stroke=INK, sw=1.4)
    f.text(300, 142, "+", size=16)
    f.arrow(fx["r"] + 2, 142, 286, 142)
    f.elbow([(110, 142), (110, 80), (300, 80), (300, 128)], color="#b3261e", sw=2)
    f.arrow(312, 142, 350, 142)
    f.text(190, 210, "y = x + f(x)", size=15)
    f.line(400, 50, 400, 270, stroke="#c9ced4", sw=1)
    f.text(680, 30, "U-Net skip", size=15, weight="bold")
    s = f.box(430, 70, 70, 40, "s", fill=mix("#ffffff", SERIES[0], 0.5), sub="encoder", sub_size=10)
    u = f.box(430, 170, 70, 40, "u", fill=mix("#ffffff", SERIES[1], 0.5), sub="from below", sub_size=10)
    cat = f.rect(560, 100, 36, 80, fill=mix("#ffffff", SERIES[0], 0.5), stroke=INK, sw=1.2, rx=0)
    f.rect(560, 140, 36, 40, fill=mix("#ffffff", SERIES[1], 0.5), stroke=INK, sw=1.2, rx=0)
    f.text(578, 90, "[s; u]", size=12)
    f.arrow(s["r"] + 2, 90, cat["l"] - 2, 118)
    f.arrow(u["r"] + 2, 190, cat["l"] - 2, 162)
    cv = f.box(640, 115, 90, 50, "conv", fill=PALETTE["conv"], sub="W = [W_s W_u]", sub_size=11)
    f.arrow(cat["r"] + 2, 140, cv["l"] - 2, 140)
    f.arrow(cv["r"] + 2, 140, 780, 140)
    f.text(790, 140, "y", size=15, anchor="start")
    f.text(680, 235, "conv([s; u]; W) = conv(s; W_s) + conv(u; W_u)", size=14.5)
    f.text(680, 260, "a sum after all: a residual connection with a learned projection of s", size=12.5, fill=MUTED)
    return f.svg()


@figure("10_pixels_vs_patches")
def pixels_vs_patches() -> str:
    """A CNN's receptive field grows level by level over pixels; a ViT token sees every patch at once."""
    f = Figure(960, 360, display_width=860)
    f.text(230, 28, "CNN: pixels, a growing receptive field", size=15, weight="bold")
    size = 68
    px = 3.4
    ox, oy = 60, 50
    f.rect(ox, oy, size * px, size * px, fill="#ffffff", stroke="#c9ced4", sw=1, rx=0)
    for k, rf in enumerate([68, 32, 14, 5]):
        col = mix("#ffffff", SERIES[0], 0.2 + 0.2 * k)
        off = (size - rf) / 2 * px
        f.rect(ox + off, oy + off, rf * px, rf * px, fill=col, stroke=INK, sw=1, rx=0)
    for k, (rf, lvl) in enumerate([(5, "level 0"), (14, "level 1"), (32, "level 2"), (68, "bottleneck")]):
        f.text(ox + size * px + 16, oy + 30 + k * 46, f"{lvl}: {rf}×{rf} pixels", size=13, anchor="start")
    f.text(230, 300, "each 3×3 conv adds 2 × the pixel step; each pool doubles the step", size=12, fill=MUTED)
    f.text(230, 318, "(receptive fields measured by gradients in the lecture)", size=12, fill=MUTED)
    f.line(480, 50, 480, 330, stroke="#c9ced4", sw=1)
    f.text(720, 28, "ViT: patches, global from layer 1", size=15, weight="bold")
    ph = draw_photo(f, 560, 50, 224, grid_patch=4)
    cs = 56
    sx, sy = 560 + 2.5 * cs, 50 + 1.5 * cs
    for r in range(4):
        for c in range(4):
            if (r, c) != (1, 2):
                f.line(sx, sy, 560 + (c + 0.5) * cs, 50 + (r + 0.5) * cs, stroke="#b3261e", sw=1.1, opacity=0.8)
    f.circle(sx, sy, 6, fill="#b3261e", stroke="#ffffff", sw=1.5)
    f.text(ph["cx"], ph["b"] + 18, "but only on the coarse patch grid", size=12, fill=MUTED)
    f.text(ph["cx"], ph["b"] + 36, "(P times coarser than the pixels)", size=12, fill=MUTED)
    return f.svg()


@figure("10_transunet")
def transunet() -> str:
    """TransUNet: CNN stages (skips) -> patch tokens -> ViT -> reshape tokens to a grid -> U-Net decoder."""
    f = Figure(1000, 380, display_width=900)
    img = f.box(20, 60, 80, 60, "image", fill=PALETTE["grey"], sub="(3, H, W)", size=13)
    c1 = f.box(130, 70, 80, 40, "CNN stage", fill=PALETTE["conv"], size=12)
    c2 = f.box(130, 150, 80, 40, "CNN stage", fill=PALETTE["conv"], size=12)
    f.arrow(img["r"] + 2, 90, c1["l"] - 2, 90)
    f.arrow(c1["cx"], c1["b"] + 2, c1["cx"], c2["t"] - 2)
    pe = f.box(130, 230, 80, 40, "patches", fill=PALETTE["key"], size=12)
    f.arrow(c2["cx"], c2["b"] + 2, c2["cx"], pe["t"] - 2)
    # tokens
    tx = 250
    f.grid(tx, 225, 1, 9, 14, fill=lambda r, c: PALETTE["query"], sw=0.5, cell_h=50)
    f.text(tx + 63, 290, "tokens (N, D)", size=12, fill=MUTED)
    f.arrow(pe["r"] + 2, 250, tx - 2, 250)
    vit = f.box(410, 220, 120, 60, "ViT blocks", fill=PALETTE["attn"], sub="(lecture 06)", size=13)
    f.arrow(tx + 128, 250, vit["l"] - 2, 250)
    f.grid(570, 205, 3, 3, 30, fill=PALETTE["query"], sw=0.6)
    f.text(615, 310, "reshape to a grid", size=12, fill=MUTED)
    f.text(615, 326, "(D, H/P, W/P)", size=12, fill=MUTED)
    f.arrow(vit["r"] + 2, 250, 566, 250)
    d1 = f.box(700, 150, 100, 40, "up + conv", fill=mix("#ffffff", SERIES[1], 0.5), size=12)
    d2 = f.box(700, 70, 100, 40, "up + conv", fill=mix("#ffffff", SERIES[1], 0.5), size=12)
    f.arrow(662, 220, d1["l"] - 2, d1["cy"])
    f.arrow(d1["cx"], d1["t"] - 2, d2["cx"], d2["b"] + 2)
    out = f.box(850, 60, 120, 60, "mask", fill=PALETTE["output"], sub="(K, H, W)", size=13)
    f.arrow(d2["r"] + 2, 90, out["l"] - 2, 90)
    f.elbow([(c1["r"], 84), (660, 84), (d2["l"] - 2, 84)], color=INK, sw=1.8, dash="7 4")
    f.elbow([(c2["r"], 164), (660, 164), (d1["l"] - 2, 164)], color=INK, sw=1.8, dash="7 4")
    f.text(430, 76, "skip (pixels)", size=12)
    f.text(430, 156, "skip", size=12)
    f.text(
        500,
        365,
        "global context from the transformer at the bottom, fine positions from the CNN's skips",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("10_anomaly")
def anomaly() -> str:
    """A never-seen shape: the autoencoder cannot restore it (large error); a U-Net passes it through its skips."""
    f = Figure(960, 320, display_width=860)
    for p, (title, skips) in enumerate([("autoencoder (no skips)", False), ("U-Net (skips)", True)]):
        x0 = 30 + p * 480
        f.text(x0 + 210, 28, title, size=15, weight="bold")
        f.box(x0, 120, 70, 60, "✕ ring", fill="#ffffff", sub="unseen", size=13)
        f.polygon(
            [(x0 + 90, 100), (x0 + 170, 130), (x0 + 170, 170), (x0 + 90, 200)],
            fill=mix("#ffffff", SERIES[0], 0.5),
            stroke=INK,
        )
        f.polygon(
            [(x0 + 190, 130), (x0 + 270, 100), (x0 + 270, 200), (x0 + 190, 170)],
            fill=mix("#ffffff", SERIES[1], 0.5),
            stroke=INK,
        )
        f.rect(x0 + 170, 135, 20, 30, fill=PALETTE["weight"], stroke=INK, sw=1, rx=0)
        f.arrow(x0 + 72, 150, x0 + 88, 150)
        f.arrow(x0 + 272, 150, x0 + 300, 150)
        if skips:
            f.elbow([(x0 + 90, 96), (x0 + 90, 70), (x0 + 270, 70), (x0 + 270, 96)], color="#b3261e", sw=2.2)
            f.text(x0 + 180, 60, "the unseen shape passes through", size=12, fill="#b3261e")
            res = ("restored well", "small error: a poor detector")
        else:
            res = ("only learned shapes fit", "large error: flagged")
        f.box(x0 + 302, 120, 110, 60, "output", fill=PALETTE["output"], sub=res[0], sub_size=10.5, size=13)
        f.text(x0 + 210, 240, "‖f(x) − x‖^2 per pixel → anomaly map", size=13)
        f.text(x0 + 210, 262, res[1], size=13, weight="bold", fill="#2e7d32" if not skips else "#b3261e")
    f.line(480, 50, 480, 290, stroke="#c9ced4", sw=1)
    return f.svg()
