"""HostMemoryCollector against this machine's own accounting in /proc/meminfo."""

from __future__ import annotations

import time
from pathlib import Path

from catalogue_check import assert_catalogued

from wslwatch.collectors.host_memory import HostMemoryCollector

GiB = 1 << 30


def meminfo_bytes() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0]) * 1024
    return fields


def test_reports_the_machines_ram_and_swap() -> None:
    collector = HostMemoryCollector(15.0)
    now = time.time()
    before = meminfo_bytes()
    samples = collector.collect(now)
    after = meminfo_bytes()
    values = {s.name: s.value for s in samples}

    assert values["wslwatch_host_memory_total_bytes"] == before["MemTotal"]
    assert values["wslwatch_host_swap_total_bytes"] == before["SwapTotal"]
    low = min(before["MemAvailable"], after["MemAvailable"]) - GiB // 16
    high = max(before["MemAvailable"], after["MemAvailable"]) + GiB // 16
    assert low <= values["wslwatch_host_memory_available_bytes"] <= high
    used_swap = before["SwapTotal"] - before["SwapFree"]
    assert abs(values["wslwatch_host_swap_used_bytes"] - used_swap) <= GiB // 16
    assert len(samples) == 4
    assert_catalogued(samples, now)
