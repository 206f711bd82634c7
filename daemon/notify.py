"""Notifications: which alert changes reach a person, and the fan-out to every notifier.

The rules engine hands over each evaluation's transitions and current alerts; this module
decides what is worth telling: a firing alert (once, then again every `renotify_s` while it
still fires; `info` advice only once) and the resolution of an alert that was told. Snoozes
(one rule, or all) hold the desktop's notifications back but change no alert state, and the
record (the log) is told regardless: it is where a snoozed alert can still be found.
Notifiers are called on the evaluating thread: they must return quickly, and one that fails
never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable, Sequence

from wslwatch.core import Alert, Notifier

__all__ = ["ALL_RULES", "Dispatcher", "LogNotifier"]

log = logging.getLogger(__name__)

#: The snooze key that stands for every rule.
ALL_RULES = "*"

_AlertKey = tuple[str, str, tuple[tuple[str, str], ...]]


def _key(alert: Alert) -> _AlertKey:
    return alert.rule, alert.severity, tuple(sorted(alert.labels.items()))


class LogNotifier:
    """Writes each alert it is told to the log: the daemon's record, told even while snoozed."""

    _LEVELS = {"critical": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}

    def notify(self, alert: Alert) -> None:
        level = logging.INFO if alert.state == "resolved" else self._LEVELS.get(alert.severity, logging.WARNING)
        log.log(level, "alert %s %s [%s]: %s", alert.rule, alert.state, alert.severity, alert.summary)


class _Gate:
    """Which alerts are due for one audience: a firing alert once, then every `renotify_s`
    while it still fires (`info` advice once), and the resolution of one that was told."""

    def __init__(self) -> None:
        self._told: dict[_AlertKey, float] = {}  # firing alerts told, and when last

    def due(
        self,
        now: float,
        transitions: Sequence[Alert],
        current: Sequence[Alert],
        renotify_s: float,
        held: Callable[[str], bool],
    ) -> list[Alert]:
        """What to tell at `now`; alerts of a rule for which `held(rule)` is true are not told."""
        due: list[Alert] = []
        for alert in transitions:
            if alert.state == "resolved" and _key(alert) in self._told:
                del self._told[_key(alert)]
                if not held(alert.rule):
                    due.append(alert)
        for alert in current:
            if alert.state != "firing" or held(alert.rule):
                continue
            last = self._told.get(_key(alert))
            repeat = alert.severity != "info" and renotify_s > 0
            if last is None or (repeat and now - last >= renotify_s):
                self._told[_key(alert)] = now
                due.append(alert)
        return due


class Dispatcher:
    """Gates alerts by renotify time (and, for `notifiers`, snoozes), then tells each notifier.

    `record` (the log, in the daemon) is told every alert that is due whatever the snoozes.
    """

    def __init__(self, notifiers: Iterable[Notifier], renotify_s: float, *, record: Notifier | None = None) -> None:
        self._notifiers = list(notifiers)
        self._renotify_s = renotify_s
        self._record = record
        self._desktop = _Gate()
        self._recorded = _Gate()
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
        """Tell every notifier and the record about `alert` now, ungated: wslwatch's own news."""
        with self._lock:
            notifiers = list(self._notifiers)
        for notifier in ([self._record] if self._record is not None else []) + notifiers:
            self._tell(notifier, alert)

    def snooze(self, rule: str, until: float) -> None:
        """Hold back notifications of `rule` (or of every rule: `ALL_RULES`) until time `until`."""
        with self._lock:
            self._snoozes[rule] = until
        which = "every rule's" if rule == ALL_RULES else f"{rule}'s"
        log.info(
            "%s notifications snoozed until %s; the log still records every alert",
            which,
            time.strftime("%H:%M", time.localtime(until)),
        )

    def unsnooze(self, rule: str) -> None:
        """End the snooze of `rule` (or the all-rules snooze: `ALL_RULES`)."""
        with self._lock:
            ended = self._snoozes.pop(rule, None) is not None
        if ended:
            log.info("%s notifications resumed", "every rule's" if rule == ALL_RULES else f"{rule}'s")

    def snoozes(self, now: float) -> dict[str, float]:
        """The snoozes still running at `now`: rule (or `ALL_RULES`) -> until."""
        with self._lock:
            return {rule: until for rule, until in self._snoozes.items() if until > now}

    def deliver(self, now: float, transitions: Sequence[Alert], current: Sequence[Alert]) -> None:
        """An `AlertListener`: tell what the evaluation at `now` changed or what is due again."""
        with self._lock:
            told = self._desktop.due(now, transitions, current, self._renotify_s, lambda r: self._snoozed(r, now))
            recorded = self._recorded.due(now, transitions, current, self._renotify_s, lambda r: False)
            notifiers = list(self._notifiers)
        if self._record is not None:
            for alert in recorded:
                self._tell(self._record, alert)
        for alert in told:
            for notifier in notifiers:
                self._tell(notifier, alert)

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
