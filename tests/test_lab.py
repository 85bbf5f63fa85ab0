"""`make lab` starts JupyterLab on the course's start page."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from vitcourse.notebooks import ROOT


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_make_lab_serves_the_start_page(tmp_path):
    port, token = _free_port(), "vitcourse-test-token"
    flags = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    env["JUPYTER_PATH"] = ""
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_FLAGS={flags}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        status = None
        for _ in range(120):
            try:
                code, body = _get(f"http://127.0.0.1:{port}/api/status?token={token}")
                status = json.loads(body)
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(f"make lab exited early:\n{proc.stdout.read().decode()}")
                time.sleep(0.5)
        assert status is not None, "JupyterLab did not answer within 60 s"
        assert "started" in status
        code, page = _get(f"http://127.0.0.1:{port}/lab/tree/notebooks/00_start_here.ipynb?token={token}")
        assert code == 200 and "JupyterLab" in page
        code, body = _get(f"http://127.0.0.1:{port}/api/contents/notebooks/00_start_here.ipynb?token={token}")
        nb = json.loads(body)
        assert code == 200 and nb["type"] == "notebook"
        assert "Start here" in nb["content"]["cells"][0]["source"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
