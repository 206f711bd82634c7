"""The tray menu as plain data: what it says and what each item does.

The icon module turns these entries into pystray items; building them here keeps the
menu testable without a tray.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from wslwatch.core import Alert
from wslwatch.reclaim.controller import Controller
from wslwatch.tray import actions
from wslwatch.tray.actions import PageCacheDropper
from wslwatch.tray.readings import Readings
from wslwatch.tray.status import status_lines

__all__ = ["PROBE_PAUSE_S", "SEPARATOR", "SNOOZE_S", "Entry", "MenuActions", "build_menu"]

SNOOZE_S = 3600.0
PROBE_PAUSE_S = 3600.0


@dataclass(frozen=True)
class Entry:
    """One menu item: a line of text (no action), a command, or a submenu."""

    text: str
    action: Callable[[], object] | None = None
    submenu: tuple[Entry, ...] = ()
    default: bool = False

    @property
    def enabled(self) -> bool:
        return self.action is not None or bool(self.submenu)


SEPARATOR = Entry("-")


@dataclass(frozen=True)
class MenuActions:
    """What the menu can do; the wiring fills it in (None or "" hides an item)."""

    snoozed_until: Callable[[], float | None]  # when the notification snooze ends; None: not snoozed
    snooze_until: Callable[[float], None]  # hold notifications back until this time
    resume: Callable[[], None]  # end the snooze
    quit: Callable[[], None]
    metrics_url: str
    grafana_url: Callable[[], str] = lambda: ""  # read at each redraw: the config may be reloaded
    config_path: Path | None = None
    reload_config: Callable[[], object] | None = None
    log_path: Path | None = None
    page_cache: PageCacheDropper | None = None
    reclaim: Controller | None = None  # the switch for giving memory back automatically
    has_probes: Callable[[], bool] = lambda: False  # read at each redraw: paths come and go with reloads
    probes_paused_until: Callable[[], float | None] = lambda: None  # None: the probes run
    pause_probes_until: Callable[[float], None] = lambda until: None
    resume_probes: Callable[[], None] = lambda: None
    open_url: Callable[[str], None] = field(default=actions.open_url)
    open_path: Callable[[Path], None] = field(default=actions.open_path)


def build_menu(readings: Readings, alerts: Iterable[Alert], do: MenuActions) -> tuple[Entry, ...]:
    """The whole menu for these readings and alerts: status lines first, Quit last."""
    entries = [Entry(line) for line in status_lines(readings, alerts)]
    until = do.snoozed_until()
    if until is not None:
        entries.append(Entry(f"Notifications snoozed until {_clock(until)}"))
    entries.append(SEPARATOR)
    if until is None:
        entries.append(Entry("Snooze notifications for 1 hour", lambda: do.snooze_until(time.time() + SNOOZE_S)))
    else:
        entries.append(Entry("Resume notifications", do.resume))
    if do.has_probes():
        paused = do.probes_paused_until()
        if paused is None:
            entries.append(Entry("Pause I/O probes for 1 hour", lambda: do.pause_probes_until(time.time() + PROBE_PAUSE_S)))
        else:
            entries.append(Entry(f"Resume I/O probes (paused until {_clock(paused)})", do.resume_probes))
    entries.append(Entry("Open /metrics", lambda: do.open_url(do.metrics_url), default=True))
    grafana = do.grafana_url()
    if grafana:
        entries.append(Entry("Open Grafana", lambda: do.open_url(grafana)))
    if do.page_cache is not None and readings.vm_up:
        confirm = Entry("Confirm: drop page cache", do.page_cache.start)
        entries.append(Entry("Drop WSL page cache now…", submenu=(confirm,)))
    reclaim = do.reclaim
    if reclaim is not None:
        on = reclaim.enabled
        text = f"Give memory back to Windows automatically: {'on (turn off)' if on else 'off (turn on)'}"
        entries.append(Entry(text, lambda: reclaim.set_enabled(not on)))
    config_path, log_path = do.config_path, do.log_path
    if config_path is not None:
        entries.append(Entry("Open config file", lambda: do.open_path(config_path)))
    if do.reload_config is not None:
        entries.append(Entry("Reload config file", do.reload_config))
    if log_path is not None:
        entries.append(Entry("Open log file", lambda: do.open_path(log_path)))
    entries += [SEPARATOR, Entry("Quit wslwatch", do.quit)]
    return tuple(entries)


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))
