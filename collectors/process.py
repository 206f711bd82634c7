"""wslwatch's own footprint on every OS (prometheus-client's process collector is Linux-only)."""

from __future__ import annotations

import psutil

from wslwatch.core import CollectorError, Sample

__all__ = ["ProcessCollector"]


class ProcessCollector:
    """Resident memory and CPU time (user + system) of the process that runs the collector."""

    name = "process"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._me = psutil.Process()

    def collect(self, now: float) -> list[Sample]:
        try:
            with self._me.oneshot():
                rss = self._me.memory_info().rss
                cpu = self._me.cpu_times()
        except psutil.Error as e:
            raise CollectorError(f"could not read wslwatch's own process figures: {e}") from e
        return [
            Sample("wslwatch_process_resident_memory_bytes", {}, float(rss), now),
            Sample("wslwatch_process_cpu_seconds_total", {}, cpu.user + cpu.system, now),
        ]

    def close(self) -> None:
        """Nothing to release: a psutil.Process keeps no handle open."""
