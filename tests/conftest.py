"""Shared test setup: fixture notebooks are data for tests, not notebooks to run."""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

collect_ignore_glob = ["fixtures/*"]


@pytest.fixture
def torch_oracles(monkeypatch):
    """For tests whose "correct solution" is torch's own module (an independent oracle), which the task's
    rule forbids learners: the rule (`vitcourse.checks.rule_violations`, tested in test_checks.py) is off."""
    import vitcourse.checks

    monkeypatch.setattr(vitcourse.checks, "rule_violations", lambda c, fn: [])


@pytest.fixture(scope="module")
def browser():
    """One headless system Chromium per test module (`vitcourse.webcheck`); skips where there is none."""
    from vitcourse import webcheck

    why = webcheck.unavailable()
    if why:
        pytest.skip(f"browser tests need the playwright package and a system Chromium: {why}")
    with webcheck.Browser() as b:
        yield b


@pytest.fixture
def english(monkeypatch):
    """A session with no language set, run from a folder that is not a Korean notebook's (the repo root)."""
    from vitcourse.notebooks import ROOT

    monkeypatch.delenv("VITCOURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(ROOT)


@pytest.fixture
def korean(monkeypatch, english):
    """A session whose messages are in Korean."""
    monkeypatch.setenv("VITCOURSE_LANG", "ko")
