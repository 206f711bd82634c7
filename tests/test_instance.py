"""One daemon per user: real processes contend for the real lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from wslwatch.daemon.instance import AlreadyRunning, InstanceLock, read_info

_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from wslwatch.daemon.instance import InstanceLock
    lock = InstanceLock(Path(sys.argv[1]))
    lock.acquire()
    lock.publish("http://127.0.0.1:9477/metrics")
    print("ready", flush=True)
    sys.stdin.read()  # hold until the test closes stdin
    lock.release()
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process that holds the lock in `tmp_path` until stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_a_second_instance_is_told_the_pid_and_url_of_the_first(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(AlreadyRunning) as caught:
        InstanceLock(tmp_path).acquire()

    assert caught.value.info is not None
    assert caught.value.info.pid == holder.pid
    assert caught.value.info.url == "http://127.0.0.1:9477/metrics"
    assert f"pid {holder.pid}, http://127.0.0.1:9477/metrics" in str(caught.value)


def test_the_lock_is_free_again_after_a_clean_exit(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=10) == 0

    assert read_info(tmp_path) is None
    with InstanceLock(tmp_path):
        info = read_info(tmp_path)
        assert info is not None and info.pid == os.getpid() and info.url is None
    assert read_info(tmp_path) is None


def test_the_lock_of_a_killed_daemon_is_recovered(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    stale = read_info(tmp_path)
    assert stale is not None and stale.pid == holder.pid  # the crashed run left its info behind

    lock = InstanceLock(tmp_path)
    lock.acquire()
    try:
        lock.publish("http://127.0.0.1:1/metrics")
        info = read_info(tmp_path)
        assert info is not None
        assert (info.pid, info.url) == (os.getpid(), "http://127.0.0.1:1/metrics")
    finally:
        lock.release()


def test_the_lock_file_is_private_to_the_user(tmp_path: Path) -> None:
    with InstanceLock(tmp_path):
        assert (tmp_path / "instance.lock").stat().st_mode & 0o077 == 0


def test_unreadable_info_is_none(tmp_path: Path) -> None:
    (tmp_path / "instance.json").write_text("{not json")
    assert read_info(tmp_path) is None
    (tmp_path / "instance.json").write_text('{"pid": "x"}')
    assert read_info(tmp_path) is None
