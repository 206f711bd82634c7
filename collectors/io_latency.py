"""Per-path I/O latency: where a directory lives, and how long small operations on it take.

One collector per configured path. Each `collect()` runs one probe in a child process
(`collectors/probe.py`) and turns it into `wslwatch_path_info`, the cumulative
`wslwatch_path_io_latency_seconds` histogram (buckets for `BUCKETED_OPS`, a count and a sum
for the other operations), `wslwatch_path_probe_status` and
`wslwatch_path_probe_last_success_timestamp_seconds`. This process never touches the path:
the child resolves it, the mount table tells where it lives.

On Windows a `\\\\wsl$\\<distro>\\` or `\\\\wsl.localhost\\<distro>\\` path is reached through the
distro itself, and touching it starts a stopped distro (a WSL maintainer, microsoft/WSL#7154):
such a path is probed only while `wsl.exe --list --running` lists its distro; otherwise the
collection is "no data" (a status, no alert), and nothing is started.
"""

from __future__ import annotations

import errno
import logging
import os
import sys

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.collectors.places import Place, PlaceFinder, default_place_finder, wsl_share_distro
from wslwatch.collectors.probe import PathProber, ProbeResult, Status, plan_samples
from wslwatch.core import CollectorError, NoData, Sample
from wslwatch.histogram import BUCKETED_OPS, LATENCY_BUCKETS_S, Histogram

__all__ = ["IoLatencyCollector", "STATUSES"]

log = logging.getLogger(__name__)

STATUSES: tuple[Status, ...] = ("ok", "stalled", "error")
#: A probe may use at most this share of its path's interval before it counts as stalled.
_DEADLINE_SHARE = 0.8


#: How a full disk reads in a skipped operation's reason: the C library's words, Windows' (ERROR_DISK_FULL).
_DISK_FULL = (os.strerror(errno.ENOSPC), "not enough space on the disk")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _histogram(op: str) -> Histogram:
    """Buckets for the operations that earn them; the others only count and sum (+Inf)."""
    return Histogram(LATENCY_BUCKETS_S if op in BUCKETED_OPS else ())


def _platform_wsl() -> WslExe | None:
    """Windows asks wsl.exe whether a `\\\\wsl$` path's distro runs; elsewhere no such path exists."""
    return WslExe() if sys.platform == "win32" else None


