"""2. Scrape latency and cost: wslwatch's /metrics next to node_exporter's, in the same run.

Run: `python benchmarks/scrape.py [--scrapes N] [--no-doc]`

Starts `wslwatch run --headless` (default settings, the fake NVML library with 2 GPUs,
`.wslconfig` from a copy of a real one) and scrapes it alone; then starts Debian's
`prometheus-node-exporter` (its default collectors) and scrapes both in turns, on loopback.
Each scrape is a new connection and one GET, read to the end, once asking for plain text
and once for gzip as Prometheus does. Latency is the client's wall time; server CPU per scrape is the server process's CPU
time (psutil) over the whole run divided by its scrapes (wslwatch's own collections during
the run are included: about 1 ms every 15 s).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
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
    NODE_EXPORTER,
    ratio,
    run_section,
    Section,
    stats,
    Table,
    wait_for,
    wslwatch_argv,
)

COLLECTORS = frozenset({"host_memory", "vmmem", "wsl_guest", "gpu", "wslconfig", "wsl_version", "process"})
BUDGET_P99_MS = 5.0


@dataclass
class Target:
    """One server being scraped, and what its scrapes measured."""

    name: str
    port: int
    pid: int
    latencies_ms: dict[bool, list[float]] = field(default_factory=lambda: {False: [], True: []})
    sizes: dict[bool, int] = field(default_factory=dict)
    series: int = 0

    def scrape(self, gzip: bool) -> None:
        started = time.perf_counter_ns()
        status, body = get(self.port, gzip=gzip)
        self.latencies_ms[gzip].append((time.perf_counter_ns() - started) / 1e6)
        if status != 200:
            raise RuntimeError(f"{self.name} answered {status} to a scrape")
        self.sizes[gzip] = len(body)
        if not gzip:
            self.series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))

    def cpu_s(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system


def complete(port: int, collectors: frozenset[str] = COLLECTORS) -> bool:
    """True once every collector in `collectors` has reported on wslwatch's /metrics."""
    try:
        status, body = get(port)
    except OSError:
        return False
    text = body.decode()
    return status == 200 and all(f'wslwatch_collector_up{{collector="{c}"}}' in text for c in collectors)


def serving(port: int) -> bool:
    try:
        return get(port)[0] == 200
    except OSError:
        return False


def start_wslwatch(fleet: Fleet, folder: Path, env: dict[str, str]) -> Target:
    """wslwatch, once every collector reported."""
    port = free_port()
    wslwatch = fleet.start("wslwatch", wslwatch_argv(daemon_config(folder, port), "--headless"), env)
    wait_for(lambda: complete(port), 15, "every wslwatch collector reporting on /metrics")
    return Target("wslwatch", port, wslwatch.pid)


