"""Lecture 03 (multi-head attention): the four steps, split/merge of heads, grouped convolution, two relations."""

from __future__ import annotations

from . import INK, MUTED, PALETTE, SERIES, Figure, figure, heat, mix


@figure("03_four_steps")
def four_steps() -> str:
    """X -> per-head projections -> attention per head -> concat -> W^O."""
    f = Figure(980, 400, display_width=880)
    h = 3
    X = f.box(20, 170, 70, 60, "X", fill=PALETTE["grey"], sub="(N, D)")
    ys = [40, 160, 280]
    f.text(190, 22, "1. projections", size=13, fill=MUTED)
    f.text(400, 22, "2. attention per head", size=13, fill=MUTED)
    f.text(620, 22, "3. concatenate", size=13, fill=MUTED)
    f.text(800, 22, "4. project", size=13, fill=MUTED)
    for i, y in enumerate(ys):
        col = SERIES[i]
        lab = ["1", "2", "h"][i]
        p = f.box(125, y, 140, 80, "", fill=mix("#ffffff", col, 0.35))
        f.text(195, y + 18, f"W_{lab}^Q, W_{lab}^K, W_{lab}^V", size=13)
        f.text(195, y + 42, "(D, d_h) each", size=12, fill=MUTED)
        f.text(195, y + 62, f"Q_{lab}, K_{lab}, V_{lab}: (N, d_h)", size=12, fill=MUTED)
        f.elbow([(X["r"] + 2, X["cy"]), (108, X["cy"]), (108, y + 40), (p["l"] - 2, y + 40)], color=MUTED, sw=1.3)
        a = f.box(
            305,
            y + 10,
            200,
            60,
            f"softmax(Q_{lab} K_{lab}^T / √d_h) V_{lab}",
            fill=mix("#ffffff", col, 0.6),
            size=13,
            sub=f"head_{lab}: (N, d_h)",
        )
        f.arrow(p["r"] + 2, y + 40, a["l"] - 2, y + 40, sw=1.4)
        f.arrow(a["r"] + 2, y + 40, 580 + i * 30, 215, color=MUTED, sw=1.2)
    f.text(400, 258, "⋮", size=20, fill=MUTED)
    for i in range(h):
        f.rect(580 + i * 30, 185, 30, 60, fill=SERIES[i], stroke=INK, sw=1, rx=0)
    f.text(625, 262, "(N, h·d_h) = (N, D)", size=12, fill=MUTED)
    wo = f.box(700, 185, 70, 60, "W^O", fill="#ffffff", sub="(D, D)")
    f.arrow(672, 215, wo["l"] - 2, 215)
    o = f.box(820, 185, 120, 60, "MHA(X)", fill=PALETTE["output"], sub="(N, D)")
    f.arrow(wo["r"] + 2, 215, o["l"] - 2, 215)
    f.text(
        490,
        380,
        "each head has its own small subspace d_h = D / h; W^O mixes the heads back into width D",
        size=13,
        fill=MUTED,
    )
    return f.svg()


