"""ProcessCollector: wslwatch's own resident memory and CPU time, checked against the kernel's view."""

from __future__ import annotations

import mmap
import os
import time
from pathlib import Path

from catalogue_check import assert_catalogued

from wslwatch.collectors.process import ProcessCollector

MiB = 1 << 20


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * mmap.PAGESIZE


def burn_cpu(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_reports_own_resident_memory_and_cpu_time() -> None:
    collector = ProcessCollector(15.0)
    now = time.time()
    samples = collector.collect(now)
    values = {s.name: s.value for s in samples}
    assert abs(values["wslwatch_process_resident_memory_bytes"] - resident_bytes()) < 4 * MiB
    times = os.times()
    assert abs(values["wslwatch_process_cpu_seconds_total"] - (times.user + times.system)) < 0.05
    assert_catalogued(samples, now)


def test_cpu_time_counts_up_with_work_and_memory_with_allocation() -> None:
    collector = ProcessCollector(15.0)
    first = {s.name: s.value for s in collector.collect(1.0)}
    burn_cpu(0.3)
    block = b"\x01" * (64 * MiB)
    second = {s.name: s.value for s in collector.collect(2.0)}
    assert second["wslwatch_process_cpu_seconds_total"] - first["wslwatch_process_cpu_seconds_total"] >= 0.25
    grown = second["wslwatch_process_resident_memory_bytes"] - first["wslwatch_process_resident_memory_bytes"]
    assert grown >= 60 * MiB
    del block
