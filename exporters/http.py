"""The HTTP endpoint: `/metrics` from a registry, on an address that only one process may hold."""

from __future__ import annotations

import errno
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

__all__ = ["MetricsServer", "PortInUseError", "serve"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class PortInUseError(OSError):
    """The address is taken by another process."""


class _ExclusiveServer(ThreadingWSGIServer):
    """No SO_REUSEADDR: on Windows it would let a second process bind the same port."""

    allow_reuse_address = False

    def server_bind(self) -> None:
        if sys.platform == "win32":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        if ":" in self.server_address[0]:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class _IPv6Server(_ExclusiveServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Scrapes are not logged."""


_INDEX = (
    b"<!doctype html><title>wslwatch</title><h1>wslwatch</h1>"
    b'<p><a href="/metrics">/metrics</a></p>'
)


def _routes(metrics: WSGIApp) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [_INDEX]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found; metrics are at /metrics\n"]

    return app


@dataclass
class MetricsServer:
    """A running endpoint; `close()` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        address = self.server.server_address[0]
        host = address.decode() if isinstance(address, bytes) else address
        return f"http://[{host}]:{self.port}/metrics" if ":" in host else f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(registry: CollectorRegistry, bind: str, port: int) -> MetricsServer:
    """Serve `registry` on `bind:port` in a daemon thread; raise `PortInUseError` if taken."""
    server_class = _IPv6Server if ":" in bind else _ExclusiveServer
    app = _routes(make_wsgi_app(registry))
    try:
        server = make_server(bind, port, app, server_class, handler_class=_QuietHandler)
    except OSError as exc:
        if exc.errno in _IN_USE:
            raise PortInUseError(exc.errno, f"{bind}:{port} is already in use") from None
        raise
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(server, thread)


_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
