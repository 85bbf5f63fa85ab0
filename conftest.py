"""Repository-wide pytest hooks: a closing line that says what `make test` covered."""
from collections import Counter

_counts: Counter = Counter()
_notebooks: set = set()


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    path = report.nodeid.split("::")[0]
    kind = "notebook cells" if path.endswith(".ipynb") else "unit tests"
    if path.endswith(".ipynb"):
        _notebooks.add(path)
    _counts[(kind, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter):
    if not _counts:
        return
    parts = []
    for kind in ("unit tests", "notebook cells"):
        total = sum(v for (k, _), v in _counts.items() if k == kind)
        if total:
            detail = ", ".join(f"{v} {o}" for (k, o), v in sorted(_counts.items()) if k == kind)
            extra = f" in {len(_notebooks)} notebooks" if kind == "notebook cells" else ""
            parts.append(f"{total} {kind}{extra} ({detail})")
    terminalreporter.write_line("vitcourse: ran " + "; ".join(parts))
