"""A prometheus-client collector that renders the Store's latest snapshot at scrape time.

A scrape reads one immutable snapshot; it never samples hardware. The page is made of parts,
each from one object that stays the same while its part does (a collector's samples, its
health, the alerts), so that `page.py` can keep each part's rendered lines between scrapes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
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

__all__ = ["Part", "StoreCollector"]

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


@dataclass(frozen=True)
class Part:
    """Some families of the page, made by `families()` from `source`: while `source` is the same
    object the families are the same; `None` for a part made anew at every scrape."""

    source: object
    families: Callable[[], list[Metric]]


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
        """Each family once, its samples in the order of the parts."""
        families: dict[str, Metric] = {}
        for part in self.parts():
            for metric in part.families():
                if metric.name in families:
                    families[metric.name].samples.extend(metric.samples)
                else:
                    families[metric.name] = metric
        yield from families.values()

    def parts(self) -> list[Part]:
        """The page in parts: each source's samples, each collector's health, the build, the
        alerts, the derived series; nothing is rendered until a part's `families()` is called."""
        snap = self._snapshot()
        parts = [Part(samples, partial(_families_of, samples)) for samples in snap.parts]
        parts += [Part(health, partial(_health_families, health)) for health in snap.health]
        parts.append(Part(self._version, self._build_families))
        if self._alerts is not None:
            alerts = self._alerts()
            parts.append(Part(alerts, partial(_alert_families, alerts)))
        if self._derived is not None:
            derived = self._derived
            parts.append(Part(None, lambda: _families_of(derived())))
        return parts

    def _build_families(self) -> list[Metric]:
        build = GaugeMetricFamily("wslwatch_build_info", CATALOGUE["wslwatch_build_info"].help, labels=["version"])
        build.add_metric([self._version], 1.0)
        return [build]


def _families_of(samples: Iterable[Sample]) -> list[Metric]:
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[_FAMILY_NAME.get(sample.name, sample.name)].append(sample)
    families = []
    for name, members in grouped.items():
        family = CATALOGUE.get(name)
        if family is None:
            log.error("sample %s is not in the metric catalogue; not exported", name)
        else:
            families.append(_ASSEMBLE[family.kind](family, members))
    return families


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


def _health_families(health: Health) -> list[Metric]:
    up = _flat(CATALOGUE["wslwatch_collector_up"])
    duration = _flat(CATALOGUE["wslwatch_collector_duration_seconds"])
    errors = _flat(CATALOGUE["wslwatch_collector_errors_total"])
    last = _flat(CATALOGUE["wslwatch_collector_last_success_timestamp_seconds"])
    up.add_metric([health.collector], 1.0 if health.up else 0.0)
    duration.add_metric([health.collector], health.duration_s)
    errors.add_metric([health.collector], float(health.errors_total))
    if health.last_success_ts is not None:
        last.add_metric([health.collector], health.last_success_ts)
    return [up, duration, errors, last]


def _alert_families(alerts: Iterable[Alert]) -> list[Metric]:
    """`wslwatch_alert_firing{rule,severity,<identifying labels>}` 1 per firing alert."""
    family = _flat(CATALOGUE["wslwatch_alert_firing"])
    for alert in alerts:
        if alert.state == "firing":
            identity = {"rule": alert.rule, "severity": alert.severity, **alert.labels, "holder": alert.holder}
            family.add_metric([identity.get(label, "") for label in CATALOGUE["wslwatch_alert_firing"].labels], 1.0)
    return [family]
