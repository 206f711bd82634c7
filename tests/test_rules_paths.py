"""The path rules one at a time, on probe readings built here: when each speaks, and what it says.

A probe's latency histogram is fed as the probe child reports it: cumulative bucket counts per
operation, one report per probe cycle (60 s unless the path says otherwise).
"""

from __future__ import annotations

import math

import pytest

from rule_readings import T0, Reading, collect, findings, judge, r
from wslwatch.config.schema import PathConfig, PathCrossOsConfig, PathSlowConfig, PathStalledConfig
from wslwatch.daemon.alerting import Finding
from wslwatch.daemon.rules.paths import PathCrossOs, PathSlow, PathStalled
from wslwatch.store import Store

MOVE = "Try: keep the data on the side where training runs (in WSL: the Linux filesystem, e.g. under ~)"
BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.25, 0.5, math.inf)
FAST, SLOW, SLOWER = 0.002, 0.02, 0.3  # an observation in (1, 2.5] ms, in (10, 25] ms, in (250, 500] ms
CYCLE = 60.0


def info(path: str, data: str = "true", cross_os: str = "true", **more: str) -> Reading:
    labels = {"mountpoint": "/mnt/c", "fstype": "9p", "source": "C:\\", "kind": "wsl-9p-from-windows"} | more
    return r("path_info", 1.0, path=path, cross_os=cross_os, readonly="false", data=data, **labels)


def test_path_cross_os_names_the_data_and_its_filesystem() -> None:
    rule = PathCrossOs(PathCrossOsConfig(), [PathConfig(path="/mnt/c/data", name="imagenet")])
    (finding,) = judge(rule, [[info("/mnt/c/data")]])
    assert finding == Finding(
        {"path": "/mnt/c/data"},
        "Training data 'imagenet' (/mnt/c/data) is on 9p (wsl-9p-from-windows), shared between Windows and WSL",
        f"every file operation crosses the VM boundary, many times slower than a local disk. {MOVE}",
    )


def test_path_cross_os_judges_each_path_by_its_own_labels() -> None:
    frame = [info("/mnt/c/models", data="false"), info("/mnt/c/data")]
    found = judge(PathCrossOs(PathCrossOsConfig(), []), [frame])
    assert [finding.labels for finding in found] == [{"path": "/mnt/c/data"}]


@pytest.mark.parametrize(
    ("reading", "fires"),
    [
        (info("/mnt/d/x", data="1", cross_os="yes"), True),
        (info("/mnt/d/x", data="false"), False),  # not training data
        (info("/mnt/d/x", cross_os="false"), False),
        (info("/mnt/d/x", data="", cross_os=""), False),
    ],
)
def test_path_cross_os_needs_training_data_on_a_cross_os_filesystem(reading: Reading, fires: bool) -> None:
    found = judge(PathCrossOs(PathCrossOsConfig(), [PathConfig(path="/mnt/d/x")]), [[reading]])  # no name
    assert [finding.what.split(" is on")[0] for finding in found] == (["Training data /mnt/d/x"] if fires else [])


def test_path_stalled_says_for_how_long() -> None:
    stalled = r("path_probe_status", 1.0, path="/mnt/x", status="stalled")
    store = Store()
    collect(store, T0 + 150, [stalled, r("path_probe_last_success_timestamp_seconds", T0, path="/mnt/x")])
    rule = PathStalled(PathStalledConfig(), [PathConfig(path="/mnt/x", name="share")])
    (finding,) = findings(rule, store)
    assert finding == Finding(
        {"path": "/mnt/x"},
        "The probe of path 'share' (/mnt/x) has stalled for 2 min: the filesystem does not answer",
        "anything that reads it hangs. Try: check the disk or share behind it (a dead /mnt drive in WSL clears "
        "with wsl --shutdown)",
    )
    (never,) = judge(PathStalled(PathStalledConfig(), []), [[stalled]])  # no probe ever finished
    assert never.what == "The probe of path /mnt/x has stalled: the filesystem does not answer"


def test_path_stalled_only_on_a_stalled_status() -> None:
    frame = [r("path_probe_status", 0.0, path="/a", status="stalled")]
    frame.append(r("path_probe_status", 1.0, path="/b", status="ok"))
    assert judge(PathStalled(PathStalledConfig(), []), [frame]) == []


def histogram(path: str, op: str, observations: list[float]) -> list[Reading]:
    """The probe's cumulative histogram of `op` after `observations` (seconds)."""
    name = "path_io_latency_seconds"
    labels = {"path": path, "op": op}
    readings = [
        r(f"{name}_bucket", sum(1 for o in observations if o <= le), le="+Inf" if le == math.inf else str(le), **labels)
        for le in BOUNDS
    ]
    return readings + [r(f"{name}_count", len(observations), **labels), r(f"{name}_sum", sum(observations), **labels)]


