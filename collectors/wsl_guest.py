"""Memory, page cache, swap, CPU time and memory pressure inside the WSL guest.

Two readers behind one seam, chosen once in the constructor: inside WSL (or on any Linux)
`ProcReader` reads the files under `proc_root`; on Windows `WslExeReader` reads them through
`wsl.exe`, and only while the distro already runs, so the daemon never starts a stopped VM or
keeps an idle one awake. The parsers are pure functions of the files' text.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import posixpath
import re
import sys
from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple, Protocol

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.core import CollectorError, NoData, Sample

__all__ = [
    "GuestReader",
    "ProcReader",
    "WslExeReader",
    "WslGuestCollector",
    "parse_cpu_ticks",
    "parse_meminfo",
    "parse_pressure",
    "parse_vmstat",
]

log = logging.getLogger(__name__)

#: Unit of /proc/stat. Linux fixes USER_HZ at 100 on every architecture WSL runs on (x86-64,
#: arm64). From Windows the guest cannot be asked for it, so both readers use this constant.
USER_HZ = 100

#: Least time between two reads through wsl.exe. Longer than WSL's 15 s instance idle timeout,
#: so these reads alone never keep a distro running that its user has left.
MIN_READ_SPACING_S = 30.0
#: How far beyond a longer configured `instanceIdleTimeout` the reads are spaced.
_IDLE_MARGIN_S = 15.0

MEMINFO, VMSTAT, STAT, PRESSURE = "meminfo", "vmstat", "stat", "pressure/memory"
REQUIRED_FILES = (MEMINFO, VMSTAT, STAT)
OPTIONAL_FILES = (PRESSURE,)  # only where the kernel has PSI and it is enabled at boot

CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")

_MEMINFO_METRICS = {
    "MemTotal": "wslwatch_guest_memory_total_bytes",
    "MemAvailable": "wslwatch_guest_memory_available_bytes",
    "MemFree": "wslwatch_guest_memory_free_bytes",
    "Cached": "wslwatch_guest_memory_cached_bytes",
    "SwapTotal": "wslwatch_guest_swap_total_bytes",
    "SwapFree": "wslwatch_guest_swap_free_bytes",
}
_RECLAIMABLE_PARTS = ("Active(file)", "Inactive(file)", "SReclaimable")  # WSL's own measure
_VMSTAT_METRICS = {
    "pswpin": "wslwatch_guest_swap_in_pages_total",
    "pswpout": "wslwatch_guest_swap_out_pages_total",
}
_MEMINFO_FIELDS = (*_MEMINFO_METRICS, *_RECLAIMABLE_PARTS)  # all the collector reads


def _complete_lines(text: str) -> list[str]:
    """The lines of `text`, leaving out a last line without its newline: it may have been cut."""
    return text.split("\n")[:-1]


def _complete_text(text: str) -> str:
    """`text` up to its last newline: a last line without one may have been cut."""
    return text[: text.rfind("\n") + 1]


_SPACE = r"[^\S\n]"  # whitespace within a line
#: `Field: number [kB]`, the field name without its surrounding whitespace.
_MEMINFO_LINE = rf"^{_SPACE}*({{names}}){_SPACE}*:{_SPACE}*([0-9]+)({_SPACE}+kB)?{_SPACE}*$"
_VMSTAT_LINE = rf"^{_SPACE}*({{names}}){_SPACE}+([0-9]+){_SPACE}*$"


def _names(only: Collection[str] | None, anything: str) -> str:
    return anything if only is None else "|".join(re.escape(name) for name in only)


def parse_meminfo(text: str, only: Collection[str] | None = None) -> dict[str, int]:
    """`/proc/meminfo` as {field: value}: `kB` values in bytes, unit-less ones (HugePages_*) as is.

    A line that is not `Field: number [kB]` is skipped, so a field the kernel did not report
    (or that was cut off) is absent, never 0. With `only`, just those fields are looked for
    (a quarter of the CPU of reading every field).
    """
    line = re.compile(_MEMINFO_LINE.format(names=_names(only, r"[^:\n]*?")), re.MULTILINE)
    return {name: int(value) << 10 if kb else int(value) for name, value, kb in line.findall(_complete_text(text))}


def parse_vmstat(text: str, only: Collection[str] | None = None) -> dict[str, int]:
    """`/proc/vmstat` as {counter: value}; lines that are not `name number` are skipped. With
    `only`, just those counters are looked for."""
    line = re.compile(_VMSTAT_LINE.format(names=_names(only, r"\S+")), re.MULTILINE)
    return {name: int(value) for name, value in line.findall(_complete_text(text))}


def parse_cpu_ticks(text: str) -> dict[str, int]:
    """The all-CPU line of `/proc/stat` as {mode: ticks of USER_HZ} for the modes it has."""
    for line in _complete_lines(text):
        words = line.split()
        if words[:1] == ["cpu"]:
            values = [int(word) for word in itertools.takewhile(str.isdigit, words[1:])]
            return dict(zip(CPU_MODES, values))
    return {}


def parse_pressure(text: str) -> dict[str, dict[str, float]]:
    """A PSI file (`/proc/pressure/memory`) as {"some"|"full": {"avg10", "avg60", "avg300", "total"}}."""
    kinds: dict[str, dict[str, float]] = {}
    for line in _complete_lines(text):
        words = line.split()
        if not words:
            continue
        values: dict[str, float] = {}
        for pair in words[1:]:
            key, equals, number = pair.partition("=")
            if equals:
                with contextlib.suppress(ValueError):
                    values[key] = float(number)
        kinds[words[0]] = values
    return kinds


class GuestReader(Protocol):
    """Where the guest's files come from."""

    def read(self, now: float) -> Mapping[str, str]:
        """Text of every REQUIRED_FILES name and of each OPTIONAL_FILES name that exists."""
        ...

    def where(self, name: str) -> str:
        """The file `name` as a person would find it (for messages)."""
        ...


