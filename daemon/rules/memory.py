"""Memory rules: WSL's autoMemoryReclaim, the VM giving memory back, host and guest memory, swap."""

from __future__ import annotations

from typing import Iterator

from wslwatch.config.schema import (
    GuestMemoryLowConfig,
    GuestSwapThrashConfig,
    HostMemoryLowConfig,
    ReclaimDisabledBloatConfig,
    ReclaimGateBlockedConfig,
    ReclaimStalledConfig,
    VmNotReleasingConfig,
)
from wslwatch.daemon.alerting import Active, Finding, format_duration
from wslwatch.daemon.rules._base import ConfiguredRule
from wslwatch.daemon.rules._text import DROP_CACHES, GIB, MIB, gb, largest, mb, pct
from wslwatch.daemon.rules._wsl import (
    MODE_NAMES,
    RECLAIM_DELAY_S,
    ReclaimModel,
    WSL_IDLE_GATE,
    cpu_share,
    guest_memory,
    idle_since,
    reclaim_mode,
    reclaim_model,
    vm_running,
    vm_working_set,
)
from wslwatch.daemon.view import Points, View
from wslwatch.holders import busiest_guest_processes, largest_guest_holder

__all__ = [
    "GuestMemoryLow",
    "GuestSwapThrash",
    "HostMemoryLow",
    "ReclaimDisabledBloat",
    "ReclaimGateBlocked",
    "ReclaimStalled",
    "VmNotReleasing",
]

#: Bytes per page in the guest's pswpin/pswpout (4 KiB on every WSL kernel).
PAGE_BYTES = 4096
_NO_LABELS: dict[str, str] = {}
#: A window shorter than any collection interval: from the previous reading to the newest.
_LAST_INTERVAL = 1.0
_MORE_MEMORY = "or a larger memory= under [wsl2] in .wslconfig"


def _vm_holds(view: View) -> str:
    working_set = vm_working_set(view)
    return "" if working_set is None else f"WSL VM holds {gb(working_set)} but "


class ReclaimStalled(ConfiguredRule[ReclaimStalledConfig]):
    """The guest is idle by WSL's own gate (as the running version judges it), past the mode's
    delay, and its cache did not go. Two such idle runs in a row: released WSL's thread is dead."""

    name = "reclaim_stalled"

    def __init__(self, config: ReclaimStalledConfig) -> None:
        super().__init__(config)
        self._stalled_runs: list[float] = []  # when each idle run that went past the gate began

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        mode = reclaim_mode(view)
        memory = guest_memory(view)
        if mode not in RECLAIM_DELAY_S or not vm_running(view) or memory is None or memory.reclaimable is None:
            return
        model = reclaim_model(view)
        since = idle_since(view, counted=model.gate_modes)
        if since is None:
            return
        at_start = _first_at_or_after(view.points("wslwatch_guest_memory_reclaimable_bytes", _NO_LABELS), since)
        min_drop = self.config.dropcache_min_drop if mode == "dropcache" else self.config.gradual_min_drop
        cache = memory.reclaimable
        if at_start is not None and cache <= (1 - min_drop) * at_start:
            self._stalled_runs = []  # WSL's thread reclaimed: it is alive
            return
        if at_start is None or cache < self.config.min_cache_gib * GIB:
            return
        delay = model.delay_s(mode)
        if view.now - since >= delay and _new_run(view, since, self._stalled_runs):
            self._stalled_runs = [*self._stalled_runs[-1:], since]
        holder = largest_guest_holder(view.snapshot, "file")
        yield Finding(
            _NO_LABELS,
            f"{_vm_holds(view)}the guest uses {gb(memory.used_without_cache)} ({gb(cache)} page cache), "
            f"idle for {format_duration(view.now - since)}{largest(holder)}",
            f"autoMemoryReclaim ({MODE_NAMES[mode]}) is not reclaiming. {self._advice(view, model)}",
            for_s=delay + self.config.for_s,
            holder=holder.name if holder else "",
        )

    def _advice(self, view: View, model: ReclaimModel) -> str:
        if not model.thread_dies or len(self._stalled_runs) < 2:
            return f"Try: {DROP_CACHES}"
        covering = view.value("wslwatch_reclaim_freed_bytes_total") is not None
        cover = "wslwatch's reclaim controller is covering for it until then" if covering else f"until then: {DROP_CACHES}"
        return (
            "WSL's reclaim thread has likely died (released WSL ends it for the VM's life on any failed write), "
            f"and only a restart of WSL brings it back; {cover}. Try: wsl --shutdown"
        )


