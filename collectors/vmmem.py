"""The WSL VM process as Windows sees it: `vmmemWSL` (Windows 11) or `vmmem` (Windows 10).

psutil reads its name and memory without admin rights: `rss` is the working set, `vms` the
private (committed) bytes. Only `.rss` and `.vms` are used: psutil 8 renames the other fields.

`vmmem` is also the name of every other Hyper-V VM's process (Windows Sandbox, Docker's
Hyper-V VM, a Hyper-V guest). From Windows 11 (build 22000) WSL always names its own
`vmmemWSL` (microsoft/WSL `WslCoreVm.cpp`, `HostingProcessNameSuffix`; microsoft/WSL#6881),
so there a plain `vmmem` is never WSL's; on Windows 10 one is taken for WSL's only while
`wsl.exe --list --running` lists a distro.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence

import psutil

from wslwatch.collectors._windows_view import WindowsView
from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.core import CollectorError, Sample

__all__ = ["VM_PROCESS_NAMES", "SharedNameCheck", "VmProcessFinder", "VmmemCollector", "normalised_name"]

#: The WSL VM process's names, most specific first: Windows 11's, then Windows 10's.
VM_PROCESS_NAMES = ("vmmemWSL", "vmmem")
#: The name every Hyper-V VM's process bears (WSL's too, before Windows 11).
SHARED_VM_NAME = "vmmem"
#: The first Windows 11 build; from it on WSL's VM process is always `vmmemWSL`.
WINDOWS_11_BUILD = 22000

log = logging.getLogger(__name__)


def _psutil_names() -> Iterator[tuple[int, str]]:
    """(pid, name) of every process through psutil; on Windows psutil keeps each name, so a rescan is cheap."""
    for process in psutil.process_iter():
        try:
            yield process.pid, process.name()
        except psutil.Error:
            continue  # vanished or unreadable while listing: not a candidate


def _proc_comm_names() -> Iterator[tuple[int, str]]:
    """(pid, name) from /proc/PID/comm, for a tenth of the CPU of psutil's `name()` (which also
    parses `stat`, and `cmdline` for long names). The kernel keeps 15 characters of a name, so
    on Linux a configured name longer than that never matches (the WSL VM is never on Linux:
    there this collector only ever reports `vmmem_up 0`, or a test's stand-in).

    Plain `os.open`/`os.read` relative to an open /proc: a Python file object per process, or
    the kernel's lookup of the full path, would double the cost of a listing."""
    proc = os.open("/proc", os.O_RDONLY)
    try:
        for pid in os.listdir(proc):
            if not pid.isdigit():
                continue
            try:
                comm = os.open(pid + "/comm", os.O_RDONLY, dir_fd=proc)
            except OSError:
                continue  # exited while listing
            try:
                name = os.read(comm, 64)
            except OSError:
                continue
            finally:
                os.close(comm)
            yield int(pid), name.decode("utf-8", "replace").rstrip("\n")
    finally:
        os.close(proc)


def normalised_name(name: str) -> str:
    """Windows reports some image names with `.exe` and some without; case never matters."""
    lowered = name.lower()
    return lowered[: -len(".exe")] if lowered.endswith(".exe") else lowered


class SharedNameCheck:
    """Windows: whether a process bearing the Hyper-V VMs' shared name may be WSL's VM now."""

    def __init__(self, windows_build: int, wsl: WslExe, shared_name: str = SHARED_VM_NAME) -> None:
        self._build = windows_build
        self._wsl = wsl
        self._shared = normalised_name(shared_name)

    def allows(self, name: str) -> bool:
        """True for every other name; for the shared one only before Windows 11, while a distro runs."""
        if normalised_name(name) != self._shared:
            return True
        if self._build >= WINDOWS_11_BUILD:
            return False
        try:
            return bool(self._wsl.distros("--running"))
        except CollectorError as e:
            log.debug("%s not taken for the WSL VM: %s", name, e)
            return False


def _platform_check() -> SharedNameCheck | None:
    """Windows needs the check (`vmmem` may be another VM); elsewhere a configured name is the VM."""
    if sys.platform == "win32":
        return SharedNameCheck(sys.getwindowsversion().build, WslExe())
    return None


class VmProcessFinder:
    """The running processes that bear one of the VM's names (case and `.exe` ignored), less a
    shared `vmmem` that is not WSL's (see `SharedNameCheck`).

    Shared by the `vmmem` collector (which measures one) and the `.wslconfig` check on
    Windows (which asks when the VM started), so both mean the same process.
    """

    def __init__(
        self, process_names: Sequence[str] = VM_PROCESS_NAMES, shared_name: SharedNameCheck | None = None
    ) -> None:
        self._list_processes = _proc_comm_names if sys.platform.startswith("linux") else _psutil_names
        self._shared_name = shared_name if shared_name is not None else _platform_check()
        self._rank: dict[str, int] = {}
        for rank, process_name in enumerate(process_names):
            self._rank.setdefault(normalised_name(process_name), rank)

    def by_rank(self) -> list[list[tuple[psutil.Process, str]]]:
        """(process, name) of each name found, grouped by the name's rank, best first.

        Raises `OSError` when the processes cannot be listed at all."""
        groups: dict[int, list[tuple[psutil.Process, str]]] = {}
        for pid, name in self._list_processes():
            rank = self._rank.get(normalised_name(name))
            if rank is None:
                continue
            try:
                groups.setdefault(rank, []).append((psutil.Process(pid), name))
            except psutil.Error:
                continue  # exited since it was listed
        check = self._shared_name
        ranked = [groups[rank] for rank in sorted(groups)]
        return [group for group in ranked if check is None or check.allows(group[0][1])]


class VmmemCollector:
    """Finds the VM process by name (first configured name any process has wins) and measures it.

    No such process is `vmmem_up 0`, not an error. A process that vanishes while it is read is
    skipped; one whose memory cannot be read (access denied) is reported up without memory
    samples, and the reason is logged when it changes. Where several processes share the
    winning name (Windows 10: other Hyper-V VMs are `vmmem` too), the one with the largest
    working set is reported, since they cannot be told apart without admin rights.
    """

    name = "vmmem"

    def __init__(
        self,
        process_names: Sequence[str],
        interval_s: float,
        shared_name: SharedNameCheck | None = None,
        windows: WindowsView | None = None,
    ) -> None:
        """`windows` (inside WSL, opted in): read the VM process from Windows through interop instead."""
        self.interval_s = interval_s
        self._finder = VmProcessFinder(process_names, shared_name)
        self._windows = windows
        self._denied_reason: str | None = None

    def collect(self, now: float) -> list[Sample]:
        if self._windows is not None:
            return self._from_windows(self._windows, now)
        try:
            groups = self._finder.by_rank()
        except OSError as e:
            raise CollectorError(f"could not list the running processes: {e}") from e
        for candidates in groups:
            samples = self._measure(candidates, now)
            if samples:
                return samples
        self._denied_reason = None
        return [Sample("wslwatch_vmmem_up", {}, 0.0, now)]

    def close(self) -> None:
        """Nothing to release: psutil opens no handle that outlives a call."""

    @staticmethod
    def _from_windows(windows: WindowsView, now: float) -> list[Sample]:
        """The VM process as Windows reported it to a run through interop (see `_windows_view`)."""
        vm = windows.read().vm
        if vm is None:
            return [Sample("wslwatch_vmmem_up", {}, 0.0, now)]
        labels = {"process": vm.name}
        return [
            Sample("wslwatch_vmmem_up", {}, 1.0, now),
            Sample("wslwatch_vmmem_working_set_bytes", labels, float(vm.working_set), now),
            Sample("wslwatch_vmmem_private_bytes", labels, float(vm.private), now),
        ]

    def _measure(self, candidates: list[tuple[psutil.Process, str]], now: float) -> list[Sample]:
        """Samples for the largest readable candidate; [] when every candidate has gone."""
        readings: list[tuple[int, int, str]] = []
        denied: list[str] = []
        for process, name in candidates:
            try:
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:
                        continue  # exited, not yet reaped: gone
                    memory = process.memory_info()
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:
                denied.append(f"pid {process.pid}")
                continue
            readings.append((memory.rss, memory.vms, name))
        if not readings and not denied:
            return []
        up = Sample("wslwatch_vmmem_up", {}, 1.0, now)
        if not readings:
            self._note_denied(f"access denied reading the memory of {', '.join(denied)}")
            return [up]
        self._note_denied(None)
        rss, vms, name = max(readings)
        labels = {"process": name}
        return [
            up,
            Sample("wslwatch_vmmem_working_set_bytes", labels, float(rss), now),
            Sample("wslwatch_vmmem_private_bytes", labels, float(vms), now),
        ]

    def _note_denied(self, reason: str | None) -> None:
        """Log why the found VM process's memory is unknown, or that it is known again, on change."""
        if reason == self._denied_reason:
            return
        if reason is not None:
            log.warning("WSL VM process found, but its memory is not reported: %s", reason)
        else:
            log.info("WSL VM process memory is readable again")
        self._denied_reason = reason