def start_node_exporter(fleet: Fleet) -> Target | None:
    """node_exporter with its default collectors, serving; None where it is not installed."""
    if not os.path.exists(NODE_EXPORTER):
        return None
    port = free_port()
    node = fleet.start("node_exporter", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"])
    wait_for(lambda: serving(port), 15, "node_exporter serving /metrics")
    return Target("node_exporter", port, node.pid)


def scrape_in_turns(targets: list[Target], scrapes: int) -> dict[str, float]:
    """`scrapes` scrapes per target and encoding, the targets in turns, after a warm-up (first
    requests, page cache, Go's GC); each target's CPU milliseconds per scrape."""
    for target in targets:
        for _ in range(max(scrapes // 40, 5)):
            target.scrape(False)
            target.scrape(True)
        target.latencies_ms = {False: [], True: []}
    cpu_before = {t.name: t.cpu_s() for t in targets}
    for _ in range(scrapes):
        for gzip in (False, True):
            for target in targets:
                target.scrape(gzip)
    return {t.name: (t.cpu_s() - cpu_before[t.name]) / (2 * scrapes) * 1000 for t in targets}


def measure(scrapes: int) -> Section:
    """wslwatch scraped alone first (its own latency), then in turns with node_exporter (the ratio)."""
    with fake_gpus(2) as fake, tempfile.TemporaryDirectory(prefix="wslwatch-bench-") as tmp, Fleet(Path(tmp)) as fleet:
        wslwatch = start_wslwatch(fleet, Path(tmp), daemon_env(fake, Path(tmp) / "state"))
        load = [os.getloadavg()[0]]
        cpu_alone = scrape_in_turns([wslwatch], scrapes)["wslwatch"]
        load.append(os.getloadavg()[0])
        alone = dict(wslwatch.latencies_ms)
        node = start_node_exporter(fleet)
        targets = [wslwatch] if node is None else [wslwatch, node]
        cpu = scrape_in_turns(targets, scrapes)
        load.append(os.getloadavg()[0])
    table = _table(targets, cpu, scrapes, alone, cpu_alone)
    table.notes.append(
        "load average (1 min) {:.2f} before scraping alone, {:.2f} after it, {:.2f} after scraping in turns "
        "(2 logical CPUs here: a load near 2 means every scrape waits for a CPU)".format(*load)
    )
    return Section([table])


def _table(targets: list[Target], cpu_ms: dict[str, float], scrapes: int,
           alone: dict[bool, list[float]], cpu_alone_ms: float) -> Table:  # fmt: skip
    table = Table(
        f"Scrape latency over loopback, {scrapes} scrapes per server and encoding: wslwatch alone, "
        f"then wslwatch and node_exporter in turns (budget: wslwatch p99 ≤ {BUDGET_P99_MS:g} ms and "
        "faster than node_exporter)",
        ["server", "encoding", "series", "bytes", "p50", "p99", "max", "server CPU per scrape"],
    )
    ours = targets[0]
    for gzip in (False, True):
        measured = stats(alone[gzip])
        table.add(
            "wslwatch, scraped alone", "gzip" if gzip else "plain", ours.series, f"{ours.sizes[gzip]:,}",
            f"{measured.median:.2f} ms", f"{measured.p99:.2f} ms", f"{measured.max:.2f} ms",
            f"{cpu_alone_ms:.2f} ms (both encodings)",
        )  # fmt: skip
    for target in targets:
        for gzip in (False, True):
            measured = stats(target.latencies_ms[gzip])
            table.add(
                target.name, "gzip" if gzip else "plain", target.series, f"{target.sizes[gzip]:,}",
                f"{measured.median:.2f} ms", f"{measured.p99:.2f} ms", f"{measured.max:.2f} ms",
                f"{cpu_ms[target.name]:.2f} ms (both encodings)",
            )  # fmt: skip
    for other in targets[1:]:
        for gzip in (False, True):
            mine, theirs = stats(ours.latencies_ms[gzip]), stats(other.latencies_ms[gzip])
            table.add(
                f"**{other.name} ÷ wslwatch**", "gzip" if gzip else "plain", ratio(other.series, ours.series),
                ratio(other.sizes[gzip], ours.sizes[gzip]), ratio(theirs.median, mine.median),
                ratio(theirs.p99, mine.p99), ratio(theirs.max, mine.max), ratio(cpu_ms[other.name], cpu_ms[ours.name]),
            )  # fmt: skip
    if len(targets) == 1:
        table.notes.append(f"node_exporter not measured: {NODE_EXPORTER} is missing (Debian: apt-get install prometheus-node-exporter)")
    for label, latencies in (("scraped alone", alone), ("in turns with node_exporter", ours.latencies_ms)):
        plain_p99, gzip_p99 = (stats(latencies[gzip]).p99 for gzip in (False, True))
        verdict = "within" if max(plain_p99, gzip_p99) <= BUDGET_P99_MS else "over"
        table.notes.append(f"wslwatch p99 {label}: {plain_p99:.2f} ms plain, {gzip_p99:.2f} ms gzip: {verdict} the {BUDGET_P99_MS:g} ms budget")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--scrapes", type=int, default=2000, help="scrapes per server and encoding (default 2000)")
    return run_section("Scrape latency", parser, argv, lambda args: measure(args.scrapes))


if __name__ == "__main__":
    sys.exit(main())
