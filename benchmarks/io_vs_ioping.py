#!/usr/bin/env python3
"""Benchmark: wslwatch's I/O probe against Debian's ioping, same directories, same pacing.

For each target (a local disk directory, tmpfs, the slow FUSE rig at 0 and 2 ms injected
delay) and each operation ioping can do (read_uncached: `ioping`, read_direct: `-D`,
read_cached: `-C`, write_sync: `-W`), both tools take N samples after one warmup, 4 KiB
each over a 1 MiB working set, 20 ms apart; the p50 of each run comes from per-request
times (`ioping -J` for ioping), and the table shows the median over R runs. Target: the
probe's p50 within ±25 % of ioping's, or within 50 µs.

    python3 benchmarks/io_vs_ioping.py [--samples 50] [--runs 3] [--no-write]

Installs ioping with apt-get when it is missing (as root). Appends its section (method,
machine, date, table) to docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the FUSE rig

from rigs.slowfs_rig import SlowFsMount, slowfs_available  # noqa: E402

from wslwatch.collectors.places import MountinfoPlaces  # noqa: E402
from wslwatch.collectors.probe import PathProber  # noqa: E402
from wslwatch.daemon.cmd_probe import percentile  # noqa: E402

#: probe operation -> the ioping options that do the same request
IOPING_MODES = {"read_uncached": [], "read_direct": ["-D"], "read_cached": ["-C"], "write_sync": ["-W"]}
GAP_S = 0.020
TOLERANCE = 0.25
ABSOLUTE_US = 50.0


@dataclass
class Row:
    target: str
    fstype: str
    op: str
    probe_us: float
    ioping_us: float

    @property
    def within(self) -> bool:
        diff = abs(self.probe_us - self.ioping_us)
        return diff <= TOLERANCE * self.ioping_us or diff <= ABSOLUTE_US


def ensure_ioping() -> str:
    found = shutil.which("ioping")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("ioping is missing: install Debian's ioping (apt-get install ioping) or run this as root")
    subprocess.run(["apt-get", "install", "-y", "-q", "ioping"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("ioping") or sys.exit("ioping did not install")


def ioping_p50_us(ioping: str, directory: Path, op: str, samples: int) -> float:
    command = [ioping, "-J", "-c", str(samples + 1), "-i", f"{GAP_S * 1000:g}ms", *IOPING_MODES[op], str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    times = [e["io"]["time"] / 1000 for e in json.loads(done.stdout) if "io" in e and not e["io"]["ignored"]]
    return percentile(sorted(times), 0.5)


def probe_p50_us(prober: PathProber, op: str, samples: int) -> float:
    result = prober.probe({op: samples}, gap_s=GAP_S, deadline_s=120.0)
    if result.status != "ok" or op not in result.latencies:
        raise RuntimeError(f"probe of {prober.path} ({op}): {result.reason or result.skipped}")
    return percentile(sorted(s * 1e6 for s in result.latencies[op]), 0.5)


@contextlib.contextmanager
def targets(base: Path) -> Iterator[list[tuple[str, Path, SlowFsMount | None, float]]]:
    """(label, directory, rig or None, injected delay ms) for every target this machine has."""
    local = Path(tempfile.mkdtemp(prefix="wslwatch-bench-", dir="/var/tmp"))
    shm = Path(tempfile.mkdtemp(prefix="wslwatch-bench-", dir="/dev/shm"))
    found: list[tuple[str, Path, SlowFsMount | None, float]] = [("local disk", local, None, 0.0), ("/dev/shm", shm, None, 0.0)]
    rig: SlowFsMount | None = None
    available, missing = slowfs_available()
    if available:
        rig = SlowFsMount(base / "slowfs")
        rig.start()
        found += [("FUSE rig, 0 ms", rig.mountpoint, rig, 0.0), ("FUSE rig, 2 ms", rig.mountpoint, rig, 2.0)]
    else:
        print(f"FUSE rig unavailable ({missing}); its rows are left out", file=sys.stderr)
    try:
        yield found
    finally:
        if rig is not None:
            rig.stop()
        shutil.rmtree(local, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


def measure(samples: int, runs: int) -> list[Row]:
    ioping = ensure_ioping()
    rows: list[Row] = []
    # the rig's backing store on tmpfs: its rows measure FUSE round trips, not the host disk's fsync
    with tempfile.TemporaryDirectory(dir="/dev/shm") as scratch, targets(Path(scratch)) as found:
        for label, directory, rig, delay_ms in found:
            if rig is not None:
                rig.set(delay_ms)
            place = MountinfoPlaces().place(str(directory), None)
            prober = PathProber(str(directory))
            for op in IOPING_MODES:
                probe_runs, ioping_runs = [], []
                for _ in range(runs):  # interleaved, so drift on a shared machine hits both alike
                    probe_runs.append(probe_p50_us(prober, op, samples))
                    ioping_runs.append(ioping_p50_us(ioping, directory, op, samples))
                row = Row(label, place.fstype if place else "?", op, statistics.median(probe_runs), statistics.median(ioping_runs))
                rows.append(row)
                print(f"{label:16} {op:14} probe {row.probe_us:9.1f} µs  ioping {row.ioping_us:9.1f} µs", file=sys.stderr)
            prober.remove_area(30.0)
    return rows


def machine() -> str:
    cpus = os.cpu_count()
    ioping = subprocess.run(["ioping", "-v"], capture_output=True, text=True).stdout.strip()
    return f"{platform.system()} {platform.release()}, {cpus} CPUs, Python {platform.python_version()}, {ioping}"


def section(rows: list[Row], samples: int, runs: int) -> str:
    lines = [
        "## I/O probe vs ioping",
        "",
        f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, "
        f"with `python3 benchmarks/io_vs_ioping.py --samples {samples} --runs {runs}`.",
        "",
        f"Method: the same directory for both tools; 4 KiB requests over a 1 MiB working set; {samples} samples "
        f"after one warmup, {GAP_S * 1000:g} ms apart (`ioping -J -c {samples + 1} -i {GAP_S * 1000:g}ms [-D|-C|-W] DIR`; "
        "the probe with its sample gap set to the same). Each run's p50 comes from per-request times "
        "(ioping's `-J` output, the probe's own event stream); the table shows the median of the runs' p50s, "
        "runs of the two tools interleaved. The FUSE rig is `tests/rigs/slowfs.py` (direct_io, no page cache) "
        "over a tmpfs backing directory, so its rows measure the FUSE round trips rather than the host disk's "
        "fsync, which the local-disk rows cover. "
        f"Target: probe p50 within ±{TOLERANCE:.0%} of ioping's, or within {ABSOLUTE_US:g} µs.",
        "",
        "| target | fstype | op (ioping mode) | probe p50 | ioping p50 | difference | within target |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        mode = " ".join(IOPING_MODES[r.op]) or "default"
        diff = (r.probe_us - r.ioping_us) / r.ioping_us
        lines.append(
            f"| {r.target} | {r.fstype} | {r.op} ({mode}) | {r.probe_us:.1f} µs | {r.ioping_us:.1f} µs | "
            f"{diff:+.0%} | {'yes' if r.within else 'NO'} |"
        )
    met = sum(r.within for r in rows)
    lines += ["", f"{met} of {len(rows)} rows within the target.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    rows = measure(args.samples, args.runs)
    text = section(rows, args.samples, args.runs)
    print(text)
    if not args.no_write:
        docs = ROOT / "docs" / "benchmarks.md"
        docs.parent.mkdir(exist_ok=True)
        previous = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
        docs.write_text(previous.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    return 0 if all(r.within for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
