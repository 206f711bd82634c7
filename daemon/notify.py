"""Notifications: which alert changes reach a person, and the fan-out to every notifier.

The rules engine hands over each evaluation's transitions and current alerts; this module
decides what is worth telling: a firing alert (once, then again every `renotify_s` while it
still fires; `info` advice only once) and the resolution of an alert that was told. Snoozes
(one rule, or all) hold notifications back but change no alert state. Notifiers are called
on the evaluating thread: they must return quickly, and one that fails never stops the others.
"""

from __future__ import annotations

import logging
import threading
from typing import Iterable, Sequence

from wslwatch.core import Alert, Notifier

__all__ = ["ALL_RULES", "Dispatcher", "LogNotifier"]

log = logging.getLogger(__name__)

#: The snooze key that stands for every rule.
ALL_RULES = "*"

_AlertKey = tuple[str, str, tuple[tuple[str, str], ...]]


def _key(alert: Alert) -> _AlertKey:
    return alert.rule, alert.severity, tuple(sorted(alert.labels.items()))


class LogNotifier:
    """Writes every notification to the log (always on: the log is the record of what was told)."""

    _LEVELS = {"critical": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}

    def notify(self, alert: Alert) -> None:
        level = logging.INFO if alert.state == "resolved" else self._LEVELS.get(alert.severity, logging.WARNING)
        log.log(level, "alert %s %s [%s]: %s", alert.rule, alert.state, alert.severity, alert.summary)


class Dispatcher:
    """Gates alerts by renotify time and snoozes, then tells every notifier."""

    def __init__(self, notifiers: Iterable[Notifier], renotify_s: float) -> None:
        self._notifiers = list(notifiers)
        self._renotify_s = renotify_s
        self._told: dict[_AlertKey, float] = {}  # firing alerts told, and when last
        self._snoozes: dict[str, float] = {}
        self._lock = threading.Lock()
        self._failing: set[int] = set()

    def add(self, notifier: Notifier) -> None:
        """Tell `notifier` too, from the next evaluation on."""
        with self._lock:
            self._notifiers.append(notifier)

    def set_renotify(self, renotify_s: float) -> None:
        """Repeat a still-firing alert every `renotify_s` from now on (0: never)."""
        with self._lock:
            self._renotify_s = renotify_s

    def announce(self, alert: Alert) -> None:
        """Tell every notifier about `alert` now, ungated: wslwatch's own news, not a rule's."""
        with self._lock:
            notifiers = list(self._notifiers)
        for notifier in notifiers:
            self._tell(notifier, alert)

    def snooze(self, rule: str, until: float) -> None:
        """Hold back notifications of `rule` (or of every rule: `ALL_RULES`) until time `until`."""
        with self._lock:
            self._snoozes[rule] = until

    def unsnooze(self, rule: str) -> None:
        """End the snooze of `rule` (or the all-rules snooze: `ALL_RULES`)."""
        with self._lock:
            self._snoozes.pop(rule, None)

    def snoozes(self, now: float) -> dict[str, float]:
        """The snoozes still running at `now`: rule (or `ALL_RULES`) -> until."""
        with self._lock:
            return {rule: until for rule, until in self._snoozes.items() if until > now}

    def deliver(self, now: float, transitions: Sequence[Alert], current: Sequence[Alert]) -> None:
        """An `AlertListener`: tell what the evaluation at `now` changed or what is due again."""
        with self._lock:
            due = self._due(now, transitions, current)
            notifiers = list(self._notifiers)
        for alert in due:
            for notifier in notifiers:
                self._tell(notifier, alert)

    def _due(self, now: float, transitions: Sequence[Alert], current: Sequence[Alert]) -> list[Alert]:
        due: list[Alert] = []
        for alert in transitions:
            if alert.state == "resolved" and _key(alert) in self._told:
                del self._told[_key(alert)]
                if not self._snoozed(alert.rule, now):
                    due.append(alert)
        for alert in current:
            if alert.state != "firing" or self._snoozed(alert.rule, now):
                continue
            last = self._told.get(_key(alert))
            repeat = alert.severity != "info" and self._renotify_s > 0
            if last is None or (repeat and now - last >= self._renotify_s):
                self._told[_key(alert)] = now
                due.append(alert)
        return due

    def _snoozed(self, rule: str, now: float) -> bool:
        return any(self._snoozes.get(key, float("-inf")) > now for key in (rule, ALL_RULES))

    def _tell(self, notifier: Notifier, alert: Alert) -> None:
        try:
            notifier.notify(alert)
        except Exception:  # noqa: BLE001 - a delivery failure never stops the engine
            if id(notifier) not in self._failing:
                log.exception("notifier %s failed; alerts go on (logged once until it works again)", notifier)
                self._failing.add(id(notifier))
            return
        self._failing.discard(id(notifier))
