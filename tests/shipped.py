"""The shipped Prometheus rules and Grafana dashboard, read as the tests need them."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Iterator

import yaml

__all__ = ["DASHBOARD", "RULES", "RULES_TEXT", "all_panels", "dashboard_targets", "recorded_names"]

_DATA = resources.files("wslwatch.exporters")
RULES_TEXT = _DATA.joinpath("prometheus/rules.yml").read_text(encoding="utf-8")
#: Every rule of every group, in file order.
RULES: list[dict[str, Any]] = [rule for group in yaml.safe_load(RULES_TEXT)["groups"] for rule in group["rules"]]
DASHBOARD: dict[str, Any] = json.loads(_DATA.joinpath("grafana/wslwatch.json").read_text(encoding="utf-8"))


def recorded_names() -> set[str]:
    """Names the recording rules write."""
    return {rule["record"] for rule in RULES if "record" in rule}


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_targets() -> list[tuple[str, dict[str, Any]]]:
    """`(panel title, target)` for every query of the dashboard."""
    return [(p["title"], t) for p in all_panels(DASHBOARD["panels"]) if p["type"] != "row" for t in p["targets"]]
