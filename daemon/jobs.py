"""The daemon's one APScheduler `BackgroundScheduler`: a job per collector runner.

Each runner is one job on an interval trigger, first run at once, `max_instances=1` (never
overlapping itself) and `coalesce=True` with a grace of one interval: a late turn (a long
collection, a suspended laptop) runs once, never in a burst. The runner keeps its deadline
(APScheduler cannot stop a hung thread), so a hung collection is abandoned by the runner and
delays no other job. I/O probes run in their own pool of `MAX_PROBES_AT_ONCE` threads, each
on its own grid offset across the interval plus a random jitter, so that many probed paths
never start their child processes at the same moment (the first probe of each path comes
within its interval, the paths evenly spread over it). Skipped turns (APScheduler's missed and
max-instances events) and the probes' pause are the daemon's own series in the Store.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Iterable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from wslwatch.core import Sample
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store

__all__ = ["MAX_PROBES_AT_ONCE", "PROBE_JITTER_SHARE", "Jobs"]

log = logging.getLogger(__name__)

#: I/O probes (a child process each) running at the same time, at most.
MAX_PROBES_AT_ONCE = 2
#: A probe's turn comes up to this share of its interval late, at random (APScheduler's jitter).
PROBE_JITTER_SHARE = 0.1
#: Threads for the other collectors: more than there are, so none waits for another's deadline.
_COLLECTOR_THREADS = 32
_PROBES = "probes"
_RESUME = "resume-probes"
#: How often the wall clock is compared with the monotonic one, and the step that counts as set back.
_CLOCK_CHECK_S = 5.0
_CLOCK_STEP_S = 1.0
_REASONS = {EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "still_running"}
_SKIPPED = "wslwatch_collector_skipped_total"
_PAUSED = "wslwatch_probes_paused"

logging.getLogger("apscheduler").setLevel(logging.WARNING)  # no INFO line per job run


def _is_probe(runner: CollectorRunner) -> bool:
    return runner.name.startswith("io_latency:")


class Jobs:
    """Schedules runners; `update()` changes the set in place (a config reload)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={
                "default": ThreadPoolExecutor(_COLLECTOR_THREADS),
                _PROBES: ThreadPoolExecutor(MAX_PROBES_AT_ONCE),
            },
        )
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self._runners: dict[str, CollectorRunner] = {}
        self._skips: Counter[tuple[str, str]] = Counter()
        self._skips_lock = threading.Lock()  # events come on the scheduler's and the pools' threads
        self._paused_until: float | None = None
        self._changing = threading.Lock()  # a reload, the tray's pause and the pause's end, one at a time
        self._stopping = threading.Event()
        self._clock_watch = threading.Thread(target=self._watch_clock, name="clock-watch", daemon=True)

    def start(self, runners: Iterable[CollectorRunner]) -> None:
        """Schedule `runners`, each first run at once, and start."""
        self._put_paused()
        self.update(runners)
        self._scheduler.start()
        self._clock_watch.start()
        log.info("collecting: %s", ", ".join(f"{r.name} every {r.collector.interval_s:g}s" for r in self._runners.values()))

    def update(self, runners: Iterable[CollectorRunner]) -> None:
        """Schedule exactly `runners`: add new ones, remove gone ones, switch changed ones in place."""
        with self._changing:
            self._update({runner.name: runner for runner in runners})

    def _update(self, wanted: dict[str, CollectorRunner]) -> None:
        for name in self._runners.keys() - wanted.keys():
            self._scheduler.remove_job(name)
            self._runners.pop(name).retire()  # before forgetting it: a turn under way would record again
            with self._skips_lock:
                for reason in _REASONS.values():
                    self._skips.pop((name, reason), None)
            self._store.forget(name)
        probes = sorted(name for name, runner in wanted.items() if _is_probe(runner))
        counters: list[Sample] = []
        for name, runner in wanted.items():
            old = self._runners.get(name)
            if old is runner:
                continue
            self._runners[name] = runner
            offset = probes.index(name) / len(probes) if name in probes else 0.0
            if old is None:
                self._add(runner, offset)
                counters += [self._count_skip(name, reason, 0) for reason in _REASONS.values()]
                continue
            self._scheduler.modify_job(name, func=runner.run, misfire_grace_time=_grace(runner))
            old.retire()
            if old.collector.interval_s != runner.collector.interval_s:
                self._scheduler.reschedule_job(name, trigger=self._trigger(runner, offset))
                if _is_probe(runner) and self._paused_until is not None:
                    self._scheduler.pause_job(name)  # rescheduling resumed it
        self._store.put(counters)

    def pause_probes(self, until: float) -> None:
        """No I/O probe runs until `until` (epoch seconds); they resume on their own then."""
        with self._changing:
            self._paused_until = until
            for name, runner in self._runners.items():
                if _is_probe(runner):
                    self._scheduler.pause_job(name)
            when = datetime.fromtimestamp(until, timezone.utc)
            self._scheduler.add_job(self.resume_probes, DateTrigger(when), id=_RESUME, replace_existing=True)
            self._put_paused()
        log.info("I/O probes paused until %s", time.strftime("%H:%M", time.localtime(until)))

    def resume_probes(self) -> None:
        """The probes run on their intervals again."""
        with self._changing:
            if self._paused_until is None:
                return
            self._paused_until = None
            with contextlib.suppress(JobLookupError):  # none when it is the job running this
                self._scheduler.remove_job(_RESUME)
            for name, runner in self._runners.items():
                if _is_probe(runner):
                    self._scheduler.resume_job(name)
            self._put_paused()
        log.info("I/O probes resumed")

    @property
    def probes_paused_until(self) -> float | None:
        return self._paused_until

    def stop(self) -> None:
        """No new turn starts; returns when the turns under way (each bounded by its deadline) end."""
        self._stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def _watch_clock(self) -> None:
        """APScheduler keeps its times on the wall clock: set back an hour, it would run nothing for
        an hour. A step back moves every job's next turn back by as much (the spacing on the
        monotonic clock stays); a step forward needs nothing (each job runs one coalesced turn)."""
        offset = time.time() - time.monotonic()
        while not self._stopping.wait(_CLOCK_CHECK_S):
            step = time.time() - time.monotonic() - offset
            offset += step
            if step <= -_CLOCK_STEP_S:
                log.warning("the clock was set back %.0f s; every collection keeps its interval", -step)
                self._shift(step)

    def _shift(self, step: float) -> None:
        with self._changing:
            if self._paused_until is not None:
                self._paused_until += step
            for job in self._scheduler.get_jobs():
                if job.next_run_time is not None:
                    job.modify(next_run_time=job.next_run_time + timedelta(seconds=step))

    def _add(self, runner: CollectorRunner, offset: float) -> None:
        probe = _is_probe(runner)
        trigger = self._trigger(runner, offset)
        self._scheduler.add_job(
            runner.run,  # a fault in it is logged by APScheduler (ERROR), and the job stays scheduled
            trigger,
            id=runner.name,
            name=runner.name,
            executor=_PROBES if probe else "default",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=_grace(runner),
            next_run_time=None if probe and self._paused_until is not None else trigger.start_date,
        )

    def _trigger(self, runner: CollectorRunner, offset: float) -> IntervalTrigger:
        """Every interval from now; a probe first `offset` (a share of the interval) later, each turn jittered."""
        interval = runner.collector.interval_s
        now = datetime.now(timezone.utc)
        if not _is_probe(runner):
            return IntervalTrigger(seconds=interval, start_date=now, timezone=timezone.utc)
        # APScheduler adds the jitter to the turn the next one counts from: the mean spacing is
        # seconds + jitter / 2, so `seconds` is shortened by half the jitter to keep the interval.
        jitter = interval * PROBE_JITTER_SHARE
        start = now + timedelta(seconds=interval * offset)
        return IntervalTrigger(seconds=interval - jitter / 2, start_date=start, jitter=jitter, timezone=timezone.utc)

    def _skipped(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        name = event.job_id
        if name in self._runners:
            self._store.put([self._count_skip(name, _REASONS[event.code], 1)])

    def _count_skip(self, name: str, reason: str, more: int) -> Sample:
        with self._skips_lock:
            self._skips[name, reason] += more
            count = float(self._skips[name, reason])
        return Sample(_SKIPPED, {"collector": name, "reason": reason}, count, time.time())

    def _put_paused(self) -> None:
        paused = 1.0 if self._paused_until is not None else 0.0
        self._store.put([Sample(_PAUSED, {}, paused, time.time())])


def _grace(runner: CollectorRunner) -> int:
    """A turn up to one interval late still runs (once: coalesced); APScheduler wants whole seconds."""
    return max(1, math.ceil(runner.collector.interval_s))
