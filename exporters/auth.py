"""HTTP basic auth for /metrics: a small WSGI wrapper over the config's password hashes.

The config holds hashes only, never passwords (`wslwatch.password_hash`). PBKDF2 is slow on
purpose (about 1 s at the default iterations on a slow core), and Prometheus sends the same
credentials every scrape, so a credential that once verified is remembered, keyed by an HMAC
under a per-process random key (never the password itself). Unknown users cost the same work
as known ones, and only one slow check runs at a time. Only a credential that verified is
remembered, so no stream of wrong ones can evict it: after its first scrape a real scraper
never waits for PBKDF2 again. Failed logins are logged: the first at once, then at most one
line a minute with their count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import threading
import time
from typing import Any, Callable, Iterable, Mapping

from wslwatch.password_hash import (
    DIGEST_BYTES,
    ITERATIONS,
    MIN_ITERATIONS,
    SALT_BYTES,
    PasswordHash,
    hash_password,
    hash_problem,
)

__all__ = ["ITERATIONS", "MIN_ITERATIONS", "BasicAuth", "PasswordHash", "hash_password", "hash_problem"]

log = logging.getLogger(__name__)

_REMEMBERED = 64
_FAILURES_LOGGED_EVERY_S = 60.0

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class BasicAuth:
    """Wraps a WSGI app: a request passes only with the user name and password of one of `users`."""

    def __init__(self, app: WSGIApp, users: Mapping[str, str], realm: str = "wslwatch") -> None:
        self._app = app
        self._users = {user: PasswordHash.parse(text) for user, text in users.items()}
        slowest = max((h.iterations for h in self._users.values()), default=ITERATIONS)
        self._decoy = PasswordHash(slowest, os.urandom(SALT_BYTES), bytes(DIGEST_BYTES))
        self._challenge = f'Basic realm="{realm}", charset="UTF-8"'
        self._key = os.urandom(32)
        self._remembered: set[bytes] = set()
        self._slow_check = threading.Lock()
        self._failures = 0
        self._next_failure_log = 0.0
        self._failure_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if self._allowed(header):
            return self._app(environ, start_response)
        if header:
            self._failed(environ.get("REMOTE_ADDR", "?"), _basic_credentials(header))
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", self._challenge)],
        )
        return [b"401: this endpoint needs a user name and password (exporter.basic_auth_users)\n"]

    def _allowed(self, header: str) -> bool:
        credentials = _basic_credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        token = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if token in self._remembered:
            return True
        with self._slow_check:
            known = self._users.get(user)
            ok = (known or self._decoy).matches(password) and known is not None
        if ok:
            if len(self._remembered) >= _REMEMBERED:
                self._remembered.clear()
            self._remembered.add(token)
        return ok


    def _failed(self, address: str, credentials: tuple[str, str] | None) -> None:
        with self._failure_lock:
            self._failures += 1
            now = time.monotonic()
            if now < self._next_failure_log:
                return
            who = f"as {credentials[0]!r}" if credentials else "with a malformed Authorization header"
            log.warning(
                "%d failed login(s) to /metrics, the latest from %s %s; if that is your scraper, check its "
                "user and password against exporter.basic_auth_users", self._failures, address, who,
            )
            self._failures, self._next_failure_log = 0, now + _FAILURES_LOGGED_EVERY_S


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None
