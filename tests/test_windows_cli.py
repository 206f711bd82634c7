"""wslwatch's command line on Windows CPython under Wine, run as a Windows user runs it (`wslwatch.exe`)."""

from __future__ import annotations

import json

import pytest

from rigs.wine import WineRig

pytestmark = pytest.mark.rig


def test_once_json_has_host_ram_and_no_traceback(wine_rig: WineRig) -> None:
    """Wine's PDH cannot read swap (as on Windows machines with performance counters disabled):
    host RAM must still be reported, swap left absent, and nothing printed as a crash."""
    done = wine_rig.wslwatch("once", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    names = {s["name"]: s["value"] for s in report["samples"]}
    assert names["wslwatch_host_memory_total_bytes"] > names["wslwatch_host_memory_available_bytes"] > 0
    assert "wslwatch_host_swap_total_bytes" not in names
    assert "host_memory" not in report["errors"]
