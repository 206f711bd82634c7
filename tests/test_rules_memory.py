"""The memory rules one at a time, on readings built here: when each speaks, and exactly what it says.

The numbers in the expected texts are worked out by hand from the readings each test feeds
(GB are 2^30 bytes, as the rules and Task Manager count them).
"""

from __future__ import annotations

import pytest

from rule_readings import GIB, STEP, Reading, cpu_frames, judge, judge_every_step, r
from wslwatch.config.schema import (
    GuestSwapThrashConfig,
    HostMemoryLowConfig,
    ReclaimDisabledBloatConfig,
    ReclaimGateBlockedConfig,
    ReclaimStalledConfig,
    VmNotReleasingConfig,
)
from wslwatch.daemon.rules.memory import (
    GuestSwapThrash,
    HostMemoryLow,
    ReclaimDisabledBloat,
    ReclaimGateBlocked,
    ReclaimStalled,
    VmNotReleasing,
)

DROP = 'wsl -u root sh -c "echo 1 > /proc/sys/vm/drop_caches"'
CACHE = "guest_memory_reclaimable_bytes"


def guest(total: float, free: float, available: float, cache: float | None = None) -> list[Reading]:
    frame = [r("guest_memory_total_bytes", total), r("guest_memory_free_bytes", free)]
    frame.append(r("guest_memory_available_bytes", available))
    return frame + ([r("guest_memory_reclaimable_bytes", cache)] if cache is not None else [])


def vm(working_set: float, up: float = 1.0) -> list[Reading]:
    return [r("vmmem_up", up), r("vmmem_working_set_bytes", working_set, process="vmmemWSL")]


def unread(frames: list[list[Reading]], name: str, since: int = -1) -> list[list[Reading]]:
    """`frames` without series `wslwatch_<name>` from frame `since` on (the last alone by default)."""
    kept = [[reading for reading in frame if reading[0] != f"wslwatch_{name}"] for frame in frames[since:]]
    return frames[:since] + kept


def stopped(frames: list[list[Reading]]) -> list[list[Reading]]:
    """`frames` with the VM process gone at the last."""
    frames = unread(frames, "vmmem_up")
    frames[-1].append(r("vmmem_up", 0.0))
    return frames


def reclaim(mode: str) -> list[Reading]:
    return [r("wsl_config_info", 1.0, auto_memory_reclaim=mode, section="experimental", path="C:/.wslconfig")]


def test_vm_not_releasing_says_how_much_the_vm_holds_beyond_the_guest() -> None:
    frame = vm(20 * GIB) + guest(32 * GIB, free=28 * GIB, available=28 * GIB)
    (finding,) = judge(VmNotReleasing(VmNotReleasingConfig()), [frame])
    assert finding.summary == (
        "WSL VM holds 20.0 GB but the guest uses only 4.0 GB: 16.0 GB freed in the guest is still counted "
        'against the VM — memory is not returned to Windows. Try: wsl -u root sh -c "echo 1 > '
        '/proc/sys/vm/compact_memory", or wsl --shutdown'
    )


@pytest.mark.parametrize(
    ("working_set", "used", "active", "fires"),
    [
        # Working set 20 GiB: start line max(1.5 GiB, 20 % = 4 GiB), clear line max(1 GiB, 15 % = 3 GiB).
        (20, 16, False, True),  # a gap of 4 GiB: at the line
        (20, 16.5, False, False),  # 3.5 GiB: between the lines, not yet
        (20, 16.5, True, True),  # ... but an alert already on holds
        (20, 18, True, False),  # 2 GiB: under the clear line
        # Working set 5 GiB: the GiB lines are the larger, start 1.5 GiB, clear 1 GiB.
        (5, 3.8, False, False),  # a gap of 1.2 GiB
        (5, 3.4, False, True),  # 1.6 GiB
        (5, 4.2, True, False),  # 0.8 GiB
    ],
)
def test_vm_not_releasing_starts_and_clears_at_its_lines(
    working_set: float, used: float, active: bool, fires: bool
) -> None:
    frame = vm(working_set * GIB) + guest(32 * GIB, free=(32 - used) * GIB, available=20 * GIB)
    assert len(judge(VmNotReleasing(VmNotReleasingConfig()), [frame], active)) == int(fires)


