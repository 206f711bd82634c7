"""The GPU rules one at a time, on readings built here: when each speaks, and exactly what it says.

The numbers in the expected texts are worked out by hand from the readings each test feeds
(GB are 2^30 bytes); shares at a line use a power-of-two total, so they are exact.
"""

from __future__ import annotations

import pytest

from rule_readings import GIB, MIB, STEP, T0, Reading, collect, findings, judge, r
from wslwatch.config.schema import VramHeldIdleConfig, VramHighConfig
from wslwatch.daemon.alerting import Finding
from wslwatch.daemon.rules.gpu import VramHeldIdle, VramHigh
from wslwatch.store import Store

GPU0 = {"gpu": "0", "uuid": "GPU-aaaa"}
GPU1 = {"gpu": "1", "uuid": "GPU-bbbb"}
FIT = "Try: a smaller batch size, or end other programs that use the GPU"
HOUR = 3600.0


def card(
    total: float, labels: dict[str, str] = GPU0, name: str = "NVIDIA GeForce RTX 4090", **now: float
) -> list[Reading]:
    """One GPU's readings: its total, and any of `free`, `used` (bytes) and `utilization` given."""
    frame = [r("gpu_memory_total_bytes", total, **labels)]
    if name:
        frame.append(r("gpu_info", 1.0, name=name, driver_version="581.57", **labels))
    series = {"free": "gpu_memory_free_bytes", "used": "gpu_memory_used_bytes", "utilization": "gpu_utilization_ratio"}
    return frame + [r(series[key], value, **labels) for key, value in now.items()]


def process(held: float, labels: dict[str, str] = GPU0) -> Reading:
    return r("gpu_process_memory_bytes", held, pid="4242", process="python", **labels)


def test_vram_high_says_how_full_which_gpu_is_and_who_holds_it() -> None:
    frame = card(24 * GIB, free=1.2 * GIB) + [process(20 * GIB)]
    (warning,) = judge(VramHigh(VramHighConfig()), [frame])
    assert warning == Finding(
        GPU0,
        "GPU 0 (NVIDIA GeForce RTX 4090) VRAM is 95 % full: 22.8 GB of 24.0 GB; largest: python (pid 4242), 20.0 GB",
        f"new allocations may fail (CUDA out of memory). {FIT}",
        holder="python (pid 4242)",
    )


def test_vram_high_critical_has_its_own_advice_and_time() -> None:
    frame = card(32 * GIB, name="", free=0.5 * GIB)
    warning, critical = judge(VramHigh(VramHighConfig(critical_for_s=45.0)), [frame])
    what = "GPU 0 VRAM is 98 % full: 31.5 GB of 32.0 GB"
    assert (warning.what, warning.severity, warning.holder) == (what, None, "")
    assert critical == Finding(
        GPU0, what, f"the next allocation will likely fail (CUDA out of memory). {FIT}", "critical", 45.0
    )


@pytest.mark.parametrize(
    ("free", "active", "severities"),
    [
        (0.10, False, ["warning"]),  # 90 % full: at the warning line
        (0.11, False, []),
        (0.15, "warning", ["warning"]),  # a warning on holds down to 85 %
        (0.16, "warning", []),
        (0.03, False, ["warning", "critical"]),  # 97 %: at the critical line
        (0.04, False, ["warning"]),
        (0.10, "critical", ["warning", "critical"]),  # a critical alert on holds down to 90 %
        (0.11, "critical", []),
    ],
)
def test_vram_high_starts_and_clears_at_its_lines(free: float, active: str | bool, severities: list[str]) -> None:
    found = judge(VramHigh(VramHighConfig()), [card(32 * GIB, free=free * 32 * GIB)], active, GPU0)
    assert [finding.severity or "warning" for finding in found] == severities


def test_vram_high_judges_each_gpu_by_its_own_memory() -> None:
    frame = card(0.0, {"gpu": "2", "uuid": "GPU-c"}, free=0.0)  # no memory at all
    frame += card(8 * GIB, {"gpu": "3", "uuid": "GPU-d"})  # no free memory read
    frame += card(16 * GIB, free=8 * GIB) + card(24 * GIB, GPU1, free=1 * GIB)
    assert [finding.labels for finding in judge(VramHigh(VramHighConfig()), [frame])] == [GPU1]


def held_idle(
    rule: VramHeldIdle,
    baseline: tuple[float, float],
    now: float,
    values: list[float],
    utilization: float = 0.0,
    total: float = 24 * GIB,
) -> list[Finding]:
    """The rule evaluated after each collection: `baseline` (time, used) once, then `values` STEP
    apart from `now` on; the findings on the last."""
    store, found = Store(), []
    when, low = baseline
    readings = [(when, low)] + [(now + i * STEP, value) for i, value in enumerate(values)]
    for t, used in readings:
        collect(store, t, card(total, used=used, utilization=utilization) + [process(used - low)])
        found = findings(rule, store)
    return found


