"""The forecast: least squares as Prometheus fits it, and when there is no forecast at all.

Expected numbers are worked out by hand from the lines the tests feed (a straight line has a
known slope, level and R² = 1; a step at share p of the window has R² = 3p(1-p)).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from wslwatch.config.schema import FillingConfig, GuestMemoryFillingConfig, RulesConfig
from wslwatch.core import Sample
from wslwatch.daemon.rules.forecast import (
    GuestMemoryFilling,
    VramFilling,
    forecast_samples,
    linear_trend,
    seconds_left,
)
from wslwatch.daemon.view import View
from wslwatch.exporters.prometheus import StoreCollector
from wslwatch.holders import Held, largest_gpu_holder, largest_guest_holder
from wslwatch.store import Store

T0 = 1_785_000_000.0
GIB = 2.0**30
AVAILABLE, TOTAL = "wslwatch_guest_memory_available_bytes", "wslwatch_guest_memory_total_bytes"
GPU = {"gpu": "0", "uuid": "GPU-1"}
UNREAD = {"gpu": "2", "uuid": "GPU-3"}


def never_active(labels: object, severity: str) -> bool:
    return False


def guest(store: Store, values: list[float], every: float = 30.0, extra: list[Sample] | None = None) -> View:
    """The guest's MemAvailable `values` every `every` s (16 GiB total); the view at the last one."""
    for i, value in enumerate(values):
        t = T0 + i * every
        samples = [Sample(AVAILABLE, {}, value, t), Sample(TOTAL, {}, 16 * GIB, t), *(extra or [])]
        store.record("wsl_guest", samples, t, 0.0)
    return View(store.snapshot(), store.history)


def test_a_straight_line_is_fitted_exactly() -> None:
    points = [(T0 + 30 * i, 10 * GIB - 2e6 * 30 * i) for i in range(21)]
    trend = linear_trend(points, T0 + 600)
    assert trend is not None
    assert abs(trend.slope + 2e6) < 1e-6 and abs(trend.level - (10 * GIB - 1.2e9)) < 1 and abs(trend.r2 - 1) < 1e-12


def test_a_step_in_the_middle_explains_three_quarters() -> None:
    points = [(float(i), 0.0 if i < 50 else -1.0) for i in range(100)]
    trend = linear_trend(points, 99.0)
    assert trend is not None and abs(trend.r2 - 0.75) < 0.01  # 3p(1-p), p = 0.5


def test_a_rising_line_is_fitted_too() -> None:
    trend = linear_trend([(T0 + 30 * i, 1e9 + 3e6 * 30 * i) for i in range(5)], T0 + 120)
    assert trend is not None and abs(trend.slope - 3e6) < 1e-6 and abs(trend.level - (1e9 + 3.6e8)) < 1e-3


def test_flat_and_too_short_have_no_line_to_speak_of() -> None:
    assert linear_trend([(T0, 5.0)], T0) is None
    assert linear_trend([(T0, 5.0), (T0, 6.0)], T0) is None  # two values at one moment: no slope
    flat = linear_trend([(T0, 5.0), (T0 + 30, 5.0)], T0 + 30)
    assert flat is not None and flat.slope == 0 and flat.level == 5


def test_a_steady_leak_gives_the_time_left() -> None:
    # 200 MiB/min from 6 GiB: at the last of 21 readings (10 min) 4.04 GiB are left, 20.7 min
    view = guest(Store(), [6 * GIB - 200 * 2**20 / 2 * i for i in range(21)])
    left = seconds_left(view, AVAILABLE, {}, 16 * GIB, GuestMemoryFillingConfig())
    assert left is not None and abs(left - (6 * GIB - 2000 * 2**20) / (200 * 2**20 / 60)) < 1e-6


