"""Shared test setup: fixture notebooks are data for tests, not notebooks to run."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

collect_ignore_glob = ["fixtures/*"]
