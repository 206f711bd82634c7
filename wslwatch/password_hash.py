"""Password hashes for `exporter.basic_auth_users`: PBKDF2-SHA256, parsed and checked.

A hash (what `wslwatch config hash-password` prints) reads

    pbkdf2_sha256$<iterations>$<salt>$<hash>

with salt and hash in standard base64 (RFC 4648, with padding): a 16-byte random salt and
the 32-byte PBKDF2-HMAC-SHA256 of the UTF-8 password. Comparisons are constant-time.
The config checks hashes with this module and the exporter verifies passwords with it, so it
sits on the bottom floor and imports nothing of ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Mapping

__all__ = ["ITERATIONS", "MAX_ITERATIONS", "MIN_ITERATIONS", "SALT_BYTES", "DIGEST_BYTES", "PasswordHash", "hash_password", "hash_problem", "iterations_problem"]

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 1_000
#: About 5 s per check on a 2024 desktop core: more only delays logins past a scrape's timeout
#: (and past 2**31 - 1 hashlib refuses the count outright).
MAX_ITERATIONS = 10_000_000
SALT_BYTES = 16
DIGEST_BYTES = 32

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
        if iterations_problem(parts[1]):
            raise ValueError(f"iterations {iterations_problem(parts[1])}, got {parts[1][:20]!r}")
        try:
            salt = base64.b64decode(parts[2], validate=True)
            digest = base64.b64decode(parts[3], validate=True)
        except binascii.Error:
            raise ValueError("salt and hash must be base64") from None
        if len(digest) != DIGEST_BYTES or not salt:
            raise ValueError(f"the hash must be {DIGEST_BYTES} bytes and the salt not empty")
        return cls(int(parts[1]), salt, digest)

    def matches(self, password: str) -> bool:
        """Whether `password` hashes to this (constant-time compare)."""
        return hmac.compare_digest(_derive(password, self.salt, self.iterations), self.digest)

    def __str__(self) -> str:
        salt, digest = (base64.b64encode(b).decode("ascii") for b in (self.salt, self.digest))
        return f"{SCHEME}${self.iterations}${salt}${digest}"


def iterations_problem(text: str) -> str | None:
    """What is wrong with `text` as a PBKDF2 round count, or None."""
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not MIN_ITERATIONS <= int(text) <= MAX_ITERATIONS:
        return f"must be a whole number from {MIN_ITERATIONS} to {MAX_ITERATIONS}"
    return None


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, DIGEST_BYTES)


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """A new hash of `password` with a random salt."""
    salt = salt or os.urandom(SALT_BYTES)
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
