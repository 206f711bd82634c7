"""`wslwatch stop` as a user runs it: a real daemon process found through what `run` records."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from daemon_process import fast_collectors, start_daemon

from wslwatch.daemon.instance import read_info, state_dir


def wslwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wslwatch", *args], capture_output=True, text=True, timeout=60)


def test_stop_stops_the_running_daemon_cleanly_and_waits_for_it(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text(fast_collectors())
    daemon = start_daemon(config)
    pid = daemon.proc.pid
    recorded = read_info(state_dir())
    assert recorded is not None and recorded.pid == pid and recorded.url == daemon.url

    done = wslwatch("stop")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wslwatch (pid {pid}) stopped.\n"
    assert daemon.proc.wait(5) == 0, "the daemon exits cleanly"
    assert "stopping" in "".join(daemon.log)
    assert read_info(state_dir()) is None, "a clean stop removes the instance record"


def test_stop_with_nothing_running_says_so(tmp_path: Path) -> None:
    done = wslwatch("stop")
    assert done.returncode == 0
    assert done.stdout == "wslwatch is not running for this user; nothing to stop.\n"


_DEAF = textwrap.dedent(
    """
    import signal, sys
    from wslwatch.daemon.instance import InstanceLock
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lock = InstanceLock()
    lock.acquire()
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def test_a_daemon_that_does_not_stop_in_time_is_exit_1_naming_its_pid() -> None:
    deaf = subprocess.Popen([sys.executable, "-c", _DEAF], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert deaf.stdout is not None and deaf.stdout.readline() == "ready\n"
        done = wslwatch("stop", "--timeout", "1")
        assert done.returncode == 1
        assert f"wslwatch (pid {deaf.pid}) was asked to stop but still runs after 1 s" in done.stderr
        assert "taskkill /PID <pid> /F" in done.stderr
        assert deaf.poll() is None
    finally:
        deaf.send_signal(signal.SIGKILL)
        deaf.wait(10)


def test_a_bad_timeout_is_exit_2() -> None:
    done = wslwatch("stop", "--timeout", "0")
    assert done.returncode == 2
    assert "--timeout must be a positive number of seconds, got 0" in done.stderr
