"""The wiring: the one place that builds every part from the config and connects them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

from prometheus_client import CollectorRegistry

import wslwatch
from wslwatch.config.schema import Config, PathConfig
from wslwatch.core import Collector
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.daemon.scheduler import Scheduler
from wslwatch.daemon.store import Store
from wslwatch.exporters.http import MetricsServer, serve
from wslwatch.exporters.prometheus import StoreCollector

__all__ = ["Daemon", "build_collectors", "build_runners"]

#: Time the runner allows an I/O probe beyond its deadline, to kill a stuck probe process.
_PROBE_GRACE_S = 2.0


def build_collectors(config: Config) -> list[tuple[Collector, float]]:
    """Every enabled collector with its deadline, in a fixed order (the explicit table)."""
    from wslwatch.collectors.gpu import GpuCollector
    from wslwatch.collectors.host_memory import HostMemoryCollector
    from wslwatch.collectors.io_latency import IoLatencyCollector
    from wslwatch.collectors.process import ProcessCollector
    from wslwatch.collectors.vmmem import VmmemCollector
    from wslwatch.collectors.wsl_guest import WslGuestCollector
    from wslwatch.collectors.wslconfig import WslconfigCollector

    c = config.collectors
    table: list[tuple[bool, float, Callable[[], Collector]]] = [
        (c.host_memory.enabled, c.host_memory.timeout_s, lambda: HostMemoryCollector(c.host_memory.interval_s)),
        (c.vmmem.enabled, c.vmmem.timeout_s, lambda: VmmemCollector(c.vmmem.process_names, c.vmmem.interval_s)),
        (
            c.wsl_guest.enabled,
            c.wsl_guest.timeout_s,
            lambda: WslGuestCollector(c.wsl_guest.interval_s, c.wsl_guest.proc_root, c.wsl_guest.distro),
        ),
        (c.gpu.enabled, c.gpu.timeout_s, lambda: GpuCollector(c.gpu.interval_s, c.gpu.per_process)),
        (c.wslconfig.enabled, c.wslconfig.timeout_s, lambda: WslconfigCollector(c.wslconfig.interval_s, c.wslconfig.path)),
        (c.process.enabled, c.process.timeout_s, lambda: ProcessCollector(c.process.interval_s)),
    ]
    io = c.io_latency

    def io_latency(path: PathConfig) -> Collector:
        return IoLatencyCollector(
            path.path,
            name=path.name,
            interval_s=path.interval_s,
            samples=io.samples,
            gap_s=io.sample_gap_s,
            deadline_s=io.deadline_s,
            max_bytes_per_s=io.max_bytes_per_s or None,
        )

    # one per path; the probe's own deadline is the real one, the runner's only a backstop
    table += [(io.enabled, io.deadline_s + _PROBE_GRACE_S, partial(io_latency, p)) for p in config.paths]
    collectors = [(make(), timeout) for enabled, timeout, make in table if enabled]
    return [(collector, min(timeout, collector.interval_s)) for collector, timeout in collectors]


def build_runners(config: Config, store: Store, clock: Callable[[], float] = time.time) -> list[CollectorRunner]:
    """A runner per enabled collector, writing into `store`."""
    return [CollectorRunner(collector, store, timeout, clock) for collector, timeout in build_collectors(config)]


@dataclass
class Daemon:
    """Scheduler + store + exporter, started and stopped as one."""

    config: Config
    store: Store
    runners: list[CollectorRunner]
    scheduler: Scheduler
    server: MetricsServer | None = None

    @classmethod
    def create(cls, config: Config) -> Daemon:
        store = Store()
        runners = build_runners(config, store)
        return cls(config, store, runners, Scheduler(runners))

    def start(self, bind: str | None = None, port: int | None = None) -> MetricsServer:
        """Serve /metrics (raises `PortInUseError`), then start collecting at once."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StoreCollector(self.store.snapshot, wslwatch.__version__))
        exporter = self.config.exporter
        self.server = serve(registry, bind or exporter.bind, exporter.port if port is None else port)
        self.scheduler.start()
        return self.server

    def stop(self) -> None:
        """Stop collecting, stop serving, release every collector."""
        self.scheduler.stop()
        if self.server is not None:
            self.server.close()
            self.server = None
        for runner in self.runners:
            runner.collector.close()
