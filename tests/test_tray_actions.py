"""Tray actions run fixed argument lists: checked here with stand-in programs on PATH that
record how they were called (wsl.exe and xdg-open do not exist on this machine)."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.config.schema import ReclaimConfig
from wslwatch.reclaim.controller import Controller
from wslwatch.reclaim.guest import WslGuest
from wslwatch.tray.actions import PageCacheDropper, open_path

RECORDER = """#!{python}
import json, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stderr.write({stderr!r})
sys.exit({code})
"""


def install(bin_dir: Path, name: str, log: Path, code: int = 0, stderr: str = "") -> None:
    program = bin_dir / name
    program.write_text(RECORDER.format(python=sys.executable, log=str(log), code=code, stderr=stderr))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def calls(log: Path, count: int = 1) -> list[list[str]]:
    deadline = time.monotonic() + 10
    while not (log.exists() and len(log.read_text().splitlines()) >= count) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    return path


def _dropper(bin_dir: Path, told: list[str]) -> PageCacheDropper:
    """The tray's dropper as the daemon wires it: the reclaim controller, from Windows, through
    the stand-in wsl.exe in `bin_dir`, in the running distro "Ubuntu"."""
    wsl = WslExe(str(bin_dir / "wsl.exe"), timeout_s=10)
    controller = Controller(ReclaimConfig(), lambda: WslGuest(wsl, "Ubuntu"), lambda: None, told.append)
    return PageCacheDropper(controller.give_back_now)


def test_drop_runs_the_controllers_constant_commands(bin_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    install(bin_dir, "wsl.exe", tmp_path / "wsl.log")  # says nothing: no memory.stat, an empty meminfo
    told: list[str] = []
    outcomes: list[str] = []
    _dropper(bin_dir, told).start(outcomes.append).join(10)
    prefix = ["-d", "Ubuntu", "-u", "root", "--exec"]
    assert calls(tmp_path / "wsl.log", 5) == [
        prefix + ["cat", "/sys/fs/cgroup/memory.stat"],
        prefix + ["cat", "/proc/meminfo"],
        prefix + ["sh", "-c", 'printf "%s" "$1" > "$2"', "wslwatch-reclaim", "1", "/proc/sys/vm/drop_caches"],
        prefix + ["sh", "-c", 'printf "%s" "$1" > "$2"', "wslwatch-reclaim", "1", "/proc/sys/vm/compact_memory"],
        prefix + ["cat", "/sys/fs/cgroup/memory.stat"],
        prefix + ["cat", "/proc/meminfo"],
    ]
    assert outcomes[0].startswith("freed 0.0 GB of page cache in the WSL guest (drop_caches) in ")
    assert told == outcomes and outcomes[0] in caplog.text


def test_a_failed_drop_says_why(bin_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    install(bin_dir, "wsl.exe", tmp_path / "wsl.log", code=1, stderr="cat: /proc/meminfo: Permission denied")
    outcome = _dropper(bin_dir, []).run()
    assert outcome == (
        "could not give memory back to Windows: cannot read the guest's memory: cat: /proc/meminfo: Permission denied"
    )
    assert outcome in caplog.text


def test_open_path_hands_the_file_to_xdg_open(bin_dir: Path, tmp_path: Path) -> None:
    install(bin_dir, "xdg-open", tmp_path / "open.log")
    config = tmp_path / "wslwatch.toml"
    open_path(config)
    assert calls(tmp_path / "open.log") == [[str(config)]]
