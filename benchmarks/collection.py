"""1. Collection cost: CPU time of a full collection pass, of each collector, and of some variants.

Run: `python benchmarks/collection.py [--passes N] [--no-doc]`

The collectors are the daemon's own (`build_collectors` on a config with the default
settings), every one but the I/O probe, as they run inside WSL (`common.IN_WSL`), with the
fake NVML library showing 2 GPUs and `.wslconfig` read from a copy of a real one. A pass calls each collector's `collect()`
once, each with its own clock moving on by its own interval per pass, as the scheduler calls
it: so the `wsl_guest` collector (every 30 s) reads who holds the memory on one pass in four
(`holders_interval_s = 120`) and exports the last holders in between, as in the daemon. The passes "through the runners" run the
daemon's runners instead (the worker thread, the Store update), with the same clocks; the
passes "as in the daemon" add the rules engine listening to the Store, every collector on one
clock moving 15 s per pass (so there `wsl_guest` reads the holders every seventh pass), the last
row after filling the Store's two hours of history, which is what the rules walk through.
The fake NVML library re-reads its state file on every call (about 10 µs each, 4 calls per
GPU), so the GPU figures are an upper bound of what a driver costs.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import benchmark_parser, cpu_us, daemon_config, fake_gpus, IN_WSL, run_section, Section, Stats, stats, Table
from rigs.fake_nvml import FakeNvml

from wslwatch.collectors._wslconfig_hosts import _find_vm_process
from wslwatch.collectors.gpu import GpuCollector
from wslwatch.collectors.wsl_guest import HOLDERS_INTERVAL_S, WslGuestCollector
from wslwatch.collectors.wslconfig import WslconfigCollector
from wslwatch.config import Config, load
from wslwatch.core import Collector, CollectorError
from wslwatch.daemon.app import build_collectors, build_runners, plan_collectors
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.daemon.notify import Dispatcher
from wslwatch.daemon.rules import create_engine
from wslwatch.store import Store

#: Collectors outside the pass: the I/O probes (`io_latency:<path>`, one per configured path, none
#: by default), whose work happens in a child process on its own pacing.
EXCLUDED_PREFIX = "io_latency"
BUDGET_US = 2000.0
HISTORY_S = 7200.0  # the Store's default window
START = 1_785_000_000.0  # where the simulated clocks start


def _us(value: float) -> str:
    return f"{value:,.0f} µs"


def _row(table: Table, label: str, measured: Stats, extra: str = "") -> None:
    table.add(label, _us(measured.median), _us(measured.p99), _us(measured.mean), measured.n, extra)


class _Clock:
    """A collector's clock as the scheduler calls it: each reading `step_s` later than the last."""

    def __init__(self, step_s: float = 0.0) -> None:
        self.step_s = step_s
        self._now = START

    def __call__(self) -> float:
        self._now += self.step_s
        return self._now


def _collect_timed(collector: Collector, clock: Callable[[], float] = time.time) -> Callable[[], object]:
    def call() -> object:
        try:
            return collector.collect(clock())
        except CollectorError as exc:
            return exc

    return call


