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
