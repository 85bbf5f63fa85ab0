"""Train the course's ViT from scratch on CIFAR-10, on one GPU or many, with `vitcourse.fit` under torchrun.

    pip install datasets                                   # only this script needs it (not a course dependency)
    python scripts/train_vit_torchrun.py --out runs/c10    # one process (one GPU, or the CPU)
    torchrun --standalone --nproc_per_node=4 scripts/train_vit_torchrun.py --out runs/c10 --precision bf16
    # two machines with 8 GPUs each (run on both; HOST is the first machine):
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \\
        scripts/train_vit_torchrun.py --out runs/c10 --precision bf16

``--batch-size`` is the global batch, whatever the number of processes, so the
same command gives the same training on 1 or 8 GPUs. The run saves a checkpoint
to ``OUT/checkpoint.safetensors`` and, started again with the same command
(after a crash, or a Slurm preemption), resumes from it exactly.

The recipe follows omihub777/ViT-CIFAR (see `PUBLISHED_RESULTS`: patch 4, 7 layers,
width 384, 12 heads, MLP width 384, 200 epochs of batch 128, lr 1e-3 cosine to 1e-5
after 5 warm-up epochs, label smoothing 0.1), except that the augmentation here is
random crop and flip only (AutoAugment needs torchvision, not a course dependency)
and the optimiser is `fit`'s AdamW. This script has NOT been run to the end by
the course authors: `PUBLISHED_RESULTS` are other people's numbers for close
recipes, not a measurement of this script.

Not run in CI (it needs the network for the data and GPUs for a sensible time);
``--smoke`` runs a few steps on random data, offline, to check the wiring.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from vitcourse import fit
from vitcourse.distributed import is_main_process
from vitcourse.vit import ViT, ViTConfig

#: Published top-1 test accuracies of ViTs trained from scratch on CIFAR-10 with recipes close to this one.
PUBLISHED_RESULTS = [
    {"top1_percent": 91.01, "params": "6.3M",
     "recipe": "patch 4, 7 layers, width 384, 12 heads, MLP 384; 200 epochs, batch 128, Adam wd 5e-5, "
               "lr 1e-3 -> 1e-5 cosine, 5 warm-up epochs, label smoothing 0.1, AutoAugment",
     "source": "https://github.com/omihub777/ViT-CIFAR (README, 'Results' table; commit 0766c12)"},
    {"top1_percent": 86.4,
     "recipe": "patch 4, 6 layers, width 384, 12 heads, MLP 384; 300 epochs, batch 2048, lr 1e-3, wd 5e-5, "
               "5 warm-up epochs, label smoothing 0.1, dropout 0.1, no CutMix/Cutout",
     "source": "https://github.com/KimRass/ViT (README, 'Result / CIFAR-10')"},
]

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def recipe_config() -> ViTConfig:
    """The ViT of the recipe: 32x32 images in 4x4 patches (64 tokens), width 384, 7 layers."""
    return ViTConfig(image_size=32, patch_size=4, in_channels=3, num_classes=10, dim=384, depth=7, num_heads=12,
                     mlp_dim=384)


def load_cifar10() -> tuple[TensorDataset, TensorDataset]:
    """CIFAR-10 train and test as normalised float tensors, via the `datasets` library (downloads once)."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise SystemExit("this script reads CIFAR-10 with the `datasets` library: pip install datasets "
                         "(or run with --smoke to check the wiring on random data)") from None
    import numpy as np

    mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    splits = []
    for split in ("train", "test"):
        ds = load_dataset("uoft-cs/cifar10", split=split)
        x = torch.from_numpy(np.stack([np.asarray(img, dtype=np.uint8) for img in ds["img"]]))  # (N, 32, 32, 3)
        x = (x.permute(0, 3, 1, 2).float() / 255 - mean) / std  # (N, 3, 32, 32)
        splits.append(TensorDataset(x, torch.tensor(ds["label"])))
    return splits[0], splits[1]


def crop_and_flip(x: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Random crop after reflection padding, and random horizontal flip, one draw per image: (B, C, H, W)."""
    B, C, H, W = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")  # (B, C, H+2p, W+2p)
    oy = torch.randint(0, 2 * pad + 1, (B,), device=x.device)
    ox = torch.randint(0, 2 * pad + 1, (B,), device=x.device)
    rows = oy[:, None] + torch.arange(H, device=x.device)  # (B, H)
    cols = ox[:, None] + torch.arange(W, device=x.device)  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)
    flip = torch.rand(B, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/vit-cifar10", help="folder for the checkpoint and results.json")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=128, help="global batch, over all processes")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--compile", action="store_true", help="train through torch.compile")
    p.add_argument("--smoke", action="store_true", help="a few steps of a small model on random data, offline")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.smoke:
        g = torch.Generator().manual_seed(0)
        train = TensorDataset(torch.randn(256, 3, 32, 32, generator=g), torch.randint(0, 10, (256,), generator=g))
        test = TensorDataset(torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g))
        config = recipe_config().replace(dim=32, depth=2, num_heads=4, mlp_dim=64)
        steps, eval_every, warmup = 6, 3, 1
    else:
        train, test = load_cifar10()
        config = recipe_config()
        per_epoch = len(train) // args.batch_size
        steps, eval_every, warmup = args.epochs * per_epoch, per_epoch, 5 * per_epoch
    torch.manual_seed(0)
    model = ViT(config)
    history = fit(model, train, test, steps=steps, batch_size=args.batch_size, lr=args.lr, min_lr=args.lr / 100,
                  warmup_steps=warmup, weight_decay=5e-5, label_smoothing=0.1, eval_every=eval_every,
                  augment=crop_and_flip, checkpoint=out / "checkpoint.safetensors",
                  checkpoint_every=eval_every, precision=args.precision, compile=args.compile, desc="vit-cifar10")
    result = {"steps": history.steps_done, "final_test_acc": history.final_acc, "best_test_acc": history.best_acc,
              "published_for_comparison": PUBLISHED_RESULTS}
    if is_main_process():
        (out / "results.json").write_text(json.dumps(result, indent=1))
        print(f"test accuracy after {history.steps_done} steps: {history.final_acc:.4f} "
              f"(best {history.best_acc:.4f}); published for close recipes: "
              + "; ".join(f"{r['top1_percent']}% ({r['source']})" for r in PUBLISHED_RESULTS))
    return result


if __name__ == "__main__":
    main()
