"""Latency histograms as plain samples: the bucket bounds and a cumulative accumulator.

The bounds live here, at the bottom, so that the collector that fills a histogram and
the catalogue that describes it share one definition without importing each other.
"""

from __future__ import annotations

from typing import Mapping

from wslwatch.core import Sample

__all__ = ["BUCKETED_OPS", "LATENCY_BUCKETS_S", "Histogram"]

#: Latency bucket upper bounds in seconds, 100 µs to 250 ms: 1-5 per decade, so that the
#: `path_slow` lines (10 ms, clear below 5 ms) are bounds, not guesses inside a bucket.
LATENCY_BUCKETS_S: tuple[float, ...] = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.25)
#: The probe operations whose latency gets those buckets (the ones `path_slow` pools): a lookup,
#: an open, a durable create. The others get `_sum`/`_count` only (their mean), see docs/io-latency.md.
BUCKETED_OPS: tuple[str, ...] = ("stat_dir", "open_close", "create_fsync")


def _le(bound: float) -> str:
    """A bound as Prometheus writes it in `le`: `0.0001`, `2.5e-06`, `+Inf`."""
    return repr(float(bound))


class Histogram:
    """Cumulative counts of observations since creation, emitted as `_bucket`/`_sum`/`_count` samples."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S) -> None:
        self._bounds = bounds
        self._counts = [0] * (len(bounds) + 1)  # the last slot is +Inf only
        self._sum = 0.0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self._bounds):
            if value <= bound:
                self._counts[index] += 1
                break
        else:
            self._counts[-1] += 1
        self._sum += value

    def samples(self, name: str, labels: Mapping[str, str], ts: float) -> list[Sample]:
        """`name_bucket{le=...}` (cumulative), `name_sum` and `name_count`, each with `labels`."""
        out: list[Sample] = []
        running = 0
        for bound, count in zip(self._bounds, self._counts):
            running += count
            out.append(Sample(f"{name}_bucket", {**labels, "le": _le(bound)}, float(running), ts))
        running += self._counts[-1]
        out.append(Sample(f"{name}_bucket", {**labels, "le": "+Inf"}, float(running), ts))
        out.append(Sample(f"{name}_sum", dict(labels), self._sum, ts))
        out.append(Sample(f"{name}_count", dict(labels), float(running), ts))
        return out
