"""The Store: latest value per series, bounded history, and collector health.

Collectors write through `record()`/`record_failure()`; everyone else reads an
immutable `Snapshot` (a scrape is one attribute read) or a series' history.
"""

from __future__ import annotations

import logging
import threading
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, overload

from wslwatch.core import Sample

__all__ = ["Health", "Points", "SeriesKey", "Snapshot", "Store", "series_key"]

log = logging.getLogger(__name__)

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def series_key(name: str, labels: Mapping[str, str]) -> SeriesKey:
    """A hashable identity for one series: its name and sorted labels."""
    return name, tuple(sorted(labels.items()))


@dataclass(frozen=True, slots=True)
class Health:
    """How one collector is doing."""

    collector: str
    up: bool
    duration_s: float
    errors_total: int
    last_success_ts: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything known at one moment, never changed after it is made."""

    ts: float
    samples: tuple[Sample, ...] = ()
    health: tuple[Health, ...] = ()
    #: `samples` as their sources wrote them: a source's part is the same tuple in every
    #: snapshot until it writes again (what the exporter keeps its rendered lines by)
    parts: tuple[tuple[Sample, ...], ...] = field(default=(), repr=False, compare=False)
    _by_name: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, ts: float, samples: Iterable[Sample], health: Iterable[Health]) -> Snapshot:
        """A snapshot of `samples` as one part."""
        return cls.of_parts(ts, (tuple(samples),), health)

    @classmethod
    def of_parts(cls, ts: float, parts: Iterable[tuple[Sample, ...]], health: Iterable[Health]) -> Snapshot:
        """A snapshot of each source's samples, in order."""
        kept = tuple(part for part in parts if part)
        ordered = tuple(sample for part in kept for sample in part)
        by_name: dict[str, list[Sample]] = {}
        for sample in ordered:
            by_name.setdefault(sample.name, []).append(sample)
        return cls(ts, ordered, tuple(health), kept, {k: tuple(v) for k, v in by_name.items()})

    def series(self, name: str) -> tuple[Sample, ...]:
        """Every current sample named `name`."""
        return self._by_name.get(name, ())

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the first sample named `name` whose labels include `labels`, or None."""
        for sample in self.series(name):
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return None


class Points(Sequence[tuple[float, float]]):
    """One series' `(ts, value)` points, oldest first, kept as two arrays of doubles: 16 bytes a
    point, where a deque of tuples took about 110 (50 probed paths hold some 360 000 points)."""

    __slots__ = ("_ts", "_values")

    def __init__(self, ts: array[float] | None = None, values: array[float] | None = None) -> None:
        self._ts = array("d") if ts is None else ts
        self._values = array("d") if values is None else values

    def __len__(self) -> int:
        return len(self._ts)

    @overload
    def __getitem__(self, index: int) -> tuple[float, float]: ...

    @overload
    def __getitem__(self, index: slice) -> Points: ...

    def __getitem__(self, index: int | slice) -> tuple[float, float] | Points:
        if isinstance(index, slice):
            return Points(self._ts[index], self._values[index])
        return self._ts[index], self._values[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Points({list(self)!r})"

    def copy(self) -> Points:
        return Points(array("d", self._ts), array("d", self._values))

    def append(self, ts: float, value: float, horizon: float, max_points: int) -> None:
        """Add a point; drop those before `horizon` and the oldest beyond `max_points`."""
        self._ts.append(ts)
        self._values.append(value)
        drop = max(bisect_left(self._ts, horizon), len(self._ts) - max_points)
        if drop:  # never negative
            del self._ts[:drop]
            del self._values[:drop]


Listener = Callable[[Snapshot], None]


class Store:
    """Thread-safe keeper of the latest samples, their history and collector health."""

    def __init__(self, history_s: float = 7200.0, max_points: int = 4096) -> None:
        self._history_s = history_s
        self._max_points = max_points
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[Sample, ...]] = {}
        self._history: dict[SeriesKey, Points] = {}
        self._health: dict[str, Health] = {}
        self._own: dict[SeriesKey, Sample] = {}  # the daemon's own series (scheduling), no collector's
        self._own_part: tuple[Sample, ...] = ()  # `_own`'s values, made anew when they change
        self._snapshot = Snapshot(ts=0.0)
        self._listeners: list[Listener] = []
        self._failed: set[int] = set()  # id() of each listener that failed once

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(snapshot)` after every update, on the updating thread."""
        self._listeners.append(listener)

    def snapshot(self) -> Snapshot:
        """The latest immutable snapshot."""
        return self._snapshot

    def record(self, collector: str, samples: list[Sample], now: float, duration_s: float) -> None:
        """A successful collection: its samples replace that collector's previous ones."""
        with self._lock:
            self._latest[collector] = tuple(samples)
            for sample in samples:
                self._append(series_key(sample.name, sample.labels), sample.ts, sample.value)
            self._forget_before(now - self._history_s)
            old = self._health.get(collector)
            errors = old.errors_total if old else 0
            self._health[collector] = Health(collector, True, duration_s, errors, now)
            snapshot = self._rebuild(now)
        self._notify(snapshot)

    def record_failure(
        self, collector: str, reason: str, now: float, duration_s: float, *, fault: bool = True
    ) -> None:
        """A failed collection: its samples are dropped; `fault=False` means "no data, no fault"."""
        with self._lock:
            self._latest.pop(collector, None)
            old = self._health.get(collector)
            errors = (old.errors_total if old else 0) + (1 if fault else 0)
            last = old.last_success_ts if old else None
            self._health[collector] = Health(collector, False, duration_s, errors, last, reason)
            snapshot = self._rebuild(now)
        self._notify(snapshot)

    def put(self, samples: Iterable[Sample]) -> None:
        """The daemon's own samples (no collector's): each replaces the same series' last one.

        They show in the next snapshot at once, but tell no listener: no rule reads them.
        """
        with self._lock:
            for sample in samples:
                self._own[series_key(sample.name, sample.labels)] = sample
            self._own_part = tuple(self._own.values())
            self._rebuild(self._snapshot.ts)

    def forget(self, collector: str) -> None:
        """Drop a collector that no longer runs: its latest samples, its health and its own series."""
        with self._lock:
            self._latest.pop(collector, None)
            self._health.pop(collector, None)
            for key in [k for k, s in self._own.items() if s.labels.get("collector") == collector]:
                del self._own[key]
            self._own_part = tuple(self._own.values())
            snapshot = self._rebuild(self._snapshot.ts)
        self._notify(snapshot)

    def history(self, name: str) -> dict[SeriesKey, Points]:
        """Every series named `name` with its `(ts, value)` points, oldest first (a copy)."""
        with self._lock:
            return {k: v.copy() for k, v in self._history.items() if k[0] == name}

    def health(self, collector: str) -> Health | None:
        """The health of one collector, or None if it never ran."""
        return self._snapshot_health().get(collector)

    def _snapshot_health(self) -> dict[str, Health]:
        return {h.collector: h for h in self._snapshot.health}

    def _append(self, key: SeriesKey, ts: float, value: float) -> None:
        points = self._history.get(key)
        if points is None:
            points = self._history[key] = Points()
        if points and ts <= points[-1][0]:
            return  # the same reading again (or an older one): history keeps one point per time
        points.append(ts, value, ts - self._history_s, self._max_points)

    def _forget_before(self, horizon: float) -> None:
        """Drop series that got no point since `horizon` (a vanished GPU, an exited process)."""
        stale = [key for key, points in self._history.items() if not points or points[-1][0] < horizon]
        for key in stale:
            del self._history[key]

    def _rebuild(self, now: float) -> Snapshot:
        parts = [self._latest[collector] for collector in sorted(self._latest)]
        health = [self._health[name] for name in sorted(self._health)]
        self._snapshot = Snapshot.of_parts(now, [*parts, self._own_part], health)
        return self._snapshot

    def _notify(self, snapshot: Snapshot) -> None:
        """Every listener gets every snapshot: one that raises costs the others nothing (its first
        failure is logged with its traceback, later ones only at DEBUG, lest a full disk flood the log)."""
        for listener in self._listeners:
            try:
                listener(snapshot)
            except Exception:  # noqa: BLE001 - a listener's fault is its own
                first = id(listener) not in self._failed
                self._failed.add(id(listener))
                log.log(logging.ERROR if first else logging.DEBUG, "a Store listener failed: %r", listener, exc_info=True)