def test_no_forecast_before_the_window_is_covered_when_flat_or_rising_or_stepped() -> None:
    config = FillingConfig()
    leak = [6 * GIB - 100e6 * i for i in range(21)]
    assert seconds_left(guest(Store(), leak[:20]), AVAILABLE, {}, 16 * GIB, config) is None  # 9.5 min of history
    assert seconds_left(guest(Store(), [6 * GIB - 1e6 * i for i in range(21)]), AVAILABLE, {}, 16 * GIB, config) is None
    assert seconds_left(guest(Store(), leak[::-1]), AVAILABLE, {}, 16 * GIB, config) is None
    step = [6 * GIB] * 10 + [2 * GIB] * 11
    assert seconds_left(guest(Store(), step), AVAILABLE, {}, 16 * GIB, config) is None  # R² ≈ 0.75
    stopped = [6 * GIB - 400e6 * min(i, 14) for i in range(21)]  # a ramp that stopped 3 min ago
    assert seconds_left(guest(Store(), stopped), AVAILABLE, {}, 16 * GIB, config) is None  # off the line
    assert seconds_left(guest(Store(), leak), AVAILABLE, {}, 16 * GIB, config) is not None
    fast = [12 * GIB - 400e6 * i for i in range(21)]
    freed = fast[:-1] + [fast[-1] + 2.5 * GIB]  # the newest reading 2 GiB off the line (R² still 0.945)
    assert seconds_left(guest(Store(), fast), AVAILABLE, {}, 16 * GIB, config) is not None
    assert seconds_left(guest(Store(), freed), AVAILABLE, {}, 16 * GIB, config) is None


def test_no_forecast_once_memavailable_is_no_longer_read() -> None:
    store = Store()
    guest(store, [8 * GIB - 300e6 * i for i in range(20)])
    store.record("wsl_guest", [Sample(TOTAL, {}, 16 * GIB, T0 + 600)], T0 + 600, 0.0)
    view = View(store.snapshot(), store.history)
    assert list(GuestMemoryFilling(GuestMemoryFillingConfig()).evaluate(view, never_active)) == []
    assert forecast_samples(view, RulesConfig()) == []


def test_memory_gone_at_the_trend_reads_as_falling_fast() -> None:
    # 0.6 GiB less every 30 s from 11 GiB: the line reaches 0 before the newest reading.
    view = guest(Store(), [max(11 * GIB - 0.6 * GIB * i, 0.0) for i in range(21)])
    (finding,) = GuestMemoryFilling(GuestMemoryFillingConfig()).evaluate(view, never_active)
    assert finding.what == "At this rate the guest runs out of memory in 0 s (0.0 GB of 16.0 GB available, falling fast)"


def test_the_rule_names_the_largest_holder_and_the_series_are_served() -> None:
    holders = [
        Sample("wslwatch_guest_cgroup_memory_bytes", {"cgroup": "/docker/ab", "name": "container qdrant", "kind": "anon"}, 11 * GIB, T0),
        Sample("wslwatch_guest_cgroup_memory_bytes", {"cgroup": "", "name": "rest", "kind": "anon"}, 20e9, T0),
        Sample("wslwatch_guest_process_memory_bytes", {"pid": "4242", "process": "qdrant", "kind": "anon"}, 10 * GIB, T0),
    ]
    store = Store()
    view = guest(store, [8 * GIB - 300e6 * i for i in range(21)], extra=holders)  # 10 MB/s
    findings = list(GuestMemoryFilling(GuestMemoryFillingConfig()).evaluate(view, never_active))
    assert len(findings) == 1
    assert findings[0].what.startswith("At this rate the guest runs out of memory in 4 min")  # 2.59 GB at 10 MB/s: 259 s
    assert findings[0].what.endswith("; largest: container qdrant, 11.0 GB")
    assert findings[0].holder == "container qdrant"
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store.snapshot, "0", derived=lambda: forecast_samples(view, RulesConfig())))
    served = registry.get_sample_value("wslwatch_guest_memory_exhausted_in_seconds")
    assert served is not None and abs(served - (8 * GIB - 6e9) / 10e6) < 1e-3


def test_a_process_is_named_unless_a_container_holds_more() -> None:
    store = Store()
    cgroup = {"cgroup": "/user.slice/session-2.scope", "name": "session-2.scope", "kind": "anon"}
    samples = [
        Sample("wslwatch_guest_cgroup_memory_bytes", cgroup, 12 * GIB, T0),
        Sample("wslwatch_guest_process_memory_bytes", {"pid": "77", "process": "python", "kind": "anon"}, 9.3 * GIB, T0),
        Sample("wslwatch_gpu_process_memory_bytes", {**GPU, "pid": "8123", "process": "python.exe"}, 17.8 * GIB, T0),
        Sample("wslwatch_gpu_process_memory_bytes", {"gpu": "1", "uuid": "GPU-2", "pid": "9", "process": "x"}, 20e9, T0),
    ]
    store.record("x", samples, T0, 0.0)
    snapshot = store.snapshot()
    assert largest_guest_holder(snapshot) == Held("python (pid 77)", 9.3 * GIB)  # the session holds it; the process says who
    assert largest_gpu_holder(snapshot, "GPU-1") == Held("python.exe (pid 8123)", 17.8 * GIB)
    assert largest_guest_holder(snapshot, "swap") is None


