"""fit under torchrun: two gloo processes on the CPU follow one process's loss curve (same global batch)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from vitcourse import fit
from vitcourse.distributed import GlobalBatchShard

HERE = Path(__file__).parent


def _torchrun() -> list[str]:
    exe = Path(sys.executable).parent / "torchrun"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="this PyTorch has no torch.distributed")
def test_two_processes_follow_the_one_process_curve(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        import ddp_fit_script as script
    finally:
        sys.path.remove(str(HERE))
    single = script.run(tmp_path / "single", progress=False)  # one process, in this one, same global batch

    out = tmp_path / "ddp"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"TQDM_DISABLE", "RANK", "WORLD_SIZE", "LOCAL_RANK"}}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([*_torchrun(), "--standalone", "--nproc_per_node=2", str(HERE / "ddp_fit_script.py"),
                           str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == ranks[1]["world"] == 2
    assert ranks[0] == ranks[1]  # every process returns the same History and holds the same weights
    ddp = ranks[0]
    assert ddp["step"] == single["step"] == [5, 10, 15, 20] and ddp["lr"] == single["lr"]
    for key in ("train_loss", "test_loss", "test_acc"):
        assert ddp[key] == pytest.approx(single[key], abs=1e-4, rel=0), key
    assert ddp["weights"] == pytest.approx(single["weights"], abs=1e-4, rel=0)
    assert single["train_loss"][-1] < single["train_loss"][0] - 0.3  # it trained: the curves are not flat
    # rank 0 alone draws the bar and writes the checkpoint
    assert proc.stderr.count("ddp-test:   0%") == 1, proc.stderr[-2000:]
    assert sorted(p.name for p in (out / "ckpt").iterdir()) == ["run.safetensors"]


def test_global_batch_shards_rebuild_the_one_process_batches():
    order = list(torch.randperm(50, generator=torch.Generator().manual_seed(0)).tolist())
    shards = [list(GlobalBatchShard(order, global_batch=12, rank=r, world=3)) for r in range(3)]
    assert [len(s) for s in shards] == [16, 16, 16]  # 4 full global batches of 12; the last 2 indices dropped
    rebuilt = [i for b in range(4) for s in shards for i in s[b * 4:(b + 1) * 4]]
    assert rebuilt == order[:48]
    with pytest.raises(ValueError, match="batch_size=10 .* not divisible by the 3 processes"):
        GlobalBatchShard(order, global_batch=10, rank=0, world=3)


def test_torchrun_needs_a_dataset_and_a_divisible_batch(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29531")
    data = TensorDataset(torch.randn(16, 4), torch.randint(0, 2, (16,)))
    try:
        with pytest.raises(TypeError, match="under torchrun, train must be a torch Dataset"):
            fit(torch.nn.Linear(4, 2), torch.utils.data.DataLoader(data), steps=1, device="cpu", progress=False)
        with pytest.raises(ValueError, match="fewer than batch_size=32"):
            fit(torch.nn.Linear(4, 2), data, steps=1, batch_size=32, device="cpu", progress=False)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _small_fit(**kw):
    from vitcourse import load_digits

    d = load_digits()
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.GELU(), torch.nn.Linear(32, 10))
    h = fit(m, d.train, d.test, steps=20, eval_every=5, lr=1e-2, device="cpu", progress=False, threads=1, **kw)
    return m, h


def test_bf16_autocast_trains_like_float32_on_cpu():
    m32, h32 = _small_fit()
    m16, h16 = _small_fit(precision="bf16")
    assert all(p.dtype == torch.float32 for p in m16.parameters())  # weights and optimiser stay float32
    assert h16.train_loss != h32.train_loss  # the forward really ran in bfloat16 ...
    assert h16.train_loss == pytest.approx(h32.train_loss, abs=2e-3)  # ... and follows the float32 curve
    assert h16.final_acc == pytest.approx(h32.final_acc, abs=0.02)
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'bf16', got 'fp16'; float16 needs"):
        _small_fit(precision="fp16")


@pytest.mark.slow
def test_compiled_training_matches_eager_on_cpu():
    try:
        eager, h_eager = _small_fit()
        compiled, h_compiled = _small_fit(compile=True)
    except Exception as err:  # noqa: BLE001 - an inductor/compiler failure of this machine, not of fit
        if "compile" in type(err).__module__ or "inductor" in str(err).lower() or "dynamo" in str(err).lower():
            pytest.skip(f"torch.compile does not work on this machine: {type(err).__name__}: {str(err)[:200]}")
        raise
    assert h_compiled.train_loss == pytest.approx(h_eager.train_loss, abs=1e-4)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    with pytest.raises(TypeError, match="compile must be True or False"):
        _small_fit(compile="yes")


def test_cifar_script_smoke_run_and_resume(tmp_path):
    """scripts/train_vit_torchrun.py --smoke: the real script's wiring on random data (the CIFAR run is not in CI)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_vit_torchrun", HERE.parent / "scripts" / "train_vit_torchrun.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    first = script.main(["--smoke", "--out", str(tmp_path)])
    assert first["steps"] == 6 and (tmp_path / "checkpoint.safetensors").is_file()
    again = script.main(["--smoke", "--out", str(tmp_path)])  # resumes from the finished checkpoint
    assert again == first
    assert all(r["source"].startswith("https://") for r in script.PUBLISHED_RESULTS)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    torch.manual_seed(0)
    y = script.crop_and_flip(x, pad=2)
    assert y.shape == x.shape and not torch.equal(y, x)
