"""The shipped Prometheus rules: valid for promtool, and written the way the mixins write rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from promql_names import known_labels, selectors, unknown_names
from shipped import RULES, RULES_TEXT, recorded_names

from rigs import need
from rigs.prometheus import PROMTOOL
from wslwatch.config import Config
from wslwatch.config.schema import RulesConfig
from wslwatch.daemon.rules import build_rules
from wslwatch.daemon.rules._wsl import RECLAIM_DELAY_S

ALERTS = [rule for rule in RULES if "alert" in rule]
RECORDED = recorded_names()
SEVERITIES = {"info", "warning", "critical"}


@pytest.mark.rig
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    need(PROMTOOL is not None, "promtool (Debian package prometheus)")
    assert PROMTOOL is not None
    path = tmp_path / "rules.yml"
    path.write_text(RULES_TEXT, encoding="utf-8")
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


@pytest.mark.rig
def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail: a rule with a PromQL syntax error is refused."""
    need(PROMTOOL is not None, "promtool (Debian package prometheus)")
    assert PROMTOOL is not None
    path = tmp_path / "rules.yml"
    path.write_text(RULES_TEXT.replace("wslwatch:gpu_memory_used:ratio >=", "wslwatch:gpu_memory_used:ratio >= >=", 1))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode != 0


def test_recording_rules_are_named_level_metric_operation() -> None:
    for name in RECORDED:
        assert re.fullmatch(r"wslwatch:[a-z0-9_]+(:[a-z0-9_]+)?", name), name


@pytest.mark.parametrize("rule", ALERTS, ids=[f"{a['alert']}-{a['labels']['severity']}" for a in ALERTS])
def test_alert_is_labelled_and_explained(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"Wslwatch[A-Z][A-Za-z]+", rule["alert"])
    labels = rule["labels"]
    assert labels["severity"] in SEVERITIES
    assert re.fullmatch(r"[a-z_]+", labels["rule"]), "the tray's rule name, to match the two"
    assert set(labels) == {"severity", "rule"}, "no other static labels: identity comes from the series"
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description"}
    assert "{{" in annotations["summary"], "the summary carries the numbers"
    assert "$labels.instance" in annotations["summary"], "a lab needs to know which machine"


def test_alert_names_and_tray_rules_are_one_to_one() -> None:
    pairs = {(a["alert"], a["labels"]["rule"]) for a in ALERTS}
    assert len({alert for alert, _ in pairs}) == len({rule for _, rule in pairs}) == len(pairs)


@pytest.mark.parametrize("rule", RULES, ids=[r.get("alert") or r["record"] for r in RULES])
def test_rule_names_only_catalogued_series_and_labels(rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    assert not unknown_names(expr, RECORDED), unknown_names(expr, RECORDED)
    for name, labels in selectors(expr):
        allowed = known_labels(name)
        if allowed is not None:
            assert labels <= allowed, f"{name} has no label {sorted(labels - allowed)}"


def _seconds(duration: str) -> float:
    """A Prometheus duration such as `1m`, `30s` or `2m30s`, in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert "".join(n + u for n, u in parts) == duration, f"unexpected duration {duration!r}"
    return float(sum(int(n) * units[u] for n, u in parts))


def test_every_engine_rule_has_its_alert_with_its_severities() -> None:
    engine = {rule.name: rule for rule in build_rules(Config())}
    shipped: dict[str, set[str]] = {}
    for alert in ALERTS:
        shipped.setdefault(alert["labels"]["rule"], set()).add(alert["labels"]["severity"])
    assert set(shipped) == set(engine)
    for name, severities in shipped.items():
        expected = {"warning", "critical"} if name == "vram_high" else {engine[name].severity}
        assert severities == expected, name


@pytest.mark.parametrize("alert", ALERTS, ids=[f"{a['alert']}-{a['labels']['severity']}" for a in ALERTS])
def test_alert_times_are_the_engine_defaults(alert: dict[str, Any]) -> None:
    """`for` is the rule's for_s (critical VRAM: critical_for_s); keep_firing_for its clear_for_s."""
    rule, severity = alert["labels"]["rule"], alert["labels"]["severity"]
    config = getattr(RulesConfig(), rule)
    assert _seconds(alert.get("keep_firing_for", "0s")) == config.clear_for_s
    if rule == "reclaim_stalled":
        # The delay depends on the reclaim mode, so it is in the expression, not in `for`.
        assert "for" not in alert
        delays = {int(d) for d in re.findall(r">= (\d+)\s", alert["expr"])}
        assert delays == {int(RECLAIM_DELAY_S[mode] + config.for_s) for mode in RECLAIM_DELAY_S}
    else:
        expected = config.critical_for_s if severity == "critical" and rule == "vram_high" else config.for_s
        assert _seconds(alert.get("for", "0s")) == expected
