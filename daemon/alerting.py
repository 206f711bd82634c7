"""The alert state machine: rules judge the data, the engine keeps Prometheus' states.

Per rule, severity and label set: `pending` from the first evaluation where the condition
holds, `firing` once it has held for `for_s`, `resolved` at the first evaluation at least
`clear_for_s` after the first one where it no longer held (Prometheus' `keep_firing_for`; a
firing alert whose condition comes back within that time simply stays firing, so nothing
flaps). A pending alert whose condition stops holding is dropped
without a transition, as in Prometheus. The engine's clock is the snapshot's time, which is
what lets `replay` run it on a recorded file's clock.

A pause between two evaluations longer than `max_gap_s` (the machine slept, the process was
stopped) is not time the condition was seen to hold: a pending alert starts its `for_s` again
at the first evaluation after it, so the gap alone never makes it fire.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from wslwatch.core import Alert
from wslwatch.store import Snapshot
from wslwatch.daemon.view import History, View

__all__ = ["Active", "AlertListener", "Finding", "Rule", "RuleEngine", "format_duration"]

log = logging.getLogger(__name__)

LabelSet = tuple[tuple[str, str], ...]
AlertKey = tuple[str, str, LabelSet]  # rule, severity, labels


def _label_set(labels: Mapping[str, str]) -> LabelSet:
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Finding:
    """A rule's verdict that its condition holds for one label set, now."""

    labels: Mapping[str, str]
    what: str  # the facts, with numbers: "WSL VM holds 37.4 GB but ..."
    advice: str  # the diagnosis and the fix: "autoMemoryReclaim is not reclaiming. Try: ..."
    severity: str | None = None  # None: the rule's own
    for_s: float | None = None  # None: the rule's own
    holder: str = ""  # the largest holder of what the finding is about, where known

    @property
    def summary(self) -> str:
        return f"{self.what} — {self.advice}"


class Active:
    """Which label sets of one rule are pending or firing (rules use their clear line for those)."""

    def __init__(self, keys: Iterable[tuple[str, LabelSet]]) -> None:
        self._keys = frozenset(keys)

    def __call__(self, labels: Mapping[str, str], severity: str) -> bool:
        return (severity, _label_set(labels)) in self._keys


class Rule(Protocol):
    """One alert rule: a name, its timing, and a judgement of the data."""

    name: str
    severity: str
    for_s: float
    clear_for_s: float

    def evaluate(self, view: View, active: Active) -> Iterable[Finding]:
        """A finding for every label set whose condition holds now; none where inputs are missing."""
        ...


AlertListener = Callable[[float, Sequence[Alert], Sequence[Alert]], None]
"""Called after each evaluation with `(now, transitions, current pending and firing alerts)`."""


@dataclass
class _Track:
    rule: str
    severity: str
    labels: Mapping[str, str]
    state: str
    since: float
    finding: Finding
    cleared: float | None = None  # the first evaluation where a firing alert's condition failed
    fired: str = ""  # what the alert said when it fired: its resolution quotes it

    def alert(self, state: str | None = None, summary: str | None = None) -> Alert:
        return Alert(
            self.rule,
            self.severity,
            state or self.state,
            dict(self.labels),
            summary or self.finding.summary,
            self.since,
            self.finding.holder,
        )


