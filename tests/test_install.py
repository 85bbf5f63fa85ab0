"""tools/torch_index.py: which PyTorch build `make install` gets (no network: the probe and the driver are faked)."""
import importlib.util
import subprocess
import sys

import pytest

from vitcourse.notebooks import ROOT

_spec = importlib.util.spec_from_file_location("torch_index", ROOT / "tools" / "torch_index.py")
torch_index = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_index)
CPU = ["--extra-index-url", torch_index.CPU_INDEX]


def _never_called(url):
    raise AssertionError(f"the index {url} must not be probed here")


def _args(build="auto", *, system="Linux", nvidia=False, installed=None, links=(), reachable=lambda url: True):
    return torch_index.pip_args(build, system=system, nvidia=nvidia, installed=installed, links=list(links),
                                reachable=reachable)[0]


def test_nvidia_driver_is_detected_by_nvidia_smi_or_proc(tmp_path):
    absent = tmp_path / "no-driver"
    assert torch_index.has_nvidia_driver(which=lambda name: None, proc_dir=absent) is False
    assert torch_index.has_nvidia_driver(which=lambda name: "/usr/bin/nvidia-smi", proc_dir=absent) is True
    (tmp_path / "nvidia").mkdir()
    assert torch_index.has_nvidia_driver(which=lambda name: None, proc_dir=tmp_path / "nvidia") is True


def test_cpu_index_without_nvidia_driver_and_pypi_with_one():
    assert _args(nvidia=False) == CPU
    assert _args(nvidia=True, reachable=_never_called) == []
    assert _args("cpu", nvidia=True) == CPU  # asked for explicitly
    assert _args("cuda", nvidia=False, reachable=_never_called) == []
    assert _args(system="Darwin", reachable=_never_called) == []  # macOS wheels have no CUDA
    assert _args(system="Windows", reachable=_never_called) == []  # PyPI's Windows wheels are CPU-only


def test_no_index_when_the_cpu_build_is_installed_or_in_find_links(tmp_path):
    assert _args(installed="2.13.0+cpu", reachable=_never_called) == []
    assert _args(installed="2.12.0+cpu") == CPU  # wrong version: install from the index
    assert _args(installed="2.13.0") == CPU  # the CUDA build is installed, the CPU one is asked for
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    assert _args(links=[str(tmp_path)], reachable=_never_called) == []
    assert _args(links=[f"file://{tmp_path}"], reachable=_never_called) == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")  # a CUDA wheel
    assert _args(links=[str(other)]) == CPU


def test_unreachable_index_fails_fast_with_a_fix():
    with pytest.raises(RuntimeError, match="cannot be reached.*PIP_FIND_LINKS.*TORCH_BUILD=cuda"):
        _args(reachable=lambda url: False)


def test_unknown_build_names_the_choices():
    with pytest.raises(ValueError, match="TORCH_BUILD must be one of auto, cpu, cuda, got 'gpu'"):
        _args("gpu")


def test_find_links_are_read_from_pip_config_and_environment(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = /opt/a\n  /opt/b\n[install]\nfind-links = /opt/c\n")
    links = torch_index.pip_find_links(env={"PIP_FIND_LINKS": "/opt/env"}, config_files=[conf, tmp_path / "none"])
    assert links == ["/opt/env", "/opt/a", "/opt/b", "/opt/c"]


def test_command_line_prints_the_pip_arguments_and_the_reason(tmp_path):
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    env = {"PATH": "/usr/bin:/bin", "PIP_FIND_LINKS": str(tmp_path), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py"), "--build", "cpu"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "" and "CPU build from a local wheel" in out.stderr
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py"), "--build", "gpu"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and "auto, cpu, cuda" in out.stderr


def test_makefile_uses_the_script_and_help_lists_every_variable():
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/torch_index.py --build" in makefile
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    for var in ("PYTHON", "VENV", "USE_ACTIVE_ENV", "TORCH_BUILD", "JOBS", "PYTEST_ARGS", "PORT", "LAB_FLAGS", "NB",
                "FORCE", "SUBMISSIONS", "OUT"):
        assert f"  {var}=" in out.stdout, f"make help does not list {var}"


def test_use_active_env_installs_into_the_active_environment(tmp_path):
    out = subprocess.run(["make", "-n", "--no-print-directory", "lab", "USE_ACTIVE_ENV=1", f"CONDA_PREFIX={tmp_path}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"{tmp_path}/bin/python -m pip install" in out.stdout and ".venv" not in out.stdout
    out = subprocess.run(["make", "-n", "lab", "USE_ACTIVE_ENV=1", "CONDA_PREFIX=", "VIRTUAL_ENV="], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "conda activate" in out.stderr