def measure(passes: int) -> Section:
    """Time `passes` full passes, per collector, and the daemon's path; then the variants."""
    logging.disable(logging.WARNING)  # a collector's first-time notices are not what is measured
    saved = {name: os.environ.get(name) for name in IN_WSL}
    os.environ.update(IN_WSL)
    try:
        with fake_gpus(2) as fake, fake.loaded(), tempfile.TemporaryDirectory(prefix="wslwatch-bench-") as tmp:
            config = load(daemon_config(Path(tmp), 0))
            passes_table = _passes(config, passes)
            variants = _variants(fake, Path(tmp), max(passes // 2, 10))
    finally:
        logging.disable(logging.NOTSET)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return Section([passes_table, variants])


def _passes(config: Config, passes: int) -> Table:
    collectors = [c for c, _ in build_collectors(config) if not c.name.startswith(EXCLUDED_PREFIX)]
    calls = [(c, _collect_timed(c, _Clock(c.interval_s))) for c in collectors]
    outcomes = {c.name: call() for c, call in calls}  # warm: NVML init, first parse
    per: dict[str, list[float]] = {c.name: [] for c in collectors}
    totals = []
    for _ in range(passes):
        total = 0.0
        for collector, call in calls:
            started = time.process_time_ns()
            call()
            spent = (time.process_time_ns() - started) / 1000
            per[collector.name].append(spent)
            total += spent
        totals.append(total)
    for collector in collectors:
        collector.close()

    table = Table(
        f"Collection cost: CPU per pass, {passes} passes (budget: median ≤ {BUDGET_US / 1000:g} ms)",
        ["what", "median", "p99", "mean", "n", "note"],
    )
    full = stats(totals)
    verdict = "median within budget" if full.median <= BUDGET_US else f"median over budget by {_us(full.median - BUDGET_US)}"
    mean = "within" if full.mean <= BUDGET_US else "over"
    _row(table, f"**full pass, {len(collectors)} collectors**", full, f"{verdict}; the mean (what it costs) {mean} 2 ms")
    for label, measured, note in _through_daemon(config, passes):
        _row(table, label, measured, note)
    for collector in collectors:
        outcome = outcomes[collector.name]
        note = f"{len(outcome)} samples" if isinstance(outcome, list) else f"raises: {outcome}"[:80]
        _row(table, collector.name, stats(per[collector.name]), note)
    table.notes.append(f"{len(os.listdir('/proc'))} entries in /proc (the vmmem collector lists every process)")
    table.notes.append(
        f"wsl_guest reads who holds the memory on one pass in {HOLDERS_INTERVAL_S / 30:g} (its 30 s interval, "
        f"`holders_interval_s` {HOLDERS_INTERVAL_S:g} s), exporting the last holders on the others: the median is "
        "a pass without that read, the p99 one with it, the mean what a pass costs on average; what one holders "
        "read costs is in the variants below"
    )
    return table


def _through_daemon(config: Config, passes: int) -> list[tuple[str, Stats, str]]:
    """Passes through the runners: Store only, then wired as the daemon wires them (rules engine,
    notifications), first with the history just begun, then with two hours of it."""
    store = Store()
    plain = _own_clock_runners(config, store)

    def plain_pass() -> None:
        for runner in plain:
            runner.run()

    rows = [("full pass through the runners and the Store", stats(cpu_us(plain_pass, passes)),
             "the daemon's path without the rules")]  # fmt: skip
    for runner in plain:
        runner.collector.close()

    clock = [time.time()]
    store = Store(history_s=HISTORY_S)
    runners = [r for r in build_runners(config, store, lambda: clock[0]) if not r.name.startswith(EXCLUDED_PREFIX)]
    engine = create_engine(config, store)
    notifications = Dispatcher([], config.alerts.renotify_s)
    engine.subscribe(notifications.deliver)

    def one_pass() -> None:
        clock[0] += 15.0
        for runner in runners:
            runner.run()

    rows.append(("full pass as in the daemon (runners, Store, rules engine)", stats(cpu_us(one_pass, passes)),
                 "history just begun"))  # fmt: skip
    for _ in range(int(HISTORY_S // 15)):
        one_pass()
    rows.append(("full pass as in the daemon, 2 h of history", stats(cpu_us(one_pass, passes)),
                 "a pass every 15 s for the Store's whole history window"))  # fmt: skip
    for runner in runners:
        runner.collector.close()
    return rows


def _own_clock_runners(config: Config, store: Store) -> list[CollectorRunner]:
    """The daemon's runners, each on its own clock moving by its own interval per run."""
    runners = []
    for planned in plan_collectors(config):
        clock = _Clock()
        runner = planned.runner(store, clock)
        clock.step_s = runner.collector.interval_s
        if not runner.name.startswith(EXCLUDED_PREFIX):
            runners.append(runner)
        else:
            runner.collector.close()
    return runners


def _holders(table: Table, rounds: int) -> None:
    """What one read of the guest's holders costs: wsl_guest reading them at every collection
    against not at all; per second at the default `holders_interval_s`."""
    measured = []
    for label, top_n in (("wsl_guest, holders off (`holders_top_n = 0`)", 0),
                         ("wsl_guest, every collection reads the holders (`holders_interval_s = 0`)", 5)):  # fmt: skip
        guest = WslGuestCollector(30.0, "/proc", "", top_n=top_n, holders_interval_s=0.0)
        measured.append(stats(cpu_us(_collect_timed(guest), rounds)))
        _row(table, label, measured[-1])
    read = measured[1].median - measured[0].median
    processes = sum(name.isdigit() for name in os.listdir("/proc"))
    table.add(
        "**one holders read** (the difference of the medians)", _us(read), "", "", "",
        f"{processes} processes; every {HOLDERS_INTERVAL_S:g} s: {read / HOLDERS_INTERVAL_S:,.0f} µs per second "
        f"({read / HOLDERS_INTERVAL_S / 1e4:.4f} % of one core)",
    )  # fmt: skip


def _variants(fake: FakeNvml, folder: Path, rounds: int) -> Table:
    """The costs that depend on the machine or the file: other GPU setups, a changed .wslconfig,
    the guest's holders read at every collection."""
    table = Table(f"Collection cost: variants, {rounds} collections each", ["what", "median", "p99", "mean", "n", "note"])
    gpu_cases: list[tuple[str, dict[str, object], bool]] = [
        ("gpu, 1 GPU", {"count": 1}, False),
        ("gpu, 2 GPUs, per-process VRAM on, 4 processes", {"count": 2, "procs": "1:100,2:200,3:300@1,4:400@1"}, True),
        ("gpu, 1 GPU as under WDDM (no memory v2, no utilization, per-process N/A)",
         {"count": 1, "no_v2": 1, "util_error": 3, "procs": "1:100", "proc_mem_na": 1}, True),
    ]  # fmt: skip
    for label, keys, per_process in gpu_cases:
        fake.set(**keys)  # type: ignore[arg-type]
        gpu = GpuCollector(15.0, per_process)
        _row(table, label, stats(cpu_us(_collect_timed(gpu), rounds)))
        gpu.close()
        fake.set(**{key: None for key in keys})
    fake.set(count=2)

    wslconfig = folder / ".wslconfig"
    windows = WslconfigCollector(60.0, "", platform="win32", environ={"USERPROFILE": str(folder)})
    linux = WslconfigCollector(60.0, str(wslconfig), platform="linux", environ={})
    _row(table, "wslconfig, Windows seam, file unchanged", stats(cpu_us(_collect_timed(windows), rounds)),
         "host RAM and a check of the VM process each time")  # fmt: skip
    touches = iter(range(10**9))

    def changed(collector: WslconfigCollector) -> Callable[[], object]:
        def call() -> object:
            os.utime(wslconfig, ns=(time.time_ns(), 10**18 + next(touches)))
            return collector.collect(time.time())

        return call

    _row(table, "wslconfig, Windows seam, file changed every time", stats(cpu_us(changed(windows), rounds)),
         "decode + parse (includes one utime call)")  # fmt: skip
    _row(table, "wslconfig, configured path, file changed every time", stats(cpu_us(changed(linux), rounds)))
    _row(table, "wslconfig, Windows seam: scan for the VM process", stats(cpu_us(_find_vm_process, max(rounds // 10, 5))),
         "at most once per 5 min while no VM runs")  # fmt: skip
    _holders(table, rounds)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--passes", type=int, default=2000, help="full passes to time (default 2000)")
    return run_section("Collection cost", parser, argv, lambda args: measure(args.passes), compile_first=False)


if __name__ == "__main__":
    sys.exit(main())
