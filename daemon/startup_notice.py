"""Telling a user who has no console that wslwatch could not start (Windows: a message box).

Started at login by `pythonw` (the Run value), wslwatch has no console: a refused start (the
port taken or reserved, another instance running, a bad config) would only reach
`console.log`, which nobody reads. So the CLI shows such a failure once, in a message box,
with the lines it printed and where the log is. Elsewhere a start without a console keeps its
output in the session's log (the desktop entry, the systemd journal): nothing is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["tell_windowless_user"]

_TITLE = "wslwatch could not start"
#: MB_OK | MB_ICONERROR | MB_SETFOREGROUND | MB_TOPMOST (WinUser.h)
_MB_FLAGS = 0x0 | 0x10 | 0x10000 | 0x40000


def notice_text(lines: Sequence[str], code: int, console_log: Path) -> str:
    """The message: what wslwatch printed (its last lines), the exit status, where the rest is."""
    said = "\n".join(lines) or "(it printed nothing)"
    return f"{said}\n\nExit status {code}. Everything it printed is in {console_log}."


if sys.platform == "win32":
    import ctypes

    def _show(text: str) -> None:
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        user32.MessageBoxW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.c_wchar_p, ctypes.c_uint]
        user32.MessageBoxW(None, text, _TITLE, _MB_FLAGS)

else:

    def _show(text: str) -> None:
        """Nothing to show: without a console here the output goes to the session's log."""


def tell_windowless_user(lines: Sequence[str], code: int, console_log: Path) -> None:
    """Show once why a windowless start failed (waits until the user dismisses the message)."""
    _show(notice_text(lines, code, console_log))
