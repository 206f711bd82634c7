"""record and replay: the line format, the same Store state, and clear errors for bad files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wslwatch.config import Config, load
from wslwatch.core import Sample
from wslwatch.daemon.cli import main
from wslwatch.daemon.recording import REPLAYED, Recorder, RecordingError, read_frames, replay
from wslwatch.store import Snapshot, Store

SCENARIOS = Path(__file__).parent / "scenarios"
T0 = 1_785_000_000.0


def live_store_with_recorder() -> tuple[Store, io.StringIO]:
    store = Store()
    out = io.StringIO()
    store.subscribe(Recorder(out))
    return store, out


def test_a_line_per_update_holding_the_whole_snapshot_with_older_sample_times() -> None:
    store, out = live_store_with_recorder()
    store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, 32.0, T0)], T0, 0.001)
    store.record("gpu", [Sample("wslwatch_gpu_memory_used_bytes", {"gpu": "0", "uuid": "U"}, 5.0, T0 + 15)], T0 + 15, 0.0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"t": T0, "samples": [{"name": "wslwatch_host_memory_total_bytes", "labels": {}, "value": 32.0}]},
        {
            "t": T0 + 15,
            "samples": [
                {"name": "wslwatch_gpu_memory_used_bytes", "labels": {"gpu": "0", "uuid": "U"}, "value": 5.0},
                {"name": "wslwatch_host_memory_total_bytes", "labels": {}, "value": 32.0, "ts": T0},
            ],
        },
    ]


def test_a_late_snapshot_is_not_written() -> None:
    out = io.StringIO()
    recorder = Recorder(out)
    recorder(Snapshot.build(T0 + 10, [], []))
    recorder(Snapshot.build(T0 + 5, [], []))
    assert [json.loads(line)["t"] for line in out.getvalue().splitlines()] == [T0 + 10]


def test_replay_rebuilds_the_live_stores_state() -> None:
    """Record a live Store fed by two collectors at their own cadences; replay the file into a
    fresh Store: the same latest samples and the same history, point for point."""
    live, out = live_store_with_recorder()
    for i in range(12):
        t = T0 + 15 * i
        live.record("host_memory", [Sample("wslwatch_host_memory_available_bytes", {}, 1e9 + i, t)], t, 0.0)
        if i % 2 == 0:
            cpu = Sample("wslwatch_guest_cpu_seconds_total", {"mode": "user"}, 100.0 + i, t + 1)
            live.record("wsl_guest", [cpu], t + 1, 0.0)
    replayed = Store()
    for frame in read_frames(out.getvalue().splitlines(), "mem"):
        replayed.record(REPLAYED, list(frame.samples), frame.t, 0.0)
    assert replayed.snapshot().samples == live.snapshot().samples
    for name in ("wslwatch_host_memory_available_bytes", "wslwatch_guest_cpu_seconds_total"):
        assert replayed.history(name) == live.history(name)


def test_the_cli_prints_one_json_line_per_transition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[alerts]\nrenotify_s = 60\n")
    assert main(["replay", str(SCENARIOS / "guest_near_oom.jsonl"), "--rules", str(config)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["rule"], line["state"], line["t"] - T0) for line in lines] == [
        ("guest_memory_low", "pending", 660.0),
        ("guest_memory_low", "firing", 780.0),
        ("guest_memory_low", "resolved", 1170.0),
    ]
    assert set(lines[1]) == {"t", "rule", "state", "severity", "labels", "summary"}


BAD = [
    ('{"t": 1, "samples": []}\nnot json\n', "2: not JSON"),
    ('[1, 2]\n', '1: must be a JSON object {"t": ..., "samples": [...]}'),
    ('{"samples": []}\n', '1: missing "t"'),
    ('{"t": "noon", "samples": []}\n', '1: "t" must be a number, got "noon"'),
    ('{"t": 5}\n', '1: missing "samples"'),
    ('{"t": 5, "samples": [{"labels": {}, "value": 1}]}\n', '1: samples[0] needs "name"'),
    ('{"t": 5, "samples": [{"name": "x", "labels": {"a": 1}, "value": 1}]}\n', '1: samples[0] (x): "labels" must be'),
    ('{"t": 5, "samples": [{"name": "x", "labels": {}}]}\n', '1: samples[0] (x): missing "value"'),
    ('{"t": 5, "samples": [{"name": "x", "labels": {}, "value": 1, "ts": 9}]}\n', '1: samples[0] (x): "ts" 9 is after'),
    ('{"t": 5, "samples": []}\n\n{"t": 4, "samples": []}\n', "3: time goes backwards (t=4 after t=5)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_file_is_named_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError) as caught:
        list(replay(read_frames(path.read_text().splitlines(), str(path)), Config()))
    assert str(caught.value).startswith(f"{path}:{message}")


def test_the_cli_reports_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 5, "samples": []}\n{"t": 4, "samples": []}\n')
    none = tmp_path / "none.toml"
    none.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "replay", str(path), "--config", str(none)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"wslwatch: {path}:2: time goes backwards (t=4 after t=5); lines must be in time order, as `wslwatch record` writes them\n"
    assert "Traceback" not in done.stderr


def test_the_cli_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nope.jsonl"), "--config", str(SCENARIOS / "data_on_mnt_c.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_record_runs_the_daemon_and_appends_lines(tmp_path: Path) -> None:
    """`wslwatch record` end to end: the real daemon's collectors, then the file replays."""
    out = tmp_path / "rec.jsonl"
    config = tmp_path / "c.toml"
    # a guest-memory line no machine is above: the alert fires from the first guest reading
    # (no VM process to watch here: the guest rules need it not known to be stopped)
    config.write_text(
        "[collectors.host_memory]\ninterval_s = 0.2\n[collectors.wsl_guest]\ninterval_s = 0.2\n"
        "[collectors.vmmem]\nenabled = false\n"
        "[rules.guest_memory_low]\navailable_ratio = 0.99\nclear_available_ratio = 1.0\nfor_s = 0\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "wslwatch", "record", str(out), "--config", str(config), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    frames = list(read_frames(out.read_text().splitlines(), str(out)))
    assert len(frames) >= 3
    assert any(s.name == "wslwatch_host_memory_total_bytes" for s in frames[-1].samples)
    first = next(f.t for f in frames if any(s.name == "wslwatch_guest_memory_available_bytes" for s in f.samples))
    assert [(a.rule, a.state, a.since) for a in replay(frames, load(config))] == [("guest_memory_low", "firing", first)]
