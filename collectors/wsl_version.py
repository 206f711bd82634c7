"""The running WSL's version and kernel: `wslwatch_wsl_info{version,kernel}` = 1.

The version decides how WSL's own reclaim thread judges the guest (docs/reclaim.md). From
Windows it is `wsl.exe --version` (which reads state only and never starts the VM); inside WSL
it is `wslinfo --wsl-version` where WSL ships `wslinfo` (2.0 and later), the kernel from
`/proc/sys/kernel/osrelease`. A version that cannot be read is exported as "" (unknown).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.collectors._wslconfig_hosts import _inside_wsl
from wslwatch.core import CollectorError, NoData, Sample

__all__ = ["WslVersionCollector", "parse_wsl_version"]

_NUMBER = re.compile(r"\d+(?:\.\d+)+\S*")


def parse_wsl_version(text: str) -> tuple[str, str]:
    """(WSL version, kernel version) from `wsl.exe --version`: its first two lines' numbers.

    The labels are translated ("WSL-Version:", "Version de WSL :"), the order is not."""
    numbers = [m.group(0) for line in text.splitlines() if (m := _NUMBER.search(line))]
    if len(numbers) < 2:
        raise CollectorError(f"`wsl.exe --version` printed no WSL and kernel version: {text.strip()[:200]!r}")
    return numbers[0], numbers[1]


class WslVersionCollector:
    """Reads the version every `interval_s` (it changes only when WSL updates)."""

    name = "wsl_version"

    def __init__(self, interval_s: float, proc_root: str = "/proc") -> None:
        self.interval_s = interval_s
        self._proc_root = proc_root

    def collect(self, now: float) -> list[Sample]:
        version, kernel = self._read()
        return [Sample("wslwatch_wsl_info", {"version": version, "kernel": kernel}, 1.0, now)]

    def close(self) -> None:
        """Nothing held between collections."""

    def _read(self) -> tuple[str, str]:
        if sys.platform == "win32":
            done = WslExe().run("--version")
            if done.returncode != 0:  # the inbox WSL of Windows 10 has no --version
                raise CollectorError(f"`wsl.exe --version` failed (exit {done.returncode}): {done.stdout.strip()[:200]}")
            return parse_wsl_version(done.stdout)
        if not _inside_wsl(os.environ, self._proc_root):
            raise NoData("not a WSL guest, and not Windows: no WSL version to read")
        try:
            with open(os.path.join(self._proc_root, "sys/kernel/osrelease"), encoding="utf-8") as f:
                kernel = f.read().strip()
        except OSError as e:
            raise CollectorError(f"cannot read the kernel version: {e}") from e
        return self._wslinfo(), kernel

    @staticmethod
    def _wslinfo() -> str:
        """`wslinfo --wsl-version`, or "" where there is no wslinfo (WSL before 2.0) or it fails."""
        wslinfo = shutil.which("wslinfo")
        if wslinfo is None:
            return ""
        try:
            done = subprocess.run([wslinfo, "--wsl-version"], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        found = _NUMBER.search(done.stdout) if done.returncode == 0 else None
        return found.group(0) if found else ""
