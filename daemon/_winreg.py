"""The `Registry` seam on Windows: HKEY_CURRENT_USER through the standard `winreg` module."""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # noqa: S101 - tells mypy this module is Windows-only

import winreg

__all__ = ["WinRegistry"]


class WinRegistry:
    """Reads and writes values under HKEY_CURRENT_USER (no admin needed)."""

    def read(self, key: str, name: str) -> str | bytes | None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ) and isinstance(value, str):
            return value
        if kind == winreg.REG_BINARY and isinstance(value, bytes):
            return value
        return None

    def write_string(self, key: str, name: str, data: str) -> None:
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, data)

    def delete(self, key: str, name: str) -> None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return
