"""Live reload: a valid edit takes effect while running; an invalid one is refused and nothing is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from daemon_process import scrape, start_daemon

from wslwatch.config import Config, load
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.reload import ConfigWatcher


class Seen:
    def __init__(self) -> None:
        self.applied: list[Config] = []
        self.rejected: list[list[str]] = []
        self.event = threading.Event()

    def apply(self, config: Config) -> None:
        self.applied.append(config)
        self.event.set()

    def reject(self, problems: list[str]) -> None:
        self.rejected.append(problems)
        self.event.set()

    def wait(self) -> None:
        assert self.event.wait(5), "the watcher noticed the change"
        self.event.clear()


def test_the_watcher_applies_valid_edits_and_rejects_invalid_ones(tmp_path: Path) -> None:
    path = tmp_path / "wslwatch.toml"
    path.write_text("[exporter]\nport = 9500\n")
    seen = Seen()
    watcher = ConfigWatcher(path, seen.apply, seen.reject, interval_s=0.05)
    watcher.start()
    try:
        path.write_text("[collectors.gpu]\nenabled = false\n")
        seen.wait()
        assert seen.applied[-1].collectors.gpu.enabled is False
        path.write_text("[collectors.gpu]\nenabled = false\ninterval_s = -1\n")
        seen.wait()
        assert seen.rejected == [[f"{path}:3: collectors.gpu.interval_s: must be from 0.1 to 86400, got -1"]]
        assert len(seen.applied) == 1
        path.unlink()
        seen.wait()
        assert seen.rejected[-1] == [f"{path}: the config file is gone; the configuration in force stays"]
    finally:
        watcher.stop()


def test_reload_on_demand_reads_an_unchanged_file(tmp_path: Path) -> None:
    path = tmp_path / "wslwatch.toml"
    path.write_text("")
    seen = Seen()
    watcher = ConfigWatcher(path, seen.apply, seen.reject)
    assert watcher.reload() is True and seen.applied == [Config()]


def collectors_up(url: str) -> set[str]:
    return {labels["collector"] for labels, _ in scrape(url).get("wslwatch_collector_up", [])}


def wait_for(condition: object, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_a_running_daemon_follows_its_config_file(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[collectors.host_memory]\ninterval_s = 0.2\n[collectors.gpu]\ninterval_s = 0.2\n")
    daemon = start_daemon(config)
    try:
        assert wait_for(lambda: {"host_memory", "gpu"} <= collectors_up(daemon.url))
        config.write_text("[collectors.host_memory]\ninterval_s = 0.2\n[collectors.gpu]\nenabled = false\n")
        assert wait_for(lambda: "gpu" not in collectors_up(daemon.url)), "the disabled collector is gone"
        assert "host_memory" in collectors_up(daemon.url)
        config.write_text("[collectors.gpu]\nenabled = nope\n")
        assert wait_for(lambda: "config not reloaded" in "".join(daemon.log))
        log = "".join(daemon.log)
        assert f"config not reloaded: {config}:2: invalid TOML" in log
        time.sleep(0.5)
        up = collectors_up(daemon.url)
        assert "gpu" not in up and "host_memory" in up, "the last good configuration stays in force"
    finally:
        assert daemon.stop() == 0


WSLCONFIG = Path(__file__).parent / "fixtures" / "wslconfig" / "wsl-issue10759-reclaim-under-wsl2.wslconfig"


def test_an_edited_interval_takes_effect_in_place_keeping_history_and_alerts(tmp_path: Path) -> None:
    """The running scheduler gets the new spacing; the Store's history and the firing alerts stay."""
    config_path = tmp_path / "wslwatch.toml"
    settings = f"[collectors.wslconfig]\npath = '{WSLCONFIG}'\ninterval_s = 0.2\n[collectors.host_memory]\n"
    config_path.write_text(settings + "interval_s = 0.1\n")
    daemon = Daemon.create(load(config_path), config_path)
    daemon.start(bind="127.0.0.1", port=0)
    try:
        assert wait_for(lambda: len(host_points(daemon)) >= 8 and daemon.engine.alerts())
        firing = [(a.rule, a.since) for a in daemon.engine.alerts()]
        assert ("wslconfig_problem", firing[0][1]) in firing
        before = host_points(daemon)
        runners = list(daemon.runners)
        config_path.write_text(settings + "interval_s = 0.5\n")
        assert daemon.reload_config()  # as the tray's "Reload config file" (the watcher would in 2 s)
        edited = time.time()
        assert wait_for(lambda: len([t for t in host_points(daemon) if t > edited]) >= 4)
    finally:
        daemon.stop()
    after = [t for t in host_points(daemon) if t > edited]
    gaps = [b - a for a, b in zip(after, after[1:])]
    assert all(0.4 <= gap <= 0.8 for gap in gaps), f"the new interval (0.5 s) is in force: {gaps}"
    assert host_points(daemon)[: len(before)] == before, "the history from before the reload is kept"
    assert [(a.rule, a.since) for a in daemon.engine.alerts()] == firing, "the alert fired once, and still fires"
    assert daemon.runners[0] is not runners[0], "host_memory was rebuilt"
    assert all(a is b for a, b in zip(daemon.runners[1:], runners[1:])), "the other collectors ran on untouched"


def host_points(daemon: Daemon) -> list[float]:
    history = daemon.store.history("wslwatch_host_memory_total_bytes")
    return [ts for points in history.values() for ts, _ in points]
