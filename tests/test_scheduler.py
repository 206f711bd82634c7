"""Scheduler: each runner at once and then on its interval, in its own thread; late turns coalesced."""

from __future__ import annotations

import threading
import time

import pytest
from collectors_for_tests import Steady

from wslwatch.core import Sample
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.daemon.scheduler import Scheduler
from wslwatch.store import Snapshot, Store


class Slow(Steady):
    """Takes `busy_s` per collection, and notes when each one started."""

    def __init__(self, interval_s: float, busy_s: float) -> None:
        super().__init__("slow", interval_s)
        self.busy_s = busy_s
        self.starts: list[float] = []

    def collect(self, now: float) -> list[Sample]:
        self.starts.append(time.monotonic())
        time.sleep(self.busy_s)
        return super().collect(now)


def wait_until(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_every_runner_runs_at_once_then_on_its_own_interval() -> None:
    store = Store()
    fast, slow = Steady("fast", 0.1), Steady("rare", 30.0)
    scheduler = Scheduler([CollectorRunner(fast, store, 1.0), CollectorRunner(slow, store, 1.0)])
    started = time.monotonic()
    scheduler.start()
    try:
        wait_until(lambda: fast.calls >= 6)
        elapsed = time.monotonic() - started
    finally:
        scheduler.stop()
    assert fast.calls >= 6 and elapsed >= 0.45, "turns are spaced by the interval, not run back to back"
    assert slow.calls == 1, "the first turn comes at once, the second only after 30 s"
    assert store.health("fast") is not None and store.health("rare") is not None


def test_a_slow_collection_delays_no_other_runner() -> None:
    store = Store()
    slow, steady = Slow(interval_s=0.1, busy_s=0.6), Steady("steady", 0.05)
    scheduler = Scheduler([CollectorRunner(slow, store, 5.0), CollectorRunner(steady, store, 5.0)])
    scheduler.start()
    try:
        wait_until(lambda: steady.calls >= 5)
        during_first_slow_collection = len(slow.starts) == 1
    finally:
        scheduler.stop()
    assert during_first_slow_collection, "the steady runner took 5 turns while the slow one was busy"


def test_turns_missed_by_a_late_collection_are_skipped_not_burst() -> None:
    store = Store()
    slow = Slow(interval_s=0.1, busy_s=0.35)  # each collection overruns 3 turns
    scheduler = Scheduler([CollectorRunner(slow, store, 5.0)])
    scheduler.start()
    try:
        wait_until(lambda: len(slow.starts) >= 3)
    finally:
        scheduler.stop()
    gaps = [b - a for a, b in zip(slow.starts, slow.starts[1:])]
    assert gaps and all(gap >= 0.35 for gap in gaps), "never a catch-up burst of the missed turns"
    assert all(gap < 0.35 + 0.1 + 0.25 for gap in gaps), "the next turn is the next one on the grid"


def test_a_failure_after_the_collection_does_not_end_the_turns(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    failures = []

    def broken_listener(snapshot: Snapshot) -> None:
        failures.append(snapshot.ts)
        raise RuntimeError("a listener bug")

    store.subscribe(broken_listener)
    steady = Steady("steady", 0.05)
    scheduler = Scheduler([CollectorRunner(steady, store, 1.0)])
    scheduler.start()
    try:
        wait_until(lambda: steady.calls >= 3)
    finally:
        scheduler.stop()
    assert steady.calls >= 3 and len(failures) >= 3
    assert "a Store listener failed" in caplog.text  # the Store keeps a listener's fault from the turns


def test_stop_waits_for_the_turn_under_way_and_starts_no_other() -> None:
    store = Store()
    slow = Slow(interval_s=0.05, busy_s=0.3)
    scheduler = Scheduler([CollectorRunner(slow, store, 5.0)])
    scheduler.start()
    wait_until(lambda: len(slow.starts) == 1)
    scheduler.stop()
    assert slow.calls == 1, "stop() returned after the collection under way ended"
    time.sleep(0.2)
    assert len(slow.starts) == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("schedule-")]
