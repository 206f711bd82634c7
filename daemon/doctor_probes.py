"""What `wslwatch doctor` asks outside the collectors, without disturbing a running daemon.

- Who answers on the exporter's port: a plain TCP connect and one `GET /metrics`, never a
  bind (on Windows a bind can succeed next to a running daemon and prove nothing, and on
  any OS a bind races the daemon's own start).
- Which tray backend `wslwatch run` would get: pystray picks its backend when imported and
  fails there with display errors that are not ImportError, so it is imported in a child
  Python, never in this process.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import ssl
import subprocess
from dataclasses import dataclass
from typing import Literal, Mapping

__all__ = ["PortAnswer", "TrayAnswer", "tray_backend", "who_serves"]

#: A /metrics body is a few KiB; read no more than this of whatever answers.
_MAX_BODY = 1 << 20
_BUILD_INFO = re.compile(rb'^wslwatch_build_info\{version="([^"]*)"\}', re.MULTILINE)
#: Windows-only flag; 0 elsewhere (subprocess defines it only on Windows).
_WSLWATCH_REALM = re.compile(r'realm="wslwatch"', re.IGNORECASE)
_NO_WINDOW: int = getattr(subprocess, "CREATE_NO_WINDOW", 0)
_TRAY_PROBE = "import pystray; print(pystray.Icon.__module__, pystray.Icon.HAS_NOTIFICATION)"

PortState = Literal["free", "wslwatch", "other", "unknown"]


@dataclass(frozen=True)
class PortAnswer:
    """Who answers on an address: nobody, a wslwatch (with its version), or another program."""

    state: PortState
    address: str  # host:port as probed
    detail: str  # what was seen, in words


def _probe_host(bind: str) -> str:
    """The address to connect to for a server bound to `bind` (a wildcard is reached on loopback)."""
    if bind in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind == "::":
        return "::1"
    return bind


def _shown(host: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"


def who_serves(bind: str, port: int, tls: bool = False, timeout_s: float = 2.0) -> PortAnswer:
    """Connect to `bind:port` and, if something accepts, ask it for `/metrics` once (over HTTPS
    with `tls`, not checking the certificate: the question is who answers, not whether to trust it)."""
    host = _probe_host(bind)
    address = _shown(host, port)
    connection = (
        http.client.HTTPSConnection(host, port, timeout=timeout_s, context=_unverified())
        if tls
        else http.client.HTTPConnection(host, port, timeout=timeout_s)
    )
    try:
        try:
            connection.connect()
        except ConnectionRefusedError:
            return PortAnswer("free", address, "nothing accepts connections there")
        except OSError as exc:
            return PortAnswer("unknown", address, f"connecting failed: {_said(exc)} (a firewall?)")
        try:
            connection.request("GET", "/metrics", headers={"Accept": "text/plain", "User-Agent": "wslwatch-doctor"})
            response = connection.getresponse()
            body = response.read(_MAX_BODY)
        except TimeoutError:
            return PortAnswer("other", address, f"something accepts connections but sent no HTTP answer within {timeout_s:g}s")
        except (OSError, http.client.HTTPException) as exc:
            protocol = "HTTPS" if tls else "plain HTTP"
            return PortAnswer("other", address, f"something accepts connections but does not speak {protocol} ({_said(exc)})")
    finally:
        connection.close()
    found = _BUILD_INFO.search(body)
    if found is not None:
        return PortAnswer("wslwatch", address, f"wslwatch {found.group(1).decode('utf-8', 'replace')} serves /metrics")
    if response.status == 401:
        if _WSLWATCH_REALM.search(response.getheader("WWW-Authenticate") or ""):
            return PortAnswer("wslwatch", address, "wslwatch serves /metrics (it asks for a password)")
        return PortAnswer("other", address, "an HTTP server that asks for a password, not as wslwatch does")
    server = response.getheader("Server") or "unnamed"
    return PortAnswer(
        "other", address, f"an HTTP server ({server}) whose /metrics (HTTP {response.status}) is not wslwatch's"
    )


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


TrayState = Literal["backend", "headless"]


@dataclass(frozen=True)
class TrayAnswer:
    """The pystray backend `run` would use, or why it would run without a tray."""

    state: TrayState
    backend: str  # e.g. "win32", "xorg", "gtk"; "" when headless
    detail: str
    notifies: bool = False  # the backend shows notifications itself


def _display_less(platform: str, environ: Mapping[str, str]) -> bool:
    """An X11/Wayland platform with no display to connect to (Windows and macOS always have one)."""
    if platform == "win32" or platform == "darwin":
        return False
    return not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY")


def tray_backend(platform: str, environ: Mapping[str, str], python: str, timeout_s: float = 20.0) -> TrayAnswer:
    """Import pystray in a child `python` with `environ` and report the backend it chose."""
    if _display_less(platform, environ):
        return TrayAnswer("headless", "", "no display: DISPLAY and WAYLAND_DISPLAY are unset, so `wslwatch run` would run headless")
    try:
        done = subprocess.run(
            [python, "-c", _TRAY_PROBE], env=dict(environ), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout_s, creationflags=_NO_WINDOW, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return TrayAnswer("headless", "", f"importing pystray did not finish within {timeout_s:g}s (display hung?)")
    except OSError as exc:
        return TrayAnswer("headless", "", f"cannot start {python} to check pystray: {exc.strerror or exc}")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        said = lines[-1] if lines else f"exit status {done.returncode}"
        return TrayAnswer("headless", "", f"pystray cannot load a backend here ({said})")
    module, _, notifies = done.stdout.strip().partition(" ")
    backend = module.rsplit("._", 1)[-1]
    if backend == "base":  # PYSTRAY_BACKEND=dummy: imports fine, can show nothing
        return TrayAnswer("headless", "", "pystray's dummy backend is forced (PYSTRAY_BACKEND=dummy); it shows no icon")
    where = environ.get("WAYLAND_DISPLAY") or environ.get("DISPLAY") or ""
    detail = f"pystray's {backend} backend" + (f" on display {where}" if where else "")
    return TrayAnswer("backend", backend, detail, notifies == "True")
