"""Soak: `wslwatch run` at accelerated intervals, its memory and open files watched from outside.

Run: `python benchmarks/soak.py [--cycles 10000] [--warmup-cycles 5000] [--no-probe] [--json FILE]`.

Every collector runs every 0.1 s (the shortest interval the config accepts), a directory is
probed every second (a probe child process each time, every operation timed), the rolling
history is written every second, the rules engine judges every Store update, and /metrics
is scraped every second. The GPU collector runs the real pynvml against the fake NVML
library (tests/rigs, built with gcc), the VM process is a real process named like one, and
the .wslconfig collector reads a real file with problems in it. A daemon that keeps up runs
each collector ten times a second, so `--cycles` cycles take cycles/10 seconds; every scrape
checks that each collector's last success is fresh, which is what says the cycles ran.

The daemon's resident memory (RSS), open file descriptors and threads are read with psutil
from this process every 5 s. The Store keeps up to 4096 points of history per series, which
at 0.1 s is full after 410 s: growth is measured after the warm-up, from there to the end.
Every process this starts is stopped on the way out, also on Ctrl-C, SIGTERM or SIGHUP (the
VM stand-in also ends by itself shortly after the planned end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from daemon_process import DaemonProcess, run_argv, scrape  # noqa: E402
from faults import COLLECTORS, write_fast_config  # noqa: E402
from rigs.fake_nvml import FakeNvml, build  # noqa: E402

INTERVAL_S = 0.1
PROBE_INTERVAL_S = 1.0  # the shortest a path's probe interval may be
SAMPLE_EVERY_S = 5.0
SCRAPE_EVERY_S = 1.0
VM_NAME = f"vmsoak{os.getpid()}"  # not vmmemWSL: tests running beside the soak would find it
WSLCONFIG = ROOT / "tests" / "fixtures" / "wslconfig" / "wsl-issue10759-reclaim-under-wsl2.wslconfig"


@dataclass(frozen=True)
class Reading:
    at_s: float
    cycles: int
    rss_bytes: int
    fds: int
    threads: int


def soak_config(folder: Path, probe: bool = True) -> Path:
    """The soak's config; with `probe`, a directory of `folder` is probed every second."""
    extra = "[history]\ninterval_s = 1.0\n"
    if probe:
        probed = folder / "probed"
        probed.mkdir()
        extra += "[collectors.io_latency]\nsamples = 1\nsample_gap_s = 0.0\nmax_bytes_per_s = 0\n"
        extra += f'[[paths]]\npath = "{probed}"\nname = "probed"\ninterval_s = {PROBE_INTERVAL_S}\n'
    return write_fast_config(
        folder / "soak.toml",
        INTERVAL_S,
        extra=extra,
        vmmem={"process_names": [VM_NAME]},
        wslconfig={"path": str(WSLCONFIG)},
    )


def fresh(metrics: dict[str, list[tuple[dict[str, str], float]]], now: float) -> dict[str, float]:
    """Seconds since each collector's last success."""
    return {
        labels["collector"]: now - value
        for labels, value in metrics.get("wslwatch_collector_last_success_timestamp_seconds", [])
    }


