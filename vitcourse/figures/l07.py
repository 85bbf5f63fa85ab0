"""Lecture 07 (cross-attention): two sources, key padding mask, encoder-decoder, learned queries pooling patches."""

from __future__ import annotations

from . import MUTED, PALETTE, SERIES, Figure, draw_photo, figure, fmt, heat, rng, softmax


@figure("07_cross_attention")
def cross_attention() -> str:
    """Queries from X_q, keys and values from X_kv; weights N_q x N_kv; one answer per query."""
    f = Figure(980, 420, display_width=880)
    nq, nkv, c = 3, 6, 22
    xq = f.matrix(30, 60, nq, 4, c, fill=PALETTE["query"], name="X_q (asks)", shape="(N_q, d)")
    xkv = f.matrix(30, 200, nkv, 5, c, fill=PALETTE["grey"], name="X_{kv} (is read)", shape="(N_{kv}, d_c)")
    q = f.matrix(250, 60, nq, 3, c, fill=PALETTE["query"], name="Q", shape="(N_q, d_k)")
    f.arrow(xq["r"] + 4, xq["cy"], q["l"] - 4, q["cy"])
    f.text((xq["r"] + q["l"]) / 2, xq["cy"] - 12, "W^Q", size=13)
    k = f.matrix(250, 200, nkv, 3, c, fill=PALETTE["key"], name="K", shape="(N_{kv}, d_k)")
    v = f.matrix(360, 200, nkv, 3, c, fill=PALETTE["value"], name="V", shape="(N_{kv}, d_v)")
    f.arrow(xkv["r"] + 4, xkv["cy"], k["l"] - 4, xkv["cy"])
    f.text((xkv["r"] + k["l"]) / 2, xkv["cy"] - 12, "W^K", size=13)
    f.elbow(
        [(xkv["r"] + 16, xkv["cy"]), (xkv["r"] + 16, xkv["b"] + 34), (v["cx"], xkv["b"] + 34), (v["cx"], v["b"] + 26)],
        color=MUTED,
        sw=1.2,
    )
    f.text(xkv["r"] + 60, xkv["b"] + 46, "W^V", size=13)
    r = rng(3)
    w = [softmax([r.gauss(0, 1.2) for _ in range(nkv)]) for _ in range(nq)]
    a = f.matrix(
        520,
        100,
        nq,
        nkv,
        c + 6,
        fill=lambda i, j: heat(w[i][j] * 1.6),
        values=lambda i, j: fmt(w[i][j], 2)[1:] if w[i][j] < 1 else "1",
        size=10,
        name="weights",
        shape="(N_q, N_{kv})",
    )
    f.arrow(q["r"] + 4, q["cy"], a["l"] - 6, a["cy"] - 10, color=MUTED, sw=1.2)
    f.arrow(k["r"] + 4, k["cy"], a["l"] - 6, a["cy"] + 10, color=MUTED, sw=1.2)
    f.text(a["cx"], a["t"] - 34, "softmax(Q K^T / √d_k)", size=12.5, fill=MUTED)
    o = f.matrix(820, 100, nq, 3, c + 6, fill=PALETTE["output"], name="output", shape="(N_q, d_v)")
    f.arrow(a["r"] + 6, a["cy"], o["l"] - 6, a["cy"], sw=1.8)
    f.arrow(v["r"] + 4, v["cy"], a["r"] + 40, a["cy"] + 6, color=MUTED, sw=1.2)
    f.text(a["r"] + 40, a["cy"] - 14, "· V", size=13)
    f.text(690, 300, "one row per query, one column per key: not square", size=13, fill=MUTED)
    f.text(690, 322, "one answer per query, whatever N_{kv} is", size=13, fill=MUTED)
    return f.svg()


@figure("07_key_padding_mask")
def key_padding_mask() -> str:
    """A batch of two contexts padded to one length; the key mask (True = real key) hides the padded keys' columns."""
    f = Figure(960, 300, display_width=860)
    lens, nkv, nq, c = [6, 4], 6, 3, 30
    for b, n in enumerate(lens):
        y = 60 + b * 60
        f.text(30, y + 15, f"context {b + 1}", size=13, anchor="start")
        f.grid(
            120,
            y,
            1,
            nkv,
            c,
            fill=lambda i, j, n=n: PALETTE["key"] if j < n else "#eceff1",
            values=lambda i, j, n=n: f"k_{j + 1}" if j < n else "pad",
            size=11,
        )
        f.grid(
            340,
            y,
            1,
            nkv,
            c,
            fill=lambda i, j, n=n: "#ffffff" if j < n else PALETTE["mask"],
            values=lambda i, j, n=n: "T" if j < n else "F",
            size=12,
        )
    f.text(210, 40, "keys, padded to N_{kv} = 6", size=13, weight="bold")
    f.text(430, 40, "key_mask (B, N_kv)", size=13, weight="bold", raw=True)
    f.text(430, 196, "True = real key, may attend (the course's convention)", size=12, fill=MUTED)
    n = lens[1]
    r = rng(5)
    s = [[r.gauss(0, 1) for _ in range(n)] for _ in range(nq)]
    w = [softmax(row) + [0.0] * (nkv - n) for row in s]
    x0 = 620
    f.text(x0 + nkv * c / 2, 40, "context 2: scores → weights", size=13, weight="bold")
    f.grid(
        x0,
        60,
        nq,
        nkv,
        c,
        fill=lambda i, j: heat(w[i][j] * 1.5) if j < n else PALETTE["mask"],
        values=lambda i, j: fmt(w[i][j], 2)[1:] if j < n else "−∞",
        size=10,
    )
    f.text(x0 + nkv * c / 2, 60 + nq * c + 16, "masked columns get weight 0", size=12, fill=MUTED)
    f.text(x0 - 10, 60 + nq * c / 2, "queries", size=12, fill=MUTED, anchor="end")
    f.text(
        480,
        240,
        "the mask acts on the key side only: a padded query still gets an answer, and the loss",
        size=13,
        fill=MUTED,
    )
    f.text(480, 262, "ignores it; the padding content can no longer change any output", size=13, fill=MUTED)
    return f.svg()