class ProcReader:
    """Reads the files directly: wslwatch runs inside WSL, or on any Linux."""

    def __init__(self, proc_root: str) -> None:
        self._root = proc_root

    def where(self, name: str) -> str:
        return os.path.join(self._root, name)

    def read(self, now: float) -> dict[str, str]:
        files: dict[str, str] = {}
        for name in REQUIRED_FILES:
            path = self.where(name)
            try:
                files[name] = _read_text(path)
            except FileNotFoundError as e:
                raise CollectorError(
                    f"{path} does not exist: [collectors.wsl_guest] proc_root = {self._root!r} "
                    "must be a Linux /proc (the default, /proc, inside WSL)"
                ) from e
            except OSError as e:
                raise CollectorError(f"cannot read {path}: {e.strerror or e}; let wslwatch read {self._root}") from e
        for name in OPTIONAL_FILES:
            try:
                files[name] = _read_text(self.where(name))
            except OSError as e:
                log.debug("%s not read (%s); its metric is absent", self.where(name), e)
        return files


def _read_text(path: str) -> str:
    """The whole file, through plain `os.read` calls (a third of the CPU of a Python file object)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 1 << 16)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 16))
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


class _Read(NamedTuple):
    distro: str
    at: float
    files: dict[str, str]


class WslExeReader:
    """Reads the guest from Windows through `wsl.exe`, never starting or keeping awake its VM.

    `wsl.exe -d D --exec ...` boots a stopped distro and restarts the running one's idle timer
    (`[general] instanceIdleTimeout` in `.wslconfig`, 15 s by default), so every read first asks
    `wsl.exe --list --running --quiet` (which only reads state) and reads through a listed
    distro: the configured one while it runs, else the first running one (every distro shares
    the VM's one kernel, so the figures are the same; the default distro may be stopped while
    e.g. `docker-desktop` keeps the VM up). It reads every file with one `--exec grep` call, at
    most every MIN_READ_SPACING_S and always longer apart than that distro's idle timeout (a
    read in between returns the last one, while the distro still runs), so the reads alone
    never keep a distro, or the VM, running.
    """

    def __init__(
        self,
        distro: str,
        proc_root: str,
        wsl: WslExe,
        min_spacing_s: float = MIN_READ_SPACING_S,
        idle_timeout_s: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._distro = distro
        self._root = proc_root
        self._wsl = wsl
        self._min_spacing_s = min_spacing_s
        self._idle_timeout_s = idle_timeout_s
        self._last: _Read | None = None
        self._current = distro
        self._distro_checked = not distro  # a configured name is checked against the installed once

    def where(self, name: str) -> str:
        return f"{posixpath.join(self._root, name)} in WSL distro {self._current or '(none running)'!r}"

    def spacing_s(self) -> float:
        """Least time between two reads: MIN_READ_SPACING_S, or beyond a longer configured idle timeout."""
        timeout = self._idle_timeout_s()
        if timeout is None or timeout < 0:  # below zero WSL never stops an idle distro: nothing to keep awake
            return self._min_spacing_s
        return max(self._min_spacing_s, timeout + _IDLE_MARGIN_S)

    def read(self, now: float) -> dict[str, str]:
        distro = self._current = self._running_distro()
        last = self._last
        if last is not None and last.distro == distro and 0 <= now - last.at < self.spacing_s():
            return last.files
        files = self._read_files(distro)
        self._last = _Read(distro, now, files)
        return files

    def _running_distro(self) -> str:
        """The distro to read through, as wsl.exe lists it; `NoData` (and nothing else run) when none runs."""
        running = self._wsl.distros("--running")
        if self._distro:
            listed = _listed_as(self._distro, running)
            if listed is not None:
                return listed
            self._check_configured()
        if running:
            return running[0]
        self._last = None
        raise NoData("no WSL distro is running; the guest is read only while the VM runs, never woken")

    def _check_configured(self) -> None:
        """A configured distro WSL does not know is an error (checked once; later calls are free)."""
        if self._distro_checked:
            return
        installed = self._wsl.distros()
        if _listed_as(self._distro, installed) is None:
            raise CollectorError(
                f"WSL has no distro named {self._distro!r} (installed: {', '.join(installed) or 'none'}); "
                "fix [collectors.wsl_guest] distro, or leave it empty to read through any running distro"
            )
        self._distro_checked = True

    def _read_files(self, distro: str) -> dict[str, str]:
        """Every file in one `grep -s -H ^`: each line prefixed `path:`, a missing file left out silently."""
        paths = {posixpath.join(self._root, name): name for name in REQUIRED_FILES + OPTIONAL_FILES}
        result = self._wsl.run("-d", distro, "--exec", "grep", "-s", "-H", "^", *paths)
        prefixes = [(path + ":", name) for path, name in paths.items()]
        lines: dict[str, list[str]] = {}
        for line in result.stdout.split("\n"):
            for prefix, name in prefixes:
                if line.startswith(prefix):
                    lines.setdefault(name, []).append(line[len(prefix) :] + "\n")
                    break
        missing = [path for path, name in paths.items() if name in REQUIRED_FILES and name not in lines]
        if missing:
            said = (result.stderr + result.stdout).strip()[:300] or "no output"
            raise CollectorError(
                f"reading {', '.join(missing)} in WSL distro {distro!r} through wsl.exe failed "
                f"(exit status {result.returncode}): {said}"
            )
        return {name: "".join(text) for name, text in lines.items()}


def _listed_as(distro: str, names: list[str]) -> str | None:
    """`distro` as it appears in `names` (WSL matches names without regard to case), or None."""
    return next((name for name in names if name.casefold() == distro.casefold()), None)


def _platform_reader(proc_root: str, distro: str, idle_timeout_s: Callable[[], float | None]) -> GuestReader:
    if sys.platform == "win32":
        return WslExeReader(distro, proc_root, WslExe(), idle_timeout_s=idle_timeout_s)
    return ProcReader(proc_root)


class WslGuestCollector:
    """Guest memory, swap, swap activity, CPU time by mode and (where PSI is on) memory pressure."""

    name = "wsl_guest"

    def __init__(
        self,
        interval_s: float,
        proc_root: str,
        distro: str,
        reader: GuestReader | None = None,
        idle_timeout_s: Callable[[], float | None] = lambda: None,
    ) -> None:
        """`idle_timeout_s` gives `.wslconfig`'s `instanceIdleTimeout` (Windows only: reads are spaced beyond it)."""
        self.interval_s = interval_s
        self._reader = reader if reader is not None else _platform_reader(proc_root, distro, idle_timeout_s)

    def collect(self, now: float) -> list[Sample]:
        files = self._reader.read(now)
        meminfo, vmstat, ticks = self._parse_required(files)
        values: dict[str, float] = {
            metric: meminfo[field] for field, metric in _MEMINFO_METRICS.items() if field in meminfo
        }
        if all(part in meminfo for part in _RECLAIMABLE_PARTS):
            values["wslwatch_guest_memory_reclaimable_bytes"] = sum(meminfo[part] for part in _RECLAIMABLE_PARTS)
        values.update({metric: vmstat[field] for field, metric in _VMSTAT_METRICS.items() if field in vmstat})
        some = parse_pressure(files[PRESSURE]).get("some", {}) if PRESSURE in files else {}
        if "avg60" in some:
            values["wslwatch_guest_memory_pressure_some_ratio"] = some["avg60"] / 100
        samples = [Sample(name, {}, float(value), now) for name, value in values.items()]
        cpu = "wslwatch_guest_cpu_seconds_total"
        return samples + [Sample(cpu, {"mode": mode}, count / USER_HZ, now) for mode, count in ticks.items()]

    def _parse_required(self, files: Mapping[str, str]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """meminfo, vmstat and the CPU ticks, or a `CollectorError` naming a file that is cut short."""
        where = self._reader.where
        meminfo = parse_meminfo(files[MEMINFO], _MEMINFO_FIELDS)
        if "MemTotal" not in meminfo:
            raise CollectorError(f"{where(MEMINFO)} has no complete MemTotal line: it is cut short or not meminfo")
        vmstat = parse_vmstat(files[VMSTAT], _VMSTAT_METRICS)
        if not vmstat and not parse_vmstat(files[VMSTAT]):  # no swap counters, or no line at all?
            raise CollectorError(f"{where(VMSTAT)} has no complete `name value` line: it is empty or cut short")
        ticks = parse_cpu_ticks(files[STAT])
        if not ticks:
            raise CollectorError(f"{where(STAT)} has no complete `cpu` line: it is empty or cut short")
        return meminfo, vmstat, ticks

    def close(self) -> None:
        """Nothing to release: every read opens and closes its files, or waits for its wsl.exe."""
