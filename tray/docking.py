"""Keeping pystray's xorg icon docked in an XEmbed tray (trayer, stalonetray, XFCE's panel).

pystray asks the tray to dock the icon once, when it is shown. Two things lose that request:
python-xlib's `flush()` returns without sending when another thread is mid-send (the request
then waits in its buffer until some event wakes the loop), and a tray host that starts after
wslwatch (a login race) never hears of the icon, since pystray does not listen for the
tray's MANAGER announcement. `XorgDocking.check()`, called on every tray update, sends what
is queued and asks again while the icon is not embedded and a tray host exists. It also says
in the log, once, what the icon waits for, instead of pystray's "Failed to dock icon"
tracebacks (filtered out: they are expected whenever no tray host runs yet).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

__all__ = ["XorgDocking"]

log = logging.getLogger(__name__)

# Seconds between two dock requests for an icon that is still not embedded: a tray host
# answers within milliseconds, so this only spaces out retries (and log lines).
RETRY_S = 2.0


class XorgDocking:
    """Re-sends the dock request of one pystray xorg icon until a tray host embeds it."""

    def __init__(self, icon: Any) -> None:
        """`icon`: a `pystray.Icon` of the xorg backend, not yet running."""
        self._icon = icon
        self._display = icon._display  # pystray's own connection and window: no public handle
        self._window = icon._window
        self._root = self._display.screen().root
        self._selection = self._display.intern_atom(f"_NET_SYSTEM_TRAY_S{self._display.get_default_screen()}")
        self._asked = time.monotonic()  # pystray asked when it showed the icon
        self._waiting: str | None = None  # what the undocked icon waits for, as last logged
        logging.getLogger("pystray._base").addFilter(_without_dock_failures)

    def check(self) -> None:
        """Send what is queued; ask the tray host again if the icon is still not embedded."""
        try:
            self._display.flush()
            embedded, host = self._embedded(), self._tray_host()
        except Exception as exc:  # the display is going away; the tray loop ends by itself
            log.debug("cannot check the tray icon's docking: %s", exc)
            return
        if embedded:
            if self._waiting is not None:
                log.info("tray icon docked")
            self._waiting = None
        elif not host:
            self._wait_for("no tray host on this display yet; the icon appears when one starts")
        elif time.monotonic() - self._asked >= RETRY_S:
            self._wait_for("the tray host has not docked the icon yet; asking it again")
            self._asked = time.monotonic()
            self._icon.icon = self._icon.icon  # pystray's update re-sends the dock request from its loop

    def flush(self) -> None:
        """Send whatever python-xlib still holds (errors: the display is going away)."""
        with contextlib.suppress(Exception):
            self._display.flush()

    def _wait_for(self, what: str) -> None:
        if what != self._waiting:
            log.info("%s", what)
        self._waiting = what

    def _embedded(self) -> bool:
        return bool(self._window.query_tree().parent.id != self._root.id)

    def _tray_host(self) -> bool:
        return bool(self._display.get_selection_owner(self._selection) != 0)  # 0: X.NONE, nobody


def _without_dock_failures(record: logging.LogRecord) -> bool:
    return record.getMessage() != "Failed to dock icon"
