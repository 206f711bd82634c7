"""The built-in alert rules of DESIGN §4, built from the `[rules.<name>]` tables."""

from __future__ import annotations

import math

from wslwatch.config.schema import Config
from wslwatch.daemon.alerting import Rule, RuleEngine
from wslwatch.daemon.rules.forecast import GuestMemoryFilling, VramFilling
from wslwatch.daemon.rules.gpu import VramHeldIdle, VramHigh
from wslwatch.daemon.rules.memory import (
    GuestMemoryLow,
    GuestSwapThrash,
    HostMemoryLow,
    ReclaimDisabledBloat,
    ReclaimGateBlocked,
    ReclaimStalled,
    VmNotReleasing,
)
from wslwatch.daemon.rules.paths import PathCrossOs, PathSlow, PathStalled
from wslwatch.daemon.rules.wslconfig import WslconfigProblem
from wslwatch.store import Store

__all__ = ["build_rules", "create_engine"]


def build_rules(config: Config) -> list[Rule]:
    """Every enabled rule, in DESIGN's order."""
    r, paths = config.rules, config.paths
    table: list[tuple[bool, Rule]] = [
        (r.vram_high.enabled, VramHigh(r.vram_high)),
        (r.vram_held_idle.enabled, VramHeldIdle(r.vram_held_idle)),
        (r.reclaim_stalled.enabled, ReclaimStalled(r.reclaim_stalled)),
        (r.vm_not_releasing.enabled, VmNotReleasing(r.vm_not_releasing)),
        (r.reclaim_gate_blocked.enabled, ReclaimGateBlocked(r.reclaim_gate_blocked)),
        (r.reclaim_disabled_bloat.enabled, ReclaimDisabledBloat(r.reclaim_disabled_bloat)),
        (r.host_memory_low.enabled, HostMemoryLow(r.host_memory_low)),
        (r.guest_memory_low.enabled, GuestMemoryLow(r.guest_memory_low)),
        (r.guest_swap_thrash.enabled, GuestSwapThrash(r.guest_swap_thrash)),
        (r.guest_memory_filling.enabled, GuestMemoryFilling(r.guest_memory_filling)),
        (r.vram_filling.enabled, VramFilling(r.vram_filling)),
        (r.path_cross_os.enabled, PathCrossOs(r.path_cross_os, paths)),
        (r.path_slow.enabled, PathSlow(r.path_slow, paths)),
        (r.path_stalled.enabled, PathStalled(r.path_stalled, paths)),
        (r.wslconfig_problem.enabled, WslconfigProblem(r.wslconfig_problem)),
    ]
    return [rule for enabled, rule in table if enabled]


#: The Store is updated at least every shortest collection interval; a pause of this many
#: intervals is a gap (a sleeping machine), which a pending alert's wait does not count.
GAP_INTERVALS = 4


def _max_gap_s(config: Config) -> float:
    collectors = [c for c in vars(config.collectors).values() if c.enabled]
    intervals = [float(c.interval_s) for c in collectors if hasattr(c, "interval_s")]
    intervals += [p.interval_s for p in config.paths]
    return GAP_INTERVALS * min(intervals, default=math.inf)


def create_engine(config: Config, store: Store) -> RuleEngine:
    """The rules engine over `store`'s history, evaluating after every update of `store`."""
    engine = RuleEngine(build_rules(config), store.history, _max_gap_s(config))
    store.subscribe(engine.on_snapshot)
    return engine
