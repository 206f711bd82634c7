"""The benchmarks still run: `benchmarks/run.py --quick` end to end, its tables checked (no timings)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rigs import need

ROOT = Path(__file__).resolve().parents[1]
COLLECTORS = ("host_memory", "vmmem", "wsl_guest", "gpu", "wslconfig", "wsl_version", "process")


def rows(markdown: str, title_start: str) -> list[list[str]]:
    """The cells of every row of the table whose heading starts with `title_start`."""
    _, heading, rest = markdown.partition(f"### {title_start}")
    assert heading, f"no table titled {title_start!r} in:\n{markdown}"
    table = rest.split("\n\n", 2)[1]
    lines = table.splitlines()[2:]  # after the header and the |---| line
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


@pytest.mark.rig
def test_quick_run_produces_every_table_and_appends_one_dated_section(tmp_path: Path) -> None:
    need(shutil.which("gcc") is not None, "gcc to build the fake NVML library")
    need(os.path.exists("/usr/bin/prometheus-node-exporter"), "Debian's prometheus-node-exporter")
    need(bool(shutil.which("Xvfb") and shutil.which("trayer")), "Xvfb and trayer (the tray's footprint)")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nWritten by hand.\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--minutes", "0.1",
         "--no-install", "--no-glances", "--doc", str(doc)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nWritten by hand.\n")
    assert len(re.findall(r"^## Benchmark run .*, \d{4}-\d\d-\d\d \d\d:\d\d", text, re.M)) == 1
    assert "- machine: " in text and "load average" in text

    passes = rows(text, "Collection cost: CPU per pass")
    assert [row[0] for row in passes if "full pass" not in row[0]] == list(COLLECTORS)
    assert any("rules engine" in row[0] for row in passes)
    assert all(re.fullmatch(r"[\d,]+ µs", row[1]) for row in passes)
    variants = {row[0]: row for row in rows(text, "Collection cost: variants")}
    read = variants["**one holders read** (the difference of the medians)"]
    assert re.fullmatch(r"-?[\d,]+ µs", read[1]) and re.search(r"every 120 s: -?[\d,]+ µs per second", read[5])

    scrape = {(row[0], row[1]): row for row in rows(text, "Scrape latency")}
    assert set(scrape) >= {("wslwatch", "plain"), ("wslwatch", "gzip"), ("node_exporter", "plain"),
                           ("**node_exporter ÷ wslwatch**", "plain")}  # fmt: skip
    assert int(scrape[("wslwatch", "plain")][2]) > 40, "every catalogued series of a complete pass is scraped"
    assert re.fullmatch(r"[\d.]+×", scrape[("**node_exporter ÷ wslwatch**", "plain")][4])

    footprint = {row[0]: row for row in rows(text, "Footprint")}
    assert {"wslwatch --headless", "node_exporter", "**node_exporter ÷ wslwatch --headless**"} <= set(footprint)
    assert re.fullmatch(r"[\d.]+ MB", footprint["wslwatch --headless"][1])
    assert "glances not measured: left out (--no-glances)" in text
    assert re.fullmatch(r"[\d.]+ MB", footprint["wslwatch with tray"][1])
    assert "ran without a tray icon" not in text

    startup = {row[0]: row for row in rows(text, "Start-up")}
    assert re.fullmatch(r"[\d.]+ s", startup["**wslwatch: every collector reported once**"][1])
    commands = {row[0]: row for row in rows(text, "Imports per command")}
    assert commands["wslwatch run --headless"][-1] == "ok", "no Pillow or pystray without the tray"
    assert rows(text, "Import time of `wslwatch run --headless`")
    memory = {row[0]: row[1] for row in rows(text, "Resident memory of `wslwatch run --headless`'s imports")}
    assert {"the interpreter (nothing imported)", "wslwatch", "pynvml", "apscheduler"} <= set(memory)
    assert all(re.fullmatch(r"[\d.]+ MB", cell) for cell in memory.values())

    scale = {row[0]: row for row in rows(text, "Scale")}
    assert set(scale) == {"0", "1"}, "the quick run scales from 0 to 1 probed path"
    assert 0 < int(scale["1"][2]) <= 60, "one probed path adds at most 60 series"
    assert re.fullmatch(r"[\d.]+ ms", scale["1"][3]) and re.fullmatch(r"[\d.]+ MB", scale["1"][8])


def test_the_interop_read_benchmark_runs_and_names_what_it_could_not_measure() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "windows_view.py"), "--reads", "3", "--no-doc"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = rows(done.stdout, "Windows host through interop")
    assert [row[0] for row in table] == [
        "wslwatch (spawn, pipe, parse)", "the started program (stand-in)", "wall time per read",
    ]  # fmt: skip
    assert "Not measured (no Windows here)" in done.stdout
