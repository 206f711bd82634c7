"""`wslwatch probe PATH...`: measure I/O latency of directories now, side by side, with a verdict."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import IO, Any

from wslwatch.collectors._probe_child import OPS
from wslwatch.collectors.places import Place, default_place_finder
from wslwatch.collectors.probe import PathProber, ProbeResult, plan_samples
from wslwatch.daemon.cmd_common import fail
from wslwatch.daemon.cmd_where import advice

__all__ = ["PathReport", "as_json", "as_table", "percentile", "register", "summary", "verdicts"]

#: Below this ratio two paths count as equally fast.
_SAME_SPEED = 1.5
#: The progress line appears once a probe has run this long.
_PROGRESS_AFTER_S = 1.0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "probe",
        help="measure I/O latency of directories now and compare them (is my data on the slow /mnt/c?)",
        description=(
            "Time small operations (stat, listdir, open, 4 KiB reads and writes, create+fsync, unlink) in a "
            "private PATH/.wslwatch-probe/ directory, removed afterwards, and print one column per PATH with "
            "its filesystem kind and a verdict. A hung filesystem is reported as stalled, never waited for."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a directory")
    parser.add_argument("--samples", type=int, default=5, metavar="N", help="timed samples per operation (default 5)")
    parser.add_argument(
        "--interval", type=float, default=0.02, metavar="S", help="seconds between two timed operations (default 0.02)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="report a path stalled after this many seconds (default: from --samples)"
    )
    parser.add_argument("--json", action="store_true", help='print {"paths": [...]} with p50/p90/p99/min/max per operation')
    parser.set_defaults(handler=probe)


@dataclass(frozen=True)
class PathReport:
    """One probed path: where it lives and what the probe measured."""

    path: str
    place: Place | None
    result: ProbeResult


def probe(args: argparse.Namespace) -> int:
    if not 1 <= args.samples <= 1000:
        return fail(f"--samples must be from 1 to 1000, got {args.samples}")
    if not 0 <= args.interval <= 10:
        return fail(f"--interval must be from 0 to 10 seconds, got {args.interval:g}")
    timeout = args.timeout or max(30.0, 2 * (args.samples + 1) * len(OPS) * (args.interval + 0.05))
    if timeout <= 0:
        return fail(f"--timeout must be positive, got {timeout:g}")
    paths = [os.path.abspath(os.path.expanduser(path)) for path in args.paths]
    finder = default_place_finder()
    reports = []
    for index, path in enumerate(paths, start=1):
        progress = _Progress(sys.stderr, f"probing {index}/{len(paths)} {path}")
        prober = PathProber(path)
        result = prober.probe(
            plan_samples(args.samples), gap_s=args.interval, deadline_s=timeout, keep_area=False, progress=progress
        )
        progress.finish()
        if prober.stuck_pid is not None:
            result.notes.append(f"probe process {prober.stuck_pid} is still stuck; it ends when the filesystem answers")
        reports.append(PathReport(path, finder.place(path, result.facts), result))
    sys.stdout.write(as_json(reports) if args.json else as_table(reports, args.samples, args.interval))
    return 0 if all(r.result.status == "ok" for r in reports) else 1


class _Progress:
    """A one-line indication on stderr for a probe that runs longer than a second."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self._stream = stream
        self._label = label
        self._tty = stream.isatty()
        self._shown = False
        self._started = time.monotonic()

    def __call__(self, op: str | None, elapsed: float) -> None:
        if elapsed < _PROGRESS_AFTER_S:
            return
        if self._tty:
            self._stream.write(f"\r\033[K{self._label}: {op or '...'} ({elapsed:.0f}s)")
        elif not self._shown:
            self._stream.write(f"{self._label} ...\n")
        self._shown = True
        self._stream.flush()

    def finish(self) -> None:
        if self._shown and self._tty:
            self._stream.write("\r\033[K")
            self._stream.flush()


