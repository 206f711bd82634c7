"""The shipped Grafana dashboard is a dashboard Grafana can load, over series that exist.

Grafana itself is not installable here; its queries are run against a real Prometheus in
test_prometheus_live.py. This checks the JSON model's shape.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from promql_names import known_labels, selectors, unknown_names
from shipped import DASHBOARD, all_panels, dashboard_targets, recorded_names

RECORDED = recorded_names()
#: Grafana's own variables, always defined.
BUILT_IN_VARIABLES = {"__rate_interval", "__interval", "__range", "__interval_ms"}
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


PANELS = list(all_panels(DASHBOARD["panels"]))
GRAPHS = [p for p in PANELS if p["type"] != "row"]
TARGETS = dashboard_targets()


def test_dashboard_has_the_fields_grafana_needs() -> None:
    assert isinstance(DASHBOARD["schemaVersion"], int) and DASHBOARD["schemaVersion"] >= 36
    assert DASHBOARD["title"] == "wslwatch"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", DASHBOARD["uid"])
    assert DASHBOARD["id"] is None, "an exported dashboard has no database id"
    assert GRAPHS, "the dashboard has no panels"


def test_panel_ids_are_unique() -> None:
    ids = [p["id"] for p in PANELS]
    assert all(isinstance(i, int) for i in ids)
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(i for i in ids if ids.count(i) > 1)}"


def test_every_panel_has_a_datasource_and_a_query() -> None:
    for panel in GRAPHS:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"{panel['title']}: no target"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), f"{panel['title']}: duplicate refIds {refs}"
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]
            assert target["expr"].strip(), f"{panel['title']} {target['refId']}: empty query"


def test_panels_fit_the_grid() -> None:
    for panel in PANELS:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0 and grid["y"] >= 0, panel["title"]


def test_every_variable_used_is_defined() -> None:
    defined = {v["name"] for v in DASHBOARD["templating"]["list"]} | BUILT_IN_VARIABLES
    texts = [t["expr"] for _, t in TARGETS] + [p["title"] for p in PANELS] + [p.get("repeat", "") for p in PANELS]
    texts += [v.get("definition", "") for v in DASHBOARD["templating"]["list"]]
    used = {name for text in texts for name in VARIABLE.findall(text)}
    assert used <= defined, f"undefined variables: {sorted(used - defined)}"
    for panel in PANELS:
        if "repeat" in panel:
            assert panel["repeat"] in defined, panel["title"]


def test_instance_variable_serves_one_or_many_machines() -> None:
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    instance = variables["instance"]
    assert instance["multi"] and instance["includeAll"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for title, target in TARGETS:
        for name, labels in selectors(target["expr"]):
            assert "instance" in labels, f"{title}: {name} is not filtered by $instance"


@pytest.mark.parametrize(("title", "target"), TARGETS, ids=[f"{t}-{x['refId']}" for t, x in TARGETS])
def test_queries_name_only_catalogued_series_and_labels(title: str, target: dict[str, Any]) -> None:
    expr = target["expr"]
    unknown = unknown_names(expr, RECORDED)
    assert not unknown, f"{title}: not in the catalogue nor recorded: {unknown}"
    for name, labels in selectors(expr):
        allowed = known_labels(name)
        if allowed is not None:
            assert labels <= allowed, f"{title}: {name} has no label {sorted(labels - allowed)}"


def test_vram_panel_draws_the_vram_high_thresholds() -> None:
    (panel,) = [p for p in GRAPHS if p["title"] == "VRAM used per GPU"]
    steps = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"] if s["value"] is not None]
    assert steps == [0.85, 0.90, 0.97]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"


def test_path_latency_has_a_row_per_path_and_the_kind_in_the_legend() -> None:
    rows = [p for p in PANELS if p["type"] == "row" and p.get("repeat") == "path"]
    assert rows, "no row repeated per path"
    latency = [t for title, t in TARGETS if "wslwatch_path_io_latency_seconds_bucket" in t["expr"]]
    quantiles = {re.search(r"histogram_quantile\((0\.\d+)", t["expr"])[1] for t in latency}  # type: ignore[index]
    assert quantiles == {"0.5", "0.99"}
    assert all("{{kind}}" in t["legendFormat"] and "{{op}}" in t["legendFormat"] for t in latency)
