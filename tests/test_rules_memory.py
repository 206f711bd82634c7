"""The memory rules one at a time, on readings built here: when each speaks, and exactly what it says.

The numbers in the expected texts are worked out by hand from the readings each test feeds
(GB are 2^30 bytes, as the rules and Task Manager count them).
"""

from __future__ import annotations

from typing import Iterable

import pytest

from wslwatch.config.schema import (
    GuestSwapThrashConfig,
    HostMemoryLowConfig,
    ReclaimDisabledBloatConfig,
    ReclaimGateBlockedConfig,
    ReclaimStalledConfig,
    VmNotReleasingConfig,
)
from wslwatch.core import Sample
from wslwatch.daemon.alerting import Active, Finding, Rule
from wslwatch.daemon.rules.memory import (
    GuestSwapThrash,
    HostMemoryLow,
    ReclaimDisabledBloat,
    ReclaimGateBlocked,
    ReclaimStalled,
    VmNotReleasing,
)
from wslwatch.daemon.view import View
from wslwatch.store import Store

T0 = 1_785_000_000.0
STEP = 30.0
GIB = 2**30
DROP = 'wsl -u root sh -c "echo 1 > /proc/sys/vm/drop_caches"'
Reading = tuple[str, float, dict[str, str]]


def r(name: str, value: float, **labels: str) -> Reading:
    return (f"wslwatch_{name}", value, labels)


def store_of(frames: Iterable[list[Reading]]) -> Store:
    """One collection per frame, STEP seconds apart."""
    store = Store()
    for i, frame in enumerate(frames):
        t = T0 + i * STEP
        store.record("all", [Sample(name, labels, value, t) for name, value, labels in frame], t, 0.0)
    return store


def judge(rule: Rule, frames: list[list[Reading]], active: bool = False) -> list[Finding]:
    """The rule's findings on the newest frame (`active`: its alert is already pending or firing)."""
    store = store_of(frames)
    keys = [(rule.severity, ())] if active else []
    return list(rule.evaluate(View(store.snapshot(), store.history), Active(keys)))


def guest(total: float, free: float, available: float, cache: float | None = None) -> list[Reading]:
    frame = [r("guest_memory_total_bytes", total), r("guest_memory_free_bytes", free)]
    frame.append(r("guest_memory_available_bytes", available))
    return frame + ([r("guest_memory_reclaimable_bytes", cache)] if cache is not None else [])


def vm(working_set: float, up: float = 1.0) -> list[Reading]:
    return [r("vmmem_up", up), r("vmmem_working_set_bytes", working_set, process="vmmemWSL")]


def reclaim(mode: str) -> list[Reading]:
    return [r("wsl_config_info", 1.0, auto_memory_reclaim=mode, section="experimental", path="C:/.wslconfig")]


def cpu_frames(shares: list[float], ncpu: int = 8) -> list[list[Reading]]:
    """Guest CPU counters with `share` of all CPU time as user time in each STEP interval."""
    user = idle = 0.0
    frames = []
    for share in [0.0, *shares]:
        user += share * STEP * ncpu
        idle += (1 - share) * STEP * ncpu
        frames.append([r("guest_cpu_seconds_total", user, mode="user"), r("guest_cpu_seconds_total", idle, mode="idle")])
    return frames


def test_vm_not_releasing_says_how_much_the_vm_holds_beyond_the_guest() -> None:
    frame = vm(20 * GIB) + guest(32 * GIB, free=28 * GIB, available=28 * GIB)
    (finding,) = judge(VmNotReleasing(VmNotReleasingConfig()), [frame])
    assert finding.summary == (
        "WSL VM holds 20.0 GB but the guest uses only 4.0 GB: 16.0 GB freed in the guest is still counted "
        'against the VM — memory is not returned to Windows. Try: wsl -u root sh -c "echo 1 > '
        '/proc/sys/vm/compact_memory", or wsl --shutdown'
    )


def test_vm_not_releasing_holds_between_its_clear_and_start_lines() -> None:
    # Working set 20 GiB: start line max(1.5 GiB, 20 % = 4 GiB), clear line max(1 GiB, 15 % = 3 GiB).
    frame = vm(20 * GIB) + guest(32 * GIB, free=15.5 * GIB, available=20 * GIB)  # gap 3.5 GiB
    rule = VmNotReleasing(VmNotReleasingConfig())
    assert judge(rule, [frame]) == []
    assert len(judge(rule, [frame], active=True)) == 1


def test_vm_not_releasing_is_silent_while_the_vm_is_stopped() -> None:
    frame = vm(20 * GIB, up=0.0) + guest(32 * GIB, free=28 * GIB, available=28 * GIB)
    assert judge(VmNotReleasing(VmNotReleasingConfig()), [frame]) == []


