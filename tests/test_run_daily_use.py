"""`wslwatch run` in daily use: one instance per user, its log file, its rolling history, HTTPS."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, run_argv, start_daemon
from PIL import Image

from wslwatch.daemon.cli import main

FAST = """
[history]
interval_s = 1.0
[collectors.host_memory]
interval_s = 0.5
[collectors.wsl_guest]
interval_s = 0.5
[collectors.gpu]
enabled = false
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "wslwatch.toml"
    path.write_text(FAST)
    return path


def _wait_for(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_second_run_says_where_the_first_runs_and_exits_3(config: Path) -> None:
    first = start_daemon(config)
    try:
        second = subprocess.run(run_argv(config, "--port", "0"), capture_output=True, text=True, timeout=30)
    finally:
        assert first.stop() == 0, "".join(first.log)
    assert second.returncode == 3
    assert f"wslwatch already runs for this user (pid {first.proc.pid}, {first.url})" in second.stderr
    assert "nothing was started" in second.stderr and "Traceback" not in second.stderr


def test_after_a_crash_the_next_run_starts(config: Path) -> None:
    crashed = start_daemon(config)
    crashed.proc.send_signal(signal.SIGKILL)
    crashed.proc.wait(timeout=10)
    again = start_daemon(config)
    assert again.stop() == 0, "".join(again.log)


def test_run_logs_to_the_user_log_file_and_records_history(
    config: Path, own_state_dir: Path, tmp_path: Path
) -> None:
    daemon = start_daemon(config)
    history = own_state_dir / "wslwatch" / "history.jsonl"
    try:
        _wait_for(lambda: history.exists() and len(history.read_text().splitlines()) >= 3)
        out = tmp_path / "live.png"
        assert main(["report", "-o", str(out), "--size", "640x480"]) == 0  # while the daemon writes
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    log = (own_state_dir / "wslwatch" / "log" / "wslwatch.log").read_text()
    assert f"serving {daemon.url}" in log and "stopping" in log
    with Image.open(out) as image:
        assert image.size == (640, 480)
    assert not (own_state_dir / "wslwatch" / "instance.json").exists()  # a clean exit leaves no info behind


def test_run_without_history_writes_none(config: Path, own_state_dir: Path) -> None:
    config.write_text(FAST.replace("[history]\n", "[history]\nenabled = false\n"))
    daemon = start_daemon(config)
    time.sleep(1.5)
    assert daemon.stop() == 0
    assert not (own_state_dir / "wslwatch" / "history.jsonl").exists()


def test_unusable_tls_files_refuse_to_start(config: Path, tmp_path: Path) -> None:
    config.write_text(FAST + f'\n[exporter]\ncertfile = "{tmp_path / "missing.pem"}"\n')
    done = subprocess.run(run_argv(config, "--port", "0"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"cannot serve /metrics: cannot use {tmp_path / 'missing.pem'} for HTTPS" in done.stderr
    assert "Traceback" not in done.stderr


def test_serving_beyond_loopback_without_a_password_is_warned_about(config: Path) -> None:
    """`--bind 127.0.0.1` is safe; the warning itself is tested on exposure_warning (no LAN bind in tests)."""
    daemon = DaemonProcess(run_argv(config, "--port", "0", "--bind", "127.0.0.1"), {})
    daemon.wait_serving(15)
    assert daemon.stop() == 0
    assert "can be read by anyone" not in "".join(daemon.log)
