"""Windows' AppUserModelID for the installed bundle, so Windows attributes wslwatch's
notifications (and its taskbar identity) to wslwatch rather than to "Python".

Only the Windows installer's bundle sets it: its Start-menu shortcut carries the same ID, and
a process ID that no shortcut matches makes notifications vanish (pystray#172). The bundle is
recognised by the marker file beside its interpreter, which holds the ID."""

from __future__ import annotations

import ctypes
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

APP_ID = "wslwatch.wslwatch"  # CompanyName.ProductName, as Windows recommends
MARKER = "wslwatch-app-id"  # the file beside the bundle's python.exe (scripts/windows_installer.py)


def bundle_app_id(prefix: str = sys.prefix) -> str | None:
    """The ID the installed bundle asks for, or None outside the bundle."""
    try:
        return (Path(prefix) / MARKER).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def adopt_bundle_app_id() -> None:
    """On Windows, inside the bundle: give this process the bundle's AppUserModelID."""
    app_id = bundle_app_id()
    if sys.platform != "win32" or app_id is None:
        return
    shell32 = ctypes.WinDLL("shell32")
    result = shell32.SetCurrentProcessExplicitAppUserModelID(ctypes.c_wchar_p(app_id))
    if result != 0:
        log.warning("could not set the AppUserModelID %s (HRESULT %#x); notifications may show as Python's", app_id, result & 0xFFFFFFFF)
        return
    log.info("AppUserModelID %s (the installed bundle's, as on its Start-menu shortcut)", app_id)
