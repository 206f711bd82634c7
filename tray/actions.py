"""What the tray menu does outside the daemon: open a page or a file, drop the WSL page cache.

Every command is a fixed argument list; nothing from the config reaches a shell. Dropping the
page cache is the reclaim controller's own give-back (`wslwatch.reclaim`).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import webbrowser
from pathlib import Path
from typing import Callable

__all__ = ["PageCacheDropper", "open_path", "open_url"]

log = logging.getLogger(__name__)


class PageCacheDropper:
    """The tray's "drop page cache": the reclaim controller's give-back (`give_back`, which runs
    its constant commands in a running distro and says how it went), in a background thread."""

    def __init__(self, give_back: Callable[[], str]) -> None:
        self._give_back = give_back

    def start(self, done: Callable[[str], None] = lambda outcome: None) -> threading.Thread:
        """Run once in a new thread; `done(outcome)` gets the line that was logged."""
        thread = threading.Thread(target=lambda: done(self.run()), name="drop-page-cache", daemon=True)
        thread.start()
        return thread

    def run(self) -> str:
        """Give the page cache back now; the line that says what happened (the controller logged it)."""
        return self._give_back()


def open_url(url: str) -> None:
    """Open `url` in the default browser."""
    if not webbrowser.open(url):
        log.warning("no web browser could open %s; open it by hand", url)


def open_path(path: Path) -> None:
    """Open `path` with the program the desktop associates with it."""
    try:
        _open_with_desktop(path)
    except OSError as exc:
        log.warning("cannot open %s: %s", path, exc.strerror or exc)


def _start_file(path: Path) -> None:
    os.startfile(path)  # type: ignore[attr-defined,unused-ignore]  # Windows only


def _xdg_open(path: Path) -> None:
    opener = shutil.which("xdg-open")
    if opener is None:
        open_url(path.resolve().as_uri())
        return
    subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_open_with_desktop: Callable[[Path], None] = _start_file if hasattr(os, "startfile") else _xdg_open
