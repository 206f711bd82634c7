"""TrayApp over pystray's dummy backend (it builds icons and menus but shows nothing): the menu
pystray gets, redraws that reach the icon only when something changed, and why no tray starts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator

import pytest
from tray_inputs import alert, snapshot

from wslwatch.core import Alert
from wslwatch.store import Snapshot
from wslwatch.tray.icon import TrayApp
from wslwatch.tray.menu import MenuActions


@pytest.fixture
def dummy_pystray(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """pystray imported with its dummy backend, forgotten again afterwards."""
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    import pystray

    yield pystray
    for name in [n for n in sys.modules if n == "pystray" or n.startswith("pystray.")]:
        del sys.modules[name]


class Live:
    """What the wiring hands the tray: the latest snapshot and alerts."""

    def __init__(self) -> None:
        self.snapshot: Snapshot = snapshot(host=(8, 32), vm_gib=4, vm_up=True, gpus=((6, 24),))
        self.alerts: list[Alert] = []


def make_app(pystray: ModuleType, live: Live, open_url: Callable[[str], None], stop: threading.Event) -> TrayApp:
    actions = MenuActions(
        snoozed_until=lambda: None,
        snooze_until=lambda until: None,
        resume=lambda: None,
        quit=stop.set,
        metrics_url="http://127.0.0.1:9477/metrics",
        open_url=open_url,
    )
    app = TrayApp(pystray, lambda: live.snapshot, lambda: live.alerts, actions, update_s=0.1)
    app._icon._update_menu = lambda: None  # the dummy backend has no native menu to rebuild after a click
    return app


def test_the_menu_pystray_gets(dummy_pystray: ModuleType) -> None:
    live, opened, stop = Live(), [], threading.Event()
    app = make_app(dummy_pystray, live, opened.append, stop)
    icon = app._icon
    items = list(icon.menu)
    texts = [item.text for item in items]
    assert texts[:3] == ["Host RAM: 8.0 of 32.0 GiB (25 %)", "WSL VM: 4.0 GiB working set (12 % of RAM)", "VRAM GPU 0: 6.0 of 24.0 GiB (25 %)"]
    assert not any(item.enabled for item in items[:3])
    assert items[3] is dummy_pystray.Menu.SEPARATOR
    icon()  # a left click runs the default item
    assert opened == ["http://127.0.0.1:9477/metrics"]
    quit_item = next(item for item in items if item.text == "Quit wslwatch")
    quit_item(icon)
    assert stop.is_set()
    assert app.backend == "base" and icon.title == "wslwatch · RAM 25 % · VM 4.0 GiB · VRAM 25 %"


def test_refresh_passes_on_only_what_changed(dummy_pystray: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    live = Live()
    app = make_app(dummy_pystray, live, print, threading.Event())
    icon = app._icon
    calls: list[str] = []
    monkeypatch.setattr(icon, "_update_icon", lambda: calls.append("icon"))
    monkeypatch.setattr(icon, "_update_title", lambda: calls.append("title"))
    monkeypatch.setattr(icon, "_update_menu", lambda: calls.append("menu"))
    icon._visible = True
    app.refresh()
    assert calls == [], "nothing changed"
    live.alerts = [alert(severity="critical", summary="VRAM nearly full")]
    app.refresh()
    assert calls == ["icon", "title", "menu"]
    assert icon.icon.getpixel((0, 0)) == (205, 30, 30)
    assert "VRAM nearly full" in [item.text for item in icon.menu]
    assert icon.title.endswith("\nVRAM nearly full")
    icon._visible = False  # the dummy backend cannot hide an icon when it is collected


def test_a_failing_menu_action_is_logged(dummy_pystray: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    def broken(url: str) -> None:
        raise OSError("no browser")

    app = make_app(dummy_pystray, Live(), broken, threading.Event())
    app._icon()
    assert "a tray menu action failed" in caplog.text


OPEN_TRAY = """
import sys
from wslwatch.store import Snapshot
from wslwatch.tray import MenuActions, TrayUnavailable, open_tray
actions = MenuActions(lambda: None, lambda t: None, lambda: None, lambda: None, "http://x/metrics")
try:
    open_tray(lambda: Snapshot(0.0), lambda: (), actions, 1.0)
except TrayUnavailable as exc:
    print(exc)
"""


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"PYSTRAY_BACKEND": "dummy"}, "pystray's dummy backend (PYSTRAY_BACKEND=dummy) cannot show an icon"),
        ({"PYSTRAY_BACKEND": "bogus"}, "ImportError: unknown backend: 'bogus'"),
        ({"PYSTRAY_BACKEND": "xorg", "DISPLAY": ":4095"}, "Xlib.error.DisplayConnectionError: Can't connect to display \":4095\""),
    ],
    ids=["dummy", "unknown", "no-x-server"],
)
def test_why_no_tray_starts(env: dict[str, str], reason: str, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PYSTRAY_BACKEND")}
    done = subprocess.run(
        [sys.executable, "-c", OPEN_TRAY], env={**base, **env}, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(reason), done.stdout
