"""`wslwatch once`: one pass of every collector, as a table or as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from wslwatch.daemon.app import collect_once
from wslwatch.daemon.cmd_common import add_config_option, load_config
from wslwatch.daemon.instance import AlreadyRunning, InstanceLock
from wslwatch.store import Snapshot

_PLAIN_UNITS = {"_celsius": "°C", "_watts": "W"}


def register(commands: Any) -> None:
    parser = commands.add_parser("once", help="collect once and print every sample")
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help='print {"samples": [...], "errors": {...}}')
    parser.set_defaults(handler=once)


def once(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    running = _running_daemon()
    if running is not None and config.paths:
        print(f"wslwatch: note: {running}; it probes the [[paths]] itself, so `once` leaves them alone "
              "(their latencies are on its /metrics)", file=sys.stderr)
        config = dataclasses.replace(config, paths=())
    snap = collect_once(config)
    sys.stdout.write(as_json(snap) if args.json else as_table(snap))
    return 0


def _running_daemon() -> AlreadyRunning | None:
    """The user's daemon, if one runs: its probes share each path's `.wslwatch-probe/` with ours."""
    lock = InstanceLock()
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        return exc
    lock.release()
    return None


def as_json(snap: Snapshot) -> str:
    """The `once --json` document (DESIGN §3)."""
    doc = {
        "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in snap.samples],
        "errors": {h.collector: h.reason for h in snap.health if not h.up},
    }
    return json.dumps(doc, indent=2) + "\n"


def as_table(snap: Snapshot) -> str:
    """A readable table: one row per sample, values in human units, then the errors."""
    rows = [("METRIC", "LABELS", "VALUE")]
    for s in snap.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        rows.append((s.name.removeprefix("wslwatch_"), labels, human(s.name, s.value)))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]
    failed = [h for h in snap.health if not h.up]
    if failed:
        lines += ["", "not collected:"] + [f"  {h.collector}: {h.reason}" for h in failed]
    return "\n".join(lines) + "\n"


def human(name: str, value: float) -> str:
    """`value` in the unit its name ends with, e.g. `15.6 GiB`."""
    if name.endswith("_bytes"):
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{value / size:.1f} {unit}"
        return f"{value:.0f} B"
    if name.endswith("_ratio"):
        return f"{value * 100:.1f} %"
    if name.endswith("_seconds_total") or name.endswith("_seconds"):
        return f"{value:.3f} s"
    for suffix, unit in _PLAIN_UNITS.items():
        if name.endswith(suffix):
            return f"{value:.1f} {unit}"
    return f"{value:g}"
