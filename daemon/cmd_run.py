"""`wslwatch run`: the daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from wslwatch.config import default_config_path
from wslwatch.config.schema import bind_problem
from wslwatch.core import Notifier
from wslwatch.daemon import app_id, logs
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.arenas import cap_arenas
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.daemon.history_file import HistoryFile, history_path
from wslwatch.daemon.instance import AlreadyRunning, InstanceLock
from wslwatch.daemon.reclaiming import Reclaiming
from wslwatch.exporters.http import AddressError, PortForbiddenError, PortInUseError, TlsError

if TYPE_CHECKING:
    from wslwatch.tray import TrayApp

log = logging.getLogger(__name__)

ALREADY_RUNNING = 3  # exit code: another wslwatch of this user runs (the systemd unit does not restart on it)


#: A clean stop on each: SIGHUP is the terminal closing (POSIX only).
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))


def register(commands: Any) -> None:
    parser = commands.add_parser("run", help="run the daemon: collectors, /metrics, alerts, tray")
    add_config_option(parser)
    parser.add_argument("--headless", action="store_true", help="no tray icon")
    add_endpoint_options(parser)
    parser.set_defaults(handler=run)


def add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", type=_bind, metavar="ADDR", help="address for /metrics (default: exporter.bind)")
    parser.add_argument("--port", type=_port, metavar="N", help="port for /metrics, 0 for any free port (default: exporter.port)")


def _bind(text: str) -> str:
    problem = bind_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {port}")
    return port


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    daemon = Daemon.create(config, args.config or default_config_path())
    return serve_until_stopped(daemon, args, tray=not args.headless)


def serve_until_stopped(daemon: Daemon, args: argparse.Namespace, tray: bool = False) -> int:
    """As the user's one daemon (instance lock, log file, history): start `daemon` on
    `--bind`/`--port`, run until SIGTERM or SIGINT (or the tray's Quit), then stop it.

    With `tray`, the tray icon runs on this (the main) thread; where no tray can be shown,
    the daemon runs headless and the log says why."""
    instance = InstanceLock()
    try:
        instance.acquire()
    except AlreadyRunning as exc:
        return fail(f"{exc}; nothing was started. Stop it first, or use `wslwatch once`.", ALREADY_RUNNING)
    try:
        log_file = logs.log_to_file()
        log.info("logging to %s", log_file)
        cap_arenas()  # before the daemon's threads start
        app_id.adopt_bundle_app_id()
        history = _history(daemon, instance)
        try:
            return _serve(args, daemon, instance, tray, log_file)
        finally:
            if history is not None:
                history.close()
    finally:
        instance.release()


def _serve(args: argparse.Namespace, daemon: Daemon, instance: InstanceLock, tray: bool, log_file: Path) -> int:
    stop = threading.Event()
    # Installed before "serving" is logged, as a stop may come right after. Python runs a handler
    # in the main thread only when that thread runs bytecode: the signal may land on another
    # thread and leave a bare `stop.wait()` blocked, so the wait below wakes every second. The
    # handler sets the event from another thread: in the main thread it could run while
    # `stop.wait()` holds the event's lock, and `set()` would wait for that lock forever.
    for sig in _STOP_SIGNALS:
        signal.signal(sig, lambda *_: threading.Thread(target=stop.set, name="stop").start())
    instance.listen_for_stop(stop.set)  # `wslwatch stop` (SIGTERM above, a named event on Windows)
    try:
        server = daemon.start(args.bind, args.port)
    except PortInUseError as exc:
        return fail(
            f"cannot serve /metrics: {exc.strerror}. Another program holds it; "
            "stop it, or choose another port with --port or exporter.port in the config."
        )
    except PortForbiddenError as exc:
        return fail(f"cannot serve /metrics: {exc.strerror}; choose another port with --port or exporter.port in the config.")
    except AddressError as exc:
        return _not_started(f"cannot serve /metrics: {exc.strerror}. Use 127.0.0.1, 0.0.0.0 or an address this "
                            "machine has (`ip addr`, `ipconfig`) with --bind or exporter.bind in the config.")
    except TlsError as exc:
        return fail(f"cannot serve /metrics: {exc}")
    except OSError as exc:
        return fail(
            f"cannot serve /metrics on {args.bind or daemon.config.exporter.bind}: {exc.strerror or exc}; "
            "check --bind or exporter.bind in the config."
        )
    instance.publish(server.url)
    log.info("serving %s", server.url)
    reclaiming = Reclaiming(daemon.config, daemon.store, daemon.notifications, probing=lambda: any(
        runner.collecting for runner in daemon.runners if runner.name.startswith("io_latency:")
    ))  # fmt: skip
    stopped = threading.Lock()

    def shutdown() -> None:
        """Stop once: at the end of the wait below, or earlier inside the tray's end-of-session message."""
        stop.set()
        if stopped.acquire(blocking=False):
            log.info("stopping")
            daemon.stop()

    def end_session() -> None:
        """Windows may end the process as soon as this returns: the instance record goes too."""
        shutdown()
        instance.release()

    try:
        if not (tray and _run_tray(daemon, reclaiming, server.url, log_file, stop, end_session)):
            while not stop.wait(1.0):
                pass
    finally:
        shutdown()
    return 0


def _not_started(message: str) -> int:
    """Refuse to start, saying why in the log file too (a daemon started at logon has no console)."""
    log.error("not started: %s", message)
    return 2


def _history(daemon: Daemon, instance: InstanceLock) -> HistoryFile | None:
    """The rolling record `wslwatch report` reads; only the instance holding the lock writes it."""
    settings = daemon.config.history
    if not settings.enabled:
        return None
    try:
        history = HistoryFile(
            history_path(instance.directory), settings.interval_s, int(settings.max_mb * 2**20), daemon.engine.alerts
        )
    except OSError as exc:
        log.error("no history file (`wslwatch report` will have nothing new): %s", exc)
        return None
    daemon.store.subscribe(history.on_snapshot)
    return history


def _run_tray(
    daemon: Daemon,
    reclaiming: Reclaiming,
    metrics_url: str,
    log_file: Path,
    stop: threading.Event,
    end_session: Callable[[], None],
) -> bool:
    """Run the tray until `stop` (`end_session` when Windows ends the session); False when no tray can be shown here."""
    # Imported here: Pillow and the tray cost a headless daemon memory it does not need.
    from wslwatch.daemon.notify import ALL_RULES
    from wslwatch.tray import MenuActions, TrayUnavailable, open_tray
    from wslwatch.tray.actions import PageCacheDropper

    dispatcher = daemon.notifications
    config_path = daemon.config_path if daemon.config_path is not None and daemon.config_path.exists() else None
    actions = MenuActions(
        snoozed_until=lambda: dispatcher.snoozes(time.time()).get(ALL_RULES),
        snooze_until=lambda until: dispatcher.snooze(ALL_RULES, until),
        resume=lambda: dispatcher.unsnooze(ALL_RULES),
        quit=stop.set,
        metrics_url=metrics_url,
        grafana_url=lambda: daemon.config.tray.grafana_url,
        config_path=config_path,
        reload_config=daemon.reload_config if config_path is not None else None,
        log_path=log_file,
        page_cache=PageCacheDropper(reclaiming.controller.give_back_now) if reclaiming.reachable else None,
        reclaim=reclaiming.controller if reclaiming.reachable else None,
        has_probes=lambda: bool(daemon.config.paths) and daemon.config.collectors.io_latency.enabled,
        probes_paused_until=lambda: daemon.jobs.probes_paused_until,
        pause_probes_until=daemon.jobs.pause_probes,
        resume_probes=daemon.jobs.resume_probes,
    )
    try:
        tray = open_tray(daemon.store.snapshot, daemon.engine.alerts, actions, daemon.config.tray.update_s)
        tray.on_session_end(end_session)
        for notifier in _desktop_notifiers(tray):
            daemon.add_notifier(notifier)
        tray.run(stop)
    except TrayUnavailable as exc:
        log.warning("no tray backend: %s; running headless (use --headless to skip the tray)", exc)
        return False
    return True


def _desktop_notifiers(tray: TrayApp) -> list[Notifier]:
    """The tray's own notifications where its backend has them (Windows), else D-Bus, else none."""
    from wslwatch.tray import DbusNotifier, PystrayNotifier

    if tray.can_notify:
        return [PystrayNotifier(tray.notify)]
    found = DbusNotifier.find()
    if isinstance(found, str):
        log.info("no desktop notifications (alerts go to the log only): %s", found)
        return []
    log.info("desktop notifications through D-Bus")
    return [found]
