"""Training loop and plot helpers."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn as nn

from vitcourse import fit, load_digits, plot_attention, plot_history, show_images
from vitcourse.train import History, cosine_lr, evaluate, predict, progress_enabled


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def test_fit_learns_digits_and_reproduces():
    d = load_digits()
    torch.manual_seed(0)
    h1 = fit(_mlp(), d.train, d.test, steps=200, lr=3e-3, seed=1, device="cpu", progress=False)
    torch.manual_seed(0)
    m = _mlp()
    h2 = fit(m, d.train, d.test, steps=200, lr=3e-3, seed=1, device="cpu", progress=False)
    assert h1.final_acc > 0.85, h1
    assert h1.test_acc == h2.test_acc and h1.train_loss == h2.train_loss  # seeded schedule reproduces
    assert h1.steps_done == 200 and len(h1.step) == 10 and h1.step[-1] == 200
    assert h1.train_loss[-1] < h1.train_loss[0]
    loss, acc = evaluate(m, d.test)
    assert acc == pytest.approx(h2.final_acc) and loss == pytest.approx(h2.test_loss[-1])
    assert not m.training  # fit leaves the model in eval mode
    logits = predict(m, d.x_test)
    assert logits.shape == (450, 10) and (logits.argmax(1) == d.y_test).float().mean() == pytest.approx(acc)


def test_fit_time_cap_stops_early():
    d = load_digits()
    h = fit(_mlp(), d.train, d.test, steps=10**6, max_seconds=0.3, device="cpu", progress=False)
    assert h.stopped_early and h.steps_done < 10**6 and h.step[-1] == h.steps_done


@pytest.mark.parametrize("kwargs, match", [({"steps": 0}, "steps must be >= 1"), ({"lr": -1.0}, "lr must be"),
                                           ({"batch_size": 2.5}, "batch_size must be an integer"),
                                           ({"max_seconds": 0}, "max_seconds")])
def test_fit_bad_input(kwargs, match):
    d = load_digits()
    args = {"steps": 5} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        fit(_mlp(), d.train, d.test, progress=False, **args)
    with pytest.raises(TypeError, match="train must be a torch Dataset or DataLoader"):
        fit(_mlp(), [1, 2, 3], steps=1, progress=False)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        fit(lambda x: x, d.train, steps=1)


def test_cosine_lr_is_a_pure_schedule():
    assert cosine_lr(0, 100, 1.0, warmup_steps=10) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 1.0, warmup_steps=10) == pytest.approx(1.0)
    assert cosine_lr(10, 100, 1.0, warmup_steps=10) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 1.0, warmup_steps=10, min_lr=0.01) == pytest.approx(0.01)
    values = [cosine_lr(s, 100, 1.0) for s in range(100)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_progress_bar_hidden_when_disabled(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not progress_enabled()
    monkeypatch.setenv("TQDM_DISABLE", "")
    assert progress_enabled() == (sys_is_tty() or "ipykernel" in __import__("sys").modules)


def sys_is_tty():
    import sys
    return sys.stderr.isatty()


def test_plots_return_figures_and_leave_rcparams_alone():
    before = dict(matplotlib.rcParams)
    fig = show_images(torch.rand(5, 1, 8, 8), titles=list("abcde"), ncols=3)
    assert len([a for a in fig.axes if a.images]) == 5
    fig2 = plot_attention(torch.softmax(torch.randn(3, 4), -1), x_labels=list("wxyz"), y_labels=list("abc"))
    assert fig2.axes[0].get_images()[0].get_array().shape == (3, 4)
    h = History(step=[1, 2], train_loss=[1.0, 0.5], test_loss=[1.1, 0.6], test_acc=[0.5, 0.8])
    fig3 = plot_history(h)
    assert len(fig3.axes) == 2 and fig3.axes[1].lines[0].get_ydata().tolist() == [0.5, 0.8]
    assert dict(matplotlib.rcParams) == before
    plt.close("all")


def test_plot_bad_input():
    with pytest.raises(ValueError, match="weights must be a 2D"):
        plot_attention(torch.rand(2, 3, 3))
    with pytest.raises(ValueError, match="x_labels has 2 labels for 3 keys"):
        plot_attention(torch.rand(3, 3), x_labels=["a", "b"])
    with pytest.raises(ValueError, match="titles has 1 entries for 2 images"):
        show_images(torch.rand(2, 1, 4, 4), titles=["a"])
    with pytest.raises(ValueError, match="no recorded steps"):
        plot_history(History())
    plt.close("all")
