"""POSIX: an exclusive `flock` on a file; the kernel drops it when the process dies."""

from __future__ import annotations

import sys

assert sys.platform != "win32"  # noqa: S101 - tells mypy this module is POSIX-only

import fcntl
import os
import signal
from pathlib import Path
from typing import Callable

__all__ = ["FileLock", "StopSignal"]


class FileLock:
    """Held while this process keeps the locked file descriptor open.

    The lock file itself is never deleted: removing a locked file lets a third process
    lock a new file of the same name while the second still waits on the old one.
    """

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._path = path
        self._fd: int | None = None

    def try_lock(self) -> bool:
        """Lock the file; False if another process holds it."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StopSignal:
    """`wslwatch stop` sends the daemon SIGTERM, which `run` already handles like Ctrl+C."""

    def listen(self, on_stop: Callable[[], None]) -> None:
        """Nothing to set up: `run` installs its SIGTERM handler itself."""

    def send(self, pid: int) -> None:
        """Ask the daemon with process id `pid` to stop; OSError if it cannot be told."""
        os.kill(pid, signal.SIGTERM)
