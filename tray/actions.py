"""What the tray menu does outside the daemon: open a page or a file, drop the WSL page cache.

Every command is a fixed argument list; nothing from the config reaches a shell.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import webbrowser
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["DROP_PAGE_CACHE", "PageCacheDropper", "open_path", "open_url"]

log = logging.getLogger(__name__)

# Page cache is one per WSL VM kernel, shared by every distro, so no distro is named.
DROP_PAGE_CACHE: tuple[str, ...] = (
    "wsl.exe", "-u", "root", "--exec", "sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches",
)
# Windows: run console programs without flashing a console window (0 elsewhere: no such flag).
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


class PageCacheDropper:
    """Runs `DROP_PAGE_CACHE` in a background thread and logs how it went."""

    def __init__(self, argv: Sequence[str] = DROP_PAGE_CACHE, timeout_s: float = 60.0) -> None:
        self.argv = tuple(argv)
        self.timeout_s = timeout_s

    @classmethod
    def find(cls) -> PageCacheDropper | None:
        """A dropper where `wsl.exe` is on PATH (Windows, or WSL with interop), else None."""
        return cls() if shutil.which(DROP_PAGE_CACHE[0]) else None

    def start(self, done: Callable[[str], None] = lambda outcome: None) -> threading.Thread:
        """Run once in a new thread; `done(outcome)` gets the line that was logged."""
        thread = threading.Thread(target=lambda: done(self.run()), name="drop-page-cache", daemon=True)
        thread.start()
        return thread

    def run(self) -> str:
        """Run the command now; returns (and logs) one line saying what happened."""
        try:
            result = subprocess.run(
                self.argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout_s,
                creationflags=_NO_WINDOW,
            )
        except subprocess.TimeoutExpired:
            outcome = f"dropping the WSL page cache did not finish within {self.timeout_s:g} s"
        except OSError as exc:
            outcome = f"cannot drop the WSL page cache: {self.argv[0]}: {exc.strerror or exc}"
        else:
            if result.returncode == 0:
                log.info("dropped the WSL page cache")
                return "dropped the WSL page cache"
            said = (result.stderr or result.stdout).decode("utf-8", "replace").replace("\0", "").strip()
            outcome = f"dropping the WSL page cache failed (exit {result.returncode}): {said or 'no message'}"
        log.warning("%s", outcome)
        return outcome


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
