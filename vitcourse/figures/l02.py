"""Lecture 02 (self-attention): projections, 'it' attends, (B, N, D) shapes, permutation, RNN vs attention."""

from __future__ import annotations

from . import INK, MUTED, PALETTE, SERIES, Figure, figure, fmt, heat, softmax


@figure("02_qkv_projections")
def qkv_projections() -> str:
    """One sequence X, three learned projections, the attention formula, Y of the same shape."""
    f = Figure(960, 400, display_width=860)
    n, d, c = 5, 4, 22
    X = f.matrix(30, 130, n, d, c, fill=lambda i, j: SERIES[i], name="X", shape="(N, D)")
    roles = [("W_q", "Q", PALETTE["query"], 40), ("W_k", "K", PALETTE["key"], 155), ("W_v", "V", PALETTE["value"], 270)]
    for w, name, col, y in roles:
        b = f.box(200, y, 90, 50, w, fill="#ffffff", sub="(D, d_k)" if w != "W_v" else "(D, d_v)")
        f.elbow([(X["r"] + 4, X["cy"]), (160, X["cy"]), (160, y + 25), (b["l"] - 2, y + 25)], color=MUTED, sw=1.4)
        M = f.matrix(340, y + 25 - n * c / 2 + 6, n, 3, 18, fill=col, name=None, cell_h=c * 0.8, outline=1.2)
        f.text(M["cx"], M["t"] - 10, name, size=15, weight="bold")
        f.arrow(b["r"] + 2, y + 25, M["l"] - 4, y + 25, color=MUTED, sw=1.4)
        f.arrow(M["r"] + 4, y + 25, 470, 180, color=MUTED, sw=1.2)
    A = f.box(472, 140, 230, 80, "softmax(Q K^T / √d_k) V", fill=PALETTE["weight"], sub="scores (N, N): all pairs")
    Y = f.matrix(780, 130, n, d, c, fill=lambda i, j: heat(0.25 + 0.12 * ((i * 3 + j) % 5)), name="Y", shape="(N, D)")
    f.arrow(A["r"] + 4, A["cy"], Y["l"] - 6, A["cy"], sw=1.8)
    f.text(480, 362, "same input, three different projections: what a token looks for (Q),", size=13, fill=MUTED)
    f.text(480, 382, "what it advertises (K) and what it passes on (V)", size=13, fill=MUTED)
    return f.svg()


def _sentence(f: Figure, y: float, words: list[str], source: int, weights: list[float], color: str) -> None:
    xs, x = [], 40.0
    for w in words:
        width = 14 + 8.6 * len(w)
        xs.append(x + width / 2)
        f.box(
            x,
            y,
            width,
            34,
            w,
            fill=PALETTE["key"] if w in ("animal", "street") else "#ffffff",
            size=14,
            stroke=INK if w != words[source] else "#b3261e",
            sw=1.2 if w != words[source] else 2.4,
        )
        x += width + 8
    for j, a in enumerate(weights):
        if j == source or a < 0.02:
            continue
        lift = 24 + 0.22 * abs(xs[source] - xs[j])
        f.curve(
            xs[source],
            y - 1,
            xs[j],
            y - 2,
            lift=lift,
            color=color,
            sw=0.6 + 8 * a,
            head=6 + 6 * a,
            opacity=0.45 + 0.55 * a,
        )
        if a > 0.3:
            f.text((xs[source] + xs[j]) / 2, y - 2 - lift / 2 - 14, fmt(a, 2), size=13, weight="bold", fill=color)