def _new_run(view: View, since: float, known: list[float]) -> bool:
    """Whether the idle run that began at `since` is one not counted yet: a later start than the
    last counted, found after a busy interval (not where the kept history of a long run begins)."""
    if known and since <= known[-1]:
        return False
    oldest = view.points("wslwatch_guest_cpu_seconds_total", {"mode": "idle"})
    return not known or not oldest or since > oldest[0][0]


def _first_at_or_after(points: Points, ts: float) -> float | None:
    for when, value in points:
        if when >= ts:
            return value
    return None


class VmNotReleasing(ConfiguredRule[VmNotReleasingConfig]):
    """Windows still counts memory against the VM that the guest has freed."""

    name = "vm_not_releasing"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        working_set = vm_working_set(view)
        memory = guest_memory(view)
        if working_set is None or memory is None or not vm_running(view):
            return
        c = self.config
        if active(_NO_LABELS, self.severity):
            line = max(c.clear_gap_gib * GIB, c.clear_gap_ratio * working_set)
        else:
            line = max(c.min_gap_gib * GIB, c.min_gap_ratio * working_set)
        gap = working_set - memory.used
        if gap < line:
            return
        yield Finding(
            _NO_LABELS,
            f"WSL VM holds {gb(working_set)} but the guest uses only {gb(memory.used)}: "
            f"{gb(gap)} freed in the guest is still counted against the VM",
            'memory is not returned to Windows. Try: wsl -u root sh -c "echo 1 > /proc/sys/vm/compact_memory", '
            "or wsl --shutdown",
        )


class ReclaimGateBlocked(ConfiguredRule[ReclaimGateBlockedConfig]):
    """The guest is never idle enough for WSL's reclaim to start, yet looks idle to a person."""

    name = "reclaim_gate_blocked"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        mode = reclaim_mode(view)
        memory = guest_memory(view)
        if mode not in RECLAIM_DELAY_S or not vm_running(view) or memory is None or memory.reclaimable is None:
            return
        c = self.config
        cache = memory.reclaimable
        if cache < max(c.min_cache_gib * GIB, c.min_cache_ratio * memory.total):
            return
        # Over WSL's gate window and over the last interval alike: not idle by the running
        # version's test (user CPU for released WSL, all non-idle CPU for the rewrite), yet little
        # CPU in all (a run's busy tail in the window is not it).
        model = reclaim_model(view)
        cpu = cpu_share(view, model.window_s[mode])
        last = cpu_share(view, _LAST_INTERVAL)
        if cpu is None or last is None:
            return
        gate = min(getattr(cpu, model.counts), getattr(last, model.counts))
        if gate <= WSL_IDLE_GATE or max(cpu.busy, last.busy) > c.max_cpu:
            return
        working_set = vm_working_set(view)
        held = "" if working_set is None else f" (WSL VM {gb(working_set)})"
        busiest = busiest_guest_processes(view.snapshot)
        named = "; busiest: " + ", ".join(f"{name} {pct(share)}" for name, share in busiest) if busiest else ""
        yield Finding(
            _NO_LABELS,
            f"The guest holds {gb(cache)} of page cache{held} and is never idle enough for autoMemoryReclaim: "
            f"{pct(cpu.busy)} CPU busy, WSL waits for under {pct(WSL_IDLE_GATE)}{named}",
            f"the cache is not given back to Windows. Try: {DROP_CACHES}, or stop what keeps the guest busy "
            "(the busiest processes; top in WSL)",
            holder=busiest[0][0] if busiest else "",
        )


