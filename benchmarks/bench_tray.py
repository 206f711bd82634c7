"""What the tray costs: CPU per redraw, and the daemon's memory and CPU with the tray and without.

Run: `python benchmarks/bench_tray.py [SECONDS]` (default 30). The second part needs Xvfb and
trayer (Debian packages `xvfb trayer`): it runs `wslwatch run` at default intervals docked in
trayer on a private Xvfb display, then `wslwatch run --headless`, and reads each process's
resident memory and CPU time from /proc after SECONDS of steady running.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wslwatch.core import Alert, Sample
from wslwatch.store import Snapshot
from wslwatch.tray.icon import tray_state
from wslwatch.tray.menu import MenuActions

ROUNDS = 300
GIB = 1024**3


def redraw_cpu_us() -> tuple[float, float]:
    """Median and 99th percentile CPU time of one redraw (icon at 64 px, tooltip, menu)."""
    gpu = {"gpu": "0", "uuid": "GPU-0"}
    snapshot = Snapshot.build(
        0.0,
        [
            Sample("wslwatch_host_memory_total_bytes", {}, 32 * GIB, 0),
            Sample("wslwatch_host_memory_available_bytes", {}, 9 * GIB, 0),
            Sample("wslwatch_vmmem_up", {}, 1, 0),
            Sample("wslwatch_vmmem_working_set_bytes", {"process": "vmmemWSL"}, 14 * GIB, 0),
            Sample("wslwatch_gpu_memory_used_bytes", gpu, 21 * GIB, 0),
            Sample("wslwatch_gpu_memory_total_bytes", gpu, 24 * GIB, 0),
        ],
        (),
    )
    alerts = [Alert("vram_high", "warning", "firing", gpu, "GPU 0 VRAM is 91 % full", 0.0)]
    actions = MenuActions(lambda: None, lambda until: None, lambda: None, lambda: None, "http://127.0.0.1:9477/metrics")
    times = []
    for _ in range(ROUNDS):
        started = time.thread_time_ns()
        tray_state(snapshot, alerts, actions)
        times.append((time.thread_time_ns() - started) / 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _daemon(argv: list[str], env: dict[str, str], seconds: float) -> tuple[float, float]:
    """RSS (MiB) and CPU (% of one core) of a `wslwatch run` after `seconds` of steady running."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "serving http" in line:
            break
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining the log
    try:
        time.sleep(5)  # start-up done, first collections in
        cpu0, wall0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, wall1 = _cpu_s(proc.pid), time.monotonic()
        return _rss_mib(proc.pid), 100 * (cpu1 - cpu0) / (wall1 - wall0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def daemon_costs(seconds: float) -> None:
    if not (shutil.which("Xvfb") and shutil.which("trayer")):
        print("daemon with tray: skipped (needs the Debian packages xvfb and trayer)")
        return
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "320x120x24", "-nolisten", "tcp"], pass_fds=(write,)
    )
    os.close(write)
    with os.fdopen(read) as numbers:
        display = ":" + numbers.readline().strip()
    base = {**os.environ, "DISPLAY": display, "PYSTRAY_BACKEND": "xorg"}
    trayer = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request", "--height", "26"],
        env=base,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "wslwatch.toml"
            config.write_text("")  # every default: the intervals a user gets
            run = [sys.executable, "-m", "wslwatch", "run", "--config", str(config), "--port", "0"]
            for label, argv in (("with tray", run), ("headless", [*run, "--headless"])):
                rss, cpu = _daemon(argv, base, seconds)
                print(f"daemon {label:9}  RSS {rss:5.1f} MiB   CPU {cpu:5.2f} % of one core over {seconds:g} s")
    finally:
        trayer.terminate()
        trayer.wait(5)
        xvfb.terminate()
        xvfb.wait(5)


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    median, p99 = redraw_cpu_us()
    print(f"tray redraw (icon 64 px + tooltip + menu)  median {median:6.0f} us CPU, p99 {p99:6.0f} us")
    daemon_costs(seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
