"""Cost of saying who holds the guest's memory: CPU per `wsl_guest` collection, holders off and on.

Run: `python benchmarks/holders.py [--rounds N] [--no-doc]`

The real `WslGuestCollector` with its direct reader (inside WSL): `holders_top_n` 0 (the guest's
memory only) against 5 with `holders_interval_s = 0`, so that every collection reads the holders
(every process's `stat` and `statm`, every leaf cgroup's `memory.stat`): the difference is one
holders read. Then the default cadence: the collector's clock advancing by its 30 s interval per
collection, the holders read on one in four (`holders_interval_s = 120`). On a fixture tree
of 500 processes and 200 cgroups (tests/rigs/cgroups.py, written to a temp dir), and on this
machine's own /proc and cgroup v1 tree.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from pathlib import Path

from common import benchmark_parser, cpu_us, run_section, Section, stats, Table
from rigs.cgroups import fixture_tree

from wslwatch.collectors.wsl_guest import HOLDERS_INTERVAL_S, ProcReader, WslGuestCollector

INTERVAL_S = 30.0  # the collector's default interval_s


def _collector(proc: str, cgroup: str, top_n: int, holders_interval_s: float = 0.0) -> WslGuestCollector:
    reader = ProcReader(proc, cgroup if top_n else None)
    return WslGuestCollector(INTERVAL_S, proc, "", reader, top_n=top_n, holders_interval_s=holders_interval_s)


def _row(table: Table, where: str, proc: str, cgroup: str, rounds: int) -> None:
    processes = sum(name.isdigit() for name in os.listdir(proc))
    leaves = sum(1 for _, subdirectories, _ in os.walk(cgroup) if not subdirectories)
    off = stats(cpu_us(lambda: _collector(proc, cgroup, 0).collect(1.0), rounds))
    every = _collector(proc, cgroup, 5)
    on = stats(cpu_us(lambda: every.collect(1.0), rounds))
    clock = itertools.count(0.0, INTERVAL_S)
    cadence = _collector(proc, cgroup, 5, HOLDERS_INTERVAL_S)
    default = stats(cpu_us(lambda: cadence.collect(next(clock)), rounds))
    read = on.median - off.median
    table.add(
        where, processes, leaves, f"{off.median:.0f}", f"{on.median:.0f}", f"{on.p99:.0f}", f"{read:.0f}",
        f"{read / HOLDERS_INTERVAL_S:.1f}", f"{default.median:.0f}", f"{default.mean:.0f}", f"{default.p99:.0f}",
    )  # fmt: skip


def measure(args: argparse.Namespace) -> Section:
    table = Table(
        f"Who holds the guest's memory: CPU µs per wsl_guest collection, {args.rounds} collections each",
        ["tree", "processes", "leaf cgroups (all dirs without children)", "holders off: median",
         "every collection reads the holders: median", "p99", "one holders read (median difference)",
         f"holders per second (every {HOLDERS_INTERVAL_S:g} s)", "default cadence: median", "mean", "p99"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        proc, cgroup = fixture_tree(Path(folder), 500, 200)
        _row(table, "fixture (recorded v2 memory.stat)", str(proc), str(cgroup), args.rounds)
    _row(table, "this machine (/proc, cgroup v1 memory)", "/proc", "/sys/fs/cgroup/memory", args.rounds)
    table.notes += [
        f"Default cadence: a collection every {INTERVAL_S:g} s (`[collectors.wsl_guest] interval_s`), the holders "
        f"read on one in {HOLDERS_INTERVAL_S / INTERVAL_S:g} (`holders_interval_s = {HOLDERS_INTERVAL_S:g}`), the "
        "others export the last holders again: the median is a collection without a read, the p99 one with, "
        "and the mean is what it costs.",
        "Each process costs two reads: `stat` (name, user CPU) and `statm` (anonymous memory), `status` instead "
        "of `statm` while anything is swapped out (only it has a process's swap). The fixture's are plain files, "
        "cheaper than the kernel's.",
    ]
    return Section([table])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="collections per variant (default 200)")
    return run_section("Who holds the guest's memory", parser, argv, measure, compile_first=False)


if __name__ == "__main__":
    sys.exit(main())
