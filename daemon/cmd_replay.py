"""`wslwatch replay FILE`: the rules engine over a recorded file, one JSON line per transition."""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

from wslwatch.daemon.cmd_common import fail, load_config
from wslwatch.daemon.recording import read_frames, replay, transition_line
from wslwatch.exporters.recording import bounded_lines


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay", help="run the alert rules over a recorded file; print each alert transition as a JSON line"
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="JSON Lines written by `wslwatch record`")
    parser.add_argument(
        "--config",
        "--rules",
        dest="config",
        type=Path,
        metavar="FILE",
        help="config whose [rules.*] to use (default: the per-user file, else built-in defaults)",
    )
    parser.set_defaults(handler=replay_file)


def replay_file(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    try:
        with args.file.open(encoding="utf-8", errors="replace") as stream:
            frames = read_frames(bounded_lines(stream), str(args.file))
            first = next(frames, None)
            if first is None:
                return fail(f"{args.file}: no recorded line in it; give a file written by `wslwatch record`")
            for alert in replay(itertools.chain([first], frames), config):
                sys.stdout.write(transition_line(alert) + "\n")
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc.strerror or exc}")
    return 0
