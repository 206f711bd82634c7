"""Reading recorded samples: the JSON Lines that `record` and the daemon's history file write.

One line per moment: `{"t": <unix s>, "samples": [{"name": ..., "labels": {...}, "value": x}]}`.
Only the series asked for are kept, so a long file costs little memory. A line that does
not parse (e.g. the last one, cut short by a crash) is skipped and counted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

__all__ = ["AlertSpan", "Recording", "read_recording", "spans_of"]

log = logging.getLogger(__name__)

ALERT_FIRING = "wslwatch_alert_firing"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AlertSpan:
    """One alert firing from `start` until `end` (the first moment it was no longer firing)."""

    rule: str
    severity: str
    labels: Mapping[str, str]
    start: float
    end: float


@dataclass
class Recording:
    """The wanted series of a recording, as `(t, value)` points in time order."""

    times: list[float] = field(default_factory=list)
    points: dict[str, dict[Labels, dict[float, float]]] = field(default_factory=dict)
    alerts: list[AlertSpan] = field(default_factory=list)
    alert_samples: int = 0  # how many `wslwatch_alert_firing` samples the lines held
    bad_lines: int = 0

    @property
    def start(self) -> float | None:
        return self.times[0] if self.times else None

    @property
    def end(self) -> float | None:
        return self.times[-1] if self.times else None

    def series(self, name: str) -> dict[Labels, dict[float, float]]:
        """Every label set of `name`, each as `{t: value}`."""
        return self.points.get(name, {})

    def one(self, name: str) -> dict[float, float]:
        """The points of `name` summed over its label sets (most series here have one)."""
        total: dict[float, float] = {}
        for points in self.series(name).values():
            for t, value in points.items():
                total[t] = total.get(t, 0.0) + value
        return total


def read_recording(paths: Sequence[Path], names: Iterable[str], since_s: float | None = None) -> Recording:
    """Read `paths` (oldest first) keeping `names` and the firing alerts; with `since_s`, only the
    last `since_s` seconds before the newest line."""
    wanted = set(names) | {ALERT_FIRING}
    frames: list[tuple[float, list[tuple[str, Labels, float]]]] = []
    bad = 0
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                frame = _parse(line, wanted)
                if frame is None:
                    bad += bool(line.strip())
                    continue
                frames.append(frame)
    frames.sort(key=lambda frame: frame[0])
    if since_s is not None and frames:
        horizon = frames[-1][0] - since_s
        frames = [frame for frame in frames if frame[0] >= horizon]
    if bad:
        log.warning("skipped %d unreadable line(s) in %s", bad, ", ".join(str(p) for p in paths))
    return _assemble(frames, bad)


def _parse(line: str, wanted: set[str]) -> tuple[float, list[tuple[str, Labels, float]]] | None:
    try:
        raw = json.loads(line)
        t = float(raw["t"])
        samples = [
            (s["name"], tuple(sorted((str(k), str(v)) for k, v in s.get("labels", {}).items())), float(s["value"]))
            for s in raw["samples"]
            if s["name"] in wanted
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return t, samples


def _assemble(frames: list[tuple[float, list[tuple[str, Labels, float]]]], bad: int) -> Recording:
    recording = Recording(bad_lines=bad)
    open_alerts: dict[Labels, float] = {}
    for t, samples in frames:
        recording.times.append(t)
        firing: set[Labels] = set()
        for name, labels, value in samples:
            if name == ALERT_FIRING:
                recording.alert_samples += 1
                if value >= 1:
                    firing.add(labels)
                continue
            recording.points.setdefault(name, {}).setdefault(labels, {})[t] = value
        for labels in set(open_alerts) - firing:
            recording.alerts.append(_span(labels, open_alerts.pop(labels), t))
        for labels in firing - set(open_alerts):
            open_alerts[labels] = t
    for labels, start in open_alerts.items():
        recording.alerts.append(_span(labels, start, recording.times[-1]))
    recording.alerts.sort(key=lambda span: span.start)
    return recording


def spans_of(transitions: Iterable[tuple[str, str, Mapping[str, str], str, float]], end: float) -> list[AlertSpan]:
    """Alert spans from `(rule, severity, labels, state, when)` transitions in time order; an alert
    still firing at the last one ends at `end`."""
    started: dict[tuple[str, str, Labels], float] = {}
    spans = []
    for rule, severity, labels, state, when in transitions:
        key = (rule, severity, tuple(sorted(labels.items())))
        if state == "firing":
            started.setdefault(key, when)
        elif key in started:
            spans.append(AlertSpan(rule, severity, dict(labels), started.pop(key), when))
    spans += [AlertSpan(rule, severity, dict(labels), start, end) for (rule, severity, labels), start in started.items()]
    return sorted(spans, key=lambda span: span.start)


def _span(labels: Labels, start: float, end: float) -> AlertSpan:
    table = dict(labels)
    return AlertSpan(table.get("rule", "?"), table.get("severity", "warning"), table, start, end)