@pytest.mark.parametrize(
    "frame",
    [
        vm(20 * GIB, up=0.0) + guest(32 * GIB, free=28 * GIB, available=28 * GIB),  # the VM is stopped
        vm(20 * GIB),  # the guest is not read
    ],
)
def test_vm_not_releasing_is_silent_without_a_running_vm_and_its_guest(frame: list[Reading]) -> None:
    assert judge(VmNotReleasing(VmNotReleasingConfig()), [frame]) == []


def test_reclaim_disabled_bloat_gives_the_vms_share_of_ram() -> None:
    frame = reclaim("disabled") + vm(12 * GIB) + [r("host_memory_total_bytes", 16 * GIB)]
    (finding,) = judge(ReclaimDisabledBloat(ReclaimDisabledBloatConfig()), [frame])
    assert finding.what == "autoMemoryReclaim is disabled and the WSL VM holds 12.0 GB (75 % of RAM)"


@pytest.mark.parametrize(
    ("frame", "active", "fires"),
    [
        (reclaim("disabled") + vm(4 * GIB), False, True),  # 40 % of 10 GiB: at the line
        (reclaim("disabled") + vm(3.6 * GIB), False, False),  # 36 %
        (reclaim("disabled") + vm(3.6 * GIB), True, True),  # an advice already on holds down to 35 %
        (reclaim("gradual") + vm(8 * GIB), False, False),
        (reclaim("disabled") + [r("vmmem_up", 1.0)], False, False),  # the working set is not measured
        (reclaim("disabled") + vm(8 * GIB, up=0.0), False, False),
    ],
)
def test_reclaim_disabled_bloat_starts_at_its_share_of_ram(frame: list[Reading], active: bool, fires: bool) -> None:
    frame = frame + [r("host_memory_total_bytes", 10 * GIB)]
    assert len(judge(ReclaimDisabledBloat(ReclaimDisabledBloatConfig()), [frame], active)) == int(fires)


HOST_LOW = vm(20 * GIB) + [r("host_memory_total_bytes", 32 * GIB), r("host_memory_available_bytes", 1.6 * GIB)]
HOST_LOW_WHAT = "Windows has 1.6 GB (5.0 %) of 32.0 GB available; the WSL VM holds 20.0 GB"
CLOSE = "Try: close programs in WSL, or wsl --shutdown if the VM is not needed"


@pytest.mark.parametrize(
    ("guest_memory", "held", "fix"),
    [
        (guest(16 * GIB, 1 * GIB, 8 * GIB, cache=6 * GIB), ", 6.0 GB of it guest page cache", f"Try: {DROP}"),
        (guest(16 * GIB, 1 * GIB, 8 * GIB, cache=1 * GIB), ", 1.0 GB of it guest page cache", f"Try: {DROP}"),
        (guest(16 * GIB, 1 * GIB, 8 * GIB, cache=0.5 * GIB), "", CLOSE),  # too little cache to be the fix
        (guest(16 * GIB, 1 * GIB, 8 * GIB), "", CLOSE),  # the cache is not read
        ([], "", CLOSE),  # the guest is not read
    ],
)
def test_host_memory_low_offers_the_cache_only_where_there_is_one(
    guest_memory: list[Reading], held: str, fix: str
) -> None:
    (finding,) = judge(HostMemoryLow(HostMemoryLowConfig()), [HOST_LOW + guest_memory])
    assert finding.summary == f"{HOST_LOW_WHAT}{held} — Windows will page hard and programs may fail. {fix}"


