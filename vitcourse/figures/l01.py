"""Lecture 01 (attention): soft look-up, dot product, softmax temperature, the formula, masks."""

from __future__ import annotations

import math

from . import INK, MUTED, PALETTE, SERIES, Figure, figure, fmt, heat, rng, softmax

# The lecture's own example (notebooks/01_attention.ipynb, section 1).
NAMES = ["cat", "dog", "car", "bus"]
KEYS = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]  # [furry, barks, wheels, big]
VALUES = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]  # [meow, woof, engine]
QUERY = [3, -1, 0, 0]


def _p(v) -> str:
    return f"({fmt(v)})" if v < 0 else fmt(v)


def _vec(v) -> str:
    return "[" + ", ".join(fmt(x) for x in v) + "]"


@figure("01_soft_lookup")
def soft_lookup() -> str:
    """The query compared with every key, scores, softmax weights, weighted sum of the values."""
    f = Figure(960, 400, display_width=860)
    scores = [sum(q * k for q, k in zip(QUERY, key)) for key in KEYS]
    w = softmax(scores)
    out = [sum(w[j] * VALUES[j][i] for j in range(4)) for i in range(3)]
    ys = [95, 160, 225, 290]
    q = f.box(20, 160, 150, 64, "query q", fill=PALETTE["query"], sub=_vec(QUERY))
    f.text(95, 240, "small, furry, no bark", size=12, fill=MUTED)
    f.text(300, 40, "keys k_j", size=14, weight="bold")
    f.text(455, 40, "score q·k_j", size=14, weight="bold")
    f.text(605, 40, "weight a_j", size=14, weight="bold")
    f.text(752, 40, "values v_j", size=14, weight="bold")
    f.text(300, 58, "[furry, barks, wheels, big]", size=11, fill=MUTED)
    f.text(752, 58, "[meow, woof, engine]", size=11, fill=MUTED)
    for j, y in enumerate(ys):
        k = f.box(230, y - 22, 140, 44, f"{NAMES[j]} {_vec(KEYS[j])}", fill=PALETTE["key"], size=13)
        f.arrow(q["r"], q["cy"], k["l"] - 2, k["cy"], color=MUTED, sw=1.2)
        s = f.box(425, y - 18, 60, 36, fmt(scores[j]), fill="#ffffff", size=15)
        f.arrow(k["r"] + 2, y, s["l"] - 2, y, color=MUTED, sw=1.2)
        bw = 110 * w[j]
        f.rect(550, y - 12, 110, 24, fill="#ffffff", stroke=MUTED, sw=0.8, rx=2)
        f.rect(550, y - 12, bw, 24, fill=PALETTE["weight"], stroke=INK, sw=0.8, rx=2)
        f.text(667, y, fmt(w[j], 3), size=13, anchor="start")
        f.arrow(s["r"] + 2, y, 546, y, color=MUTED, sw=1.2)
        f.box(712, y - 18, 80, 36, _vec(VALUES[j]), fill=PALETTE["value"], size=13)
    f.text(520, 330, "softmax", size=13, fill=MUTED)
    f.brace(550, 330, 660, "", down=False)
    f.text(605, 346, "≥ 0, sum to 1", size=12, fill=MUTED)
    o = f.box(830, 160, 110, 64, "output", fill=PALETTE["output"], sub=_vec([round(v, 2) for v in out]))
    f.text(885, 240, "Σ_j a_j v_j", size=13)
    for y in ys:
        f.arrow(794, y, o["l"] - 2, o["cy"], color=MUTED, sw=1.0)
    f.text(
        480,
        382,
        'mostly "meow", some "woof": a kitten matches no key exactly and still gets an answer',
        size=13,
        fill=MUTED,
    )
    return f.svg()


