"""One APScheduler job per collector, each on its own interval."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from wslwatch.daemon.runner import CollectorRunner

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Runs every runner at once, then every `interval_s`; a late run is coalesced, never burst."""

    def __init__(self, runners: Sequence[CollectorRunner]) -> None:
        self._runners = runners
        self._scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1},
            executors={"default": {"type": "threadpool", "max_workers": max(4, len(runners))}},
        )

    def start(self) -> None:
        for runner in self._runners:
            interval = runner.collector.interval_s
            self._scheduler.add_job(
                runner.run,
                IntervalTrigger(seconds=interval),
                id=runner.name,
                name=f"collect {runner.name}",
                next_run_time=_now(),
                misfire_grace_time=max(1, int(interval)),
            )
        self._scheduler.start()
        log.info("collecting: %s", ", ".join(f"{r.name} every {r.collector.interval_s:g}s" for r in self._runners))

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)
