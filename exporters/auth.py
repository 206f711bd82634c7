"""HTTP basic auth for /metrics: a small WSGI wrapper over the config's password hashes.

The config holds hashes only, never passwords (`wslwatch.password_hash`). PBKDF2 is slow on
purpose (about 1 s at the default iterations on a slow core), and Prometheus sends the same
credentials every scrape, so a credential that once verified is remembered, keyed by an HMAC
under a per-process random key (never the password itself). Unknown users cost the same work
as known ones, and only one slow check runs at a time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
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

_REMEMBERED = 64

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

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self._allowed(environ.get("HTTP_AUTHORIZATION", "")):
            return self._app(environ, start_response)
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


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None