@figure("01_dot_product")
def dot_product() -> str:
    """Three keys against one query in 2D: same direction scores high, orthogonal 0, opposite negative."""
    f = Figure(900, 360, display_width=780)
    q = (1.0, 0.35)
    keys = [
        ("k_1: same way", (0.9, 0.45), SERIES[2]),
        ("k_2: orthogonal", (-0.35, 1.0), SERIES[1]),
        ("k_3: opposite", (-1.0, -0.3), SERIES[3]),
    ]
    ox, oy, sc = 200, 190, 130
    f.line(ox - 170, oy, ox + 170, oy, stroke="#c9ced4", sw=1)
    f.line(ox, oy - 160, ox, oy + 160, stroke="#c9ced4", sw=1)
    f.arrow(ox, oy, ox + q[0] * sc, oy - q[1] * sc, color="#2f6fb0", sw=3)
    f.text(ox + q[0] * sc + 12, oy - q[1] * sc - 4, "q", size=17, weight="bold", anchor="start", fill="#2f6fb0")
    rows = []
    for label, k, color in keys:
        f.arrow(ox, oy, ox + k[0] * sc, oy - k[1] * sc, color=color, sw=2.4)
        f.text(ox + k[0] * sc * 1.13, oy - k[1] * sc * 1.13 - 6, label.split(":")[0], size=15, fill=INK)
        rows.append((label, k, q[0] * k[0] + q[1] * k[1], color))
    x0 = 430
    f.text(x0, 40, "score s_j = q · k_j = Σ_i q_i k_{j,i}", size=16, anchor="start")
    for i, (label, k, s, color) in enumerate(rows):
        y = 100 + i * 75
        f.rect(x0, y - 16, 14, 32, fill=color, stroke=None, rx=2)
        f.text(x0 + 24, y - 9, label, size=14, anchor="start")
        f.text(
            x0 + 24,
            y + 12,
            f"q·k = {_p(q[0])}·{_p(k[0])} + {_p(q[1])}·{_p(k[1])} = {fmt(s, 2)}",
            size=13,
            anchor="start",
            fill=MUTED,
            mono=True,
        )
    f.text(x0, 320, "scores are any real numbers: not yet weights", size=14, anchor="start", fill=MUTED)
    return f.svg()


@figure("01_softmax_temperature")
def softmax_temperature() -> str:
    """softmax(s / tau) of the lecture's scores for three temperatures."""
    f = Figure(960, 330, display_width=860)
    scores = [3.0, 2.0, 0.0, 0.0]
    taus = [0.25, 1.0, 4.0]
    notes = ["peaked: close to a hard look-up", "the lecture's weights", "flat: close to a plain average"]
    f.text(30, 30, f"scores s = {_vec(scores)} (cat, dog, car, bus)", size=15, anchor="start")
    for i, tau in enumerate(taus):
        x = 40 + i * 310
        w = softmax(scores, tau)
        f.bars(x, 80, 250, 170, w, vmax=1.0, labels=NAMES, colors=[SERIES[0]] * 4, fmt_nd=2)
        f.text(x + 125, 66, f"τ = {fmt(tau)}", size=16, weight="bold")
        f.text(x + 125, 290, notes[i], size=13, fill=MUTED)
    f.text(480, 316, "a_j = exp(s_j / τ) / Σ_l exp(s_l / τ): every bar ≥ 0, each panel sums to 1", size=13, fill=MUTED)
    return f.svg()


@figure("01_qkv_pipeline")
def qkv_pipeline() -> str:
    """softmax(Q K^T / sqrt(d_k)) V as matrices with their shapes."""
    f = Figure(1000, 300, display_width=900)
    r = rng(1)
    nq, nk, dk, dv, c = 3, 5, 4, 3, 24
    scores = [[r.gauss(0, 1.6) for _ in range(nk)] for _ in range(nq)]
    a = [softmax(row, math.sqrt(dk) / 2) for row in scores]
    y = 90
    Q = f.matrix(30, y, nq, dk, c, fill=PALETTE["query"], name="Q", shape="(N_q, d_k)")
    f.text(Q["r"] + 22, Q["cy"], "×", size=22)
    KT = f.matrix(Q["r"] + 44, y - 12, dk, nk, c, fill=PALETTE["key"], name="K^T", shape="(d_k, N_k)")
    f.text(KT["r"] + 22, Q["cy"], "=", size=22)
    S = f.matrix(
        KT["r"] + 44,
        y,
        nq,
        nk,
        c,
        fill=lambda i, j: heat((scores[i][j] + 3) / 8, "#8a8f96"),
        name="scores",
        shape="(N_q, N_k)",
    )
    f.arrow(S["r"] + 10, S["cy"], S["r"] + 130, S["cy"], sw=1.8)
    f.lines(S["r"] + 70, S["cy"] - 30, ["÷ √d_k,", "softmax", "per row"], size=13, fill=MUTED)
    A = f.matrix(
        S["r"] + 140,
        y,
        nq,
        nk,
        c,
        fill=lambda i, j: heat(a[i][j]),
        name="weights A",
        values=lambda i, j: fmt(a[i][j], 1)[1:] if a[i][j] < 1 else "1",
        size=9.5,
        shape="(N_q, N_k)",
    )
    for i in range(nq):
        f.text(A["r"] + 6, y + (i + 0.5) * c, "Σ=1", size=10, anchor="start", fill=MUTED)
    f.text(A["r"] + 52, Q["cy"], "×", size=22)
    V = f.matrix(A["r"] + 74, y - 24, nk, dv, c, fill=PALETTE["value"], name="V", shape="(N_k, d_v)")
    f.text(V["r"] + 22, Q["cy"], "=", size=22)
    f.matrix(V["r"] + 44, y, nq, dv, c, fill=PALETTE["output"], name="output", shape="(N_q, d_v)")
    f.text(500, 240, "Attention(Q, K, V) = softmax(Q K^T / √d_k) V", size=17)
    f.text(
        500,
        272,
        "one row per query, one column per key; each output row is a weighted sum of the rows of V",
        size=13,
        fill=MUTED,
    )
    return f.svg()


