"""Readings built by hand for one rule at a time: collections into a real Store, a rule's
findings on the View of it (what the engine hands the rule)."""

from __future__ import annotations

from typing import Iterable, Mapping

from wslwatch.core import Sample
from wslwatch.daemon.alerting import Active, Finding, Rule
from wslwatch.daemon.view import View
from wslwatch.store import Store

T0 = 1_785_000_000.0
STEP = 30.0
GIB = 2**30
MIB = 2**20
CPU = "guest_cpu_seconds_total"
Reading = tuple[str, float, dict[str, str]]


def r(name: str, value: float, /, **labels: str) -> Reading:
    """A reading of `wslwatch_<name>`."""
    return (f"wslwatch_{name}", value, labels)


def collect(store: Store, t: float, frame: list[Reading]) -> None:
    """One collection of `frame` at time `t`."""
    store.record("all", [Sample(name, labels, value, t) for name, value, labels in frame], t, 0.0)


def findings(rule: Rule, store: Store, active: bool | str = False, labels: Mapping[str, str] = {}) -> list[Finding]:
    """The rule's findings now. `active`: its alert for `labels` is already pending or firing (True:
    at the rule's severity; or the severity named)."""
    severity = rule.severity if active is True else active
    keys = [(severity, tuple(sorted(labels.items())))] if severity else []
    return list(rule.evaluate(View(store.snapshot(), store.history), Active(keys)))


def judge(
    rule: Rule, frames: Iterable[list[Reading]], active: bool | str = False, labels: Mapping[str, str] = {}
) -> list[Finding]:
    """The rule's findings after the last of `frames`, collected STEP seconds apart."""
    store = Store()
    for i, frame in enumerate(frames):
        collect(store, T0 + i * STEP, frame)
    return findings(rule, store, active, labels)


def judge_every_step(
    rule: Rule, frames: list[list[Reading]], step: float = STEP, history_s: float = 7200.0
) -> list[Finding]:
    """Evaluate after each collection, `step` seconds apart, as the engine does (for rules that
    remember what they saw); the findings of the last."""
    store, found = Store(history_s=history_s), []
    for i, frame in enumerate(frames):
        collect(store, T0 + i * step, frame)
        found = findings(rule, store)
    return found


def cpu_frames(shares: list[float], step: float = STEP, ncpu: int = 8) -> list[list[Reading]]:
    """The guest's CPU counters, a reading every `step` seconds, with `share` of all CPU time
    spent as user time in each interval (the rest idle)."""
    user = idle = 0.0
    frames = []
    for share in [0.0, *shares]:
        user += share * step * ncpu
        idle += (1 - share) * step * ncpu
        frames.append([r(CPU, user, mode="user"), r(CPU, idle, mode="idle")])
    return frames
