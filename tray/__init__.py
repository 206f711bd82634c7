"""The tray: an icon drawn from the Store and the alerts, its menu, and desktop notifiers.

pystray is imported only by `open_tray()`, so importing this package never needs a display.
"""

from wslwatch.tray.icon import TrayApp, TrayState, TrayUnavailable, open_tray, tray_state
from wslwatch.tray.menu import Entry, MenuActions, build_menu
from wslwatch.tray.notifiers import DbusNotifier, PystrayNotifier
from wslwatch.tray.render import render

__all__ = [
    "DbusNotifier",
    "Entry",
    "MenuActions",
    "PystrayNotifier",
    "TrayApp",
    "TrayState",
    "TrayUnavailable",
    "build_menu",
    "open_tray",
    "render",
    "tray_state",
]
