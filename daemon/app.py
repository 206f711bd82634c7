"""The wiring: the one place that builds every part from the config and connects them."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from prometheus_client import CollectorRegistry

import wslwatch
from wslwatch.collectors._windows_view import WindowsView, powershell_path
from wslwatch.config.schema import CollectorConfig, Config, PathConfig
from wslwatch.core import Alert, Collector, Notifier, Sample
from wslwatch.daemon.alerting import RuleEngine
from wslwatch.daemon.notify import Dispatcher, LogNotifier
from wslwatch.daemon.reload import ConfigWatcher
from wslwatch.daemon.rules import build_rules, create_engine
from wslwatch.daemon.rules.forecast import forecast_samples
from wslwatch.daemon.runner import IDLE_S, CollectorRunner
from wslwatch.daemon.view import View
from wslwatch.store import Snapshot, Store
from wslwatch.exporters.http import MetricsServer, serve
from wslwatch.exporters.page import Page
from wslwatch.exporters.prometheus import StoreCollector

if TYPE_CHECKING:
    from wslwatch.daemon.jobs import Jobs

__all__ = ["Daemon", "build_collectors", "build_runners", "collect_once"]

log = logging.getLogger(__name__)

#: Time the runner allows an I/O probe beyond its deadline, to kill a stuck probe process.
_PROBE_GRACE_S = 2.0
#: A probe's worker thread ends this soon after its probe: few probes run at once (they are
#: spread and capped), so kept workers would be one idle thread per path (50 paths: 50 threads).
_PROBE_WORKER_IDLE_S = 1.0


@dataclass(frozen=True)
class Planned:
    """A collector the config asks for: the settings it is built from, its deadline, how to build it."""

    settings: object  # equal settings build the same collector: a reload keeps the one running
    timeout_s: float
    make: Callable[[], Collector]
    idle_s: float = IDLE_S  # how long its worker thread waits for the next collection

    def build(self) -> tuple[Collector, float]:
        """The collector and its deadline (never beyond its interval)."""
        collector = self.make()
        return collector, min(self.timeout_s, collector.interval_s)

    def runner(self, store: Store, clock: Callable[[], float] = time.time) -> CollectorRunner:
        collector, timeout_s = self.build()
        return CollectorRunner(collector, store, timeout_s, clock, self.idle_s)


def plan_collectors(config: Config) -> list[Planned]:
    """Every enabled collector, in a fixed order (the explicit table)."""
    from wslwatch.collectors.gpu import GpuCollector
    from wslwatch.collectors.gpu_holders import GpuHoldersCollector, counter_reader
    from wslwatch.collectors.host_memory import HostMemoryCollector
    from wslwatch.collectors.io_latency import IoLatencyCollector
    from wslwatch.collectors.process import ProcessCollector
    from wslwatch.collectors.vmmem import VmmemCollector
    from wslwatch.collectors.wsl_guest import WslGuestCollector
    from wslwatch.collectors.wsl_version import WslVersionCollector
    from wslwatch.collectors.wslconfig import WslconfigCollector

    c = config.collectors
    windows = _windows_view(config)
    # also read (only when it changed) for its instanceIdleTimeout, the spacing of reads through wsl.exe
    wslconfig = WslconfigCollector(c.wslconfig.interval_s, c.wslconfig.path)
    # (the settings it is built from, its section, how): collectors that share a reader (the
    # Windows view, the .wslconfig file) are planned together, so a reload rebuilds both or neither
    table: list[tuple[object, CollectorConfig, Callable[[], Collector]]] = [
        (
            (c.host_memory, windows and c.vmmem),
            c.host_memory,
            lambda: HostMemoryCollector(c.host_memory.interval_s, windows if c.host_memory.from_windows else None),
        ),
        (
            (c.vmmem, windows and c.host_memory),
            c.vmmem,
            lambda: VmmemCollector(
                c.vmmem.process_names, c.vmmem.interval_s, windows=windows if c.vmmem.from_windows else None
            ),
        ),
        (
            (c.wsl_guest, c.wslconfig),
            c.wsl_guest,
            lambda: WslGuestCollector(
                c.wsl_guest.interval_s,
                c.wsl_guest.proc_root,
                c.wsl_guest.distro,
                idle_timeout_s=wslconfig.instance_idle_timeout_s,
                top_n=c.wsl_guest.holders_top_n,
                holders_interval_s=c.wsl_guest.holders_interval_s,
                cgroup_root=c.wsl_guest.cgroup_root,
            ),
        ),
        (c.gpu, c.gpu, lambda: GpuCollector(c.gpu.interval_s, c.gpu.per_process)),
        (
            c.gpu_holders,
            c.gpu_holders,
            lambda: GpuHoldersCollector(c.gpu_holders.interval_s, c.gpu_holders.top_n, counter_reader()),
        ),
        (c.wslconfig, c.wslconfig, lambda: wslconfig),
        (c.wsl_version, c.wsl_version, lambda: WslVersionCollector(c.wsl_version.interval_s)),
        (c.process, c.process, lambda: ProcessCollector(c.process.interval_s)),
    ]
    planned = [
        Planned(("collector", n, key), section.timeout_s, make)
        for n, (key, section, make) in enumerate(table)
        if section.enabled
    ]
    io = c.io_latency

    def io_latency(path: PathConfig) -> Collector:
        return IoLatencyCollector(
            path.path,
            name=path.name,
            data=path.data,
            interval_s=path.interval_s,
            samples=io.samples,
            gap_s=io.sample_gap_s,
            deadline_s=io.deadline_s,
            max_bytes_per_s=io.max_bytes_per_s or None,
        )

    # one per path; the probe's own deadline is the real one, the runner's only a backstop
    if io.enabled:
        planned += [
            Planned(("path", p, io), io.deadline_s + _PROBE_GRACE_S, partial(io_latency, p), _PROBE_WORKER_IDLE_S)
            for p in config.paths
        ]
    return planned


def build_collectors(config: Config) -> list[tuple[Collector, float]]:
    """Every enabled collector with its deadline."""
    return [planned.build() for planned in plan_collectors(config)]


def _windows_view(config: Config) -> WindowsView | None:
    """One interop reader of the Windows host for both collectors that opt in; on Windows itself
    they read it directly (psutil), so `from_windows` means nothing there."""
    c = config.collectors
    if sys.platform == "win32" or not (c.host_memory.from_windows or c.vmmem.from_windows):
        return None
    return WindowsView(powershell_path(os.environ))


def build_runners(config: Config, store: Store, clock: Callable[[], float] = time.time) -> list[CollectorRunner]:
    """A runner per enabled collector, writing into `store`."""
    return [planned.runner(store, clock) for planned in plan_collectors(config)]


def collect_once(config: Config) -> Snapshot:
    """One pass of every enabled collector through its runner, then every collector closed."""
    store = Store()
    runners = build_runners(config, store)
    try:
        for runner in runners:
            runner.run()
    finally:
        for runner in runners:
            runner.collector.close()
    return store.snapshot()


@dataclass
class Daemon:
    """Scheduler + store + rules + exporter (+ config watcher), started and stopped as one."""

    config: Config
    store: Store
    runners: list[CollectorRunner]
    jobs: Jobs
    engine: RuleEngine
    notifications: Dispatcher
    config_path: Path | None = None  # watched for live reload while running
    server: MetricsServer | None = None
    watcher: ConfigWatcher | None = None
    built: list[tuple[object, CollectorRunner]] = field(default_factory=list)  # settings -> runner, for reloads

    @classmethod
    def create(
        cls,
        config: Config,
        config_path: Path | None = None,
        *,
        store: Store | None = None,
        runners: list[CollectorRunner] | None = None,
    ) -> Daemon:
        """The daemon for `config`; `store` and `runners` default to those the config describes."""
        from wslwatch.daemon.jobs import Jobs  # here: APScheduler is 100 modules `once` and `config` never use

        store = store or Store()
        built = [] if runners is not None else [(p.settings, p.runner(store)) for p in plan_collectors(config)]
        runners = [runner for _, runner in built] if runners is None else runners
        engine = create_engine(config, store)
        notifications = Dispatcher([], config.alerts.renotify_s, record=LogNotifier())
        engine.subscribe(notifications.deliver)
        return cls(config, store, runners, Jobs(store), engine, notifications, config_path, built=built)

    def add_notifier(self, notifier: Notifier) -> None:
        """Tell `notifier` (the tray's, a webhook) about alerts too; the log is always told."""
        self.notifications.add(notifier)

    def start(self, bind: str | None = None, port: int | None = None) -> MetricsServer:
        """Serve /metrics (raises `PortInUseError`, `TlsError`), then start collecting at once."""
        collector = StoreCollector(self.store.snapshot, wslwatch.__version__, self.engine.alerts, self.forecasts)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        exporter = self.config.exporter
        self.server = serve(
            registry,
            bind or exporter.bind,
            exporter.port if port is None else port,
            certfile=exporter.certfile,
            keyfile=exporter.keyfile,
            users=exporter.basic_auth_users,
            page=Page(collector),
        )
        self.jobs.start(self.runners)
        if self.config_path is not None:
            self.watcher = ConfigWatcher(self.config_path, self.apply, self.reject_config)
            self.watcher.start()
        return self.server

    def forecasts(self) -> list[Sample]:
        """The forecast series (time until memory or VRAM runs out) from the Store's history now."""
        return forecast_samples(View(self.store.snapshot(), self.store.history), self.config.rules)

    def apply(self, config: Config) -> None:
        """Run with `config` from now on: collectors whose settings changed are rebuilt and rescheduled
        in place, the others keep running; history, alerts and /metrics stay."""
        old = list(self.built)
        self.built = []
        for planned in plan_collectors(config):
            same = next((pair for pair in old if pair[0] == planned.settings), None)
            if same is not None:
                old.remove(same)
            self.built.append(same or (planned.settings, planned.runner(self.store)))
        replaced = [runner for _, runner in old] + [r for r in self.runners if all(r is not b for _, b in self.built)]
        self.runners = [runner for _, runner in self.built]
        self.jobs.update(self.runners)
        for runner in {id(r): r for r in replaced}.values():
            runner.close()
        self.engine.replace_rules(build_rules(config))
        self.notifications.set_renotify(config.alerts.renotify_s)
        if config.exporter != self.config.exporter:
            log.warning("the [exporter] settings changed; they take effect when wslwatch is restarted")
        if config.history != self.config.history:
            log.warning("the [history] settings changed; they take effect when wslwatch is restarted")
        self.config = config

    def reject_config(self, problems: list[str]) -> None:
        """An invalid edit: say so in the log and to every notifier; the config in force stays."""
        for problem in problems:
            log.error("config not reloaded: %s", problem)
        more = f" (+{len(problems) - 1} more in the log)" if len(problems) > 1 else ""
        self.notifications.announce(
            Alert(
                rule="config_invalid",
                severity="warning",
                state="firing",
                labels={},
                summary=f"{problems[0]}{more}. The configuration in force stays until the file is fixed.",
                since=time.time(),
            )
        )

    def reload_config(self) -> bool:
        """Re-read the config file now (the tray's "Reload config"); True if it was applied."""
        return self.watcher.reload() if self.watcher is not None else False

    def stop(self) -> None:
        """Stop watching, collecting and serving; release every collector."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.jobs.stop()
        if self.server is not None:
            self.server.close()
            self.server = None
        for runner in self.runners:
            runner.close()
