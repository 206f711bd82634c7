"""Real Prometheus, Alertmanager and a webhook receiver on loopback, for tests.

Each server gets a temporary config (written as JSON, which is valid YAML), its own data
folder and a free loopback port. `stop()` kills the process; use the servers as context
managers or from a fixture's `finally` so none outlives its test.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Mapping, Sequence, TypeVar

__all__ = [
    "ALERTMANAGER",
    "PROMETHEUS",
    "PROMTOOL",
    "Alertmanager",
    "Prometheus",
    "RigError",
    "WebhookReceiver",
    "free_port",
    "http_json",
    "start_alertmanager",
    "start_prometheus",
]

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

_READY_TIMEOUT_S = 30.0
_PORT_ATTEMPTS = 3


class RigError(RuntimeError):
    """A rig server did not start or answered unexpectedly; the message carries its log."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, data: bytes | None = None, timeout: float = 5.0) -> Any:
    """GET (or POST `data`) `url` and decode the JSON answer, error answers included."""
    request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        return json.load(exc)


_S = TypeVar("_S", bound="_Server")


class _Server:
    """One started binary with an HTTP API on `127.0.0.1:port`."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)

    def log_text(self) -> str:
        """What the server has logged so far."""
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout_s: float = _READY_TIMEOUT_S) -> bool:
        """True once `/-/ready` answers 200; False if the process exited first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1.0) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        raise RigError(f"{self.name} not ready after {timeout_s:g}s; its log:\n{self.log_text()}")

    def stop(self) -> None:
        """Kill the process and wait for it; safe to call twice."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Prometheus(_Server):
    """A running Prometheus; `query()` goes through its HTTP API."""

    def api(self, path: str, **params: str) -> Any:
        """`GET /api/v1/<path>?params`: the `data` of a successful answer."""
        query = urllib.parse.urlencode(params)
        answer = http_json(f"{self.url}/api/v1/{path}?{query}")
        if answer.get("status") != "success":
            raise RigError(f"Prometheus /api/v1/{path} {params}: {answer.get('error', answer)}")
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (an error answer raises `RigError`)."""
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_until(
        self, expr: str, timeout_s: float, accept: Callable[[list[dict[str, Any]]], bool] = bool
    ) -> list[dict[str, Any]]:
        """Query `expr` until `accept(result)` (default: non-empty) or the timeout; returns the last result."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if accept(result) or time.monotonic() >= deadline:
                return result
            time.sleep(0.25)


class Alertmanager(_Server):
    """A running Alertmanager."""

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts it holds now (API v2)."""
        answer: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts")
        return answer


def _start(kind: type[_S], name: str, argv_for: Callable[[int], list[str]], log_path: Path) -> _S:
    """Start on a free port, retrying when another process took the port first."""
    for _attempt in range(_PORT_ATTEMPTS):
        port = free_port()
        server = kind(name, argv_for(port), port, log_path)
        try:
            ready = server.wait_ready()
        except BaseException:
            server.stop()
            raise
        if ready:
            return server
        server.stop()
        if "address already in use" not in server.log_text():
            raise RigError(f"{name} exited at start; its log:\n{server.log_text()}")
    raise RigError(f"{name}: no free port after {_PORT_ATTEMPTS} attempts")


def start_prometheus(workdir: Path, config: Mapping[str, Any], *, binary: str | None = None) -> Prometheus:
    """Prometheus with `config` (rule file paths relative to `workdir`), data under `workdir`."""
    exe = binary or PROMETHEUS
    if exe is None:
        raise RigError("prometheus is not installed (Debian package `prometheus`)")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def argv_for(port: int) -> list[str]:
        return [
            exe,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.console.templates={workdir}",
            f"--web.console.libraries={workdir}",
            "--log.level=warn",
        ]

    return _start(Prometheus, "prometheus", argv_for, workdir / "prometheus.log")


def start_alertmanager(workdir: Path, config: Mapping[str, Any], *, binary: str | None = None) -> Alertmanager:
    """Alertmanager with `config`, clustering off, data under `workdir`."""
    exe = binary or ALERTMANAGER
    if exe is None:
        raise RigError("alertmanager is not installed (Debian package `prometheus-alertmanager`)")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def argv_for(port: int) -> list[str]:
        return [
            exe,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    return _start(Alertmanager, "alertmanager", argv_for, workdir / "alertmanager.log")


class WebhookReceiver:
    """An Alertmanager webhook receiver on loopback that keeps every JSON payload it is sent."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._arrived:
                    receiver.payloads.append(json.loads(body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                """Deliveries are not logged."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True)
        self._thread.start()

    def wait_for(self, accept: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any] | None:
        """The first payload `accept`s, waiting up to `timeout_s`; None if none came."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                for payload in self.payloads:
                    if accept(payload):
                        return payload
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
