"""Recording the Store as JSON Lines, and replaying such a file through the same rules engine.

One line per Store update holds the whole snapshot at that moment (DESIGN §3):
`{"t": <unix s>, "samples": [{"name", "labels", "value"}]}`. A sample collected before `t`
(a 30 s guest reading in a snapshot made by a 15 s collector) also carries its own `"ts"`,
an additive key, so replay rebuilds the same history the live Store had: each series'
points at the times they were collected. A series missing from a line is absent at that time.

Replay feeds every line into a fresh `Store` as one update at the line's time; the engine is
built by the same `create_engine` as the daemon's, so it runs on the file's clock. A damaged
line (cut short by a crash or a full disk, edited by hand) is skipped with a warning naming
`FILE:LINE`, and the lines after it are read; where the clock stepped back (the recording
machine's clock was set), the rules start afresh, as a restarted daemon's would.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from wslwatch.config.schema import Config
from wslwatch.core import Alert, Sample
from wslwatch.daemon.line_file import LineFile, clock_went_back
from wslwatch.daemon.rules import create_engine
from wslwatch.exporters.recording import decode_line, time_problem
from wslwatch.store import Snapshot, Store

__all__ = ["Frame", "Recorder", "frame_line", "read_frames", "replay", "transition_line"]

log = logging.getLogger(__name__)

#: The collector name replayed samples are stored under.
REPLAYED = "replay"
#: Damaged lines warned about one by one; the rest are counted at the end.
MAX_WARNINGS = 20


@dataclass(frozen=True)
class Frame:
    """One recorded line: every sample known at time `t`."""

    t: float
    samples: tuple[Sample, ...]


def frame_line(snapshot: Snapshot) -> str:
    """The JSON line for one snapshot (no newline)."""
    samples = []
    for sample in snapshot.samples:
        if not math.isfinite(sample.value):  # no reader takes NaN or infinities: the line would be lost
            continue
        item: dict[str, Any] = {"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
        if sample.ts < snapshot.ts:  # (one collected before a clock was set back counts as now)
            item["ts"] = sample.ts
        samples.append(item)
    return json.dumps({"t": snapshot.ts, "samples": samples}, separators=(",", ":"))


class Recorder:
    """A Store listener appending each snapshot as a line to `lines`.

    Snapshots arrive from several collector threads; one older than the last written is
    skipped, since the newer one already held all it held, unless the clock was set back:
    then the file's time goes back with it (replay starts its rules afresh there).
    """

    def __init__(self, lines: LineFile) -> None:
        self._lines = lines
        self._lock = threading.Lock()
        self._last = float("-inf")

    def __call__(self, snapshot: Snapshot) -> None:
        with self._lock:
            if snapshot.ts < self._last:
                if not clock_went_back(self._last):
                    return
                log.warning("the clock went back %.0f s; %s goes on from the new time", self._last - snapshot.ts,
                            self._lines.path)
            self._last = snapshot.ts
            self._lines.write(frame_line(snapshot))


def read_frames(lines: Iterable[str], source: str) -> Iterator[Frame]:
    """Parse recorded lines; a blank one is passed over, a damaged one skipped with a warning
    `source:LINE: ...` (the first `MAX_WARNINGS`, then a count), and so is a step back in time."""
    previous: float | None = None
    skipped = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            frame = _frame(text)
        except ValueError as exc:
            skipped += 1
            if skipped <= MAX_WARNINGS:
                log.warning("%s:%d: line skipped: %s", source, number, exc)
            continue
        if previous is not None and frame.t < previous:
            log.warning("%s:%d: the clock went back %.0f s here (t=%g after t=%g); the rules start afresh",
                        source, number, previous - frame.t, frame.t, previous)
        previous = frame.t
        yield frame
    if skipped > MAX_WARNINGS:
        log.warning("%s: %d more damaged lines skipped", source, skipped - MAX_WARNINGS)


def _frame(text: str) -> Frame:
    doc = decode_line(text)
    if not isinstance(doc, dict):
        raise ValueError('must be a JSON object {"t": ..., "samples": [...]}')
    t = _number(doc, "t", "")
    samples = doc.get("samples")
    if not isinstance(samples, list):
        raise ValueError('missing "samples" (a list of {"name", "labels", "value"})')
    return Frame(t, tuple(_sample(item, t, f"samples[{i}]") for i, item in enumerate(samples)))


def _sample(item: Any, t: float, where: str) -> Sample:
    if not isinstance(item, dict):
        raise ValueError(f'{where} must be an object {{"name", "labels", "value"}}')
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f'{where} needs "name", a metric name')
    labels = item.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError(f'{where} ({name}): "labels" must be an object of strings')
    value = _number(item, "value", f"{where} ({name}): ")
    ts = _number(item, "ts", f"{where} ({name}): ") if "ts" in item else t
    if ts > t:
        raise ValueError(f'{where} ({name}): "ts" {ts:g} is after the line\'s t {t:g}')
    return Sample(name, labels, value, ts)


def _number(doc: dict[str, Any], key: str, where: str) -> float:
    value = doc.get(key)
    if value is None:
        raise ValueError(f'{where}missing "{key}"')
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{where}"{key}" must be a number, got {json.dumps(value)[:40]}')
    number = float(value)
    if key == "value":
        wrong = None if math.isfinite(number) else "must be a finite number"
    else:
        wrong = time_problem(number)
    if wrong:
        raise ValueError(f'{where}"{key}" {wrong}, got {number:g}')
    return number


def replay(frames: Iterable[Frame], config: Config) -> Iterator[Alert]:
    """Every alert transition the daemon's engine makes over `frames`, in order; each
    transition's `since` is the time it happened."""
    happened: list[Alert] = []
    store: Store | None = None
    last = 0.0
    for frame in frames:
        if store is None or frame.t < last:  # the start, or a clock set back: as a restarted daemon
            store = Store()
            create_engine(config, store).subscribe(lambda now, transitions, current: happened.extend(transitions))
        last = frame.t
        store.record(REPLAYED, list(frame.samples), frame.t, 0.0)
        yield from happened
        happened.clear()


def transition_line(alert: Alert) -> str:
    """The replay output line (DESIGN §3) for one transition."""
    return json.dumps(
        {
            "t": alert.since,
            "rule": alert.rule,
            "state": alert.state,
            "severity": alert.severity,
            "labels": dict(alert.labels),
            "summary": alert.summary,
        },
        ensure_ascii=False,
    )
