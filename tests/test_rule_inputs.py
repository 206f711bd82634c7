"""The rules' view of the data: counters, windows, quantiles, and rules without their inputs."""

from __future__ import annotations

import math

import pytest

from wslwatch.config import Config
from wslwatch.core import Sample
from wslwatch.daemon.alerting import Active
from wslwatch.daemon.rules import build_rules
from wslwatch.daemon.rules._wsl import idle_since, reclaim_mode
from wslwatch.store import Store
from wslwatch.daemon.view import View, histogram_quantile

T0 = 1_785_000_000.0
CPU = "wslwatch_guest_cpu_seconds_total"


def view_of(store: Store) -> View:
    return View(store.snapshot(), store.history)


def feed(store: Store, name: str, values: list[float], every: float = 30.0, **labels: str) -> None:
    for i, value in enumerate(values):
        store.record(name, [Sample(name, labels, value, T0 + i * every)], T0 + i * every, 0.0)


def test_a_counter_increase_counts_a_reset_from_zero() -> None:
    store = Store()
    feed(store, "c", [100.0, 160.0, 10.0, 40.0])
    assert view_of(store).increase("c", {}, 90.0) == (60.0 + 10.0 + 30.0, 90.0)


def test_a_window_longer_than_the_history_is_no_data() -> None:
    store = Store()
    feed(store, "c", [1.0, 2.0, 3.0])
    view = view_of(store)
    assert view.rate("c", {}, 60.0) == pytest.approx(2.0 / 60.0)
    assert view.rate("c", {}, 61.0) is None
    assert view.window("missing", {}, 10.0) is None


@pytest.mark.parametrize(
    ("q", "buckets", "want"),
    [
        (0.5, [(0.001, 0.0), (0.01, 10.0), (math.inf, 10.0)], 0.0055),  # inside one bucket, interpolated
        (0.5, [(0.0025, 4.0), (0.005, 5.0), (0.01, 10.0), (math.inf, 10.0)], 0.005),
        (0.99, [(0.01, 1.0), (math.inf, 10.0)], 0.01),  # in +Inf: the largest finite bound
        (0.5, [(0.01, 0.0), (math.inf, 0.0)], None),  # no observations
        (0.5, [(0.01, 3.0)], None),  # no +Inf bucket: not a histogram
    ],
)
def test_histogram_quantile_as_prometheus_computes_it(q: float, buckets: list[tuple[float, float]], want: float | None) -> None:
    got = histogram_quantile(q, buckets)
    assert got == (pytest.approx(want) if want is not None else None)


def cpu(store: Store, shares: list[float], ncpu: int = 8) -> None:
    """One guest reading per 30 s with `busy share` user time per interval."""
    user = idle = 0.0
    for i, share in enumerate([0.0] + shares):
        user += share * 30 * ncpu
        idle += (1 - share) * 30 * ncpu
        t = T0 + 30 * i
        samples = [Sample(CPU, {"mode": "user"}, user, t), Sample(CPU, {"mode": "idle"}, idle, t)]
        store.record("wsl_guest", samples, t, 0.0)


def test_idle_since_is_the_start_of_the_current_quiet_run() -> None:
    store = Store()
    cpu(store, [0.5, 0.5, 0.002, 0.004, 0.001])
    assert idle_since(view_of(store)) == T0 + 60
    cpu(store := Store(), [0.002, 0.3])
    assert idle_since(view_of(store)) is None


def test_an_unknown_reclaim_value_means_dropcache_as_in_wsl() -> None:
    store = Store()
    info = Sample("wslwatch_wsl_config_info", {"auto_memory_reclaim": "Sometimes", "section": "experimental", "path": "x"}, 1, T0)
    store.record("wslconfig", [info], T0, 0.0)
    assert reclaim_mode(view_of(store)) == "dropcache"
    assert reclaim_mode(view_of(Store())) is None


def test_every_rule_is_inactive_without_its_inputs() -> None:
    store = Store()
    store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, 2**35, T0)], T0, 0.0)
    view = view_of(store)
    for rule in build_rules(Config()):
        assert list(rule.evaluate(view, Active(()))) == [], rule.name


def test_guest_rules_are_inactive_while_the_vm_is_stopped() -> None:
    store = Store()
    gib = 2**30
    samples = [
        Sample("wslwatch_vmmem_up", {}, 0, T0),
        Sample("wslwatch_guest_memory_total_bytes", {}, 16 * gib, T0),
        Sample("wslwatch_guest_memory_free_bytes", {}, 0.1 * gib, T0),
        Sample("wslwatch_guest_memory_available_bytes", {}, 0.1 * gib, T0),
    ]
    store.record("x", samples, T0, 0.0)
    low = [r for r in build_rules(Config()) if r.name == "guest_memory_low"][0]
    assert list(low.evaluate(view_of(store), Active(()))) == []
    store.record("x", samples[1:], T0 + 1, 0.0)  # inside WSL: no VM process at all, the guest is read
    assert [f.labels for f in low.evaluate(view_of(store), Active(()))] == [{}]


@pytest.mark.parametrize(("data", "cross_os", "advised"), [("true", "true", True), ("false", "true", False), ("true", "false", False)])
def test_cross_os_advice_is_only_for_training_data_on_a_shared_filesystem(data: str, cross_os: str, advised: bool) -> None:
    store = Store()
    info = {
        "path": "/mnt/c/x", "mountpoint": "/mnt/c", "fstype": "9p", "source": "drvfs",
        "kind": "wsl-drvfs-9p", "cross_os": cross_os, "readonly": "false", "data": data,
    }
    store.record("io_latency:x", [Sample("wslwatch_path_info", info, 1.0, T0)], T0, 0.0)
    (rule,) = [r for r in build_rules(Config()) if r.name == "path_cross_os"]
    findings = list(rule.evaluate(view_of(store), Active([])))
    assert [f.labels for f in findings] == ([{"path": "/mnt/c/x"}] if advised else [])
