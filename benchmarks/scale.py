"""5. Scale: wslwatch with 0, 10 and 50 probed paths, one after another in the same run.

Run: `python benchmarks/scale.py [--paths 0,10,50] [--seconds 60] [--every 0.5] [--python PY] [--no-doc]`

For each count N: `wslwatch run --headless` with the default settings (the fake NVML library
with 2 GPUs, `.wslconfig` from a copy of a real one) and N `[[paths]]`, directories on tmpfs
probed every 60 s as configured by default. Once every collector and every path has reported
(the paths are spread over their interval, so this takes up to a minute), the daemon is left
alone for `--seconds` (its quiet CPU), then scraped every `--every` seconds for `--seconds`
(gzip, as Prometheus asks), every path being probed once meanwhile: scrapes meet probe runs.

- series: samples on the page; per path: the samples that name a probed path (its `path`
  label, or its `io_latency:<name>` collector's series) divided by N; counted on the page itself rather
  than as a difference from the page at 0, which alerts and the guest's top holders coming and
  going between two daemons would skew;
- CPU per scrape: the daemon's CPU (user + system, its probe children not included) while
  scraped, minus its quiet CPU over as long, divided by the scrapes;
- RSS when every path had reported, and at the end; the Store keeps 2 h of every series
  (at most 4 096 points, 16 bytes each), so the RSS at full history is projected as the end
  RSS plus the points still to come: every series' remaining points at its interval (60 s
  for a path's series, 15 s for the others: an upper bound);
- `--python`: the interpreter whose wslwatch runs (another checkout's venv: before/after).

Targets (issue 13), at 50 paths: ≤ 60 series per path, CPU per scrape ≤ 20 ms, scrape
p99 ≤ 50 ms, RSS ≤ 60 MB at full history.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
from common import (
    benchmark_parser,
    daemon_config,
    daemon_env,
    fake_gpus,
    Fleet,
    free_port,
    get,
    run_section,
    Section,
    stats,
    Table,
    wait_for,
)
from scrape import COLLECTORS, complete

PROBE_INTERVAL_S = 60.0
HISTORY_S = 7200.0
MAX_POINTS = 4096
POINT_BYTES = 16
TARGET_SERIES_PER_PATH = 60
TARGET_CPU_MS = 20.0
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 60.0
MB = 1e6


def paths_config(folder: Path, count: int) -> str:
    """`count` [[paths]] tables, each a fresh directory under `folder`."""
    tables = []
    for index in range(count):
        path = folder / f"p{index}"
        path.mkdir()
        tables.append(f'[[paths]]\npath = "{path}"\nname = "p{index}"\ninterval_s = {PROBE_INTERVAL_S:g}\n')
    return "\n".join(tables)


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def history_to_come(page: bytes, elapsed_s: float) -> float:
    """Bytes the Store's history still grows by: each series' points still to come in 2 h."""
    total = 0.0
    for line in page.split(b"\n"):
        if not line or line.startswith(b"#"):
            continue
        interval = PROBE_INTERVAL_S if b'path="' in line else 15.0
        full = min(HISTORY_S / interval, MAX_POINTS)
        total += max(0.0, full - elapsed_s / interval) * POINT_BYTES
    return total


def measure_one(count: int, seconds: float, every: float, python: str, root: Path) -> dict[str, float]:
    """One daemon with `count` paths: its series, scrape latency and CPU, RSS."""
    port = free_port()
    collectors = COLLECTORS | {f"io_latency:p{index}" for index in range(count)}
    with (
        tempfile.TemporaryDirectory(prefix=f"wslwatch-scale-{count}-", dir=root) as tmp,
        fake_gpus(2) as fake,
        Fleet(Path(tmp)) as fleet,
    ):
        folder = Path(tmp)
        config = daemon_config(folder, port, "\n" + paths_config(folder, count))
        argv = [python, "-m", "wslwatch", "run", "--config", str(config), "--headless"]
        daemon = fleet.start("wslwatch", argv, daemon_env(fake, folder / "state"))
        started = time.monotonic()
        wait_for(lambda: complete(port, frozenset(collectors)), PROBE_INTERVAL_S + 30, f"all {count} paths reporting")
        process = psutil.Process(daemon.pid)
        rss_reported = process.memory_info().rss
        quiet_from = cpu_s(process)
        time.sleep(seconds)
        quiet = cpu_s(process) - quiet_from
        latencies: list[float] = []
        scraped_from, began = cpu_s(process), time.monotonic()
        page = b""
        while time.monotonic() - began < seconds:
            tick = time.perf_counter()
            status, _ = get(port, gzip=True)
            latencies.append((time.perf_counter() - tick) * 1000)
            if status != 200:
                raise RuntimeError(f"wslwatch answered {status} to a scrape")
            time.sleep(max(0.0, every - (time.perf_counter() - tick)))
        busy = cpu_s(process) - scraped_from
        scraped_s = time.monotonic() - began
        _, page = get(port)
        own = (f'path="{folder}{os.sep}p'.encode(), b'collector="io_latency:')
        rss_end = process.memory_info().rss
        elapsed = time.monotonic() - started
    measured = stats(latencies)
    return {
        "series": float(sum(1 for line in page.split(b"\n") if line and not line.startswith(b"#"))),
        "path_series": float(sum(1 for line in page.split(b"\n") if any(label in line for label in own))),
        "cpu_ms": max(0.0, busy - quiet * scraped_s / seconds) / len(latencies) * 1000,
        "p50": measured.median,
        "p99": measured.p99,
        "max": measured.max,
        "scrapes": float(len(latencies)),
        "rss_reported": rss_reported / MB,
        "rss_end": rss_end / MB,
        "rss_full": (rss_end + history_to_come(page, elapsed)) / MB,
    }


def measure(counts: list[int], seconds: float, every: float, python: str = sys.executable) -> Section:
    root = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())  # tmpfs paths
    found = {count: measure_one(count, seconds, every, python, root) for count in counts}
    table = Table(
        f"Scale: 0 to {max(counts)} probed paths (tmpfs, every {PROBE_INTERVAL_S:g} s), scraped every {every:g} s "
        f"for {seconds:g} s while every path is probed (targets at 50 paths: ≤ {TARGET_SERIES_PER_PATH} series "
        f"per path, CPU per scrape ≤ {TARGET_CPU_MS:g} ms, p99 ≤ {TARGET_P99_MS:g} ms, RSS ≤ {TARGET_RSS_MB:g} MB "
        "at full history)",
        ["paths", "series", "per path", "CPU per scrape", "scrape p50", "p99", "max", "RSS: all reported → end",
         "RSS at full history (projected)"],
    )  # fmt: skip
    for count, one in found.items():
        per_path = f"{one['path_series'] / count:.0f}" if count else "—"
        table.add(
            count, f"{one['series']:,.0f}", per_path, f"{one['cpu_ms']:.2f} ms", f"{one['p50']:.2f} ms",
            f"{one['p99']:.2f} ms", f"{one['max']:.2f} ms", f"{one['rss_reported']:.1f} → {one['rss_end']:.1f} MB",
            f"{one['rss_full']:.1f} MB",
        )  # fmt: skip
    most = max(counts)
    top = found[most]
    per_path = top["path_series"] / most if most else 0.0
    checks = [
        (per_path <= TARGET_SERIES_PER_PATH, f"{per_path:.0f} series per path"),
        (top["cpu_ms"] <= TARGET_CPU_MS, f"{top['cpu_ms']:.2f} ms CPU per scrape"),
        (top["p99"] <= TARGET_P99_MS, f"scrape p99 {top['p99']:.2f} ms"),
        (top["rss_full"] <= TARGET_RSS_MB, f"RSS {top['rss_full']:.1f} MB at full history"),
    ]
    table.notes.append(
        f"at {most} paths: " + "; ".join(f"{what}: {'met' if ok else 'NOT met'}" for ok, what in checks)
    )
    table.notes.append(
        f"{found[most]['scrapes']:.0f} scrapes per count; the daemon run by {python}; load average (1 min) "
        f"{os.getloadavg()[0]:.2f} at the end (2 logical CPUs here)"
    )
    return Section([table])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--paths", default="0,10,50", help="comma-separated path counts (default 0,10,50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="quiet and scraped seconds each (default 60)")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between two scrapes (default 0.5)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose wslwatch runs")
    return run_section(
        "Scale",
        parser,
        argv,
        lambda args: measure([int(n) for n in args.paths.split(",")], args.seconds, args.every, args.python),
    )


if __name__ == "__main__":
    sys.exit(main())
