"""The runner: deadline, health, and failures turned into values, never crashes."""

from __future__ import annotations

import threading
import time

from collectors_for_tests import Failing, Hanging, Steady

from wslwatch.core import CollectorError, NoData, Sample
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store


def runner(collector: object, store: Store, timeout_s: float = 1.0) -> CollectorRunner:
    return CollectorRunner(collector, store, timeout_s, clock=lambda: 1000.0)  # type: ignore[arg-type]


def test_success_records_samples_and_health() -> None:
    store = Store()
    runner(Steady(), store).run()
    snap = store.snapshot()
    assert snap.value("wslwatch_host_memory_total_bytes") == 1.0
    health = store.health("steady")
    assert health is not None and health.up and health.last_success_ts == 1000.0 and health.errors_total == 0


def test_a_collector_error_becomes_its_reason() -> None:
    store = Store()
    r = runner(Failing(CollectorError("NVML library not found")), store)
    r.run()
    r.run()
    health = store.health("failing")
    assert health is not None
    assert (health.up, health.reason, health.errors_total) == (False, "NVML library not found", 2)


def test_no_data_is_down_without_an_error() -> None:
    store = Store()
    runner(Failing(NoData("WSL is not running")), store).run()
    health = store.health("failing")
    assert health is not None and not health.up and health.errors_total == 0
    assert health.reason == "WSL is not running"


def test_an_unexpected_exception_is_contained() -> None:
    store = Store()
    runner(Failing(ZeroDivisionError("division by zero")), store).run()
    health = store.health("failing")
    assert health is not None and health.reason == "unexpected ZeroDivisionError: division by zero"


def test_a_hang_is_abandoned_at_the_deadline_and_never_piles_up() -> None:
    store = Store()
    hanging = Hanging()
    r = runner(hanging, store, timeout_s=0.2)
    threads_before = threading.active_count()
    started = time.monotonic()
    r.run()
    assert time.monotonic() - started < 1.0
    health = store.health("hanging")
    assert health is not None and health.reason == "timed out after 0.2s; the collection was abandoned"
    r.run()  # the first is still stuck: no second thread
    r.run()
    assert hanging.entered == 1
    assert threading.active_count() == threads_before + 1
    health = store.health("hanging")
    assert health is not None and health.errors_total == 3
    assert health.reason is not None and health.reason.startswith("the previous collection is still stuck")
    hanging.release.set()
    time.sleep(0.05)
    r.run()  # recovered
    health = store.health("hanging")
    assert health is not None and health.up
    assert store.snapshot().value("wslwatch_gpu_power_watts", gpu="0") == 50.0


class ThreadNoting(Steady):
    """Notes the thread each collection runs in."""

    def __init__(self) -> None:
        super().__init__("noting")
        self.threads: list[threading.Thread] = []

    def collect(self, now: float) -> list[Sample]:
        self.threads.append(threading.current_thread())
        return super().collect(now)


def test_collections_share_one_worker_thread_which_ends_when_idle() -> None:
    store = Store()
    noting = ThreadNoting()
    r = CollectorRunner(noting, store, 1.0, idle_s=0.2)
    threads_before = threading.active_count()
    for _ in range(3):
        r.run()
    assert len(set(noting.threads)) == 1 and noting.threads[0] is not threading.current_thread()
    assert threading.active_count() == threads_before + 1
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == threads_before, "an idle worker ends"
    r.run()
    assert noting.calls == 4 and len(set(noting.threads)) == 2, "the next collection starts a new worker"
    health = store.health("noting")
    assert health is not None and health.up
