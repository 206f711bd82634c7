"""Host RAM and swap: on Windows the host itself (swap is the pagefile), elsewhere this machine."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import NamedTuple

import psutil

from wslwatch.collectors._windows_view import WindowsView
from wslwatch.core import CollectorError, Sample

__all__ = ["HostMemoryCollector"]

log = logging.getLogger(__name__)

#: The /proc/meminfo lines the Linux reader needs, each `Name:  <kB> kB`.
_MEMINFO_FIELDS = ("MemTotal:", "MemAvailable:", "SwapTotal:", "SwapFree:")


class _Swap(NamedTuple):
    total: int
    used: int


class _Memory(NamedTuple):
    """RAM total and available in bytes; swap, or why it could not be read."""

    total: int
    available: int
    swap: _Swap | str


def _read_psutil() -> _Memory:
    """RAM and swap through psutil. On Windows swap comes from a performance counter (PDH), which
    fails where counters are disabled (`RuntimeError: PdhAddEnglishCounterW failed. Performance
    counters may be disabled.`, psutil `_psutil_windows` `swap_percent`): RAM is read without it."""
    memory = psutil.virtual_memory()
    try:
        swap = psutil.swap_memory()
    except (RuntimeError, OSError) as e:
        why = str(e).rstrip(". ") or type(e).__name__
        return _Memory(memory.total, memory.available, f"{why}; re-enable the performance counters (`lodctr /R` as administrator)")
    return _Memory(memory.total, memory.available, _Swap(swap.total, swap.used))


def _read_meminfo(path: str = "/proc/meminfo") -> _Memory:
    """The same figures from the four lines of /proc/meminfo they come from, for an eighth of
    psutil's CPU (which parses the whole file, and /proc/vmstat for swap).
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
    swap = _Swap(kib["SwapTotal"] << 10, (kib["SwapTotal"] - kib["SwapFree"]) << 10)
    return _Memory(kib["MemTotal"] << 10, kib["MemAvailable"] << 10, swap)


def _windows_reader(windows: WindowsView) -> Callable[[], _Memory]:
    """Inside WSL, opted in: the host's RAM as Windows counts it (its pagefile is not read)."""

    def read() -> _Memory:
        view = windows.read()
        return _Memory(view.total, view.available, "the pagefile is not read from inside WSL")

    return read


class HostMemoryCollector:
    """Total and available RAM, total and used swap: psutil's figures on every OS (on Linux read
    straight from /proc/meminfo, where psutil takes them from); inside WSL, given `windows`, the
    Windows host's RAM through interop. Swap that cannot be read leaves the swap series absent,
    RAM still reported; the reason is logged once, until it reads again."""

    name = "host_memory"

    def __init__(self, interval_s: float, windows: WindowsView | None = None) -> None:
        self.interval_s = interval_s
        self._read: Callable[[], _Memory] = (
            _windows_reader(windows)
            if windows is not None
            else _read_meminfo if sys.platform.startswith("linux") else _read_psutil
        )
        self._swap_missing: str | None = None

    def collect(self, now: float) -> list[Sample]:
        try:
            memory = self._read()
        except (OSError, ValueError) as e:
            raise CollectorError(f"the operating system did not report memory figures: {e}") from e
        values = {
            "wslwatch_host_memory_total_bytes": memory.total,
            "wslwatch_host_memory_available_bytes": memory.available,
        }
        self._note_swap(memory.swap)
        if isinstance(memory.swap, _Swap):
            values["wslwatch_host_swap_total_bytes"] = memory.swap.total
            values["wslwatch_host_swap_used_bytes"] = memory.swap.used
        return [Sample(name, {}, float(value), now) for name, value in values.items()]

    def _note_swap(self, swap: _Swap | str) -> None:
        """Log that swap cannot be read (once, not every pass), or that it reads again."""
        reason = swap if isinstance(swap, str) else None
        if reason == self._swap_missing:
            return
        if reason is not None:
            log.warning("host swap (the pagefile) cannot be read, so its metrics are left out; RAM is still reported: %s", reason)
        else:
            log.info("host swap can be read again")
        self._swap_missing = reason

    def close(self) -> None:
        """Nothing to release: no handle is held between calls."""
