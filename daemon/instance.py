"""One daemon per user: a lock the operating system releases when the process dies, plus a small
info file saying where the running one serves.

The lock is a per-user named mutex on Windows and an `flock`ed file elsewhere (chosen once,
in the constructor). `wslwatch stop` finds the running daemon through the lock and the info
file, and asks it to stop through a per-user named event on Windows, SIGTERM elsewhere. Binding the /metrics port proves nothing on Windows, where a second
process may bind a port the first holds, so the port is not the guard. The info file
(`instance.json`: pid, URL, start time) is written atomically by the lock holder; a file
left by a crashed run is simply overwritten by the next one that gets the lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol

import platformdirs

__all__ = ["AlreadyRunning", "InstanceInfo", "InstanceLock", "NotStopped", "read_info", "state_dir", "stop_running"]

_INFO = "instance.json"
_LOCK = "instance.lock"


def state_dir() -> Path:
    """The per-user state folder, e.g. `~/.local/state/wslwatch` or `%LOCALAPPDATA%\\wslwatch`."""
    return Path(platformdirs.user_state_dir("wslwatch", appauthor=False))


@dataclass(frozen=True)
class InstanceInfo:
    """Where the running daemon is: its process id, its /metrics URL once it serves, since when."""

    pid: int
    url: str | None
    started: float


class AlreadyRunning(Exception):
    """Another process of this user holds the lock; `info` says where, when it could be read."""

    def __init__(self, info: InstanceInfo | None, lock: str) -> None:
        self.info = info
        self.lock = lock
        where = f"pid {info.pid}, {info.url or 'URL not known yet'}" if info else f"lock {lock}"
        super().__init__(f"wslwatch already runs for this user ({where})")


class _Lock(Protocol):
    name: str

    def try_lock(self) -> bool: ...

    def unlock(self) -> None: ...


class _StopChannel(Protocol):
    def listen(self, on_stop: Callable[[], None]) -> None: ...

    def send(self, pid: int) -> None: ...


def _platform_lock(directory: Path) -> tuple[_Lock, _StopChannel]:
    if sys.platform == "win32":
        from wslwatch.daemon._instance_windows import NamedMutex, StopEvent, user_sid

        sid = user_sid()
        return NamedMutex(f"Local\\wslwatch-{sid}"), StopEvent(f"Local\\wslwatch-stop-{sid}")
    else:
        from wslwatch.daemon._instance_posix import FileLock, StopSignal

        return FileLock(directory / _LOCK), StopSignal()


class NotStopped(Exception):
    """The running daemon could not be told to stop, or did not stop in time; the message says which."""


class InstanceLock:
    """`acquire()` makes this process the user's one daemon, or raises `AlreadyRunning`."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or state_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock, self._stop_channel = _platform_lock(self.directory)
        self._held = False

    @property
    def lock_name(self) -> str:
        return self._lock.name

    @property
    def info_path(self) -> Path:
        return self.directory / _INFO

    def acquire(self) -> None:
        """Take the lock and record this process; `AlreadyRunning` if another one holds it."""
        if not self._lock.try_lock():
            raise AlreadyRunning(read_info(self.directory), self._lock.name)
        self._held = True
        self._write(InstanceInfo(os.getpid(), None, time.time()))

    def publish(self, url: str) -> None:
        """Record the /metrics URL once the server listens."""
        info = read_info(self.directory)
        self._write(InstanceInfo(os.getpid(), url, info.started if info else time.time()))

    def listen_for_stop(self, on_stop: Callable[[], None]) -> None:
        """Call `on_stop` when `wslwatch stop` asks this (the lock-holding) daemon to stop."""
        self._stop_channel.listen(on_stop)

    def ask_holder_to_stop(self, pid: int) -> None:
        """Tell the daemon holding the lock (process `pid`) to stop; OSError if it cannot be told."""
        self._stop_channel.send(pid)

    def is_held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (probed by taking and dropping it)."""
        if self._held:
            return False
        if not self._lock.try_lock():
            return True
        self._lock.unlock()
        return False

    def release(self) -> None:
        """Remove the info file (if still ours) and let go of the lock."""
        if not self._held:
            return
        info = read_info(self.directory)
        if info is not None and info.pid == os.getpid():
            self.info_path.unlink(missing_ok=True)
        self._lock.unlock()
        self._held = False

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def _write(self, info: InstanceInfo) -> None:
        temporary = self.info_path.with_name(f"{_INFO}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(info)), encoding="utf-8")
        os.replace(temporary, self.info_path)


def read_info(directory: Path | None = None) -> InstanceInfo | None:
    """What the running (or last crashed) daemon recorded, or None if nothing readable is there."""
    path = (directory or state_dir()) / _INFO
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        url = raw.get("url")
        return InstanceInfo(int(raw["pid"]), str(url) if url else None, float(raw["started"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def stop_running(directory: Path | None = None, timeout_s: float = 15.0) -> InstanceInfo | None:
    """Ask the user's running daemon to stop and wait until it has let go of the lock.

    Returns what it had recorded, or None when none runs; raises `NotStopped` when it cannot be
    asked or does not stop within `timeout_s`."""
    lock = InstanceLock(directory)
    if not lock.is_held_elsewhere():
        return None
    info = read_info(lock.directory)
    if info is None:
        raise NotStopped(f"wslwatch runs (lock {lock.lock_name}) but has not recorded its process id yet; try again")
    try:
        lock.ask_holder_to_stop(info.pid)
    except OSError as exc:
        raise NotStopped(f"could not ask wslwatch (pid {info.pid}) to stop: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    while lock.is_held_elsewhere():
        if time.monotonic() > deadline:
            raise NotStopped(f"wslwatch (pid {info.pid}) was asked to stop but still runs after {timeout_s:g} s")
        time.sleep(0.1)
    return info
