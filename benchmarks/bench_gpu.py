"""CPU time of one GPU collection against the fake NVML library (no GPU needed).

Run: `python benchmarks/bench_gpu.py`. The fake re-reads its state file on every NVML
call, so these numbers are an upper bound for the collector's own Python cost plus a
file read per call; a real driver's calls cost differently (verify on a GPU machine).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pynvml  # noqa: E402

from rigs.fake_nvml import FakeNvml, StateValue, build  # noqa: E402
from wslwatch.collectors.gpu import GpuCollector  # noqa: E402

ROUNDS = 2000


def cpu_us(fn: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median and 99th percentile CPU time of `fn()` in microseconds."""
    times = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        fn()
        times.append((time.thread_time_ns() - started) / 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeNvml(build(Path(tmp)), Path(tmp) / "state")
        with fake.loaded():
            cases: list[tuple[str, dict[str, StateValue], bool]] = [
                ("1 GPU", dict(count=1), False),
                ("2 GPUs, per-process on, 4 processes", dict(count=2, procs="1:100,2:200,3:300@1,4:400@1"), True),
                ("1 GPU, WDDM (no v2, utilization NotSupported, per-process N/A)",
                 dict(count=1, no_v2=1, util_error=3, procs="1:100", proc_mem_na=1), True),
            ]
            for label, keys, per_process in cases:
                fake.set(**keys)
                collector = GpuCollector(15.0, per_process)
                collector.collect(0.0)  # init outside the timing
                median, p99 = cpu_us(lambda: collector.collect(0.0))
                print(f"collect(), {label}: median {median:.0f} us CPU, p99 {p99:.0f} us")
                collector.close()
            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            median, p99 = cpu_us(lambda: pynvml.nvmlDeviceGetPowerUsage(handle))
            print(f"one pynvml call to the fake (its state file read included): median {median:.0f} us CPU")
            pynvml.nvmlShutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
