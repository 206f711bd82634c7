"""The HTTP endpoint: routes, loopback default, and an address only one process may hold."""

from __future__ import annotations

import gzip
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Gauge

from rigs import need
from wslwatch.exporters.http import PortInUseError, serve


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    Gauge("wslwatch_test_gauge", "A test gauge.", registry=reg).set(7)
    return reg


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serves_metrics_index_and_404() -> None:
    server = serve(registry(), "127.0.0.1", 0)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        status, body = get(server.url)
        assert status == 200 and "wslwatch_test_gauge 7.0" in body
        status, body = get(f"http://127.0.0.1:{server.port}/")
        assert status == 200 and 'href="/metrics"' in body
        status, body = get(f"http://127.0.0.1:{server.port}/nope")
        assert status == 404 and "/metrics" in body
    finally:
        server.close()


def test_a_taken_port_is_refused_clearly() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is already in use"):
            serve(registry(), "127.0.0.1", port)
    finally:
        holder.close()


def test_a_second_server_cannot_share_the_port() -> None:
    first = serve(registry(), "127.0.0.1", 0)
    try:
        with pytest.raises(PortInUseError):
            serve(registry(), "127.0.0.1", first.port)
    finally:
        first.close()


def test_the_port_is_free_again_at_once_after_a_scrape() -> None:
    """The server closes each connection, which then lingers in TIME_WAIT for a minute on the
    server's side: a restarted daemon must still get its port."""
    first = serve(registry(), "127.0.0.1", 0)
    port = first.port
    assert get(first.url)[0] == 200
    first.close()
    again = serve(registry(), "127.0.0.1", port)
    try:
        assert get(again.url)[0] == 200
    finally:
        again.close()


def _ipv6_loopback() -> str:
    """Why the IPv6 loopback cannot be used here ("" when it can)."""
    if not socket.has_ipv6:
        return "Python without IPv6"
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        return str(exc)
    return ""


@pytest.mark.rig
def test_ipv6_loopback() -> None:
    problem = _ipv6_loopback()
    need(not problem, f"the IPv6 loopback ::1 ({problem})")
    server = serve(registry(), "::1", 0)
    try:
        assert server.url == f"http://[::1]:{server.port}/metrics"
        assert get(server.url)[0] == 200
    finally:
        server.close()


def request(method: str, url: str) -> tuple[int, str, bytes]:
    """`method url` as a raw HTTP/1.0 request: status, Allow header, and the body exactly as sent."""
    host, _, rest = url.removeprefix("http://").partition("/")
    address, _, port = host.rpartition(":")
    with socket.create_connection((address, int(port)), timeout=5) as conn:
        conn.sendall(f"{method} /{rest} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    allow = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("allow:")), "")
    return int(lines[0].split()[1]), allow, body


def test_head_answers_like_get_without_a_body_and_other_methods_are_refused() -> None:
    """A load balancer's HEAD /metrics health check is a 200; PUT or TRACE never get a page."""
    server = serve(registry(), "127.0.0.1", 0)
    try:
        assert request("HEAD", server.url) == (200, "", b"")
        assert request("HEAD", f"http://127.0.0.1:{server.port}/")[0] == 200
        for method in ("PUT", "TRACE", "DELETE", "POST"):
            for path in ("/", "/metrics"):
                status, allow, body = request(method, f"http://127.0.0.1:{server.port}{path}")
                assert (status, allow) == (405, "GET, HEAD"), (method, path)
                assert b"wslwatch_test_gauge" not in body and b"<h1>" not in body
    finally:
        server.close()
