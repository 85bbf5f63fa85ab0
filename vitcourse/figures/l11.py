"""Lecture 11 (going further): data-parallel training, checkpoints that resume exactly, published weights."""

from __future__ import annotations

from . import INK, MUTED, PALETTE, SERIES, Figure, figure

# The data-parallel picture: N processes, a global batch of N * b examples.
WORLD, PER_RANK = 4, 4
# The resume picture follows the lecture's own run: 60 steps, a checkpoint every 20, a failure in step 48.
STEPS, EVERY, CRASH_STEP = 60, 20, 48
GOOD, BAD = "#2e7d32", "#b3261e"


def shard_positions(rank: int, world: int = WORLD, per_rank: int = PER_RANK) -> range:
    """Positions ``[r*b, (r+1)*b)`` of one global batch that process ``rank`` keeps (as `GlobalBatchShard`)."""
    return range(rank * per_rank, (rank + 1) * per_rank)


@figure("11_data_parallel")
def data_parallel() -> str:
    """torchrun: N processes, a slice of the global batch each, gradients all-reduced, the same step everywhere."""
    f = Figure(960, 520, display_width=880)
    total = WORLD * PER_RANK
    f.text(
        480,
        24,
        f"one global batch: batch_size = {total}, whatever the number of processes",
        size=14.5,
        weight="bold",
        raw=True,
    )
    cell, gx = 34, 480 - total * 34 / 2
    g = f.grid(
        gx, 42, 1, total, cell, cell_h=28, fill=lambda r, c: SERIES[c // PER_RANK], values=lambda r, c: str(c), size=12
    )
    col_w, gap = 200, 20
    x0 = 480 - (WORLD * col_w + (WORLD - 1) * gap) / 2
    grads, tops = [], []
    for r in range(WORLD):
        x = x0 + r * (col_w + gap)
        cx = x + col_w / 2
        pos = shard_positions(r)
        f.elbow(
            [
                (gx + (pos.start + PER_RANK / 2) * cell, g["b"]),
                (gx + (pos.start + PER_RANK / 2) * cell, 92),
                (cx, 92),
                (cx, 116),
            ],
            color=SERIES[r],
            sw=2,
        )
        f.rect(x, 118, col_w, 212, fill="#ffffff", stroke=MUTED, sw=1, rx=8, dash="5 3")
        f.text(cx, 136, f"process rank {r}", size=13.5, weight="bold")
        f.text(cx, 154, f"positions {pos.start}-{pos.stop - 1} (b = {PER_RANK})", size=12, fill=MUTED)
        f.box(x + 14, 168, col_w - 28, 42, "model copy", fill=PALETTE["attn"], sub="same weights W", size=13)
        f.arrow(cx, 210, cx, 226)
        f.box(x + 14, 228, col_w - 28, 42, "forward + backward", fill=PALETTE["mlp"], sub="on its own slice", size=13)
        f.arrow(cx, 270, cx, 286)
        gr = f.box(x + 14, 288, col_w - 28, 32, f"gradients g_{r}", fill=PALETTE["weight"], size=13)
        grads.append(gr)
        tops.append(x)
    ar = f.box(
        x0,
        350,
        WORLD * col_w + (WORLD - 1) * gap,
        46,
        "all-reduce: every process gets the mean g = (g_0 + g_1 + g_2 + g_3) / 4",
        fill=PALETTE["pos"],
        size=14,
        sub="NCCL on GPUs, gloo on the CPU; DistributedDataParallel does it during backward",
    )
    for gr in grads:
        f.arrow(gr["cx"], gr["b"], gr["cx"], ar["t"] - 1)
    for x in tops:
        cx = x + col_w / 2
        f.arrow(cx, ar["b"], cx, 412)
        f.box(x + 14, 414, col_w - 28, 34, "optimiser step with g", fill=PALETTE["value"], size=13)
    f.box(
        tops[0] + 14, 462, col_w - 28, 44, "rank 0 only:", fill=PALETTE["cls"], sub="progress bar, checkpoint", size=13
    )
    f.arrow(tops[0] + col_w / 2, 448, tops[0] + col_w / 2, 460)
    f.lines(
        tops[1] + 10,
        484,
        [
            "the same g and the same step on every process: the weights stay identical,",
            f"and each step sees the examples one process with batch_size = {total} would see",
        ],
        size=12.5,
        anchor="start",
        fill=MUTED,
        raw=True,
    )
    return f.svg()


@figure("11_checkpoint_resume")
def checkpoint_resume() -> str:
    """What a checkpoint holds, and a run that fails and resumes ending with the same weights as one that did not."""
    f = Figure(960, 440, display_width=880)
    # the file
    f.text(159, 26, "checkpoint file (safetensors)", size=14.5, weight="bold")
    items = [
        ("model weights", PALETTE["attn"]),
        ("optimiser state (AdamW moments)", PALETTE["weight"]),
        ("step (the learning rate follows from it)", PALETTE["pos"]),
        ("loss curves so far", PALETTE["grey"]),
        ("position in the shuffled data", PALETTE["value"]),
        ("random states: Python, NumPy, torch, CUDA", PALETTE["key"]),
    ]
    f.rect(14, 42, 290, 20 + 44 * len(items), fill="#ffffff", stroke=INK, sw=1.4, rx=8)
    for i, (lab, col) in enumerate(items):
        f.box(24, 52 + 44 * i, 270, 36, lab, fill=col, size=12)
    f.text(
        159,
        42 + 20 + 44 * len(items) + 18,
        "written by rank 0 every checkpoint_every steps",
        size=11.5,
        fill=MUTED,
        raw=True,
    )
    # the timelines
    x0, x1 = 360, 900

    def sx(step: float) -> float:
        return x0 + (x1 - x0) * step / STEPS

    def axis(y: float) -> None:
        for s in range(0, STEPS + 1, 10):
            f.line(sx(s), y + 10, sx(s), y + 16, stroke=MUTED, sw=1)
            f.text(sx(s), y + 27, str(s), size=11, fill=MUTED)

    def saves(y: float, upto: int) -> None:
        for s in range(EVERY, upto + 1, EVERY):
            f.rect(sx(s) - 7, y - 9, 14, 18, fill=PALETTE["key"], stroke=INK, sw=1, rx=2)

    y = 80
    f.text(x0, y - 34, "uninterrupted run", size=13.5, anchor="start", weight="bold")
    f.rect(sx(0), y - 5, sx(STEPS) - sx(0), 10, fill=PALETTE["attn"], stroke=INK, sw=1, rx=2)
    axis(y)
    y = 196
    done = CRASH_STEP - 1
    last = done // EVERY * EVERY
    f.text(x0, y - 34, f"attempt 1: fails in step {CRASH_STEP}", size=13.5, anchor="start", weight="bold")
    f.rect(sx(0), y - 5, sx(done) - sx(0), 10, fill=PALETTE["attn"], stroke=INK, sw=1, rx=2)
    f.text(sx(done) + 4, y, "✕", size=20, fill=BAD, weight="bold", anchor="start")
    saves(y, done)
    axis(y)
    f.text(sx(done) + 26, y - 1, "crash", size=12, fill=BAD, anchor="start")
    y = 312
    f.text(
        x0, y - 34, f"attempt 2: the same fit call resumes from step {last}", size=13.5, anchor="start", weight="bold"
    )
    f.rect(sx(0), y - 5, sx(last) - sx(0), 10, fill="#eceff1", stroke=MUTED, sw=1, rx=2, dash="4 3")
    f.rect(sx(last), y - 5, sx(STEPS) - sx(last), 10, fill=PALETTE["attn"], stroke=INK, sw=1, rx=2)
    axis(y)
    f.curve(sx(last), 196 + 10, sx(last), y - 10, bend=28, color=PALETTE["key"], sw=2)
    f.text(sx(last) - 22, (196 + y) / 2, "load", size=12, anchor="end", fill=MUTED)
    f.text(sx(last / 2), y - 16, "not repeated", size=11.5, fill=MUTED)
    f.text(sx((done + last) / 2), y - 16, "redone", size=11.5, fill=MUTED)
    f.legend(
        x0, 378, [(PALETTE["key"], f"checkpoint (every {EVERY} steps)"), (PALETTE["attn"], "steps trained")], size=12
    )
    f.text(
        630,
        414,
        f"at step {STEPS} the two runs' weights are bit-identical (torch.equal on every tensor)",
        size=13,
        fill=GOOD,
        weight="bold",
    )
    return f.svg()


VIT_NAMES = [
    ("vit.embeddings.patch_embeddings.projection", "patch_embed.proj"),
    ("vit.embeddings.cls_token", "cls_token"),
    ("vit.embeddings.position_embeddings", "pos_embed"),
    ("vit.encoder.layer.{i}.attention.attention.query", "blocks.{i}.attn.q_proj"),
    ("vit.encoder.layer.{i}.layernorm_before", "blocks.{i}.norm1"),
    ("vit.encoder.layer.{i}.intermediate.dense", "blocks.{i}.mlp.fc1"),
    ("classifier.weight", "head.weight"),
]
DETR_NAMES = [
    ("model.backbone.model.encoder.stages.{s}...", "backbone.layer{s+1}..."),
    ("model.input_projection", "input_proj"),
    ("model.query_position_embeddings", "query_embed"),
    ("model.encoder.layers.{i}.self_attn", "encoder.{i}.attn"),
    ("model.decoder.layers.{i}.encoder_attn", "decoder.{i}.cross_attn"),
    ("class_labels_classifier", "class_head"),
    ("bbox_predictor", "box_head"),
]


@figure("11_published_to_course")
def published_to_course() -> str:
    """find_checkpoint: the cached published weights or a random stand-in; Hugging Face names renamed to ours."""
    f = Figure(960, 560, display_width=900)
    # where the folder comes from
    q = f.box(20, 40, 230, 52, "", fill=PALETTE["grey"])
    f.text(q["cx"], q["cy"], "find_checkpoint(kind, folder)", size=12.5, mono=True, raw=True)
    pub = f.box(
        300,
        14,
        300,
        48,
        "in the local Hugging Face cache:",
        fill=PALETTE["value"],
        sub="the published weights",
        size=12.5,
    )
    sub = f.box(300, 72, 300, 48, "", fill=PALETTE["mask"])
    f.text(sub["cx"], sub["cy"] - 8, "not cached (offline, CI):", size=12.5)
    f.text(
        sub["cx"], sub["cy"] + 9, "a random stand-in (small config, save_pretrained)", size=11.5, fill=MUTED, raw=True
    )
    f.arrow(q["r"], q["cy"] - 6, pub["l"] - 2, pub["cy"])
    f.arrow(q["r"], q["cy"] + 6, sub["l"] - 2, sub["cy"])
    folder = f.box(
        660, 34, 280, 66, "a checkpoint folder", fill="#ffffff", sub="config.json + model.safetensors", size=13
    )
    f.arrow(pub["r"], pub["cy"], folder["l"] - 2, folder["cy"] - 8)
    f.arrow(sub["r"], sub["cy"], folder["l"] - 2, folder["cy"] + 8)
    # the two renaming tables
    top = 150
    for k, (title, fn, rows) in enumerate(
        [
            ("ViT-B/16 → lecture 06's ViT", "vit_from_hf(folder)", VIT_NAMES),
            ("DETR-R50 → lecture 09's DETR", "detr_from_pretrained(folder)", DETR_NAMES),
        ]
    ):
        y = top + k * 190
        f.text(20, y, title, size=14, anchor="start", weight="bold")
        f.text(940, y, fn, size=12.5, anchor="end", mono=True, raw=True)
        f.text(20, y + 20, "Hugging Face state dict name", size=11.5, anchor="start", fill=MUTED)
        f.text(600, y + 20, "course module name", size=11.5, anchor="start", fill=MUTED)
        for i, (theirs, ours) in enumerate(rows):
            yy = y + 38 + i * 19
            f.text(20, yy, theirs, size=11.5, anchor="start", mono=True, raw=True)
            f.arrow(460, yy, 590, yy, color=MUTED, sw=1, head=6)
            f.text(600, yy, ours, size=11.5, anchor="start", mono=True, raw=True)
    f.rect(20, 516, 920, 34, fill="#eef6ee", stroke=GOOD, sw=1.2, rx=6)
    f.text(
        480,
        533,
        "the check: the same input through our model and Hugging Face's gives the same outputs (within 1e-4)",
        size=13,
        fill=GOOD,
        weight="bold",
    )
    return f.svg()
