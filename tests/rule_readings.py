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
