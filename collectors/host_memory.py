"""Host RAM and swap: on Windows the host itself (swap is the pagefile), elsewhere this machine."""

from __future__ import annotations

import psutil

from wslwatch.core import CollectorError, Sample

__all__ = ["HostMemoryCollector"]


class HostMemoryCollector:
    """Total and available RAM, total and used swap, through psutil on every OS."""

    name = "host_memory"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def collect(self, now: float) -> list[Sample]:
        try:
            memory = psutil.virtual_memory()
            swap = psutil.swap_memory()
        except OSError as e:
            raise CollectorError(f"the operating system did not report memory figures: {e}") from e
        values = {
            "wslwatch_host_memory_total_bytes": memory.total,
            "wslwatch_host_memory_available_bytes": memory.available,
            "wslwatch_host_swap_total_bytes": swap.total,
            "wslwatch_host_swap_used_bytes": swap.used,
        }
        return [Sample(name, {}, float(value), now) for name, value in values.items()]

    def close(self) -> None:
        """Nothing to release: psutil holds no handle between calls."""
