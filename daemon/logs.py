"""Where wslwatch logs, and setting logging up: a rotating file, plus stderr when there is a console.

Started windowless (`pythonw`, the login entry), `sys.stdout` and `sys.stderr` are None:
`print` does nothing, a stderr log handler fails and tracebacks vanish. So the first
thing the CLI does is `catch_missing_streams()`, which points them at `console.log`
next to the log. That file is separate from the rotating `wslwatch.log`: Windows cannot
rename a file another handle holds open, so one file must not serve both.
"""

from __future__ import annotations

import collections
import faulthandler
import io
import logging
import logging.handlers
import sys
from pathlib import Path
from typing import TextIO

import platformdirs

__all__ = [
    "BACKUPS",
    "MAX_BYTES",
    "catch_missing_streams",
    "configure",
    "console_tail",
    "console_log_path",
    "log_dir",
    "log_path",
    "log_to_file",
]

MAX_BYTES = 5 * 2**20
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONSOLE_HANDLER = "wslwatch-console"
_FILE_HANDLER = "wslwatch-file"


def log_dir() -> Path:
    """The per-user log folder, e.g. `~/.local/state/wslwatch/log` or `%LOCALAPPDATA%\\wslwatch\\Logs`."""
    return Path(platformdirs.user_log_dir("wslwatch", appauthor=False))


def log_path() -> Path:
    """The daemon's log file (the tray's "open log" shows this one)."""
    return log_dir() / "wslwatch.log"


def console_log_path() -> Path:
    """Where stdout and stderr go when wslwatch was started without a console."""
    return log_dir() / "console.log"


#: Lines of windowless output kept to tell the user why a start failed.
_TAIL_LINES = 12


class _ConsoleLog(io.TextIOBase):
    """`console.log` for a process without a console, remembering its last lines."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._partial = ""

    def write(self, text: str) -> int:
        self._file.write(text)
        *lines, self._partial = (self._partial + text).split("\n")
        self.tail.extend(line for line in lines if line.strip())
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()


def catch_missing_streams() -> bool:
    """Point a missing `sys.stdout`/`sys.stderr` at `console.log`; True if there was a console."""
    if sys.stdout is not None and sys.stderr is not None:
        return True
    path = console_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    file: TextIO = open(path, "a", encoding="utf-8", buffering=1, errors="backslashreplace")  # noqa: SIM115 - lives as long as the process
    stream = _ConsoleLog(file)
    sys.stdout = sys.stdout or stream  # type: ignore[assignment]
    sys.stderr = sys.stderr or stream  # type: ignore[assignment]
    faulthandler.enable(file=file)
    return False


def console_tail() -> list[str]:
    """The last lines written to `console.log` by this process (none when it has a console)."""
    streams = (sys.stderr, sys.stdout)
    return next((list(s.tail) for s in streams if isinstance(s, _ConsoleLog)), [])


def configure(level: str, *, console: bool) -> None:
    """Set the root level; log to stderr (again on a second call, never twice): everything when
    `console`, else warnings and errors, which then reach `console.log` formatted (and a refused
    start is in what `console_tail()` gives the user)."""
    root = logging.getLogger()
    root.setLevel(level)
    _remove(root, _CONSOLE_HANDLER)
    handler = _CurrentStderr(logging.NOTSET if console else logging.WARNING)
    handler.set_name(_CONSOLE_HANDLER)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)


def log_to_file(path: Path | None = None, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Also log to `path` (default `log_path()`), rotated at `max_bytes` keeping `backups` old files.

    Only the one running instance may call this: two processes rotating one file lose lines
    (and on Windows the rename fails).
    """
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    _remove(root, _FILE_HANDLER)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.set_name(_FILE_HANDLER)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    return path


class _CurrentStderr(logging.Handler):
    """Writes to whatever `sys.stderr` is when a record comes (it may be replaced after set-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)


def _remove(root: logging.Logger, name: str) -> None:
    for handler in [h for h in root.handlers if h.get_name() == name]:
        root.removeHandler(handler)
        handler.close()
