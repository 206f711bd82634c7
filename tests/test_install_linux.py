"""The README's WSL/Linux install, run verbatim the way a new user runs it: Debian's own
python3 (externally managed: plain `pip install` refuses) through Debian's pipx, in a fresh
home, from a clone of the repository; then `wslwatch run` serves /metrics and `wslwatch install`
writes the autostart entry that starts the pipx-installed wslwatch."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from checkout import copy_checkout
from daemon_process import DaemonProcess
from readme import readme_command
from rigs import need

DEBIAN_PYTHON = Path("/usr/bin/python3")
PIPX = Path("/usr/bin/pipx")


@pytest.fixture(scope="module")
def pipx_user(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh user's environment after the README's `pipx install .` in a clone."""
    need(PIPX.exists() and DEBIAN_PYTHON.exists(), "Debian's pipx and python3 (tests/debian-packages.txt)")
    need((DEBIAN_PYTHON.parent / "python3").resolve().parent == Path("/usr/bin"), "Debian's own /usr/bin/python3")
    root = tmp_path_factory.mktemp("pipx-user")
    home, bin_dir = root / "home", root / "home/.local/bin"
    env = {
        "HOME": str(home),
        "PATH": f"{bin_dir}:/usr/bin:/bin",  # Debian's python3 first, no pyenv, no venv
        "PIPX_HOME": str(home / ".local/pipx"),
        "PIPX_BIN_DIR": str(bin_dir),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "VIRTUAL_ENV": "",
        "DISPLAY": "",
        "PYTHONPATH": "",
    }
    clone = copy_checkout(root / "wslwatch")
    install = subprocess.run(
        ["bash", "-c", readme_command("pipx install")], cwd=clone, env=_with_system(env),
        capture_output=True, text=True, timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return env


def _with_system(env: dict[str, str]) -> dict[str, str]:
    """`env` plus this machine's pip settings (its index and certificates), nothing else of ours."""
    kept = {key: value for key, value in os.environ.items() if key.startswith(("PIP_", "LANG", "LC_", "TMPDIR"))}
    return {**kept, **env}


def test_pipx_installs_wslwatch_on_debians_python(pipx_user: dict[str, str]) -> None:
    installed = shutil.which("wslwatch", path=pipx_user["PATH"])
    assert installed == f"{pipx_user['PIPX_BIN_DIR']}/wslwatch"
    venv_cfg = (Path(pipx_user["PIPX_HOME"]) / "venvs/wslwatch/pyvenv.cfg").read_text()
    assert "home = /usr/bin\n" in venv_cfg, venv_cfg


def test_the_readme_run_command_serves_metrics(pipx_user: dict[str, str]) -> None:
    # `wslwatch run` as written; the user's own config (here: a free port, never a fixed one).
    config = Path(pipx_user["XDG_CONFIG_HOME"]) / "wslwatch/wslwatch.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[exporter]\nport = 0\n")
    daemon = DaemonProcess(shlex.split(readme_command("wslwatch run")), _with_system(pipx_user))
    try:
        url = daemon.wait_serving(timeout=30)
        deadline = time.monotonic() + 30  # serving comes first; the collectors report just after
        body = urllib.request.urlopen(url, timeout=10).read().decode()
        while "wslwatch_host_memory_total_bytes " not in body and time.monotonic() < deadline:
            time.sleep(0.2)
            body = urllib.request.urlopen(url, timeout=10).read().decode()
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    assert 'wslwatch_build_info{version="' in body
    assert "wslwatch_host_memory_total_bytes " in body


def test_the_readme_autostart_command_starts_the_pipx_wslwatch(pipx_user: dict[str, str]) -> None:
    env = _with_system(pipx_user)
    done = subprocess.run(shlex.split(readme_command("wslwatch install")), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    entry = (Path(pipx_user["XDG_CONFIG_HOME"]) / "autostart/wslwatch.desktop").read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    program = shlex.split(exec_line.removeprefix("Exec="))[0]
    assert program.startswith(pipx_user["PIPX_HOME"]), exec_line
    started = subprocess.run(
        [program, "-m", "wslwatch", "--version"], cwd=pipx_user["HOME"], capture_output=True, text=True, timeout=60
    )
    assert started.stdout.startswith("wslwatch "), started.stdout + started.stderr
    undo = subprocess.run(["wslwatch", "uninstall"], env=env, capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert not (Path(pipx_user["XDG_CONFIG_HOME"]) / "autostart/wslwatch.desktop").exists()
