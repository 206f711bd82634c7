"""Where a soaking daemon's memory goes: the daemon in this process, tracemalloc snapshots compared.

Run: `python benchmarks/soak_alloc.py [--seconds 120] [--top 12]`.

The same configuration as `soak.py` (every collector every 0.1 s, a directory probed every
second, the rules engine on), but the daemon runs in this process under `tracemalloc`, so
the growth between two snapshots (at a third and at the end of the run) is attributed to
the lines that allocated it. `soak.py` measures from outside; this one says why. With a
small `--max-points`, every series' history reaches its cap early, so what still grows after
that is not the history. (No fake
NVML here: a library path set in a running process is not used, so the GPU collector is down.)
"""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import time
import tracemalloc
from pathlib import Path

from soak import soak_config, stop_on  # the soak's own configuration and signal handling

from wslwatch.config import load
from wslwatch.daemon.app import Daemon
from wslwatch.store import Store


def main() -> int:
    stop_on(signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument(
        "--max-points", type=int, default=4096, help="history points kept per series (the Store's cap; 4096 in the daemon)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wslwatch-alloc-") as tmp:
        folder = Path(tmp)
        config = load(soak_config(folder))
        logging.disable(logging.WARNING)  # at 0.1 s under tracemalloc, the deadlines are often missed
        tracemalloc.start(1)
        daemon = Daemon.create(config, store=Store(max_points=args.max_points))
        daemon.start(port=0)
        try:
            time.sleep(args.seconds / 3)
            first = tracemalloc.take_snapshot()
            time.sleep(args.seconds * 2 / 3)
            second = tracemalloc.take_snapshot()
        finally:
            daemon.stop()
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = second.filter_traces(keep).compare_to(first.filter_traces(keep), "lineno")
    total = sum(stat.size_diff for stat in stats)
    print(f"growth between the snapshots: {total / 2**20:.2f} MiB over {args.seconds * 2 / 3:.0f} s")
    for stat in stats[: args.top]:
        frame = stat.traceback[0]
        print(f"{stat.size_diff / 2**20:8.2f} MiB {stat.count_diff:+8d} blocks  {frame.filename}:{frame.lineno}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
