"""What every benchmark shares: one way to time CPU, tables, the machine, the processes it starts.

Every benchmark measures CPU with `time.process_time_ns()` (user + system time of the whole
process, so work in helper threads counts too) and wall time with `time.perf_counter_ns()`,
and reports medians and 99th percentiles: the machine is shared, so means would mostly
measure the neighbours.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
WSLCONFIG_FIXTURE = ROOT / "tests" / "fixtures" / "wslconfig" / "mimikun-dotfiles-issue1841.wslconfig"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
#: The checkout's folders that install as wslwatch's subpackages (pyproject.toml's package-dir).
PACKAGE_FOLDERS = ("daemon", "collectors", "exporters", "tray", "config")
#: wslwatch is measured as it runs inside WSL, where it reads `.wslconfig` through its in-WSL seam
#: (this variable is how it knows; nothing else in wslwatch reads it).
IN_WSL = {"WSL_DISTRO_NAME": "wslwatch-bench"}
GLANCES_VERSION = "4.5.8"
#: Where the benchmarks install glances when asked (it is no dependency of wslwatch).
GLANCES_VENV = Path(tempfile.gettempdir()) / "wslwatch-bench-glances"

sys.path.insert(0, str(ROOT / "tests"))  # the test rigs (fake NVML library, X desktop) are shared

from rigs import RigMissing  # noqa: E402
from rigs.fake_nvml import FakeNvml, build  # noqa: E402

__all__ = [
    "DOC",
    "IN_WSL",
    "NODE_EXPORTER",
    "ROOT",
    "Fleet",
    "RunStart",
    "Section",
    "Stats",
    "Table",
    "append_to_doc",
    "compile_wslwatch",
    "find_glances",
    "glances_argv",
    "has_tray",
    "cpu_us",
    "daemon_config",
    "daemon_env",
    "fake_gpus",
    "free_port",
    "get",
    "machine_lines",
    "ratio",
    "stats",
    "wait_for",
    "wslwatch_argv",
    "x_desktop",
]


@dataclass(frozen=True)
class Stats:
    """Median, 99th percentile, maximum and mean of some measurements, and how many there were."""

    median: float
    p99: float
    max: float
    n: int
    mean: float


def stats(values: Sequence[float]) -> Stats:
    """`Stats` of `values` (nearest-rank percentiles)."""
    if not values:
        raise ValueError("no measurements")
    ordered = sorted(values)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Stats(median, ordered[min(n - 1, max(0, -(-99 * n // 100) - 1))], ordered[-1], n, sum(ordered) / n)


def cpu_us(fn: Callable[[], object], rounds: int) -> list[float]:
    """CPU microseconds (process-wide) of each of `rounds` calls of `fn`, after one untimed call."""
    fn()
    times = []
    for _ in range(rounds):
        started = time.process_time_ns()
        fn()
        times.append((time.process_time_ns() - started) / 1000)
    return times


def ratio(numerator: float, denominator: float) -> str:
    """`numerator / denominator` as `12.3×`, or `n/a` when the denominator is 0."""
    return f"{numerator / denominator:.1f}×" if denominator else "n/a"


@dataclass
class Table:
    """A Markdown table: printed to the terminal and appended to the doc as it is."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


@dataclass
class Section:
    """What one benchmark found: its tables, in order."""

    tables: list[Table] = field(default_factory=list)

    def markdown(self) -> str:
        return "\n".join(table.markdown() for table in self.tables)


