"""The `.wslconfig` collector: the VM's memory limit, swap, autoMemoryReclaim, and mistakes.

It reads the file WSL reads (see `_wslconfig_hosts` for where that is), parses it as WSL
does (`_wslconfig_parser`), and exports:
- `wslwatch_wsl_config_info{auto_memory_reclaim, section, path}` = 1
- `wslwatch_wsl_config_memory_limit_bytes`, `wslwatch_wsl_config_swap_bytes` (WSL's defaults
  where the file sets none; absent when that default cannot be known)
- `wslwatch_wsl_config_problem{code}` = 1 for each kind of problem found, each logged once
  with its line and fix when the set of problems changes.
A missing file is no error: WSL's defaults apply and `path` is "".
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Mapping

from wslwatch.collectors._wslconfig_hosts import Host, choose_host
from wslwatch.collectors._wslconfig_parser import (
    Problem,
    WslConfig,
    decode_wslconfig,
    effective_sizes,
    parse_wslconfig,
)
from wslwatch.core import CollectorError, Sample

__all__ = ["WslconfigCollector", "parse_wslconfig"]

log = logging.getLogger(__name__)

#: Real files are a few hundred bytes; anything past this is not a .wslconfig.
MAX_BYTES = 1 << 20
#: New problems logged per change, at most (a garbage file can have thousands).
_MAX_LOGGED = 20
#: Clock slack between a file's mtime and the VM's start (the guest clock may lag the host's).
_CHANGED_SLACK_S = 5.0


@dataclass(frozen=True)
class _Read:
    """One parsed version of the file."""

    stamp: tuple[int, int]  # (mtime_ns, size): unchanged stamp, unchanged content
    mtime: float
    config: WslConfig
    problems: tuple[Problem, ...]  # decoding and parsing problems


class WslconfigCollector:
    """Reads `.wslconfig` (at `path`, or where WSL looks for it) every `interval_s`."""

    name = "wslconfig"

    def __init__(
        self,
        interval_s: float,
        path: str = "",
        *,
        platform: str = sys.platform,
        environ: Mapping[str, str] | None = None,
        proc_root: str = "/proc",
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.interval_s = interval_s
        self._path = path
        self._host: Host = choose_host(platform, os.environ if environ is None else environ, proc_root)
        self._max_bytes = max_bytes
        self._last: _Read | None = None
        self._reported: tuple[str, frozenset[Problem]] | None = None  # (path, problems) last logged

    def collect(self, now: float) -> list[Sample]:
        path = self._path or self._host.default_path()
        read = self._read(path)
        config = read.config if read is not None else parse_wslconfig("")
        basis = self._host.memory_basis()
        sizes = effective_sizes(config, basis.host_total_bytes, basis.default_memory_bytes)
        problems = sizes.problems
        if read is not None:
            problems = read.problems + problems + self._changed_after_vm_start(read.mtime)
        self._report(read is not None, path, problems)
        labels = {
            "auto_memory_reclaim": config.auto_memory_reclaim,
            "section": config.reclaim_section,
            "path": path if read is not None else "",
        }
        samples = [Sample("wslwatch_wsl_config_info", labels, 1.0, now)]
        if sizes.memory_bytes is not None:
            samples.append(Sample("wslwatch_wsl_config_memory_limit_bytes", {}, float(sizes.memory_bytes), now))
        if sizes.swap_bytes is not None:
            samples.append(Sample("wslwatch_wsl_config_swap_bytes", {}, float(sizes.swap_bytes), now))
        for code in sorted({p.code for p in problems}):
            samples.append(Sample("wslwatch_wsl_config_problem", {"code": code}, 1.0, now))
        return samples

    def close(self) -> None:
        """Nothing held between collections."""

    def instance_idle_timeout_s(self) -> float | None:
        """The file's `[general] instanceIdleTimeout` in seconds (None: unset, unreadable, or no
        file), for spacing reads through wsl.exe beyond it; cheap: re-parsed only when it changed."""
        try:
            read = self._read(self._path or self._host.default_path())
        except CollectorError:
            return None
        return read.config.instance_idle_timeout_s() if read is not None else None

    def _read(self, path: str) -> _Read | None:
        """The parsed file, re-parsed only when its mtime or size changed; None when it is missing."""
        try:
            with open(path, "rb") as file:
                info = os.fstat(file.fileno())
                stamp = (info.st_mtime_ns, info.st_size)
                if self._last is not None and self._last.stamp == stamp:
                    return self._last
                data = file.read(self._max_bytes + 1)
        except FileNotFoundError:
            self._last = None
            return None
        except OSError as exc:
            raise CollectorError(f"cannot read {path}: {exc.strerror or exc}; check the file's permissions") from None
        truncated = len(data) > self._max_bytes
        text, decode_problems = decode_wslconfig(data[: self._max_bytes], truncated)
        config = parse_wslconfig(text)
        self._last = _Read(stamp, info.st_mtime, config, decode_problems + config.problems)
        return self._last

    def _changed_after_vm_start(self, mtime: float) -> tuple[Problem, ...]:
        started = self._host.vm_started_at()
        if started is None or mtime <= started + _CHANGED_SLACK_S:
            return ()
        return (Problem("changed_after_vm_start", None, "", (
            f"the file changed {mtime - started:.0f}s after the WSL VM started, so the running VM still uses the "
            "old settings: run 'wsl --shutdown' (or wait for the VM to stop) to apply them"
        )),)  # fmt: skip

    def _report(self, found: bool, path: str, problems: tuple[Problem, ...]) -> None:
        """Log each problem once, when the file or its set of problems changes."""
        current = (path if found else "", frozenset(problems))
        before = self._reported[1] if self._reported is not None else frozenset()
        if not found and (self._reported is None or self._reported[0]):
            log.info("no .wslconfig at %s: WSL's defaults apply", path)
        self._reported = current
        new = [problem for problem in problems if problem not in before]
        for problem in new[:_MAX_LOGGED]:
            where = problem.where()
            log.warning("%s: %s [%s]", f"{path}:{where}" if where else path, problem.message, problem.code)
        if len(new) > _MAX_LOGGED:
            log.warning("%s: %d more problems not logged; is this really a .wslconfig?", path, len(new) - _MAX_LOGGED)
        if before and not problems:
            log.info("%s: no problems left", path)
