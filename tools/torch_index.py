"""Which PyTorch build `make install` gets: prints the extra pip arguments for installing torch.

Run by the Makefile before the package is installed, so it uses the standard library only::

    python tools/torch_index.py --build auto --python .venv/bin/python   # prints e.g. "--extra-index-url URL"

Builds (``TORCH_BUILD``):
- ``cpu``: PyTorch's CPU-only wheels from https://download.pytorch.org/whl/cpu
  (on Linux and Windows the default index holds the CUDA build; macOS wheels
  are CPU/Apple-GPU builds already, so no extra index is needed there).
- ``cuda``: the default index (PyPI), whose Linux/Windows wheels bundle CUDA.
- ``auto`` (default): ``cuda`` when an NVIDIA driver is present
  (``nvidia-smi`` on PATH or ``/proc/driver/nvidia``), else ``cpu``.

No extra index is added when it is not needed, so set-ups that cannot reach
PyTorch's index still work: the right torch is already installed in the target
environment, or a matching wheel lies in a folder of pip's ``find-links``
(pip's configuration or ``PIP_FIND_LINKS``). Otherwise the index is probed
with a short timeout; when unreachable the script says so on stderr and exits
with status 3 rather than silently installing the (several GB) CUDA build.
"""
from __future__ import annotations

import argparse
import configparser
import os
import platform
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

TORCH_VERSION = "2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
BUILDS = ("auto", "cpu", "cuda")


def has_nvidia_driver(which=shutil.which, proc_dir: Path = Path("/proc/driver/nvidia")) -> bool:
    """Whether an NVIDIA driver is present: ``nvidia-smi`` on PATH or ``/proc/driver/nvidia`` exists."""
    return which("nvidia-smi") is not None or proc_dir.exists()


def resolve_build(build: str, *, nvidia: bool, system: str) -> str:
    """``auto`` -> ``cuda`` or ``cpu``; on macOS (``Darwin``) every build is ``default`` (PyPI has no CUDA there)."""
    if build not in BUILDS:
        raise ValueError(f"TORCH_BUILD must be one of {', '.join(BUILDS)}, got {build!r}")
    if system == "Darwin":
        return "default"
    if build == "auto":
        return "cuda" if nvidia else "cpu"
    return build


def pip_find_links(env=os.environ, config_files=None) -> list[str]:
    """The ``find-links`` locations pip is configured with (``PIP_FIND_LINKS`` and pip.conf files)."""
    links = env.get("PIP_FIND_LINKS", "").split()
    if config_files is None:
        home = Path.home()
        config_files = [Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"), home / ".pip" / "pip.conf",
                        home / ".config" / "pip" / "pip.conf"]
        if env.get("PIP_CONFIG_FILE"):
            config_files.append(Path(env["PIP_CONFIG_FILE"]))
        if env.get("VIRTUAL_ENV"):
            config_files.append(Path(env["VIRTUAL_ENV"]) / "pip.conf")
    for path in config_files:
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except (OSError, configparser.Error):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "find-links"):
                links += parser.get(section, "find-links").split()
    return links


def local_wheel(links: list[str], build: str, version: str = TORCH_VERSION) -> str | None:
    """A torch ``version`` wheel of ``build`` in a local find-links folder (CPU wheels carry ``+cpu``)."""
    for link in links:
        folder = Path(link[len("file://"):] if link.startswith("file://") else link)
        if not folder.is_dir():
            continue
        for wheel in sorted(folder.glob(f"torch-{version}*.whl")):
            local = re.match(rf"torch-{re.escape(version)}(\+[^-]+)?-", wheel.name)
            if not local:
                continue
            tag = (local.group(1) or "")[1:]
            if (build == "cpu" and tag == "cpu") or (build == "cuda" and tag != "cpu"):
                return str(wheel)
    return None


def installed_torch(python: str | None) -> str | None:
    """``torch.__version__`` in the environment of ``python`` (without importing torch), or None."""
    if not python or not (Path(python).exists() or shutil.which(python)):
        return None
    code = "import importlib.metadata as m; print(m.version('torch'))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def index_reachable(url: str = CPU_INDEX, timeout: float = 5.0) -> bool:
    """Whether PyTorch's wheel index answers within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def pip_args(build: str, *, system: str, nvidia: bool, installed: str | None, links: list[str],
             reachable=index_reachable) -> tuple[list[str], str]:
    """``(extra pip arguments, one-line reason)`` for installing ``torch==TORCH_VERSION``.

    Raises ``RuntimeError`` when the CPU build is wanted, is not available
    locally, and PyTorch's index cannot be reached.
    """
    chosen = resolve_build(build, nvidia=nvidia, system=system)
    why = {"auto": "NVIDIA driver found" if nvidia else "no NVIDIA driver found"}.get(build, f"TORCH_BUILD={build}")
    if chosen == "default":
        return [], f"torch {TORCH_VERSION} from PyPI (macOS wheels have no CUDA; MPS is used when present)"
    if chosen == "cuda":
        if system == "Windows":
            return [], (f"torch {TORCH_VERSION} from PyPI ({why}); PyPI's Windows wheels are CPU-only: for CUDA on "
                        f"Windows follow https://pytorch.org/get-started/locally/")
        return [], f"torch {TORCH_VERSION} CUDA build from PyPI ({why}; several GB with its nvidia-* packages)"
    if installed is not None and installed.split("+")[0] == TORCH_VERSION and installed.endswith("+cpu"):
        return [], f"torch {installed} (CPU build) is already installed"
    wheel = local_wheel(links, "cpu")
    if wheel:
        return [], f"torch {TORCH_VERSION} CPU build from a local wheel ({wheel})"
    if system == "Windows":  # PyPI's Windows wheels are CPU-only; the CUDA ones live on PyTorch's index
        return [], f"torch {TORCH_VERSION} CPU build from PyPI ({why})"
    if not reachable(CPU_INDEX):
        raise RuntimeError(
            f"the CPU build of PyTorch was chosen ({why}) but {CPU_INDEX} cannot be reached and no local "
            f"torch-{TORCH_VERSION}+cpu wheel is in pip's find-links. Either make that index reachable, put the "
            f"wheel in a folder and set PIP_FIND_LINKS=folder, or choose the build from PyPI with TORCH_BUILD=cuda "
            f"(several GB on Linux).")
    return ["--extra-index-url", CPU_INDEX], f"torch {TORCH_VERSION} CPU build from {CPU_INDEX} ({why})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/torch_index.py", description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.environ.get("TORCH_BUILD") or "auto",
                        help=f"one of {', '.join(BUILDS)} (default: $TORCH_BUILD or auto)")
    parser.add_argument("--python", help="the interpreter torch goes into (to see what is installed already)")
    args = parser.parse_args(argv)
    try:
        extra, reason = pip_args(args.build, system=platform.system(), nvidia=has_nvidia_driver(),
                                 installed=installed_torch(args.python), links=pip_find_links())
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 3
    print(f"installing {reason}", file=sys.stderr)
    print(" ".join(extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
