"""What the shipped rule group costs a real Prometheus per evaluation, for 1 to 50 machines.

Run: `python benchmarks/bench_prometheus_rules.py` (needs Debian's `prometheus`). Each
machine is a loopback endpoint serving one real `/metrics` page of wslwatch: a GPU, a VM
process, the guest, .wslconfig and one probed path, captured from this machine's daemon with
the fake NVML library. Prometheus scrapes and evaluates every second; the figure is the
wslwatch group's last evaluation time (`/api/v1/rules` `evaluationTime`), sampled once a
second for `SECONDS` seconds after a warm-up.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import yaml  # noqa: E402
from daemon_process import start_daemon  # noqa: E402

from rigs.fake_nvml import FakeNvml, build  # noqa: E402
from rigs.prometheus import start_prometheus  # noqa: E402
from wslwatch.exporters.bundle import bundle  # noqa: E402

MACHINES = (1, 10, 50)
WARM_UP_S = 20
SECONDS = 20


def capture_page(folder: Path) -> bytes:
    """One /metrics page of a real daemon (fake GPU at 60 %, one probed path)."""
    nvml = FakeNvml(build(folder / "nvml"), folder / "nvml-state")
    nvml.set(total_mib=24576, used_mib=14745, util_gpu=70)
    (folder / "data").mkdir()
    config = folder / "wslwatch.toml"
    config.write_text(f'[[paths]]\npath = "{folder / "data"}"\ninterval_s = 1\n')
    daemon = start_daemon(config, env=nvml.env())
    try:
        time.sleep(3)
        with urllib.request.urlopen(daemon.url, timeout=5) as response:
            page: bytes = response.read()
        return page
    finally:
        daemon.stop()


def serve(page: bytes, count: int) -> list[ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet."""

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(count)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return servers


def measure(folder: Path, page: bytes, count: int) -> tuple[float, float, int]:
    servers = serve(page, count)
    try:
        targets = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
        files = bundle(targets, [])
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        config = yaml.safe_load(files["prometheus.yml"])
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        with start_prometheus(folder, config) as prometheus:
            time.sleep(WARM_UP_S)
            durations = []
            for _ in range(SECONDS):
                (group,) = prometheus.api("rules")["groups"]
                durations.append(float(group["evaluationTime"]) * 1000)
                time.sleep(1)
            series = int(float(prometheus.query("count({__name__=~\"wslwatch.*\"})")[0]["value"][1]))
        return statistics.median(durations), max(durations), series
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        page = capture_page(Path(tmp) / "daemon")
        families = len(set(re.findall(rb"^# TYPE (\S+)", page, re.MULTILINE)))
        print(f"one machine's page: {len(page)} bytes, {families} families")
        for count in MACHINES:
            median, worst, series = measure(Path(tmp) / f"prom{count}", page, count)
            print(f"{count:>3} machines ({series} wslwatch series): rule group median {median:.1f} ms, max {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
