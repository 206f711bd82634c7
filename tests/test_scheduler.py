"""The daemon's APScheduler jobs: each runner at once and then on its interval; late turns run once, never in a
burst; probes capped, spread and pausable; the set of jobs changed in place."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from collectors_for_tests import Hanging, Steady

from wslwatch.core import Sample
from wslwatch.daemon.jobs import MAX_PROBES_AT_ONCE, Jobs
from wslwatch.daemon.runner import GRACE_S, CollectorRunner
from wslwatch.store import Snapshot, Store

TESTS = Path(__file__).parent


class Slow(Steady):
    """Takes `busy_s` per collection, and notes when each one started and how many ran at once."""

    running = 0
    most_at_once = 0
    lock = threading.Lock()

    def __init__(self, interval_s: float, busy_s: float, name: str = "slow") -> None:
        super().__init__(name, interval_s)
        self.busy_s = busy_s
        self.starts: list[float] = []

    def collect(self, now: float) -> list[Sample]:
        self.starts.append(time.monotonic())
        with Slow.lock:
            Slow.running += 1
            Slow.most_at_once = max(Slow.most_at_once, Slow.running)
        time.sleep(self.busy_s)
        with Slow.lock:
            Slow.running -= 1
        return super().collect(now)


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def started(store: Store, *collectors: Steady, timeout_s: float = 5.0) -> Jobs:
    jobs = Jobs(store)
    jobs.start([CollectorRunner(c, store, timeout_s) for c in collectors])
    return jobs


def skipped(store: Store, collector: str, reason: str) -> float | None:
    return store.snapshot().value("wslwatch_collector_skipped_total", collector=collector, reason=reason)


def test_every_runner_runs_at_once_then_on_its_own_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    store = Store()
    fast, rare = Steady("fast", 0.1), Steady("rare", 30.0)
    begun = time.monotonic()
    jobs = started(store, fast, rare, timeout_s=1.0)
    try:
        assert wait_until(lambda: fast.calls >= 6)
        elapsed = time.monotonic() - begun
    finally:
        jobs.stop()
    assert elapsed >= 0.45, "turns are spaced by the interval, not run back to back"
    assert rare.calls == 1, "the first turn comes at once, the second only after 30 s"
    assert store.health("fast") is not None and store.health("rare") is not None
    assert skipped(store, "rare", "missed") == 0.0 and skipped(store, "rare", "still_running") == 0.0
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")], "no INFO line per job run"


def test_a_slow_collection_delays_no_other_runner() -> None:
    store = Store()
    slow, steady = Slow(interval_s=0.1, busy_s=0.6), Steady("steady", 0.05)
    jobs = started(store, slow, steady)
    try:
        wait_until(lambda: steady.calls >= 5)
        during_first_slow_collection = len(slow.starts) == 1
    finally:
        jobs.stop()
    assert during_first_slow_collection, "the steady runner took 5 turns while the slow one was busy"


def test_turns_missed_by_a_long_collection_are_skipped_and_counted() -> None:
    store = Store()
    slow = Slow(interval_s=0.1, busy_s=0.35)  # each collection overruns 3 turns
    jobs = started(store, slow)
    try:
        wait_until(lambda: len(slow.starts) >= 3)
    finally:
        jobs.stop()
    gaps = [b - a for a, b in zip(slow.starts, slow.starts[1:])]
    assert gaps and all(gap >= 0.35 for gap in gaps), "never overlapping itself"
    assert all(gap < 0.35 + 0.1 + 0.25 for gap in gaps), "the next turn is the next one due"
    assert (skipped(store, "slow", "still_running") or 0) >= 2, "the turns that came while it ran are counted"


_SUSPENDED = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from collectors_for_tests import Steady
    from wslwatch.daemon.jobs import Jobs
    from wslwatch.daemon.runner import GRACE_S, CollectorRunner
    from wslwatch.store import Store

    class Noted(Steady):
        def collect(self, now):
            print(time.monotonic(), flush=True)
            return super().collect(now)

    store = Store()
    jobs = Jobs(store)
    jobs.start([CollectorRunner(Noted("noted", 0.1), store, 1.0)])
    sys.stdin.readline()
    jobs.stop()
    """
)


