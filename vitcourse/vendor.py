"""reveal.js and MathJax for the decks and the site, installed at build time from the npm registry (pinned by
the committed ``package.json`` + ``package-lock.json``, ``npm ci`` into ``build/npm``) and copied next to the built
HTML; and the scan that fails a build whose files reach for a CDN or any other external resource.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from .notebooks import ROOT

__all__ = [
    "BuildError",
    "CDN_HOSTS",
    "VENDOR_FILES",
    "NPM_DIR",
    "install_vendor",
    "copy_vendor",
    "find_cdn_references",
    "find_external_resources",
]

NPM_DIR = ROOT / "build" / "npm"

#: Hosts that serve JavaScript/CSS/fonts to web pages; none may appear in a built file.
CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.cloudflare.com",
    "cdn.mathjax.org",
    "code.jquery.com",
    "ajax.googleapis.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.plot.ly",
    "bootstrapcdn.com",
    "cdn.skypack.dev",
    "esm.sh",
    "esm.run",
    "jspm.io",
    "cdn.rawgit.com",
    "rawcdn.githack.com",
    "cdn.statically.io",
    "ajax.aspnetcdn.com",
    "polyfill.io",
)

#: Files copied from node_modules (relative paths; a trailing "/" copies a folder).
VENDOR_FILES = {
    "reveal.js": [
        "LICENSE",
        "dist/reveal.js",
        "dist/reveal.css",
        "dist/reset.css",
        "dist/theme/white.css",
        "dist/plugin/notes.js",
        "dist/plugin/zoom.js",
        "dist/plugin/search.js",
    ],
    "mathjax": [
        "LICENSE",
        "es5/startup.js",
        "es5/core.js",
        "es5/input/tex.js",
        "es5/input/tex/",
        "es5/output/chtml.js",
        "es5/output/chtml/",
    ],
}


class BuildError(RuntimeError):
    """The build could not finish (npm missing, a built file points to a CDN, ...)."""


# ----------------------------------------------------------------------------- vendor (npm)


def install_vendor(
    npm_dir: Path = NPM_DIR, *, package_dir: Path = ROOT, quiet: bool = True, install: bool = True
) -> Path:
    """``npm ci`` the pinned browser packages into ``npm_dir`` (skipped when the lock file is unchanged).

    Returns the ``node_modules`` folder. Raises `BuildError` when npm is missing or fails, or, with
    ``install=False`` (tests), when the packages are not installed yet (``make vendor`` installs them).
    """
    npm_dir = Path(npm_dir)
    lock = Path(package_dir) / "package-lock.json"
    manifest = Path(package_dir) / "package.json"
    if not lock.is_file() or not manifest.is_file():
        raise BuildError(f"package.json and package-lock.json must exist in {package_dir}")
    digest = hashlib.sha256(manifest.read_bytes() + lock.read_bytes()).hexdigest()
    stamp = npm_dir / ".vitcourse-lock-sha256"
    modules = npm_dir / "node_modules"
    if (
        stamp.is_file()
        and stamp.read_text() == digest
        and all((modules / pkg / files[0]).exists() for pkg, files in VENDOR_FILES.items())
    ):
        return modules
    if not install:
        raise BuildError(
            f"reveal.js and MathJax are not installed in {modules} at the versions of package-lock.json: "
            "run `make vendor` (npm ci) first"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is needed to install reveal.js and MathJax (Node.js >= 18); install Node.js and retry")
    npm_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(manifest, npm_dir / "package.json")
    shutil.copy2(lock, npm_dir / "package-lock.json")
    cmd = [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]
    proc = subprocess.run(cmd, cwd=npm_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(
            f"`{' '.join(cmd[1:])}` failed in {npm_dir} (exit {proc.returncode}); the first install "
            f"needs the npm registry, later builds reuse {modules}:\n{proc.stderr[-2000:]}"
        )
    if not quiet:
        print(proc.stdout.strip())
    stamp.write_text(digest)
    return modules


def copy_vendor(node_modules: Path, dest: Path) -> Path:
    """Copy the files the pages need (`VENDOR_FILES`) from ``node_modules`` to ``dest`` (e.g. ``out/vendor``)."""
    dest = Path(dest)
    for pkg, files in VENDOR_FILES.items():
        src_root = Path(node_modules) / pkg
        dst_root = dest / pkg
        for rel in files:
            src = src_root / rel
            # es5/ is MathJax's build folder; drop it so pages say vendor/mathjax/startup.js
            dst = dst_root / (rel[len("es5/") :] if rel.startswith("es5/") else rel)
            if rel.endswith("/"):
                if not src.is_dir():
                    raise BuildError(f"{src} is missing: is {pkg} installed at the version in package-lock.json?")
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                if not src.is_file():
                    raise BuildError(f"{src} is missing: is {pkg} installed at the version in package-lock.json?")
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    return dest


# ----------------------------------------------------------------------------- offline scan


def find_cdn_references(folder: Path, hosts=CDN_HOSTS) -> list[str]:
    """``"path: host"`` for every file under ``folder`` whose bytes mention a CDN host."""
    hits = []
    needles = [h.encode() for h in hosts]
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            hits += [f"{p.relative_to(folder)}: {n.decode()}" for n in needles if n in data]
    return hits


_RESOURCE_TAG = re.compile(r"<(script|link|img|iframe|source|video|audio|embed|object|input|track)\b[^>]*>", re.I)
_EXTERNAL_ATTR = re.compile(r"\b(?:src|href|data|srcset|poster)\s*=\s*[\"']?\s*((?:https?:)?//[^\"'\s>]+)", re.I)
_CSS_URL = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])\s*((?:https?:)?//[^\"')\s]+)", re.I)
_LOADING_REL = re.compile(r"rel\s*=\s*[\"']?[^\"'>]*\b(stylesheet|preload|modulepreload|prefetch|icon|manifest)", re.I)
_JS_IMPORT = re.compile(r"\bimport\s*(?:[^\"';]*?from\s*)?[\"']((?:https?:)?//[^\"']+)", re.I)


def find_external_resources(folder: Path) -> list[str]:
    """``"path: url"`` for every script, style sheet, image, font or module an HTML/CSS file loads from the web.

    Plain ``<a href>`` links are allowed (they load nothing until clicked).
    """
    hits = []
    for p in sorted(Path(folder).rglob("*")):
        if not p.is_file() or p.suffix not in (".html", ".htm", ".css"):
            continue
        text = p.read_text(errors="replace")
        urls = [
            u
            for tag in _RESOURCE_TAG.finditer(text)  # <link rel=canonical> etc. load nothing
            if tag.group(1).lower() != "link" or _LOADING_REL.search(tag.group(0))
            for u in _EXTERNAL_ATTR.findall(tag.group(0))
        ]
        urls += _CSS_URL.findall(text) + _JS_IMPORT.findall(text)
        hits += [f"{p.relative_to(folder)}: {u}" for u in urls]
    return hits


def _check_offline(out: Path) -> None:
    problems = find_cdn_references(out) + find_external_resources(out)
    if problems:
        raise BuildError(
            f"built files under {out} point to the web ({len(problems)}):\n  " + "\n  ".join(problems[:40])
        )
