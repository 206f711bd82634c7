"""reclaim_stalled and reclaim_gate_blocked judge the guest as the running WSL version's own
reclaim thread does, and say when released WSL's thread has died.

Timelines from the scenario library's generator (real series, real cadences), with the
`wslwatch_wsl_info` series the wsl_version collector adds, replayed through the real engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wslwatch.config import Config
from wslwatch.core import Alert
from wslwatch.daemon.recording import read_frames, replay

sys.path.insert(0, str(Path(__file__).parent / "scenarios"))
from make_scenarios import GIB, IDLE_SYSTEM, IDLE_USER, T0, Fn, Guest, Host, Scenario, WslConfig, const, steps, timeline  # noqa: E402


def _replay(s: Scenario, version: str | None, extra: list[dict[str, object]] | None = None) -> list[Alert]:
    lines = []
    for frame in timeline(s):
        samples = list(frame["samples"])  # type: ignore[call-overload]
        if version is not None:
            samples.append({"name": "wslwatch_wsl_info", "labels": {"version": version, "kernel": "6.6.87.2-microsoft-standard-WSL2"}, "value": 1})
        samples += extra or []
        lines.append(json.dumps({"t": frame["t"], "samples": samples}))
    return list(replay(read_frames(lines, s.name), Config()))


def _idle_with_cache(name: str, cpu_user: Fn, cpu_system: Fn, duration: float = 3600) -> Scenario:
    """0.7 GiB of programs and 9 GiB of page cache that never goes, under dropCache."""
    guest = Guest(15.6 * GIB, anon=const(0.7 * GIB), cache=const(9 * GIB), cpu_user=cpu_user, cpu_system=cpu_system)
    return Scenario(name, "", duration, Host(32 * GIB), guest, WslConfig("dropCache"))


def _first(alerts: list[Alert], rule: str, state: str) -> Alert | None:
    return next((a for a in alerts if a.rule == rule and a.state == state), None)


def test_the_rewrite_gives_up_after_two_minutes_released_after_ten() -> None:
    idle = _idle_with_cache("idle", steps(0.6, (600, IDLE_USER)), steps(0.07, (600, IDLE_SYSTEM)))
    released = _first(_replay(idle, "2.7.10.0"), "reclaim_stalled", "firing")
    rewrite = _first(_replay(idle, "2.10.1.0"), "reclaim_stalled", "firing")
    assert released is not None and rewrite is not None
    # idle from 600 (seen at 630); for = delay + 180 s: 600 s released, 120 s rewrite
    assert released.since == pytest.approx(T0 + 630 + 600 + 180, abs=30)
    assert rewrite.since == pytest.approx(T0 + 630 + 120 + 180, abs=30)


def test_unknown_version_is_judged_as_released() -> None:
    idle = _idle_with_cache("idle", steps(0.6, (600, IDLE_USER)), steps(0.07, (600, IDLE_SYSTEM)))
    unknown = _first(_replay(idle, ""), "reclaim_stalled", "firing")
    none = _first(_replay(idle, None), "reclaim_stalled", "firing")
    assert unknown is not None and none is not None and unknown.since == none.since == pytest.approx(T0 + 1410, abs=30)


def test_kernel_work_keeps_the_rewrite_busy_but_not_released_wsl() -> None:
    """Idle users, 3 % system CPU (I/O, a Docker daemon's kernel work): released WSL counts
    only user CPU and sees an idle guest; the rewrite counts all non-idle CPU and does not."""
    kernel_busy = _idle_with_cache("kernel", steps(0.6, (600, IDLE_USER)), steps(0.07, (600, 0.03)))
    assert _first(_replay(kernel_busy, "2.7.10.0"), "reclaim_stalled", "firing") is not None
    rewrite = _replay(kernel_busy, "2.10.1.0")
    assert _first(rewrite, "reclaim_stalled", "pending") is None
    blocked = _first(rewrite, "reclaim_gate_blocked", "firing")
    assert blocked is not None and "never idle enough" in blocked.summary


def _two_idle_runs() -> Scenario:
    """Idle 10 min+ twice, a busy burst between (longer than reclaim_stalled's clear_for, so the
    first alert resolves); the cache never goes: released WSL's thread is dead."""
    user = steps(0.6, (600, IDLE_USER), (2400, 0.6), (2900, IDLE_USER))
    return _idle_with_cache("dead", user, steps(0.07, (600, IDLE_SYSTEM), (2400, 0.07), (2900, IDLE_SYSTEM)), 5400)


def test_a_gate_missed_twice_says_the_thread_is_dead_and_only_a_restart_helps() -> None:
    firing = [a for a in _replay(_two_idle_runs(), "2.7.10.0") if a.rule == "reclaim_stalled" and a.state == "firing"]
    assert len(firing) == 2
    assert "likely died" not in firing[0].summary and "Try: wsl -u root" in firing[0].summary
    assert "WSL's reclaim thread has likely died" in firing[1].summary
    assert firing[1].summary.endswith("until then: " + 'wsl -u root sh -c "echo 1 > /proc/sys/vm/drop_caches". Try: wsl --shutdown')


def test_with_the_controller_on_the_summary_says_wslwatch_covers_for_it() -> None:
    on = [{"name": "wslwatch_reclaim_freed_bytes_total", "labels": {}, "value": 0}]
    firing = [a for a in _replay(_two_idle_runs(), "2.7.10.0", on) if a.rule == "reclaim_stalled" and a.state == "firing"]
    assert "wslwatch's reclaim controller is covering for it until then. Try: wsl --shutdown" in firing[-1].summary


def test_the_rewrite_thread_survives_failed_writes_so_no_dead_thread_verdict() -> None:
    firing = [a for a in _replay(_two_idle_runs(), "2.10.1.0") if a.rule == "reclaim_stalled" and a.state == "firing"]
    assert firing and all("likely died" not in a.summary for a in firing)
