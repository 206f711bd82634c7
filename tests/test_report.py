"""`wslwatch report`: a recorded session in, a PNG out; the picture is checked pixel by pixel."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from rigs.session import ALERTS, START, session_lines
from wslwatch.daemon.cli import main
from wslwatch.config import Config
from wslwatch.daemon.cmd_report import parse_duration, replayed_alerts
from wslwatch.daemon.history_file import HistoryFile, history_path
from wslwatch.store import Store
from wslwatch.core import Alert, Sample
from wslwatch.exporters.recording import read_recording
from wslwatch.exporters.report import BACKGROUND, NAMES, SEVERITY_COLOURS, Layout, panels_of, render

RGB = tuple[int, int, int]


@pytest.fixture(scope="module")
def session_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("session") / "session.jsonl"
    path.write_text("\n".join(session_lines()) + "\n")
    return path


@pytest.fixture(scope="module")
def picture(session_file: Path) -> tuple[Image.Image, Layout]:
    return render(read_recording([session_file], NAMES), (1000, 760))


def _region(image: Image.Image, layout: Layout, top: int, bottom: int) -> Counter[RGB]:
    raw = iter(image.crop((layout.left + 1, top + 1, layout.right - 1, bottom - 1)).tobytes())
    return Counter(zip(raw, raw, raw))


def test_the_picture_has_the_requested_size(picture: tuple[Image.Image, Layout]) -> None:
    image, layout = picture
    assert image.size == (1000, 760)
    assert image.mode == "RGB"
    assert layout.strip[1] < layout.panels[0][0] < layout.panels[1][0] < layout.panels[2][0] <= 760


def test_every_panel_shows_its_series_in_their_colours(
    session_file: Path, picture: tuple[Image.Image, Layout]
) -> None:
    image, layout = picture
    panels = panels_of(read_recording([session_file], NAMES))
    for panel, (top, bottom) in zip(panels, layout.panels):
        pixels = _region(image, layout, top, bottom)
        area = sum(pixels.values())
        assert pixels[BACKGROUND] < area * 0.9, f"{panel.title}: nothing drawn"
        for line in panel.lines:
            if not line.dashed:
                assert pixels[line.colour] > 40, f"{panel.title}: no pixel of {line.label} {line.colour}"
        for filled in panel.areas:
            assert pixels[filled.colour] > area * 0.03, f"{panel.title}: {filled.label} barely visible"


def test_alert_markers_sit_at_their_times_in_their_severity_colour(
    session_file: Path, picture: tuple[Image.Image, Layout]
) -> None:
    image, layout = picture
    recording = read_recording([session_file], NAMES)
    assert [(a.rule, a.severity) for a in recording.alerts] == [
        (w.rule, w.severity) for w in sorted(ALERTS, key=lambda w: w.start_min)
    ]
    for alert, (row_top, row_bottom) in zip(recording.alerts, layout.alert_rows):
        window = next(w for w in ALERTS if (w.rule, w.severity) == (alert.rule, alert.severity))
        y = (row_top + row_bottom) // 2
        inside = layout.x_of(START + 60 * (window.start_min + window.end_min) / 2)
        before = layout.x_of(START + 60 * window.start_min) - 4
        colour = SEVERITY_COLOURS[window.severity]
        # a few pixels of the bar's middle, clear of its label's text
        assert Counter(image.getpixel((round(inside) + dx, row_top + 2)) for dx in range(-3, 4)).most_common(1)[0][0] == colour
        assert image.getpixel((round(before), row_top + 2)) == BACKGROUND, f"{alert.rule} starts too early"
        assert row_top < y < row_bottom


def test_alerts_at_the_same_time_get_their_own_rows(session_file: Path, picture: tuple[Image.Image, Layout]) -> None:
    _, layout = picture
    alerts = read_recording([session_file], NAMES).alerts
    rows = {(a.rule, a.severity): row for a, row in zip(alerts, layout.alert_rows)}
    assert len(set(rows.values())) == 3  # at most three fire at once (minutes 58 to 64)
    assert rows[("vram_high", "critical")] != rows[("vram_high", "warning")]
    assert rows[("guest_swap_thrash", "warning")] not in (rows[("vram_high", "critical")], rows[("vram_high", "warning")])
    assert rows[("vm_not_releasing", "warning")] == rows[("vram_high", "warning")]  # one after the other: reused


def test_panels_are_tinted_while_an_alert_fires(picture: tuple[Image.Image, Layout]) -> None:
    image, layout = picture
    critical = next(w for w in ALERTS if w.severity == "critical")
    x = round(layout.x_of(START + 60 * (critical.start_min + critical.end_min) / 2))
    top = layout.panels[1][0]
    column = Counter(image.getpixel((x + dx, top + 3)) for dx in range(-2, 3))
    tint = column.most_common(1)[0][0]
    assert tint != BACKGROUND
    red = SEVERITY_COLOURS["critical"]
    assert isinstance(tint, tuple) and tint[0] > tint[1] and tint[0] > tint[2]  # a light red
    assert all(abs(t - (0.16 * c + 0.84 * 255)) <= 2 for t, c in zip(tint, red))


def test_a_record_file_without_alerts_is_judged_by_the_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`record` files carry no alerts: the report replays the real rules over them, and they find
    the alerts the session's story holds (the same ones the daemon's history records)."""
    lines = []
    for line in session_lines():
        frame = json.loads(line)
        frame["samples"] = [s for s in frame["samples"] if s["name"] != "wslwatch_alert_firing"]
        lines.append(json.dumps(frame))
    path = tmp_path / "recorded.jsonl"
    path.write_text("\n".join(lines) + "\n")

    spans = replayed_alerts([path], Config(), START + 120 * 60)
    assert main(["report", "--from", str(path), "-o", str(tmp_path / "r.png")]) == 0

    found = sorted((a.rule, a.severity, (a.start - START) / 60, (a.end - START) / 60) for a in spans)
    assert found == sorted((w.rule, w.severity, w.start_min, w.end_min) for w in ALERTS)
    assert "5 alerts, replayed with the rules in force" in capsys.readouterr().out


