"""Memory, page cache, swap, CPU time and memory pressure inside the WSL guest.

Two readers behind one seam, chosen once in the constructor: inside WSL (or on any Linux)
`ProcReader` reads the files under `proc_root`; on Windows `WslExeReader` reads them through
`wsl.exe`, and only while the distro already runs, so the daemon never starts a stopped VM or
keeps an idle one awake. The parsers are pure functions of the files' text.

With `top_n` > 0 the collector also says who holds the memory (`_guest_holders`): every
process's `/proc/<pid>/stat` and `statm` (`status` while anything is swapped out) and every leaf
cgroup's `memory.stat`. That read costs tens of µs per process, so it comes on its own slower
cadence (`holders_interval_s`), riding along in the collection nearest each turn; in between the
last holders read are exported again. From Windows a read with holders is one `sh -c` with a
fixed script in the same `wsl.exe --exec`, never a second process start.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import posixpath
import re
import sys
from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple, Protocol

from wslwatch.collectors import _guest_holders as holders
from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.core import CollectorError, NoData, Sample

__all__ = [
    "HOLDERS_INTERVAL_S",
    "HOLDERS_SCRIPT",
    "GuestRead",
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

#: Where Docker Engine keeps its containers' records (`containers/<id>/config.v2.json`).
DOCKER_ROOT = "/var/lib/docker"

#: The one program of a read with holders: the named files as `grep -H` prints them, then the
#: memory lines of every process's status and its stat, then the memory files of the memory cgroups
#: four levels deep (v1's hierarchy where there is one). Arguments: proc root, cgroup root, the named
#: files. Fixed text, never built from config; `-s` keeps a vanished process or missing file quiet.
#: (status, not statm: the guest's page size cannot be asked from Windows; it is the guest's CPU.)
HOLDERS_SCRIPT = (
    'p=$1 c=$2; shift 2; grep -s -H ^ "$@"; '
    'grep -s -H -E "^(RssAnon|VmSwap):" "$p"/[0-9]*/status; grep -s -H ^ "$p"/[0-9]*/stat; '
    'if [ -f "$c/memory/memory.stat" ]; then c="$c/memory"; fi; cd "$c" || exit 0; '
    "grep -s -H -E '^(anon|file|total_rss|total_cache|total_swap|rss|cache|swap) ' "
    "./*/memory.stat ./*/*/memory.stat ./*/*/*/memory.stat ./*/*/*/*/memory.stat; "
    "grep -s -H ^ ./*/memory.swap.current ./*/*/memory.swap.current ./*/*/*/memory.swap.current "
    "./*/*/*/*/memory.swap.current"
)

#: Default time between two reads of the holders: the shortest `for_s` (120 s) of the rules that
#: name the guest's holders, so each such alert has them read while it is pending; and one
#: collection in four (at the default 30 s), so they weigh a quarter of a read on a collection.
HOLDERS_INTERVAL_S = 120.0

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
_PROCESS_MEMORY = "wslwatch_guest_process_memory_bytes"
_CGROUP_MEMORY = "wslwatch_guest_cgroup_memory_bytes"
_PROCESS_CPU = "wslwatch_guest_process_cpu_user_ratio"


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


_SWAP = ("SwapTotal", "SwapFree")


def _swapped(meminfo: Mapping[str, int]) -> bool:
    """Whether the guest has anything in swap, or its meminfo does not say: only then can a process hold swap."""
    return not ("SwapTotal" in meminfo and meminfo.get("SwapFree") == meminfo["SwapTotal"])


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


class GuestRead(NamedTuple):
    """What one read gave: the guest's files, and the holders' files where they were read."""

    #: Text of every REQUIRED_FILES name and of each OPTIONAL_FILES name that exists.
    files: Mapping[str, str]
    #: The holders' files (`<pid>/stat`, `cgroup:<path>/memory.stat`, ...) when asked for and read
    #: afresh; None when not asked, or when an earlier read was given again.
    holders: Mapping[str, str] | None


class GuestReader(Protocol):
    """Where the guest's files come from."""

    #: Bytes per page, the unit of `/proc/<pid>/statm`.
    page_size: int

    def read(self, now: float, with_holders: bool) -> GuestRead:
        """The guest's files; with `with_holders`, who holds its memory as well."""
        ...

    def where(self, name: str) -> str:
        """The file `name` as a person would find it (for messages)."""
        ...

    def container_names(self, ids: list[str]) -> dict[str, str]:
        """{container id: name} for those of `ids` whose runtime tells it cheaply."""
        ...


