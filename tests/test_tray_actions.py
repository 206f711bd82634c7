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
from wslwatch.tray.actions import DROP_PAGE_CACHE, PageCacheDropper, open_path

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


def test_the_drop_command_is_a_constant() -> None:
    assert DROP_PAGE_CACHE == ("-u", "root", "--exec", "sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches")


def test_no_wsl_exe_no_dropper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert PageCacheDropper.find() is None


def test_drop_runs_the_fixed_argv_in_a_running_distro_with_wsl_utf8(
    fake_wsl: FakeWsl, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("PATH", f"{fake_wsl.folder}{os.pathsep}{os.environ['PATH']}")
    fake_wsl.change(installed=["Ubuntu-20.04", "docker-desktop"], running=["docker-desktop"])  # default stopped
    dropper = PageCacheDropper.find()
    assert dropper is not None
    outcomes: list[str] = []
    dropper.start(outcomes.append).join(10)
    assert fake_wsl.calls() == [["--list", "--running", "--quiet"], ["-d", "docker-desktop", *DROP_PAGE_CACHE]]
    assert fake_wsl.utf8_requests() == {"1"}
    assert outcomes == ["dropped the WSL page cache"]
    assert "dropped the WSL page cache" in caplog.text


def test_with_no_distro_running_nothing_is_started(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(running=[])
    outcome = PageCacheDropper(WslExe(fake_wsl.path)).run()
    assert outcome == "no WSL distro is running, so there is no page cache to drop (nothing was started)"
    assert fake_wsl.execs() == []


def test_a_failed_drop_says_why(fake_wsl: FakeWsl, caplog: pytest.LogCaptureFixture) -> None:
    fake_wsl.change(installed=["Other"])  # unregistered after it was listed as running
    outcome = PageCacheDropper(WslExe(fake_wsl.path)).run()
    assert outcome.startswith("dropping the WSL page cache failed (exit 255): There is no distribution with the")
    assert outcome in caplog.text


def test_a_missing_or_hanging_wsl_exe(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    assert PageCacheDropper(WslExe(str(tmp_path / "absent.exe"))).run().startswith(
        f"cannot drop the WSL page cache: {tmp_path / 'absent.exe'} was not found: WSL is not installed"
    )
    fake_wsl.change(sleep=30)
    slow = PageCacheDropper(WslExe(fake_wsl.path, timeout_s=0.3))
    assert slow.run().endswith("--list --running --quiet` did not finish within 0.3s and was stopped")


def test_open_path_hands_the_file_to_xdg_open(bin_dir: Path, tmp_path: Path) -> None:
    install(bin_dir, "xdg-open", tmp_path / "open.log")
    config = tmp_path / "wslwatch.toml"
    open_path(config)
    assert calls(tmp_path / "open.log") == [[str(config)]]
