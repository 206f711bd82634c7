"""The daemon's rolling record: the Store's samples as record lines, for `wslwatch report`.

Why a file and not an endpoint on the running daemon: a report is most wanted after
something went wrong (the run died at 3 am, the daemon was restarted, the machine
rebooted), and a file in the user state folder outlives all of that; it needs no
credentials when /metrics is behind TLS and a password; it is the very format `record`
writes and `replay` reads. Its cost is bounded: one line every `interval_s`, two files of
at most `max_bytes` each (the current one and the one before).

Each line is what `record` writes (`recording.frame_line`), plus the alerts firing at that
moment as `wslwatch_alert_firing{rule,severity,...} 1` samples, as /metrics shows them: the
report marks what really fired, with the rules in force at the time.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

from wslwatch.core import Alert, Sample
from wslwatch.daemon.line_file import LineFile, clock_went_back
from wslwatch.daemon.recording import frame_line
from wslwatch.store import Snapshot

__all__ = ["HistoryFile", "history_path", "history_paths"]

log = logging.getLogger(__name__)


def history_path(state_dir: Path) -> Path:
    """The current history file in the daemon's state folder."""
    return state_dir / "history.jsonl"


def history_paths(path: Path) -> list[Path]:
    """The history files that exist, oldest first."""
    return [p for p in (path.with_name(path.name + ".1"), path) if p.is_file()]


class HistoryFile:
    """A Store listener appending one record line at most every `interval_s`; `alerts` gives the
    rules engine's current alerts (subscribe after the engine, so they are this snapshot's)."""

    def __init__(
        self,
        path: Path,
        interval_s: float = 15.0,
        max_bytes: int = 32 * 2**20,
        alerts: Callable[[], Sequence[Alert]] = tuple,
    ) -> None:
        self.path = path
        self._alerts = alerts
        self._interval_s = interval_s
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._last_ts = float("-inf")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: LineFile | None = LineFile(path)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Record `snapshot` unless the last line is younger than `interval_s` (by a clock not set back)."""
        with self._lock:
            if self._file is None:
                return
            if snapshot.ts - self._last_ts < self._interval_s:
                if snapshot.ts >= self._last_ts or not clock_went_back(self._last_ts):
                    return
                log.warning("the clock went back %.0f s; the history goes on from the new time",
                            self._last_ts - snapshot.ts)
            self._last_ts = snapshot.ts
            firing = [_firing_sample(alert, snapshot.ts) for alert in self._alerts() if alert.state == "firing"]
            self._file.write(frame_line(Snapshot.build(snapshot.ts, [*snapshot.samples, *firing], snapshot.health)))
            if self._file.size() >= self._max_bytes:
                self._rotate()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _rotate(self) -> None:
        """`history.jsonl` becomes `history.jsonl.1` (replacing the older one); a new file starts."""
        assert self._file is not None  # noqa: S101 - only called while open
        self._file.close()
        self._file = None
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        except OSError as exc:  # e.g. Windows, while a report reads the old file: try again next time
            log.info("history file not rotated yet: %s", exc)
        try:
            self._file = LineFile(self.path)
        except OSError as exc:
            log.error("cannot reopen the history file %s: %s; `wslwatch report` sees nothing newer", self.path, exc)


def _firing_sample(alert: Alert, ts: float) -> Sample:
    """An alert as /metrics exports it: `wslwatch_alert_firing{rule,severity,<its labels>} 1`."""
    return Sample("wslwatch_alert_firing", {"rule": alert.rule, "severity": alert.severity, **alert.labels}, 1.0, ts)