def test_vram_held_idle_says_how_much_is_held_above_the_idle_baseline() -> None:
    (finding,) = held_idle(VramHeldIdle(VramHeldIdleConfig()), (T0, 2 * GIB), T0 + 600, [12 * GIB] * 5)
    assert finding == Finding(
        GPU0,
        "GPU 0 (NVIDIA GeForce RTX 4090) holds 12.0 GB of VRAM (10.0 GB above its idle 2.0 GB) at 0.0 % utilization; "
        "largest: python (pid 4242), 10.0 GB",
        "a finished or crashed run still holds it. Try: end the process that holds it (nvidia-smi lists GPU "
        "processes); in a notebook, restart the kernel",
        holder="python (pid 4242)",
    )


@pytest.mark.parametrize(
    ("utilization", "fires"),
    [(0.05, True), (0.06, False)],  # idle up to 5 % utilization
)
def test_vram_held_idle_only_while_the_gpu_is_idle(utilization: float, fires: bool) -> None:
    rule = VramHeldIdle(VramHeldIdleConfig())
    assert len(held_idle(rule, (T0, 2 * GIB), T0 + 600, [12 * GIB] * 5, utilization)) == int(fires)


@pytest.mark.parametrize(
    ("moved", "fires"),
    [(256 * MIB, True), (257 * MIB, False)],  # unchanged within 256 MiB
)
def test_vram_held_idle_only_while_the_memory_is_unchanged(moved: float, fires: bool) -> None:
    values = [12 * GIB, 12 * GIB + moved, 12 * GIB, 12 * GIB, 12 * GIB]
    assert len(held_idle(VramHeldIdle(VramHeldIdleConfig()), (T0, 2 * GIB), T0 + 600, values)) == int(fires)


@pytest.mark.parametrize(
    ("held", "fires"),
    [(3.6, True), (3.5, False)],  # 15 % of 24 GiB: over the 1 GiB line
)
def test_vram_held_idle_needs_a_share_of_the_gpu_held(held: float, fires: bool) -> None:
    found = held_idle(VramHeldIdle(VramHeldIdleConfig()), (T0, 2 * GIB), T0 + 600, [(2 + held) * GIB] * 5)
    assert len(found) == int(fires)


@pytest.mark.parametrize(("held", "fires"), [(1.0, True), (0.9, False)])
def test_vram_held_idle_needs_a_gib_held_on_a_small_gpu(held: float, fires: bool) -> None:
    # 4 GiB: 15 % is 0.6 GiB, under the 1 GiB line.
    found = held_idle(VramHeldIdle(VramHeldIdleConfig()), (T0, 0.0), T0 + 600, [held * GIB] * 5, total=4 * GIB)
    assert len(found) == int(fires)


@pytest.mark.parametrize(
    ("later", "fires"),
    [(23 * HOUR, True), (24 * HOUR, False), (30 * HOUR, False)],  # the lowest use of the last 24 hours
)
def test_vram_held_idle_forgets_a_baseline_a_day_old(later: float, fires: bool) -> None:
    found = held_idle(VramHeldIdle(VramHeldIdleConfig()), (T0, 2 * GIB), T0 + later, [12 * GIB] * 5)
    assert len(found) == int(fires)


def test_vram_held_idle_needs_the_utilization_and_two_minutes_of_history() -> None:
    rule = VramHeldIdle(VramHeldIdleConfig())
    assert held_idle(rule, (T0, 2 * GIB), T0 + 30, [12 * GIB] * 2) == []  # 90 s of history in all
    store = Store()
    for i in range(6):
        collect(store, T0 + i * STEP, card(24 * GIB, used=(2 if i == 0 else 12) * GIB))
    assert findings(VramHeldIdle(VramHeldIdleConfig()), store) == []


def test_vram_held_idle_judges_each_gpu_by_its_own_memory() -> None:
    # Ahead of the held one: GPUs without a reading of used memory, busy, holding little, changing.
    others = [
        lambda i: card(8 * GIB, {"gpu": "3", "uuid": "GPU-d"}, utilization=0.0),
        lambda i: card(8 * GIB, {"gpu": "4", "uuid": "GPU-e"}, used=(1 if i == 0 else 6) * GIB, utilization=0.5),
        lambda i: card(8 * GIB, {"gpu": "5", "uuid": "GPU-f"}, used=1 * GIB, utilization=0.0),
        lambda i: card(8 * GIB, {"gpu": "6", "uuid": "GPU-g"}, used=(1 + i) * GIB, utilization=0.0),
    ]
    rule, store = VramHeldIdle(VramHeldIdleConfig()), Store()
    for i, used in enumerate([2 * GIB] + [12 * GIB] * 5):
        frame = [reading for other in others for reading in other(i)]
        collect(store, T0 + i * STEP, frame + card(24 * GIB, GPU1, used=used, utilization=0.0))
        found = findings(rule, store)
    assert [finding.labels for finding in found] == [GPU1]
