"""The [alerts] and [rules.*] configuration, and the shipped default file."""

from __future__ import annotations

import pytest

from wslwatch.config import Config, ConfigError, load_text
from wslwatch.daemon.cmd_config import default_file_text
from wslwatch.daemon.rules import build_rules


def test_the_default_file_names_every_rule_of_design() -> None:
    text = default_file_text()
    names = [rule.name for rule in build_rules(Config())]
    assert names == [
        "vram_high", "vram_held_idle", "reclaim_stalled", "vm_not_releasing", "reclaim_gate_blocked",
        "reclaim_disabled_bloat", "host_memory_low", "guest_memory_low", "guest_swap_thrash",
        "guest_memory_filling", "vram_filling", "path_cross_os", "path_slow", "path_stalled", "wslconfig_problem",
    ]  # fmt: skip
    assert all(f"[rules.{name}]" in text for name in names)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[rules.vram_high]\nclear = 0.95\n", "x.toml:2: rules.vram_high.clear: must be below warning (0.9), got 0.95"),
        ("[rules.vram_high]\nwarning = 0.98\n", "x.toml:2: rules.vram_high.warning: must be below critical (0.97), got 0.98"),
        (
            "[rules.host_memory_low]\n\nclear_available_ratio = 0.05\n",
            "x.toml:1: rules.host_memory_low.available_ratio: must be below clear_available_ratio (0.05), got 0.1",
        ),
        ('[rules.guest_memory_low]\nseverity = "loud"\n', 'x.toml:2: rules.guest_memory_low.severity: must be "info", "warning" or "critical", got "loud"'),
        ("[rules.path_slow]\nfor_s = -1\n", "x.toml:2: rules.path_slow.for_s: must be from 0 to 86400, got -1"),
        ("[rules.nope]\nenabled = false\n", "x.toml:1: rules.nope: unknown key; allowed here: guest_memory_filling, guest_memory_low"),
        ("[alerts]\nrenotify_s = true\n", "x.toml:2: alerts.renotify_s: must be a number, got true"),
    ],
)
def test_bad_rule_settings_are_named_with_file_and_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "x.toml")
    assert caught.value.problems[0].startswith(problem)


def test_a_cross_check_waits_for_the_keys_themselves_to_be_valid() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text("[rules.vram_high]\nwarning = 2\nclear = 0.95\n", "x.toml")
    assert caught.value.problems == ["x.toml:2: rules.vram_high.warning: must be from 0 to 1, got 2"]


def test_a_disabled_rule_is_not_built() -> None:
    config = load_text("[rules.path_slow]\nenabled = false\n[rules.vram_high]\nenabled = false\n")
    names = [rule.name for rule in build_rules(config)]
    assert "path_slow" not in names and "vram_high" not in names and len(names) == 13
