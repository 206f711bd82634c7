"""The `wslwatch` command line: one sub-command per module, each `register()`s itself here."""

from __future__ import annotations

import argparse
import traceback
from typing import Sequence

import wslwatch
from wslwatch.daemon import cmd_config, cmd_once, cmd_probe, cmd_record, cmd_replay, cmd_run, cmd_where
from wslwatch.daemon import cmd_doctor, cmd_install, cmd_report, cmd_stop, logs
from wslwatch.daemon.startup_notice import tell_windowless_user

__all__ = ["main"]

_COMMANDS = (cmd_run, cmd_stop, cmd_once, cmd_probe, cmd_where, cmd_config, cmd_record, cmd_replay, cmd_report, cmd_install,
             cmd_doctor)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wslwatch",
        description="Resource monitor for Windows + WSL2: VM memory, guest memory, VRAM, I/O latency.",
    )
    parser.add_argument("--version", action="version", version=f"wslwatch {wslwatch.__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code (0 ok, 1 failure, 2 bad input).

    Without a console (pythonw), a command that fails is told to the user once (see
    `startup_notice`), not only written to `console.log`."""
    console = logs.catch_missing_streams()  # first: under pythonw stdout/stderr are None
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level, console=console)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception:
        if console:
            raise
        traceback.print_exc()  # into console.log
        code = 1
    if code != 0 and not console:
        tell_windowless_user(logs.console_tail(), code, logs.console_log_path())
    return code
