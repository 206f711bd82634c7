"""`wslwatch run`: the daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from wslwatch.config import default_config_path
from wslwatch.daemon import logs
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.daemon.history_file import HistoryFile, history_path
from wslwatch.daemon.instance import AlreadyRunning, InstanceLock
from wslwatch.exporters.http import PortInUseError, TlsError

log = logging.getLogger(__name__)

ALREADY_RUNNING = 3  # exit code: another wslwatch of this user runs (the systemd unit does not restart on it)


def register(commands: Any) -> None:
    parser = commands.add_parser("run", help="run the daemon: collectors, /metrics, alerts, tray")
    add_config_option(parser)
    parser.add_argument("--headless", action="store_true", help="no tray icon")
    add_endpoint_options(parser)
    parser.set_defaults(handler=run)


def add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", metavar="ADDR", help="address for /metrics (default: exporter.bind)")
    parser.add_argument("--port", type=int, metavar="N", help="port for /metrics, 0 for any free port (default: exporter.port)")


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    return serve_until_stopped(Daemon.create(config, args.config or default_config_path()), args)


def serve_until_stopped(daemon: Daemon, args: argparse.Namespace) -> int:
    """As the user's one daemon (instance lock, log file, history): start `daemon` on
    `--bind`/`--port`, run until SIGTERM or SIGINT, then stop it."""
    instance = InstanceLock()
    try:
        instance.acquire()
    except AlreadyRunning as exc:
        return fail(f"{exc}; nothing was started. Stop it first, or use `wslwatch once`.", ALREADY_RUNNING)
    try:
        log.info("logging to %s", logs.log_to_file())
        history = _history(daemon, instance)
        try:
            return _serve(args, daemon, instance)
        finally:
            if history is not None:
                history.close()
    finally:
        instance.release()


def _serve(args: argparse.Namespace, daemon: Daemon, instance: InstanceLock) -> int:
    stop = threading.Event()
    # Installed before "serving" is logged, as a stop may come right after. Python runs a handler
    # in the main thread only when that thread runs bytecode: the signal may land on another
    # thread and leave a bare `stop.wait()` blocked, so the wait below wakes every second. The
    # handler sets the event from another thread: in the main thread it could run while
    # `stop.wait()` holds the event's lock, and `set()` would wait for that lock forever.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=stop.set, name="stop").start())
    try:
        server = daemon.start(args.bind, args.port)
    except PortInUseError as exc:
        return fail(
            f"cannot serve /metrics: {exc.strerror}. Another program holds it; "
            "stop it, or choose another port with --port or exporter.port in the config."
        )
    except TlsError as exc:
        return fail(f"cannot serve /metrics: {exc}")
    instance.publish(server.url)
    log.info("serving %s", server.url)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        log.info("stopping")
        daemon.stop()
    return 0


def _history(daemon: Daemon, instance: InstanceLock) -> HistoryFile | None:
    """The rolling record `wslwatch report` reads; only the instance holding the lock writes it."""
    settings = daemon.config.history
    if not settings.enabled:
        return None
    history = HistoryFile(
        history_path(instance.directory), settings.interval_s, int(settings.max_mb * 2**20), daemon.engine.alerts
    )
    daemon.store.subscribe(history.on_snapshot)
    return history
