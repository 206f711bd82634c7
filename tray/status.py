"""The words the tray shows: status lines for the menu and a tooltip.

Numbers come from the snapshot; alert text is each alert's `summary`, exactly as the
rules engine wrote it (the tray judges nothing).
"""

from __future__ import annotations

from typing import Iterable

from wslwatch.core import Alert
from wslwatch.tray._text import fit
from wslwatch.tray.readings import Readings, Usage, firing

__all__ = ["TOOLTIP_LIMIT", "holder_lines", "status_lines", "tooltip"]

TOOLTIP_LIMIT = 127  # Windows: szTip is WCHAR[128], NUL included
_LINE_LIMIT = 100  # a menu line; longer ones make the menu as wide as the screen
_GIB = 1024**3


def status_lines(readings: Readings, alerts: Iterable[Alert]) -> list[str]:
    """One line per number (host RAM, WSL VM, VRAM per GPU), then one per firing alert."""
    lines = [_host_line(readings.host), _vm_line(readings)]
    lines += [f"VRAM GPU {g.gpu}: {_usage(g.usage)}" for g in readings.gpus] or ["VRAM: no data"]
    lines += [fit(alert.summary, _LINE_LIMIT) for alert in firing(alerts)]
    return lines


def holder_lines(readings: Readings) -> list[list[str]]:
    """Who holds memory: per list, its title then one line per holder (`container qdrant: 11.0 GiB`)."""
    return [
        [f"{found.title[0].upper()}{found.title[1:]}:"] + [fit(f"{h.name}: {_gib(h.size)}", _LINE_LIMIT) for h in found.holders]
        for found in readings.holders
    ]


def tooltip(readings: Readings, alerts: Iterable[Alert]) -> str:
    """`wslwatch · RAM 67 % · VM 12.1 GiB · VRAM 85 %`, then the worst alert; at most 127 units."""
    parts = ["wslwatch"]
    if readings.host is not None:
        parts.append(f"RAM {_percent(readings.host)}")
    if readings.vm_working_set is not None:
        parts.append(f"VM {_gib(readings.vm_working_set)}")
    if readings.vram is not None:
        parts.append(f"VRAM {_percent(readings.vram)}")
    text = " · ".join(parts)
    lit = firing(alerts)
    if lit:
        text += "\n" + lit[0].summary
    return fit(text, TOOLTIP_LIMIT)


def _host_line(host: Usage | None) -> str:
    return "Host RAM: no data" if host is None else f"Host RAM: {_usage(host)}"


def _vm_line(readings: Readings) -> str:
    if readings.vm_working_set is not None:
        vm = readings.vm
        share = f" ({_percent(vm)} of RAM)" if vm is not None else ""
        return f"WSL VM: {_gib(readings.vm_working_set)} working set{share}"
    return "WSL VM: not running" if readings.vm_up is False else "WSL VM: no data"


def _usage(usage: Usage) -> str:
    return f"{usage.used / _GIB:.1f} of {usage.total / _GIB:.1f} GiB ({_percent(usage)})"


def _gib(value: float) -> str:
    return f"{value / _GIB:.1f} GiB"


def _percent(usage: Usage) -> str:
    return f"{usage.fraction * 100:.0f} %"
