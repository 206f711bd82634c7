"""An append-only file of lines that one failed write never damages beyond that line.

What `record` and the history file share. Each line goes out in `os.write` calls of its own,
with no buffer that could carry a failed line into the next write. A write that fails (a full
disk, EIO, a vanished network share) is logged once, its line dropped, and every line after it
is tried again; the first that succeeds says how many were lost. A file that ends mid-line (a
crash, a full disk, another writer killed mid-line) gets a newline before the next line, so a
damaged line never hides the lines after it from a reader.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from pathlib import Path

__all__ = ["LineFile", "clock_went_back"]

log = logging.getLogger(__name__)


def clock_went_back(last_t: float) -> bool:
    """Whether the wall clock now reads earlier than `last_t` (written from it a moment ago):
    someone set it back. A snapshot merely older than the last line (collector threads race)
    comes while the clock is already past `last_t`."""
    return time.time() < last_t


class LineFile:
    """Appends lines to `path` (created 0644 if missing); `OSError` if it cannot be opened.
    Thread-safe; after `close()` lines are dropped quietly (a collector finishing late)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        self._torn = stat.S_ISREG(os.fstat(self._fd).st_mode) and _ends_mid_line(path)
        self._lost = 0
        self._lock = threading.Lock()

    def write(self, line: str) -> bool:
        """Append `line` (without its newline); False, after logging the first failure, if it was lost."""
        with self._lock:
            return self._fd >= 0 and self._write(("\n" if self._torn else "") + line + "\n")

    def size(self) -> int:
        with self._lock:
            return os.fstat(self._fd).st_size if self._fd >= 0 else 0

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _write(self, data: str) -> bool:
        try:
            _write_all(self._fd, data.encode("utf-8"))
        except OSError as exc:
            self._torn = True  # part of it may be in the file: the next line starts afresh
            self._lost += 1
            if self._lost == 1:
                log.error(
                    "cannot write %s: %s; lines are dropped until it can be written again (free some space)",
                    self.path, exc.strerror or exc,
                )
            return False
        self._torn = False
        if self._lost:
            log.warning("writing %s again; %d line(s) were lost meanwhile", self.path, self._lost)
            self._lost = 0
        return True


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as file:
        if file.seek(0, os.SEEK_END) == 0:
            return False
        file.seek(-1, os.SEEK_END)
        return file.read(1) != b"\n"
