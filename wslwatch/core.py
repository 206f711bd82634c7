"""The plain types every part of wslwatch shares.

This module imports nothing of ours: collectors produce `Sample`s, the Store keeps
them, and the exporter, the rules and the tray read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

__all__ = ["Alert", "Collector", "CollectorError", "NoData", "Notifier", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one series: a final Prometheus name, its labels, a value, a time."""

    name: str
    labels: Mapping[str, str]
    value: float
    ts: float


class CollectorError(Exception):
    """A whole source failed; the message says why, in words for a person."""


class NoData(CollectorError):
    """Nothing to read right now, and no fault (e.g. the WSL VM is not running)."""


class Collector(Protocol):
    """A source of samples, run on its own schedule by the daemon."""

    name: str
    interval_s: float

    def collect(self, now: float) -> list[Sample]:
        """Read the source once; raise `CollectorError` when it cannot be read."""
        ...

    def close(self) -> None:
        """Release what the collector holds (library handles, child processes)."""
        ...


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule's state for one label set, as the rules engine last judged it."""

    rule: str
    severity: str  # "info" | "warning" | "critical"
    state: str  # "pending" | "firing" | "resolved"
    labels: Mapping[str, str]
    summary: str  # one line with the numbers and the fix
    since: float  # when it entered `state`
    holder: str = ""  # who holds what it is about ("container qdrant"), where known


class Notifier(Protocol):
    """Somewhere a person is told about an alert that fired or resolved."""

    def notify(self, alert: Alert) -> None:
        """Tell about `alert`; must not raise for a delivery problem (log it instead)."""
        ...
