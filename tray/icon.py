"""The tray icon: pystray on the main thread, redrawn from the Store every `update_s`.

pystray is imported only in `open_tray()`: it picks its backend at import time and, on a
machine without a display, fails there with Xlib errors that are not ImportError. Every
such failure becomes `TrayUnavailable`, so the daemon can run headless instead.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Sequence

from PIL import Image

from wslwatch.core import Alert
from wslwatch.store import Snapshot
from wslwatch.tray.docking import XorgDocking
from wslwatch.tray.menu import SEPARATOR, Entry, MenuActions, build_menu
from wslwatch.tray.readings import Readings
from wslwatch.tray.render import render
from wslwatch.tray.status import tooltip

__all__ = ["TrayApp", "TrayState", "TrayUnavailable", "open_tray", "tray_state"]

log = logging.getLogger(__name__)

ICON_NAME = "wslwatch"
_WM_QUERYENDSESSION, _WM_ENDSESSION = 0x0011, 0x0016  # WinUser.h
ICON_SIZE = 64


class TrayUnavailable(Exception):
    """No tray can be shown here; the message says why."""


@dataclass(frozen=True)
class TrayState:
    """Everything the tray shows at one moment."""

    image: Image.Image
    title: str
    menu: tuple[Entry, ...]


def tray_state(snapshot: Snapshot, alerts: Sequence[Alert], actions: MenuActions, size: int = ICON_SIZE) -> TrayState:
    """The icon, tooltip and menu for one snapshot and the current alerts."""
    readings = Readings.of(snapshot)
    return TrayState(render(snapshot, alerts, size), tooltip(readings, alerts), build_menu(readings, alerts, actions))


class TrayApp:
    """A tray icon bound to a pystray backend; `run()` blocks the main thread until stopped."""

    def __init__(
        self,
        pystray: ModuleType,
        snapshot: Callable[[], Snapshot],
        alerts: Callable[[], Sequence[Alert]],
        actions: MenuActions,
        update_s: float,
    ) -> None:
        self._pystray = pystray
        self._snapshot = snapshot
        self._alerts = alerts
        self._actions = actions
        self._update_s = update_s
        self.backend: str = str(pystray.Icon.__module__).rsplit("._", 1)[-1]  # win32, xorg, gtk, ...
        # X11 window names (the xorg backend's tooltip) are Latin-1; other backends take any text.
        self._title_text: Callable[[str], str] = _latin1 if self.backend == "xorg" else str
        self._state = self._current()
        self._shown_image = self._state.image.tobytes()
        self._icon: Any = pystray.Icon(
            ICON_NAME, self._state.image, self._title_text(self._state.title), menu=pystray.Menu(self._menu_items)
        )

    @property
    def can_notify(self) -> bool:
        """Whether this backend shows notifications itself (xorg does not)."""
        return bool(self._icon.HAS_NOTIFICATION)

    def on_session_end(self, shutdown: Callable[[], None]) -> None:
        """Run `shutdown` (which must finish the daemon's clean stop) when Windows ends the session.

        Only the win32 backend has a window to receive it: Windows sends `WM_QUERYENDSESSION`
        (answered "yes": pystray would answer 0, which lists wslwatch as blocking sign-out) and
        then `WM_ENDSESSION`, after whose return the process may be ended at once; so the stop
        runs inside that message, not later on the loop. Other backends are stopped by signals."""
        if self.backend != "win32":
            return

        def end_session(ending: int, _flags: int) -> int:
            if ending:
                log.info("Windows is ending the session; stopping")
                shutdown()
            return 0

        handlers = self._icon._message_handlers
        handlers[_WM_QUERYENDSESSION] = lambda _w, _l: 1
        handlers[_WM_ENDSESSION] = end_session

    def notify(self, message: str, title: str) -> None:
        """Show a notification through the tray (see `can_notify`)."""
        self._icon.notify(message, title)

    def run(self, stop: threading.Event) -> None:
        """Show the icon and handle its events until `stop` is set (Quit sets it too).

        Returns with `stop` set. Raises `TrayUnavailable` when the backend's loop cannot start.
        """
        loop_over = threading.Event()
        docking = XorgDocking(self._icon) if self.backend == "xorg" else None

        def setup(icon: Any) -> None:
            if loop_over.is_set():  # the loop failed before it became ready
                return
            icon.visible = True
            log.info("tray icon shown (pystray %s backend)", self.backend)
            while not stop.wait(self._update_s):
                try:
                    self.refresh()
                except Exception:
                    log.exception("cannot redraw the tray icon; keeping the last one")
                if docking is not None:
                    docking.check()
            if not loop_over.is_set():
                icon.stop()
                if docking is not None:
                    _push_until(docking, loop_over)

        try:
            self._icon.run(setup)
        except Exception as exc:
            # pystray's setup thread is not a daemon and waits for the loop to become ready;
            # release it (setup then returns at once) so the process can exit.
            loop_over.set()
            with contextlib.suppress(Exception):
                self._icon._mark_ready()
            raise TrayUnavailable(f"the {self.backend} tray loop failed: {_why(exc)}") from exc
        loop_over.set()
        if not stop.is_set():
            log.warning("the tray's event loop ended by itself (display gone?); stopping")
            stop.set()

    def refresh(self) -> None:
        """Redraw from the latest snapshot and alerts; only what changed reaches the backend."""
        state = self._current()
        image = state.image.tobytes()
        if image != self._shown_image:
            self._icon.icon = state.image
            self._shown_image = image
        self._icon.title = self._title_text(state.title)
        menu_changed = [e.text for e in state.menu] != [e.text for e in self._state.menu]
        self._state = state
        if menu_changed:
            self._icon.update_menu()

    def _current(self) -> TrayState:
        return tray_state(self._snapshot(), self._alerts(), self._actions)

    def _menu_items(self) -> list[Any]:
        return [self._item(entry) for entry in self._state.menu]

    def _item(self, entry: Entry) -> Any:
        pystray = self._pystray
        if entry is SEPARATOR:
            return pystray.Menu.SEPARATOR
        if entry.submenu:
            return pystray.MenuItem(entry.text, pystray.Menu(*(self._item(e) for e in entry.submenu)))
        action = entry.action
        return pystray.MenuItem(
            entry.text,
            (lambda: _safely(action)) if action is not None else None,
            enabled=entry.enabled,
            default=entry.default,
        )


def open_tray(
    snapshot: Callable[[], Snapshot],
    alerts: Callable[[], Sequence[Alert]],
    actions: MenuActions,
    update_s: float,
) -> TrayApp:
    """Load pystray's backend and build the icon; raise `TrayUnavailable` saying why not."""
    try:
        import pystray
    except Exception as exc:  # the backend connects to the display at import: Xlib errors, not ImportError
        raise TrayUnavailable(_why(exc)) from exc
    if pystray.Icon.__module__ == "pystray._base":
        raise TrayUnavailable("pystray's dummy backend (PYSTRAY_BACKEND=dummy) cannot show an icon")
    try:
        return TrayApp(pystray, snapshot, alerts, actions, update_s)
    except Exception as exc:
        raise TrayUnavailable(f"cannot create the tray icon: {_why(exc)}") from exc


def _latin1(text: str) -> str:
    """`text` with what Latin-1 lacks replaced: dashes and ellipses spelt out, the rest "?"."""
    plain = text.replace("—", "-").replace("–", "-").replace("…", "...")
    return plain.encode("latin-1", "replace").decode("latin-1")


def _push_until(docking: XorgDocking, done: threading.Event) -> None:
    """Flush the xorg backend's X connection until its loop has ended.

    python-xlib can leave the window-destroy request of `stop()` queued but unsent when
    two threads flush at once; the loop then waits for an event that never comes. Other
    backends have no such connection and their loops end by themselves.
    """
    while not done.wait(0.5):
        docking.flush()


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or "no message"
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {text}".removeprefix("builtins.")


def _safely(action: Callable[[], object]) -> None:
    """A menu action's failure is logged, never raised into the tray's event loop."""
    try:
        action()
    except Exception:
        log.exception("a tray menu action failed")
