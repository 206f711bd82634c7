"""Signals derived from the WSL series: reclaim mode, guest memory, guest CPU busy share.

Facts from WSL's source (research/wsl-memory-and-nvml.md §2.3): the reclaim thread counts
the guest idle when its CPU use stays at or below 0.5 % of all vCPUs over a window. Released
WSL (up to 2.9.x) counts user CPU only, in 30 s ticks, over 20 ticks (dropCache) or 6 (gradual);
the rewrite (microsoft/WSL#41096, after 2.9.x) counts all non-idle CPU, in 10 s ticks, over 2 min.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from wslwatch.daemon.view import Points, View

__all__ = [
    "CpuShare",
    "GuestMemory",
    "MODE_NAMES",
    "RECLAIM_DELAY_S",
    "RELEASED",
    "REWRITE",
    "ReclaimModel",
    "WSL_IDLE_GATE",
    "cpu_share",
    "guest_memory",
    "idle_since",
    "model_for",
    "reclaim_mode",
    "reclaim_model",
    "vm_running",
    "vm_working_set",
]

WSL_IDLE_GATE = 0.005
MODE_NAMES = {"dropcache": "dropCache", "gradual": "gradual", "disabled": "disabled"}



@dataclass(frozen=True)
class ReclaimModel:
    """How one WSL version's reclaim thread judges the guest."""

    name: str  # "released" (≤ 2.9.x) or "rewrite" (#41096)
    counts: str  # the CpuShare field its gate counts: "user" or "busy"
    window_s: dict[str, float]  # per reclaim mode
    thread_dies: bool  # whether its reclaim thread ends for the VM's life on any failed write
    version: str = ""  # "" when the version is not known (the released model is assumed)

    @property
    def gate_modes(self) -> tuple[str, ...]:
        """The /proc/stat modes its idle test counts as busy."""
        return ("user",) if self.counts == "user" else _BUSY_MODES

    def delay_s(self, mode: str) -> float:
        """How long the guest must be idle before this version's thread acts (one tick's
        slack beyond it is inside the rules' own margin, `for_s`)."""
        return self.window_s[mode]


#: Released WSL counts 30 s ticks, the rewrite 10 s ticks (its 2 min window is 12 of them).
RELEASED = ReclaimModel("released", "user", {"dropcache": 20 * 30.0, "gradual": 6 * 30.0}, thread_dies=True)
REWRITE = ReclaimModel("rewrite", "busy", {"dropcache": 120.0, "gradual": 120.0}, thread_dies=False)
#: Released WSL's delays, which the shipped PromQL rules use (they cannot see the version).
RECLAIM_DELAY_S = RELEASED.window_s
_VERSION = re.compile(r"(\d+)\.(\d+)")


def model_for(version: str) -> ReclaimModel:
    """The reclaim model of a WSL version ("2.7.10.0"); released when it cannot be read."""
    found = _VERSION.match(version)
    if found is None:
        return RELEASED
    model = REWRITE if (int(found.group(1)), int(found.group(2))) > (2, 9) else RELEASED
    return replace(model, version=version)


def reclaim_model(view: View) -> ReclaimModel:
    """The model of the running WSL's version (`wslwatch_wsl_info`); released when unknown."""
    versions = [sample.labels.get("version", "") for sample in view.series("wslwatch_wsl_info")]
    return model_for(versions[0] if versions else "")


_CPU = "wslwatch_guest_cpu_seconds_total"
_BUSY_MODES = ("user", "nice", "system", "irq", "softirq", "steal")
_ALL_MODES = _BUSY_MODES + ("idle", "iowait")  # guest/guest_nice are already inside user/nice


def reclaim_mode(view: View) -> str | None:
    """`dropcache`, `gradual` or `disabled` from `.wslconfig`; None when it is not known.

    WSL treats an unknown value as dropCache, and so do we.
    """
    for sample in view.series("wslwatch_wsl_config_info"):
        mode = sample.labels.get("auto_memory_reclaim", "").lower()
        return mode if mode in MODE_NAMES else "dropcache"
    return None


def vm_running(view: View) -> bool:
    """False only when the VM process is known to be gone (inside WSL there is no VM process)."""
    return view.value("wslwatch_vmmem_up") != 0


def vm_working_set(view: View) -> float | None:
    """The WSL VM process's working set, if it is measured."""
    return view.value("wslwatch_vmmem_working_set_bytes")


@dataclass(frozen=True)
class GuestMemory:
    total: float
    free: float
    available: float
    reclaimable: float | None

    @property
    def used(self) -> float:
        """MemTotal - MemFree: what the VM cannot hand back to Windows without reclaim."""
        return self.total - self.free

    @property
    def used_without_cache(self) -> float:
        return max(0.0, self.used - (self.reclaimable or 0.0))


def guest_memory(view: View) -> GuestMemory | None:
    """The guest's memory now, or None while the guest is not read (VM stopped, no WSL)."""
    total = view.value("wslwatch_guest_memory_total_bytes")
    free = view.value("wslwatch_guest_memory_free_bytes")
    available = view.value("wslwatch_guest_memory_available_bytes")
    if total is None or free is None or available is None or total <= 0:
        return None
    return GuestMemory(total, free, available, view.value("wslwatch_guest_memory_reclaimable_bytes"))


@dataclass(frozen=True)
class CpuShare:
    """Shares of all guest CPU time: `user` (what released WSL's gate counts) and `busy` (all non-idle)."""

    user: float
    busy: float


def cpu_share(view: View, seconds: float) -> CpuShare | None:
    """The guest's CPU use over the last `seconds` of its history; None if not that much is known."""
    increases: dict[str, float] = {}
    for mode in _ALL_MODES:
        found = view.increase(_CPU, {"mode": mode}, seconds)
        if found is not None:
            increases[mode] = found[0]
    total = sum(increases.values())
    if "user" not in increases or "idle" not in increases or total <= 0:
        return None
    busy = sum(increases.get(mode, 0.0) for mode in _BUSY_MODES)
    return CpuShare(increases["user"] / total, busy / total)


def idle_since(view: View, gate: float = WSL_IDLE_GATE, counted: tuple[str, ...] = _BUSY_MODES) -> float | None:
    """When the guest's current idle run began (every collection interval since then at or
    below `gate` busy, counting the `counted` modes as busy); None if the last interval was
    busy or nothing is known.

    Walks back from the newest reading only as far as the run goes; every mode's series has
    a point per collection, so the k-th newest points of all modes belong together.
    """
    present = [(mode in counted, points) for mode in _ALL_MODES if (points := view.points(_CPU, {"mode": mode}))]
    if len(present) < 2:
        return None
    newer = _reading(present, 1)
    since = None
    for k in range(2, min(len(points) for _, points in present) + 1):
        older = _reading(present, k)
        if newer is None or older is None:
            break
        d_total, d_busy = newer[2] - older[2], newer[1] - older[1]
        if not 0 <= d_busy <= gate * d_total:  # busy beyond the gate, or a counter reset
            break
        since, newer = older[0], older
    return since


def _reading(present: list[tuple[bool, Points]], k: int) -> tuple[float, float, float] | None:
    """`(ts, busy, total)` CPU seconds of the k-th newest collection, or None if the modes disagree."""
    ts = present[0][1][-k][0]
    readings = [(is_busy, points[-k]) for is_busy, points in present]
    if any(when != ts for _, (when, _) in readings):
        return None
    return ts, sum(value for is_busy, (_, value) in readings if is_busy), sum(value for _, (_, value) in readings)