def test_vram_filling_is_per_gpu() -> None:
    store = Store()
    for i in range(41):
        t = T0 + 15 * i
        slow = {"gpu": "1", "uuid": "GPU-2"}  # 0.1 GiB/min from 8 GiB: an hour and more left
        samples = [
            Sample("wslwatch_gpu_memory_total_bytes", slow, 24 * GIB, t),
            Sample("wslwatch_gpu_memory_free_bytes", slow, 8 * GIB - 0.1 * GIB / 4 * i, t),
            Sample("wslwatch_gpu_memory_total_bytes", GPU, 24 * GIB, t),
            Sample("wslwatch_gpu_memory_free_bytes", GPU, 8 * GIB - 0.5 * GIB / 4 * i, t),  # 0.5 GiB/min
            Sample("wslwatch_gpu_memory_total_bytes", UNREAD, 24 * GIB, t),
        ]
        if i < 40:  # a GPU whose free memory fell fast until it was no longer read
            samples.append(Sample("wslwatch_gpu_memory_free_bytes", UNREAD, 8 * GIB - GIB * i, t))
        store.record("gpu", samples, t, 0.0)
    view = View(store.snapshot(), store.history)
    findings = list(VramFilling(RulesConfig().vram_filling).evaluate(view, never_active))
    assert [f.labels for f in findings] == [GPU]
    assert "runs out of VRAM in 6 min (3.0 GB of 24.0 GB free, falling 0.5 GB/min)" in findings[0].what
    # 3 GiB at 0.5 GiB/min: 360 s; 7 GiB at 0.1 GiB/min: 4200 s (no alert, but a forecast)
    served = {s.labels["uuid"]: s.value for s in forecast_samples(view, RulesConfig())}
    assert served.keys() == {"GPU-1", "GPU-2"}
    assert abs(served["GPU-1"] - 360) < 1e-6 and abs(served["GPU-2"] - 4200) < 1e-6


def test_vram_filling_gives_the_rate_per_minute() -> None:
    # 6 GiB/min from 70 GiB of 80: 10 GiB left after 10 min, 100 s at that rate. Ahead of it, a
    # GPU without a reading of its free memory.
    store = Store()
    for i in range(41):
        t = T0 + 15 * i
        samples = [
            Sample("wslwatch_gpu_memory_total_bytes", {"gpu": "1", "uuid": "GPU-2"}, 24 * GIB, t),
            Sample("wslwatch_gpu_memory_total_bytes", GPU, 80 * GIB, t),
            Sample("wslwatch_gpu_memory_free_bytes", GPU, 70 * GIB - 1.5 * GIB * i, t),
        ]
        store.record("gpu", samples, t, 0.0)
    view = View(store.snapshot(), store.history)
    (finding,) = VramFilling(RulesConfig().vram_filling).evaluate(view, never_active)
    assert finding.what == "At this rate GPU 0 runs out of VRAM in 2 min (10.0 GB of 80.0 GB free, falling 6.0 GB/min)"


def test_vram_high_names_the_process_holding_the_most() -> None:
    from wslwatch.daemon.rules.gpu import VramHigh

    store = Store()
    samples = [
        Sample("wslwatch_gpu_memory_total_bytes", GPU, 24 * GIB, T0),
        Sample("wslwatch_gpu_memory_free_bytes", GPU, 0.5 * GIB, T0),  # 97.9 % full: warning and critical
        Sample("wslwatch_gpu_process_memory_bytes", {**GPU, "pid": "4242", "process": "python.exe"}, 17.8 * GIB, T0),
        Sample("wslwatch_gpu_process_memory_bytes", {**GPU, "pid": "99", "process": "dwm.exe"}, 0.5 * GIB, T0),
    ]
    store.record("gpu", samples, T0, 0.0)
    findings = list(VramHigh(RulesConfig().vram_high).evaluate(View(store.snapshot(), store.history), never_active))
    assert [f.severity for f in findings] == [None, "critical"]
    assert all(f.what.endswith("; largest: python.exe (pid 4242), 17.8 GB") for f in findings)
    assert {f.holder for f in findings} == {"python.exe (pid 4242)"}
