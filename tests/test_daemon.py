"""The daemon's parts wired together: a hanging collector never delays a scrape or the others."""

from __future__ import annotations

import time

from collectors_for_tests import Hanging, Steady
from daemon_process import scrape

from wslwatch.config import Config
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store


def test_a_hanging_collector_delays_neither_scrapes_nor_other_collectors() -> None:
    store = Store()
    steady, hanging = Steady(interval_s=0.2), Hanging(interval_s=0.2)
    runners = [CollectorRunner(steady, store, 0.3), CollectorRunner(hanging, store, 0.3)]
    daemon = Daemon.create(Config(), store=store, runners=runners)
    server = daemon.start(port=0)
    try:
        deadline = time.monotonic() + 5
        while steady.calls < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert steady.calls >= 5, "the steady collector kept running beside the hung one"
        assert hanging.entered == 1, "no second collection started while the first hangs"
        started = time.monotonic()
        metrics = scrape(server.url)
        assert time.monotonic() - started < 1.0
        up = {labels["collector"]: value for labels, value in metrics["wslwatch_collector_up"]}
        assert up == {"steady": 1.0, "hanging": 0.0}
        assert metrics["wslwatch_host_memory_total_bytes"][0][1] >= 1
        health = store.health("hanging")
        assert health is not None and health.reason is not None
        assert health.reason.startswith(("timed out after 0.3s", "the previous collection is still stuck"))
    finally:
        daemon.stop()
    assert daemon.server is None
