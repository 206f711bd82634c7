"""What the rules share: how they write numbers, the signals read from WSL's series, and the
.wslconfig rule's texts."""

from __future__ import annotations

import pytest

from rule_readings import GIB, MIB, T0, Reading, collect, cpu_frames, judge, r
from wslwatch.config.schema import WslconfigProblemConfig
from wslwatch.core import Sample
from wslwatch.daemon.alerting import Finding
from wslwatch.daemon.rules._text import gb, largest, mb, pct
from wslwatch.daemon.rules._wsl import (
    RELEASED,
    REWRITE,
    cpu_share,
    guest_memory,
    idle_since,
    model_for,
    reclaim_mode,
    reclaim_model,
    vm_running,
)
from wslwatch.daemon.rules.wslconfig import WslconfigProblem
from wslwatch.daemon.view import View
from wslwatch.holders import Held
from wslwatch.store import Store


def view_of(*frames: list[Reading], step: float = 30.0) -> View:
    store = Store()
    for i, frame in enumerate(frames):
        collect(store, T0 + i * step, frame)
    return View(store.snapshot(), store.history)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (gb(37.4 * GIB), "37.4 GB"),
        (gb(0.05 * GIB), "0.1 GB"),
        (mb(150 * MIB), "150 MB"),
        (mb(149.6 * MIB), "150 MB"),
        (pct(0.97), "97 %"),
        (pct(0.1), "10 %"),  # from 10 % on, whole percents
        (pct(0.012), "1.2 %"),
        (pct(0.0999), "10.0 %"),
        (largest(None), ""),
        (largest(Held("container qdrant", 11 * GIB)), "; largest: container qdrant, 11.0 GB"),
    ],
)
def test_numbers_read_as_windows_shows_them(text: str, want: str) -> None:
    assert text == want


@pytest.mark.parametrize(
    ("version", "name", "known"),
    [
        ("2.6.1.0", "released", "2.6.1.0"),
        ("2.9.99.0", "released", "2.9.99.0"),  # the last released line
        ("2.10.0.0", "rewrite", "2.10.0.0"),  # microsoft/WSL#41096
        ("3.0.1", "rewrite", "3.0.1"),
        ("2", "released", ""),  # unreadable: the released model, as WSL ships it, version unknown
        ("preview", "released", ""),
    ],
)
def test_the_reclaim_model_follows_the_wsl_version(version: str, name: str, known: str) -> None:
    got = reclaim_model(view_of([r("wsl_info", 1.0, version=version, kernel="6.6")]))
    assert (got.name, got.version, got.thread_dies) == (name, known, name == "released")
    assert model_for(version) == got


@pytest.mark.parametrize(
    ("version", "mode", "delay"),
    [
        ("2.6.1.0", "dropcache", 600.0),  # released WSL: 20 ticks of 30 s
        ("2.6.1.0", "gradual", 180.0),  # 6 ticks
        ("2.10.0.0", "dropcache", 120.0),  # the rewrite: 2 min in either mode
        ("2.10.0.0", "gradual", 120.0),
    ],
)  # research/wsl-memory-and-nvml.md §2.3
def test_wsl_reclaims_after_its_versions_idle_delay(version: str, mode: str, delay: float) -> None:
    assert model_for(version).delay_s(mode) == delay


def test_released_wsl_counts_only_user_time_the_rewrite_all_busy_time() -> None:
    # 2 % of the CPUs in the kernel (system), no user time: idle to released WSL, busy to the rewrite.
    seconds = {"user": 0.0, "system": 4.8, "idle": 235.2}  # per 30 s interval of 8 CPUs
    frames = [[r("guest_cpu_seconds_total", i * spent, mode=mode) for mode, spent in seconds.items()] for i in range(4)]
    assert idle_since(view_of(*frames), counted=RELEASED.gate_modes) == T0
    assert idle_since(view_of(*frames), counted=REWRITE.gate_modes) is None


def test_no_wsl_version_is_the_released_model() -> None:
    assert reclaim_model(view_of([])) == RELEASED


@pytest.mark.parametrize(
    ("value", "mode"), [("Gradual", "gradual"), ("DISABLED", "disabled"), ("dropCache", "dropcache")]
)
def test_the_reclaim_mode_is_read_as_wsl_reads_it(value: str, mode: str) -> None:
    info = r("wsl_config_info", 1.0, auto_memory_reclaim=value, section="experimental", path="x")
    assert reclaim_mode(view_of([info])) == mode


@pytest.mark.parametrize(
    ("frame", "running"), [([], True), ([r("vmmem_up", 0.0)], False), ([r("vmmem_up", 1.0)], True)]
)
def test_the_vm_is_stopped_only_when_its_process_is_known_gone(frame: list[Reading], running: bool) -> None:
    assert vm_running(view_of(frame)) is running


def guest(**values: float) -> list[Reading]:
    return [r(f"guest_memory_{key}_bytes", value) for key, value in values.items()]


def test_the_guest_memory_and_what_it_uses_without_its_cache() -> None:
    memory = guest_memory(view_of(guest(total=16 * GIB, free=4 * GIB, available=9 * GIB, reclaimable=5 * GIB)))
    assert memory is not None
    assert (memory.used, memory.used_without_cache) == (12 * GIB, 7 * GIB)
    memory = guest_memory(view_of(guest(total=16 * GIB, free=4 * GIB, available=9 * GIB, reclaimable=13 * GIB)))
    assert memory is not None and memory.used_without_cache == 0.0  # a cache larger than "used": nothing else
    memory = guest_memory(view_of(guest(total=16 * GIB, free=4 * GIB, available=9 * GIB)))
    assert memory is not None and (memory.reclaimable, memory.used_without_cache) == (None, 12 * GIB)


