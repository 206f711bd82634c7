"""The io_latency collector: its samples, the histogram as Prometheus exposes it, the wiring."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fake_wsl import FakeWsl, fake_wsl

from wslwatch.collectors._probe_child import AREA, OPS
from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.collectors.io_latency import IoLatencyCollector
from wslwatch.collectors.mounts import read_mount_table
from wslwatch.config.schema import PathSlowConfig
from wslwatch.core import Sample
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store
from wslwatch.exporters.catalogue import CATALOGUE, HISTOGRAM_BUCKETS
from wslwatch.exporters.prometheus import StoreCollector
from wslwatch.histogram import LATENCY_BUCKETS_S, Histogram


__all__ = ["fake_wsl"]  # the fixture, used by name


def by_name(samples: list[Sample], name: str) -> list[Sample]:
    return [s for s in samples if s.name == name]


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram((0.001, 0.01))
    for value in (0.0005, 0.001, 0.005, 2.0):
        histogram.observe(value)
    samples = histogram.samples("x", {"op": "stat_dir"}, 1.0)
    buckets = {s.labels["le"]: s.value for s in samples if s.name == "x_bucket"}
    assert buckets == {"0.001": 2.0, "0.01": 3.0, "+Inf": 4.0}
    assert [s.value for s in samples if s.name == "x_count"] == [4.0]
    assert [s.value for s in samples if s.name == "x_sum"] == [pytest.approx(2.0065)]
    assert all(s.labels["op"] == "stat_dir" for s in samples)


def test_the_bounds_span_100_us_to_250_ms_hold_the_slow_lines_and_are_the_catalogues() -> None:
    assert LATENCY_BUCKETS_S[0] == 1e-4 and LATENCY_BUCKETS_S[-1] == 0.25
    assert list(LATENCY_BUCKETS_S) == sorted(LATENCY_BUCKETS_S)
    slow = PathSlowConfig()
    assert {slow.threshold_s, slow.clear_threshold_s} <= set(LATENCY_BUCKETS_S), "the rule's lines are bounds"
    assert HISTOGRAM_BUCKETS is LATENCY_BUCKETS_S


def test_one_probe_gives_status_info_last_success_and_a_histogram_per_operation(tmp_path: Path) -> None:
    collector = IoLatencyCollector(str(tmp_path), name="scratch", samples=2, gap_s=0.0)
    now = time.time()
    samples = collector.collect(now)
    assert collector.name == "io_latency:scratch"
    status = {s.labels["status"]: s.value for s in by_name(samples, "wslwatch_path_probe_status")}
    assert status == {"ok": 1.0, "stalled": 0.0, "error": 0.0}
    (info,) = by_name(samples, "wslwatch_path_info")
    assert info.labels["path"] == str(tmp_path)
    assert set(info.labels) == set(CATALOGUE["wslwatch_path_info"].labels)
    assert info.labels["cross_os"] == "false" and info.labels["readonly"] == "false"
    device = os.stat(tmp_path).st_dev  # the kernel's own answer for where tmp_path lives
    (mount,) = [e for e in read_mount_table().entries if e.mountpoint == info.labels["mountpoint"] and e.fstype == info.labels["fstype"]][-1:]
    assert mount.device == f"{os.major(device)}:{os.minor(device)}"
    assert [s.value for s in by_name(samples, "wslwatch_path_probe_last_success_timestamp_seconds")] == [now]
    counts = {s.labels["op"]: s.value for s in by_name(samples, "wslwatch_path_io_latency_seconds_count")}
    assert set(counts) | {"read_direct"} == set(OPS) and set(counts.values()) == {2.0}
    unmeasured_here = 3 * (len(OPS) - len(counts))  # an op without buckets: +Inf, sum, count
    per_collector = 6  # collector_up, _duration_seconds, _errors_total, _last_success, 2 × _skipped_total
    assert len(samples) + unmeasured_here + per_collector <= 60, "a probed path costs at most 60 series"
    again = collector.collect(now + 60)
    counts = {s.labels["op"]: s.value for s in by_name(again, "wslwatch_path_io_latency_seconds_count")}
    assert set(counts.values()) == {4.0}  # cumulative, as a Prometheus histogram is
    collector.close()
    assert not (tmp_path / AREA).exists()


def test_a_missing_directory_is_an_error_status_and_keeps_no_success(tmp_path: Path) -> None:
    collector = IoLatencyCollector(str(tmp_path / "gone"), samples=1, gap_s=0.0)
    samples = collector.collect(time.time())
    status = {s.labels["status"]: s.value for s in by_name(samples, "wslwatch_path_probe_status")}
    assert status == {"ok": 0.0, "stalled": 0.0, "error": 1.0}
    assert not by_name(samples, "wslwatch_path_probe_last_success_timestamp_seconds")
    assert not by_name(samples, "wslwatch_path_io_latency_seconds_count")
    collector.close()


def test_a_user_path_is_expanded_without_touching_it() -> None:
    collector = IoLatencyCollector("~/nowhere/data", samples=1)
    assert collector.path == os.path.join(os.path.expanduser("~"), "nowhere", "data")
    assert collector.name == "io_latency:~/nowhere/data"


def test_the_deadline_leaves_room_within_the_interval() -> None:
    assert IoLatencyCollector("/x", interval_s=60, deadline_s=20).deadline_s == 20
    assert IoLatencyCollector("/x", interval_s=5, deadline_s=20).deadline_s == 4


def test_the_exporter_serves_the_histogram_with_the_catalogue_buckets(tmp_path: Path) -> None:
    store = Store()
    CollectorRunner(IoLatencyCollector(str(tmp_path), samples=3, gap_s=0.0), store, 30.0).run()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store.snapshot, "test"))
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    histogram = families["wslwatch_path_io_latency_seconds"]
    assert histogram.type == "histogram"
    stat_dir = [s for s in histogram.samples if s.labels.get("op") == "stat_dir"]
    bounds = [float(s.labels["le"]) for s in stat_dir if s.name.endswith("_bucket")]
    assert bounds == [*LATENCY_BUCKETS_S, float("inf")]
    listdir = [s for s in histogram.samples if s.labels.get("op") == "listdir"]
    assert [s.labels.get("le") for s in listdir if s.name.endswith("_bucket")] == ["+Inf"], "count and sum only"
    assert [s.value for s in listdir if s.name.endswith("_count")] == [3.0]
    counts = [s.value for s in stat_dir if s.name.endswith("_bucket")]
    assert counts == sorted(counts) and counts[-1] == 3
    assert registry.get_sample_value(
        "wslwatch_path_probe_status", {"path": str(tmp_path), "status": "ok"}
    ) == 1.0
    assert registry.get_sample_value("wslwatch_collector_up", {"collector": f"io_latency:{tmp_path}"}) == 1.0


def test_a_failure_is_logged_once_and_the_recovery_too(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    later = tmp_path / "later"
    collector = IoLatencyCollector(str(later), samples=1, gap_s=0.0)
    with caplog.at_level(logging.INFO, logger="wslwatch.collectors.io_latency"):
        collector.collect(time.time())
        collector.collect(time.time())
        later.mkdir()
        collector.collect(time.time())
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "error" in m] == [f"probe of {later} error: {later}: No such file or directory"]
    assert f"probe of {later} works again" in messages
    collector.close()


def test_a_wsl_share_path_is_probed_only_while_its_distro_runs(
    fake_wsl: FakeWsl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`\\\\wsl$\\<distro>\\...` from Windows starts a stopped distro when touched: no probe then,
    and no data is a status of the collector, not a fault (no alert). The path, relative on
    Linux, would be created in the current directory by a probe: that it is not proves none ran."""
    monkeypatch.chdir(tmp_path)
    share = "\\\\wsl$\\Ubuntu-20.04\\data"
    collector = IoLatencyCollector(share, samples=1, gap_s=0.0, wsl=WslExe(fake_wsl.path))
    fake_wsl.change(running=["Alpine"])
    store = Store()
    runner = CollectorRunner(collector, store, 30.0)
    runner.run()
    assert list(tmp_path.iterdir()) == [tmp_path / "windows"], "nothing under the share was touched"
    (health,) = store.snapshot().health
    assert not health.up and health.errors_total == 0, "no data, and no fault"
    assert health.reason == (
        "\\\\wsl$\\Ubuntu-20.04\\data is in WSL distro 'Ubuntu-20.04', which is not running; it is probed only "
        "while the distro runs, since reaching the path would start it"
    )
    collector.close()  # nor is it touched to remove the probe folder
    assert list(tmp_path.iterdir()) == [tmp_path / "windows"]

    fake_wsl.change(running=["ubuntu-20.04"])  # WSL matches names without regard to case
    samples = collector.collect(1.0)
    assert {s.name for s in samples} >= {"wslwatch_path_probe_status"}, "probed once the distro runs"
    assert fake_wsl.execs() == []
