"""Repository-wide pytest hooks: a closing line that says what `make test` covered."""
from collections import Counter

_counts: Counter = Counter()
_notebooks: set = set()
_seconds: Counter = Counter()  # notebook -> sum of its cells' run times (setup, call and teardown)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += getattr(report, "duration", 0.0) or 0.0
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
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
    if _seconds:
        terminalreporter.write_line("vitcourse: notebook run times (sum of cell times, kernel start included):")
        for path, seconds in sorted(_seconds.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"  {seconds:7.1f} s  {path}")
    terminalreporter.write_line("vitcourse: ran " + "; ".join(parts))
