"""3. Footprint: RSS and steady CPU of wslwatch next to node_exporter and glances, in the same run.

Run: `python benchmarks/footprint.py [--minutes M] [--no-install] [--no-doc]`

Starts, side by side for `--minutes` (default 10):
- `wslwatch run --headless` and `wslwatch run` with its tray (under Xvfb with trayer as the
  tray host), both with the default settings (no data paths, so no I/O probe child), the fake
  NVML library showing 2 GPUs and `.wslconfig` read from a copy of a real one;
- Debian's `prometheus-node-exporter` with its default collectors;
- glances from PyPI in its Prometheus export mode (installed into a venv under the temp
  folder unless `--no-install`; see `common.find_glances`), default refresh (2 s).
Each is scraped every 15 s as a Prometheus would (gzip). RSS and CPU time (user + system,
the process and its children) are read with psutil every 5 s. Steady CPU is the CPU time
spent after the warm-up (the first minute) divided by the wall time since then.
"""

from __future__ import annotations

import os
import subprocess
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
    find_glances,
    Fleet,
    free_port,
    get,
    glances_argv,
    has_tray,
    NODE_EXPORTER,
    ratio,
    run_section,
    Section,
    stats,
    Table,
    wait_for,
    wslwatch_argv,
    x_desktop,
)
from rigs.fake_nvml import FakeNvml
from scrape import complete, serving

RSS_BUDGETS_MB = {"wslwatch --headless": 35.0, "wslwatch with tray": 40.0}
CPU_BUDGET_PERCENT = 0.2
MB = 1e6