@pytest.mark.parametrize(
    ("available", "working_set", "active", "fires"),
    [
        (0.10, 0.5, False, True),  # available 10 % of RAM: at the line
        (0.11, 0.5, False, False),
        (0.14, 0.5, True, True),  # an alert already on holds while under 15 %
        (0.15, 0.5, True, False),
        (0.05, 0.25, False, True),  # the VM holds 25 % of RAM: enough to be the cause
        (0.05, 0.2, False, False),
    ],
)
def test_host_memory_low_starts_and_clears_at_its_lines(
    available: float, working_set: float, active: bool, fires: bool
) -> None:
    total = 32 * GIB  # a power of two: the shares below are exact
    frame = vm(working_set * total) + [r("host_memory_total_bytes", total)]
    frame.append(r("host_memory_available_bytes", available * total))
    assert len(judge(HostMemoryLow(HostMemoryLowConfig()), [frame], active)) == int(fires)


@pytest.mark.parametrize("left_out", ["wslwatch_host_memory_available_bytes", "wslwatch_vmmem_working_set_bytes"])
def test_host_memory_low_is_silent_without_its_readings(left_out: str) -> None:
    frame = [reading for reading in HOST_LOW if reading[0] != left_out]
    assert judge(HostMemoryLow(HostMemoryLowConfig()), [frame]) == []


def swap_frames(pages_in_per_min: float, pages_out_per_min: float) -> list[list[Reading]]:
    per_step_in, per_step_out = pages_in_per_min * STEP / 60, pages_out_per_min * STEP / 60
    return [
        [r("guest_swap_in_pages_total", i * per_step_in), r("guest_swap_out_pages_total", i * per_step_out)]
        for i in range(3)
    ]


def test_guest_swap_thrash_gives_the_traffic_per_minute() -> None:
    # 786432 pages of 4 KiB in and 12288 out per minute: 3072 + 48 MiB.
    (finding,) = judge(GuestSwapThrash(GuestSwapThrashConfig()), swap_frames(786432, 12288))
    assert finding.summary == (
        "The WSL guest swaps 3120 MB per minute (in 3072 MB, out 48 MB) — memory is too tight and the run slows "
        "to disk speed. Try: a smaller batch size, or a larger memory= under [wsl2] in .wslconfig"
    )


@pytest.mark.parametrize(
    ("pages_in", "pages_out", "active", "fires"),
    [
        (8192, 8192, False, True),  # 32 + 32 MiB per minute: at the 64 MiB line
        (8192, 4096, False, False),  # 48 MiB
        (8192, 4096, True, True),  # an alert already on holds down to 32 MiB
        (4096, 2048, True, False),  # 24 MiB
    ],
)
def test_guest_swap_thrash_starts_and_clears_at_its_lines(
    pages_in: float, pages_out: float, active: bool, fires: bool
) -> None:
    assert len(judge(GuestSwapThrash(GuestSwapThrashConfig()), swap_frames(pages_in, pages_out), active)) == int(fires)


def test_guest_swap_thrash_is_silent_without_both_counters_or_a_running_vm() -> None:
    rule = GuestSwapThrash(GuestSwapThrashConfig())
    only_in = [[reading for reading in frame if "swap_in" in reading[0]] for frame in swap_frames(786432, 0)]
    assert judge(rule, only_in) == []
    assert judge(rule, stopped(swap_frames(786432, 12288))) == []


def gate_blocked_frames(
    cache: float | None,
    mode: str = "dropcache",
    busiest: bool = True,
    total: float = 16 * GIB,
    share: float = 0.02,
    ncpu: int = 8,
) -> list[list[Reading]]:
    """22 readings (over released WSL's 600 s dropCache window) at `share` user CPU (2 %: above
    WSL's 0.5 % gate)."""
    frames = cpu_frames([share] * 21, ncpu=ncpu)
    now = reclaim(mode) + vm(12 * GIB) + guest(total, free=2 * GIB, available=10 * GIB, cache=cache)
    if busiest:
        now.append(r("guest_process_cpu_user_ratio", 0.015, pid="4242", process="python"))
        now.append(r("guest_process_cpu_user_ratio", 0.004, pid="77", process="node"))
    frames[-1] += now
    return frames


