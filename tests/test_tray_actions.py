"""Tray actions run fixed argument lists: checked here with stand-in programs on PATH that
record how they were called (wsl.exe and xdg-open do not exist on this machine)."""

from __future__ import annotations

import json
import logging
import os
import shlex
import stat
import sys
import time
from pathlib import Path

import pytest

from wslwatch.tray.actions import PageCacheDropper, open_path

RECORDER = """#!{python}
import json, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stderr.write({stderr!r})
sys.exit({code})
"""


def documented_drop_command() -> list[str]:
    """The command docs/tray.md says the tray's "Drop page cache" runs."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "tray.md").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("wsl.exe ") and "drop_caches" in line]
    return shlex.split(line)


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


def test_no_wsl_exe_no_dropper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert PageCacheDropper.find() is None


def test_drop_runs_exactly_the_fixed_argv(bin_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    install(bin_dir, "wsl.exe", tmp_path / "wsl.log")
    dropper = PageCacheDropper.find()
    assert dropper is not None
    outcomes: list[str] = []
    dropper.start(outcomes.append).join(10)
    assert calls(tmp_path / "wsl.log") == [documented_drop_command()[1:]]
    assert outcomes == ["dropped the WSL page cache"]
    assert "dropped the WSL page cache" in caplog.text


def test_a_failed_drop_says_why(bin_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    install(bin_dir, "wsl.exe", tmp_path / "wsl.log", code=1, stderr="sh: can't create /proc/sys/vm/drop_caches")
    dropper = PageCacheDropper.find()
    assert dropper is not None
    outcome = dropper.run()
    assert outcome == (
        "dropping the WSL page cache failed (exit 1): sh: can't create /proc/sys/vm/drop_caches"
    )
    assert outcome in caplog.text


def test_a_missing_or_hanging_program(tmp_path: Path) -> None:
    assert PageCacheDropper([str(tmp_path / "absent.exe")]).run().startswith(
        f"cannot drop the WSL page cache: {tmp_path / 'absent.exe'}: No such file or directory"
    )
    slow = PageCacheDropper([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.3)
    assert slow.run() == "dropping the WSL page cache did not finish within 0.3 s"


def test_open_path_hands_the_file_to_xdg_open(bin_dir: Path, tmp_path: Path) -> None:
    install(bin_dir, "xdg-open", tmp_path / "open.log")
    config = tmp_path / "wslwatch.toml"
    open_path(config)
    assert calls(tmp_path / "open.log") == [[str(config)]]
