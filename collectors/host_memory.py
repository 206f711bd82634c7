"""Host RAM and swap: on Windows the host itself (swap is the pagefile), elsewhere this machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import psutil

from wslwatch.core import CollectorError, Sample

__all__ = ["HostMemoryCollector"]

#: The /proc/meminfo lines the Linux reader needs, each `Name:  <kB> kB`.
_MEMINFO_FIELDS = ("MemTotal:", "MemAvailable:", "SwapTotal:", "SwapFree:")


def _read_psutil() -> tuple[int, int, int, int]:
    """(RAM total, RAM available, swap total, swap used) in bytes, through psutil."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return memory.total, memory.available, swap.total, swap.used


def _read_meminfo(path: str = "/proc/meminfo") -> tuple[int, int, int, int]:
    """The same four figures from the four lines of /proc/meminfo they come from, for an
    eighth of psutil's CPU (which parses the whole file, and /proc/vmstat for swap).
    Without MemAvailable (kernels before 3.14, WSL 1) psutil's estimate is used instead."""
    fd = os.open(path, os.O_RDONLY)
    try:
        text = os.read(fd, 1 << 16).decode("ascii", "replace")
    finally:
        os.close(fd)
    kib: dict[str, int] = {}
    for line in text.split("\n"):
        if line.startswith(_MEMINFO_FIELDS):
            name, _, value = line.partition(":")
            kib[name] = int(value.split()[0])
            if len(kib) == len(_MEMINFO_FIELDS):
                break
    if len(kib) < len(_MEMINFO_FIELDS):
        return _read_psutil()
    return kib["MemTotal"] << 10, kib["MemAvailable"] << 10, kib["SwapTotal"] << 10, (kib["SwapTotal"] - kib["SwapFree"]) << 10


class HostMemoryCollector:
    """Total and available RAM, total and used swap: psutil's figures on every OS (on Linux read
    straight from /proc/meminfo, where psutil takes them from)."""

    name = "host_memory"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._read: Callable[[], tuple[int, int, int, int]] = (
            _read_meminfo if sys.platform.startswith("linux") else _read_psutil
        )

    def collect(self, now: float) -> list[Sample]:
        try:
            total, available, swap_total, swap_used = self._read()
        except (OSError, ValueError) as e:
            raise CollectorError(f"the operating system did not report memory figures: {e}") from e
        values = {
            "wslwatch_host_memory_total_bytes": total,
            "wslwatch_host_memory_available_bytes": available,
            "wslwatch_host_swap_total_bytes": swap_total,
            "wslwatch_host_swap_used_bytes": swap_used,
        }
        return [Sample(name, {}, float(value), now) for name, value in values.items()]

    def close(self) -> None:
        """Nothing to release: no handle is held between calls."""
