"""Test rigs: real stand-ins for what this machine lacks (a GPU, a slow disk, a tray).

The benchmarks use some of them too, so those import no pytest (tests/test_layering.py): a
missing rig is a skip (a failure under CI=true) inside a test run, and `RigMissing` outside one.
"""

from __future__ import annotations

import os
import sys

__all__ = ["IN_CI", "RigMissing", "need"]

IN_CI = os.environ.get("CI") == "true"


class RigMissing(RuntimeError):
    """A rig's program or library is not installed here (raised outside a test run)."""


def need(available: bool, what: str) -> None:
    """Skip a test whose rig is missing here; under CI=true a missing rig is a failure."""
    if available:
        return
    pytest = sys.modules.get("pytest")
    if pytest is None:  # not a test run: the benchmarks
        raise RigMissing(what)
    if IN_CI:
        pytest.fail(f"{what}: CI=true, so the rig must be installed (see tests/debian-packages.txt)")
    pytest.skip(what)
