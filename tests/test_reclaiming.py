"""The reclaim controller in the daemon: snapshots of the Store in, a real give-back out.

Inside WSL as root the guest is this machine, so the action drops this kernel's page cache
for real; the readings are #10011- and training-shaped sessions written into a real Store.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import pytest

from rigs import need
from wslwatch.config.schema import Config, ReclaimConfig
from wslwatch.core import Alert, Sample
from wslwatch.daemon.notify import Dispatcher
from wslwatch.daemon.reclaiming import Reclaiming
from wslwatch.store import Store

GIB = 1 << 30


class Told:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.arrived = threading.Event()

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.arrived.set()


def _feed(store: Store, minutes: float, host_available_ratio: float, busy: float) -> None:
    """One reading per 15 s: a 64 GiB host, a 32 GiB guest with 28 GB of cache, 8 vCPUs."""
    base = time.time() - minutes * 60
    for k in range(int(minutes * 4) + 1):
        now, cpu = base + 15 * k, 8 * 15 * k
        store.record("host_memory", [
            Sample("wslwatch_host_memory_total_bytes", {}, 64 * GIB, now),
            Sample("wslwatch_host_memory_available_bytes", {}, host_available_ratio * 64 * GIB, now),
        ], now, 0.0)  # fmt: skip
        store.record("wsl_guest", [
            Sample("wslwatch_guest_memory_total_bytes", {}, 32 * GIB, now),
            Sample("wslwatch_guest_memory_free_bytes", {}, 1 * GIB, now),
            Sample("wslwatch_guest_memory_available_bytes", {}, 28e9, now),
            Sample("wslwatch_guest_memory_reclaimable_bytes", {}, 28e9, now),
            Sample("wslwatch_guest_cpu_seconds_total", {"mode": "user"}, busy * cpu, now),
            Sample("wslwatch_guest_cpu_seconds_total", {"mode": "idle"}, (1 - busy) * cpu, now),
        ], now, 0.0)  # fmt: skip


def _daemon(monkeypatch: pytest.MonkeyPatch, reclaim: ReclaimConfig) -> tuple[Store, Told, Reclaiming]:
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")  # inside WSL, as root: the guest is this machine
    store, told = Store(), Told()
    reclaiming = Reclaiming(dataclasses.replace(Config(), reclaim=reclaim), store, Dispatcher([told], 1800.0), lambda: False)
    return store, told, reclaiming


@pytest.mark.rig
def test_issue_10011_session_is_given_back_for_real_and_told(monkeypatch: pytest.MonkeyPatch) -> None:
    need(os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK), "root with a writable /proc/sys/vm/drop_caches")
    store, told, _ = _daemon(monkeypatch, ReclaimConfig(enabled=True, for_s=60.0))
    _feed(store, minutes=3, host_available_ratio=0.03, busy=0.02)  # never idle by WSL's gate
    assert told.arrived.wait(60), "the #10011 session was never given its memory back"
    (alert,) = told.alerts
    assert alert.rule == "reclaim" and alert.summary.startswith("freed ")
    assert "(drop_caches)" in alert.summary  # this kernel's memory controller is cgroup v1
    deadline = time.monotonic() + 5
    while store.snapshot().value("wslwatch_reclaim_actions_total", method="drop_caches", result="ok") is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("host_available_ratio", [0.40, 0.08], ids=["host fine", "host short, not critically"])
def test_training_session_with_a_busy_guest_is_never_touched(monkeypatch: pytest.MonkeyPatch, host_available_ratio: float) -> None:
    store, told, _ = _daemon(monkeypatch, ReclaimConfig(enabled=True))
    _feed(store, minutes=30, host_available_ratio=host_available_ratio, busy=0.85)
    time.sleep(0.2)
    assert told.alerts == [] and store.snapshot().value("wslwatch_reclaim_freed_bytes_total") == 0.0
