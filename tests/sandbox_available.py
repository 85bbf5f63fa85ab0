"""Whether the grader's kernel sandbox (bubblewrap) can run here; tests that need it are skipped otherwise.

In CI (``CI=true``) they are never skipped: `.ci/run` installs bubblewrap, and a missing sandbox there is a
failure, not a reason to skip.
"""
from __future__ import annotations

import os

import pytest

from vitcourse.grading.sandbox import IsolationUnavailable, probe_isolation

try:
    ISOLATION = probe_isolation()
    WHY = ""
except IsolationUnavailable as e:
    ISOLATION = None
    WHY = str(e)

needs_sandbox = pytest.mark.skipif(ISOLATION is None and os.environ.get("CI") != "true",
                                   reason=f"the grader's kernel sandbox is unavailable here: {WHY}")
