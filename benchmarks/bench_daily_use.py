"""Costs of daily-use features: the rolling history file, `wslwatch report`, basic auth.

Run: `python benchmarks/bench_daily_use.py`. The history line is this machine's real
snapshot (every collector that runs here, once), so its size is what a day of history
costs here; a GPU and probed paths add their series on a workstation.
"""

from __future__ import annotations

import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rigs.session import session_lines  # noqa: E402
from wslwatch.config import Config  # noqa: E402
from wslwatch.daemon.app import build_runners  # noqa: E402
from wslwatch.daemon.cmd_report import replayed_alerts  # noqa: E402
from wslwatch.daemon.history_file import HistoryFile  # noqa: E402
from wslwatch.store import Store  # noqa: E402
from wslwatch.exporters.auth import BasicAuth, hash_password  # noqa: E402
from wslwatch.exporters.recording import read_recording  # noqa: E402
from wslwatch.exporters.report import NAMES, render  # noqa: E402


def cpu_ms(fn: Callable[[], object], rounds: int) -> float:
    """Median CPU time of `fn()` in milliseconds."""
    times = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        fn()
        times.append((time.thread_time_ns() - started) / 1e6)
    return statistics.median(times)


def history(tmp: Path) -> None:
    store = Store()
    runners = build_runners(Config(), store)
    for runner in runners:
        runner.run()
    for runner in runners:
        runner.collector.close()
    snapshot = store.snapshot()
    line = json.dumps(
        {"t": snapshot.ts, "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in snapshot.samples]},
        separators=(",", ":"),
    )
    per_hour = len(line) * 3600 / 15
    print(f"history: {len(snapshot.samples)} samples, {len(line)} B a line; at 15 s {per_hour / 2**20:.2f} MiB/h,")
    print(f"         2 x 32 MiB keep {2 * 32 * 2**20 / per_hour:.0f} h")
    file = HistoryFile(tmp / "history.jsonl", interval_s=0)
    print(f"         one line written: {cpu_ms(lambda: file.on_snapshot(snapshot), 500):.3f} ms CPU (median of 500)")
    file.close()


def report(tmp: Path) -> None:
    for hours in (2, 24):
        path = tmp / f"session-{hours}h.jsonl"
        path.write_text("\n".join(session_lines(minutes=hours * 60)) + "\n")
        started = time.perf_counter()
        recording = read_recording([path], NAMES)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        image, _ = render(recording)
        render_s = time.perf_counter() - started
        started = time.perf_counter()
        image.save(tmp / "r.png", optimize=True)
        save_s = time.perf_counter() - started
        started = time.perf_counter()
        replayed_alerts([path], Config(), recording.end or 0.0)
        replay_s = time.perf_counter() - started
        size = path.stat().st_size / 2**20
        print(
            f"report {hours:>2} h ({len(recording.times)} moments, {size:.1f} MiB): read {read_s:.2f} s, "
            f"draw {render_s:.2f} s, PNG {save_s:.2f} s; rules replayed (record files) {replay_s:.2f} s"
        )


def auth() -> None:
    users = {"prometheus": hash_password("correct horse")}
    app = BasicAuth(lambda environ, start: [b"ok"], users)
    header = "Basic " + base64.b64encode(b"prometheus:correct horse").decode()
    environ = {"HTTP_AUTHORIZATION": header}
    started = time.thread_time()
    app(environ, lambda *a: None)
    first = time.thread_time() - started
    again = cpu_ms(lambda: app(environ, lambda *a: None), 2000)
    print(f"basic auth: first check {first:.2f} s CPU (PBKDF2, 600000 rounds), then {again * 1000:.0f} us (remembered)")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        history(Path(tmp))
        report(Path(tmp))
    auth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
