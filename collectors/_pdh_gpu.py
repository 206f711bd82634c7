"""Windows only: the `GPU Process Memory` counter set read through PDH (pywin32's `win32pdh`).

The counters are added by their English names (`PdhAddEnglishCounter`), so a German or Japanese
Windows reads the same set. One query is opened on the first read and kept; these counters are
instantaneous, so one collection gives the values. A machine without the set (Windows before
1709, a server without a WDDM 2.x GPU driver, Wine) answers PDH_CSTATUS_NO_OBJECT: reported as
`CountersUnavailable`, with what to do.
"""

from __future__ import annotations

from typing import Any

from wslwatch.collectors._gpu_counters import KINDS

__all__ = ["CountersUnavailable", "PdhGpuMemory"]

_SET = "GPU Process Memory"


class CountersUnavailable(Exception):
    """The GPU counter set cannot be read here; the message says why and what to do."""


class PdhGpuMemory:
    """`read()` → {kind: {instance: bytes}} for the kinds of `KINDS`."""

    def __init__(self) -> None:
        self._query: Any = None
        self._counters: dict[str, Any] = {}

    def read(self) -> dict[str, dict[str, float]]:
        import pywintypes
        import win32pdh

        try:
            if self._query is None:
                self._open(win32pdh)
            win32pdh.CollectQueryData(self._query)
            return {
                kind: dict(win32pdh.GetFormattedCounterArray(counter, win32pdh.PDH_FMT_LARGE))
                for kind, counter in self._counters.items()
            }
        except pywintypes.error as exc:
            self.close()
            raise CountersUnavailable(
                f"the Windows performance counter set \\{_SET} is not available here ({exc.strerror}); "
                "it needs Windows 10 1709 or later with a WDDM 2.x GPU driver. Update the GPU driver, "
                "or set [collectors.gpu_holders] enabled = false"
            ) from exc

    def _open(self, win32pdh: Any) -> None:
        self._query = win32pdh.OpenQuery()
        for kind, counter in KINDS.items():
            self._counters[kind] = win32pdh.AddEnglishCounter(self._query, f"\\{_SET}(*)\\{counter}")

    def close(self) -> None:
        """Close the query, if open; the next read opens it again."""
        if self._query is not None:
            import win32pdh

            win32pdh.CloseQuery(self._query)
            self._query = None
            self._counters = {}
