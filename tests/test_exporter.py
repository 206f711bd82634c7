"""The exporter: a Store snapshot rendered as Prometheus text, checked with the real parser."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from wslwatch.core import Alert, Sample
from wslwatch.store import Store
from wslwatch.exporters.catalogue import CATALOGUE, HISTOGRAM_BUCKETS
from wslwatch.exporters.prometheus import StoreCollector


def scrape(store: Store, alerts: tuple[Alert, ...] = ()) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(store.snapshot, "1.2.3", lambda: alerts))
    text = generate_latest(registry).decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_gauges_counters_health_and_build_info() -> None:
    store = Store()
    store.record(
        "wsl_guest",
        [
            Sample("wslwatch_guest_memory_total_bytes", {}, 8e9, 1.0),
            Sample("wslwatch_guest_swap_in_pages_total", {}, 12.0, 1.0),
            Sample("wslwatch_guest_cpu_seconds_total", {"mode": "idle"}, 99.5, 1.0),
        ],
        now=1.0,
        duration_s=0.002,
    )
    store.record_failure("gpu", "NVML library not found", now=1.0, duration_s=0.001)
    m = scrape(store)
    assert m["wslwatch_guest_memory_total_bytes"][()] == 8e9
    assert m["wslwatch_guest_swap_in_pages_total"][()] == 12.0
    assert m["wslwatch_guest_cpu_seconds_total"][(("mode", "idle"),)] == 99.5
    assert m["wslwatch_collector_up"] == {(("collector", "gpu"),): 0.0, (("collector", "wsl_guest"),): 1.0}
    assert m["wslwatch_collector_errors_total"][(("collector", "gpu"),)] == 1.0
    assert m["wslwatch_collector_duration_seconds"][(("collector", "wsl_guest"),)] == 0.002
    assert (("collector", "gpu"),) not in m["wslwatch_collector_last_success_timestamp_seconds"]
    assert m["wslwatch_build_info"] == {(("version", "1.2.3"),): 1.0}


def test_each_firing_alert_is_one_series_named_by_what_it_is_about() -> None:
    def alert(rule: str, state: str, **labels: str) -> Alert:
        return Alert(rule, "warning", state, labels, "", 1.0)

    alerts = (
        alert("vram_high", "firing", gpu="0", uuid="GPU-aaaa"),
        alert("vram_high", "firing", gpu="1", uuid="GPU-bbbb"),
        alert("path_slow", "firing", path="/mnt/c/data"),
        alert("wslconfig_problem", "firing", code="reclaim_in_wsl2_section"),
        alert("guest_memory_low", "pending"),
    )
    firing = scrape(Store(), alerts)["wslwatch_alert_firing"]
    none = {"gpu": "", "uuid": "", "path": "", "code": "", "holder": ""}
    want = [
        {**none, "rule": "vram_high", "gpu": "0", "uuid": "GPU-aaaa"},
        {**none, "rule": "vram_high", "gpu": "1", "uuid": "GPU-bbbb"},
        {**none, "rule": "path_slow", "path": "/mnt/c/data"},
        {**none, "rule": "wslconfig_problem", "code": "reclaim_in_wsl2_section"},
    ]
    assert firing == {tuple(sorted({**labels, "severity": "warning"}.items())): 1.0 for labels in want}


def test_histogram_samples_become_one_histogram() -> None:
    labels = {"path": "/data", "op": "stat_dir"}
    samples = [
        Sample("wslwatch_path_io_latency_seconds_bucket", {**labels, "le": "0.001"}, 3, 1.0),
        Sample("wslwatch_path_io_latency_seconds_bucket", {**labels, "le": "+Inf"}, 5, 1.0),
        Sample("wslwatch_path_io_latency_seconds_bucket", {**labels, "le": "0.0001"}, 1, 1.0),
        Sample("wslwatch_path_io_latency_seconds_sum", labels, 0.02, 1.0),
        Sample("wslwatch_path_io_latency_seconds_count", labels, 5, 1.0),
    ]
    store = Store()
    store.record("io_latency", samples, now=1.0, duration_s=0.0)
    m = scrape(store)
    buckets = m["wslwatch_path_io_latency_seconds_bucket"]
    key = (("le", "0.0001"), ("op", "stat_dir"), ("path", "/data"))
    assert buckets[key] == 1
    assert buckets[(("le", "+Inf"), ("op", "stat_dir"), ("path", "/data"))] == 5
    assert m["wslwatch_path_io_latency_seconds_count"][(("op", "stat_dir"), ("path", "/data"))] == 5
    assert m["wslwatch_path_io_latency_seconds_sum"][(("op", "stat_dir"), ("path", "/data"))] == 0.02


def test_a_histogram_without_its_sum_still_shows_its_count() -> None:
    """A collector that forgot `_sum` loses the sum (read as 0), not the histogram."""
    labels = {"path": "/data", "op": "stat_dir"}
    name = "wslwatch_path_io_latency_seconds"
    samples = [Sample(f"{name}_bucket", {**labels, "le": le}, n, 1.0) for le, n in (("0.01", 2), ("+Inf", 3))]
    store = Store()
    store.record("io_latency", samples, now=1.0, duration_s=0.0)
    m = scrape(store)
    series = (("op", "stat_dir"), ("path", "/data"))
    assert m[f"{name}_count"][series] == 3
    assert m[f"{name}_sum"][series] == 0


# A gauge's name with a histogram part's suffix is no sample of that gauge (only histograms have parts).
@pytest.mark.parametrize("name", ["wslwatch_made_up_thing", "wslwatch_host_memory_total_bytes_sum"])
def test_an_unknown_name_is_logged_not_exported(name: str, caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    store.record("x", [Sample(name, {}, 1.0, 1.0)], now=1.0, duration_s=0.0)
    with caplog.at_level(logging.ERROR):
        m = scrape(store)
    assert name not in m and "wslwatch_host_memory_total_bytes" not in m
    assert f"sample {name} is not in the metric catalogue" in caplog.text


def test_the_catalogue_follows_prometheus_naming() -> None:
    for name, family in CATALOGUE.items():
        assert name.startswith("wslwatch_")
        assert name.endswith("_total") == (family.kind == "counter"), name
        assert not any(unit in name for unit in ("_mib", "_percent", "_ms")), name
    assert HISTOGRAM_BUCKETS[0] == 1e-4 and HISTOGRAM_BUCKETS[-1] == 0.25
    assert list(HISTOGRAM_BUCKETS) == sorted(set(HISTOGRAM_BUCKETS))


def test_describe_names_the_families_without_collecting() -> None:
    calls = []
    collector = StoreCollector(lambda: calls.append(1) or Store().snapshot(), "0")  # type: ignore[func-returns-value]
    names = {m.name for m in collector.describe()}
    assert "wslwatch_gpu_memory_used_bytes" in names and calls == []


def test_every_family_has_its_catalogue_type_described_and_scraped() -> None:
    described = {m.name: m.type for m in StoreCollector(Store().snapshot, "0").describe()}
    assert described == {
        name.removesuffix("_total") if family.kind == "counter" else name: family.kind
        for name, family in CATALOGUE.items()
    }
    store = Store()
    store.record("wsl_guest", [Sample("wslwatch_guest_swap_in_pages_total", {}, 12.0, 1.0)], now=1.0, duration_s=0.0)
    registry = CollectorRegistry()
    registry.register(StoreCollector(store.snapshot, "0"))
    text = generate_latest(registry).decode()
    assert "# TYPE wslwatch_guest_swap_in_pages_total counter" in text


def test_histogram_buckets_are_listed_by_their_bound() -> None:
    """Equal counts leave nothing but the bound to order them by."""
    labels = {"path": "/data", "op": "stat_dir"}
    name = "wslwatch_path_io_latency_seconds"
    samples = [Sample(f"{name}_bucket", {**labels, "le": le}, 2, 1.0) for le in ("0.01", "+Inf", "0.001")]
    store = Store()
    store.record("io_latency", [*samples, Sample(f"{name}_sum", labels, 0.004, 1.0)], 1.0, 0.0)
    registry = CollectorRegistry()
    registry.register(StoreCollector(store.snapshot, "0"))
    (family,) = [f for f in text_string_to_metric_families(generate_latest(registry).decode()) if f.name == name]
    assert [s.labels["le"] for s in family.samples if s.name.endswith("_bucket")] == ["0.001", "0.01", "+Inf"]
