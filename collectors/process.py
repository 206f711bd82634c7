"""wslwatch's own footprint on every OS (prometheus-client's process collector is Linux-only)."""

from __future__ import annotations

import os

import psutil

from wslwatch.core import CollectorError, Sample

__all__ = ["ProcessCollector"]


class ProcessCollector:
    """Resident memory (psutil) and CPU time (user + system, `os.times()`: the kernel's own
    counters on every OS, as psutil reads them, without opening a file) of this process."""

    name = "process"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._me = psutil.Process()

    def collect(self, now: float) -> list[Sample]:
        try:
            rss = self._me.memory_info().rss
        except psutil.Error as e:
            raise CollectorError(f"could not read wslwatch's own resident memory: {e}") from e
        cpu = os.times()
        return [
            Sample("wslwatch_process_resident_memory_bytes", {}, float(rss), now),
            Sample("wslwatch_process_cpu_seconds_total", {}, cpu.user + cpu.system, now),
        ]

    def close(self) -> None:
        """Nothing to release: a psutil.Process keeps no handle open."""