def test_missing_data_is_a_gap_not_a_zero(session_file: Path, picture: tuple[Image.Image, Layout]) -> None:
    """The VM starts at minute 3: before that no working-set line, not a line at 0."""
    image, layout = picture
    vm_colour = next(l.colour for l in panels_of(read_recording([session_file], NAMES))[0].lines if "VM" in l.label)
    top, bottom = layout.panels[0]
    early = round(layout.x_of(START + 60))
    later = round(layout.x_of(START + 5 * 60))
    early_column = {image.getpixel((early, y)) for y in range(top + 20, bottom)}
    later_column = {image.getpixel((later, y)) for y in range(top + 20, bottom)}
    assert vm_colour not in early_column
    assert vm_colour in later_column


def test_a_session_without_gpu_says_so(tmp_path: Path) -> None:
    lines = []
    for line in session_lines(minutes=20):
        frame = json.loads(line)
        frame["samples"] = [s for s in frame["samples"] if not s["name"].startswith(("wslwatch_gpu_", "wslwatch_alert"))]
        lines.append(json.dumps(frame))
    path = tmp_path / "no-gpu.jsonl"
    path.write_text("\n".join(lines) + "\n")
    image, layout = render(read_recording([path], NAMES), (900, 700))
    top, bottom = layout.panels[1]
    pixels = _region(image, layout, top, bottom)
    assert pixels[BACKGROUND] > sum(pixels.values()) * 0.97  # only the grid and the "no GPU data" words
    assert len(pixels) > 2  # the words are there


def test_since_keeps_the_last_part_and_unreadable_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(session_lines()) + '\n{"t": 1, "samples": [{"name": "wslwa')  # a crash mid-line
    recording = read_recording([path], NAMES, since_s=30 * 60)
    assert recording.bad_lines == 1
    assert recording.end == START + 120 * 60
    assert recording.start == START + 90 * 60
    assert {a.rule for a in recording.alerts} == {"vram_held_idle", "vm_not_releasing"}
    held = next(a for a in recording.alerts if a.rule == "vram_held_idle")
    window = next(w for w in ALERTS if w.rule == "vram_held_idle")
    assert (held.start, held.end) == (START + window.start_min * 60, START + 120 * 60)  # still firing at the end


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5d", 129600), ("45", 45)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "-1h", "0m", "h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


# --- the daemon's rolling history -----------------------------------------------------------------


