"""Runs one collector with a deadline and records the outcome in the Store.

This is the one seam that turns a collector's exceptions into health and logs. A
collection that outlives its deadline is abandoned (its daemon thread is left to
finish or hang on its own) and no new one starts while it lives, so a hung driver
call never piles up threads, delays another collector or holds up a scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from wslwatch.core import Collector, CollectorError, NoData, Sample
from wslwatch.daemon.store import Store

__all__ = ["CollectorRunner"]

log = logging.getLogger(__name__)


class CollectorRunner:
    """Runs `collector.collect()` in a worker thread, waiting at most `timeout_s`."""

    def __init__(
        self,
        collector: Collector,
        store: Store,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.collector = collector
        self._store = store
        self._timeout_s = timeout_s
        self._clock = clock
        self._worker: threading.Thread | None = None
        self._last_reason: str | None = None

    @property
    def name(self) -> str:
        return self.collector.name

    def run(self) -> None:
        """One collection: record its samples, or why there are none."""
        now = self._clock()
        if self._worker is not None and self._worker.is_alive():
            self._fail(f"the previous collection is still stuck (over {self._timeout_s:g}s); not starting another", now, 0.0)
            return
        outcome: list[list[Sample] | BaseException] = []
        started = time.perf_counter()
        worker = threading.Thread(
            target=self._collect, args=(now, outcome), name=f"collect-{self.name}", daemon=True
        )
        worker.start()
        worker.join(self._timeout_s)
        duration = time.perf_counter() - started
        if worker.is_alive():
            self._worker = worker
            self._fail(f"timed out after {self._timeout_s:g}s; the collection was abandoned", now, duration)
            return
        self._worker = None
        result = outcome[0]
        if isinstance(result, NoData):
            self._fail(str(result), now, duration, fault=False)
        elif isinstance(result, CollectorError):
            self._fail(str(result), now, duration)
        elif isinstance(result, BaseException):
            self._fail(f"unexpected {type(result).__name__}: {result}", now, duration)
            log.error("collector %s crashed", self.name, exc_info=result)
        else:
            if self._last_reason is not None:
                log.info("collector %s recovered", self.name)
                self._last_reason = None
            self._store.record(self.name, result, now, duration)

    def _collect(self, now: float, outcome: list[list[Sample] | BaseException]) -> None:
        try:
            outcome.append(self.collector.collect(now))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes health, never a crash
            outcome.append(exc)

    def _fail(self, reason: str, now: float, duration: float, *, fault: bool = True) -> None:
        if reason != self._last_reason:  # log recurring failures on change only
            log.log(logging.WARNING if fault else logging.INFO, "collector %s: %s", self.name, reason)
            self._last_reason = reason
        self._store.record_failure(self.name, reason, now, duration, fault=fault)
