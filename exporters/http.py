"""The HTTP endpoint: `/metrics` from a registry, on an address that only one process may hold.

Optionally HTTPS (`certfile`/`keyfile`) and HTTP basic auth (`users`, see `auth.py`). The TLS
handshake runs in the request's own thread, with a timeout, so a client that connects and
says nothing cannot stall the accepting thread.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import socketserver
import ssl
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, gzip_accepted

from wslwatch.exporters.auth import BasicAuth
from wslwatch.exporters.page import Page

__all__ = ["AddressError", "MetricsServer", "PortForbiddenError", "PortInUseError", "TlsError", "address_problem", "tls_problem", "exposure_warning", "serve"]

log = logging.getLogger(__name__)

_REQUEST_TIMEOUT_S = 10.0

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class PortInUseError(OSError):
    """The address is taken by another process."""


class PortForbiddenError(OSError):
    """The operating system refuses the port to this process (EACCES; WinError 10013 on Windows)."""


if sys.platform == "win32":
    #: On Windows EACCES (WinError 10013) is a port in a range Hyper-V, WSL or Docker reserved
    #: (microsoft/WSL#5514), which no other program shows as taken.
    _FORBIDDEN_BECAUSE = (
        "is in a range of ports Windows reserves (WinError 10013; Hyper-V, WSL and Docker reserve ranges at boot). "
        "List the reserved ranges with `netsh int ipv4 show excludedportrange protocol=tcp`"
    )
else:
    _FORBIDDEN_BECAUSE = (
        "may not be used by this user (ports below net.ipv4.ip_unprivileged_port_start, usually 1024, need root)"
    )


class AddressError(OSError):
    """The address is not one this machine has (or cannot be resolved); `strerror` names it."""


class TlsError(Exception):
    """The certificate or key cannot be used; the message names the file and the reason."""


class _ExclusiveServer(ThreadingWSGIServer):
    """A port no other socket may listen on. SO_REUSEADDR only off Windows: there it lets a
    restarted daemon bind while connections of the previous one linger in TIME_WAIT (a minute
    after any scrape) and still refuses a port another socket listens on; on Windows it would
    let a second process bind the same port, so there it is SO_EXCLUSIVEADDRUSE instead."""

    allow_reuse_address = sys.platform != "win32"

    def server_bind(self) -> None:
        if sys.platform == "win32":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        if ":" in self.server_address[0]:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # TCPServer's bind, not HTTPServer's: that one asks DNS for the host's name (a reverse
        # lookup that can take seconds, and loads the resolver and the IDNA codec)
        # only for the SERVER_NAME that /metrics never reads.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])
        self.setup_environ()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """In the request's thread: the TLS handshake (if any), bounded by a timeout, then the request."""
        request.settimeout(_REQUEST_TIMEOUT_S)
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is logged, not printed to a stderr that may not exist."""
        log.debug("request from %s failed", client_address, exc_info=True)


class _IPv6Server(_ExclusiveServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Scrapes are not logged."""


_INDEX = (
    b"<!doctype html><title>wslwatch</title><h1>wslwatch</h1>"
    b'<p><a href="/metrics">/metrics</a></p>'
)


