"""Live reload: the config file is re-read when it changes; an invalid edit never replaces a good one.

A change is read once the file has stood still for one poll, so an editor that truncates and then
writes slowly is not applied half-written; and nothing the file holds ends the watching.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from wslwatch.config import Config, ConfigError, load

__all__ = ["ConfigWatcher"]

log = logging.getLogger(__name__)

_Signature = tuple[int, int] | None


class ConfigWatcher:
    """Polls one config file; calls `apply(config)` for a valid change, `reject(problems)` for an invalid one."""

    def __init__(
        self,
        path: Path,
        apply: Callable[[Config], None],
        reject: Callable[[list[str]], None],
        interval_s: float = 2.0,
    ) -> None:
        self.path = path
        self._apply = apply
        self._reject = reject
        self._interval_s = interval_s
        self._seen = self._signature()
        self._changing: _Signature = self._seen  # the last signature seen while waiting for the file to settle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="config-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def reload(self) -> bool:
        """Read the file now, changed or not (the tray's "Reload config"); True if it was applied."""
        with self._lock:
            self._seen = self._signature()
            return self._read()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval_s):
            with self._lock:
                signature = self._signature()
                if signature == self._seen:
                    continue
                if signature != self._changing:  # still being written: read it once it stands still
                    self._changing = signature
                    continue
                self._seen = signature
                self._read()

    def _signature(self) -> _Signature:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _read(self) -> bool:
        if self._seen is None:
            self._reject([f"{self.path}: the config file is gone; the configuration in force stays"])
            return False
        try:
            config = load(self.path)
        except ConfigError as exc:
            self._reject(exc.problems)
            return False
        except Exception as exc:  # noqa: BLE001 - whatever an edit provokes, watching goes on
            log.exception("reading %s failed", self.path)
            self._reject([f"{self.path}: cannot be read ({type(exc).__name__}: {exc}); the configuration in force stays"])
            return False
        log.info("configuration reloaded from %s", self.path)
        try:
            self._apply(config)
        except Exception:  # noqa: BLE001 - a failed apply must not end live reload either
            log.exception("applying the configuration from %s failed; edit it again to retry", self.path)
            return False
        return True
