"""Runs one collector with a deadline and records the outcome in the Store.

This is the one seam that turns a collector's exceptions into health and logs. A
collection that outlives its deadline is abandoned (its daemon thread is left to
finish or hang on its own) and no new one starts while it lives, so a hung driver
call never piles up threads, delays another collector or holds up a scrape.

Collections run in one worker thread per runner, kept between collections: starting a
thread for each collection cost more CPU than most collections (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Union

from wslwatch.core import Collector, CollectorError, NoData, Sample
from wslwatch.store import Store

__all__ = ["CollectorRunner"]

log = logging.getLogger(__name__)

Outcome = Union[list[Sample], BaseException]

#: A worker that got no collection for this long ends; the next collection starts another.
IDLE_S = 120.0
#: How much longer than its timeout a collection is waited for before it is abandoned.
GRACE_S = 0.25


class _Worker:
    """A daemon thread that runs one collector's collections, one at a time, until idle for `idle_s`."""

    def __init__(self, name: str, collect: Callable[[float], list[Sample]], idle_s: float) -> None:
        self.results: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._requests: queue.SimpleQueue[float] = queue.SimpleQueue()
        self._collect = collect
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._ended = False
        self.collecting = False
        threading.Thread(target=self._serve, name=f"collect-{name}", daemon=True).start()

    def submit(self, now: float) -> bool:
        """Queue a collection at `now`; False if this worker has ended (idle) and takes no more."""
        with self._lock:
            if self._ended:
                return False
            self._requests.put(now)
            return True

    def _serve(self) -> None:
        while True:
            try:
                now = self._requests.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._requests.empty():
                        self._ended = True
                        return
                continue
            outcome: Outcome
            self.collecting = True
            try:
                outcome = self._collect(now)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes health, never a crash
                outcome = exc
            self.collecting = False
            self.results.put(outcome)


class CollectorRunner:
    """Runs `collector.collect()` in a worker thread, waiting at most `timeout_s`."""

    def __init__(
        self,
        collector: Collector,
        store: Store,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
        idle_s: float = IDLE_S,
    ) -> None:
        self.collector = collector
        self._store = store
        self._timeout_s = timeout_s
        self._clock = clock
        self._idle_s = idle_s
        self._worker: _Worker | None = None
        self._stuck: _Worker | None = None  # its collection outlived the deadline and has not ended yet
        self._last_reason: str | None = None
        self._turn = threading.Lock()  # one run at a time; retire() waits for the one under way
        self._retired = False  # replaced or removed: a turn still queued for it does nothing

    @property
    def name(self) -> str:
        return self.collector.name

    @property
    def collecting(self) -> bool:
        """Whether a collection is under way (one stuck past its deadline included)."""
        return any(worker is not None and worker.collecting for worker in (self._worker, self._stuck))

    def run(self) -> None:
        """One collection: record its samples, or why there are none (nothing once retired)."""
        with self._turn:
            if not self._retired:
                self._run()

    def retire(self) -> None:
        """No collection starts from now on; returns once the one under way (bounded by the deadline) ended."""
        with self._turn:
            self._retired = True

    def close(self) -> None:
        """Retire, then release the collector."""
        self.retire()
        self.collector.close()

    def _run(self) -> None:
        now = self._clock()
        if self._stuck is not None:
            try:
                self._stuck.results.get_nowait()  # it ended since: its samples are stale, dropped
            except queue.Empty:
                self._fail(f"the previous collection is still stuck (over {self._timeout_s:g}s); not starting another", now, 0.0)
                return
            self._stuck = None
        started = time.perf_counter()
        if self._worker is None or not self._worker.submit(now):
            self._worker = _Worker(self.name, self.collector.collect, self._idle_s)
            self._worker.submit(now)
        # then a grace: a daemon stopped (SIGSTOP) past the timeout resumes with its worker, which needs a moment
        result = _get_within(self._worker.results, self._timeout_s)
        if result is None:
            result = _get_within(self._worker.results, GRACE_S)
        if result is None:
            self._stuck = self._worker
            self._fail(f"timed out after {self._timeout_s:g}s; the collection was abandoned", now, time.perf_counter() - started)
            return
        duration = time.perf_counter() - started
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

    def _fail(self, reason: str, now: float, duration: float, *, fault: bool = True) -> None:
        if reason != self._last_reason:  # log recurring failures on change only
            log.log(logging.WARNING if fault else logging.INFO, "collector %s: %s", self.name, reason)
            self._last_reason = reason
        self._store.record_failure(self.name, reason, now, duration, fault=fault)


def _get_within(results: queue.SimpleQueue[Outcome], timeout_s: float) -> Outcome | None:
    try:
        return results.get(timeout=timeout_s)
    except queue.Empty:
        return None
