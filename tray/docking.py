"""Keeping pystray's xorg icon docked in an XEmbed tray (trayer, stalonetray, XFCE's panel).

pystray asks the tray to dock the icon once, when it is shown. Two things lose that request:
python-xlib's `flush()` returns without sending when another thread is mid-send (the request
then waits in its buffer until some event wakes the loop), and a tray host that starts after
wslwatch (a login race) never hears of the icon, since pystray does not listen for the
tray's MANAGER announcement.

`XorgDocking` listens instead of polling: it adds two handlers to pystray's event loop, one
for the icon window's ReparentNotify (docked into a tray, or let go of when the tray goes
away) and one for the MANAGER message a starting tray host sends to the root window (the
system tray spec's broadcast, received by selecting StructureNotify on the root). Once
docked, `check()` (called on every tray update) only sends what is queued, with no round
trip to the X server. While a tray host exists but has not docked the icon, it asks again
every `RETRY_S`. It also says in the log, once, what the icon waits for, instead of
pystray's "Failed to dock icon" tracebacks (filtered out: they are expected whenever no
tray host runs yet).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Callable

__all__ = ["XorgDocking"]

log = logging.getLogger(__name__)

# Seconds between two dock requests for an icon that is still not embedded: a tray host
# answers within milliseconds, so this only spaces out retries (and log lines).
RETRY_S = 2.0
_NO_HOST = "no tray host on this display yet; the icon appears when one starts"


class XorgDocking:
    """Docks one pystray xorg icon again whenever a tray host appears or lets go of it."""

    def __init__(self, icon: Any) -> None:
        """`icon`: a `pystray.Icon` of the xorg backend, not yet running."""
        from Xlib import X  # only here: the xorg backend is the only user, and Windows has no Xlib

        self._icon = icon
        self._display = icon._display  # pystray's own connection and window: no public handle
        self._window = icon._window
        self._root = self._display.screen().root
        self._selection = self._display.intern_atom(f"_NET_SYSTEM_TRAY_S{self._display.get_default_screen()}")
        self._manager = self._display.intern_atom("MANAGER")
        self._asked = time.monotonic()  # pystray asks when it shows the icon
        self._embedded = False  # set by the ReparentNotify events of the icon window
        self._host = self._tray_host()
        self._waiting: str | None = None  # what the undocked icon waits for, as last logged
        logging.getLogger("pystray._base").addFilter(_without_dock_failures)
        handlers: dict[int, Callable[[Any], None]] = icon._message_handlers
        pystrays = handlers.get(X.ClientMessage, lambda event: None)
        handlers[X.ClientMessage] = lambda event: self._on_client_message(event, pystrays)
        handlers[X.ReparentNotify] = self._on_reparent
        self._root.change_attributes(event_mask=X.StructureNotifyMask)  # where MANAGER is broadcast

    def check(self) -> None:
        """Send what is queued; while a tray host has not docked the icon, ask it again."""
        try:
            self._display.flush()
            if self._embedded:
                if self._waiting is not None:
                    log.info("tray icon docked")
                    self._waiting = None
                return
            if not self._host:
                self._wait_for(_NO_HOST)
            elif self._queried_embedded():  # docked before the events were heard (or one was lost)
                self._embedded = True
            elif time.monotonic() - self._asked >= RETRY_S:
                self._wait_for("the tray host has not docked the icon yet; asking it again")
                self._ask()
        except Exception as exc:  # the display is going away; the tray loop ends by itself
            log.debug("cannot check the tray icon's docking: %s", exc)

    def flush(self) -> None:
        """Send whatever python-xlib still holds (errors: the display is going away)."""
        with contextlib.suppress(Exception):
            self._display.flush()

    def _on_reparent(self, event: Any) -> None:
        """On pystray's loop: the icon window was docked, or its tray went away and let go of it."""
        if event.window.id != self._window.id:
            return
        self._embedded = event.parent.id != self._root.id
        if not self._embedded:
            self._host = self._tray_host()
            self._wait_for("the tray host let go of the icon; it docks again when a tray host runs")
            if self._host:
                self._ask()

    def _on_client_message(self, event: Any, pystrays: Callable[[Any], None]) -> None:
        """On pystray's loop: a tray host announced itself (MANAGER); other messages are pystray's."""
        if event.client_type != self._manager:
            pystrays(event)
        elif event.data[1][1] == self._selection and not self._embedded:
            self._host = True
            self._wait_for("a tray host started; asking it to dock the icon")
            self._ask()

    def _ask(self) -> None:
        self._asked = time.monotonic()
        self._icon.icon = self._icon.icon  # pystray's update sends the dock request from its loop

    def _wait_for(self, what: str) -> None:
        if what != self._waiting:
            log.info("%s", what)
        self._waiting = what

    def _queried_embedded(self) -> bool:
        return bool(self._window.query_tree().parent.id != self._root.id)

    def _tray_host(self) -> bool:
        return bool(self._display.get_selection_owner(self._selection) != 0)  # 0: X.NONE, nobody


def _without_dock_failures(record: logging.LogRecord) -> bool:
    return record.getMessage() != "Failed to dock icon"
