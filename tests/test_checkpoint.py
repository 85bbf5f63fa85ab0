"""fit(checkpoint=...): an interrupted run that resumes ends bit-identical to an uninterrupted one."""
import json
import random

import numpy as np
import pytest
import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from vitcourse import fit, load_digits
from vitcourse.checkpoint import CheckpointMismatch

STEPS = 23


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.GELU(), nn.Dropout(0.2), nn.Linear(48, 10))


class Interrupt(Exception):
    pass


def _augment(stop_at=None):
    """Noise from all three RNGs (torch, NumPy, Python), so a resume must restore each of them."""
    calls = {"n": 0}

    def augment(x):
        calls["n"] += 1
        if stop_at is not None and calls["n"] > stop_at:
            raise Interrupt(f"killed during step {calls['n']}")
        noise = torch.randn_like(x) * 0.05 + float(np.random.rand()) * 0.01 + random.random() * 0.01
        return x + noise
    return augment


def _run(checkpoint=None, every=None, stop_at=None, model=None, **kw):
    d = load_digits()
    model = model if model is not None else _model()
    args = dict(steps=STEPS, batch_size=128, lr=3e-3, warmup_steps=3, eval_every=4, seed=3, device="cpu",
                progress=False, augment=_augment(stop_at), threads=1) | kw
    history = fit(model, d.train, d.test, checkpoint=checkpoint, checkpoint_every=every, **args)
    return model, history


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, monkeypatch):
    per_epoch = len(load_digits().train) // 128  # 10: the run crosses two epoch boundaries, one after the resume
    reference, ref_history = _run()
    path = tmp_path / "run.safetensors"
    with pytest.raises(Interrupt):
        _run(path, every=5, stop_at=17)  # dies in step 17: the checkpoint on disk is at step 15
    saved = load_file(path)
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["vitcourse"])
    assert meta["record"]["step"] == 15 and meta["record"]["data"] == {"epoch": 1, "index": 15 - per_epoch}
    assert {k.split(".")[0] for k in saved} == {"model", "optimizer", "rng", "extra"}
    assert not _same_weights(_run(steps=15)[0], reference)  # a shorter run differs: the comparison has teeth

    resumed_model = _model()
    for p in resumed_model.parameters():  # the resume must overwrite every weight
        nn.init.zeros_(p)
    resumed, history = _run(path, every=5, model=resumed_model)
    assert _same_weights(resumed, reference)
    assert history.train_loss == ref_history.train_loss and history.test_acc == ref_history.test_acc
    assert history.step == ref_history.step and history.steps_done == STEPS

    # The bad case: a resume that restores weights, optimiser and data position but not the RNG states
    # (dropout masks, augmentation noise) ends with other weights, so the test above can fail.
    import vitcourse.checkpoint as ckpt

    with pytest.raises(Interrupt):
        _run(tmp_path / "again.safetensors", every=5, stop_at=17)
    monkeypatch.setattr(ckpt, "rng_restore", lambda snap, device=None: None)
    careless, _ = _run(tmp_path / "again.safetensors", every=5)
    assert not _same_weights(careless, reference)


def test_finished_checkpoint_resumes_to_the_end(tmp_path):
    path = tmp_path / "done.safetensors"
    first, h1 = _run(path, every=10)
    again, h2 = _run(path, every=10, model=_model())  # nothing left to train: weights and curves come back
    assert _same_weights(first, again) and h2.train_loss == h1.train_loss and h2.steps_done == STEPS


def test_checkpoint_of_another_model_or_settings_is_refused(tmp_path):
    path = tmp_path / "run.safetensors"
    _run(path, every=10)
    bigger = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.GELU(), nn.Dropout(0.2), nn.Linear(32, 10))
    with pytest.raises(CheckpointMismatch, match=r"another model .*1.weight: \[48, 64\] in the checkpoint, "
                                                 r"\[32, 64\] in this model"):
        _run(path, model=bigger)
    with pytest.raises(CheckpointMismatch, match=r"other settings: lr=0.003 in the checkpoint, 0.001 now"):
        _run(path, lr=1e-3)
    with pytest.raises(CheckpointMismatch, match="steps=23 in the checkpoint, 30 now"):
        _run(path, steps=30)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointMismatch, match="not a safetensors file written by vitcourse.train.fit"):
        _run(junk)
    plain = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointMismatch, match="not a vitcourse.train.fit checkpoint"):
        _run(plain)
    with pytest.raises(ValueError, match="checkpoint_every was given without checkpoint"):
        _run(None, every=3)