@figure("01_masks")
def masks() -> str:
    """Padding and causal masks as grids: -inf before the softmax, zeros after; a fully masked row."""
    f = Figure(980, 470, display_width=880)
    n, c = 5, 30
    r = rng(4)
    scores = [[r.gauss(0, 1) for _ in range(n)] for _ in range(n)]
    real = [True, True, True, False, False]
    kinds = [("padding mask", lambda i, j: real[j]), ("causal mask", lambda i, j: j <= i)]
    for p, (name, allowed) in enumerate(kinds):
        x0 = 40 + p * 480
        w = []
        for i in range(n):
            row = [scores[i][j] if allowed(i, j) else -math.inf for j in range(n)]
            m = max(v for v in row)
            e = [math.exp(v - m) if v != -math.inf else 0.0 for v in row]
            w.append([v / sum(e) for v in e])
        f.text(x0 + 200, 30, name, size=16, weight="bold")
        M = f.grid(
            x0 + 20,
            70,
            n,
            n,
            c,
            fill=lambda i, j, ok=allowed: "#ffffff" if ok(i, j) else PALETTE["mask"],
            values=lambda i, j, ok=allowed: "" if ok(i, j) else "−∞",
            size=11,
        )
        f.text(M["cx"], 56, "key j →", size=12, fill=MUTED)
        f.text(x0 + 6, M["cy"], "query i →", size=12, fill=MUTED, rotate=-90)
        f.text(M["cx"], M["b"] + 16, "scores + mask", size=13, fill=MUTED)
        f.arrow(M["r"] + 10, M["cy"], M["r"] + 80, M["cy"], sw=1.8)
        f.text(M["r"] + 45, M["cy"] - 14, "softmax", size=12, fill=MUTED)
        W = f.grid(
            M["r"] + 90,
            70,
            n,
            n,
            c,
            fill=lambda i, j, w=w: heat(w[i][j]),
            values=lambda i, j, w=w: "0" if w[i][j] == 0 else fmt(w[i][j], 1).lstrip("0") or "0",
            size=10,
        )
        f.text(W["cx"], W["b"] + 16, "weights (rows sum to 1)", size=13, fill=MUTED)
        if p == 0:
            f.text(M["cx"] + c * 1, M["b"] + 36, "keys 3, 4 are padding", size=12, fill=MUTED)
        else:
            f.text(M["cx"], M["b"] + 36, "no peeking at the future", size=12, fill=MUTED)
    y = 330
    f.text(40, y, "a fully masked row:", size=14, anchor="start", weight="bold")
    R = f.grid(40, y + 25, 1, n, c, fill=PALETTE["mask"], values=lambda i, j: "−∞", size=11)
    f.arrow(R["r"] + 10, R["cy"], R["r"] + 80, R["cy"], sw=1.8)
    f.text(R["r"] + 45, R["cy"] - 14, "softmax", size=12, fill=MUTED)
    f.grid(R["r"] + 90, y + 25, 1, n, c, fill="#fde2e2", values=lambda i, j: "NaN", size=9.5)
    f.text(
        R["r"] + 90 + n * c + 14,
        R["cy"],
        "0 / 0: spreads through every later layer",
        size=13,
        anchor="start",
        fill=MUTED,
    )
    R2 = f.grid(40, y + 80, 1, n, c, fill=PALETTE["mask"], values=lambda i, j: "−∞", size=11)
    f.arrow(R2["r"] + 10, R2["cy"], R2["r"] + 80, R2["cy"], sw=1.8)
    f.text(R2["r"] + 45, R2["cy"] - 14, "vitcourse", size=12, fill=MUTED)
    f.grid(R2["r"] + 90, y + 80, 1, n, c, fill="#ffffff", values=lambda i, j: "0", size=11)
    f.text(
        R2["r"] + 90 + n * c + 14,
        R2["cy"],
        "the package (like F.scaled_dot_product_attention) returns zeros",
        size=13,
        anchor="start",
        fill=MUTED,
        raw=True,
    )
    return f.svg()
