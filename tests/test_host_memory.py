"""HostMemoryCollector against this machine's own accounting in /proc/meminfo."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import psutil
import pytest

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


def _pdh_disabled() -> object:
    """What psutil's Windows `swap_memory()` raises where performance counters are disabled
    (psutil `psutil/arch/windows/mem.c`, `swap_percent`; also what it raises under Wine)."""
    raise RuntimeError("PdhAddEnglishCounterW failed. Performance counters may be disabled.")


def test_windows_ram_survives_unreadable_swap_which_is_absent_and_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")  # the Windows reader: psutil, as on Windows
    collector = HostMemoryCollector(15.0)
    monkeypatch.undo()
    monkeypatch.setattr(psutil, "swap_memory", _pdh_disabled)  # the one part Linux cannot fail for real
    caplog.set_level(logging.INFO, logger="wslwatch.collectors.host_memory")

    first = {s.name: s.value for s in collector.collect(time.time())}
    second = {s.name: s.value for s in collector.collect(time.time())}

    total = meminfo_bytes()["MemTotal"]
    for values in (first, second):
        assert values["wslwatch_host_memory_total_bytes"] == total
        assert 0 < values["wslwatch_host_memory_available_bytes"] <= total
        assert "wslwatch_host_swap_total_bytes" not in values
        assert "wslwatch_host_swap_used_bytes" not in values
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "PdhAddEnglishCounterW failed" in warnings[0].getMessage()

    monkeypatch.undo()  # counters back on: swap is reported again, and the log says so
    third = {s.name for s in collector.collect(time.time())}
    assert "wslwatch_host_swap_total_bytes" in third
    assert any("swap can be read again" in r.getMessage() for r in caplog.records)
