"""CPU time of one collection by each OS collector on this machine.

Run: `python benchmarks/bench_os_collectors.py`. The vmmem collector lists every process
each time (nothing named vmmemWSL runs here, so that is its steady cost inside WSL or Linux);
wsl_guest reads this machine's /proc directly, as it does inside WSL. The Windows reader's
cost is dominated by its wsl.exe child processes and is not measured here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import psutil

from wslwatch.collectors.host_memory import HostMemoryCollector
from wslwatch.collectors.process import ProcessCollector
from wslwatch.collectors.vmmem import VmmemCollector
from wslwatch.collectors.wsl_guest import WslGuestCollector
from wslwatch.core import Collector

ROUNDS = 300


def cpu_us(fn: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median and 99th percentile CPU time of `fn()` in microseconds."""
    fn()  # first call outside the timing (imports, caches)
    times = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        fn()
        times.append((time.thread_time_ns() - started) / 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def main() -> int:
    collectors: list[Collector] = [
        HostMemoryCollector(15.0),
        ProcessCollector(15.0),
        VmmemCollector(("vmmemWSL", "vmmem"), 15.0),
        WslGuestCollector(30.0, "/proc", ""),
    ]
    print(f"{len(psutil.pids())} processes running")
    total = 0.0
    for collector in collectors:
        median, p99 = cpu_us(lambda: collector.collect(time.time()))
        total += median
        print(f"{collector.name:12} median {median:7.0f} us CPU, p99 {p99:7.0f} us")
    print(f"{'sum':12} median {total:7.0f} us CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
