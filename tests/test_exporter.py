"""The exporter: a Store snapshot rendered as Prometheus text, checked with the real parser."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from wslwatch.core import Sample
from wslwatch.store import Store
from wslwatch.exporters.catalogue import CATALOGUE, HISTOGRAM_BUCKETS
from wslwatch.exporters.prometheus import StoreCollector


def scrape(store: Store) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(store.snapshot, "1.2.3"))
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


def test_an_unknown_name_is_logged_not_exported(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    store.record("x", [Sample("wslwatch_made_up_thing", {}, 1.0, 1.0)], now=1.0, duration_s=0.0)
    with caplog.at_level(logging.ERROR):
        m = scrape(store)
    assert "wslwatch_made_up_thing" not in m
    assert "not in the metric catalogue" in caplog.text


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
