"""The tray menu as data: what it lists in each state and what its items do."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from collectors_for_tests import Steady
from tray_inputs import alert, snapshot

from wslwatch.config.schema import ReclaimConfig
from wslwatch.daemon.jobs import Jobs
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.reclaim.controller import Controller
from wslwatch.store import Store
from wslwatch.tray.actions import PageCacheDropper
from wslwatch.tray.menu import PROBE_PAUSE_S, SEPARATOR, SNOOZE_S, Entry, MenuActions, build_menu
from wslwatch.tray.readings import Readings


class SnoozeState:
    """The notification snooze as the menu sees it (the rules' dispatcher keeps it in the daemon)."""

    def __init__(self) -> None:
        self.until: float | None = None

    def set_until(self, until: float) -> None:
        self.until = until

    def clear(self) -> None:
        self.until = None


class Opened:
    """Stands in for the desktop's browser and file opener (there is no desktop here)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.paths: list[Path] = []


def make_actions(opened: Opened, snooze: SnoozeState, stop: threading.Event, **extra: object) -> MenuActions:
    return MenuActions(
        snoozed_until=lambda: snooze.until,
        snooze_until=snooze.set_until,
        resume=snooze.clear,
        quit=stop.set,
        metrics_url="http://127.0.0.1:9477/metrics",
        open_url=opened.urls.append,
        open_path=opened.paths.append,
        **extra,  # type: ignore[arg-type]
    )


def by_text(entries: tuple[Entry, ...]) -> dict[str, Entry]:
    return {e.text: e for e in entries if e is not SEPARATOR}


def test_the_plain_menu() -> None:
    opened, stop = Opened(), threading.Event()
    snooze = SnoozeState()
    entries = build_menu(Readings.of(snapshot(host=(8, 32))), [alert(summary="VRAM nearly full")], make_actions(opened, snooze, stop))
    texts = [e.text for e in entries]
    assert texts == [
        "Host RAM: 8.0 of 32.0 GiB (25 %)",
        "WSL VM: no data",
        "VRAM: no data",
        "VRAM nearly full",
        "-",
        "Snooze notifications for 1 hour",
        "Open /metrics",
        "-",
        "Quit wslwatch",
    ]
    assert [e.enabled for e in entries[:4]] == [False] * 4, "status lines are information, not commands"
    assert [e.text for e in entries if e.default] == ["Open /metrics"], "left click opens /metrics"
    items = by_text(entries)
    assert items["Open /metrics"].action is not None
    items["Open /metrics"].action()
    assert opened.urls == ["http://127.0.0.1:9477/metrics"]
    assert items["Quit wslwatch"].action is not None
    items["Quit wslwatch"].action()
    assert stop.is_set()


def test_snooze_and_resume() -> None:
    snooze = SnoozeState()
    do = make_actions(Opened(), snooze, threading.Event())
    readings = Readings.of(snapshot())
    snooze_item = by_text(build_menu(readings, [], do))["Snooze notifications for 1 hour"]
    assert snooze_item.action is not None
    before = time.time()
    snooze_item.action()
    assert snooze.until is not None and before + SNOOZE_S <= snooze.until <= time.time() + SNOOZE_S
    items = by_text(build_menu(readings, [], do))
    assert "Snooze notifications for 1 hour" not in items
    until = time.strftime("%H:%M", time.localtime(snooze.until))
    assert f"Notifications snoozed until {until}" in items
    resume = items["Resume notifications"].action
    assert resume is not None
    resume()
    assert snooze.until is None
    assert "Snooze notifications for 1 hour" in by_text(build_menu(readings, [], do))


def test_optional_items_appear_when_configured(tmp_path: Path) -> None:
    opened, reloads = Opened(), []
    config, logfile = tmp_path / "wslwatch.toml", tmp_path / "wslwatch.log"
    do = make_actions(
        opened,
        SnoozeState(),
        threading.Event(),
        grafana_url=lambda: "http://localhost:3000/d/wslwatch",
        config_path=config,
        reload_config=lambda: reloads.append(1),
        log_path=logfile,
        page_cache=PageCacheDropper(lambda: "gave back 1.0 GB to Windows"),
    )
    entries = build_menu(Readings.of(snapshot(vm_up=True)), [], do)
    items = by_text(entries)
    for text in ("Open Grafana", "Open config file", "Reload config file", "Open log file"):
        action = items[text].action
        assert action is not None
        action()
    assert opened.urls == ["http://localhost:3000/d/wslwatch"]
    assert opened.paths == [config, logfile]
    assert reloads == [1]
    drop = items["Drop WSL page cache now…"]
    assert drop.action is None and drop.enabled, "the first step only opens the confirmation"
    assert [e.text for e in drop.submenu] == ["Confirm: drop page cache"]
    assert drop.submenu[0].action is not None


def test_the_page_cache_item_needs_a_running_vm() -> None:
    do = make_actions(Opened(), SnoozeState(), threading.Event(), page_cache=PageCacheDropper(lambda: "gave back 1.0 GB to Windows"))
    for vm in (snapshot(vm_up=False), snapshot()):
        assert "Drop WSL page cache now…" not in by_text(build_menu(Readings.of(vm), [], do))


def test_the_reclaim_switch_turns_the_controller_on_and_off() -> None:
    controller = Controller(ReclaimConfig(), lambda: "no WSL distro runs", lambda: None, lambda message: None)
    do = make_actions(Opened(), SnoozeState(), threading.Event(), reclaim=controller)
    off = by_text(build_menu(Readings.of(snapshot()), [], do))["Give memory back to Windows automatically: off (turn on)"]
    assert off.action is not None
    off.action()
    assert controller.enabled
    on = by_text(build_menu(Readings.of(snapshot()), [], do))["Give memory back to Windows automatically: on (turn off)"]
    assert on.action is not None
    on.action()
    assert not controller.enabled
    no_switch = make_actions(Opened(), SnoozeState(), threading.Event())
    assert not any("automatically" in e.text for e in build_menu(Readings.of(snapshot()), [], no_switch))


def test_the_probes_pause_for_an_hour_and_resume_from_the_menu() -> None:
    """Wired as `wslwatch run` wires it: to the daemon's real scheduler, with one probed path."""
    store = Store()
    jobs = Jobs(store)
    jobs.start([CollectorRunner(Steady("io_latency:data", 60.0), store, 1.0)])
    try:
        do = make_actions(
            Opened(),
            SnoozeState(),
            threading.Event(),
            has_probes=lambda: True,
            probes_paused_until=lambda: jobs.probes_paused_until,
            pause_probes_until=jobs.pause_probes,
            resume_probes=jobs.resume_probes,
        )
        readings = Readings.of(snapshot())
        pause = by_text(build_menu(readings, [], do))["Pause I/O probes for 1 hour"].action
        assert pause is not None
        before = time.time()
        pause()
        until = jobs.probes_paused_until
        assert until is not None and before + PROBE_PAUSE_S <= until <= time.time() + PROBE_PAUSE_S
        assert store.snapshot().value("wslwatch_probes_paused") == 1.0
        items = by_text(build_menu(readings, [], do))
        resume = items[f"Resume I/O probes (paused until {time.strftime('%H:%M', time.localtime(until))})"].action
        assert resume is not None and "Pause I/O probes for 1 hour" not in items
        resume()
        assert jobs.probes_paused_until is None and store.snapshot().value("wslwatch_probes_paused") == 0.0
        assert "Pause I/O probes for 1 hour" in by_text(build_menu(readings, [], do))
    finally:
        jobs.stop()
    no_paths = make_actions(Opened(), SnoozeState(), threading.Event())
    assert not [e for e in build_menu(readings, [], no_paths) if "probes" in e.text], "no paths: no item"
