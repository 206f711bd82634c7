"""The Store: latest samples per collector, bounded history, health, listeners."""

from __future__ import annotations

import logging

import pytest

from wslwatch.core import Sample
from wslwatch.store import Snapshot, Store, series_key


def s(name: str, value: float, ts: float, **labels: str) -> Sample:
    return Sample(name, labels, value, ts)


def test_a_collection_replaces_that_collectors_samples_only() -> None:
    store = Store()
    store.record("a", [s("x", 1, 10), s("y", 2, 10, gpu="0")], now=10, duration_s=0.01)
    store.record("b", [s("z", 3, 10)], now=10, duration_s=0.01)
    store.record("a", [s("x", 5, 20)], now=20, duration_s=0.01)
    snap = store.snapshot()
    assert snap.value("x") == 5
    assert snap.value("y", gpu="0") is None  # gone with a's newer collection
    assert snap.value("z") == 3
    assert snap.ts == 20


def test_value_matches_labels() -> None:
    store = Store()
    store.record("gpu", [s("m", 1, 1, gpu="0"), s("m", 2, 1, gpu="1")], now=1, duration_s=0)
    snap = store.snapshot()
    assert snap.value("m", gpu="1") == 2
    assert [x.value for x in snap.series("m")] == [1, 2]
    assert snap.value("m", gpu="7") is None


def test_a_failure_drops_the_samples_and_records_why() -> None:
    store = Store()
    store.record("gpu", [s("m", 1, 1)], now=1, duration_s=0.1)
    store.record_failure("gpu", "NVML library not found", now=2, duration_s=0.2)
    snap = store.snapshot()
    assert snap.series("m") == ()
    (health,) = snap.health
    assert (health.up, health.errors_total, health.last_success_ts, health.reason) == (
        False,
        1,
        1,
        "NVML library not found",
    )


def test_no_data_is_not_counted_as_an_error() -> None:
    store = Store()
    store.record_failure("wsl_guest", "not running", now=1, duration_s=0, fault=False)
    store.record_failure("wsl_guest", "not running", now=2, duration_s=0, fault=False)
    health = store.health("wsl_guest")
    assert health is not None and not health.up and health.errors_total == 0


def test_history_keeps_points_in_order_and_bounded_by_age_and_count() -> None:
    store = Store(history_s=100, max_points=5)
    for t in range(0, 300, 10):
        store.record("a", [s("x", t, t)], now=t, duration_s=0)
    points = store.history("x")[series_key("x", {})]
    assert points == tuple((t, t) for t in range(250, 300, 10))  # 5 newest, all within 100 s
    store2 = Store(history_s=25, max_points=100)
    for t in range(0, 100, 10):
        store2.record("a", [s("x", t, t)], now=t, duration_s=0)
    assert [p[0] for p in store2.history("x")[series_key("x", {})]] == [70, 80, 90]


def test_series_that_vanish_are_forgotten_after_the_horizon() -> None:
    store = Store(history_s=60)
    store.record("gpu", [s("proc", 1, 0, pid="42")], now=0, duration_s=0)
    for t in range(10, 200, 10):
        store.record("gpu", [s("proc", 1, t, pid="43")], now=t, duration_s=0)
    keys = store.history("proc")
    assert series_key("proc", {"pid": "43"}) in keys
    assert series_key("proc", {"pid": "42"}) not in keys


def test_listeners_get_every_new_snapshot() -> None:
    store = Store()
    seen: list[Snapshot] = []
    store.subscribe(seen.append)
    store.record("a", [s("x", 1, 1)], now=1, duration_s=0)
    store.record_failure("a", "boom", now=2, duration_s=0)
    assert [snap.ts for snap in seen] == [1, 2]
    assert seen[0].value("x") == 1 and seen[1].value("x") is None


def test_a_snapshot_never_changes_after_it_is_taken() -> None:
    store = Store()
    store.record("a", [s("x", 1, 1)], now=1, duration_s=0)
    before = store.snapshot()
    store.record("a", [s("x", 2, 2)], now=2, duration_s=0)
    assert before.value("x") == 1 and store.snapshot().value("x") == 2


def test_the_daemons_own_series_replace_each_other_and_go_with_their_collector() -> None:
    store = Store()
    told: list[Snapshot] = []
    store.subscribe(told.append)
    store.record("a", [s("x", 1, 10)], now=10, duration_s=0)
    store.put([s("skipped", 0, 10, collector="a"), s("skipped", 0, 10, collector="b"), s("paused", 0, 10)])
    store.put([s("skipped", 2, 11, collector="a"), s("paused", 1, 11)])
    snap = store.snapshot()
    assert snap.value("skipped", collector="a") == 2 and snap.value("skipped", collector="b") == 0
    assert snap.value("paused") == 1 and snap.value("x") == 1
    assert len(told) == 1, "no rule reads them: listeners are not told"
    store.forget("a")
    assert store.snapshot().value("skipped", collector="a") is None
    assert store.snapshot().value("skipped", collector="b") == 0 and store.snapshot().value("paused") == 1


