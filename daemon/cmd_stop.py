"""`wslwatch stop`: stop this user's running daemon cleanly, on Windows too (no SIGTERM there)."""

from __future__ import annotations

import argparse
from typing import Any

from wslwatch.daemon.cmd_common import fail
from wslwatch.daemon.instance import NotStopped, stop_running

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("stop", help="stop the running daemon of this user and wait until it has")
    parser.add_argument(
        "--timeout", type=float, default=15.0, metavar="S", help="seconds to wait for it to stop (default: 15)"
    )
    parser.set_defaults(handler=stop)


def stop(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        return fail(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    try:
        info = stop_running(timeout_s=args.timeout)
    except NotStopped as exc:
        return fail(f"{exc}. End it from Task Manager (or `taskkill /PID <pid> /F`, `kill <pid>`).", 1)
    if info is None:
        print("wslwatch is not running for this user; nothing to stop.")
    else:
        print(f"wslwatch (pid {info.pid}) stopped.")
    return 0