def probes(cycles: list[dict[str, list[float]]], path: str = "/data", every: float = CYCLE) -> Store:
    """One report per cycle, `every` seconds apart, each adding its observations per op (an op
    named `path:op` is of that other path)."""
    store, seen = Store(), {op: [] for cycle in cycles for op in cycle}
    for i, cycle in enumerate(cycles):
        frame: list[Reading] = []
        for op, observations in seen.items():
            observations += cycle.get(op, [])
            where, _, name = op.rpartition(":")
            frame += histogram(where or path, name, observations)
        collect(store, T0 + i * every, frame)
    return store


def slow(
    store: Store, paths: list[PathConfig] = [], config: PathSlowConfig = PathSlowConfig(), active: bool = False
) -> list[Finding]:
    return findings(PathSlow(config, paths), store, active, {"path": "/data"})


def test_path_slow_gives_the_median_of_the_last_probe() -> None:
    store = probes([{"stat_dir": [0.6] * 5}, {"stat_dir": [SLOWER] * 5}])  # 600 ms before: not the last probe
    (finding,) = slow(store, [PathConfig(path="/data", name="data")])
    assert finding == Finding(
        {"path": "/data"},
        "Path 'data' (/data): file operations (open, stat, create) take 375.0 ms "
        "(median of the last probe; slow above 10 ms)",  # (250, 500] ms holds them all: its middle
        f"reading many small files from it will be slow. {MOVE}",
    )


def test_path_slow_judges_each_path_by_its_own_probe() -> None:
    # Ahead of /data: a path whose last probe is old, and a fast one.
    cycles = [
        {"/old:stat_dir": [SLOW] * 5, "/fast:stat_dir": [FAST], "stat_dir": [FAST]},
        {"/fast:stat_dir": [FAST] * 5},
        {"/fast:stat_dir": [FAST] * 5},
        {"/fast:stat_dir": [FAST] * 5, "stat_dir": [SLOW] * 5},
    ]
    assert [finding.labels for finding in slow(probes(cycles))] == [{"path": "/data"}]


def test_path_slow_pools_the_configured_operations() -> None:
    # 3 slow stats and 4 fast opens: the median of the 7 is fast; without the opens it is slow.
    store = probes([{"stat_dir": [FAST], "open_close": [FAST]}, {"stat_dir": [SLOW] * 3, "open_close": [FAST] * 4}])
    assert slow(store) == []
    assert len(slow(store, config=PathSlowConfig(ops=("stat_dir",)))) == 1


@pytest.mark.parametrize(
    ("quiet_cycles", "interval_s", "fires"),
    [
        (1, 60.0, True),  # the slow cycle ended one probe interval ago
        (2, 60.0, False),  # two: the probe no longer reports (path_stalled's business)
        (1, 30.0, False),  # a path probed every 30 s is two intervals late after 60 s
    ],
)
def test_path_slow_forgets_a_cycle_two_probe_intervals_old(quiet_cycles: int, interval_s: float, fires: bool) -> None:
    store = probes([{"stat_dir": [FAST]}, {"stat_dir": [SLOW] * 5}] + [{}] * quiet_cycles)
    assert len(slow(store, [PathConfig(path="/data", interval_s=interval_s)])) == int(fires)


def test_path_slow_counts_a_restarted_probe_from_zero() -> None:
    store = Store()
    collect(store, T0, histogram("/data", "stat_dir", [FAST] * 20))
    collect(store, T0 + CYCLE, histogram("/data", "stat_dir", [SLOW] * 5))  # the probe child started over
    (finding,) = slow(store)
    assert "take 17.5 ms" in finding.what


@pytest.mark.parametrize(
    ("low", "high", "active", "fires"),
    [
        # All observations in one bucket: the median is its middle. Bounds in powers of two, so
        # that a median exactly at a line is exact: 1/128 s with the line there.
        (2**-8, 3 * 2**-8, False, False),  # 7.8125 ms: at the line, not above it
        (2**-8 + 2**-12, 3 * 2**-8 + 2**-12, False, True),
        (2**-9 + 2**-12, 3 * 2**-9 + 2**-12, True, True),  # an alert on holds above the clear line, 3.90625 ms
        (2**-9, 3 * 2**-9, True, False),
    ],
)
def test_path_slow_starts_and_clears_at_its_lines(low: float, high: float, active: bool, fires: bool) -> None:
    config = PathSlowConfig(threshold_s=2**-7, clear_threshold_s=2**-8)
    store = Store()
    for i, count in enumerate((0, 10)):
        buckets = [(low, 0), (high, count), (math.inf, count)]
        frame = [r("path_io_latency_seconds_bucket", n, path="/data", op="stat_dir", le=str(le)) for le, n in buckets]
        collect(store, T0 + i * CYCLE, frame + [r("path_io_latency_seconds_count", count, path="/data", op="stat_dir")])
    assert len(slow(store, config=config, active=active)) == int(fires)
