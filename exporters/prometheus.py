"""A prometheus-client collector that renders the Store's latest snapshot at scrape time.

A scrape reads one immutable snapshot; it never samples hardware.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector as PromCollector

from wslwatch.core import Alert, Sample
from wslwatch.store import Health, Snapshot
from wslwatch.exporters.catalogue import CATALOGUE, Family, Kind

__all__ = ["StoreCollector"]

log = logging.getLogger(__name__)

#: The names a family's samples carry, after the family's name: a histogram's come in three parts.
_SAMPLE_SUFFIXES: dict[Kind, tuple[str, ...]] = {
    "gauge": ("",),
    "counter": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
#: Each sample name the catalogue knows -> the name of its family.
_FAMILY_NAME = {
    family.name + suffix: family.name for family in CATALOGUE.values() for suffix in _SAMPLE_SUFFIXES[family.kind]
}
#: The prometheus-client family of each kind (a flat one takes one value per label set).
_Flat = type[GaugeMetricFamily] | type[CounterMetricFamily]
_FLAT: dict[Kind, _Flat] = {
    "gauge": GaugeMetricFamily,
    "counter": CounterMetricFamily,
}
_METRIC: dict[Kind, _Flat | type[HistogramMetricFamily]] = {**_FLAT, "histogram": HistogramMetricFamily}


class StoreCollector(PromCollector):
    """Turns `snapshot()` into metric families; `describe()` names them without collecting."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        version: str,
        alerts: Callable[[], Sequence[Alert]] | None = None,
        derived: Callable[[], Iterable[Sample]] | None = None,
    ) -> None:
        """`derived`: series computed from the history at scrape time (the forecasts), if any."""
        self._snapshot = snapshot
        self._version = version
        self._alerts = alerts
        self._derived = derived

    def describe(self) -> Iterator[Metric]:
        for family in CATALOGUE.values():
            yield _empty(family)

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield from _families_of(snap.samples)
        yield from _health_families(snap.health)
        build = GaugeMetricFamily("wslwatch_build_info", CATALOGUE["wslwatch_build_info"].help, labels=["version"])
        build.add_metric([self._version], 1.0)
        yield build
        if self._alerts is not None:
            yield _alert_family(self._alerts())
        if self._derived is not None:
            yield from _families_of(self._derived())


def _families_of(samples: Iterable[Sample]) -> Iterator[Metric]:
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[_FAMILY_NAME.get(sample.name, sample.name)].append(sample)
    for name, members in grouped.items():
        family = CATALOGUE.get(name)
        if family is None:
            log.error("sample %s is not in the metric catalogue; not exported", name)
        else:
            yield _ASSEMBLE[family.kind](family, members)


def _empty(family: Family) -> Metric:
    return _METRIC[family.kind](family.name, family.help, labels=family.labels)


def _flat(family: Family) -> GaugeMetricFamily | CounterMetricFamily:
    return _FLAT[family.kind](family.name, family.help, labels=family.labels)


def _simple(family: Family, samples: list[Sample]) -> Metric:
    metric = _flat(family)
    for sample in samples:
        metric.add_metric([sample.labels.get(label, "") for label in family.labels], sample.value)
    return metric


@dataclass
class _HistogramSeries:
    buckets: list[tuple[str, float]] = field(default_factory=list)
    total: float = 0.0


def _histogram(family: Family, samples: list[Sample]) -> Metric:
    """Assemble `<name>_bucket{le}`, `_sum` and `_count` samples into one histogram family."""
    series: dict[tuple[str, ...], _HistogramSeries] = defaultdict(_HistogramSeries)
    for sample in samples:
        one = series[tuple(sample.labels.get(label, "") for label in family.labels)]
        if sample.name.endswith("_bucket"):
            one.buckets.append((sample.labels["le"], sample.value))
        elif sample.name.endswith("_sum"):
            one.total = sample.value
    metric = HistogramMetricFamily(family.name, family.help, labels=family.labels)
    for key, one in series.items():
        buckets = sorted(one.buckets, key=lambda bucket: float(bucket[0]))
        metric.add_metric(list(key), buckets, one.total)
    return metric


#: How the samples of a family of each kind become one metric family.
_ASSEMBLE: dict[Kind, Callable[[Family, list[Sample]], Metric]] = {
    "gauge": _simple,
    "counter": _simple,
    "histogram": _histogram,
}


def _health_families(health: Iterable[Health]) -> Iterator[Metric]:
    up = _flat(CATALOGUE["wslwatch_collector_up"])
    duration = _flat(CATALOGUE["wslwatch_collector_duration_seconds"])
    errors = _flat(CATALOGUE["wslwatch_collector_errors_total"])
    last = _flat(CATALOGUE["wslwatch_collector_last_success_timestamp_seconds"])
    for h in health:
        up.add_metric([h.collector], 1.0 if h.up else 0.0)
        duration.add_metric([h.collector], h.duration_s)
        errors.add_metric([h.collector], float(h.errors_total))
        if h.last_success_ts is not None:
            last.add_metric([h.collector], h.last_success_ts)
    yield from (up, duration, errors, last)


def _alert_family(alerts: Iterable[Alert]) -> Metric:
    """`wslwatch_alert_firing{rule,severity,<identifying labels>}` 1 per firing alert."""
    family = _flat(CATALOGUE["wslwatch_alert_firing"])
    for alert in alerts:
        if alert.state == "firing":
            identity = {"rule": alert.rule, "severity": alert.severity, **alert.labels, "holder": alert.holder}
            family.add_metric([identity.get(label, "") for label in CATALOGUE["wslwatch_alert_firing"].labels], 1.0)
    return family
