"""What the sub-commands share: error reporting and loading the config named on the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wslwatch.config import Config, ConfigError, load

__all__ = ["add_config_option", "fail", "load_config"]


def fail(message: str, code: int = 2) -> int:
    """Print `wslwatch: message` to stderr and return `code`."""
    print(f"wslwatch: {message}", file=sys.stderr)
    return code


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="config file (default: the per-user file, else built-in defaults)"
    )


def load_config(args: argparse.Namespace) -> Config | int:
    """The config named by `--config`, or an exit code after printing every problem."""
    try:
        return load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return fail("invalid configuration; nothing was started. Fix the lines above (see `wslwatch config check`).")