@dataclass
class Watched:
    """One running server and its readings: (seconds since start, RSS bytes, CPU seconds)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    readings: list[tuple[float, int, float]] = field(default_factory=list)
    failed: str = ""

    def read(self, since: float) -> None:
        try:
            root = psutil.Process(self.process.pid)
            tree = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree)
            cpu = sum(sum(p.cpu_times()[:4]) for p in tree)  # user, system, children's user and system
        except psutil.Error as exc:
            self.failed = self.failed or f"exited or unreadable: {exc}"
            return
        self.readings.append((time.monotonic() - since, rss, cpu))

    def scrape(self) -> None:
        try:
            get(self.port, gzip=True, timeout=10)
        except OSError as exc:
            self.failed = self.failed or f"scrape failed: {exc}"


def start(fleet: Fleet, folder: Path, fake: FakeNvml, display: str | None,
          glances: Path | None) -> tuple[list[Watched], list[str]]:  # fmt: skip
    """Every server that can run here, serving; and notes on those that cannot."""
    watched, notes = [], []
    port = free_port()
    config = daemon_config(folder, port, name="headless.toml")
    env = daemon_env(fake, folder / "state-headless")
    watched.append(Watched("wslwatch --headless", fleet.start("wslwatch-headless", wslwatch_argv(config, "--headless"), env), port))
    if display is not None:
        port = free_port()
        config = daemon_config(folder, port, name="tray.toml")
        env = {**daemon_env(fake, folder / "state-tray"), "DISPLAY": display}
        watched.append(Watched("wslwatch with tray", fleet.start("wslwatch-tray", wslwatch_argv(config), env), port))
    else:
        notes.append("wslwatch with tray not measured: the X desktop rig (tests/rigs/xdesktop.py, Xvfb, trayer) is missing")
    if os.path.exists(NODE_EXPORTER):
        port = free_port()
        argv = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"]
        watched.append(Watched("node_exporter", fleet.start("node_exporter", argv), port))
    else:
        notes.append(f"node_exporter not measured: {NODE_EXPORTER} is missing (apt-get install prometheus-node-exporter)")
    if glances is not None:
        port = free_port()
        watched.append(Watched("glances", fleet.start("glances", glances_argv(glances, folder, port), cwd=folder), port))
    for one in watched:
        check = complete if one.name.startswith("wslwatch") else serving
        wait_for(lambda: check(one.port) or one.process.poll() is not None, 60, f"{one.name} serving /metrics")
        if one.process.poll() is not None:
            raise RuntimeError(f"{one.name} exited with {one.process.returncode}:\n{fleet.log(one.name)}")
    for one in watched:
        if one.name == "wslwatch with tray":
            try:
                wait_for(lambda: has_tray(one.process.pid), 15, "the tray icon drawn")
            except TimeoutError:
                notes.append("wslwatch with tray: the process loaded no Pillow, so it ran without a tray icon "
                             f"(its log: {fleet.log('wslwatch-tray')[-300:]!r})")
    return watched, notes


def measure(minutes: float, install: bool, sample_s: float = 5.0, scrape_s: float = 15.0, glances: bool = True) -> Section:
    program, glances_note = find_glances(install) if glances else (None, "left out (--no-glances)")
    warmup_s = min(60.0, minutes * 60 / 5)
    with (
        fake_gpus(2) as fake,
        tempfile.TemporaryDirectory(prefix="wslwatch-bench-") as tmp,
        Fleet(Path(tmp)) as fleet,
        x_desktop() as display,
    ):
        watched, notes = start(fleet, Path(tmp), fake, display, program)
        load_before = os.getloadavg()
        began = time.monotonic()
        next_scrape = 0.0
        while (elapsed := time.monotonic() - began) < minutes * 60:
            if elapsed >= next_scrape:
                for one in watched:
                    one.scrape()
                next_scrape += scrape_s
            for one in watched:
                one.read(began)
            time.sleep(min(sample_s, max(0.0, minutes * 60 - (time.monotonic() - began))))
        for one in watched:
            one.read(began)
        load_after = os.getloadavg()
    notes.append(glances_note if program else f"glances not measured: {glances_note}")
    notes.append(f"load average (1 min) {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end")
    return Section([_table(watched, minutes, warmup_s, sample_s, scrape_s, notes)])


@dataclass(frozen=True)
class Result:
    rss_median_mb: float
    rss_max_mb: float
    cpu_percent: float
    warmup_cpu_s: float


def _result(one: Watched, warmup_s: float) -> Result:
    steady = [r for r in one.readings if r[0] >= warmup_s]
    first, last = steady[0], steady[-1]
    rss = stats([r[1] / MB for r in steady])
    cpu = (last[2] - first[2]) / (last[0] - first[0]) * 100 if last[0] > first[0] else 0.0
    return Result(rss.median, rss.max, cpu, first[2])


def _table(watched: list[Watched], minutes: float, warmup_s: float, sample_s: float, scrape_s: float,
           notes: list[str]) -> Table:  # fmt: skip
    table = Table(
        f"Footprint over {minutes:g} min side by side (budget: RSS ≤ {RSS_BUDGETS_MB['wslwatch --headless']:g} MB "
        f"headless, ≤ {RSS_BUDGETS_MB['wslwatch with tray']:g} MB with tray, steady CPU ≤ {CPU_BUDGET_PERCENT:g} % "
        "of one core)",
        ["server", "RSS median", "RSS max", "steady CPU (% of one core)", f"CPU s in the first {warmup_s:g} s"],
    )
    results = {one.name: _result(one, warmup_s) for one in watched if not one.failed and len(one.readings) > 1}
    for name, r in results.items():
        table.add(name, f"{r.rss_median_mb:.1f} MB", f"{r.rss_max_mb:.1f} MB", f"{r.cpu_percent:.3f} %", f"{r.warmup_cpu_s:.2f}")
    for ours in ("wslwatch --headless", "wslwatch with tray"):
        if ours not in results:
            continue
        mine = results[ours]
        for other in ("node_exporter", "glances"):
            if other in results:
                theirs = results[other]
                table.add(f"**{other} ÷ {ours}**", ratio(theirs.rss_median_mb, mine.rss_median_mb),
                          ratio(theirs.rss_max_mb, mine.rss_max_mb), ratio(theirs.cpu_percent, mine.cpu_percent),
                          ratio(theirs.warmup_cpu_s, mine.warmup_cpu_s))  # fmt: skip
    for ours, budget in RSS_BUDGETS_MB.items():
        if ours in results:
            mine = results[ours]
            table.notes.append(
                f"{ours}: RSS median {mine.rss_median_mb:.1f} MB, {_verdict(mine.rss_median_mb <= budget)} the "
                f"{budget:g} MB budget; steady CPU {mine.cpu_percent:.3f} %, "
                f"{_verdict(mine.cpu_percent <= CPU_BUDGET_PERCENT)} the {CPU_BUDGET_PERCENT:g} % budget"
            )
    for one in watched:
        if one.failed:
            table.notes.append(f"{one.name}: {one.failed}")
    table.notes.append(
        f"RSS (resident set, as `ps` shows it) and CPU read every {sample_s:g} s; each server scraped every {scrape_s:g} s"
    )
    table.notes += notes
    return table


def _verdict(ok: bool) -> str:
    return "within" if ok else "over"


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to watch (default 10)")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install glances when it is missing")
    parser.add_argument("--no-glances", action="store_true", help="leave glances out")
    return run_section(
        "Footprint", parser, argv, lambda args: measure(args.minutes, not args.no_install, glances=not args.no_glances)
    )


if __name__ == "__main__":
    sys.exit(main())
