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
from wslwatch.exporters.catalogue import CATALOGUE, Family

__all__ = ["StoreCollector"]

log = logging.getLogger(__name__)

_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


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


def _family_name(sample_name: str) -> str:
    """`x_bucket`/`x_sum`/`x_count` belong to histogram `x`; other samples to their own name."""
    for part in _HISTOGRAM_PARTS:
        base = sample_name.removesuffix(part)
        if base != sample_name and base in CATALOGUE and CATALOGUE[base].kind == "histogram":
            return base
    return sample_name


def _families_of(samples: Iterable[Sample]) -> Iterator[Metric]:
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[_family_name(sample.name)].append(sample)
    for name, members in grouped.items():
        family = CATALOGUE.get(name)
        if family is None:
            log.error("sample %s is not in the metric catalogue; not exported", name)
        elif family.kind == "histogram":
            yield _histogram(family, members)
        else:
            yield _simple(family, members)


def _empty(family: Family) -> Metric:
    if family.kind == "histogram":
        return HistogramMetricFamily(family.name, family.help, labels=family.labels)
    return _flat(family)


def _flat(family: Family) -> GaugeMetricFamily | CounterMetricFamily:
    if family.kind == "counter":
        return CounterMetricFamily(family.name, family.help, labels=family.labels)
    return GaugeMetricFamily(family.name, family.help, labels=family.labels)


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
