"""Recording the Store as JSON Lines, and replaying such a file through the same rules engine.

One line per Store update holds the whole snapshot at that moment (DESIGN §3):
`{"t": <unix s>, "samples": [{"name", "labels", "value"}]}`. A sample collected before `t`
(a 30 s guest reading in a snapshot made by a 15 s collector) also carries its own `"ts"`,
an additive key, so replay rebuilds the same history the live Store had: each series'
points at the times they were collected. A series missing from a line is absent at that time.

Replay feeds every line into a fresh `Store` as one update at the line's time; the engine is
built by the same `create_engine` as the daemon's, so it runs on the file's clock.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, TextIO

from wslwatch.config.schema import Config
from wslwatch.core import Alert, Sample
from wslwatch.daemon.rules import create_engine
from wslwatch.store import Snapshot, Store

__all__ = ["Frame", "Recorder", "RecordingError", "frame_line", "read_frames", "replay", "transition_line"]

#: The collector name replayed samples are stored under.
REPLAYED = "replay"


class RecordingError(Exception):
    """A recorded file is not what `record` writes; the message is `FILE:LINE: what`."""


@dataclass(frozen=True)
class Frame:
    """One recorded line: every sample known at time `t`."""

    t: float
    samples: tuple[Sample, ...]


def frame_line(snapshot: Snapshot) -> str:
    """The JSON line for one snapshot (no newline)."""
    samples = []
    for sample in snapshot.samples:
        item: dict[str, Any] = {"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
        if sample.ts != snapshot.ts:
            item["ts"] = sample.ts
        samples.append(item)
    return json.dumps({"t": snapshot.ts, "samples": samples}, separators=(",", ":"))


class Recorder:
    """A Store listener appending each snapshot as a line to `stream`, flushed at once.

    Snapshots arrive from several collector threads; one older than the last written is
    skipped, since the newer one already held all it held (and the file's time never goes back).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._last = float("-inf")

    def __call__(self, snapshot: Snapshot) -> None:
        with self._lock:
            if snapshot.ts < self._last:
                return
            self._last = snapshot.ts
            self._stream.write(frame_line(snapshot) + "\n")
            self._stream.flush()


def read_frames(lines: Iterable[str], source: str) -> Iterator[Frame]:
    """Parse recorded lines (blank lines are skipped); raise `RecordingError` at the first bad one."""
    previous: float | None = None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            frame = _frame(text)
        except ValueError as exc:
            raise RecordingError(f"{source}:{number}: {exc}") from None
        if previous is not None and frame.t < previous:
            raise RecordingError(
                f"{source}:{number}: time goes backwards (t={frame.t:g} after t={previous:g}); "
                "lines must be in time order, as `wslwatch record` writes them"
            )
        previous = frame.t
        yield frame


def _frame(text: str) -> Frame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
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
        raise ValueError(f'{where}"{key}" must be a number, got {json.dumps(value)}')
    if key != "value" and not math.isfinite(value):
        raise ValueError(f'{where}"{key}" must be a finite number')
    return float(value)


def replay(frames: Iterable[Frame], config: Config) -> Iterator[Alert]:
    """Every alert transition the daemon's engine makes over `frames`, in order; each
    transition's `since` is the time it happened."""
    store = Store()
    engine = create_engine(config, store)
    happened: list[Alert] = []
    engine.subscribe(lambda now, transitions, current: happened.extend(transitions))
    for frame in frames:
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
