"""Where `.wslconfig` lives, what sizes its defaults, when the VM started: per platform.

One `Host` is chosen once, by `choose_host()`:
- Windows: `%USERPROFILE%\\.wslconfig`; host RAM from psutil; the VM's start from its
  `vmmemWSL` (Windows 11) or lone `vmmem` (Windows 10) process.
- inside WSL: the Windows profile asked from `cmd.exe` through interop, turned into a Linux
  path by `wslpath`; the guest's MemTotal is the VM's memory (the host's RAM cannot be
  seen from here); the VM started when the guest kernel booted (`btime`).
- plain Linux: nothing to find unless a path is configured; this machine stands in for
  the host.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

import psutil

from wslwatch.collectors.vmmem import VM_PROCESS_NAMES, VmProcessFinder, normalised_name
from wslwatch.core import CollectorError, NoData

__all__ = ["Host", "MemoryBasis", "choose_host", "decode_cmd_output"]

_CMD_TIMEOUT_S = 5.0
#: Without a VM process, look for one again only after this long (a VM started since then
#: matters only for a file edited since then).
_RESCAN_S = 300.0
_WSLPATH_TIMEOUT_S = 2.0
_SET_PATH_HINT = 'set collectors.wslconfig.path (e.g. "/mnt/c/Users/<you>/.wslconfig") in wslwatch.toml'


@dataclass(frozen=True)
class MemoryBasis:
    """What WSL's memory default and cap are computed from; `None` where it cannot be known."""

    host_total_bytes: int | None  # the cap for `memory`
    default_memory_bytes: int | None  # the VM's memory when the file sets none


class Host(Protocol):
    """The platform part of reading `.wslconfig`."""

    def default_path(self) -> str:
        """Where `.wslconfig` is when none is configured; raises `NoData`/`CollectorError`."""
        ...

    def memory_basis(self) -> MemoryBasis:
        """Host RAM and the default VM memory."""
        ...

    def vm_started_at(self) -> float | None:
        """Unix time the running WSL VM started, or None when unknown or not running."""
        ...


def choose_host(platform: str, environ: Mapping[str, str], proc_root: str) -> Host:
    """The `Host` for this platform: Windows, inside WSL, or plain Linux."""
    if platform == "win32":
        return WindowsHost(environ)
    if _inside_wsl(environ, proc_root):
        return WslHost(environ, proc_root)
    return LinuxHost()


def _inside_wsl(environ: Mapping[str, str], proc_root: str) -> bool:
    if "WSL_INTEROP" in environ or "WSL_DISTRO_NAME" in environ:
        return True
    binfmt = Path(proc_root, "sys/fs/binfmt_misc")
    if (binfmt / "WSLInterop").exists() or (binfmt / "WSLInterop-late").exists():
        return True
    try:  # services started by systemd have neither variable, and binfmt may be cleared
        return "microsoft" in Path(proc_root, "sys/kernel/osrelease").read_text().lower()
    except OSError:
        return False


