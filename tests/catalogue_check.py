"""Checks that samples are exactly what the metric catalogue promises."""

from __future__ import annotations

from collections.abc import Iterable

from wslwatch.core import Sample
from wslwatch.exporters.catalogue import CATALOGUE


def assert_catalogued(samples: Iterable[Sample], now: float) -> None:
    """Every sample is a catalogue series with exactly its labels, stamped `now`."""
    for sample in samples:
        assert sample.name in CATALOGUE, f"{sample.name} is not in the catalogue"
        assert sorted(sample.labels) == sorted(CATALOGUE[sample.name].labels), sample
        assert sample.ts == now, sample
