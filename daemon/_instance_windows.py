"""Windows: the per-user named mutex `Local\\wslwatch-<SID>` (kernel32/advapi32 through ctypes),
and the named event `Local\\wslwatch-stop-<SID>` through which `wslwatch stop` asks the daemon
to stop (Windows has no SIGTERM, and `taskkill` without `/F` only asks windows to close).

The kernel closes the mutex handle when the process ends, crash included, so no stale
lock is left behind. `Local\\` is the logon session's namespace; the SID keeps two
users of one session (e.g. `runas`) apart.
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # noqa: S101 - tells mypy this module is Windows-only

import ctypes
import threading
from ctypes import wintypes
from typing import Callable

__all__ = ["NamedMutex", "StopEvent", "user_sid"]

_ERROR_ACCESS_DENIED = 5
_ERROR_ALREADY_EXISTS = 183
_EVENT_MODIFY_STATE = 0x0002
_INFINITE = 0xFFFFFFFF
_TOKEN_QUERY = 0x0008
_TOKEN_USER = 1  # TOKEN_INFORMATION_CLASS.TokenUser


class _SidAndAttributes(ctypes.Structure):
    _fields_ = [("Sid", ctypes.c_void_p), ("Attributes", wintypes.DWORD)]


def _kernel32() -> ctypes.WinDLL:
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.CreateMutexW.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.LPCWSTR]
    kernel32.CreateMutexW.restype = wintypes.HANDLE
    kernel32.CreateEventW.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.BOOL, wintypes.LPCWSTR]
    kernel32.CreateEventW.restype = wintypes.HANDLE
    kernel32.OpenEventW.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR]
    kernel32.OpenEventW.restype = wintypes.HANDLE
    kernel32.SetEvent.argtypes = [wintypes.HANDLE]
    kernel32.SetEvent.restype = wintypes.BOOL
    kernel32.WaitForSingleObject.argtypes = [wintypes.HANDLE, wintypes.DWORD]
    kernel32.WaitForSingleObject.restype = wintypes.DWORD
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    kernel32.CloseHandle.restype = wintypes.BOOL
    kernel32.LocalFree.argtypes = [ctypes.c_void_p]
    kernel32.LocalFree.restype = ctypes.c_void_p
    return kernel32


def _advapi32() -> ctypes.WinDLL:
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)]
    advapi32.OpenProcessToken.restype = wintypes.BOOL
    advapi32.GetTokenInformation.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    ]
    advapi32.GetTokenInformation.restype = wintypes.BOOL
    advapi32.ConvertSidToStringSidW.argtypes = [ctypes.c_void_p, ctypes.POINTER(wintypes.LPWSTR)]
    advapi32.ConvertSidToStringSidW.restype = wintypes.BOOL
    return advapi32


def user_sid() -> str:
    """The string SID of the user this process runs as, e.g. `S-1-5-21-...-1001`; OSError if unreadable."""
    kernel32, advapi32 = _kernel32(), _advapi32()
    token = wintypes.HANDLE()
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), _TOKEN_QUERY, ctypes.byref(token)):
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        needed = wintypes.DWORD()
        advapi32.GetTokenInformation(token, _TOKEN_USER, None, 0, ctypes.byref(needed))
        buffer = ctypes.create_string_buffer(needed.value)
        if not advapi32.GetTokenInformation(token, _TOKEN_USER, buffer, needed, ctypes.byref(needed)):
            raise ctypes.WinError(ctypes.get_last_error())
        sid = _SidAndAttributes.from_buffer(buffer).Sid
        text = wintypes.LPWSTR()
        if not advapi32.ConvertSidToStringSidW(sid, ctypes.byref(text)):
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            return str(text.value)
        finally:
            kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))
    finally:
        kernel32.CloseHandle(token)


class NamedMutex:
    """Held while this process owns the mutex handle; another process finds the name taken."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handle: int | None = None

    def try_lock(self) -> bool:
        """Create the mutex; False if another process already holds one by this name. Access
        denied means the same: an elevated instance of this user holds it, and its mutex's
        security forbids a process that is not elevated to open it."""
        kernel32 = _kernel32()
        handle = kernel32.CreateMutexW(None, False, self.name)
        error = ctypes.get_last_error()
        if not handle and error == _ERROR_ACCESS_DENIED:
            return False
        if not handle:
            raise ctypes.WinError(error)
        if error == _ERROR_ALREADY_EXISTS:
            kernel32.CloseHandle(handle)
            return False
        self._handle = handle
        return True

    def unlock(self) -> None:
        if self._handle is not None:
            _kernel32().CloseHandle(self._handle)
            self._handle = None


class StopEvent:
    """The named event the daemon waits on; `wslwatch stop` sets it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def listen(self, on_stop: Callable[[], None]) -> None:
        """Create the event and call `on_stop` (in a daemon thread) once it is set."""
        kernel32 = _kernel32()
        handle = kernel32.CreateEventW(None, True, False, self.name)
        if not handle:
            raise ctypes.WinError(ctypes.get_last_error())

        def wait() -> None:
            kernel32.WaitForSingleObject(handle, _INFINITE)
            on_stop()

        threading.Thread(target=wait, name="stop-event", daemon=True).start()

    def send(self, pid: int) -> None:
        """Set the event of the running daemon (`pid` is only for messages); OSError if it cannot."""
        kernel32 = _kernel32()
        handle = kernel32.OpenEventW(_EVENT_MODIFY_STATE, False, self.name)
        if not handle:
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            if not kernel32.SetEvent(handle):
                raise ctypes.WinError(ctypes.get_last_error())
        finally:
            kernel32.CloseHandle(handle)
