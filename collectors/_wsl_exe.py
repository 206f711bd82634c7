"""Running `wsl.exe` from Windows: a fixed argument list, no console window, no stdin, a timeout.

Its own messages are UTF-16LE unless it honours `WSL_UTF8=1` (WSL 0.64 and later; the inbox
Windows 10 `wsl.exe` ignores it), so output is decoded as UTF-16LE whenever it holds NULs.
What a command run in the guest prints comes through as the guest's raw bytes (UTF-8).
"""

from __future__ import annotations

import ntpath
import os
import struct
import subprocess
import sys
from collections.abc import Mapping
from typing import NamedTuple

from wslwatch.core import CollectorError

__all__ = ["WslExe", "WslResult", "decode_output", "windows_wsl_exe"]


def windows_wsl_exe(environ: Mapping[str, str], is_64bit_python: bool = struct.calcsize("P") == 8) -> str:
    """`%SystemRoot%\\System32\\wsl.exe`, never a bare `wsl.exe`: Windows looks for a bare name in
    the current directory first. A 32-bit Python sees SysWOW64 as System32, which holds no
    wsl.exe; `Sysnative` is the real System32 for it."""
    root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or "C:\\Windows"
    return ntpath.join(root, "System32" if is_64bit_python else "Sysnative", "wsl.exe")


if sys.platform == "win32":
    _CREATION_FLAGS = subprocess.CREATE_NO_WINDOW
    DEFAULT_PATH = windows_wsl_exe(os.environ)
else:
    _CREATION_FLAGS = 0  # Windows-only flags must be 0 elsewhere (tests run a stand-in wsl.exe)
    DEFAULT_PATH = "wsl.exe"  # inside WSL: found on PATH through interop (/mnt/c/Windows/System32)


def decode_output(data: bytes) -> str:
    """Text of what wsl.exe wrote, whichever encoding it chose, with `\\n` line ends."""
    text = data.decode("utf-16-le", "replace") if b"\x00" in data else data.decode("utf-8", "replace")
    return text.lstrip("\ufeff").replace("\r\n", "\n")


class WslResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


class WslExe:
    """One `wsl.exe` (by default Windows' own, see `windows_wsl_exe`; inside WSL the one on PATH);
    each call is a child process with a deadline."""

    def __init__(self, path: str = DEFAULT_PATH, timeout_s: float = 5.0) -> None:
        self.path = path
        self.timeout_s = timeout_s

    def run(self, *args: str) -> WslResult:
        """Run `wsl.exe ARGS...` (never through a shell) and wait for it at most `timeout_s`."""
        command = f"{self.path} {' '.join(args)}"
        try:
            done = subprocess.run(
                [self.path, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout_s,
                env={**os.environ, "WSL_UTF8": "1"},
                creationflags=_CREATION_FLAGS,
                check=False,
            )
        except FileNotFoundError as e:
            raise CollectorError(
                f"{self.path} was not found: WSL is not installed; "
                "install WSL, or disable [collectors.wsl_guest]"
            ) from e
        except subprocess.TimeoutExpired as e:
            raise CollectorError(f"`{command}` did not finish within {self.timeout_s:g}s and was stopped") from e
        except OSError as e:
            raise CollectorError(f"could not run `{command}`: {e}") from e
        return WslResult(done.returncode, decode_output(done.stdout), decode_output(done.stderr))

    def distros(self, *flags: str) -> list[str]:
        """Names from `wsl.exe --list [FLAGS] --quiet` (the default distro first); reads state only."""
        args = ("--list", *flags, "--quiet")
        result = self.run(*args)
        if result.returncode != 0:
            message = (result.stderr + result.stdout).strip() or "no message"
            raise CollectorError(
                f"`{self.path} {' '.join(args)}` failed with exit status {result.returncode}: {message}"
            )
        return [line.strip() for line in result.stdout.split("\n") if line.strip()]