def machine_lines() -> list[str]:
    """The machine and software the numbers were taken on, as Markdown list items."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- machine: {cpu}, {psutil.cpu_count()} logical CPUs, {memory:.1f} GiB RAM; "
        f"{platform.system()} {platform.release()} ({_distro()})",
        f"- software: Python {platform.python_version()}, psutil {psutil.__version__}, {_node_exporter_version()}",
        f"- load average (1, 5, 15 min) when the run began: {load} (the machine is shared)",
    ]


def _distro() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return "unknown distribution"


def _node_exporter_version() -> str:
    if not os.path.exists(NODE_EXPORTER):
        return "node_exporter not installed"
    done = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout + done.stderr).splitlines()[:1]
    return first[0].strip() if first else "node_exporter (version unknown)"


@dataclass(frozen=True)
class RunStart:
    """When a run began and the machine as it was then (its load above all)."""

    stamp: str
    machine: list[str]

    @classmethod
    def now(cls) -> RunStart:
        return cls(datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), machine_lines())


def append_to_doc(title: str, body: str, start: RunStart, doc: Path = DOC) -> None:
    """Append `## title, <start date>`, the machine when the run began, and `body` to `doc`
    (created with a `# Benchmarks` heading if absent)."""
    if not doc.exists():
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text("# Benchmarks\n")
    text = doc.read_text()
    head = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    section = f"{head}## {title}, {start.stamp}\n\n" + "\n".join(start.machine) + "\n\n" + body
    doc.write_text(text + section)


def benchmark_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line of one benchmark script: its docstring's first line, and `--no-doc`."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--no-doc", action="store_true", help="print only; do not append to docs/benchmarks.md")
    return parser


def run_section(
    title: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    measure: Callable[[argparse.Namespace], Section],
    *,
    compile_first: bool = True,
) -> int:
    """Parse `argv`, measure, print the section and append it to docs/benchmarks.md as `title`
    (unless `--no-doc`). `compile_first`: for benchmarks that start the daemon as a process."""
    args = parser.parse_args(argv)
    start = RunStart.now()
    if compile_first:
        compile_wslwatch()
    section = measure(args)
    print(section.markdown())
    if not args.no_doc:
        append_to_doc(title, section.markdown(), start)
    return 0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str = "/metrics", gzip: bool = False, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on a new connection, as a scraper makes it: (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll_s: float = 0.005) -> float:
    """Poll `condition` until it holds; the seconds it took. Raises `TimeoutError` naming `what`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:g}s")
        time.sleep(poll_s)
    return time.perf_counter() - started


@contextlib.contextmanager
def fake_gpus(count: int = 2) -> Iterator[FakeNvml]:
    """The fake NVML library (built with gcc) showing `count` GPUs. A child process loads it
    with `.env()` in its environment; this process with `with fake.loaded():`."""
    with tempfile.TemporaryDirectory(prefix="wslwatch-bench-nvml-") as tmp:
        fake = FakeNvml(build(Path(tmp)), Path(tmp) / "state")
        fake.set(count=count, used_mib=[3072, 9000], util_gpu=40, temp_c=55, power_mw=120000)
        yield fake


def compile_wslwatch() -> None:
    """Write wslwatch's bytecode, as `pip install` does: a daemon that compiles its modules from
    source at every start (PYTHONDONTWRITEBYTECODE, an editable checkout) is slower to start and
    keeps a megabyte or two more resident. `compileall` writes it whatever that variable says."""
    import compileall
    import wslwatch

    folders = {Path(wslwatch.__file__).resolve().parent} | {ROOT / name for name in PACKAGE_FOLDERS}
    for folder in sorted(folders):
        if folder.is_dir():
            compileall.compile_dir(str(folder), quiet=1)


def daemon_env(fake: FakeNvml, state: Path) -> dict[str, str]:
    """The environment additions of a measured wslwatch: the fake GPUs, inside WSL, and its own
    per-user state folder (instance lock, log file, history) so that several can run at once."""
    return {**fake.env(), **IN_WSL, "XDG_STATE_HOME": str(state)}


def daemon_config(folder: Path, port: int, extra: str = "", name: str = "wslwatch.toml") -> Path:
    """A wslwatch.toml with the default intervals, `port`, and `.wslconfig` read from a copy of a
    real one (as on Windows and inside WSL; on plain Linux the default finds none)."""
    wslconfig = folder / ".wslconfig"
    shutil.copy(WSLCONFIG_FIXTURE, wslconfig)
    path = folder / name
    path.write_text(f'[exporter]\nport = {port}\n\n[collectors.wslconfig]\npath = "{wslconfig}"\n{extra}')
    return path