class RuleEngine:
    """Evaluates every rule on each Store update and keeps each alert's state."""

    def __init__(self, rules: Sequence[Rule], history: History, max_gap_s: float = math.inf) -> None:
        self._rules = {rule.name: rule for rule in rules}
        self._history = history
        self._max_gap_s = max_gap_s
        self._tracks: dict[AlertKey, _Track] = {}
        self._listeners: list[AlertListener] = []
        self._lock = threading.Lock()
        self._now = float("-inf")
        self._alerts: tuple[Alert, ...] = ()
        self._broken: set[str] = set()

    def subscribe(self, listener: AlertListener) -> None:
        """Call `listener` after every evaluation, in evaluation order."""
        self._listeners.append(listener)

    def alerts(self) -> tuple[Alert, ...]:
        """The pending and firing alerts of the last evaluation (safe from any thread)."""
        return self._alerts

    def replace_rules(self, rules: Sequence[Rule]) -> None:
        """Judge with `rules` from now on; alerts of rules that are gone are dropped, others kept."""
        with self._lock:
            self._rules = {rule.name: rule for rule in rules}
            self._tracks = {key: track for key, track in self._tracks.items() if key[0] in self._rules}
            self._alerts = tuple(track.alert() for track in self._tracks.values())

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """A Store listener: evaluate every rule at the snapshot's time.

        Collectors update the Store from several threads, so a snapshot can arrive after a
        newer one; it is skipped, since the newer snapshot already holds all it held.
        """
        with self._lock:
            if snapshot.ts < self._now:
                return
            if self._tracks and snapshot.ts - self._now > self._max_gap_s:
                self._restart_pending(snapshot.ts - self._now, snapshot.ts)
            self._now = snapshot.ts
            transitions = self._evaluate(View(snapshot, self._history))
            self._alerts = tuple(track.alert() for track in self._tracks.values())
            for listener in self._listeners:
                listener(snapshot.ts, transitions, self._alerts)

    def _restart_pending(self, gap_s: float, now: float) -> None:
        pending = [track for track in self._tracks.values() if track.state == "pending"]
        for track in pending:
            track.since = now
        if pending:
            log.info("no evaluation for %s (asleep?): %d pending alert(s) start their wait again",
                     format_duration(gap_s), len(pending))  # fmt: skip

    def _evaluate(self, view: View) -> list[Alert]:
        now = view.now
        transitions: list[Alert] = []
        held: set[AlertKey] = set()
        for rule in self._rules.values():
            findings = self._judge(rule, view)
            if findings is None:  # the rule failed: keep its alerts as they are
                held.update(key for key in self._tracks if key[0] == rule.name)
                continue
            for finding in findings:
                severity = finding.severity or rule.severity
                key = (rule.name, severity, _label_set(finding.labels))
                held.add(key)
                for_s = rule.for_s if finding.for_s is None else finding.for_s
                transition = self._hold(key, finding, for_s, now)
                if transition is not None:
                    transitions.append(transition)
        for key in [key for key in self._tracks if key not in held]:
            transition = self._release(key, now)
            if transition is not None:
                transitions.append(transition)
        return transitions

    def _judge(self, rule: Rule, view: View) -> list[Finding] | None:
        active = Active((key[1], key[2]) for key in self._tracks if key[0] == rule.name)
        try:
            findings = list(rule.evaluate(view, active))
        except Exception:  # noqa: BLE001 - one broken rule must not stop the others
            if rule.name not in self._broken:
                log.exception("rule %s failed; its alerts keep their state until it works again", rule.name)
                self._broken.add(rule.name)
            return None
        if rule.name in self._broken:
            log.info("rule %s works again", rule.name)
            self._broken.discard(rule.name)
        return findings

    def _hold(self, key: AlertKey, finding: Finding, for_s: float, now: float) -> Alert | None:
        track = self._tracks.get(key)
        if track is None:
            state = "firing" if for_s <= 0 else "pending"
            track = _Track(key[0], key[1], dict(finding.labels), state, now, finding, fired=finding.what)
            self._tracks[key] = track
            return track.alert()
        track.cleared = None
        track.finding = finding
        if track.state == "pending" and now - track.since >= for_s:
            track.state = "firing"
            track.since = now
            track.fired = finding.what
            return track.alert()
        return None

    def _release(self, key: AlertKey, now: float) -> Alert | None:
        track = self._tracks[key]
        if track.state == "pending":
            del self._tracks[key]
            return None
        if track.cleared is None:
            track.cleared = now
        if now - track.cleared < self._rules[key[0]].clear_for_s:
            return None
        del self._tracks[key]
        firing_for = format_duration(now - track.since)
        track.since = now
        return track.alert("resolved", f"Resolved after {firing_for} (was: {track.fired})")


def format_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `2 h 5 min`: how long, for a person."""
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
