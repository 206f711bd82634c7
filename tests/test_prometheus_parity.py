"""The shipped PromQL rules fire and resolve when wslwatch's own engine does, on every scenario.

For each recorded scenario in tests/scenarios/, `replay` gives the engine's transitions, and
a `promtool test rules` file is generated from the same frames: one scrape per frame (a series
missing from a frame gets a stale marker, as a real scrape would write), evaluated every frame
interval in promtool's simulated time. At every evaluation the firing `ALERTS` must be exactly
the alerts the engine has firing, with the same labels, transitions included: the engine's
`clear_for` counts as Prometheus' `keep_firing_for` does. promtool is the judge; its report names
the times that differ.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pytest
import yaml
from shipped import RULES_TEXT

from rigs import need
from rigs.prometheus import PROMTOOL
from wslwatch.config import Config, load
from wslwatch.config.schema import RulesConfig
from wslwatch.core import Alert
from wslwatch.daemon.recording import Frame, read_frames, replay

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
CASES = sorted(p for p in SCENARIOS.glob("*.jsonl") if not p.name.endswith(".expected.jsonl"))
pytestmark = pytest.mark.rig  # promtool

#: The labels a real scrape adds; the rules match on them.
TARGET = {"instance": "ws1:9477", "job": "wslwatch"}

AlertKey = tuple[str, str, tuple[tuple[str, str], ...]]  # rule, severity, labels


def alert_names(rules_text: str) -> dict[str, str]:
    """The tray rule -> Prometheus alert name, from the rules' `rule` labels."""
    groups = yaml.safe_load(rules_text)["groups"]
    return {r["labels"]["rule"]: r["alert"] for g in groups for r in g["rules"] if "alert" in r}


def frames_of(path: Path) -> list[Frame]:
    with path.open(encoding="utf-8") as lines:
        return list(read_frames(lines, str(path)))


def config_of(path: Path) -> Config:
    toml = path.with_suffix(".toml")
    return load(toml) if toml.exists() else Config()


def step_of(frames: Sequence[Frame]) -> int:
    """The frames' spacing in whole seconds; scenarios are recorded at one steady cadence."""
    steps = {frame.t - before.t for before, frame in zip(frames, frames[1:])}
    assert len(steps) == 1 and float(int(min(steps))) == min(steps), f"frames are not evenly spaced: {sorted(steps)}"
    return int(steps.pop())


def _selector(name: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def input_series(frames: Sequence[Frame]) -> list[dict[str, str]]:
    """promtool input series: each frame is one scrape of the target at the frame's time."""
    values: dict[str, list[str]] = {}
    for index, frame in enumerate(frames):
        present = {_selector(s.name, {**s.labels, **TARGET}): repr(float(s.value)) for s in frame.samples}
        for series, value in present.items():
            values.setdefault(series, ["_"] * index).append(value)
        for series, column in values.items():
            if series not in present:
                column.append("stale" if column[-1] not in ("_", "stale") else "_")
    return [{"series": series, "values": " ".join(column)} for series, column in values.items()]


@dataclass(frozen=True)
class Timeline:
    """When each of the engine's alerts was firing, in seconds from the first frame."""

    firing: dict[AlertKey, list[tuple[float, float]]]

    @classmethod
    def of(cls, alerts: Iterable[Alert], start: float, end: float) -> Timeline:
        firing: dict[AlertKey, list[tuple[float, float]]] = {}
        opened: dict[AlertKey, float] = {}
        for alert in alerts:
            key = (alert.rule, alert.severity, tuple(sorted(alert.labels.items())))
            if alert.state == "firing":
                opened[key] = alert.since - start
            elif alert.state == "resolved":
                firing.setdefault(key, []).append((opened.pop(key), alert.since - start))
        for key, since in opened.items():
            firing.setdefault(key, []).append((since, end - start + 1))
        return cls(firing)

    def at(self, t: float) -> list[AlertKey]:
        return sorted(key for key, spans in self.firing.items() if any(a <= t < b for a, b in spans))


def expected_sample(key: AlertKey, names: Mapping[str, str]) -> dict[str, Any]:
    rule, severity, labels = key
    series = {"alertname": names[rule], "alertstate": "firing", "severity": severity, "rule": rule}
    series.update(TARGET)
    series.update(labels)
    return {"labels": _selector("ALERTS", series), "value": 1}


def promtool_test(frames: Sequence[Frame], timeline: Timeline, rules: Path, names: Mapping[str, str]) -> dict[str, Any]:
    step = step_of(frames)
    span = int(frames[-1].t - frames[0].t)
    checks = [
        {
            "expr": 'ALERTS{alertstate="firing"}',
            "eval_time": f"{t}s",
            "exp_samples": [expected_sample(key, names) for key in timeline.at(t)],
        }
        for t in range(0, span + 1, step)
    ]
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": f"{step}s",
        "tests": [{"interval": f"{step}s", "input_series": input_series(frames), "promql_expr_test": checks}],
    }


def run_parity(scenario: Path, rules_text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Replay `scenario`, write the promtool test for `rules_text` under `workdir`, run it."""
    assert PROMTOOL is not None
    frames = frames_of(scenario)
    timeline = Timeline.of(replay(frames, config_of(scenario)), frames[0].t, frames[-1].t)
    workdir.mkdir(parents=True, exist_ok=True)
    rules = workdir / "rules.yml"
    rules.write_text(rules_text, encoding="utf-8")
    test = workdir / f"{scenario.stem}.test.yml"
    test.write_text(yaml.safe_dump(promtool_test(frames, timeline, rules, alert_names(rules_text)), width=1 << 20))
    return subprocess.run([PROMTOOL, "test", "rules", str(test)], capture_output=True, text=True, check=False)


def _report(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    text = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return "\n".join(text[:lines] + ([f"... ({len(text) - lines} more lines)"] if len(text) > lines else []))


def test_there_are_scenarios() -> None:
    assert len(CASES) >= 5, f"no scenario library in {SCENARIOS}"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, subprocess.CompletedProcess[str]]:
    """promtool's verdict on every scenario, the runs spread over the machine's cores."""
    need(PROMTOOL is not None, "promtool (Debian package prometheus)")
    base = tmp_path_factory.mktemp("parity")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {case: pool.submit(run_parity, case, RULES_TEXT, base / case.stem) for case in CASES}
        return {case: run.result() for case, run in runs.items()}


@pytest.mark.parametrize("scenario", CASES, ids=[p.stem for p in CASES])
def test_promql_rules_agree_with_replay(scenario: Path, verdicts: dict[Path, subprocess.CompletedProcess[str]]) -> None:
    assert config_of(scenario).rules == RulesConfig(), "the shipped PromQL rules are the defaults; so must these be"
    result = verdicts[scenario]
    assert result.returncode == 0, f"PromQL and replay disagree on {scenario.name}:\n{_report(result)}"


def test_a_divergent_rule_is_caught(tmp_path: Path) -> None:
    """The parity check can fail: VRAM warnings after 2 min instead of 1 do not match replay."""
    need(PROMTOOL is not None, "promtool (Debian package prometheus)")
    scenario = SCENARIOS / "vram_training_95.jsonl"
    warning = "keep_firing_for: 2m\n        labels: {severity: warning, rule: vram_high}"
    slower = RULES_TEXT.replace(f"for: 1m\n        {warning}", f"for: 2m\n        {warning}")
    assert slower != RULES_TEXT
    result = run_parity(scenario, slower, tmp_path)
    assert result.returncode != 0
    assert "WslwatchVramHigh" in result.stdout + result.stderr
