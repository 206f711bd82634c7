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
from typing import Callable

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.core import CollectorError

__all__ = ["DROP_PAGE_CACHE", "PageCacheDropper", "open_path", "open_url"]

log = logging.getLogger(__name__)

#: After `-d <a running distro>`. Page cache is one per WSL VM kernel, shared by every distro, so
#: any running distro will do; a stopped one (even the default) would boot the VM.
DROP_PAGE_CACHE: tuple[str, ...] = ("-u", "root", "--exec", "sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches")


class PageCacheDropper:
    """Runs `DROP_PAGE_CACHE` through `wsl.exe` in a running distro, in a background thread, and
    logs how it went. With no distro running there is nothing to drop, and nothing is started."""

    def __init__(self, wsl: WslExe) -> None:
        self.wsl = wsl

    @classmethod
    def find(cls, timeout_s: float = 60.0) -> PageCacheDropper | None:
        """A dropper where `wsl.exe` exists (Windows, or WSL with interop), else None."""
        wsl = WslExe(timeout_s=timeout_s)
        return cls(wsl) if shutil.which(wsl.path) else None

    def start(self, done: Callable[[str], None] = lambda outcome: None) -> threading.Thread:
        """Run once in a new thread; `done(outcome)` gets the line that was logged."""
        thread = threading.Thread(target=lambda: done(self.run()), name="drop-page-cache", daemon=True)
        thread.start()
        return thread

    def run(self) -> str:
        """Run the command now; returns (and logs) one line saying what happened."""
        try:
            running = self.wsl.distros("--running")
            if not running:
                outcome = "no WSL distro is running, so there is no page cache to drop (nothing was started)"
                log.info("%s", outcome)
                return outcome
            result = self.wsl.run("-d", running[0], *DROP_PAGE_CACHE)
        except CollectorError as exc:
            outcome = f"cannot drop the WSL page cache: {exc}"
        else:
            if result.returncode == 0:
                log.info("dropped the WSL page cache")
                return "dropped the WSL page cache"
            said = (result.stderr or result.stdout).strip()
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
