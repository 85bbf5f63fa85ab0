"""Every benchmark runs in --quick mode and prints a MET/MISSED line per target (not a timing test)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ["attention.py", "vit.py", "detr.py", "threads.py", "grading.py", "notebooks_load.py"]
GPU_AWARE = {"attention.py", "vit.py"}  # the ones with a plain PyTorch / Hugging Face reference to compare on a GPU


@pytest.mark.parametrize("script", BENCHMARKS)
def test_benchmark_quick_mode_prints_a_verdict_per_target(script):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdicts = re.findall(r"^TARGET .+ (MET|MISSED)\b.*\[--quick", proc.stdout, flags=re.M)
    assert verdicts, proc.stdout[-3000:]
    assert "paired rounds" in proc.stdout or "rounds of" in proc.stdout  # says how it measured
    if script in GPU_AWARE:  # GPU times beside the CPU ones, or a line saying there is no GPU to time
        import torch

        line = "GPU wall" if torch.cuda.is_available() else "GPU: none here"
        assert line in proc.stdout, proc.stdout[-3000:]


def test_ratio_statistics_are_paired():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _timing import ratio
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # B's times drift 10x with "load"; A is always half of B in the same round: the paired ratio is exactly 0.5.
    b = [1.0, 10.0, 2.0, 8.0, 1.5]
    r = ratio([x / 2 for x in b], b)
    assert r.median == pytest.approx(0.5) and r.q1 == pytest.approx(0.5) and r.q3 == pytest.approx(0.5)
    with pytest.raises(ValueError, match="equally long, non-empty"):
        ratio([1.0], [1.0, 2.0])
