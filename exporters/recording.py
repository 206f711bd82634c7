"""Reading recorded samples: the JSON Lines that `record` and the daemon's history file write.

One line per moment: `{"t": <unix s>, "samples": [{"name": ..., "labels": {...}, "value": x}]}`.
Only the series asked for are kept, so a long file costs little memory. A line that does
not parse (e.g. the last one, cut short by a crash), that is longer than `MAX_LINE_CHARS`, or
whose times or values are not plausible finite numbers (NaN, 1e999, a 400-digit integer, a
year outside 1970-2999) is skipped and counted: nothing a file holds crashes a reader.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence, TextIO

__all__ = ["MAX_LINE_CHARS", "AlertSpan", "Recording", "bounded_lines", "decode_line", "read_recording", "spans_of",
           "time_problem"]

log = logging.getLogger(__name__)

ALERT_FIRING = "wslwatch_alert_firing"

Labels = tuple[tuple[str, str], ...]

#: A line with many GPUs and paths is well under 1 MiB; a longer one is not ours and is skipped
#: without being held in memory whole.
MAX_LINE_CHARS = 8 << 20
#: The times a recorded line may carry: 1970 to the year 3000 (datetime draws them; a clock is not wronger).
LAST_T = 32503680000.0
_MAX_DIGITS = 30


def bounded_lines(stream: TextIO) -> Iterator[str]:
    """The lines of `stream`; one longer than `MAX_LINE_CHARS` comes cut to `MAX_LINE_CHARS + 1`
    characters (which `decode_line` refuses), the rest of it read and dropped in bounded pieces."""
    while line := stream.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            rest = line
            while rest and not rest.endswith("\n"):
                rest = stream.readline(MAX_LINE_CHARS)
        yield line


def decode_line(text: str) -> Any:
    """The JSON of one recorded line; `ValueError` for anything `record` does not write (NaN,
    Infinity, huge integers, nesting too deep for the parser, an overlong line)."""
    if len(text) > MAX_LINE_CHARS:
        raise ValueError(f"longer than {MAX_LINE_CHARS >> 20} MiB, which no recorded line is")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not a recorded line (JSON nested too deep)") from None


def time_problem(t: float) -> str | None:
    """What is wrong with `t` as a recorded time (unix seconds), or None."""
    return None if 0 <= t <= LAST_T else "must be a time from 1970 to the year 3000 (unix seconds)"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a recording holds")


def _bounded_int(digits: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise ValueError(f"a {len(digits)}-digit number is not one a recording holds")
    return int(digits)


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
        with path.open(encoding="utf-8", errors="replace") as stream:
            for line in bounded_lines(stream):
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
        raw = decode_line(line)
        t = float(raw["t"])
        samples = [
            (s["name"], tuple(sorted((str(k), str(v)) for k, v in s.get("labels", {}).items())), float(s["value"]))
            for s in raw["samples"]
            if s["name"] in wanted
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if time_problem(t) or not all(math.isfinite(value) for _, _, value in samples):
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
