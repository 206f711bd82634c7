"""The [collectors.io_latency] and [[paths]] configuration, and how `run`/`once` wire the probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wslwatch.config import ConfigError, load_text
from wslwatch.config.schema import Config, IoLatencyConfig, PathConfig
from wslwatch.daemon.app import build_collectors
from wslwatch.daemon.cli import main
from wslwatch.daemon.cmd_config import default_file_text


def test_the_default_file_states_the_built_in_probe_settings() -> None:
    assert load_text(default_file_text()).collectors.io_latency == IoLatencyConfig()


def test_paths_and_probe_settings_are_read() -> None:
    config = load_text(
        "[collectors.io_latency]\nsamples = 3\ndeadline_s = 5\nmax_bytes_per_s = 0\n"
        '[[paths]]\npath = "/mnt/c/data"\nname = "data"\ndata = true\n'
        '[[paths]]\npath = "~/scratch"\ninterval_s = 30\n'
    )
    assert config.collectors.io_latency == IoLatencyConfig(samples=3, deadline_s=5.0, max_bytes_per_s=0)
    assert config.paths == (PathConfig("/mnt/c/data", "data", 60.0, True), PathConfig("~/scratch", "", 30.0, False))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[collectors.io_latency]\nsamples = 0\n", "cfg.toml:2: collectors.io_latency.samples: must be from 1 to 100, got 0"),
        ("[collectors.io_latency]\ndeadline_s = 0.1\n", "cfg.toml:2: collectors.io_latency.deadline_s: must be from 0.5 to 3600"),
        ("[collectors.io_latency]\nrate = 1\n", "cfg.toml:2: collectors.io_latency.rate: unknown key"),
        (
            '[[paths]]\npath = "/a"\nname = "d"\n[[paths]]\npath = "/b"\nname = "d"\n',
            "cfg.toml:1: paths: two entries are both called 'd'; give each path its own name",
        ),
        ('[[paths]]\npath = "/a"\n[[paths]]\npath = "/a"\n', "cfg.toml:1: paths: two entries are both called '/a'"),
    ],
)
def test_bad_probe_settings_are_refused_with_file_and_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "cfg.toml")
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


def test_run_wires_one_probe_collector_per_path(tmp_path: Path) -> None:
    config = load_text(
        f'[collectors.io_latency]\ndeadline_s = 30\n[[paths]]\npath = "{tmp_path}"\nname = "scratch"\n'
        f'[[paths]]\npath = "{tmp_path}/b"\ninterval_s = 10\n'
    )
    probes = [(c, t) for c, t in build_collectors(config) if c.name.startswith("io_latency:")]
    assert [(c.name, c.interval_s, t) for c, t in probes] == [
        ("io_latency:scratch", 60.0, 32.0),  # the runner's backstop outlasts the probe's own deadline
        (f"io_latency:{tmp_path}/b", 10.0, 10.0),
    ]
    assert probes[1][0].deadline_s == 8.0  # type: ignore[attr-defined]  # 80 % of a short interval
    disabled = load_text(f'[collectors.io_latency]\nenabled = false\n[[paths]]\npath = "{tmp_path}"\n')
    assert not [c for c, _ in build_collectors(disabled) if c.name.startswith("io_latency:")]
    assert not [c for c, _ in build_collectors(Config()) if c.name.startswith("io_latency:")]


def test_once_json_includes_the_path_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "wslwatch.toml"
    config.write_text(f'[collectors.io_latency]\nsamples = 1\nsample_gap_s = 0\n[[paths]]\npath = "{data}"\nname = "data"\n')
    assert main(["once", "--json", "--config", str(config)]) == 0
    doc = json.loads(capsys.readouterr().out)
    mine = [s for s in doc["samples"] if s["labels"].get("path") == str(data)]
    names = {s["name"] for s in mine}
    assert {"wslwatch_path_info", "wslwatch_path_probe_status", "wslwatch_path_io_latency_seconds_count"} <= names
    assert "io_latency:data" not in doc["errors"]
    assert list(data.iterdir()) == []  # `once` closes the collectors: the probe area is gone