def test_history_file_records_the_store_at_most_every_interval(tmp_path: Path) -> None:
    store = Store()
    history = HistoryFile(tmp_path / "history.jsonl", interval_s=15)
    store.subscribe(history.on_snapshot)
    for i in range(60):  # a collector every 5 s for 5 min
        now = START + 5 * i
        store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, 64.0 * 2**30, now)], now, 0.001)
    history.close()

    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == 20
    first = json.loads(lines[0])
    assert first == {"t": START, "samples": [{"name": "wslwatch_host_memory_total_bytes", "labels": {}, "value": 64.0 * 2**30}]}
    assert read_recording([tmp_path / "history.jsonl"], NAMES).times == [START + 15 * i for i in range(20)]


def test_history_file_records_the_alerts_firing_at_each_moment(tmp_path: Path) -> None:
    firing = Alert("vram_high", "critical", "firing", {"gpu": "0", "uuid": "GPU-1"}, "VRAM 98 %", START)
    pending = Alert("guest_memory_low", "warning", "pending", {}, "guest 8 % free", START)
    current: list[Alert] = []
    store = Store()
    history = HistoryFile(tmp_path / "history.jsonl", interval_s=15, alerts=lambda: current)
    store.subscribe(history.on_snapshot)
    for i, alerts in enumerate(([], [firing, pending], [firing], [])):
        current[:] = alerts
        now = START + 15 * i
        store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, 1.0, now)], now, 0.001)
    history.close()

    recording = read_recording([tmp_path / "history.jsonl"], NAMES)
    assert recording.alert_samples == 2
    assert [(a.rule, a.severity, dict(a.labels), a.start, a.end) for a in recording.alerts] == [
        ("vram_high", "critical", {"rule": "vram_high", "severity": "critical", "gpu": "0", "uuid": "GPU-1"}, START + 15, START + 45)
    ]


def test_history_file_keeps_two_bounded_files(tmp_path: Path) -> None:
    store = Store()
    history = HistoryFile(tmp_path / "history.jsonl", interval_s=1, max_bytes=4000)
    store.subscribe(history.on_snapshot)
    for i in range(400):
        now = START + i
        store.record("host_memory", [Sample("wslwatch_host_memory_total_bytes", {}, float(i), now)], now, 0.001)
    history.close()

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["history.jsonl", "history.jsonl.1"]
    assert all(p.stat().st_size < 4000 + 200 for p in tmp_path.iterdir())
    recording = read_recording([tmp_path / "history.jsonl.1", tmp_path / "history.jsonl"], NAMES)
    assert recording.end == START + 399  # the newest moment survives rotation
    assert recording.times == sorted(recording.times)


# --- the command ----------------------------------------------------------------------------------


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wslwatch", "report", *args], capture_output=True, text=True, timeout=60)


def test_report_from_a_record_file_writes_a_png(session_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    done = _report("--from", str(session_file), "--since", "1h", "-o", str(out), "--size", "800x600")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out} (241 moments, 5 alerts)\n"
    with Image.open(out) as image:
        assert (image.format, image.size) == ("PNG", (800, 600))


def test_report_from_the_daemons_history(own_state_dir: Path, session_file: Path, tmp_path: Path) -> None:
    path = history_path(own_state_dir / "wslwatch")
    path.parent.mkdir(parents=True)
    path.write_text(session_file.read_text())
    out = tmp_path / "r.png"
    assert main(["report", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000


def test_report_without_history_says_where_it_looked(
    own_state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "-o", str(tmp_path / "never.png")]) == 2
    assert f"no history in {own_state_dir / 'wslwatch'} yet" in capsys.readouterr().err
    assert not (tmp_path / "never.png").exists()


def test_report_of_an_empty_file_draws_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["report", "--from", str(empty), "-o", str(tmp_path / "r.png")]) == 2
    assert "no samples in" in capsys.readouterr().err and not (tmp_path / "r.png").exists()


def test_the_report_names_who_held_the_most_at_its_peak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The scenario's container grows from 3.6 to 14.1 GiB (4 GiB + 45 min of 240 MiB, less 0.4 GiB)
    before the OOM kill; the report names it at that peak, not at the end of the file."""
    scenario = Path(__file__).resolve().parent / "scenarios" / "guest_memory_leak.jsonl"
    assert main(["report", "--from", str(scenario), "-o", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  largest guest memory, by cgroup, at its peak: container qdrant 14.1 GiB" in out
    assert "  largest guest memory, by process, at its peak: qdrant (pid 4242) 14.0 GiB" in out
