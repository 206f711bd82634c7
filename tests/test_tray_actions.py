"""Tray actions run fixed argument lists: checked here with stand-in programs that record how
they were called (wsl.exe, from `fake_wsl.py`, and xdg-open do not exist on this machine)."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from fake_wsl import FakeWsl, fake_wsl

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.config.schema import ReclaimConfig
from wslwatch.reclaim.controller import Controller
from wslwatch.reclaim.guest import running_wsl_guest
from wslwatch.tray.actions import PageCacheDropper, open_path

__all__ = ["fake_wsl"]  # the fixture, used by name

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


def _dropper(wsl: WslExe, told: list[str] | None = None) -> PageCacheDropper:
    """The tray's dropper as the daemon wires it on Windows: the reclaim controller's give-back
    through `wsl` in a running distro."""
    controller = Controller(ReclaimConfig(), lambda: running_wsl_guest(wsl), lambda: None, (told if told is not None else []).append)
    return PageCacheDropper(controller.give_back_now)


def test_drop_runs_the_controllers_constant_commands_in_a_running_distro_with_wsl_utf8(
    fake_wsl: FakeWsl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_wsl.change(installed=["Ubuntu-20.04", "docker-desktop"], running=["docker-desktop"])  # default stopped
    told: list[str] = []
    outcomes: list[str] = []
    _dropper(WslExe(fake_wsl.path), told).start(outcomes.append).join(10)
    as_root = ["-d", "docker-desktop", "-u", "root", "--exec"]  # recorded; the stand-in answers nothing
    write = ["sh", "-c", 'printf "%s" "$1" > "$2"', "wslwatch-reclaim", "1"]
    assert fake_wsl.calls() == [
        ["--list", "--running", "--quiet"],
        as_root + ["cat", "/sys/fs/cgroup/memory.stat"],
        as_root + ["cat", "/proc/meminfo"],
        as_root + write + ["/proc/sys/vm/drop_caches"],
        as_root + write + ["/proc/sys/vm/compact_memory"],
        as_root + ["cat", "/sys/fs/cgroup/memory.stat"],
        as_root + ["cat", "/proc/meminfo"],
    ]
    assert fake_wsl.utf8_requests() == {"1"}
    assert outcomes[0].startswith("freed 0.0 GB of page cache in the WSL guest (drop_caches) in ")
    assert told == outcomes and outcomes[0] in caplog.text


def test_with_no_distro_running_nothing_is_started(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(running=[])
    outcome = _dropper(WslExe(fake_wsl.path)).run()
    assert outcome == "did not give memory back: no WSL distro runs, and the VM is never woken to give memory back"
    assert fake_wsl.execs() == []


def test_a_failed_drop_says_why(fake_wsl: FakeWsl, caplog: pytest.LogCaptureFixture) -> None:
    fake_wsl.change(installed=["Other"])  # unregistered after it was listed as running
    outcome = _dropper(WslExe(fake_wsl.path)).run()
    assert outcome.startswith(
        "could not give memory back to Windows: cannot read the guest's memory: There is no distribution with the"
    )
    assert outcome in caplog.text


def test_a_missing_or_hanging_wsl_exe(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    assert _dropper(WslExe(str(tmp_path / "absent.exe"))).run().startswith(
        f"did not give memory back: {tmp_path / 'absent.exe'} was not found: WSL is not installed"
    )
    fake_wsl.change(sleep=30)
    slow = _dropper(WslExe(fake_wsl.path, timeout_s=0.3))
    assert slow.run().endswith("--list --running --quiet` did not finish within 0.3s and was stopped")


def test_open_path_hands_the_file_to_xdg_open(bin_dir: Path, tmp_path: Path) -> None:
    install(bin_dir, "xdg-open", tmp_path / "open.log")
    config = tmp_path / "wslwatch.toml"
    open_path(config)
    assert calls(tmp_path / "open.log") == [[str(config)]]