def _host_ram() -> MemoryBasis:
    total = int(psutil.virtual_memory().total)
    return MemoryBasis(total, total // 2)


class WindowsHost:
    """Windows: the user's profile, this machine's RAM, the vmmem process."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._vm: tuple[int, float] | None = None  # (pid, create_time) last found
        self._scanned_at = -_RESCAN_S  # monotonic time of the last full process scan

    def default_path(self) -> str:
        profile = self._environ.get("USERPROFILE") or str(Path.home())
        return str(Path(profile, ".wslconfig"))

    def memory_basis(self) -> MemoryBasis:
        return _host_ram()

    def vm_started_at(self) -> float | None:
        if self._vm is not None:
            pid, created = self._vm
            try:
                if psutil.Process(pid).create_time() == created:
                    return created
            except psutil.Error:
                pass
            self._vm = None
        if time.monotonic() - self._scanned_at >= _RESCAN_S:  # a scan costs milliseconds: not every time
            self._scanned_at = time.monotonic()
            self._vm = _find_vm_process()
        return None if self._vm is None else self._vm[1]


def _find_vm_process() -> tuple[int, float] | None:
    """(pid, start time) of `vmmemWSL` (the newest, if several), else of `vmmem` when exactly
    one runs: several are other Hyper-V VMs too (Windows 10), and which is WSL's is unknown."""
    groups = VmProcessFinder().by_rank()
    if not groups:
        return None
    best, name = groups[0], groups[0][0][1]
    if len(best) > 1 and normalised_name(name) != normalised_name(VM_PROCESS_NAMES[0]):
        return None
    started: list[tuple[float, int]] = []
    for process, _ in best:
        try:
            started.append((process.create_time(), process.pid))
        except psutil.Error:
            continue  # exited meanwhile
    if not started:
        return None
    created, pid = max(started)
    return pid, created


class WslHost:
    """Inside WSL: the Windows profile through interop, the guest's own memory and boot time."""

    def __init__(self, environ: Mapping[str, str], proc_root: str) -> None:
        self._environ = environ
        self._proc_root = proc_root
        self._profile: str | None = None  # the Linux path of %USERPROFILE%, once known

    def default_path(self) -> str:
        if self._profile is None:
            self._profile = self._ask_windows_profile()
        return str(Path(self._profile, ".wslconfig"))

    def memory_basis(self) -> MemoryBasis:
        return MemoryBasis(None, self._mem_total())

    def vm_started_at(self) -> float | None:
        btime = _first_value(os.path.join(self._proc_root, "stat"), "btime ")
        return None if btime is None else float(btime)

    def _mem_total(self) -> int | None:
        kib = _first_value(os.path.join(self._proc_root, "meminfo"), "MemTotal:")
        return None if kib is None else kib * 1024

    def _ask_windows_profile(self) -> str:
        """%USERPROFILE% of the Windows user, as a Linux path (research/windows.md §7)."""
        search = self._environ.get("PATH", "")
        cmd = shutil.which("cmd.exe", path=search) or _existing("/mnt/c/Windows/System32/cmd.exe")
        wslpath = shutil.which("wslpath", path=search)
        if cmd is None or wslpath is None:
            missing = "cmd.exe" if cmd is None else "wslpath"
            raise CollectorError(f"cannot find the Windows profile: {missing} is not on PATH; {_SET_PATH_HINT}")
        cwd = "/mnt/c" if os.path.isdir("/mnt/c") else None  # a Linux cwd makes cmd.exe warn about UNC paths
        raw = self._run([cmd, "/d", "/u", "/c", "echo", "%USERPROFILE%"], cwd, _CMD_TIMEOUT_S)
        windows_path = decode_cmd_output(raw)
        if not windows_path or "%" in windows_path:
            raise CollectorError(f"cmd.exe did not give %USERPROFILE% (it answered {windows_path!r}); {_SET_PATH_HINT}")
        linux_path = os.fsdecode(self._run([wslpath, "-u", windows_path], None, _WSLPATH_TIMEOUT_S)).strip()
        if not linux_path.startswith("/"):
            raise CollectorError(f"wslpath gave {linux_path!r} for {windows_path!r}; {_SET_PATH_HINT}")
        return linux_path

    def _run(self, argv: list[str], cwd: str | None, timeout_s: float) -> bytes:
        name = os.path.basename(argv[0])
        try:
            done = subprocess.run(
                argv, cwd=cwd, env=dict(self._environ), stdin=subprocess.DEVNULL,
                capture_output=True, timeout=timeout_s, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise CollectorError(f"{name} did not answer within {timeout_s:g}s; {_SET_PATH_HINT}") from None
        except OSError as exc:
            if exc.errno == errno.ENOEXEC:
                raise CollectorError(
                    f"cannot run {name}: Windows interop is off ([interop] enabled=false in /etc/wsl.conf, "
                    f"or systemd-binfmt removed WSLInterop); {_SET_PATH_HINT}"
                ) from None
            raise CollectorError(f"cannot run {name}: {exc.strerror or exc}; {_SET_PATH_HINT}") from None
        if done.returncode != 0:
            said = decode_cmd_output(done.stderr)[:200]
            raise CollectorError(f"{name} failed with exit status {done.returncode} ({said}); {_SET_PATH_HINT}")
        return done.stdout


def _first_value(path: str, prefix: str) -> int | None:
    """The number after `prefix` on the first line of `path` that starts with it; None if there is
    none or the file cannot be read. Plain `os.read`: this runs on every collection."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            text = "\n" + os.read(fd, 1 << 20).decode("ascii", "replace")
        finally:
            os.close(fd)
    except OSError:
        return None
    start = text.find("\n" + prefix)
    if start < 0:
        return None
    words = text[start + 1 + len(prefix) : text.find("\n", start + 1)].split()
    return int(words[0]) if words and words[0].isascii() and words[0].isdigit() else None


def _existing(path: str) -> str | None:
    return path if os.path.isfile(path) else None


def decode_cmd_output(raw: bytes) -> str:
    """Text `cmd.exe /u` wrote (UTF-16LE), or plain UTF-8/ASCII output, stripped of line ends."""
    if len(raw) >= 2 and raw[1:2] == b"\x00":
        return raw[: len(raw) // 2 * 2].decode("utf-16-le", errors="replace").strip()
    return raw.decode("utf-8", errors="replace").strip()


class LinuxHost:
    """Plain Linux (or another OS): no Windows profile; this machine stands in for the host."""

    def default_path(self) -> str:
        raise NoData(
            "not on Windows and not inside WSL, so there is no .wslconfig to find: "
            "set collectors.wslconfig.path in wslwatch.toml to check one"
        )

    def memory_basis(self) -> MemoryBasis:
        return _host_ram()

    def vm_started_at(self) -> float | None:
        return None
