"""`make lab` / `make lab-ko` start JupyterLab on the course's start page, and the URL they print opens it."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from vitcourse.notebooks import ROOT


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


@pytest.mark.parametrize("target, start, title", [
    ("lab", "notebooks/00_start_here.ipynb", "Start here"),
    ("lab-ko", "notebooks/ko/00_start_here.ipynb", "여기서 시작하세요"),
])
def test_make_lab_serves_and_prints_the_start_page(tmp_path, target, start, title):
    port, token = _free_port(), "vitcourse-test-token"
    flags = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    env["JUPYTER_PATH"] = ""
    proc = subprocess.Popen(["make", "--no-print-directory", target, f"PORT={port}", f"LAB_FLAGS={flags}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env,
                            text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    printed = re.compile(rf"http://127\.0\.0\.1:{port}(/\S*)\?token=")
    try:
        status = None
        for _ in range(240):
            try:
                code, body = _get(f"http://127.0.0.1:{port}/api/status?token={token}")
                status = json.loads(body)
                if any(printed.search(ln) for ln in lines):
                    break
            except OSError:
                if proc.poll() is not None:
                    reader.join(5)
                    raise AssertionError(f"make {target} exited early:\n{''.join(lines)}") from None
            time.sleep(0.5)
        assert status is not None, f"JupyterLab did not answer within 120 s:\n{''.join(lines)}"
        assert "started" in status
        # the URL printed for --no-browser (what a user copies into a browser) opens the start notebook
        urls = [m.group(1) for ln in lines for m in [printed.search(ln)] if m]
        assert urls and all(u == f"/lab/tree/{start}" for u in urls), "".join(lines)
        code, page = _get(f"http://127.0.0.1:{port}{urls[0]}?token={token}")
        assert code == 200 and "JupyterLab" in page
        # / redirects there too
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={token}", timeout=10) as r:
            assert urlsplit(r.geturl()).path == f"/lab/tree/{start}"
        code, body = _get(f"http://127.0.0.1:{port}/api/contents/{start}?token={token}")
        nb = json.loads(body)
        assert code == 200 and nb["type"] == "notebook"
        assert title in nb["content"]["cells"][0]["source"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
