"""`wslwatch run`: the daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wslwatch.config import default_config_path
from wslwatch.core import Notifier
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.exporters.http import PortInUseError

if TYPE_CHECKING:
    from wslwatch.tray import TrayApp

log = logging.getLogger(__name__)


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
    daemon = Daemon.create(config, args.config or default_config_path())
    return serve_until_stopped(daemon, args, tray=not args.headless)


def serve_until_stopped(daemon: Daemon, args: argparse.Namespace, tray: bool = False) -> int:
    """Start `daemon` on `--bind`/`--port`, run until SIGTERM or SIGINT (or the tray's Quit), then stop it.

    With `tray`, the tray icon runs on this (the main) thread; where no tray can be shown,
    the daemon runs headless and the log says why.
    """
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before serving: a stop may come as soon as the URL is logged
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = daemon.start(args.bind, args.port)
    except PortInUseError as exc:
        return fail(
            f"cannot serve /metrics: {exc.strerror}. Another wslwatch (or another program) holds it; "
            "stop it, or choose another port with --port or exporter.port in the config."
        )
    log.info("serving %s", server.url)
    try:
        if not (tray and _run_tray(daemon, server.url, stop)):
            while not stop.wait(0.5):  # with a timeout: a signal that lands just before the wait is still seen
                pass
    finally:
        log.info("stopping")
        daemon.stop()
    return 0


def _run_tray(daemon: Daemon, metrics_url: str, stop: threading.Event) -> bool:
    """Run the tray until `stop`; False when no tray can be shown here."""
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
        log_path=_log_file(),
        page_cache=PageCacheDropper.find(),
    )
    try:
        tray = open_tray(daemon.store.snapshot, daemon.engine.alerts, actions, daemon.config.tray.update_s)
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


def _log_file() -> Path | None:
    """The file the root logger writes to, if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None
