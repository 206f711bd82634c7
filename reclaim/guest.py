"""Giving the guest's page cache back: the commands, run in the guest as root, and what they freed.

Every command is a constant argument list. A value to write (a byte count this module formats
from integers) reaches the guest as a positional argument of a constant `sh -c` script, never as
shell text. Two ways, both measured by re-reading the guest between steps:

- cgroup v2: the root cgroup's `memory.reclaim` in bounded steps, always with `swappiness=0`.
  A kernel that refuses that argument (before Linux 6.8) is not asked again without it — plain
  `memory.reclaim` may push anonymous memory to swap — and the page cache is dropped instead;
- otherwise `drop_caches` 1 (page cache only, never anonymous memory), then `compact_memory`,
  so that freed pages come back to Windows in the large blocks page reporting hands over.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple, Protocol, Sequence

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.core import CollectorError

__all__ = [
    "COMPACT_MEMORY",
    "DROP_CACHES",
    "MEMORY_RECLAIM",
    "Cache",
    "Guest",
    "GuestCommandError",
    "LocalGuest",
    "Outcome",
    "WslGuest",
    "give_back",
    "read_cache",
    "running_wsl_guest",
    "write_argv",
]

MEMORY_RECLAIM = "/sys/fs/cgroup/memory.reclaim"
MEMORY_STAT = "/sys/fs/cgroup/memory.stat"
DROP_CACHES = "/proc/sys/vm/drop_caches"
COMPACT_MEMORY = "/proc/sys/vm/compact_memory"
_WRITE = 'printf "%s" "$1" > "$2"'  # constant: the value and the file come in as $1 and $2


def write_argv(path: str, value: str) -> tuple[str, ...]:
    """The argv that writes `value` to `path` in the guest (both as arguments, not shell text)."""
    return ("sh", "-c", _WRITE, "wslwatch-reclaim", value, path)


class GuestCommandError(Exception):
    """A guest command could not run at all (no wsl.exe, a timeout, no permission to start it)."""


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


class Guest(Protocol):
    """Runs a constant argv in the guest as root."""

    def run(self, argv: Sequence[str]) -> Done: ...


class LocalGuest:
    """The guest is this machine (the daemon runs inside WSL as root)."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s

    def run(self, argv: Sequence[str]) -> Done:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=self.timeout_s, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise GuestCommandError(f"`{argv[0]}` could not run: {e}") from e
        return Done(done.returncode, done.stdout, done.stderr)


class Cache(NamedTuple):
    """The guest's page cache and anonymous memory (bytes), and where they were read."""

    file: int
    anon: int
    source: str


def read_cache(guest: Guest) -> Cache:
    """The root cgroup's memory.stat where cgroup v2 is mounted, else /proc/meminfo."""
    stat = guest.run(("cat", MEMORY_STAT))
    if stat.returncode == 0:
        fields = dict(_pairs(stat.stdout))
        if "file" in fields and "anon" in fields:
            return Cache(fields["file"], fields["anon"], MEMORY_STAT)
    meminfo = guest.run(("cat", "/proc/meminfo"))
    if meminfo.returncode != 0:
        said = (meminfo.stderr or meminfo.stdout).strip() or "no message"
        raise GuestCommandError(f"cannot read the guest's memory: {said}")
    kib = dict(_pairs(meminfo.stdout.replace(":", " ")))
    return Cache(
        (kib.get("Active(file)", 0) + kib.get("Inactive(file)", 0)) * 1024, kib.get("AnonPages", 0) * 1024, "/proc/meminfo"
    )


def _pairs(text: str) -> list[tuple[str, int]]:
    return [(parts[0], int(parts[1])) for parts in (line.split() for line in text.splitlines()) if len(parts) >= 2 and parts[1].isdigit()]


@dataclass(frozen=True)
class Outcome:
    """One give-back: how (`memory.reclaim` or `drop_caches`), how it ended, what the guest freed."""

    method: str
    result: str  # ok | partial | failed
    before: Cache
    after: Cache
    steps: int
    seconds: float
    detail: str = ""

    @property
    def freed_bytes(self) -> int:
        return max(0, self.before.file - self.after.file)


def give_back(
    guest: Guest, want_bytes: int, floor_bytes: int, step_bytes: int, max_steps: int, clock: Callable[[], float] = time.monotonic
) -> Outcome:
    """Free up to `want_bytes` of page cache, never below `floor_bytes` of it, measured in the guest."""
    started = clock()
    before = read_cache(guest)
    if before.source == MEMORY_STAT:
        outcome = _memory_reclaim(guest, before, want_bytes, floor_bytes, step_bytes, max_steps, started, clock)
        if outcome is not None:
            return outcome
    return _drop_caches(guest, before, started, clock)


def _memory_reclaim(
    guest: Guest, before: Cache, want: int, floor: int, step: int, max_steps: int, started: float, clock: Callable[[], float]
) -> Outcome | None:
    """Bounded `memory.reclaim` steps; None when the kernel refuses `swappiness=0` on the first one."""
    now, steps, detail = before, 0, ""
    while steps < max_steps:
        ask = min(step, now.file - floor, want - (before.file - now.file))
        if ask < 4096:
            break
        done = guest.run(write_argv(MEMORY_RECLAIM, f"{ask} swappiness=0"))
        steps += 1
        if done.returncode != 0:
            detail = done.stderr.strip()
        last, now = now, read_cache(guest)
        if steps == 1 and done.returncode != 0 and now.file >= last.file:
            # refused outright: `swappiness=` unknown to this kernel (EINVAL before Linux 6.8), or no
            # memory.reclaim at all; plain memory.reclaim could swap anonymous memory out
            return None
        if now.file >= last.file:  # nothing more the kernel will give (EAGAIN) or something refilled it
            break
    freed = before.file - now.file
    result = "ok" if freed >= min(want, before.file - floor) * 0.9 else ("partial" if freed > 0 else "failed")
    return Outcome("memory.reclaim", result, before, now, steps, clock() - started, detail)


def _drop_caches(guest: Guest, before: Cache, started: float, clock: Callable[[], float]) -> Outcome:
    dropped = guest.run(write_argv(DROP_CACHES, "1"))
    compacted = guest.run(write_argv(COMPACT_MEMORY, "1"))
    after = read_cache(guest)
    failed = [d.stderr.strip() or f"exit {d.returncode}" for d in (dropped, compacted) if d.returncode != 0]
    result = "failed" if dropped.returncode != 0 else ("partial" if failed else "ok")
    return Outcome("drop_caches", result, before, after, 2, clock() - started, "; ".join(failed))


class WslGuest:
    """The guest seen from Windows: `wsl.exe -d <distro> -u root --exec ARGV` (the distro already runs)."""

    def __init__(self, wsl: WslExe, distro: str) -> None:
        self.wsl = wsl
        self.distro = distro

    def run(self, argv: Sequence[str]) -> Done:
        try:
            return Done(*self.wsl.run("-d", self.distro, "-u", "root", "--exec", *argv))
        except CollectorError as e:
            raise GuestCommandError(str(e)) from e


def running_wsl_guest(wsl: WslExe, wanted: str = "") -> Guest | str:
    """From Windows: the guest through `wanted` if it runs, else the first running distro (page
    cache is one per VM kernel, shared by every distro); why not, when none runs or wsl.exe fails.
    Only `wsl --list --running` is asked, which reads state: a stopped VM is never started."""
    try:
        running = wsl.distros("--running")
    except CollectorError as e:
        return str(e)
    if not running:
        return "no WSL distro runs, and the VM is never woken to give memory back"
    return WslGuest(wsl, wanted if wanted in running else running[0])