def test_reclaim_disabled_bloat_gives_the_vms_share_of_ram() -> None:
    frame = reclaim("disabled") + vm(12 * GIB) + [r("host_memory_total_bytes", 16 * GIB)]
    (finding,) = judge(ReclaimDisabledBloat(ReclaimDisabledBloatConfig()), [frame])
    assert finding.what == "autoMemoryReclaim is disabled and the WSL VM holds 12.0 GB (75 % of RAM)"


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
def test_host_memory_low_offers_the_cache_only_where_there_is_one(guest_memory: list[Reading], held: str, fix: str) -> None:
    (finding,) = judge(HostMemoryLow(HostMemoryLowConfig()), [HOST_LOW + guest_memory])
    assert finding.summary == f"{HOST_LOW_WHAT}{held} — Windows will page hard and programs may fail. {fix}"


def swap_frames(pages_in_per_min: float, pages_out_per_min: float) -> list[list[Reading]]:
    per_step_in, per_step_out = pages_in_per_min * STEP / 60, pages_out_per_min * STEP / 60
    return [
        [r("guest_swap_in_pages_total", i * per_step_in), r("guest_swap_out_pages_total", i * per_step_out)]
        for i in range(3)
    ]


def test_guest_swap_thrash_gives_the_traffic_per_minute() -> None:
    # 8192 pages of 4 KiB in and 12288 out per minute: 32 + 48 MiB.
    (finding,) = judge(GuestSwapThrash(GuestSwapThrashConfig()), swap_frames(8192, 12288))
    assert finding.summary == (
        "The WSL guest swaps 80 MB per minute (in 32 MB, out 48 MB) — memory is too tight and the run slows to "
        "disk speed. Try: a smaller batch size, or a larger memory= under [wsl2] in .wslconfig"
    )


def test_guest_swap_thrash_is_silent_under_its_line() -> None:
    assert judge(GuestSwapThrash(GuestSwapThrashConfig()), swap_frames(4096, 4096)) == []  # 32 MiB/min < 64


def gate_blocked_frames(cache: float, mode: str = "dropcache", busiest: bool = True) -> list[list[Reading]]:
    """22 readings (over released WSL's 600 s dropCache window) at 2 % user CPU: above WSL's 0.5 % gate."""
    frames = cpu_frames([0.02] * 21)
    now = reclaim(mode) + vm(12 * GIB) + guest(16 * GIB, free=2 * GIB, available=10 * GIB, cache=cache)
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
    (finding,) = judge(rule, gate_blocked_frames(8 * GIB, busiest=False))
    assert "busiest:" not in finding.what and finding.holder == ""


def test_reclaim_gate_blocked_needs_a_cache_worth_reclaiming_and_reclaim_on() -> None:
    rule = ReclaimGateBlocked(ReclaimGateBlockedConfig())
    assert judge(rule, gate_blocked_frames(3 * GIB)) == []  # over 2 GiB, but under 25 % of 16 GiB
    assert judge(rule, gate_blocked_frames(8 * GIB, mode="disabled")) == []
    frames = gate_blocked_frames(8 * GIB)
    frames[-1] = [reading for reading in frames[-1] if reading[0] != "wslwatch_wsl_config_info"]
    assert judge(rule, frames) == []  # the mode is not known


def stalled_frames(cpu: list[float], cache: float, version: str = "") -> list[list[Reading]]:
    frames = cpu_frames(cpu)
    info = [r("wsl_info", 1.0, version=version, kernel="6.6.87.2")] if version else []
    for frame in frames:
        frame += reclaim("dropcache") + info + vm(12 * GIB) + guest(16 * GIB, 2 * GIB, 10 * GIB, cache=cache)
    return frames


def judge_every_step(rule: Rule, frames: list[list[Reading]]) -> list[Finding]:
    """Evaluate after each collection, as the engine does (the rule remembers the idle runs it saw)."""
    findings: list[Finding] = []
    for n in range(1, len(frames) + 1):
        findings = judge(rule, frames[:n])
    return findings


IDLE, BUSY = 0.001, 0.5


def test_reclaim_stalled_is_silent_with_little_cache_left() -> None:
    rule = ReclaimStalled(ReclaimStalledConfig())
    assert judge_every_step(rule, stalled_frames([BUSY] + [IDLE] * 25, cache=0.5 * GIB)) == []
    assert len(judge_every_step(rule, stalled_frames([BUSY] + [IDLE] * 25, cache=8 * GIB))) == 1


@pytest.mark.parametrize(
    ("version", "advice"),
    [
        (
            "2.6.1.0",  # released WSL: its thread ends on a failed write
            "WSL's reclaim thread has likely died (released WSL ends it for the VM's life on any failed write), "
            f"and only a restart of WSL brings it back; until then: {DROP}. Try: wsl --shutdown",
        ),
        ("2.10.1.0", f"Try: {DROP}"),  # the rewrite (#41096) has no such failure
    ],
)
def test_reclaim_stalled_twice_in_a_row_blames_a_dead_thread_only_on_released_wsl(version: str, advice: str) -> None:
    # Two idle runs of 25 readings (750 s, past dropCache's 600 s), a busy reading between them.
    frames = stalled_frames([BUSY] + [IDLE] * 25 + [BUSY] + [IDLE] * 25, cache=8 * GIB, version=version)
    (finding,) = judge_every_step(ReclaimStalled(ReclaimStalledConfig()), frames)
    assert finding.advice == f"autoMemoryReclaim (dropCache) is not reclaiming. {advice}"
