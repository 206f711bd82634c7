"""4. Start-up: `wslwatch run --headless` to the first complete /metrics, and what each command imports.

Run: `python benchmarks/startup.py [--runs N] [--no-doc]`

"Complete" means every enabled collector has reported once (its `wslwatch_collector_up`
series is there), with the default settings, the fake NVML library showing 2 GPUs and
`.wslconfig` read from a copy of a real one; /metrics is polled every 5 ms from the moment
the process is started. node_exporter's time to its first /metrics is measured the same way.
The import tables come from `python -X importtime`: the self time of every module a command
imports, summed by top-level package; and the resident memory each top-level package adds,
measured in a fresh interpreter that imports the daemon's modules in the order it did, reading
its RSS (`/proc/self/statm`) after each.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from common import (
    benchmark_parser,
    daemon_config,
    daemon_env,
    fake_gpus,
    Fleet,
    free_port,
    NODE_EXPORTER,
    run_section,
    Section,
    stats,
    Table,
    wait_for,
    wslwatch_argv,
    x_desktop,
)
from scrape import complete, serving

BUDGET_S = 2.0
#: Heavy imports, and the commands that need each (the others must not import it).
HEAVY = {"PIL": "the tray", "pystray": "the tray", "pynvml": "the GPU collector", "apscheduler": "the daemon (run)"}
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
#: imports the modules named on its command line in turn, printing each one's RSS growth in bytes
_RSS_BY_IMPORT = """
import importlib, sys
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096
print("python", rss())
for name in sys.argv[1:]:
    before = rss()
    try:
        importlib.import_module(name)
    except Exception:
        continue
    print(name, rss() - before)
"""


@dataclass(frozen=True)
class Imports:
    """What one command imported: self time (µs) per module, in import order."""

    self_us: Mapping[str, int]

    @classmethod
    def parse(cls, text: str) -> Imports:
        found: dict[str, int] = {}
        for line in text.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                found[match.group(4)] = int(match.group(1))
        return cls(found)

    def total_ms(self) -> float:
        return sum(self.self_us.values()) / 1000

    def has(self, package: str) -> bool:
        return any(module == package or module.startswith(package + ".") for module in self.self_us)

    def by_package(self) -> list[tuple[str, int, float]]:
        """(top-level package, modules, self ms), largest first."""
        modules: dict[str, int] = defaultdict(int)
        spent: dict[str, float] = defaultdict(float)
        for module, us in self.self_us.items():
            top = module.split(".")[0]
            modules[top] += 1
            spent[top] += us / 1000
        return sorted(((p, modules[p], spent[p]) for p in spent), key=lambda row: -row[2])


def time_to_complete(folder: Path, env: Mapping[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Seconds from starting `wslwatch run --headless` to /metrics answering, and to it being complete
    (each start with a fresh state folder, as a first start)."""
    serving_s, complete_s = [], []
    for run in range(runs):
        port = free_port()
        config = daemon_config(folder, port)
        fresh = {**env, "XDG_STATE_HOME": str(folder / f"state-{run}")}
        with Fleet(folder) as fleet:
            started = time.perf_counter()
            fleet.start(f"wslwatch-startup-{run}", wslwatch_argv(config, "--headless"), fresh)
            wait_for(lambda: serving(port), 15, "wslwatch serving /metrics")
            serving_s.append(time.perf_counter() - started)
            wait_for(lambda: complete(port), 15, "every wslwatch collector reporting on /metrics")
            complete_s.append(time.perf_counter() - started)
    return serving_s, complete_s


