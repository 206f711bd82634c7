"""Desktop notifiers: a Windows toast through the tray icon, or a Linux D-Bus popup.

Each class implements `wslwatch.core.Notifier` (the log notifier, renotify and snoozes
live with the rules' dispatcher). A desktop notifier never raises for a delivery problem;
it logs it and goes on.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from typing import Callable, Iterable

from wslwatch.core import Alert
from wslwatch.tray._text import fit

__all__ = [
    "MESSAGE_LIMIT",
    "TITLE_LIMIT",
    "DbusNotifier",
    "PystrayNotifier",
    "title_of",
]

log = logging.getLogger(__name__)

TITLE_LIMIT = 63  # Windows: szInfoTitle is WCHAR[64], NUL included
MESSAGE_LIMIT = 255  # Windows: szInfo is WCHAR[256], NUL included


def title_of(alert: Alert) -> str:
    """`wslwatch: vram_high (critical)` while firing, `wslwatch: vram_high resolved` after."""
    if alert.state == "resolved":
        return f"wslwatch: {alert.rule} resolved"
    return f"wslwatch: {alert.rule} ({alert.severity})"


class PystrayNotifier:
    """The tray icon's own notification (Windows: a balloon that Windows 10/11 shows as a toast)."""

    def __init__(self, show: Callable[[str, str], None]) -> None:
        """`show(message, title)` is the tray's notify; strings reach it within Windows' limits."""
        self._show = show

    def notify(self, alert: Alert) -> None:
        try:
            self._show(fit(alert.summary, MESSAGE_LIMIT), fit(title_of(alert), TITLE_LIMIT))
        except Exception:  # a failed pop-up must not stop the rules
            log.warning("the tray could not show a notification for %s", alert.rule, exc_info=True)


_GDBUS_ID = re.compile(r"\(uint32 (\d+),\)")
_URGENCY = {"critical": 2, "warning": 1}


class DbusNotifier:
    """`org.freedesktop.Notifications.Notify` on the session bus, through `gdbus call`.

    `gdbus` (GLib's command line tool) is on every desktop that runs a notification
    server, so this costs no Python dependency; it runs only on a firing or resolved
    alert. Arguments are GVariant text built here, one argv element each, no shell.
    A resolved alert replaces the popup of its firing one.
    """

    def __init__(self, gdbus: str, markup: bool, timeout_s: float = 10.0) -> None:
        self._gdbus = gdbus
        self._markup = markup
        self._timeout_s = timeout_s
        self._shown: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    @classmethod
    def find(cls) -> DbusNotifier | str:
        """A notifier for the session bus's notification server, or why there is none."""
        gdbus = shutil.which("gdbus")
        if gdbus is None:
            return "gdbus (GLib's command line tool, Debian/Ubuntu package libglib2.0-bin) is not installed"
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not (runtime and os.path.exists(f"{runtime}/bus")):
            return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        probe = cls(gdbus, markup=False)
        caps = probe._call("GetCapabilities", [])
        if caps.returncode != 0:
            return f"no notification server on the session bus: {caps.stderr.strip() or caps.stdout.strip()}"
        return cls(gdbus, markup="'body-markup'" in caps.stdout)

    def notify(self, alert: Alert) -> None:
        key = (alert.rule, tuple(sorted(alert.labels.items())))
        replaces = self._shown.pop(key, 0)
        body = _escape_markup(alert.summary) if self._markup else alert.summary
        hints = f"{{'urgency': <byte {_URGENCY.get(alert.severity, 0) if alert.state == 'firing' else 0}>}}"
        args = [_gvariant_str("wslwatch"), f"uint32 {replaces}", _gvariant_str(""), _gvariant_str(title_of(alert))]
        args += [_gvariant_str(body), "@as []", f"@a{{sv}} {hints}", "int32 -1"]
        try:
            done = self._call("Notify", args)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("cannot show a desktop notification for %s: %s", alert.rule, exc)
            return
        shown = _GDBUS_ID.search(done.stdout)
        if done.returncode != 0 or shown is None:
            log.warning("the notification server refused %s: %s", alert.rule, done.stderr.strip() or done.stdout.strip())
            return
        if alert.state == "firing":
            self._shown[key] = int(shown.group(1))

    def _call(self, method: str, args: Iterable[str]) -> subprocess.CompletedProcess[str]:
        argv = [
            self._gdbus, "call", "--session",
            "--dest", "org.freedesktop.Notifications",
            "--object-path", "/org/freedesktop/Notifications",
            "--method", f"org.freedesktop.Notifications.{method}",
            *args,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=self._timeout_s, stdin=subprocess.DEVNULL)


def _gvariant_str(text: str) -> str:
    """`text` as a GVariant string literal: double-quoted, backslash and controls escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _escape_markup(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
