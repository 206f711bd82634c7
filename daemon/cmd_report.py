"""`wslwatch report`: a PNG of a training session from a record file or the daemon's history."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from wslwatch.config import Config
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.daemon.history_file import history_path, history_paths
from wslwatch.daemon.instance import state_dir
from wslwatch.daemon.recording import Frame, read_frames, replay

if TYPE_CHECKING:
    from wslwatch.exporters.recording import AlertSpan

__all__ = ["parse_duration", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `2h`, `1d` or plain seconds, as seconds; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration like 90s, 30m, 2h or 1d")
    return float(match[1]) * _UNITS[match[2] or "s"]


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None or not (400 <= int(match[1]) <= 8000 and 300 <= int(match[2]) <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT between 400x300 and 8000x8000")
    return int(match[1]), int(match[2])


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    parser = commands.add_parser("report", help="draw memory, VRAM, swap and alerts of a session as a PNG")
    parser.add_argument(
        "--from", dest="source", type=Path, metavar="FILE", help="a `wslwatch record` file (default: the daemon's history)"
    )
    parser.add_argument("--since", type=_duration, metavar="DURATION", help="only the last DURATION (90s, 30m, 2h, 1d)")
    parser.add_argument("-o", "--output", type=Path, default=Path("wslwatch-report.png"), metavar="PNG", help="where to write (default: %(default)s)")
    parser.add_argument("--size", type=_size, default=(1200, 900), metavar="WxH", help="picture size (default: 1200x900)")
    add_config_option(parser)  # its rules judge a --from file that records no alerts
    parser.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the drawing needs Pillow, which every other command
    # (`run --headless` above all) would otherwise load for nothing (docs/benchmarks.md).
    from wslwatch.exporters.recording import read_recording
    from wslwatch.exporters.report import NAMES, render

    if args.source is not None:
        if not args.source.is_file():
            return fail(f"{args.source} does not exist; pass a file written by `wslwatch record`")
        paths = [args.source]
    else:
        paths = history_paths(history_path(state_dir()))
        if not paths:
            return fail(
                f"no history in {state_dir()} yet: `wslwatch run` writes it while it runs "
                "(history.enabled in the config); or pass --from FILE written by `wslwatch record`"
            )
    try:
        recording = read_recording(paths, NAMES, args.since)
    except OSError as exc:
        return fail(f"cannot read {exc.filename}: {exc.strerror}")
    if recording.start is None or recording.end is None:
        return fail(f"no samples in {', '.join(map(str, paths))}; nothing was drawn")
    replayed = ""
    if args.source is not None and recording.alert_samples == 0:  # a `record` file: judge it now
        config = load_config(args)
        if isinstance(config, int):
            return config
        spans = replayed_alerts(paths, config, recording.end)
        recording.alerts = [span for span in spans if span.end >= recording.start]
        replayed = ", replayed with the rules in force"
    image, _ = render(recording, args.size)
    try:
        image.save(args.output, format="PNG", optimize=True)
    except OSError as exc:
        return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    alerts = len(recording.alerts)
    print(f"wrote {args.output} ({len(recording.times)} moments, {alerts} alert{'s' * (alerts != 1)}{replayed})")
    return 0


def replayed_alerts(paths: list[Path], config: Config, end: float) -> list[AlertSpan]:
    """The alerts the rules of `config` raise over the whole recording (lines that do not
    parse, e.g. one cut short when `record` was killed, are skipped)."""
    from wslwatch.exporters.recording import spans_of

    def transitions() -> Iterator[tuple[str, str, Mapping[str, str], str, float]]:
        for alert in replay(_frames(paths), config):
            yield alert.rule, alert.severity, alert.labels, alert.state, alert.since

    return spans_of(transitions(), end)


def _frames(paths: list[Path]) -> Iterator[Frame]:
    from wslwatch.exporters.recording import bounded_lines

    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as stream:
            yield from read_frames(bounded_lines(stream), str(path))
