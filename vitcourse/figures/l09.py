"""Lecture 09 (DETR): two-stage vs set prediction, GIoU, the Hungarian cost matrix, set vs naive loss, pipeline."""

from __future__ import annotations

import itertools

from . import INK, MUTED, PALETTE, SERIES, Figure, figure, fmt, heat


@figure("09_two_stage_vs_set")
def two_stage_vs_set() -> str:
    """Faster R-CNN's proposals -> classify -> NMS, against DETR's fixed set of N predictions."""
    f = Figure(960, 350, display_width=860)
    f.text(30, 30, "two-stage detector", size=15, anchor="start", weight="bold")
    steps = [
        ("image", PALETTE["grey"]),
        ("thousands of region proposals / anchors", PALETTE["key"]),
        ("classify + refine each", PALETTE["attn"]),
        ("NMS removes duplicates", PALETTE["mask"]),
        ("boxes", PALETTE["output"]),
    ]
    x = 30
    widths = [80, 250, 170, 190, 80]
    for (lab, col), w in zip(steps, widths):
        b = f.box(x, 55, w, 46, lab, fill=col, size=13)
        if x > 30:
            f.arrow(x - 28, 78, x - 2, 78)
        x = b["r"] + 30
    f.text(30, 150, "DETR: a set of exactly N predictions in one forward pass", size=15, anchor="start", weight="bold")
    b1 = f.box(30, 175, 80, 46, "image", fill=PALETTE["grey"], size=13)
    b2 = f.box(140, 175, 220, 46, "CNN + transformer", fill=PALETTE["attn"], size=13)
    f.arrow(b1["r"] + 2, 198, b2["l"] - 2, 198)
    labels = ["square", "∅", "circle", "∅", "triangle", "∅", "∅", "square"]
    for i, lab in enumerate(labels):
        y = 150 + i * 21
        f.box(420, y, 120, 18, f"{i + 1}: {lab}", fill=PALETTE["output"] if lab != "∅" else "#eceff1", size=11, rx=3)
    f.arrow(b2["r"] + 2, 198, 416, 198)
    f.text(480, 338, "N = 8 drawn (100 in the paper)", size=11.5, fill=MUTED)
    f.lines(
        570,
        220,
        [
            "no proposals, no anchors, no NMS:",
            "a prediction without an object says ∅",
            '("no object"); the set loss pairs each object',
            "with one prediction",
        ],
        size=13,
        anchor="start",
        fill=MUTED,
    )
    return f.svg()


def _xyxy(cx, cy, w, h):
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _iou_giou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    c = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    iou = inter / area
    return iou, iou - (c - area) / c


