"""record and replay: the line format, the same Store state, and damaged lines skipped by name."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readme import readme_command
from wslwatch.core import Sample
from wslwatch.daemon.cli import main
from wslwatch.daemon.line_file import LineFile
from wslwatch.daemon.recording import REPLAYED, Recorder, read_frames
from wslwatch.store import Snapshot, Store

SCENARIOS = Path(__file__).parent / "scenarios"
T0 = 1_785_000_000.0


def live_store_with_recorder(tmp_path: Path) -> tuple[Store, Path]:
    store = Store()
    out = tmp_path / "rec.jsonl"
    store.subscribe(Recorder(LineFile(out)))
    return store, out


def test_a_line_per_update_holding_the_whole_snapshot_with_older_sample_times(tmp_path: Path) -> None:
    store, out = live_store_with_recorder(tmp_path)
    store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, 32.0, T0)], T0, 0.001)
    store.record("gpu", [Sample("wslwatch_gpu_memory_used_bytes", {"gpu": "0", "uuid": "U"}, 5.0, T0 + 15)], T0 + 15, 0.0)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
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


def test_a_late_snapshot_is_not_written(tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    recorder = Recorder(LineFile(out))
    recorder(Snapshot.build(T0 + 10, [], []))
    recorder(Snapshot.build(T0 + 5, [], []))
    assert [json.loads(line)["t"] for line in out.read_text().splitlines()] == [T0 + 10]


def test_replay_rebuilds_the_live_stores_state(tmp_path: Path) -> None:
    """Record a live Store fed by two collectors at their own cadences; replay the file into a
    fresh Store: the same latest samples and the same history, point for point."""
    live, out = live_store_with_recorder(tmp_path)
    for i in range(12):
        t = T0 + 15 * i
        live.record("host_memory", [Sample("wslwatch_host_memory_available_bytes", {}, 1e9 + i, t)], t, 0.0)
        if i % 2 == 0:
            cpu = Sample("wslwatch_guest_cpu_seconds_total", {"mode": "user"}, 100.0 + i, t + 1)
            live.record("wsl_guest", [cpu], t + 1, 0.0)
    replayed = Store()
    for frame in read_frames(out.read_text().splitlines(), "mem"):
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


GOOD = '{"t": 5, "samples": []}'
BAD = [
    ("not json", "not JSON"),
    ("[1, 2]", 'must be a JSON object {"t": ..., "samples": [...]}'),
    ('{"samples": []}', 'missing "t"'),
    ('{"t": "noon", "samples": []}', '"t" must be a number, got "noon"'),
    ('{"t": 6}', 'missing "samples"'),
    ('{"t": 6, "samples": [{"labels": {}, "value": 1}]}', 'samples[0] needs "name"'),
    ('{"t": 6, "samples": [{"name": "x", "labels": {"a": 1}, "value": 1}]}', 'samples[0] (x): "labels" must be'),
    ('{"t": 6, "samples": [{"name": "x", "labels": {}}]}', 'samples[0] (x): missing "value"'),
    ('{"t": 6, "samples": [{"name": "x", "labels": {}, "value": 1, "ts": 9}]}', 'samples[0] (x): "ts" 9 is after'),
    ('{"t": 1e999, "samples": []}', '"t" must be a time from 1970 to the year 3000 (unix seconds), got inf'),
    ('{"t": -1e12, "samples": []}', '"t" must be a time from 1970'),
    ('{"t": 1e15, "samples": []}', '"t" must be a time from 1970'),
    ('{"t": NaN, "samples": []}', "NaN is not a number a recording holds"),
    ('{"t": 6, "samples": [{"name": "x", "labels": {}, "value": Infinity}]}', "Infinity is not a number"),
    ('{"t": ' + "9" * 400 + ', "samples": []}', "a 400-digit number is not one a recording holds"),
    ("[" * 100_000 + "]" * 100_000, "not a recorded line (JSON nested too deep)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_damaged_line_is_skipped_by_name_and_the_lines_after_it_are_read(
    tmp_path: Path, text: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD}\n{text}\n\n" + GOOD.replace("5", "7") + "\n")
    frames = list(read_frames(path.read_text().splitlines(), str(path)))
    assert [frame.t for frame in frames] == [5, 7]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"{path}:2: line skipped: {message}")


def test_replay_skips_damaged_lines_and_starts_afresh_where_the_clock_went_back(tmp_path: Path) -> None:
    """A crash or full disk cuts a line short; a clock set back makes t go back: every readable
    line is still replayed, each damaged one named, no traceback, exit 0."""
    lines = (SCENARIOS / "guest_near_oom.jsonl").read_text().splitlines()
    path = tmp_path / "damaged.jsonl"
    cut = lines[3][: len(lines[3]) // 2]  # a line cut short by SIGKILL, the next appended after it
    path.write_text("\n".join([*lines[:3], cut, *lines[4:], lines[0]]) + "\n")
    config = tmp_path / "none.toml"
    config.write_text("[alerts]\nrenotify_s = 60\n")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "replay", str(path), "--config", str(config)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{path}:4: line skipped: not JSON" in done.stderr
    assert f"{path}:{len(lines) + 1}: the clock went back" in done.stderr
    assert "Traceback" not in done.stderr
    states = [(json.loads(line)["rule"], json.loads(line)["state"]) for line in done.stdout.splitlines()]
    assert states == [("guest_memory_low", "pending"), ("guest_memory_low", "firing"), ("guest_memory_low", "resolved")]


def test_replay_of_a_file_with_no_recorded_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are\nnot recorded lines\n")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "replay", str(path), "--config", str(SCENARIOS / "data_on_mnt_c.toml")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert f"{path}:1: line skipped: not JSON" in done.stderr
    assert done.stderr.endswith(f"wslwatch: {path}: no recorded line in it; give a file written by `wslwatch record`\n")
    assert "Traceback" not in done.stderr


def test_the_cli_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nope.jsonl"), "--config", str(SCENARIOS / "data_on_mnt_c.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_readmes_record_and_replay_commands(tmp_path: Path) -> None:
    """The README's `wslwatch record` and `wslwatch replay` lines, verbatim (the user's config
    in its usual place): the real daemon's collectors record, and the file replays."""
    config = tmp_path / "xdg-config/wslwatch/wslwatch.toml"
    config.parent.mkdir(parents=True)
    # no VM process to watch here: the guest rules need it not known to be stopped
    config.write_text(
        "[exporter]\nport = 0\n[collectors.host_memory]\ninterval_s = 0.2\n"
        "[collectors.wsl_guest]\ninterval_s = 0.2\n[collectors.vmmem]\nenabled = false\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(config.parent.parent)}
    record = shlex.split(readme_command("wslwatch record"), comments=True)
    out = tmp_path / record[-1]
    proc = subprocess.Popen(record, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        # three lines, one of them with a guest reading (who holds the memory makes that read the slowest)
        while time.monotonic() < deadline and not (
            out.exists()
            and len(out.read_text().splitlines()) >= 3
            and "wslwatch_guest_memory_available_bytes" in out.read_text()
        ):
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    frames = list(read_frames(out.read_text().splitlines(), str(out)))
    assert len(frames) >= 3
    assert any(s.name == "wslwatch_host_memory_total_bytes" for s in frames[-1].samples)
    # a guest-memory line no machine is above: the alert fires from the first guest reading
    (tmp_path / "strict.toml").write_text(
        "[collectors.vmmem]\nenabled = false\n"
        "[rules.guest_memory_low]\navailable_ratio = 0.99\nclear_available_ratio = 1.0\nfor_s = 0\n"
    )
    done = subprocess.run(
        shlex.split(readme_command("wslwatch replay"), comments=True),
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first = next(f.t for f in frames if any(s.name == "wslwatch_guest_memory_available_bytes" for s in f.samples))
    transitions = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(t["rule"], t["state"], t["t"]) for t in transitions] == [("guest_memory_low", "firing", first)]


def test_an_overlong_line_is_skipped_without_being_held_whole(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A 200 MB line once cost 2 GB in replay; a line over MAX_LINE_CHARS is now read in bounded
    pieces, skipped by name, and the lines after it are read."""
    from wslwatch.exporters.recording import MAX_LINE_CHARS, bounded_lines

    path = tmp_path / "long.jsonl"
    filler = ",".join(['{"name": "x", "labels": {}, "value": 1}'] * (MAX_LINE_CHARS // 40 + 10))
    path.write_text(f'{GOOD}\n{{"t": 6, "samples": [{filler}]}}\n{GOOD.replace("5", "7")}\n')
    with path.open() as stream:
        lines = list(bounded_lines(stream))
        frames = list(read_frames(lines, str(path)))
    assert max(len(line) for line in lines) == MAX_LINE_CHARS + 1
    assert [frame.t for frame in frames] == [5, 7]
    assert f"{path}:2: line skipped: longer than 8 MiB, which no recorded line is" in caplog.text


def test_a_sample_that_is_not_a_finite_number_is_left_out_not_the_line(tmp_path: Path) -> None:
    """A collector's NaN would make the whole line unreadable to replay and report; only the
    sample is left out of the recording."""
    store, out = live_store_with_recorder(tmp_path)
    samples = [Sample("wslwatch_host_memory_total_bytes", {}, 32.0, T0), Sample("wslwatch_gpu_power_watts", {}, float("nan"), T0)]
    store.record("mixed", samples, T0, 0.0)
    (frame,) = read_frames(out.read_text().splitlines(), str(out))
    assert [s.name for s in frame.samples] == ["wslwatch_host_memory_total_bytes"]
