"""`wslwatch run`: the daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from wslwatch.config import default_config_path
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.exporters.http import PortInUseError

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
    return serve_until_stopped(Daemon.create(config, args.config or default_config_path()), args)


def serve_until_stopped(daemon: Daemon, args: argparse.Namespace) -> int:
    """Start `daemon` on `--bind`/`--port`, run until SIGTERM or SIGINT, then stop it."""
    try:
        server = daemon.start(args.bind, args.port)
    except PortInUseError as exc:
        return fail(
            f"cannot serve /metrics: {exc.strerror}. Another wslwatch (or another program) holds it; "
            "stop it, or choose another port with --port or exporter.port in the config."
        )
    log.info("serving %s", server.url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        log.info("stopping")
        daemon.stop()
    return 0