def _page_app(page: Page, library: WSGIApp) -> WSGIApp:
    """`/metrics` from `page`; a request for some families only (`?name[]=`) from the library's app."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if "name[]" in parse_qs(environ.get("QUERY_STRING", "")):
            return library(environ, start_response)
        gzipped = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        body, content_type = page.render(environ.get("HTTP_ACCEPT"), gzipped)
        headers = [("Content-Type", content_type)] + ([("Content-Encoding", "gzip")] if gzipped else [])
        start_response("200 OK", headers)
        return [body]

    return app


def _routes(metrics: WSGIApp) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "HEAD":  # GET's status and headers, no body (the WSGI server sends what it is given)
            for _ in app({**environ, "REQUEST_METHOD": "GET"}, start_response):
                pass
            return []
        if method != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")])
            return [b"405: only GET and HEAD are served here\n"]
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
    tls: bool = False

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        address = self.server.server_address[0]
        host = address.decode() if isinstance(address, bytes) else address
        scheme = "https" if self.tls else "http"
        return f"{scheme}://[{host}]:{self.port}/metrics" if ":" in host else f"{scheme}://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(
    registry: CollectorRegistry,
    bind: str,
    port: int,
    *,
    certfile: str = "",
    keyfile: str = "",
    users: Mapping[str, str] | None = None,
    page: Page | None = None,
) -> MetricsServer:
    """Serve `registry` on `bind:port` in a daemon thread; raise `PortInUseError` if taken,
    `PortForbiddenError` if the system refuses it, another `OSError` if it cannot be bound.

    With `certfile` it serves HTTPS (`TlsError` if the files are unusable); with `users`
    (`name -> pbkdf2_sha256 hash`) every request needs one of their passwords. With `page`
    (the registry's collector, rendered part by part) /metrics is that page.
    """
    server_class = _IPv6Server if ":" in bind else _ExclusiveServer
    metrics = make_wsgi_app(registry)
    app = _routes(metrics if page is None else _page_app(page, metrics))
    if users:
        app = BasicAuth(app, users)
    tls = _tls_context(certfile, keyfile) if certfile or keyfile else None
    try:
        server = make_server(bind, port, app, server_class, handler_class=_QuietHandler)
    except OSError as exc:
        if exc.errno in _IN_USE:
            raise PortInUseError(exc.errno, f"{bind}:{port} is already in use") from None
        if exc.errno == errno.EACCES:
            raise PortForbiddenError(exc.errno, f"{bind}:{port} {_FORBIDDEN_BECAUSE}") from None
        if exc.errno in _NOT_HERE or isinstance(exc, socket.gaierror):
            raise AddressError(exc.errno, f"{bind} is not an address of this machine ({exc.strerror})") from None
        raise
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    warning = exposure_warning(bind, bool(users), tls is not None)
    if warning:
        log.warning("%s", warning)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(server, thread, tls is not None)


def _tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    if not certfile:
        raise TlsError("exporter.keyfile is set but exporter.certfile is not; set both, or neither for plain HTTP")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile or None)
    except (OSError, ssl.SSLError) as exc:
        files = f"{certfile} and {keyfile}" if keyfile else certfile
        raise TlsError(f"cannot use {files} for HTTPS: {exc.strerror or exc}; check exporter.certfile/keyfile") from None
    return context


def tls_problem(certfile: str, keyfile: str) -> str | None:
    """Why these files cannot serve HTTPS (loading them as `serve` would), or None."""
    try:
        _tls_context(certfile, keyfile)
    except TlsError as exc:
        return str(exc)
    return None


def address_problem(bind: str) -> str | None:
    """Why this machine cannot listen on `bind` (trying it on a free port), or None."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((bind, 0))
    except OSError as exc:
        return f"{bind!r} is not an address of this machine ({exc.strerror or exc}); use 127.0.0.1, 0.0.0.0 or one it has"
    return None


def exposure_warning(bind: str, has_users: bool, has_tls: bool) -> str | None:
    """What is unsafe about serving on `bind` this way, or None (loopback is always fine)."""
    try:
        if bind == "localhost" or ipaddress.ip_address(bind).is_loopback:
            return None
    except ValueError:  # a host name from --bind: assume it is reachable from elsewhere
        pass
    if not has_users:
        return (
            f"/metrics on {bind} can be read by anyone who reaches this machine: set exporter.basic_auth_users "
            "(hashes from `wslwatch config hash-password`), or bind 127.0.0.1"
        )
    if not has_tls:
        return f"/metrics on {bind} asks for a password but sends it unencrypted: set exporter.certfile and exporter.keyfile"
    return None


_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
_NOT_HERE = {errno.EADDRNOTAVAIL, getattr(errno, "WSAEADDRNOTAVAIL", errno.EADDRNOTAVAIL), errno.EAFNOSUPPORT}