@figure("07_encoder_decoder")
def encoder_decoder() -> str:
    """The original Transformer: the decoder's cross-attention reads the encoder's memory."""
    f = Figure(960, 470, display_width=820)
    # encoder
    ex = 90
    f.text(ex + 90, 24, "encoder (× N)", size=15, weight="bold")
    f.rect(ex - 10, 40, 200, 250, fill="none", stroke=MUTED, sw=1.2, rx=10, dash="6 4")
    a = f.box(ex, 210, 180, 50, "self-attention", fill=PALETTE["attn"], sub="+ residual, LN")
    m = f.box(ex, 110, 180, 50, "MLP", fill=PALETTE["mlp"], sub="+ residual, LN")
    f.arrow(ex + 90, 330, ex + 90, a["b"] + 2)
    f.arrow(ex + 90, a["t"], ex + 90, m["b"] + 2)
    f.box(ex + 20, 330, 140, 40, "source tokens", fill=PALETTE["grey"], size=13)
    mem = f.box(ex + 20, 300 - 290 + 0, 0, 0, "", fill="none", stroke=None)
    del mem
    f.arrow(ex + 90, m["t"], ex + 90, 60)
    f.text(ex + 90, 50, "memory (N_{src}, D)", size=13, weight="bold")
    # decoder
    dx = 560
    f.text(dx + 110, 24, "decoder block (× N)", size=15, weight="bold")
    f.rect(dx - 10, 40, 240, 360, fill="none", stroke=MUTED, sw=1.2, rx=10, dash="6 4")
    s = f.box(dx, 320, 220, 56, "masked self-attention", fill=PALETTE["attn"], sub="causal mask; + residual, LN")
    cr = f.box(dx, 200, 220, 56, "cross-attention", fill=PALETTE["weight"], sub="Q: decoder; K, V: memory")
    ml = f.box(dx, 80, 220, 56, "MLP", fill=PALETTE["mlp"], sub="+ residual, LN")
    f.box(dx + 40, 420, 140, 36, "target so far", fill=PALETTE["grey"], size=13)
    f.arrow(dx + 110, 420, dx + 110, s["b"] + 2)
    f.arrow(dx + 110, s["t"], dx + 110, cr["b"] + 2)
    f.text(dx + 120, 282, "Q", size=13, anchor="start", weight="bold")
    f.arrow(dx + 110, cr["t"], dx + 110, ml["b"] + 2)
    f.arrow(dx + 110, ml["t"], dx + 110, 30)
    f.elbow([(ex + 90, 60), (ex + 90, 60), (380, 60), (380, 228), (cr["l"] - 2, 228)], color="#b3261e", sw=2.2)
    f.text(390, 214, "K, V", size=13, anchor="start", weight="bold", fill="#b3261e")
    f.text(470, 254, "padding mask", size=12, fill=MUTED)
    f.text(470, 270, "over the memory", size=12, fill=MUTED)
    f.text(300, 440, "post-norm, as in the paper (and DETR)", size=12.5, fill=MUTED)
    return f.svg()


@figure("07_attention_pooling")
def attention_pooling() -> str:
    """Learned queries read any number of patches and return a fixed number of answers."""
    f = Figure(960, 380, display_width=860)
    ph = draw_photo(f, 40, 60, 208, grid_patch=4)
    f.text(ph["cx"], 40, "image → N patch tokens (+ 2D positions)", size=13, weight="bold")
    f.text(ph["cx"], ph["b"] + 18, "N = 16 here; any N works", size=12, fill=MUTED)
    qs = [
        ('query 1: "a roof? where?"', SERIES[3]),
        ('query 2: "a tree? where?"', SERIES[2]),
        ('query 3: "the sun? where?"', SERIES[6]),
    ]
    targets = [(0.9, 1.5), (2.0, 0.2), (0.1, 3.2)]
    for k, ((lab, col), (tr, tc)) in enumerate(zip(qs, targets)):
        y = 80 + k * 90
        b = f.box(560, y, 210, 44, lab, fill=col, size=12.5)
        # attention from the query to patches: weight falls with distance to the target patch
        scores = [-((r + 0.5 - tr - 0.5) ** 2 + (c + 0.5 - tc - 0.5) ** 2) * 1.6 for r in range(4) for c in range(4)]
        w = softmax(scores)
        for i, a in enumerate(w):
            if a > 0.08:
                r, c = divmod(i, 4)
                f.line(
                    b["l"], b["cy"], 40 + (c + 0.5) * 52, 60 + (r + 0.5) * 52, stroke=col, sw=0.6 + 6 * a, opacity=0.85
                )
        f.arrow(b["r"] + 4, b["cy"], b["r"] + 50, b["cy"], sw=1.4)
        f.box(b["r"] + 54, y + 6, 120, 32, f"answer {k + 1}", fill=PALETTE["output"], size=12.5)
    f.text(665, 40, "Q learned vectors (the same for every image)", size=13, weight="bold")
    f.text(
        480,
        350,
        "cross-attention from Q queries to N patches: (Q, N) weights → exactly Q answers "
        "(attention pooling; DETR's decoder)",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()
