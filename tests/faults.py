"""What the fault tests share: a fast daemon config and waiting on /metrics for a condition."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

from daemon_process import Series, scrape

COLLECTORS = ("host_memory", "vmmem", "wsl_guest", "gpu", "wslconfig", "wsl_version", "process")
#: Other tests on this machine start processes named vmmemWSL; these tests look for this name.
VM_NAME = f"vmfault{os.getpid()}"


def write_fast_config(path: Path, interval_s: float = 0.1, extra: str = "", **overrides: dict[str, object]) -> Path:
    """Every collector every `interval_s`, the VM process under VM_NAME; `overrides[collector]` adds
    keys to a collector's table, `extra` is more TOML (other tables) at the end."""
    tables = {name: {"interval_s": interval_s} for name in COLLECTORS}
    tables["vmmem"]["process_names"] = [VM_NAME]
    for name, keys in overrides.items():
        tables[name].update(keys)
    text = "".join(
        f"[collectors.{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
        for name, keys in tables.items()
    )
    path.write_text(text + extra)
    return path


def by_collector(metrics: Series, name: str) -> dict[str, float]:
    """`name{collector=...}` as {collector: value}."""
    return {labels["collector"]: value for labels, value in metrics.get(name, [])}


def up(metrics: Series) -> dict[str, float]:
    return by_collector(metrics, "wslwatch_collector_up")


def errors(metrics: Series) -> dict[str, float]:
    return by_collector(metrics, "wslwatch_collector_errors_total")


def last_success(metrics: Series) -> dict[str, float]:
    return by_collector(metrics, "wslwatch_collector_last_success_timestamp_seconds")


def value(metrics: Series, name: str) -> float | None:
    """The value of the one unlabelled-or-first series `name`, or None when absent."""
    series = metrics.get(name)
    return series[0][1] if series else None


def wait_metrics(url: str, condition: Callable[[Series], bool], timeout: float = 10.0, what: str = "") -> Series:
    """Scrape `url` until `condition` holds; every scrape must answer. Fails with the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = scrape(url)
        if condition(metrics):
            return metrics
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout:g}s: {what or 'condition'} never held; last scrape: {metrics}")
        time.sleep(0.05)