def test_a_suspended_process_runs_one_late_turn_not_a_burst() -> None:
    """A laptop's sleep: the whole process stops for 10 turns; on waking it runs one, then keeps the interval."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SUSPENDED, str(TESTS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        for _ in range(3):
            proc.stdout.readline()  # running on its interval
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(1.0)
        woke = time.monotonic()
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.65)
        out, _ = proc.communicate("stop\n", timeout=10)
    finally:
        proc.kill()
    after = [float(line) for line in out.split() if float(line) >= woke]
    assert 3 <= len(after) <= 9, f"about one turn per 0.1 s after waking, got {len(after)}"
    gaps = [b - a for a, b in zip(after, after[1:])]
    assert min(gaps) >= 0.05, f"the missed turns were run in a burst: gaps {gaps}"


def test_a_failure_after_the_collection_does_not_end_the_turns(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    failures = []

    def broken_listener(snapshot: Snapshot) -> None:
        failures.append(snapshot.ts)
        raise RuntimeError("a listener bug")

    store.subscribe(broken_listener)
    steady = Steady("steady", 0.05)
    jobs = started(store, steady, timeout_s=1.0)
    try:
        wait_until(lambda: steady.calls >= 3)
    finally:
        jobs.stop()
    assert steady.calls >= 3 and len(failures) >= 3
    assert "a Store listener failed" in caplog.text  # the Store keeps a listener's fault from the turns


def test_stop_is_bounded_by_the_deadline_of_a_hung_collection() -> None:
    store = Store()
    hung = Hanging("hung", interval_s=0.05)
    jobs = started(store, hung, timeout_s=0.3)
    try:
        assert wait_until(lambda: hung.entered == 1)
        begun = time.monotonic()
        jobs.stop()
        took = time.monotonic() - begun
        time.sleep(0.2)
        assert hung.entered == 1, "no turn starts after stop(), nor while the hung one lives"
    finally:
        hung.release.set()
    assert took < 0.3 + GRACE_S + 0.4, f"stop() waited {took:.2f}s, beyond the collection's deadline"
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]
    health = store.health("hung")
    assert health is not None and health.reason is not None and "timed out after 0.3s" in health.reason


def test_probes_spread_over_their_interval_and_run_at_most_a_few_at_once() -> None:
    store = Store()
    Slow.most_at_once = 0
    probes = [Slow(interval_s=1.0, busy_s=0.6, name=f"io_latency:p{i}") for i in range(6)]
    jobs = started(store, *probes)
    try:
        assert wait_until(lambda: all(len(p.starts) >= 2 for p in probes), timeout=6)
    finally:
        jobs.stop()
    assert Slow.most_at_once == MAX_PROBES_AT_ONCE, "a probe every 1/6 s for 0.6 s each: capped"
    firsts = sorted(p.starts[0] for p in probes)
    assert firsts[-1] - firsts[0] >= 0.5, f"not all at once: spread over the 1 s interval: {firsts}"


def test_probes_pause_and_resume_and_the_pause_shows() -> None:
    store = Store()
    probe, other = Steady("io_latency:data", 0.05), Steady("host_memory", 0.05)
    jobs = started(store, probe, other, timeout_s=1.0)
    try:
        assert wait_until(lambda: probe.calls >= 2)
        assert store.snapshot().value("wslwatch_probes_paused") == 0.0
        jobs.pause_probes(time.time() + 0.6)
        assert store.snapshot().value("wslwatch_probes_paused") == 1.0
        time.sleep(0.1)  # a turn under way may end
        paused_at, others_at = probe.calls, other.calls
        time.sleep(0.3)
        assert probe.calls == paused_at, "no probe runs while paused"
        assert other.calls > others_at, "the other collectors carry on"
        assert wait_until(lambda: probe.calls > paused_at, timeout=2), "the pause ends on its own"
        assert store.snapshot().value("wslwatch_probes_paused") == 0.0
        jobs.pause_probes(time.time() + 3600)
        jobs.resume_probes()
        resumed_at = probe.calls
        assert wait_until(lambda: probe.calls > resumed_at, timeout=1), "resumed at once by hand"
    finally:
        jobs.stop()


def test_update_reschedules_adds_and_removes_in_place() -> None:
    store = Store()
    first, kept, gone = Slow(0.1, 0.0, name="changing"), Steady("kept", 0.1), Steady("gone", 0.1)
    kept_runner = CollectorRunner(kept, store, 1.0)
    jobs = Jobs(store)
    jobs.start([CollectorRunner(first, store, 1.0), kept_runner, CollectorRunner(gone, store, 1.0)])
    try:
        assert wait_until(lambda: len(first.starts) >= 3)
        second, added = Slow(0.4, 0.0, name="changing"), Steady("added", 0.1)
        jobs.update([CollectorRunner(second, store, 1.0), kept_runner, CollectorRunner(added, store, 1.0)])
        stopped_at = (len(first.starts), gone.calls)
        assert wait_until(lambda: len(second.starts) >= 3 and added.calls >= 1)
        kept_before = kept.calls
        assert wait_until(lambda: kept.calls > kept_before + 2), "the unchanged job keeps running"
    finally:
        jobs.stop()
    assert (len(first.starts), gone.calls) == stopped_at, "the replaced and the removed runners run no more"
    gaps = [b - a for a, b in zip(second.starts, second.starts[1:])]
    assert all(0.3 <= gap <= 0.7 for gap in gaps), f"the new interval is in force: {gaps}"
    assert store.health("gone") is None and skipped(store, "gone", "missed") is None, "a removed collector is forgotten"
