"""Start `wslwatch run --headless` as a real process and find its /metrics URL."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Mapping

from prometheus_client.parser import text_string_to_metric_families

_SERVING = re.compile(r"serving (https?://\S+/metrics)")

COLLECTORS = ("host_memory", "vmmem", "wsl_guest", "gpu", "process", "wslconfig", "wsl_version")


def fast_collectors(interval_s: float = 0.5, **intervals: float) -> str:
    """Config text that runs every collector each `interval_s` (one named in `intervals`: at its own)."""
    return "".join(f"[collectors.{name}]\ninterval_s = {intervals.get(name, interval_s)}\n" for name in COLLECTORS)


class DaemonProcess:
    """A running daemon: `url` is its /metrics; its output is drained into `log` all along."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env}
        )
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = ""

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_serving(self, timeout: float) -> str:
        """The /metrics URL once the daemon logs it; raise with its output if it never does."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                line = None
            if line is None:
                self.proc.kill()
                raise RuntimeError("wslwatch run did not start serving:\n" + "".join(self.log))
            match = _SERVING.search(line)
            if match:
                self.url = match.group(1)
                return self.url

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def run_argv(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wslwatch", "run", "--headless", "--config", str(config), *extra]


def start_daemon(config: Path, *extra: str, env: Mapping[str, str] | None = None, timeout: float = 15) -> DaemonProcess:
    """Run the daemon on a free loopback port (unless `extra` names one) and wait until it serves."""
    port = () if "--port" in extra else ("--port", "0")
    daemon = DaemonProcess(run_argv(config, *port, *extra), env or {})
    daemon.wait_serving(timeout)
    return daemon


Series = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str) -> Series:
    """GET `url` and parse it with prometheus-client's parser: name -> [(labels, value)]."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out