def test_reclaim_gate_blocked_names_the_busiest_processes() -> None:
    rule = ReclaimGateBlocked(ReclaimGateBlockedConfig())
    (finding,) = judge(rule, gate_blocked_frames(8 * GIB))
    assert finding.summary == (
        "The guest holds 8.0 GB of page cache (WSL VM 12.0 GB) and is never idle enough for autoMemoryReclaim: "
        "2.0 % CPU busy, WSL waits for under 0.5 %; busiest: python (pid 4242) 1.5 %, node (pid 77) 0.4 % — "
        f"the cache is not given back to Windows. Try: {DROP}, or stop what keeps the guest busy "
        "(the busiest processes; top in WSL)"
    )
    assert finding.holder == "python (pid 4242)"
    frames = gate_blocked_frames(8 * GIB, busiest=False)
    frames = unread(frames, "vmmem_working_set_bytes")
    (finding,) = judge(rule, frames)
    assert finding.what == (
        "The guest holds 8.0 GB of page cache and is never idle enough for autoMemoryReclaim: "
        "2.0 % CPU busy, WSL waits for under 0.5 %"
    )
    assert finding.holder == ""


def test_reclaim_gate_blocked_needs_a_cache_worth_reclaiming_and_reclaim_on() -> None:
    rule = ReclaimGateBlocked(ReclaimGateBlockedConfig())
    assert judge(rule, gate_blocked_frames(3 * GIB)) == []  # over 2 GiB, but under 25 % of 16 GiB
    assert len(judge(rule, gate_blocked_frames(4 * GIB))) == 1  # 25 %: at the line
    assert judge(rule, gate_blocked_frames(1.5 * GIB, total=4 * GIB)) == []  # over 25 %, but under 2 GiB
    assert len(judge(rule, gate_blocked_frames(2 * GIB, total=4 * GIB))) == 1
    assert judge(rule, gate_blocked_frames(None)) == []  # the cache is not read
    assert judge(rule, gate_blocked_frames(8 * GIB)[-10:]) == []  # 270 s of CPU readings: under WSL's window
    assert judge(rule, stopped(gate_blocked_frames(8 * GIB))) == []
    assert judge(rule, gate_blocked_frames(8 * GIB, mode="disabled")) == []
    assert judge(rule, unread(gate_blocked_frames(8 * GIB), "wsl_config_info")) == []  # the mode is not known


@pytest.mark.parametrize(
    ("share", "ncpu", "config", "fires"),
    [
        (0.005, 40, ReclaimGateBlockedConfig(), False),  # exactly WSL's gate: idle to WSL, so it reclaims
        (0.0625, 8, ReclaimGateBlockedConfig(max_cpu=0.0625), True),  # the most a person calls idle
        (0.0625, 8, ReclaimGateBlockedConfig(max_cpu=0.0624), False),
    ],
)  # shares of 6/1200 and 15/240 s of CPU: exact
def test_reclaim_gate_blocked_between_wsls_gate_and_a_busy_guest(
    share: float, ncpu: int, config: ReclaimGateBlockedConfig, fires: bool
) -> None:
    found = judge(ReclaimGateBlocked(config), gate_blocked_frames(8 * GIB, share=share, ncpu=ncpu))
    assert len(found) == int(fires)


def stalled_frames(
    cpu: list[float], cache: float | None = 8 * GIB, version: str = "", step: float = STEP, mode: str = "dropcache"
) -> list[list[Reading]]:
    frames = cpu_frames(cpu, step)
    info = [r("wsl_info", 1.0, version=version, kernel="6.6.87.2")] if version else []
    for frame in frames:
        frame += reclaim(mode) + info + vm(12 * GIB) + guest(16 * GIB, 2 * GIB, 10 * GIB, cache=cache)
    return frames


IDLE, BUSY = 0.001, 0.5
STALLED = ReclaimStalledConfig()


@pytest.mark.parametrize(
    ("cache", "fires"),
    [(0.5 * GIB, False), (1 * GIB, True), (8 * GIB, True)],  # nothing to reclaim under 1 GiB
)
def test_reclaim_stalled_needs_a_cache_to_reclaim(cache: float, fires: bool) -> None:
    found = judge_every_step(ReclaimStalled(STALLED), stalled_frames([BUSY] + [IDLE] * 25, cache=cache))
    assert len(found) == int(fires)