def node_exporter_start(folder: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        with Fleet(folder) as fleet:
            started = time.perf_counter()
            fleet.start("node_exporter-startup", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"])
            wait_for(lambda: serving(port), 15, "node_exporter serving /metrics")
            times.append(time.perf_counter() - started)
    return times


def daemon_imports(folder: Path, env: Mapping[str, str], *extra: str) -> Imports:
    """What `wslwatch run` (with `extra`) imported by the time /metrics was complete."""
    port = free_port()
    argv = wslwatch_argv(daemon_config(folder, port), *extra)
    argv.insert(1, "-X")
    argv.insert(2, "importtime")
    with Fleet(folder) as fleet:
        fleet.start("wslwatch-importtime", argv, env)
        wait_for(lambda: complete(port), 30, "every wslwatch collector reporting on /metrics")
    return Imports.parse((folder / "wslwatch-importtime.log").read_text(errors="replace"))


def command_imports(argv: Sequence[str], env: Mapping[str, str]) -> tuple[Imports, float]:
    """What a short command imported, and its wall time in seconds (importtime's overhead included)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "wslwatch", *argv],
                          capture_output=True, text=True, env=env, check=False)  # fmt: skip
    return Imports.parse(done.stderr), time.perf_counter() - started


def measure(runs: int) -> Section:
    with fake_gpus(2) as fake, tempfile.TemporaryDirectory(prefix="wslwatch-bench-") as tmp, x_desktop() as display:
        folder = Path(tmp)
        env = {**os.environ, **daemon_env(fake, folder / "state")}
        serving_s, complete_s = time_to_complete(folder, env, runs)
        startup = Table(
            f"Start-up: from starting the process to /metrics, {runs} starts (budget: complete ≤ {BUDGET_S:g} s)",
            ["what", "median", "max", "n"],
        )
        for label, values in (("wslwatch: /metrics answers", serving_s),
                              ("**wslwatch: every collector reported once**", complete_s)):  # fmt: skip
            measured = stats(values)
            startup.add(label, f"{measured.median:.3f} s", f"{measured.max:.3f} s", measured.n)
        if os.path.exists(NODE_EXPORTER):
            measured = stats(node_exporter_start(folder, runs))
            startup.add("node_exporter: /metrics answers", f"{measured.median:.3f} s", f"{measured.max:.3f} s", measured.n)
        worst = max(complete_s)
        startup.notes.append(
            f"slowest complete start {worst:.3f} s: " + ("within" if worst <= BUDGET_S else "over") + " the budget"
        )

        config = daemon_config(folder, 0)
        no_gpu = daemon_config(folder, 0, "\n[collectors.gpu]\nenabled = false\n", "no-gpu.toml")
        commands: list[tuple[str, Imports, str, set[str]]] = []
        for label, argv, needs in (
            ("wslwatch --help", ["--help"], set()),
            ("wslwatch config check", ["config", "check", str(config)], set()),
            ("wslwatch once --json", ["once", "--json", "--config", str(config)], {"pynvml"}),
            ("wslwatch once --json, GPU collector off", ["once", "--json", "--config", str(no_gpu)], set()),
        ):
            imports, wall = command_imports(argv, env)
            commands.append((label, imports, f"{wall:.2f} s to exit", needs))
        headless = daemon_imports(folder, env, "--headless")
        commands.append(("wslwatch run --headless", headless, "to complete /metrics", {"pynvml", "apscheduler"}))
        if display is not None:
            commands.append(("wslwatch run (tray, under Xvfb)", daemon_imports(folder, {**env, "DISPLAY": display}),
                             "to complete /metrics", {"pynvml", "PIL", "pystray", "apscheduler"}))  # fmt: skip
    return Section([startup, _commands_table(commands), _packages_table(headless), _memory_table(headless, env)])


def _commands_table(commands: list[tuple[str, Imports, str, set[str]]]) -> Table:
    table = Table(
        "Imports per command (`python -X importtime`): heavy packages only where needed",
        ["command", "modules", "import time", "wall", *HEAVY, "verdict"],
    )
    for label, imports, wall, needs in commands:
        cells = []
        wrong = []
        for package in HEAVY:
            present = imports.has(package)
            cells.append("imported" if present else "—")
            if present and package not in needs:
                wrong.append(package)
        verdict = f"**{', '.join(wrong)} not needed here**" if wrong else "ok"
        table.add(label, len(imports.self_us), f"{imports.total_ms():.0f} ms", wall, *cells, verdict)
    table.notes.append("needed: " + "; ".join(f"{p} by {who}" for p, who in HEAVY.items()))
    return table


def _packages_table(imports: Imports, top: int = 12) -> Table:
    table = Table(
        f"Import time of `wslwatch run --headless` by top-level package (largest {top}; total {imports.total_ms():.0f} ms)",
        ["package", "modules", "self time"],
    )
    for package, modules, spent in imports.by_package()[:top]:
        table.add(package, modules, f"{spent:.1f} ms")
    return table


def _memory_table(imports: Imports, env: Mapping[str, str], top: int = 12) -> Table:
    """The resident memory each top-level package adds, imported in the daemon's order."""
    names = [name for name in imports.self_us if "__main__" not in name]
    done = subprocess.run([sys.executable, "-c", _RSS_BY_IMPORT, *names],
                          capture_output=True, text=True, env=env, check=True)  # fmt: skip
    python, *rows = (line.rsplit(" ", 1) for line in done.stdout.splitlines())
    added: dict[str, int] = defaultdict(int)
    for name, grown in rows:
        added[name.split(".")[0]] += int(grown)
    total = int(python[1]) + sum(added.values())
    table = Table(
        f"Resident memory of `wslwatch run --headless`'s imports by top-level package (largest {top}; "
        f"{total / 1e6:.1f} MB with the interpreter)",
        ["package", "RSS added"],
    )
    table.add("the interpreter (nothing imported)", f"{int(python[1]) / 1e6:.1f} MB")
    ranked = sorted(added.items(), key=lambda row: -row[1])
    for package, grown in ranked[:top]:
        table.add(package, f"{grown / 1e6:.1f} MB")
    table.add(f"the other {len(ranked) - top} packages", f"{sum(g for _, g in ranked[top:]) / 1e6:.1f} MB")
    table.notes.append("each module imported on its own in the order the daemon imported it; what it imports "
                       "that was not imported yet counts for its own package")  # fmt: skip
    return table


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--runs", type=int, default=10, help="starts to time (default 10)")
    return run_section("Start-up", parser, argv, lambda args: measure(args.runs))


if __name__ == "__main__":
    sys.exit(main())