def test_history_points_compare_and_slice_like_tuples() -> None:
    store = Store(history_s=100, max_points=3)
    for t in range(0, 50, 10):
        store.record("a", [s("x", t * 2, t)], now=t, duration_s=0)
    points = store.history("x")[series_key("x", {})]
    assert points == ((20, 40), (30, 60), (40, 80)) and points[-1] == (40, 80)
    assert points[1:] == [(30, 60), (40, 80)] and len(points) == 3


def test_history_keeps_exactly_the_last_history_s_and_drops_series_gone_that_long() -> None:
    store = Store(history_s=60)
    store.record("a", [s("x", 1, 1000), s("gone", 9, 1000)], now=1000, duration_s=0)
    store.record("a", [s("x", 2, 1030), s("x_other", 3, 1030)], now=1030, duration_s=0)
    store.record("a", [s("x", 3, 1060)], now=1060, duration_s=0)
    x, gone = series_key("x", {}), series_key("gone", {})
    # points and series exactly 60 s old stay
    assert store.history("x") == {x: ((1000, 1), (1030, 2), (1060, 3))}
    assert store.history("gone") == {gone: ((1000, 9),)}
    store.record("a", [s("x", 4, 1061)], now=1061, duration_s=0)
    assert store.history("x") == {x: ((1030, 2), (1060, 3), (1061, 4))}
    assert store.history("gone") == {}  # no point for over 60 s: the series is gone


def test_history_points_differ_from_any_other_points() -> None:
    store = Store(history_s=100)
    for t in range(20, 50, 10):
        store.record("a", [s("x", t * 2, t)], now=t, duration_s=0)
    points = store.history("x")[series_key("x", {})]
    assert points == [(20, 40), (30, 60), (40, 80)]
    for other in ([(20, 40), (30, 60), (40, 81)], [(20, 40), (30, 60), (40, 79)], [(20, 40)], [], "x", 5):
        assert points != other, other


def test_one_point_over_the_count_drops_the_oldest() -> None:
    store = Store(history_s=100, max_points=3)
    for t in range(4):
        store.record("a", [s("x", t, t)], now=t, duration_s=0)
    assert store.history("x")[series_key("x", {})] == ((1, 1), (2, 2), (3, 3))


def test_a_default_store_keeps_two_hours_and_at_most_4096_points() -> None:
    store = Store()
    for t in (0, 7200):
        store.record("a", [s("x", t, t)], now=t, duration_s=0)
    assert [t for t, _ in store.history("x")[series_key("x", {})]] == [0, 7200], "exactly 2 h old stays"
    store.record("a", [s("x", 1, 7201)], now=7201, duration_s=0)
    assert [t for t, _ in store.history("x")[series_key("x", {})]] == [7200, 7201]
    counted = Store()
    for t in range(4097):
        counted.record("a", [s("y", t, t)], now=t, duration_s=0)
    kept = counted.history("y")[series_key("y", {})]
    assert len(kept) == 4096 and kept[0] == (1, 1)


def test_value_matches_labels_exactly_whatever_the_order() -> None:
    store = Store()
    store.record("gpu", [s("m", 2, 1, gpu="1"), s("m", 1, 1, gpu="0")], now=1, duration_s=0)
    assert store.snapshot().value("m", gpu="0") == 1


def test_health_counts_every_failure_and_a_success_is_up() -> None:
    store = Store()
    for now in (1, 2, 3):
        store.record_failure("a", "no data", now=now, duration_s=0)
    failed = store.health("a")
    assert failed is not None and (failed.up, failed.errors_total) == (False, 3)
    store.record("a", [s("x", 1, 4)], now=4, duration_s=0)
    ok = store.health("a")
    assert ok is not None and (ok.up, ok.errors_total, ok.last_success_ts) == (True, 3, 4)


def test_a_series_whose_samples_lag_their_collection_stays() -> None:
    """A sample's own time can be older than the moment it is recorded (a slow collector)."""
    store = Store(history_s=60)
    store.record("a", [s("x", 1, 1000)], now=1000, duration_s=0)
    store.record("a", [s("x", 2, 1060)], now=1065, duration_s=0)
    assert store.history("x") == {series_key("x", {}): ((1000, 1), (1060, 2))}


def test_an_older_sample_than_the_last_point_adds_none() -> None:
    store = Store()
    store.record("a", [s("x", 1, 100)], now=100, duration_s=0)
    store.record("a", [s("x", 2, 90)], now=101, duration_s=0)  # a late reading of another thread
    assert store.history("x") == {series_key("x", {}): ((100, 1),)}


def test_a_failing_listener_costs_the_others_nothing_and_is_logged_in_full_once(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    seen: list[Snapshot] = []

    def broken(snapshot: Snapshot) -> None:
        raise OSError(28, "No space left on device")

    store.subscribe(broken)
    store.subscribe(seen.append)
    with caplog.at_level(logging.DEBUG, "wslwatch.store"):
        for now in (1, 2):
            store.record("a", [s("x", now, now)], now=now, duration_s=0)
    assert [snapshot.ts for snapshot in seen] == [1, 2]
    failures = [r for r in caplog.records if r.getMessage().startswith("a Store listener failed")]
    assert [(r.levelno, bool(r.exc_info)) for r in failures] == [(logging.ERROR, True), (logging.DEBUG, True)]