@pytest.mark.parametrize(
    "frames",
    [
        stalled_frames([BUSY] + [IDLE] * 25, mode="disabled"),
        stalled_frames([BUSY] + [IDLE] * 25, cache=None),  # the cache is not read
        unread(stalled_frames([BUSY] + [IDLE] * 25), CACHE),  # ... read before, not now
        stopped(stalled_frames([BUSY] + [IDLE] * 25)),
    ],
)
def test_reclaim_stalled_is_silent_without_reclaim_its_cache_or_a_running_vm(frames: list[list[Reading]]) -> None:
    assert judge_every_step(ReclaimStalled(STALLED), frames) == []


def test_reclaim_stalled_counts_a_drop_from_the_first_reading_of_the_run() -> None:
    frames = unread(stalled_frames([BUSY] + [IDLE] * 25), CACHE, since=2)
    for frame in frames[2:]:  # the cache halves in the run's first interval, and stays
        frame.append(r(CACHE, 4 * GIB))
    assert judge_every_step(ReclaimStalled(STALLED), frames) == []


@pytest.mark.parametrize(
    ("mode", "now", "fires"),
    [
        ("dropcache", 4.0, False),  # dropCache freed half the cache since the run began: reclaim works
        ("dropcache", 6.4, True),  # a fifth: gradual's share, not dropCache's
        ("gradual", 7.2, False),  # gradual freed a tenth
        ("gradual", 7.6, True),
    ],
)
def test_reclaim_stalled_asks_each_mode_for_its_own_drop(mode: str, now: float, fires: bool) -> None:
    frames = unread(stalled_frames([BUSY] + [IDLE] * 25, mode=mode), CACHE)
    frames[-1].append(r(CACHE, now * GIB))  # from 8 GiB
    assert len(judge_every_step(ReclaimStalled(STALLED), frames)) == int(fires)


DEAD = (
    "WSL's reclaim thread has likely died (released WSL ends it for the VM's life on any failed write), "
    f"and only a restart of WSL brings it back; until then: {DROP}. Try: wsl --shutdown"
)


@pytest.mark.parametrize(
    ("version", "advice"),
    [("2.6.1.0", DEAD), ("2.10.1.0", f"Try: {DROP}")],  # the rewrite (#41096) has no such failure
)
@pytest.mark.parametrize(
    ("before", "step", "run"),
    [
        ([BUSY], STEP, 25),  # two idle runs of 750 s, over dropCache's 600 s delay
        ([], STEP, 25),  # the first run begins with the history
        ([BUSY], 45.0, 25),  # readings that never fall exactly on the delay
        ([BUSY], STEP, 20),  # runs exactly as long as the delay
    ],
)
def test_reclaim_stalled_twice_in_a_row_blames_a_dead_thread_only_on_released_wsl(
    version: str, advice: str, before: list[float], step: float, run: int
) -> None:
    # Two idle runs of `run` readings, a busy reading between them.
    frames = stalled_frames(before + [IDLE] * run + [BUSY] + [IDLE] * run, version=version, step=step)
    (finding,) = judge_every_step(ReclaimStalled(STALLED), frames, step)
    assert finding.advice == f"autoMemoryReclaim (dropCache) is not reclaiming. {advice}"


@pytest.mark.parametrize(
    ("frames", "history_s"),
    [
        (stalled_frames([BUSY] + [IDLE] * 10 + [BUSY] + [IDLE] * 25), 7200.0),  # the first run was too short
        (stalled_frames([BUSY] + [IDLE] * 60), 900.0),  # one run longer than the history kept
    ],
)
def test_reclaim_stalled_counts_only_runs_past_the_delay_and_each_once(
    frames: list[list[Reading]], history_s: float
) -> None:
    (finding,) = judge_every_step(ReclaimStalled(STALLED), frames, history_s=history_s)
    assert finding.advice == f"autoMemoryReclaim (dropCache) is not reclaiming. Try: {DROP}"