@figure("02_it_attends")
def it_attends() -> str:
    """'it' attends to 'animal' or 'street' depending on its query (schematic weights)."""
    f = Figure(960, 360, display_width=860)
    s1 = "The animal didn't cross the street because it was too tired".split()
    s2 = s1[:-1] + ["wide"]
    it = s1.index("it")
    # schematic scores of the query of 'it' against each key: high for the noun that fits the predicate
    for k, (words, noun, y) in enumerate([(s1, "animal", 120), (s2, "street", 280)]):
        scores = [3.2 if w == noun else (0.9 if w in ("animal", "street") else 0.0) for w in words]
        scores[it] = 0.5
        w = softmax(scores)
        _sentence(f, y, words, it, w, "#b3261e" if k == 0 else "#2f6fb0")
        f.text(930, y + 17, f"→ it = {noun}", size=14, anchor="end", weight="bold")
    f.text(
        480,
        340,
        'arrow width = attention weight of the query of "it" (schematic; the lecture computes the real map)',
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("02_batch_shapes")
def batch_shapes() -> str:
    """(B, N, D) -> Q, K, V (B, N, d_k) -> scores (B, N, N) -> Y (B, N, D) as stacks of sheets."""
    f = Figure(960, 300, display_width=860)

    def stack(x, y, rows, cols, cell, fill, name, shape, b=3):
        for k in range(b - 1, -1, -1):
            g = f.grid(x + 10 * k, y - 10 * k, rows, cols, cell, fill=fill if k == 0 else "#eef0f2", sw=0.6)
        f.text(g["cx"] + 10, y - 10 * (b - 1) - 14, name, size=15, weight="bold")
        f.text(g["cx"] + 10, g["b"] + 16, shape, size=13, fill=MUTED)
        return g

    a = stack(30, 110, 6, 4, 20, PALETTE["grey"], "X", "(B, N, D)")
    f.arrow(a["r"] + 30, a["cy"], a["r"] + 80, a["cy"])
    f.text(a["r"] + 55, a["cy"] - 16, "W_q, W_k, W_v", size=12, fill=MUTED)
    b = stack(a["r"] + 95, 110, 6, 3, 20, PALETTE["query"], "Q, K, V", "(B, N, d_k)")
    f.arrow(b["r"] + 30, b["cy"], b["r"] + 80, b["cy"])
    f.text(b["r"] + 55, b["cy"] - 16, "Q K^T", size=12, fill=MUTED)
    c = stack(
        b["r"] + 95,
        110,
        6,
        6,
        20,
        lambda i, j: heat(0.9 if i == j else 0.15 + 0.1 * ((i + j) % 3)),
        "scores, weights",
        "(B, N, N)",
    )
    f.arrow(c["r"] + 30, c["cy"], c["r"] + 80, c["cy"])
    f.text(c["r"] + 55, c["cy"] - 16, "· V", size=12, fill=MUTED)
    stack(c["r"] + 95, 110, 6, 4, 20, PALETTE["output"], "Y", "(B, N, D)")
    f.text(
        480,
        280,
        "B sequences at once, batch first; every token against every token of its own sequence",
        size=13,
        fill=MUTED,
    )
    return f.svg()


@figure("02_permutation")
def permutation() -> str:
    """f(PX) = P f(X): shuffling the input rows shuffles the output rows the same way."""
    f = Figure(900, 330, display_width=780)
    labels = ["a", "b", "c", "d"]
    perm = [2, 0, 3, 1]

    def column(x, y, order, prime):
        for i, k in enumerate(order):
            f.box(x, y + i * 40, 90, 34, f"{labels[k]}{'′' if prime else ''}", fill=SERIES[k], size=15)

    for row, (order, tag) in enumerate([([0, 1, 2, 3], "X"), (perm, "P X")]):
        y = 40 + row * 0
        x0 = 60 + row * 430
        f.text(x0 + 45, 28, tag, size=16, weight="bold")
        column(x0, y + 20, order, False)
        b = f.box(x0 + 125, y + 80, 110, 50, "self-attn", fill=PALETTE["weight"], sub="same weights")
        f.arrow(x0 + 94, y + 105, b["l"] - 3, b["cy"])
        f.arrow(b["r"] + 3, b["cy"], x0 + 266, y + 105)
        column(x0 + 270, y + 20, order, True)
        f.text(x0 + 315, 28, "f(X)" if row == 0 else "f(P X) = P f(X)", size=16, weight="bold")
    f.text(
        450,
        260,
        "the same output vectors come out, in the permuted order: no output depends on where a token",
        size=13,
        fill=MUTED,
    )
    f.text(450, 282, 'stands, so "dog bites man" and "man bites dog" give the same vector for dog', size=13, fill=MUTED)
    f.text(450, 310, "→ order must be added (positional encoding, lecture 04)", size=14)
    return f.svg()


@figure("02_rnn_vs_attention")
def rnn_vs_attention() -> str:
    """An RNN's chain of N sequential steps vs self-attention's one step between every pair."""
    f = Figure(960, 390, display_width=860)
    n = 6
    f.text(30, 30, "RNN: h_t = tanh(W x_t + U h_{t-1})", size=15, anchor="start", weight="bold")
    xs = [110 + i * 140 for i in range(n)]
    for i, x in enumerate(xs):
        f.box(x - 30, 120, 60, 30, f"x_{i + 1}" if i < n - 1 else "x_N", fill=PALETTE["grey"], size=14)
        f.box(x - 30, 60, 60, 34, f"h_{i + 1}" if i < n - 1 else "h_N", fill=PALETTE["query"], size=14)
        f.arrow(x, 118, x, 96, sw=1.4)
        if i:
            f.arrow(xs[i - 1] + 32, 77, x - 32, 77, color="#b3261e" if True else INK, sw=1.8)
    f.text(
        480, 172, "x_1 reaches h_N only through N − 1 multiplications by U, one step after another", size=13, fill=MUTED
    )
    f.text(30, 215, "self-attention: every token reads every token in one step", size=15, anchor="start", weight="bold")
    for i, x in enumerate(xs):
        f.box(x - 30, 340, 60, 30, f"x_{i + 1}" if i < n - 1 else "x_N", fill=PALETTE["grey"], size=14)
        f.box(x - 30, 250, 60, 34, f"y_{i + 1}" if i < n - 1 else "y_N", fill=PALETTE["output"], size=14)
    for i, x in enumerate(xs):
        for j, x2 in enumerate(xs):
            strong = i == 0 and j == n - 1
            f.line(x, 338, x2, 286, stroke="#b3261e" if strong else "#aab1b9", sw=2.2 if strong else 0.8)
    return f.svg()
