"""HTTP basic auth for /metrics: PBKDF2-SHA256 password hashes and a small WSGI wrapper.

The config holds hashes only, never passwords. A hash (what `wslwatch config hash-password`
prints) reads

    pbkdf2_sha256$<iterations>$<salt>$<hash>

with salt and hash in standard base64 (RFC 4648, with padding): a 16-byte random salt and
the 32-byte PBKDF2-HMAC-SHA256 of the UTF-8 password. Comparisons are constant-time.

PBKDF2 is slow on purpose (about 1 s at the default iterations on a slow core), and
Prometheus sends the same credentials every scrape, so a credential that once verified is
remembered, keyed by an HMAC under a per-process random key (never the password itself).
Unknown users cost the same work as known ones, and only one slow check runs at a time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

__all__ = ["ITERATIONS", "BasicAuth", "PasswordHash", "hash_password", "hash_problem"]

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 1_000
_SALT_BYTES = 16
_DIGEST_BYTES = 32
_REMEMBERED = 64

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class PasswordHash:
    """One parsed `pbkdf2_sha256$...` hash."""

    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Read a hash; `ValueError` says what is wrong with it."""
        parts = text.split("$")
        if len(parts) != 4 or parts[0] != SCHEME:
            raise ValueError(f"must look like {SCHEME}$<iterations>$<salt>$<hash> (make one with `wslwatch config hash-password`)")
        if not parts[1].isdigit() or int(parts[1]) < MIN_ITERATIONS:
            raise ValueError(f"iterations must be a whole number of at least {MIN_ITERATIONS}, got {parts[1]!r}")
        try:
            salt = base64.b64decode(parts[2], validate=True)
            digest = base64.b64decode(parts[3], validate=True)
        except binascii.Error:
            raise ValueError("salt and hash must be base64") from None
        if len(digest) != _DIGEST_BYTES or not salt:
            raise ValueError(f"the hash must be {_DIGEST_BYTES} bytes and the salt not empty")
        return cls(int(parts[1]), salt, digest)

    def matches(self, password: str) -> bool:
        """Whether `password` hashes to this (constant-time compare)."""
        return hmac.compare_digest(_derive(password, self.salt, self.iterations), self.digest)

    def __str__(self) -> str:
        salt, digest = (base64.b64encode(b).decode("ascii") for b in (self.salt, self.digest))
        return f"{SCHEME}${self.iterations}${salt}${digest}"


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, _DIGEST_BYTES)


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """A new hash of `password` with a random salt."""
    salt = salt or os.urandom(_SALT_BYTES)
    return str(PasswordHash(iterations, salt, _derive(password, salt, iterations)))


def hash_problem(users: Mapping[str, str]) -> str | None:
    """What is wrong with a `user -> hash` table, or None (the config check)."""
    for user, text in users.items():
        if not user or ":" in user:
            return f"user name {user!r} must be non-empty and without ':'"
        try:
            PasswordHash.parse(text)
        except ValueError as exc:
            return f"{user}: {exc}"
    return None


class BasicAuth:
    """Wraps a WSGI app: a request passes only with the user name and password of one of `users`."""

    def __init__(self, app: WSGIApp, users: Mapping[str, str], realm: str = "wslwatch") -> None:
        self._app = app
        self._users = {user: PasswordHash.parse(text) for user, text in users.items()}
        slowest = max((h.iterations for h in self._users.values()), default=ITERATIONS)
        self._decoy = PasswordHash(slowest, os.urandom(_SALT_BYTES), bytes(_DIGEST_BYTES))
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