@pytest.mark.parametrize(
    "values",
    [
        {"total": 0.0, "free": 0.0, "available": 0.0},  # a guest not read yet
        {"total": 16 * GIB, "available": 9 * GIB},
        {"total": 16 * GIB, "free": 4 * GIB},
        {"free": 4 * GIB, "available": 9 * GIB},
    ],
)
def test_no_guest_memory_without_its_three_readings(values: dict[str, float]) -> None:
    assert guest_memory(view_of(guest(**values))) is None


def cpu(**seconds: float) -> list[list[Reading]]:
    """Two readings 30 s apart with these CPU seconds spent per mode between them."""
    return [
        [r("guest_cpu_seconds_total", 1000.0, mode=mode) for mode in seconds],
        [r("guest_cpu_seconds_total", 1000.0 + spent, mode=mode) for mode, spent in seconds.items()],
    ]


def test_cpu_shares_count_user_time_and_all_busy_time() -> None:
    # 8 CPUs for 30 s: 240 s. user 24 + nice 6 + system 12 + irq 3 + softirq 3 + steal 12 = 60 busy.
    frames = cpu(user=24, nice=6, system=12, irq=3, softirq=3, steal=12, idle=150, iowait=30)
    share = cpu_share(view_of(*frames), 30.0)
    assert share is not None and (share.user, share.busy) == (0.1, 0.25)
    assert cpu_share(view_of(*frames), 31.0) is None  # a window the history does not cover
    share = cpu_share(view_of(*cpu(user=24, idle=216)), 30.0)  # modes not read count for nothing
    assert share is not None and (share.user, share.busy) == (0.1, 0.1)


@pytest.mark.parametrize("seconds", [{"idle": 240.0}, {"user": 240.0}, {"user": 0.0, "idle": 0.0}])
def test_no_cpu_share_without_user_and_idle_time(seconds: dict[str, float]) -> None:
    assert cpu_share(view_of(*cpu(**seconds)), 30.0) is None


def test_an_idle_run_begins_after_the_last_busy_interval() -> None:
    # A long quiet time, one interval at 2 % (over WSL's 0.5 % gate), three quiet ones: the run
    # is those three, however little the busy interval weighs against all the quiet before it.
    assert idle_since(view_of(*cpu_frames([0.0] * 10 + [0.02] + [0.0] * 3))) == T0 + 11 * 30
    assert idle_since(view_of(*cpu_frames([0.0] * 2))) == T0  # quiet since the first reading
    assert idle_since(view_of(*cpu_frames([0.0] * 3))) == T0
    # 6 of 1200 CPU seconds busy in every interval (40 CPUs): exactly at the gate, so idle to WSL.
    assert idle_since(view_of(*cpu_frames([0.005] * 3, ncpu=40))) == T0


def idle_read_apart(frames: list[list[Reading]], which: int) -> View:
    """`frames` collected 30 s apart, the idle time of reading `which` read a second after the rest."""
    store = Store()
    for i, frame in enumerate(frames):
        t = T0 + i * 30
        late = [t + 1 if i == which and labels["mode"] == "idle" else t for _, _, labels in frame]
        store.record("all", [Sample(n, labels, v, when) for (n, v, labels), when in zip(frame, late)], t, 0.0)
    return View(store.snapshot(), store.history)


def test_an_idle_run_begins_after_a_reading_whose_modes_disagree() -> None:
    assert idle_since(idle_read_apart(cpu_frames([0.0] * 5), 2)) == T0 + 90


def test_no_idle_run_without_readings_of_busy_and_idle_time_together() -> None:
    frames = cpu_frames([0.0] * 3)
    only_idle = [[reading for reading in frame if reading[2]["mode"] == "idle"] for frame in frames]
    assert idle_since(view_of(*only_idle)) is None
    assert idle_since(idle_read_apart(frames, 3)) is None  # the newest reading's modes disagree


def problem(code: str, value: float = 1.0) -> Reading:
    return r("wsl_config_problem", value, code=code)


def test_wslconfig_problems_name_the_file_and_the_fix() -> None:
    info = r("wsl_config_info", 1.0, auto_memory_reclaim="gradual", section="wsl2", path="C:\\Users\\ada\\.wslconfig")
    frame = [info, problem("reclaim_in_wsl2_section"), problem("bad_size", 0.0), problem("something_new")]
    assert judge(WslconfigProblem(WslconfigProblemConfig()), [frame]) == [
        Finding(
            {"code": "reclaim_in_wsl2_section"},
            "autoMemoryReclaim is under [wsl2] in C:\\Users\\ada\\.wslconfig, where WSL ignores it",
            "Try: move it under [experimental], then run wsl --shutdown so WSL reads it again",
        ),
        Finding(
            {"code": "something_new"},
            "C:\\Users\\ada\\.wslconfig has a problem (something_new)",
            "Try: wslwatch once shows what was read; fix it, then run wsl --shutdown so WSL reads it again",
        ),
    ]


def test_a_wslconfig_problem_without_the_files_path_says_wslconfig() -> None:
    (finding,) = judge(WslconfigProblem(WslconfigProblemConfig()), [[problem("page_reporting_deprecated")]])
    assert finding.what == ".wslconfig sets pageReporting, which WSL no longer reads"
