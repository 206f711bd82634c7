"""The reclaim controller's decisions, replayed over session-shaped timelines (one reading per 15 s)."""

from __future__ import annotations

import dataclasses
from typing import Callable

from wslwatch.config.schema import ReclaimConfig
from wslwatch.reclaim.policy import GIB, Policy, Reading, Verdict

HOST = 64 * GIB
ON = ReclaimConfig(enabled=True)


def _timeline(minutes: float, at: Callable[[float], Reading]) -> list[Reading]:
    return [at(t) for t in range(0, int(minutes * 60) + 1, 15)]


def _replay(readings: list[Reading], config: ReclaimConfig = ON) -> list[tuple[float, Verdict]]:
    """The moments the controller acts; each action is taken to succeed at once (the readings
    after it say what the host and guest then looked like)."""
    policy, acted = Policy(config), []
    for r in readings:
        verdict = policy.judge(r)
        if verdict.act:
            policy.acted(r.t)
            acted.append((r.t, verdict))
    return acted


def _issue_10011(t: float) -> Reading:
    """microsoft/WSL#10011 (WSL 2.7.10): Windows at 97 % in use, 28 GB of guest cache, a guest that
    is never idle (VS Code servers, agents: ~2 % CPU); from minute 2 on."""
    short = t >= 120
    return Reading(t, (0.03 if short else 0.30) * HOST, HOST, 28e9, busy=0.02, distro_running=True)


def test_issue_10011_session_gets_its_cache_back_within_the_configured_delay() -> None:
    acted = _replay(_timeline(30, _issue_10011))
    assert acted, "the #10011 session was never given its memory back"
    first, verdict = acted[0]
    assert 120 + ON.for_s <= first <= 120 + ON.for_s + 15  # the `for`, then the next reading
    assert verdict.want_bytes == int((0.15 - 0.03) * HOST)  # Windows' margin back, not the whole cache
    # still short (these readings never recover): again only after the rate limit each time
    assert [t for t, _ in acted] == [first + k * ON.min_interval_s for k in range(len(acted))]


def test_training_session_with_a_busy_guest_and_a_fine_host_is_never_touched() -> None:
    training = _timeline(120, lambda t: Reading(t, 0.40 * HOST, HOST, 12 * GIB, busy=0.85, distro_running=True))
    assert _replay(training) == []


def test_busy_guest_is_left_alone_unless_windows_is_critically_short() -> None:
    short = _timeline(10, lambda t: Reading(t, 0.08 * HOST, HOST, 20 * GIB, busy=0.85, distro_running=True))
    critical = _timeline(10, lambda t: Reading(t, 0.04 * HOST, HOST, 20 * GIB, busy=0.85, distro_running=True))
    assert _replay(short) == []
    assert [t for t, _ in _replay(critical)] == [60]
    assert _replay(critical)[0][1].reason == "Windows is critically short"


def test_unknown_guest_cpu_counts_as_busy() -> None:
    unknown = _timeline(10, lambda t: dataclasses.replace(_issue_10011(t), host_available=0.08 * HOST, busy=None))
    assert _replay(unknown) == []
    assert [t for t, _ in _replay([dataclasses.replace(r, host_available=0.04 * HOST) for r in unknown])] == [60]


def test_stopped_distro_is_never_woken() -> None:
    stopped = _timeline(60, lambda t: dataclasses.replace(_issue_10011(t), distro_running=False))
    assert _replay(stopped) == []
    verdict = Policy(ON).judge(stopped[-1])
    assert "never woken" in verdict.reason


def test_off_by_default_and_never_below_the_floor_nor_during_a_probe() -> None:
    assert ReclaimConfig().enabled is False
    assert _replay(_timeline(30, _issue_10011), ReclaimConfig()) == []
    at_floor = _timeline(30, lambda t: dataclasses.replace(_issue_10011(t), cache=0.9 * GIB))
    assert _replay(at_floor) == []
    probing = _timeline(30, lambda t: dataclasses.replace(_issue_10011(t), probing=True))
    assert _replay(probing) == []


def test_a_short_dip_below_the_line_does_not_act_and_the_want_is_capped_by_the_floor() -> None:
    dip = _timeline(30, lambda t: dataclasses.replace(_issue_10011(t), host_available=(0.03 if 300 <= t < 345 else 0.3) * HOST))
    assert _replay(dip) == []  # 45 s below the line, `for` is 60 s
    small_cache = _timeline(5, lambda t: dataclasses.replace(_issue_10011(t), cache=3 * GIB))
    assert _replay(small_cache)[0][1].want_bytes == 2 * GIB  # 3 GiB of cache, 1 GiB floor
