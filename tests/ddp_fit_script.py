"""Run by tests/test_distributed.py under torchrun (and in one process): a small fit, its curves as JSON.

    torchrun --standalone --nproc_per_node=2 tests/ddp_fit_script.py OUT_DIR
"""
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn as nn

from vitcourse import fit, load_digits

STEPS, BATCH = 20, 64


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.GELU(), nn.Linear(32, 10))


def run(out: Path, **kw) -> dict:
    d = load_digits()
    m = model()
    h = fit(m, d.train, d.test, steps=STEPS, batch_size=BATCH, lr=1e-2, warmup_steps=2, eval_every=5, seed=1,
            device="cpu", threads=1, desc="ddp-test", checkpoint=out / "ckpt" / "run.safetensors",
            checkpoint_every=10, **kw)
    weights = torch.cat([p.detach().flatten() for p in m.parameters()]).tolist()
    return {"step": h.step, "train_loss": h.train_loss, "test_loss": h.test_loss, "test_acc": h.test_acc,
            "lr": h.lr, "weights": weights}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    result = run(out, progress=True)
    rank = int(os.environ.get("RANK", "0"))
    result["world"] = int(os.environ.get("WORLD_SIZE", "1"))
    (out / f"rank{rank}.json").write_text(json.dumps(result))
