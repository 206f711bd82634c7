"""Inside WSL: the WSL VM process and the host's RAM as Windows counts them, through interop.

Opt-in (`from_windows` under `[collectors.host_memory]` and `[collectors.vmmem]`): each read
starts one Windows process, `powershell.exe`, through WSL interop, which costs far more than
the collectors' own reads (numbers and method in docs/benchmarks.md). It is the cheapest
source that has both figures: `tasklist.exe` has the VM's working set but not the host's RAM,
`typeperf.exe` wants counter names in the system's language, `wmic.exe` is gone from current
Windows 11, `systeminfo.exe` queries far more. One run answers both collectors, and reads are
at least MIN_SPACING_S apart (a collection in between gets the last read).

The script is a constant; nothing from the config reaches it. RAM comes from .NET's
`ComputerInfo` (`GlobalMemoryStatusEx`, as psutil reads it on Windows), the VM process from
`Get-Process` (working set and private bytes, as psutil's `rss` and `vms`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from typing import NamedTuple

from wslwatch.core import CollectorError

__all__ = ["HostView", "VmProcess", "WindowsView", "parse_host_view", "powershell_path"]

#: Least time between two PowerShell runs.
MIN_SPACING_S = 60.0
#: The first Windows 11 build; from it on WSL's VM process is always `vmmemWSL` (see `vmmem.py`).
_WINDOWS_11_BUILD = 22000
_TIMEOUT_S = 9.0  # within the collectors' default 10 s deadline
_POWERSHELL = "/mnt/c/Windows/System32/WindowsPowerShell/v1.0/powershell.exe"

SCRIPT = (
    "Add-Type -AssemblyName Microsoft.VisualBasic; "
    "$c = New-Object Microsoft.VisualBasic.Devices.ComputerInfo; "
    "'ram ' + $c.TotalPhysicalMemory + ' ' + $c.AvailablePhysicalMemory; "
    "'build ' + [Environment]::OSVersion.Version.Build; "
    "Get-Process -Name vmmemWSL,vmmem -ErrorAction SilentlyContinue | "
    "ForEach-Object { 'vm ' + $_.ProcessName + ' ' + $_.WorkingSet64 + ' ' + $_.PrivateMemorySize64 }"
)


class VmProcess(NamedTuple):
    name: str
    working_set: int
    private: int


class HostView(NamedTuple):
    """What one run found: the host's RAM, and WSL's VM process (None: not running)."""

    total: int
    available: int
    vm: VmProcess | None


def parse_host_view(text: str) -> HostView:
    """The script's output: `ram TOTAL AVAILABLE`, `build N`, one `vm NAME WS PRIVATE` per process.

    WSL's VM is `vmmemWSL`; a plain `vmmem` counts only before Windows 11 (from inside WSL a
    distro runs, so on Windows 10 it is WSL's, or one of several: the largest is taken)."""
    ram: tuple[int, int] | None = None
    build = 0
    found: list[VmProcess] = []
    for line in text.replace("\r", "").split("\n"):
        words = line.split()
        try:
            if words[:1] == ["ram"] and len(words) == 3:
                ram = int(words[1]), int(words[2])
            elif words[:1] == ["build"] and len(words) == 2:
                build = int(words[1])
            elif words[:1] == ["vm"] and len(words) == 4:
                found.append(VmProcess(words[1], int(words[2]), int(words[3])))
        except ValueError:
            continue  # a figure PowerShell could not give (an empty one): the line is skipped
    if ram is None:
        raise CollectorError(f"powershell.exe did not report the host's RAM (it said: {text.strip()[:200] or 'nothing'})")
    own = [p for p in found if p.name.lower() == "vmmemwsl"]
    shared = [p for p in found if p.name.lower() == "vmmem"] if 0 < build < _WINDOWS_11_BUILD else []
    candidates = own or shared
    vm = max(candidates, key=lambda p: p.working_set) if candidates else None
    return HostView(ram[0], ram[1], vm)


def powershell_path(environ: Mapping[str, str]) -> str | None:
    """Windows PowerShell as WSL interop reaches it: on PATH (Windows' PATH is appended), else at C:."""
    found = shutil.which("powershell.exe", path=environ.get("PATH", ""))
    return found or (_POWERSHELL if os.path.isfile(_POWERSHELL) else None)


class WindowsView:
    """Runs the script through interop at most every `spacing_s`; both collectors share one."""

    def __init__(self, powershell: str | None, spacing_s: float = MIN_SPACING_S) -> None:
        self._powershell = powershell
        self._spacing_s = spacing_s
        self._lock = threading.Lock()
        self._last: tuple[float, HostView] | None = None

    def read(self) -> HostView:
        """The last read while it is younger than `spacing_s`, else a new one."""
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self._spacing_s:
                return self._last[1]
            view = parse_host_view(self._run())
            self._last = (now, view)
            return view

    def _run(self) -> str:
        if self._powershell is None:
            raise CollectorError(
                "powershell.exe is not reachable from WSL (not on PATH, nor under /mnt/c): is Windows interop off? "
                "Turn [interop] back on in /etc/wsl.conf, or set from_windows = false"
            )
        argv = [self._powershell, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", SCRIPT]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise CollectorError(f"powershell.exe did not answer within {_TIMEOUT_S:g}s") from None
        except OSError as exc:
            raise CollectorError(
                f"cannot run powershell.exe through WSL interop: {exc.strerror or exc} (is [interop] enabled?)"
            ) from None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip()[:200]
            raise CollectorError(f"powershell.exe failed with exit status {done.returncode}: {said or 'no message'}")
        return done.stdout.decode("utf-8", "replace")