def find_glances(install: bool) -> tuple[Path | None, str]:
    """glances (with prometheus-client beside it) and a note: $WSLWATCH_BENCH_GLANCES, else the
    one in GLANCES_VENV, installed there from PyPI first when `install` (None, and why, if absent)."""
    named = os.environ.get("WSLWATCH_BENCH_GLANCES")
    if named:
        return (Path(named), f"glances from $WSLWATCH_BENCH_GLANCES ({named})") if os.path.exists(named) else (
            None, f"$WSLWATCH_BENCH_GLANCES names {named}, which does not exist")
    program = GLANCES_VENV / "bin" / "glances"
    if not program.exists() and install:
        subprocess.run([sys.executable, "-m", "venv", str(GLANCES_VENV)], check=True)
        pip = [str(GLANCES_VENV / "bin" / "pip"), "install", "-q", f"glances=={GLANCES_VERSION}", "prometheus-client"]
        done = subprocess.run(pip, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, f"installing glances failed ({' '.join(pip)}): {done.stderr.strip()[-300:]}"
    if not program.exists():
        return None, (f"glances not found: run without --no-install, or `python -m venv {GLANCES_VENV} && "
                      f"{GLANCES_VENV}/bin/pip install glances=={GLANCES_VERSION} prometheus-client`")
    done = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False)
    version = done.stdout.splitlines()[0].split()[-1] if done.stdout.strip() else "unknown version"
    return program, f"glances {version} from PyPI in {program.parent.parent}, its Prometheus export (`--export prometheus --quiet`)"


def glances_argv(program: Path, folder: Path, port: int) -> list[str]:
    """glances exporting to Prometheus on `port`, with its default refresh (2 s) and plugins."""
    conf = folder / "glances.conf"
    conf.write_text(f"[prometheus]\nhost=127.0.0.1\nport={port}\nprefix=glances\nlabels=src:glances\n")
    return [str(program), "-C", str(conf), "--export", "prometheus", "--quiet"]


@contextlib.contextmanager
def x_desktop() -> Iterator[str | None]:
    """An X display with a tray host (Xvfb + trayer, the tray tests' rig) for `wslwatch run`
    with its tray; yields None when the rig is not here."""
    try:
        from rigs.xdesktop import trayer, xvfb
    except ImportError:
        yield None
        return
    for attempt in range(3):  # on a busy machine a fresh Xvfb display is now and then gone at once
        with contextlib.ExitStack() as stack:
            try:
                display = stack.enter_context(xvfb())
                stack.enter_context(trayer(display))
            except RigMissing:  # Xvfb or trayer is not installed
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            yield display
            return
    yield None


def has_tray(pid: int) -> bool:
    """True when process `pid` loaded Pillow's C core, i.e. it draws a tray icon."""
    with contextlib.suppress(OSError):
        return "PIL/_imaging" in Path(f"/proc/{pid}/maps").read_text()
    return False


def wslwatch_argv(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wslwatch", "run", "--config", str(config), *extra]


class Fleet:
    """Processes a benchmark starts; leaving the `with` block stops every one, even on failure."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        for _, process in reversed(self._started):
            stop(process)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start `argv` with its output in `<logs>/<name>.log`."""
        with open(self._logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})}, cwd=cwd,
            )  # fmt: skip
        self._started.append((name, process))
        return process

    def log(self, name: str) -> str:
        """What the process `name` wrote so far (its last 2000 characters)."""
        path = self._logs / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes]) -> int | None:
        """Stop one process now (SIGTERM, then SIGKILL after 10 s); its exit status."""
        self._started = [(n, p) for n, p in self._started if p is not process]
        return stop(process)


def stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> int | None:
    """SIGTERM `process` and reap it; SIGKILL if it is still there after `grace_s`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