def percentile(ordered: list[float], q: float) -> float:
    """The `q` quantile (0-1) of sorted values, interpolating between the closest ranks."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict[str, float | int]:
    """p50/p90/p99/min/max in seconds and the sample count."""
    ordered = sorted(values)
    return {
        "p50_s": percentile(ordered, 0.5),
        "p90_s": percentile(ordered, 0.9),
        "p99_s": percentile(ordered, 0.99),
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "n": len(ordered),
    }


def _p50s(report: PathReport) -> dict[str, float]:
    return {op: percentile(sorted(values), 0.5) for op, values in report.result.latencies.items() if values}


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def verdicts(reports: list[PathReport]) -> list[str]:
    """Plain sentences: how much slower each path is than the fastest, what stalled, what is cross-OS."""
    lines: list[str] = []
    measured = [r for r in reports if r.result.status == "ok" and r.result.latencies]
    if len(measured) >= 2:
        p50s = {r.path: _p50s(r) for r in measured}
        common = set.intersection(*(set(p) for p in p50s.values()))
        fastest = min(measured, key=lambda r: sum(math.log(p50s[r.path][op]) for op in common))
        base = p50s[fastest.path]
        for report in measured:
            if report is fastest:
                continue
            mine = p50s[report.path]
            op = max(common, key=lambda o: mine[o] / base[o], default=None)
            if op is None:
                continue
            ratio = mine[op] / base[op]
            if ratio >= _SAME_SPEED:
                lines.append(f"{report.path} is {_times(ratio)} slower than {fastest.path} for {op}")
            else:
                lines.append(f"{report.path} is about as fast as {fastest.path} (within {_SAME_SPEED:g}× on every operation)")
    for report in reports:
        result = report.result
        if result.status == "stalled":
            lines.append(f"{report.path} stalled: {result.reason}; its filesystem is hung or extremely slow")
        elif result.status == "error":
            lines.append(f"{report.path} could not be probed: {result.reason}")
        if report.place is not None:
            lines += [line for line in (advice(report.place),) if line]
    return lines


def _notes(report: PathReport) -> list[str]:
    result = report.result
    notes = [f"{report.path}: {note}" for note in result.notes]
    notes += [f"{report.path}: {op} not measured: {why}" for op, why in result.skipped.items()]
    uncached = len(result.latencies.get("read_uncached", []))
    if result.cache_illusions and result.cache_illusions == uncached:
        notes.append(f"{report.path}: read_uncached was served from memory every time (its cache cannot be dropped, e.g. tmpfs)")
    elif result.cache_illusions:
        notes.append(f"{report.path}: {result.cache_illusions} of {uncached} read_uncached samples were still cached")
    return notes


def _human(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs" if seconds < 1e-5 else f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms" if seconds < 1e-2 else f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def as_table(reports: list[PathReport], samples: int, interval: float) -> str:
    """A row per operation, a column per path (p50), the kind and status on top, then the verdict."""
    rows = [
        ["", *(r.path for r in reports)],
        ["kind", *(r.place.kind if r.place else "?" for r in reports)],
        ["status", *(r.result.status for r in reports)],
    ]
    for op in OPS:
        cells = []
        for report in reports:
            values = report.result.latencies.get(op)
            cells.append(_human(percentile(sorted(values), 0.5)) if values else "-")
        if any(cell != "-" for cell in cells):
            rows.append([op, *cells])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.append(f"(median of {samples} samples per operation, {interval * 1000:g} ms apart)")
    judged = verdicts(reports)
    notes = [note for report in reports for note in _notes(report)]
    return "\n".join(lines + ([""] + judged if judged else []) + ([""] + notes if notes else [])) + "\n"


def _path_json(report: PathReport) -> dict[str, Any]:
    place, result = report.place, report.result
    return {
        "path": report.path,
        "kind": place.kind if place else None,
        "fstype": place.fstype if place else None,
        "mountpoint": place.mountpoint if place else None,
        "cross_os": place.cross_os if place else None,
        "status": result.status,
        "ops": {op: summary(result.latencies[op]) for op in OPS if result.latencies.get(op)},
        "reason": result.reason,
        "readonly": result.readonly,
        "cache_illusions": result.cache_illusions,
        "skipped": result.skipped,
    }


def as_json(reports: list[PathReport]) -> str:
    """The `probe --json` document."""
    return json.dumps({"paths": [_path_json(r) for r in reports], "verdicts": verdicts(reports)}, indent=2) + "\n"
