"""When the reclaim controller acts: a pure decision over one moment's readings and its own past.

It acts only when all hold: enabled; the distro already runs (never wake the VM); no I/O probe
is running; host RAM available has been below `available_ratio` for `for_s`; the guest holds page
cache above the floor; the last action is at least `min_interval_s` ago; and the guest is not
busy (non-idle CPU above `busy_cpu`, or not yet known) — unless Windows is critically short (`critical_ratio`).
"""

from __future__ import annotations

from dataclasses import dataclass

from wslwatch.config.schema import ReclaimConfig

__all__ = ["Policy", "Reading", "Verdict"]

GIB = 1 << 30


@dataclass(frozen=True)
class Reading:
    """One moment as the controller sees it (bytes; `busy` as a share of all vCPUs)."""

    t: float
    host_available: float
    host_total: float
    cache: float
    busy: float | None
    distro_running: bool
    probing: bool = False


@dataclass(frozen=True)
class Verdict:
    act: bool
    reason: str
    want_bytes: int = 0  # what Windows lacks of its margin, capped by the cache above the floor


class Policy:
    """Judges readings in time order; `acted(t)` records an action for the rate limit."""

    def __init__(self, config: ReclaimConfig) -> None:
        self.config = config
        self._short_since: float | None = None
        self._last_action: float | None = None

    def acted(self, t: float) -> None:
        self._last_action = t

    def judge(self, r: Reading) -> Verdict:
        c = self.config
        ratio = r.host_available / r.host_total if r.host_total > 0 else 1.0
        self._short_since = (self._short_since if self._short_since is not None else r.t) if ratio < c.available_ratio else None
        floor = c.min_cache_gib * GIB
        if not c.enabled:
            return Verdict(False, "the reclaim controller is off ([reclaim] enabled = false)")
        if not r.distro_running:
            return Verdict(False, "no WSL distro runs; the VM is never woken to give memory back")
        if self._short_since is None:
            return Verdict(False, f"Windows has {ratio:.0%} of its RAM available, not short")
        if r.t - self._short_since < c.for_s:
            return Verdict(False, f"Windows short for {r.t - self._short_since:.0f} s, waiting for {c.for_s:g} s")
        if r.cache <= floor:
            return Verdict(False, f"the guest's page cache ({r.cache / GIB:.1f} GiB) is at the floor")
        if self._last_action is not None and r.t - self._last_action < c.min_interval_s:
            return Verdict(False, f"rate limit: the last action was {r.t - self._last_action:.0f} s ago")
        if r.probing:
            return Verdict(False, "an I/O probe is running; its timings would include the reclaim")
        critical = ratio < c.critical_ratio
        if r.busy is None and not critical:
            return Verdict(False, "the guest's CPU use is not known yet, and Windows is not critically short")
        if r.busy is not None and r.busy > c.busy_cpu and not critical:
            return Verdict(False, f"the guest is busy ({r.busy:.0%} CPU) and Windows is not critically short")
        want = min(c.available_ratio * r.host_total - r.host_available, r.cache - floor)
        return Verdict(True, "Windows is critically short" if critical else "Windows is short", int(want))
