"""CPU threads per model size (vitcourse.utils.configure_threads) and the fused optimiser of `fit`."""
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from vitcourse import fit, load_digits
from vitcourse.train import make_adamw
from vitcourse.utils import (SMALL_MODEL_PARAMS, choose_threads, configure_threads, threads_for,
                             wait_policy_at_start)


# ----------------------------------------------------------------------------- the choice (a pure function)


@pytest.mark.parametrize("num_params, current, want", [
    (137_000, 2, 1),  # the lecture's tiny ViT
    (1_330_000, 8, 1),  # the DETR CPU preset
    (SMALL_MODEL_PARAMS - 1, 4, 1),
    (SMALL_MODEL_PARAMS, 4, 4),  # large enough: PyTorch's count is kept
    (86_000_000, 2, 2),  # ViT-B/16
    (86_000_000, 1, 1),  # ...even when it is 1 (OMP_NUM_THREADS=1)
    (None, 3, 3),  # no model: keep
])
def test_rule_one_thread_for_small_models(num_params, current, want):
    n, reason = choose_threads(num_params, current=current)
    assert n == want
    assert reason  # says why


def test_argument_beats_environment_beats_rule():
    assert choose_threads(137_000, current=2, requested=2)[0] == 2
    assert choose_threads(137_000, current=2, env="3")[0] == 3
    assert choose_threads(137_000, current=2, requested=4, env="3")[0] == 4
    assert choose_threads(137_000, current=2, requested="torch", env="3")[0] == 2
    assert choose_threads(137_000, current=2, env="torch")[0] == 2
    assert choose_threads(137_000, current=2, requested="auto", env="3")[0] == 3  # auto defers to the variable
    assert choose_threads(137_000, current=2, env="auto")[0] == 1
    assert choose_threads(137_000, current=2, env=" ")[0] == 1
    assert choose_threads(86_000_000, current=2, requested=1)[0] == 1


@pytest.mark.parametrize("requested, env, match", [
    (0, None, "threads must be >= 1, got 0"),
    ("two", None, "threads must be a positive integer, 'auto' or 'torch', got 'two'"),
    (None, "-1", "VITCOURSE_THREADS must be a positive integer, 'auto' or 'torch', got '-1'"),
    (2.5, None, "threads must be an integer, got 2.5"),
])
def test_bad_thread_requests_say_what_is_expected(requested, env, match):
    with pytest.raises((ValueError, TypeError), match=match.replace("(", r"\(").replace(")", r"\)")):
        choose_threads(137_000, current=2, requested=requested, env=env)


# ----------------------------------------------------------------------------- setting it


def test_configure_threads_sets_and_threads_for_restores(monkeypatch):
    monkeypatch.delenv("VITCOURSE_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with threads_for(nn.Linear(10, 10)) as choice:
            assert torch.get_num_threads() == 1 and choice.threads == 1 and choice.previous == 2
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("VITCOURSE_THREADS", "2")
        assert configure_threads(nn.Linear(10, 10)).threads == 2 and torch.get_num_threads() == 2
        assert configure_threads(threads=1).threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module or None, got str"):
        configure_threads("vit")


def test_fit_trains_on_the_chosen_threads_and_restores_them(monkeypatch):
    monkeypatch.delenv("VITCOURSE_THREADS", raising=False)
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.lin(x)

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        d = load_digits()
        fit(Spy(), d.train, steps=3, device="cpu", progress=False)
        assert set(seen) == {1} and torch.get_num_threads() == 2
        seen.clear()
        fit(Spy(), d.train, steps=3, device="cpu", progress=False, threads=2)
        assert set(seen) == {2}
    finally:
        torch.set_num_threads(before)


def test_wait_policy_is_read_from_the_start_environment():
    """OMP_WAIT_POLICY counts only when set before the process starts; setting it later is reported as unset."""
    code = ("import os, torch; from vitcourse.utils import wait_policy_at_start as w; a = w(); "
            "os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'; print(a, w())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "PASSIVE"},
                         capture_output=True, text=True, check=True).stdout.split()
    want_later = "PASSIVE" if sys.platform.startswith("linux") else "ACTIVE"
    assert out == ["PASSIVE", want_later]
    if sys.platform.startswith("linux"):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        assert out == ["None", "None"]
    assert wait_policy_at_start() in (None, "PASSIVE", "ACTIVE", "passive", "active")


# ----------------------------------------------------------------------------- fused AdamW


def test_make_adamw_is_fused_where_supported_and_matches_the_default():
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 3)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    fused = make_adamw(nets[0].parameters(), lr=1e-2, weight_decay=0.05)  # a generator is fine
    plain = torch.optim.AdamW(nets[1].parameters(), lr=1e-2, weight_decay=0.05)
    assert fused.defaults["fused"] is True  # torch 2.13 has the fused CPU kernel
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    for _ in range(20):
        for net, opt in zip(nets, (fused, plain)):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_make_adamw_falls_back_when_fused_is_refused(monkeypatch):
    real = torch.optim.AdamW

    def refuse_fused(params, **kw):
        if kw.get("fused"):
            raise RuntimeError("fused=True requires all the params to be floating point Tensors of supported devices")
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", refuse_fused)
    opt = make_adamw(p for p in nn.Linear(3, 3).parameters())
    assert not opt.defaults["fused"] and len(opt.param_groups[0]["params"]) == 2
