"""Desktop notifiers: the tray's own notify() within Windows' limits, and D-Bus notifications
delivered for real to dunst on a private session bus."""

from __future__ import annotations

import ctypes
import re
import time
from pathlib import Path
from typing import Iterator

import pytest
from rigs.xdesktop import dunst, session_bus, xvfb
from tray_inputs import alert

from wslwatch.tray.notifiers import MESSAGE_LIMIT, TITLE_LIMIT, DbusNotifier, PystrayNotifier


def test_pystray_notify_gets_strings_that_fit_the_windows_buffers() -> None:
    # What pystray's win32 backend does with them: copy into NOTIFYICONDATAW's WCHAR arrays.
    shown: list[tuple[str, str]] = []

    def win32_like_notify(message: str, title: str) -> None:
        info, info_title = (ctypes.c_wchar * 256)(), (ctypes.c_wchar * 64)()
        info.value, info_title.value = message, title
        shown.append((info.value, info_title.value))

    long = alert("vram_held_idle_" + "x" * 80, "critical", summary="VRAM held by a finished run. " * 20)
    PystrayNotifier(win32_like_notify).notify(long)
    message, title = shown[0]
    assert len(message) == MESSAGE_LIMIT and message.endswith("…") and message.startswith("VRAM held by")
    assert len(title) == TITLE_LIMIT and title.startswith("wslwatch: vram_held_idle_xxx")
    PystrayNotifier(win32_like_notify).notify(alert("vram_high", "warning", summary="short"))
    assert shown[1] == ("short", "wslwatch: vram_high (warning)")


def test_a_failing_tray_notify_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def xorg_like_notify(message: str, title: str) -> None:
        raise NotImplementedError()

    PystrayNotifier(xorg_like_notify).notify(alert())
    assert "the tray could not show a notification for vram_high" in caplog.text


# ---- D-Bus, for real ------------------------------------------------------------------------


_BLOCK = re.compile(r"^\{\n(.*?)^\}$", re.M | re.S)


def printed(log: Path, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
    """The notifications `dunst -print` wrote, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_bytes().decode("utf-8", "replace")
        blocks = [dict(re.findall(r"^\t(\w+): (.*)$", b, re.M)) for b in _BLOCK.findall(text)]
        if len(blocks) >= count or time.monotonic() > deadline:
            return [{k: v.strip("'") for k, v in block.items()} for block in blocks]
        time.sleep(0.05)


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Xvfb + a private session bus + dunst; yields the file dunst prints notifications to."""
    with xvfb() as display, session_bus(tmp_path) as bus, dunst(display, bus, tmp_path / "dunst.log"):
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
        yield tmp_path / "dunst.log"


@pytest.mark.rig
def test_dbus_notifications_reach_the_notification_server(desktop: Path) -> None:
    notifier = DbusNotifier.find()
    assert isinstance(notifier, DbusNotifier), notifier
    tricky = 'VRAM 23.5 of 24.0 GiB (98 %) on GPU 0 > 97 % & "quotes" \\ back slash, ünïcødé'
    notifier.notify(alert("vram_high", "critical", summary=tricky))
    notifier.notify(alert("guest_memory_low", "warning", summary="guest memory < 10 %"))
    notifier.notify(alert("vram_high", "critical", state="resolved", summary="VRAM back to 40 %"))
    first, second, resolved = printed(desktop, 3)
    assert first["appname"] == "wslwatch"
    assert first["summary"] == "wslwatch: vram_high (critical)"
    assert first["body"] == tricky.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), (
        "dunst renders body markup, so the text goes escaped"
    )
    assert first["urgency"] == "CRITICAL"
    assert (second["summary"], second["urgency"]) == ("wslwatch: guest_memory_low (warning)", "NORMAL")
    assert second["body"] == "guest memory &lt; 10 %"
    assert (resolved["summary"], resolved["body"], resolved["urgency"]) == (
        "wslwatch: vram_high resolved", "VRAM back to 40 %", "LOW",
    )
    assert resolved["id"] == first["id"] != second["id"], "the resolved popup replaces the firing one"


@pytest.mark.rig
def test_no_notification_server_on_the_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
        reason = DbusNotifier.find()
    assert isinstance(reason, str)
    assert reason.startswith("no notification server on the session bus: ")
    assert "org.freedesktop.Notifications" in reason


def test_no_session_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent")
    assert DbusNotifier.find() == "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"


def test_no_gdbus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = DbusNotifier.find()
    assert isinstance(reason, str) and reason.startswith("gdbus (GLib's command line tool")


@pytest.mark.rig
def test_a_server_that_went_away_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with xvfb() as display, session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
        with dunst(display, bus, tmp_path / "dunst.log"):
            notifier = DbusNotifier.find()
        assert isinstance(notifier, DbusNotifier)
        notifier.notify(alert())
    assert "the notification server refused vram_high: " in caplog.text
