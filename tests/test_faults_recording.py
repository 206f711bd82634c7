"""A running `wslwatch record` meets SIGKILL, a full disk and a clock set back: every readable
line is still replayed, a full disk is logged once and recovered from, and the daemon's history
file (another disk, another writer) never loses a point because the recording failed.

Real processes throughout: the full disk is the FUSE rig answering ENOSPC (`rigs/slowfs.py`),
the clock step is libfaketime (Debian `faketime`) moving the recorder's wall clock an hour back.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from daemon_process import DaemonProcess
from faults import write_fast_config
from rigs import need
from rigs.slowfs_rig import SlowFsMount, slowfs  # noqa: F401 - the fixture

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
FULL_DISK = {"write": "ENOSPC", "create": "ENOSPC"}

pytestmark = pytest.mark.rig


def record(tmp_path: Path, out: Path, env: dict[str, str] | None = None) -> DaemonProcess:
    """`wslwatch record out`, collecting every 0.1 s, the history one line a second."""
    config = write_fast_config(tmp_path / "c.toml", 0.1, extra="[history]\ninterval_s = 1\n")
    argv = [sys.executable, "-m", "wslwatch", "record", str(out), "--config", str(config), "--port", "0"]
    daemon = DaemonProcess(argv, env or {})
    daemon.wait_serving(20)
    return daemon


def times(path: Path) -> list[float]:
    """The `t` of every line that parses."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(float(json.loads(line)["t"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def wait_until(condition: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"within {timeout:g} s: {what}"
        time.sleep(0.05)


def replayed(path: Path, tmp_path: Path) -> tuple[int, str]:
    """Replay `path` (no rules changed); its exit code and stderr, which has no traceback."""
    import subprocess

    (tmp_path / "none.toml").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "replay", str(path), "--config", str(tmp_path / "none.toml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr


def test_after_sigkill_mid_line_the_next_record_starts_a_fresh_line(tmp_path: Path) -> None:
    """SIGKILL (or a crash, a power cut) can leave the last line cut short; the next `record`
    into the same file must not glue its first line to it, or replay loses both."""
    out = tmp_path / "rec.jsonl"
    first = record(tmp_path, out)
    wait_until(lambda: len(times(out)) >= 3, "three lines recorded")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    whole = out.read_bytes().rstrip(b"\n")
    out.write_bytes(whole[: whole.rfind(b"\n") + 1 + 40])  # the last line cut after 40 bytes
    kept = len(times(out))
    cut_line = out.read_bytes().count(b"\n") + 1
    second = record(tmp_path, out)
    wait_until(lambda: len(times(out)) >= kept + 3, "three more lines recorded")
    assert second.stop() == 0
    assert "Traceback" not in "".join(second.log)
    code, stderr = replayed(out, tmp_path)
    assert code == 0
    assert f"{out}:{cut_line}: line skipped: not JSON" in stderr
    assert stderr.count("line skipped") == 1
    lines = out.read_text().splitlines()
    assert len(times(out)) == len(lines) - 1, "every line but the cut one is whole"


def test_a_full_disk_is_logged_once_recovered_from_and_costs_the_history_nothing(
    slowfs: SlowFsMount, tmp_path: Path, own_state_dir: Path  # noqa: F811
) -> None:
    out = slowfs.mountpoint / "rec.jsonl"
    history = own_state_dir / "wslwatch" / "history.jsonl"
    daemon = record(tmp_path, out)
    try:
        wait_until(lambda: len(times(out)) >= 3 and len(times(history)) >= 1, "lines in both files")
        slowfs.set(fail=FULL_DISK)
        full_from = time.time()
        time.sleep(3.5)
        slowfs.set()
        wait_until(lambda: "line(s) were lost meanwhile" in "".join(daemon.log), "the recovery logged")
        during = [t for t in times(history) if t >= full_from]
        assert len(during) >= 3, "the history went on writing while the recording's disk was full"
        recovered = len(times(out))
        wait_until(lambda: len(times(out)) >= recovered + 3, "recording again once space came back")
        slowfs.set(fail=FULL_DISK)
        time.sleep(0.5)
        assert daemon.stop() == 0, "SIGTERM while the disk is full is a clean stop"
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.log)
    assert "Traceback" not in log, log
    assert log.count(f"cannot write {out}: No space left on device") == 2, log  # once per full spell
    gaps = [b - a for a, b in zip(times(history), times(history)[1:])]
    assert max(gaps) < 2.5, f"no point lost in the history: gaps {gaps}"
    code, stderr = replayed(out, tmp_path)
    assert code == 0 and "line skipped" not in stderr, stderr


def test_a_clock_set_back_an_hour_loses_nothing(tmp_path: Path, own_state_dir: Path) -> None:
    """Before, both files dropped every moment until the clock passed the last written `t`."""
    need(LIBFAKETIME.exists(), "libfaketime (Debian package faketime) to move a process's clock")
    clock = tmp_path / "faketime"
    clock.write_text("+0\n")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # timeouts and schedules run on the monotonic clock
    }
    out = tmp_path / "rec.jsonl"
    history = own_state_dir / "wslwatch" / "history.jsonl"
    daemon = record(tmp_path, out, env)
    try:
        wait_until(lambda: len(times(out)) >= 3 and len(times(history)) >= 2, "lines in both files")
        before = (len(times(out)), len(times(history)))
        clock.write_text("-3600\n")
        wait_until(lambda: len(times(out)) >= before[0] + 10, "recording on after the step")
        wait_until(lambda: len(times(history)) >= before[1] + 2, "the history on after the step")
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.log)
    assert "Traceback" not in log and "the clock went back" in log, log
    recorded = times(out)
    assert min(recorded[before[0]:]) < max(recorded[: before[0]]) - 3000, "the lines after the step carry the new time"
    code, stderr = replayed(out, tmp_path)
    assert code == 0 and "line skipped" not in stderr, stderr
    assert f"{out}:" in stderr and "the clock went back" in stderr
