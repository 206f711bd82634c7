"""CPU cost of one `.wslconfig` collection: unchanged file (the usual case) and a changed one.

Run: python benchmarks/wslconfig_collect.py [FILE]   (default: the longest real fixture)
Prints the median and p95 CPU time (time.process_time) per collect() over many runs, for the
Windows host seam (USERPROFILE, psutil RAM, the VM lookup) and for a configured path on plain
Linux (no VM lookup), and the cost of the full process scan behind the VM lookup.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import logging
import tempfile
import time
from pathlib import Path

from wslwatch.collectors._wslconfig_hosts import _find_vm_process
from wslwatch.collectors.wslconfig import WslconfigCollector

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "fixtures" / "wslconfig" / "mimikun-dotfiles-issue1841.wslconfig"


def cpu_per_call(collector: WslconfigCollector, runs: int, touch: Path | None = None) -> list[float]:
    """CPU seconds of each of `runs` collections; `touch` gets a new mtime before each one."""
    times = []
    for i in range(runs):
        if touch is not None:
            os.utime(touch, ns=(time.time_ns(), 10**18 + i))
        start = time.process_time()
        collector.collect(float(i))
        times.append(time.process_time() - start)
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95)]
    print(f"{label:44s} median {statistics.median(times) * 1e6:8.1f} us   p95 {p95 * 1e6:8.1f} us   (n={len(times)})")


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT
    logging.disable(logging.WARNING)  # the fixture's problems would be logged on every change
    with tempfile.TemporaryDirectory() as profile:
        path = Path(profile, ".wslconfig")
        shutil.copy(source, path)
        windows = WslconfigCollector(60.0, "", platform="win32", environ={"USERPROFILE": profile})
        linux = WslconfigCollector(60.0, str(path), platform="linux", environ={})
        for collector in (windows, linux):
            collector.collect(0.0)  # warm: first parse, imports
        report("windows seam, file unchanged", cpu_per_call(windows, 2000))
        report("windows seam, file changed every time", cpu_per_call(windows, 2000, touch=path))
        report("configured path (linux), file unchanged", cpu_per_call(linux, 2000))
        report("configured path (linux), file changed", cpu_per_call(linux, 2000, touch=path))
    scans = []
    for _ in range(200):
        start = time.process_time()
        _find_vm_process()
        scans.append(time.process_time() - start)
    report("process scan for the VM (<= once per 5 min)", scans)
    print(f"file: {source} ({source.stat().st_size} bytes); processes here: {len(os.listdir('/proc'))} /proc entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
