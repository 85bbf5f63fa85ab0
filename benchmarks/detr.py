"""Benchmark: DETR trained from scratch on handwritten-digit canvases on a CPU (stretch goal of lecture 09).

Real handwritten digits (scikit-learn's 8x8 digits, upscaled; 10 classes) are
placed 1-4 per 64x64 canvas by `vitcourse.data.DetectionCanvas(kind="digits")`;
the test canvases use digits from the held-out split. The CPU preset of
`vitcourse.detr.DETRConfig` is trained for a fixed, seeded number of steps
(``--max-minutes`` is only a safety net) and scored with COCO mAP
(pycocotools).

Target: mAP@.5 >= 0.8 within 20 minutes of CPU training. Printed, not
asserted: the time depends on the machine and its load.

    python benchmarks/detr.py [--steps 4000] [--threads 2] [--max-minutes 20]
"""
from __future__ import annotations

import argparse
import time

import torch

from vitcourse.data import DetectionCanvas
from vitcourse.detr import DETR, DETRConfig, HungarianMatcher, SetCriterion, evaluate_detr, fit_detr

TARGET_MAP50, TARGET_MINUTES = 0.8, 20.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train = DetectionCanvas(args.steps * args.batch_size, kind="digits", digit_split="train", seed=11)
    test = DetectionCanvas(args.test_images, kind="digits", digit_split="test", seed=12)
    config = DETRConfig.cpu(num_classes=train.num_classes)
    model = DETR(config)
    criterion = SetCriterion(config.num_classes, HungarianMatcher(2.0, 5.0, 2.0),
                             weight_dict={"loss_ce": 2.0, "loss_bbox": 5.0, "loss_giou": 2.0})
    print(f"DETR CPU preset, {sum(p.numel() for p in model.parameters()):,} parameters, {args.steps} steps of "
          f"{args.batch_size} digit canvases, {args.threads} threads", flush=True)
    start = time.perf_counter()
    history = fit_detr(model, criterion, train, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                       warmup_steps=min(100, args.steps // 10), log_every=max(1, args.steps // 10), seed=args.seed,
                       device="cpu")
    minutes = (time.perf_counter() - start) / 60
    for step, loss in zip(history.step, history.loss):
        print(f"  step {step:5d}  loss {loss:.3f}")
    metrics = evaluate_detr(model, test)
    ok = metrics["map50"] >= TARGET_MAP50 and minutes <= TARGET_MINUTES
    print(f"training time {minutes:.1f} min (target <= {TARGET_MINUTES:g}); held-out digit canvases: "
          f"mAP@[.5:.95] {metrics['map']:.3f}, mAP@.5 {metrics['map50']:.3f} (target >= {TARGET_MAP50}) -> "
          f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