@figure("03_split_merge")
def split_merge() -> str:
    """The efficient form: the channel axis D becomes (H, Dh); heads act as a batch axis; merge back."""
    f = Figure(1000, 410, display_width=900)
    H, n, dh, c = 3, 5, 3, 16
    # (B, N, D) with channels coloured by head
    x0, y0 = 30, 120
    f.grid(x0, y0, n, H * dh, c, fill=lambda i, j: mix("#ffffff", SERIES[j // dh], 0.75))
    f.text(x0 + H * dh * c / 2, y0 - 30, "q = x W^Q", size=15, weight="bold")
    f.text(x0 + H * dh * c / 2, y0 - 12, "(B, N, D)", size=12, fill=MUTED)
    for k in range(H):
        f.brace(x0 + k * dh * c + 2, y0 + n * c + 8, x0 + (k + 1) * dh * c - 2, f"head {k + 1}", size=11)
    f.arrow(x0 + H * dh * c + 12, y0 + 40, 290, y0 + 40)
    f.lines(237, y0 + 76, ["rearrange", "b n (h d)", "→ b h n d"], size=11.5, fill=MUTED, raw=True)
    # stacked heads (B, H, N, Dh)
    sx, sy = 300, 70
    for k in range(H):
        f.grid(sx, sy + k * (n * c + 14), n, dh, c, fill=mix("#ffffff", SERIES[k], 0.75))
    f.text(sx + dh * c / 2, sy - 14, "(B, H, N, D_h)", size=12, fill=MUTED)
    # per-head attention maps (B, H, N, N)
    ax = 420
    for k in range(H):
        y = sy + k * (n * c + 14)
        f.grid(ax, y, n, n, c, fill=lambda i, j, k=k: heat(0.85 if (j - i) % n == k else 0.12, SERIES[k]))
        f.arrow(sx + dh * c + 6, y + n * c / 2, ax - 6, y + n * c / 2, color=MUTED, sw=1.2)
    f.text(ax + n * c / 2, sy - 14, "A: (B, H, N, N)", size=12, fill=MUTED)
    f.text(ax + n * c / 2, sy + H * (n * c + 14) + 4, "softmax(Q K^T / √D_h)", size=12, fill=MUTED)
    # outputs (B, H, N, Dh)
    ox = ax + n * c + 50
    for k in range(H):
        y = sy + k * (n * c + 14)
        f.grid(ox, y, n, dh, c, fill=mix("#ffffff", SERIES[k], 0.95))
        f.arrow(ax + n * c + 6, y + n * c / 2, ox - 6, y + n * c / 2, color=MUTED, sw=1.2)
    f.text(ox + dh * c / 2, sy - 14, "A V: (B, H, N, D_h)", size=12, fill=MUTED)
    f.arrow(ox + dh * c + 12, y0 + 40, ox + dh * c + 100, y0 + 40)
    f.lines(ox + dh * c + 56, y0 + 76, ["rearrange", "b h n d", "→ b n (h d)"], size=11.5, fill=MUTED, raw=True)
    mx = ox + dh * c + 110
    f.grid(mx, y0, n, H * dh, c, fill=lambda i, j: mix("#ffffff", SERIES[j // dh], 0.95))
    f.text(mx + H * dh * c / 2, y0 - 30, "concat", size=15, weight="bold")
    f.text(mx + H * dh * c / 2, y0 - 12, "(B, N, D)", size=12, fill=MUTED)
    f.arrow(mx + H * dh * c + 8, y0 + 40, mx + H * dh * c + 52, y0 + 40)
    f.text(mx + H * dh * c + 30, y0 + 22, "W^O", size=13)
    f.text(
        500,
        392,
        "one D → 3D projection computes Q, K, V of all heads; the head axis then acts like a batch "
        "axis (one batched matmul)",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("03_grouped_conv")
def grouped_conv() -> str:
    """Grouped convolution and multi-head attention side by side: split, own weights, merge."""
    f = Figure(960, 360, display_width=860)
    for p, (title, unit, merge) in enumerate(
        [("grouped convolution", "own filter", "1×1 conv"), ("multi-head attention", "own A_i", "W^O")]
    ):
        x0 = 30 + p * 470
        f.text(x0 + 200, 26, title, size=16, weight="bold")
        g = 3
        f.text(x0 + 30, 60, "channels", size=12, fill=MUTED)
        for k in range(g):
            y = 80 + k * 80
            f.rect(x0, y, 60, 60, fill=mix("#ffffff", SERIES[k], 0.7), stroke=INK, sw=1, rx=0)
            f.text(x0 + 30, y + 30, f"group {k + 1}" if p == 0 else f"head {k + 1}", size=12)
            b = f.box(
                x0 + 110,
                y + 8,
                120,
                44,
                unit if p == 0 else f"A_{k + 1} V_{k + 1}",
                fill=mix("#ffffff", SERIES[k], 0.45),
                size=13,
            )
            f.arrow(x0 + 62, y + 30, b["l"] - 2, y + 30)
            f.arrow(b["r"] + 2, y + 30, x0 + 290, 190, color=MUTED, sw=1.2)
        m = f.box(x0 + 292, 160, 90, 60, merge, fill="#ffffff", sub="mixes groups")
        f.arrow(m["r"] + 2, 190, x0 + 420, 190)
        f.text(
            x0 + 200,
            335,
            "groups do not talk until the merge" if p == 0 else "heads do not talk until W^O",
            size=13,
            fill=MUTED,
        )
    f.line(480, 50, 480, 320, stroke="#c9ced4", sw=1)
    return f.svg()


@figure("03_two_relations")
def two_relations() -> str:
    """The task of section 5 needs two relations at once: previous and next token (cyclic)."""
    f = Figure(960, 330, display_width=860)
    n = 8
    xs = [60 + i * 70 for i in range(n)]
    for k, (name, off, y) in enumerate([("head 1: look left", -1, 90), ("head 2: look right", +1, 230)]):
        col = SERIES[k * 2]
        f.text(30, y - 62, name, size=15, anchor="start", weight="bold", fill=INK)
        for i, x in enumerate(xs):
            f.box(x - 22, y - 15, 44, 30, f"t_{i + 1}", fill="#ffffff", size=13)
        for i, x in enumerate(xs):
            j = (i + off) % n
            if abs(j - i) == 1:
                f.curve(x, y - 16, xs[j], y - 16, lift=22, color=col, sw=1.8, head=7)
        m = f.grid(
            660,
            y - 60,
            n,
            n,
            14,
            sw=0.5,
            fill=lambda r, c, off=off, col=col: heat(1.0 if c == (r + off) % n else 0.0, col),
        )
        f.text(m["cx"], m["b"] + 12, "ideal weights (N, N)", size=11, fill=MUTED)
        f.text(m["r"] + 10, m["cy"], "query ↓ key →", size=11, fill=MUTED, anchor="start", rotate=None)
    f.text(330, 305, "one softmax row cannot put all its weight on both neighbours: two heads can", size=13, fill=MUTED)
    return f.svg()