class IoLatencyCollector:
    """Probes one directory every `interval_s`, within `deadline_s` and a byte budget."""

    def __init__(
        self,
        path: str,
        *,
        name: str = "",
        data: bool = False,
        interval_s: float = 60.0,
        samples: int = 5,
        gap_s: float = 0.02,
        deadline_s: float = 20.0,
        max_bytes_per_s: float | None = 2048.0,
        places: PlaceFinder | None = None,
        wsl: WslExe | None = None,
    ) -> None:
        """`wsl` (Windows' own wsl.exe by default there) tells whether a `\\\\wsl$` path's distro runs."""
        self._distro = wsl_share_distro(path)
        self._wsl = wsl if wsl is not None else _platform_wsl()
        self.path = path if self._distro else os.path.abspath(os.path.expanduser(path))  # lexical: no I/O
        self.name = f"io_latency:{name or path}"
        self._data = data  # configured as training data: exported, so Prometheus rules can tell
        self.interval_s = interval_s
        self.deadline_s = min(deadline_s, interval_s * _DEADLINE_SHARE)
        self._gap_s = gap_s
        self._plan = plan_samples(samples, max_bytes_per_s * interval_s if max_bytes_per_s else None)
        self._places = places or default_place_finder()
        self._prober = PathProber(self.path)
        self._histograms: dict[str, Histogram] = {}
        self._place: Place | None = None
        self._facts: dict[str, object] | None = None
        self._last_success: float | None = None
        self._last_state: tuple[Status, str | None] | None = None  # status, and what went wrong
        self._last_skipped: dict[str, str] = {}
        self._last_notes: list[str] = []

    @property
    def stuck_pid(self) -> int | None:
        """The probe process that was killed but has not ended (for tests and diagnostics)."""
        return self._prober.stuck_pid

    def collect(self, now: float) -> list[Sample]:
        self._check_distro_runs()
        readonly = self._place.readonly if self._place else False
        result = self._prober.probe(self._plan, gap_s=self._gap_s, deadline_s=self.deadline_s, readonly=readonly)
        self._facts = result.facts or self._facts
        self._place = self._places.place(self.path, self._facts)
        if result.status == "ok":
            self._last_success = now
            for op, seconds in result.latencies.items():
                histogram = self._histograms.get(op)
                if histogram is None:
                    histogram = self._histograms[op] = _histogram(op)
                for value in seconds:
                    histogram.observe(value)
        self._log_change(result)
        return self._samples(result.status, now)

    def _distro_stopped(self) -> bool:
        """Whether this is a `\\\\wsl$` path whose distro is stopped (so touching it would start it)."""
        if self._distro is None or self._wsl is None:
            return False
        return self._distro.casefold() not in {name.casefold() for name in self._wsl.distros("--running")}

    def _distro_stopped_now(self) -> bool:
        """`_distro_stopped`, taking a wsl.exe that cannot say as stopped (close must not start it)."""
        try:
            return self._distro_stopped()
        except CollectorError:
            return True

    def _check_distro_runs(self) -> None:
        """`NoData` for a `\\\\wsl$` path whose distro is stopped: probing it would start the distro."""
        if self._distro_stopped():
            raise NoData(
                f"{self.path} is in WSL distro {self._distro!r}, which is not running; it is probed only while "
                "the distro runs, since reaching the path would start it"
            )

    def _samples(self, status: Status, now: float) -> list[Sample]:
        labels = {"path": self.path}
        samples = [
            Sample("wslwatch_path_probe_status", {**labels, "status": s}, 1.0 if s == status else 0.0, now)
            for s in STATUSES
        ]
        if self._place is not None:
            p = self._place
            info = {
                **labels,
                "mountpoint": p.mountpoint,
                "fstype": p.fstype,
                "source": p.source,
                "kind": p.kind,
                "cross_os": _flag(p.cross_os),
                "readonly": _flag(p.readonly),
                "data": _flag(self._data),
            }
            samples.append(Sample("wslwatch_path_info", info, 1.0, now))
        if self._last_success is not None:
            samples.append(Sample("wslwatch_path_probe_last_success_timestamp_seconds", labels, self._last_success, now))
        for op, histogram in self._histograms.items():
            samples += histogram.samples("wslwatch_path_io_latency_seconds", {**labels, "op": op}, now)
        return samples

    def _log_change(self, result: ProbeResult) -> None:
        """Log what changed: a new status or reason, which operations this filesystem refuses, the notes.
        A stall is one state while the same operation hangs, however long its wording says it has."""
        state = (result.status, result.in_flight if result.status == "stalled" else result.reason)
        if state != self._last_state:
            if result.status != "ok":
                log.warning("probe of %s %s: %s", self.path, result.status, result.reason)
            elif self._last_state is not None:
                log.info("probe of %s works again", self.path)
            self._last_state = state
        if result.status == "ok" and result.skipped != self._last_skipped:
            for op, why in result.skipped.items():  # a disk filling up is a warning, a filesystem's nature is not
                level = logging.WARNING if any(words in why for words in _DISK_FULL) else logging.INFO
                log.log(level, "probe of %s: %s is not measured here: %s", self.path, op, why)
            self._last_skipped = dict(result.skipped)
        if result.status == "ok" and result.notes != self._last_notes:  # e.g. "cannot write here (...)"
            for note in result.notes:
                log.info("probe of %s: %s", self.path, note)
            self._last_notes = list(result.notes)

    def close(self) -> None:
        """Remove the probe directory (through a child, under the deadline) unless a probe is stuck."""
        if self._prober.stuck_pid is not None:
            log.warning("leaving %s/.wslwatch-probe behind: a probe there is still stuck", self.path)
        elif self._distro_stopped_now():
            log.info("leaving %s/.wslwatch-probe behind: its WSL distro is stopped, and removing it would start it", self.path)
        elif not (self._place and self._place.readonly):
            cleanup = self._prober.remove_area(self.deadline_s)
            if cleanup.status != "ok":
                log.warning("could not remove %s/.wslwatch-probe: %s", self.path, cleanup.reason)
        self._prober.close()