class ProcReader:
    """Reads the files directly: wslwatch runs inside WSL, or on any Linux.

    With a `cgroup_root`, a read asked for holders also reads every process's stat and statm
    (status instead while anything is swapped out: only it has the swap) and every leaf cgroup's
    memory.stat (the v1 memory hierarchy `<root>/memory` where there is one, else the v2 tree).
    """

    page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __init__(self, proc_root: str, cgroup_root: str | None = None, docker_root: str = DOCKER_ROOT) -> None:
        self._root = proc_root
        self._cgroup_root = cgroup_root
        self._docker_root = docker_root
        self._names: dict[str, str] = {}

    def where(self, name: str) -> str:
        return os.path.join(self._root, name)

    def read(self, now: float, with_holders: bool) -> GuestRead:
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
        if not with_holders or self._cgroup_root is None:
            return GuestRead(files, None)
        return GuestRead(files, self._holder_files(self._cgroup_root, _swapped(parse_meminfo(files[MEMINFO], _SWAP))))

    def _holder_files(self, cgroup_root: str, swapped: bool) -> dict[str, str]:
        """`<pid>/stat` and `<pid>/statm` (`status` if `swapped`) of every process and
        `cgroup:<path>/<file>` of every leaf memory cgroup."""
        files: dict[str, str] = {}
        per_process = (holders.STAT, holders.STATUS if swapped else holders.STATM)
        try:
            pids = [name for name in os.listdir(self._root) if name.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            for name in per_process:
                try:
                    files[f"{pid}/{name}"] = _read_text(f"{self._root}/{pid}/{name}")
                except OSError:  # a process that exits while it is read
                    break
        v1 = os.path.join(cgroup_root, "memory")
        hierarchy = v1 if os.path.isfile(os.path.join(v1, holders.MEMORY_STAT)) else cgroup_root
        for directory, subdirectories, names in os.walk(hierarchy):
            if subdirectories:
                continue  # only leaves count (see `cgroup_holders`)
            path = directory[len(hierarchy) :]
            for name in (holders.MEMORY_STAT, holders.SWAP_CURRENT):
                if name in names:
                    with contextlib.suppress(OSError):  # a cgroup removed while it is read
                        files[f"{holders.CGROUP_PREFIX}{path}/{name}"] = _read_text(os.path.join(directory, name))
        return files

    def container_names(self, ids: list[str]) -> dict[str, str]:
        """Names from Docker's own record of each container (`config.v2.json`), remembered per id.

        Readable only where the daemon may read Docker's root (as root, or a relaxed mode); a
        container whose record cannot be read keeps its short id. No runtime is asked: no
        `docker` process start, no socket, nothing that fails when Docker is absent.
        """
        for ident in ids:
            if ident not in self._names:
                path = os.path.join(self._docker_root, "containers", ident, "config.v2.json")
                try:
                    name = json.loads(_read_text(path)).get("Name", "")
                except (OSError, ValueError, AttributeError):
                    name = ""
                self._names[ident] = name.lstrip("/") if isinstance(name, str) else ""
        return {ident: self._names[ident] for ident in ids if self._names[ident]}


_CHUNK = 1 << 16


def _read_text(path: str) -> str:
    """The whole file, through plain `os.read` calls (a third of the CPU of a Python file object).

    A read shorter than asked is the end: so it is for regular files, procfs and cgroupfs, which
    saves the second, empty read per file.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _CHUNK)
        if len(data) == _CHUNK:
            chunks = [data]
            while len(chunks[-1]) == _CHUNK:
                chunks.append(os.read(fd, _CHUNK))
            data = b"".join(chunks)
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


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
    e.g. `docker-desktop` keeps the VM up). It reads every file with one `--exec grep` call
    (`--exec /bin/sh -c HOLDERS_SCRIPT` when the holders are asked for: still one), at most
    every MIN_READ_SPACING_S and always longer apart than that distro's idle timeout (a read in
    between returns the last one's files, without holders, while the distro still runs), so the
    reads alone never keep a distro, or the VM, running.
    """

    #: The unit of statm, which is never read through wsl.exe (HOLDERS_SCRIPT reads status:
    #: Windows cannot ask the guest its page size); 4 KiB, the page of WSL's kernels.
    page_size = 4096

    def __init__(
        self,
        distro: str,
        proc_root: str,
        wsl: WslExe,
        min_spacing_s: float = MIN_READ_SPACING_S,
        idle_timeout_s: Callable[[], float | None] = lambda: None,
        cgroup_root: str | None = None,
    ) -> None:
        self._distro = distro
        self._root = proc_root
        self._cgroup_root = cgroup_root
        #: A holder's line of HOLDERS_SCRIPT: `<proc root>/<pid>/status:...` or `./<cgroup>/<file>:...`.
        self._holder_line = re.compile(
            r"^(?:\./(?P<cgroup>(?:[^:]*/)?memory\.(?:stat|swap\.current))"
            rf"|{re.escape(proc_root.rstrip('/'))}/(?P<pid>[0-9]+)/(?P<file>status|stat)):(?P<text>.*)$"
        )
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

    def read(self, now: float, with_holders: bool) -> GuestRead:
        distro = self._current = self._running_distro()
        last = self._last
        if last is not None and last.distro == distro and 0 <= now - last.at < self.spacing_s():
            return GuestRead(last.files, None)
        files, found = self._read_files(distro, with_holders)
        self._last = _Read(distro, now, files)
        return GuestRead(files, found)

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

    def _read_files(self, distro: str, with_holders: bool) -> tuple[dict[str, str], dict[str, str] | None]:
        """Every file in one `grep -s -H ^` (each line prefixed `path:`, a missing file left out
        silently), with `with_holders` through HOLDERS_SCRIPT: (the files, the holders' files or None)."""
        paths = {posixpath.join(self._root, name): name for name in REQUIRED_FILES + OPTIONAL_FILES}
        cgroup_root = self._cgroup_root if with_holders else None
        if cgroup_root is not None:
            script = ("/bin/sh", "-c", HOLDERS_SCRIPT, "wslwatch", self._root, cgroup_root)
            result = self._wsl.run("-d", distro, "--exec", *script, *paths)
        else:
            result = self._wsl.run("-d", distro, "--exec", "grep", "-s", "-H", "^", *paths)
        prefixes = [(path + ":", name) for path, name in paths.items()]
        lines: dict[str, list[str]] = {}
        for line in result.stdout.split("\n"):
            found = self._split(line, prefixes, cgroup_root is not None)
            if found is not None:
                lines.setdefault(found[0], []).append(found[1] + "\n")
        missing = [path for path, name in paths.items() if name in REQUIRED_FILES and name not in lines]
        if missing:
            said = (result.stderr + result.stdout).strip()[:300] or "no output"
            raise CollectorError(
                f"reading {', '.join(missing)} in WSL distro {distro!r} through wsl.exe failed "
                f"(exit status {result.returncode}): {said}"
            )
        files = {name: "".join(text) for name, text in lines.items()}
        if cgroup_root is None:
            return files, None
        own = {name: files.pop(name) for name in paths.values() if name in files}
        return own, files  # what is left: the holders'

    def container_names(self, ids: list[str]) -> dict[str, str]:
        """None from Windows: Docker's records are root's alone, and the read runs as the distro's
        user; a container keeps its short id (`docker ps` in WSL tells its name)."""
        return {}

    def _split(self, line: str, prefixes: list[tuple[str, str]], with_holders: bool) -> tuple[str, str] | None:
        """(file key, the line's text) of one `path:text` line of grep -H, or None for another line."""
        for prefix, name in prefixes:
            if line.startswith(prefix):
                return name, line[len(prefix) :]
        match = self._holder_line.match(line) if with_holders else None
        if match is None:
            return None
        if match["cgroup"] is not None:
            return holders.CGROUP_PREFIX + match["cgroup"], match["text"]
        return f"{match['pid']}/{match['file']}", match["text"]


def _listed_as(distro: str, names: list[str]) -> str | None:
    """`distro` as it appears in `names` (WSL matches names without regard to case), or None."""
    return next((name for name in names if name.casefold() == distro.casefold()), None)


class _Holders:
    """Who holds the guest's memory, read every `interval_s` and exported again in between (so the
    series and the alerts' `holder` labels stay steady), with each process's user CPU at the last
    read, to turn the next read into shares.

    A read is due on the collection nearest each turn: once `interval_s` less half the collector's
    own interval has passed since the last (a collection a few ms early must not put it off a
    whole interval), so reads are a whole number of collections apart.
    """

    def __init__(self, reader: GuestReader, top_n: int, interval_s: float, collection_s: float) -> None:
        self._reader = reader
        self._top_n = top_n
        self._every_s = interval_s - collection_s / 2
        self._at: float | None = None
        self._samples: list[Sample] = []
        self._ticks: dict[str, int] = {}

    def due(self, now: float) -> bool:
        return self._at is None or not 0 <= now - self._at < self._every_s

    def forget(self) -> None:
        """After a failed read (the distro may have stopped): nothing to export, the next read reads them."""
        self._at, self._samples, self._ticks = None, [], {}

    def update(self, found: Mapping[str, str], meminfo: Mapping[str, int], cpus: int, now: float) -> None:
        """Take a fresh read: the top processes by anon and swap, the top leaf cgroups by anon, file
        and swap, and the top processes by user CPU since the last read (none at the first)."""
        processes, ticks = holders.process_holders(found, self._reader.page_size, _swapped(meminfo))
        cgroups = holders.cgroup_holders(found, self._reader.container_names)
        names = {h.labels["pid"]: h.labels["process"] for h in processes}
        busy = [holders.Holder({"pid": pid, "process": names.get(pid, "")}, {"user": share})
                for pid, share in self._shares(ticks, now, cpus).items()]  # fmt: skip
        top = self._top_n
        memory = holders.top_samples(processes, holders.PROCESS_KINDS, top, holders.REST_PROCESS)
        cgroup = holders.top_samples(cgroups, holders.CGROUP_KINDS, top, holders.REST_CGROUP)
        cpu = holders.top_samples(busy, ("user",), top, holders.REST_PROCESS)
        self._samples = (
            [Sample(_PROCESS_MEMORY, labels, value, now) for labels, value in memory]
            + [Sample(_CGROUP_MEMORY, labels, value, now) for labels, value in cgroup]
            + [Sample(_PROCESS_CPU, {k: v for k, v in labels.items() if k != "kind"}, value, now) for labels, value in cpu]
        )
        self._at, self._ticks = now, ticks

    def _shares(self, ticks: Mapping[str, int], now: float, cpus: int) -> dict[str, float]:
        """{pid: user CPU seconds per second of all `cpus`} since the last read."""
        elapsed = now - self._at if self._at is not None else 0.0
        if elapsed <= 0 or cpus <= 0:
            return {}
        last = self._ticks
        return {
            pid: (count - last[pid]) / USER_HZ / elapsed / cpus
            for pid, count in ticks.items()
            if pid in last and count >= last[pid]
        }

    def samples(self, now: float) -> list[Sample]:
        """The holders of the last read, stamped `now`."""
        return [Sample(s.name, s.labels, s.value, now) for s in self._samples]


def cpu_count(stat: str) -> int:
    """How many CPUs `/proc/stat` lists (its `cpuN` lines)."""
    return sum(1 for line in _complete_lines(stat) if line.startswith("cpu") and line[3:4].isdigit())


def _platform_reader(
    proc_root: str, distro: str, idle_timeout_s: Callable[[], float | None], cgroup_root: str | None
) -> GuestReader:
    if sys.platform == "win32":
        return WslExeReader(distro, proc_root, WslExe(), idle_timeout_s=idle_timeout_s, cgroup_root=cgroup_root)
    return ProcReader(proc_root, cgroup_root)


class WslGuestCollector:
    """Guest memory, swap, swap activity, CPU time by mode and (where PSI is on) memory pressure;
    with `top_n` > 0 also the `top_n` largest holders of its memory, processes and cgroups."""

    name = "wsl_guest"

    def __init__(
        self,
        interval_s: float,
        proc_root: str,
        distro: str,
        reader: GuestReader | None = None,
        idle_timeout_s: Callable[[], float | None] = lambda: None,
        *,
        top_n: int = 0,
        holders_interval_s: float = HOLDERS_INTERVAL_S,
        cgroup_root: str = "/sys/fs/cgroup",
    ) -> None:
        """`idle_timeout_s` gives `.wslconfig`'s `instanceIdleTimeout` (Windows only: reads are spaced
        beyond it); `top_n` > 0 also reads who holds the memory, the cgroups under `cgroup_root`,
        every `holders_interval_s` (0: every collection)."""
        self.interval_s = interval_s
        holder_root = cgroup_root if top_n > 0 else None
        self._reader = reader if reader is not None else _platform_reader(proc_root, distro, idle_timeout_s, holder_root)
        self._holders = _Holders(self._reader, top_n, holders_interval_s, interval_s) if top_n > 0 else None

    def collect(self, now: float) -> list[Sample]:
        held = self._holders
        try:
            read = self._reader.read(now, held is not None and held.due(now))
        except CollectorError:
            if held is not None:
                held.forget()
            raise
        files = read.files
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
        samples += [Sample(cpu, {"mode": mode}, count / USER_HZ, now) for mode, count in ticks.items()]
        if held is not None:
            if read.holders is not None:
                held.update(read.holders, meminfo, cpu_count(files[STAT]), now)
            samples += held.samples(now)
        return samples

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
