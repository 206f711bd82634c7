"""`wslwatch record FILE`: the headless daemon, also appending every Store update to FILE."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wslwatch.daemon.app import Daemon
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.daemon.cmd_run import add_endpoint_options, serve_until_stopped
from wslwatch.daemon.line_file import LineFile
from wslwatch.daemon.recording import Recorder


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "record", help="run headless and append every collection to FILE as JSON Lines (what `replay` reads)"
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="JSON Lines file to append to")
    add_config_option(parser)
    add_endpoint_options(parser)
    parser.set_defaults(handler=record)


def record(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    try:
        lines = LineFile(args.file)
    except OSError as exc:
        return fail(f"cannot write {args.file}: {exc.strerror or exc}; choose a writable file")
    try:
        daemon = Daemon.create(config)
        daemon.store.subscribe(Recorder(lines))
        return serve_until_stopped(daemon, args)
    finally:
        lines.close()
