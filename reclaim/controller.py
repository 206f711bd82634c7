"""The reclaim controller: the policy's verdicts turned into actions, measured, logged and told.

One action at a time, in its own thread (a give-back takes seconds; the collectors and the
rules never wait for it). The result is measured where Windows sees it — the VM process's
working set before and after, once page reporting has handed the freed pages back — and
falls back to what the guest freed where no VM process is visible (inside WSL).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Callable

from wslwatch.config.schema import ReclaimConfig
from wslwatch.core import Sample
from wslwatch.reclaim.guest import Guest, GuestCommandError, Outcome, give_back
from wslwatch.reclaim.policy import GIB, Policy, Reading, Verdict

__all__ = ["Controller", "describe"]

log = logging.getLogger(__name__)

#: Linux hands freed pages to the host about 2 s after they are freed (PAGE_REPORTING_DELAY).
SETTLE_S = 3.0


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def describe(outcome: Outcome, before: float | None, after: float | None) -> str:
    """One line for the log and the notification, with the numbers Windows sees."""
    took = f"in {outcome.seconds:.1f} s"
    if outcome.result == "failed":
        return f"could not give memory back to Windows ({outcome.method}): {outcome.detail or 'the guest freed nothing'}"
    if before is not None and after is not None:
        return f"gave back {_gb(max(0.0, before - after))} to Windows (VM working set {before / 1e9:.1f} → {_gb(after)}) {took}"
    return f"freed {_gb(outcome.freed_bytes)} of page cache in the WSL guest ({outcome.method}) {took}"


class Controller:
    """Acts on readings (`consider`) or on request (`give_back_now`, the tray's "drop page cache")."""

    def __init__(
        self,
        config: ReclaimConfig,
        guest: Callable[[], Guest | str],
        working_set: Callable[[], float | None],
        notify: Callable[[str], None],
        settle_s: float = SETTLE_S,
    ) -> None:
        self.policy = Policy(config)
        self._guest = guest
        self._working_set = working_set
        self._notify = notify
        self._settle_s = settle_s
        self._busy = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._freed = 0.0

    @property
    def enabled(self) -> bool:
        return self.policy.config.enabled

    def set_enabled(self, on: bool) -> None:
        """The tray's switch; the rest of `[reclaim]` stays as configured."""
        self.policy.config = dataclasses.replace(self.policy.config, enabled=on)
        log.info("reclaim controller turned %s", "on" if on else "off")

    def consider(self, reading: Reading) -> Verdict:
        """Judge one moment; act (in a thread) when the policy says so and no action runs."""
        verdict = self.policy.judge(reading)
        if verdict.act and not self._busy.locked():
            self.policy.acted(reading.t)
            threading.Thread(target=self.act, args=(verdict.want_bytes,), name="reclaim", daemon=True).start()
        return verdict

    def give_back_now(self) -> str:
        """Give back all page cache above the floor now (the tray's item), whatever the policy says."""
        return self.act(1 << 62)

    def act(self, want_bytes: int) -> str:
        """One give-back; returns (and logs, notifies, counts) the line that says how it went."""
        with self._busy:
            c = self.policy.config
            guest = self._guest()
            if isinstance(guest, str):
                message = f"did not give memory back: {guest}"
                log.info("%s", message)
                return message
            before = self._working_set()
            try:
                outcome = give_back(guest, want_bytes, int(c.min_cache_gib * GIB), int(c.step_gib * GIB), c.max_steps)
            except GuestCommandError as e:
                self._count("none", "failed")
                message = f"could not give memory back to Windows: {e}"
                log.warning("%s", message)
                self._notify(message)
                return message
            if before is not None:
                time.sleep(self._settle_s)
            message = describe(outcome, before, self._working_set() if before is not None else None)
            self._count(outcome.method, outcome.result, outcome.freed_bytes)
        (log.warning if outcome.result == "failed" else log.info)("%s", message)
        self._notify(message)
        return message

    def _count(self, method: str, result: str, freed: float = 0.0) -> None:
        self._counts[(method, result)] = self._counts.get((method, result), 0) + 1
        self._freed += freed

    def samples(self, now: float) -> list[Sample]:
        """`wslwatch_reclaim_actions_total{method,result}` and `wslwatch_reclaim_freed_bytes_total`."""
        actions = [
            Sample("wslwatch_reclaim_actions_total", {"method": m, "result": r}, float(n), now) for (m, r), n in sorted(self._counts.items())
        ]
        return [*actions, Sample("wslwatch_reclaim_freed_bytes_total", {}, self._freed, now)]
