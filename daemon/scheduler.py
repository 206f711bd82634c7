"""Runs each collector on its own interval, in its own thread.

A thread per runner, asleep between turns: one collector's slow or hung collection delays
no other (the runner abandons a hung one at its deadline), and a runner never overlaps
itself. Turns are on a fixed grid from the start (`start + k * interval`) on the monotonic
clock; a turn that comes late (a long collection, a suspended laptop) runs once and the turns
it missed are skipped, never run in a burst.

This replaces APScheduler's BackgroundScheduler, which did the same for one job per collector
but cost the daemon about 4 MB of memory and 100 ms of start-up (it imports asyncio,
multiprocessing and the metadata of every installed distribution); see docs/benchmarks.md.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Sequence

from wslwatch.daemon.runner import CollectorRunner

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Runs every runner at once, then every `interval_s`; a late turn is coalesced, never burst."""

    def __init__(self, runners: Sequence[CollectorRunner], clock: Callable[[], float] = time.monotonic) -> None:
        self._runners = runners
        self._clock = clock
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for runner in self._runners:
            thread = threading.Thread(target=self._turns, args=(runner,), name=f"schedule-{runner.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("collecting: %s", ", ".join(f"{r.name} every {r.collector.interval_s:g}s" for r in self._runners))

    def stop(self) -> None:
        """No new turn starts; returns when the turns under way (each bounded by its deadline) end."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _turns(self, runner: CollectorRunner) -> None:
        interval = runner.collector.interval_s
        due = self._clock()
        while not self._stopping.is_set():
            try:
                runner.run()
            except Exception:  # noqa: BLE001 - a fault after the collection (a Store listener) must not end the turns
                log.exception("collecting %s failed; trying again in %gs", runner.name, interval)
            due += interval
            late = self._clock() - due
            if late >= 0:
                due += (late // interval + 1) * interval  # skip the turns already missed
            if self._stopping.wait(due - self._clock()):
                return
