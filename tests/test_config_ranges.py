"""Every range a setting must be in, as its error message states it: each row is one range of
the schema, checked just outside both ends (a value the range lets in would load silently)."""

from __future__ import annotations

import pytest

from wslwatch.config import ConfigError, load_text

#: (table, key, low, high): one key per range the schema declares.
RANGES = [
    ("collectors.host_memory", "interval_s", 0.1, 86400),
    ("collectors.host_memory", "timeout_s", 0.1, 3600),
    ("collectors.wsl_guest", "interval_s", 0.1, 86400),
    ("collectors.wsl_guest", "holders_top_n", 0, 100),
    ("collectors.wsl_guest", "holders_interval_s", 0, 86400),
    ("collectors.gpu_holders", "top_n", 0, 100),
    ("collectors.wslconfig", "interval_s", 0.1, 86400),
    ("collectors.wsl_version", "interval_s", 0.1, 86400),
    ("collectors.io_latency", "samples", 1, 100),
    ("collectors.io_latency", "sample_gap_s", 0, 5),
    ("collectors.io_latency", "deadline_s", 0.5, 3600),
    ("collectors.io_latency", "max_bytes_per_s", 0, 1 << 30),
    ("exporter", "port", 0, 65535),
    ("history", "interval_s", 1, 3600),
    ("history", "max_mb", 1, 4096),
    ("[paths]", "interval_s", 1, 86400),
    ("tray", "update_s", 0.1, 3600),
    ("alerts", "renotify_s", 0, 604800),
    ("rules.vram_high", "for_s", 0, 86400),  # every rule's times
    ("rules.vram_held_idle", "min_held_ratio", 0, 1),  # every share
    ("rules.vram_held_idle", "flat_mib", 0, 1e6),  # every amount
    ("rules.path_slow", "threshold_s", 0, 60),
    ("rules.path_slow", "clear_threshold_s", 0, 60),
    ("reclaim", "max_steps", 1, 1024),
]
WHOLE = {"holders_top_n", "top_n", "samples", "max_bytes_per_s", "port", "max_steps"}


@pytest.mark.parametrize(("table", "key", "low", "high"), RANGES)
def test_a_setting_outside_its_range_is_refused_with_the_range(table: str, key: str, low: float, high: float) -> None:
    step = 1 if key in WHOLE else 0.05
    for value in (low - step, high + step):
        shown = str(value)
        if table == "[paths]":
            text, dotted = f'[[paths]]\npath = "/data"\n{key} = {shown}\n', f"paths[0].{key}"
        else:
            text, dotted = f"[{table}]\n\n{key} = {shown}\n", f"{table}.{key}"
        with pytest.raises(ConfigError) as caught:
            load_text(text, "x.toml")
        assert caught.value.problems == [f"x.toml:3: {dotted}: must be from {low:g} to {high:g}, got {shown}"]


def test_both_ends_of_a_range_are_in_it() -> None:
    assert load_text("[exporter]\nport = 65535\n").exporter.port == 65535
    assert load_text("[exporter]\nport = 0\n").exporter.port == 0


def test_a_clear_line_equal_to_its_start_line_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text("[rules.vram_high]\nclear = 0.9\n", "x.toml")
    assert caught.value.problems == ["x.toml:2: rules.vram_high.clear: must be below warning (0.9), got 0.9"]