class ReclaimDisabledBloat(ConfiguredRule[ReclaimDisabledBloatConfig]):
    """Reclaim is off and the VM holds a large share of the host's RAM."""

    name = "reclaim_disabled_bloat"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        working_set = vm_working_set(view)
        host_total = view.value("wslwatch_host_memory_total_bytes")
        if reclaim_mode(view) != "disabled" or working_set is None or not host_total or not vm_running(view):
            return
        c = self.config
        line = c.clear_vm_ratio if active(_NO_LABELS, self.severity) else c.min_vm_ratio
        if working_set < line * host_total:
            return
        yield Finding(
            _NO_LABELS,
            f"autoMemoryReclaim is disabled and the WSL VM holds {gb(working_set)} ({pct(working_set / host_total)} of RAM)",
            "Windows gets the guest's cache back only at wsl --shutdown. "
            "Try: autoMemoryReclaim=gradual under [experimental] in .wslconfig, then wsl --shutdown",
        )


class HostMemoryLow(ConfiguredRule[HostMemoryLowConfig]):
    """Windows is short of memory while the WSL VM holds a large share of it."""

    name = "host_memory_low"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        total = view.value("wslwatch_host_memory_total_bytes")
        available = view.value("wslwatch_host_memory_available_bytes")
        working_set = vm_working_set(view)
        if not total or available is None or working_set is None or not vm_running(view):
            return
        c = self.config
        share = available / total
        low = share < c.clear_available_ratio if active(_NO_LABELS, self.severity) else share <= c.available_ratio
        if not low or working_set < c.min_vm_ratio * total:
            return
        memory = guest_memory(view)
        cache = memory.reclaimable if memory is not None else None
        if cache is not None and cache >= GIB:
            held, fix = f", {gb(cache)} of it guest page cache", f"Try: {DROP_CACHES}"
        else:
            held, fix = "", "Try: close programs in WSL, or wsl --shutdown if the VM is not needed"
        holder = largest_guest_holder(view.snapshot)
        yield Finding(
            _NO_LABELS,
            f"Windows has {gb(available)} ({pct(share)}) of {gb(total)} available; the WSL VM holds {gb(working_set)}{held}"
            f"{largest(holder)}",
            f"Windows will page hard and programs may fail. {fix}",
            holder=holder.name if holder else "",
        )


class GuestMemoryLow(ConfiguredRule[GuestMemoryLowConfig]):
    """The guest is close to its OOM killer."""

    name = "guest_memory_low"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        memory = guest_memory(view)
        if memory is None or not vm_running(view):
            return
        c = self.config
        share = memory.available / memory.total
        line = c.clear_available_ratio if active(_NO_LABELS, self.severity) else c.available_ratio
        if share >= line:
            return
        limit = view.value("wslwatch_wsl_config_memory_limit_bytes")
        more = _MORE_MEMORY + (f" (now {gb(limit)})" if limit else "")
        holder = largest_guest_holder(view.snapshot)
        yield Finding(
            _NO_LABELS,
            f"The WSL guest has {gb(memory.available)} ({pct(share)}) of {gb(memory.total)} available{largest(holder)}",
            f"a training run may be OOM-killed. Try: a smaller batch size or fewer data-loader workers, {more}",
            holder=holder.name if holder else "",
        )


class GuestSwapThrash(ConfiguredRule[GuestSwapThrashConfig]):
    """The guest moves memory to and from swap fast enough to stall work."""

    name = "guest_swap_thrash"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        window = self.config.window_s
        swap_in = view.rate("wslwatch_guest_swap_in_pages_total", _NO_LABELS, window)
        swap_out = view.rate("wslwatch_guest_swap_out_pages_total", _NO_LABELS, window)
        if swap_in is None or swap_out is None or not vm_running(view):
            return
        c = self.config
        per_min_in, per_min_out = swap_in * PAGE_BYTES * 60, swap_out * PAGE_BYTES * 60
        line = c.clear_rate_mib_per_min if active(_NO_LABELS, self.severity) else c.rate_mib_per_min
        if per_min_in + per_min_out < line * MIB:
            return
        yield Finding(
            _NO_LABELS,
            f"The WSL guest swaps {mb(per_min_in + per_min_out)} per minute (in {mb(per_min_in)}, out {mb(per_min_out)})",
            f"memory is too tight and the run slows to disk speed. Try: a smaller batch size, {_MORE_MEMORY}",
        )