def soak(cycles: int, warmup_cycles: int, folder: Path, probe: bool) -> tuple[list[Reading], float, dict[str, object]]:
    env = {"XDG_STATE_HOME": str(folder / "state"), "PYTHONDONTWRITEBYTECODE": "1"}
    if shutil.which("gcc"):
        nvml = FakeNvml(build(folder / "nvml"), folder / "nvml-state")
        nvml.set(count=2, used_mib=[4096, 9000], util_gpu=40)
        env.update(nvml.env())
    stand_in = folder / VM_NAME
    stand_in.symlink_to(shutil.which("sleep") or "/bin/sleep")
    vm = subprocess.Popen([str(stand_in), str(int((warmup_cycles + cycles) * INTERVAL_S) + 300)])
    daemon = DaemonProcess(run_argv(soak_config(folder, probe), "--port", "0"), env)
    readings: list[Reading] = []
    worst_lag = 0.0
    try:
        daemon.wait_serving(30)
        process = psutil.Process(daemon.proc.pid)
        started = time.monotonic()
        duration = (warmup_cycles + cycles) * INTERVAL_S
        next_sample = 0.0
        while (elapsed := time.monotonic() - started) < duration:
            metrics = scrape(daemon.url)
            lags = fresh(metrics, time.time())
            if elapsed > 5.0:  # after the first collections
                missing = {*COLLECTORS, *(["io_latency:probed"] if probe else [])} - set(lags)
                if missing:
                    raise RuntimeError(f"collectors without a success: {missing}; daemon log:\n{''.join(daemon.log[-20:])}")
                worst_lag = max(worst_lag, max(lags.values()))
            if elapsed >= next_sample:
                with process.oneshot():
                    readings.append(Reading(round(elapsed, 1), int(elapsed / INTERVAL_S), process.memory_info().rss,
                                            process.num_fds(), process.num_threads()))  # fmt: skip
                next_sample += SAMPLE_EVERY_S
            time.sleep(SCRAPE_EVERY_S)
        final = scrape(daemon.url)
    finally:
        code = daemon.stop(timeout=30)
        vm.kill()
        vm.wait()
    if code != 0:
        raise RuntimeError(f"the daemon exited with {code}:\n{''.join(daemon.log[-30:])}")
    errors = {labels["collector"]: v for labels, v in final.get("wslwatch_collector_errors_total", [])}
    return readings, worst_lag, {"errors_total": errors, "exit_code": code}


def slope_per(readings: list[Reading], per_cycles: int) -> float:
    """Least-squares RSS growth in bytes per `per_cycles` cycles."""
    xs = [r.cycles for r in readings]
    ys = [r.rss_bytes for r in readings]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    variance = sum((x - mean_x) ** 2 for x in xs)
    return covariance / variance * per_cycles if variance else 0.0


def stop_on(*signals: signal.Signals) -> None:
    """Turn these signals into SystemExit, so every `finally` stops what it started."""

    def leave(number: int, _: object) -> None:
        raise SystemExit(128 + number)

    for sig in signals:
        signal.signal(sig, leave)


def main() -> int:
    stop_on(signal.SIGTERM, signal.SIGHUP, signal.SIGINT)  # SIGINT too: a shell's `&` ignores it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10_000, help="cycles measured after the warm-up")
    parser.add_argument("--warmup-cycles", type=int, default=5_000, help="cycles before the baseline (history fills)")
    parser.add_argument("--json", type=Path, help="also write every reading and the summary here")
    parser.add_argument("--no-probe", action="store_true", help="no probed directory (its history fills for 68 min)")
    args = parser.parse_args()
    print(f"soak: {args.warmup_cycles} + {args.cycles} cycles at {INTERVAL_S}s; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="wslwatch-soak-") as tmp:
        readings, worst_lag, end = soak(args.cycles, args.warmup_cycles, Path(tmp), not args.no_probe)
    measured = [r for r in readings if r.cycles >= args.warmup_cycles]
    mib = 2**20
    base = statistics.median(r.rss_bytes for r in measured[:6])
    last = statistics.median(r.rss_bytes for r in measured[-6:])
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, load after {os.getloadavg()[0]:.2f}",
        "python": platform.python_version(),
        "cycles_total": readings[-1].cycles if readings else 0,
        "cycles_measured": (measured[-1].cycles - measured[0].cycles) if measured else 0,
        "worst_last_success_age_s": round(worst_lag, 2),
        "rss_start_mib": round(readings[0].rss_bytes / mib, 2),
        "rss_baseline_mib": round(base / mib, 2),
        "rss_end_mib": round(last / mib, 2),
        "rss_growth_mib": round((last - base) / mib, 2),
        "rss_slope_mib_per_10k_cycles": round(slope_per(measured, 10_000) / mib, 3),
        "rss_max_mib": round(max(r.rss_bytes for r in readings) / mib, 2),
        "fds_min_max": [min(r.fds for r in measured), max(r.fds for r in measured)],
        "threads_min_max": [min(r.threads for r in measured), max(r.threads for r in measured)],
        **end,
    }
    for reading in readings[:: max(1, len(readings) // 20)]:
        print(f"  {reading.at_s:7.0f} s  {reading.cycles:6d} cycles  RSS {reading.rss_bytes / mib:7.2f} MiB  "
              f"fds {reading.fds:3d}  threads {reading.threads:3d}")  # fmt: skip
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "readings": [asdict(r) for r in readings]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
