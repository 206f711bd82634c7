"""What a rule sees at one evaluation: the latest snapshot and the Store's history of each series.

Counters become increases and rates here, windows are measured back from a series' newest
point, and a window the history does not cover yields None (no data), never a guess.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping, Sequence

from wslwatch.core import Sample
from wslwatch.store import SeriesKey, Snapshot, series_key

__all__ = ["History", "Points", "View", "histogram_quantile"]

Points = Sequence[tuple[float, float]]
History = Callable[[str], Mapping[SeriesKey, Points]]


class View:
    """The data of one evaluation, read-only; history is fetched once per name."""

    def __init__(self, snapshot: Snapshot, history: History) -> None:
        self.snapshot = snapshot
        self.now = snapshot.ts
        self._history = history
        self._cache: dict[str, Mapping[SeriesKey, Points]] = {}

    def series(self, name: str) -> tuple[Sample, ...]:
        """Every current sample named `name` (empty when its source is not reporting)."""
        return self.snapshot.series(name)

    def value(self, name: str, **labels: str) -> float | None:
        """The current value of the first series named `name` whose labels include `labels`."""
        return self.snapshot.value(name, **labels)

    def points(self, name: str, labels: Mapping[str, str]) -> Points:
        """The history of one series, oldest first."""
        if name not in self._cache:
            self._cache[name] = self._history(name)
        return self._cache[name].get(series_key(name, labels), ())

    def value_at(self, name: str, labels: Mapping[str, str], ts: float) -> float | None:
        """A series' value at time `ts`: its newest point at or before `ts`."""
        points = self.points(name, labels)
        index = _last_at_or_before(points, ts)
        return None if index is None else points[index][1]

    def window(self, name: str, labels: Mapping[str, str], seconds: float) -> Points | None:
        """The points of the last `seconds` of a series, starting at the newest point at or before
        its beginning, so the whole window is covered; None when the history is shorter."""
        points = self.points(name, labels)
        if not points:
            return None
        start = points[-1][0] - seconds
        first = _last_at_or_before(points, start)
        if first is None:
            return None
        return points[first:]

    def increase(self, name: str, labels: Mapping[str, str], seconds: float) -> tuple[float, float] | None:
        """How much a counter grew over the last `seconds`, and over how long exactly:
        `(increase, elapsed_s)`; a fall in value is a counter reset, counted from zero."""
        points = self.window(name, labels, seconds)
        if points is None or len(points) < 2:
            return None
        elapsed = points[-1][0] - points[0][0]
        if elapsed <= 0:
            return None
        return _counter_increase(value for _, value in points), elapsed

    def rate(self, name: str, labels: Mapping[str, str], seconds: float) -> float | None:
        """A counter's average increase per second over the last `seconds`."""
        found = self.increase(name, labels, seconds)
        return None if found is None else found[0] / found[1]


def _last_at_or_before(points: Points, ts: float) -> int | None:
    """Index of the newest point with time <= `ts` (points are in time order)."""
    low, high = 0, len(points)
    while low < high:
        middle = (low + high) // 2
        if points[middle][0] <= ts:
            low = middle + 1
        else:
            high = middle
    return low - 1 if low > 0 else None


def _counter_increase(values: Iterable[float]) -> float:
    total = 0.0
    previous: float | None = None
    for value in values:
        if previous is not None:
            total += value - previous if value >= previous else value
        previous = value
    return total


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The `q` quantile of a histogram given as `(upper_bound, cumulative_count)` pairs, with
    linear interpolation inside a bucket, as Prometheus' `histogram_quantile` computes it."""
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        return None
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower  # the +Inf bucket: the largest finite bound, as Prometheus does
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return None
