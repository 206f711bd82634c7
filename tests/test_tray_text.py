"""Status lines, the tooltip, and cutting strings to Windows' WCHAR buffers."""

from __future__ import annotations

import ctypes

import pytest
from tray_inputs import alert, snapshot

from wslwatch.tray._text import fit, utf16_units
from wslwatch.tray.readings import Readings
from wslwatch.tray.status import TOOLTIP_LIMIT, status_lines, tooltip


def test_status_lines_show_the_numbers_then_the_firing_alerts() -> None:
    readings = Readings.of(snapshot(host=(21.3, 32), vm_gib=12.1, vm_up=True, gpus=((20.5, 24), (1, 12))))
    alerts = [
        alert("vram_high", "warning", summary="VRAM 20.5 of 24.0 GiB (85 %) on GPU 0: free memory"),
        alert("host_memory_low", "critical", since=5, summary="Host RAM low: 3.2 GiB free; the VM holds 12.1 GiB"),
        alert("guest_swap_thrash", "warning", state="pending", summary="pending, not shown"),
    ]
    assert status_lines(readings, alerts) == [
        "Host RAM: 21.3 of 32.0 GiB (67 %)",
        "WSL VM: 12.1 GiB working set (38 % of RAM)",
        "VRAM GPU 0: 20.5 of 24.0 GiB (85 %)",
        "VRAM GPU 1: 1.0 of 12.0 GiB (8 %)",
        "Host RAM low: 3.2 GiB free; the VM holds 12.1 GiB",
        "VRAM 20.5 of 24.0 GiB (85 %) on GPU 0: free memory",
    ]


def test_status_lines_say_what_is_unknown() -> None:
    assert status_lines(Readings.of(snapshot()), []) == ["Host RAM: no data", "WSL VM: no data", "VRAM: no data"]
    stopped = Readings.of(snapshot(vm_up=False))
    assert status_lines(stopped, [])[1] == "WSL VM: not running"
    no_host = Readings.of(snapshot(vm_gib=2.0, vm_up=True))
    assert status_lines(no_host, [])[1] == "WSL VM: 2.0 GiB working set"


def test_a_long_summary_is_cut_in_the_menu() -> None:
    line = status_lines(Readings.of(snapshot()), [alert(summary="x" * 300)])[-1]
    assert len(line) == 100 and line.endswith("…")


def test_tooltip_has_the_key_numbers_and_the_worst_alert() -> None:
    readings = Readings.of(snapshot(host=(21.3, 32), vm_gib=12.1, vm_up=True, gpus=((20.5, 24),)))
    text = tooltip(readings, [alert(severity="warning", summary="warn"), alert(severity="critical", summary="crit")])
    assert text == "wslwatch · RAM 67 % · VM 12.1 GiB · VRAM 85 %\ncrit"
    assert tooltip(Readings.of(snapshot()), []) == "wslwatch"


def test_tooltip_fits_the_windows_buffer() -> None:
    readings = Readings.of(snapshot(host=(1, 2)))
    text = tooltip(readings, [alert(summary="🔥 VRAM full " * 40)])
    assert utf16_units(text) <= TOOLTIP_LIMIT and text.endswith("…")
    ctypes.create_unicode_buffer(128).value = text  # NOTIFYICONDATAW.szTip is WCHAR[128]


@pytest.mark.parametrize("limit", [63, 127, 255])
def test_fit_fills_the_windows_buffers_exactly(limit: int) -> None:
    buffer_type = ctypes.c_wchar * (limit + 1)  # szInfoTitle[64], szTip[128], szInfo[256], NUL included
    long = "a" * (limit + 40)
    with pytest.raises(ValueError, match="string too long"):
        buffer_type().value = long  # what pystray's win32 backend would hit
    cut = fit(long, limit)
    buffer = buffer_type()
    buffer.value = cut
    assert buffer.value == cut and len(cut) == limit and cut == "a" * (limit - 1) + "…"
    assert fit("a" * limit, limit) == "a" * limit, "a string that fits is left alone"


def test_fit_counts_utf16_units_like_windows() -> None:
    text = "😀" * 40  # each is a surrogate pair: 2 WCHARs on Windows
    cut = fit(text, 63)
    assert utf16_units(cut) <= 63 and cut == "😀" * 31 + "…"
    assert len(cut.encode("utf-16-le")) // 2 == utf16_units(cut)
