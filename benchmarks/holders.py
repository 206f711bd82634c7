"""Cost of saying who holds the guest's memory: CPU per `wsl_guest` collection, holders off and on.

Run: `python benchmarks/holders.py [--rounds N] [--no-doc]`

The real `WslGuestCollector` with its direct reader (inside WSL), `holders_top_n` 0 (the
guest's memory only) against 5 (also every `/proc/<pid>/status` and every leaf cgroup's
`memory.stat`): on a fixture tree of 500 processes and 200 cgroups (tests/rigs/cgroups.py,
written to a tmpfs-backed temp dir), and on this machine's own /proc and cgroup v1 tree.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import benchmark_parser, cpu_us, run_section, Section, stats, Table
from rigs.cgroups import fixture_tree

from wslwatch.collectors.wsl_guest import ProcReader, WslGuestCollector


def _row(table: Table, where: str, proc: str, cgroup: str, rounds: int) -> None:
    processes = sum(name.isdigit() for name in os.listdir(proc))
    leaves = sum(1 for _, subdirectories, _ in os.walk(cgroup) if not subdirectories)
    medians = []
    for top_n in (0, 5):
        collector = WslGuestCollector(30.0, proc, "", ProcReader(proc, cgroup if top_n else None), top_n=top_n)
        medians.append(stats(cpu_us(lambda: collector.collect(1.0), rounds)))
    off, on = medians
    table.add(where, processes, leaves, f"{off.median:.0f}", f"{on.median:.0f}", f"{on.p99:.0f}", f"{on.median - off.median:.0f}")


def measure(args: argparse.Namespace) -> Section:
    table = Table(
        f"Who holds the guest's memory: CPU µs per wsl_guest collection, {args.rounds} collections each",
        ["tree", "processes", "leaf cgroups (all dirs without children)", "top_n 0: median", "top_n 5: median", "top_n 5: p99", "holders cost (median)"],
    )
    with tempfile.TemporaryDirectory() as folder:
        proc, cgroup = fixture_tree(Path(folder), 500, 200)
        _row(table, "fixture (recorded v2 memory.stat)", str(proc), str(cgroup), args.rounds)
    _row(table, "this machine (/proc, cgroup v1 memory)", "/proc", "/sys/fs/cgroup/memory", args.rounds)
    table.notes += [
        "The collector runs every 30 s by default (`[collectors.wsl_guest] interval_s`), so the holders' "
        "cost per second is the median / 30; `holders_top_n = 0` removes it.",
        "With holders, each process costs two reads (`status` for memory, `stat` for user CPU); the fixture "
        "tree has no `stat` files, so its row is the memory part alone.",
    ]
    return Section([table])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="collections per variant (default 200)")
    return run_section("Who holds the guest's memory", parser, argv, measure, compile_first=False)


if __name__ == "__main__":
    sys.exit(main())
