"""Test rigs: real stand-ins for what this machine lacks (a GPU, a slow disk, a tray)."""

from __future__ import annotations

import os

import pytest

__all__ = ["IN_CI", "need"]

IN_CI = os.environ.get("CI") == "true"


def need(available: bool, what: str) -> None:
    """Skip a test whose rig is missing here; under CI=true a missing rig is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what}: CI=true, so the rig must be installed (see tests/debian-packages.txt)")
    pytest.skip(what)
