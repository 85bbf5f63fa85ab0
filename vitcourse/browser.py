"""A minimal headless Chromium driver (DevTools protocol over a websocket) for testing built pages.

Used by ``tests/test_site.py`` to open each deck and the site index the way a
viewer would, offline::

    with Chromium() as browser:
        page = browser.open("file:///.../build/site/index.html")
        page.wait_for("window.vitcourseMathDone === true")
        page.evaluate("document.querySelectorAll('mjx-container').length")
        page.screenshot("build/screenshots/index.png")
        page.requests   # every URL the page asked for; page.errors: exceptions, console errors, failed loads

Chromium is Debian's ``chromium`` package (`find_chromium` / `install_chromium`),
started with ``--headless --no-sandbox`` and background networking off. Every
request that is not ``file:``/``data:``/``about:``/``blob:`` is blocked, so a page
that needs the network shows up in ``errors`` and ``requests``.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["Chromium", "Page", "find_chromium", "install_chromium", "BrowserError"]

LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome-error:", "devtools:")


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None (``$CHROMIUM`` first)."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def install_chromium(timeout: float = 900) -> tuple[str | None, str]:
    """Install Debian's ``chromium`` (and ``fonts-nanum``, Korean glyphs for the screenshots) with apt-get when
    chromium is missing; returns (path or None, why not)."""
    found = find_chromium()
    if found:
        return found, ""
    apt = shutil.which("apt-get")
    if apt is None:
        return None, "chromium is not installed and apt-get does not exist here (not Debian/Ubuntu)"
    if os.geteuid() != 0:
        return None, "chromium is not installed and installing it with apt-get needs root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-q", "--no-install-recommends"]
    for cmd, required in (([apt, "update", "-q"], False), (install + ["chromium"], True),
                          (install + ["fonts-nanum"], False)):  # Korean glyphs in screenshots: nice to have
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            if required:
                return None, f"`{' '.join(cmd)}` took more than {timeout:.0f} s"
            continue
        if proc.returncode != 0 and required:
            return None, f"`{' '.join(cmd[:2])} chromium` failed (exit {proc.returncode}):\n{proc.stderr[-1500:]}"
    found = find_chromium()
    return (found, "") if found else (None, "apt-get installed chromium but no executable was found on PATH")


class Page:
    """One browser tab, driven over its DevTools websocket."""

    def __init__(self, ws_url: str, timeout: float = 30):
        import websocket  # websocket-client (a jupyter_server dependency)

        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._id = 0
        self._events: list[dict] = []
        self._url_of: dict[str, str] = {}
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.timeout = timeout
        for method in ("Page.enable", "Runtime.enable", "Network.enable", "Log.enable"):
            self.send(method)
        # Nothing but local files may load: an attempt to fetch from the web is blocked and recorded.
        self.send("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*", "ftp://*"])
        self.send("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1, mobile=False)

    # -- protocol
    def send(self, method: str, **params):
        self._id += 1
        msg_id = self._id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method} failed: {msg['error']}")
                return msg.get("result", {})
            self._handle(msg)
        raise BrowserError(f"no answer to {method} within {self.timeout} s")

    def _handle(self, msg: dict) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Network.loadingFailed":
            self.errors.append(f"load failed ({p.get('errorText')}, {p.get('blockedReason', '')}): "
                               f"{self._url_of.get(p.get('requestId'), p.get('requestId'))}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append(f"console: {e.get('text')} {e.get('url', '')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                          for a in p.get("args", [])))
        if method == "Network.requestWillBeSent":
            self._url_of[p["requestId"]] = p["request"]["url"]
        self._events.append(msg)


    def pump(self, seconds: float) -> None:
        """Process events for ``seconds``."""
        deadline = time.monotonic() + seconds
        self._ws.settimeout(0.05)
        try:
            while time.monotonic() < deadline:
                try:
                    self._handle(json.loads(self._ws.recv()))
                except Exception as e:  # websocket timeout: nothing to read
                    if type(e).__name__ not in ("WebSocketTimeoutException", "TimeoutError"):
                        raise
        finally:
            self._ws.settimeout(self.timeout)

    # -- high level
    def navigate(self, url: str, timeout: float | None = None) -> None:
        self._url_of = {}
        self.requests, self.errors = [], []
        self._events = []
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            if any(e.get("method") == "Page.loadEventFired" for e in self._events):
                return
            self.pump(0.1)
        raise BrowserError(f"{url} did not finish loading within {timeout or self.timeout} s")

    def evaluate(self, expression: str, await_promise: bool = False):
        """Value of a JavaScript expression (JSON-serialisable results only)."""
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            why = d.get("exception", {}).get("description") or d.get("text")
            raise BrowserError(f"{expression[:80]!r} threw: {why}")
        return r.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> bool:
        """Poll until ``expression`` is truthy; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"!!({expression})"):
                return True
            self.pump(0.1)
        return False

    def screenshot(self, path: str | os.PathLike) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def web_requests(self) -> list[str]:
        """Requests this page made that were not for local files or inline data."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass


class Chromium:
    """Headless Chromium with a throwaway profile; a context manager that kills it on exit."""

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-sync", "--metrics-recording-only", "--disable-default-apps", "--mute-audio",
             "--disable-dev-shm-usage", "--allow-file-access-from-files", "--hide-scrollbars",
             "--disable-popup-blocking",  # reveal.js opens its speaker view with window.open
             "--window-size=1280,800")

    def __init__(self, executable: str | None = None, timeout: float = 30):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("no chromium executable found (apt-get install chromium, or set $CHROMIUM)")
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="vitcourse-chromium-")
        self.proc = None
        self.page: Page | None = None
        self._extra: list[Page] = []

    def __enter__(self) -> "Chromium":
        profile = Path(self._tmp.name)
        cmd = [self.executable, *self.FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
               "about:blank"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self.proc.returncode}: {self.proc.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise BrowserError(f"chromium did not open its DevTools port within {self.timeout} s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        self.port = port
        targets = self._json(f"http://127.0.0.1:{port}/json/list")
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise BrowserError(f"chromium has no page target: {targets}")
        self.page = Page(pages[0]["webSocketDebuggerUrl"], timeout=self.timeout)
        return self

    @staticmethod
    def _json(url: str):
        import urllib.request

        with urllib.request.urlopen(url, timeout=10) as r:  # the local DevTools endpoint only
            return json.loads(r.read().decode())

    def targets(self) -> list[dict]:
        """The browser's open tabs and windows (DevTools ``/json/list``)."""
        return self._json(f"http://127.0.0.1:{self.port}/json/list")

    def attach(self, title_or_url: str) -> Page:
        """A `Page` for another open window (e.g. reveal.js's speaker view) found by title or URL substring."""
        for t in self.targets():
            if t.get("type") == "page" and (title_or_url in t.get("title", "") or title_or_url in t.get("url", "")):
                page = Page(t["webSocketDebuggerUrl"], timeout=self.timeout)
                self._extra.append(page)
                return page
        raise BrowserError(f"no open page whose title or URL contains {title_or_url!r}")

    def open(self, url: str) -> Page:
        self.page.navigate(url)
        return self.page

    def __exit__(self, *exc) -> None:
        for page in [self.page, *self._extra]:
            if page is not None:
                page.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()