@figure("09_giou")
def giou() -> str:
    """IoU is 0 for every disjoint pair; GIoU subtracts the empty part of the enclosing box C."""
    f = Figure(960, 330, display_width=860)
    cases = [
        ("overlapping", (0.30, 0.30, 0.36, 0.36), (0.52, 0.50, 0.36, 0.36)),
        ("disjoint, near", (0.28, 0.35, 0.3, 0.3), (0.70, 0.55, 0.3, 0.3)),
        ("disjoint, far", (0.18, 0.2, 0.22, 0.22), (0.86, 0.82, 0.22, 0.22)),
    ]
    for k, (name, A, B) in enumerate(cases):
        x0, y0, s = 40 + k * 310, 50, 220
        a, b = _xyxy(*A), _xyxy(*B)
        iou, g = _iou_giou(a, b)
        cx0, cy0, cx1, cy1 = min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
        f.rect(x0, y0, s, s, fill="#ffffff", stroke="#c9ced4", sw=1, rx=0)
        f.rect(
            x0 + cx0 * s,
            y0 + cy0 * s,
            (cx1 - cx0) * s,
            (cy1 - cy0) * s,
            fill="#f3e3a3",
            stroke=INK,
            sw=1.2,
            rx=0,
            dash="5 3",
            opacity=0.6,
        )
        for box, col, lab in [(a, SERIES[0], "A"), (b, SERIES[1], "B")]:
            f.rect(
                x0 + box[0] * s,
                y0 + box[1] * s,
                (box[2] - box[0]) * s,
                (box[3] - box[1]) * s,
                fill=col,
                stroke=INK,
                sw=1.4,
                rx=0,
                opacity=0.55,
            )
            f.text(x0 + box[0] * s + 10, y0 + box[1] * s + 12, lab, size=13, weight="bold")
        f.text(x0 + s / 2, 32, name, size=14, weight="bold")
        f.text(x0 + s / 2, y0 + s + 20, f"IoU = {fmt(iou, 2)}   GIoU = {fmt(g, 2)}", size=14)
    f.text(
        480,
        318,
        "dashed: the smallest enclosing box C; GIoU = IoU − |C ∖ (A ∪ B)| / |C| keeps a gradient "
        "when the boxes do not overlap",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


# A small, readable cost matrix (rows: predictions, columns: objects); the lecture builds its own with the
# class + L1 + GIoU cost, this one is drawn for the picture.
COST = [
    [2.9, 0.4, 3.1, 2.6],
    [0.6, 2.7, 2.2, 3.0],
    [3.2, 2.9, 0.9, 2.4],
    [2.4, 3.3, 2.6, 0.7],
    [1.9, 2.1, 2.0, 2.2],
    [2.8, 1.2, 2.5, 1.9],
]


def best_assignment(cost):
    """The cheapest one-to-one assignment of columns (objects) to rows (predictions), by brute force."""
    n_rows, n_cols = len(cost), len(cost[0])
    best = None
    for rows in itertools.permutations(range(n_rows), n_cols):
        total = sum(cost[r][c] for c, r in enumerate(rows))
        if best is None or total < best[0] - 1e-12:
            best = (total, rows)
    return best


@figure("09_hungarian_cost")
def hungarian_cost() -> str:
    """A 6 predictions x 4 objects cost matrix with the cheapest one-to-one assignment marked."""
    f = Figure(960, 380, display_width=860)
    total, rows = best_assignment(COST)
    chosen = {(r, c) for c, r in enumerate(rows)}
    lo, hi = 0.3, 3.4
    x0, y0, c = 150, 70, 56
    g = f.grid(
        x0,
        y0,
        6,
        4,
        c,
        fill=lambda i, j: heat(1 - (COST[i][j] - lo) / (hi - lo), "#7a8a9a"),
        values=lambda i, j: fmt(COST[i][j], 1),
        size=15,
        cell_h=40,
    )
    for i, j in sorted(chosen):
        f.rect(x0 + j * c + 3, y0 + i * 40 + 3, c - 6, 34, stroke="#b3261e", sw=3, rx=4)
    objs = ["square", "circle", "triangle", "square"]
    for j in range(4):
        f.text(x0 + (j + 0.5) * c, y0 - 26, f"object {j + 1}", size=11.5)
        f.text(x0 + (j + 0.5) * c, y0 - 11, objs[j], size=11, fill=MUTED)
    for i in range(6):
        f.text(x0 - 12, y0 + i * 40 + 20, f"prediction {i + 1}", size=12, anchor="end")
        if i not in rows:
            f.text(g["r"] + 12, y0 + i * 40 + 20, "→ ∅ (no object)", size=12, anchor="start", fill=MUTED)
    f.text(g["cx"], g["b"] + 22, f"chosen cells: total cost {fmt(total, 1)}", size=13)
    tx = 520
    f.lines(tx, 130, ["C = −λ_{cls} p̂(c) + λ_{L1} ‖b̂ − b‖_1 − λ_{giou} GIoU", ""], size=13.5, anchor="start")
    f.lines(
        tx,
        190,
        [
            "each object gets exactly one prediction,",
            "each prediction at most one object;",
            "the other predictions learn ∅",
        ],
        size=13,
        anchor="start",
        fill=MUTED,
    )
    f.lines(
        tx,
        255,
        ["the Hungarian algorithm finds the cheapest such", "assignment in O(N³):"],
        size=13,
        anchor="start",
        fill=MUTED,
    )
    f.text(tx, 292, "scipy.optimize.linear_sum_assignment(C)", size=12.5, anchor="start", mono=True, raw=True)
    f.text(tx, 330, "(cheapest compatible choice, not each column's minimum)", size=12, anchor="start", fill=MUTED)
    return f.svg()


@figure("09_set_vs_naive")
def set_vs_naive() -> str:
    """A perfect answer in another order: the naive loss pairs by index and punishes it; the set loss matches."""
    f = Figure(960, 360, display_width=860)
    targets = ["square", "circle", "triangle"]
    preds = ["circle", "triangle", "square", "∅"]
    cols = {"square": SERIES[0], "circle": SERIES[1], "triangle": SERIES[2], "∅": "#eceff1"}
    for p, (title, pairs, ok) in enumerate(
        [
            ("naive loss: prediction i ↔ object i", [(0, 0), (1, 1), (2, 2)], False),
            ("set loss: matching σ̂ first", [(2, 0), (0, 1), (1, 2)], True),
        ]
    ):
        x0 = 40 + p * 470
        f.text(x0 + 190, 30, title, size=14.5, weight="bold")
        f.text(x0 + 50, 60, "predictions", size=12, fill=MUTED)
        f.text(x0 + 330, 60, "objects", size=12, fill=MUTED)
        for i, lab in enumerate(preds):
            f.box(x0, 80 + i * 55, 100, 38, lab, fill=cols[lab], size=13)
        for j, lab in enumerate(targets):
            f.box(x0 + 280, 80 + j * 55, 100, 38, lab, fill=cols[lab], size=13)
        for i, j in pairs:
            good = preds[i] == targets[j]
            f.line(
                x0 + 102,
                99 + i * 55,
                x0 + 278,
                99 + j * 55,
                stroke="#2e7d32" if good else "#b3261e",
                sw=2.4,
                dash=None if good else "6 4",
            )
        f.text(
            x0 + 190,
            320,
            "loss > 0 for a perfect answer" if not ok else "loss = 0: order does not matter",
            size=13.5,
            fill="#b3261e" if not ok else "#2e7d32",
            weight="bold",
        )
    f.text(
        480,
        348,
        "objects in an image have no order; unmatched predictions are trained towards ∅",
        size=12.5,
        fill=MUTED,
    )
    return f.svg()


@figure("09_pipeline")
def pipeline() -> str:
    """Backbone -> 1x1 projection + 2D positions -> encoder -> decoder with N object queries -> heads -> boxes."""
    f = Figure(1000, 380, display_width=900)
    y = 150
    img = f.box(20, y - 35, 80, 70, "image", fill=PALETTE["grey"], sub="(3, H, W)", size=13)
    bb = f.box(125, y - 35, 110, 70, "CNN backbone", fill=PALETTE["conv"], sub="(C, H/8, W/8)", size=13)
    f.arrow(img["r"] + 2, y, bb["l"] - 2, y)
    pr = f.box(255, y - 35, 115, 70, "1×1 conv", fill="#ffffff", sub="flatten: (hw, D)", size=13)
    f.arrow(bb["r"] + 2, y, pr["l"] - 2, y)
    pos = f.box(260, y + 70, 105, 44, "2D sine pos.", fill=PALETTE["pos"], size=12.5)
    enc = f.box(395, y - 45, 130, 90, "encoder", fill=PALETTE["attn"], sub="MSA + FFN, × 6", size=14)
    f.arrow(pr["r"] + 2, y, enc["l"] - 2, y)
    f.elbow([(pos["r"], pos["cy"]), (380, pos["cy"]), (380, y + 30), (enc["l"] - 2, y + 30)], color="#9a7b12", sw=1.4)
    f.text(462, y + 62, "pos. added to Q, K", size=11, fill=MUTED)
    f.text(462, y + 76, "in every layer", size=11, fill=MUTED)
    dec = f.box(580, y - 45, 140, 90, "decoder", fill=PALETTE["weight"], sub="self + cross-attn, × 6", size=14)
    f.arrow(enc["r"] + 2, y, dec["l"] - 2, y)
    f.text((enc["r"] + dec["l"]) / 2, y - 14, "memory", size=11.5, fill=MUTED)
    qx = 580
    for i in range(6):
        f.rect(qx + 8 + i * 22, 40, 18, 26, fill=SERIES[i % len(SERIES)], stroke=INK, sw=0.8, rx=2)
    f.text(dec["cx"], 28, "N object queries (learned)", size=12.5)
    f.arrow(dec["cx"], 68, dec["cx"], dec["t"] - 2)
    hx = 760
    for i in range(6):
        yy = 60 + i * 40
        f.arrow(dec["r"] + 2, y, hx - 2, yy + 14, color=MUTED, sw=0.9, head=6)
        lab = ["square", "∅", "circle", "∅", "∅", "triangle"][i]
        f.box(
            hx,
            yy,
            200,
            28,
            f"class {lab} + box (c_x, c_y, w, h)" if lab != "∅" else "∅ (no object)",
            fill=SERIES[i % len(SERIES)] if lab != "∅" else "#eceff1",
            size=11.5,
            rx=3,
        )
    f.text(860, 320, "heads on every query: linear → C + 1 classes;", size=12, fill=MUTED)
    f.text(860, 336, "3-layer MLP → box (sigmoid, normalised)", size=12, fill=MUTED)
    f.text(
        380,
        330,
        "the paper: ResNet-50 features (2048, H/32, W/32), N = 100; here a 3-stage CNN, N = 10",
        size=12,
        fill=MUTED,
    )
    return f.svg()
