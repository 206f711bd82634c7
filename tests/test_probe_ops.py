"""The probe child's operations and timing, read from its own event stream on real directories.

Covers what `collectors/_probe_child.py` does once its work area is open: the order and
numbering of the samples, the pauses between them and the time budget, the work file it
prepares (size, reuse, refill, leftovers of dead probes, a full disk), whether the uncached
reads really are uncached (the `cached` flag and `cache_illusions`, checked against the real
page cache: ext4 drops pages, ramfs cannot, a page another process maps stays), O_DIRECT where
the filesystem refuses it, the files create_fsync makes and unlink removes, and the `end`
event's byte count. The child runs in this process (`main`, its events read from fd 1); the
expectations are counted from the events and the files, never taken from the module.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from rigs import need
from wslwatch.collectors import _probe_child
from wslwatch.collectors._probe_child import main

ALL_OPS = ("stat_dir", "listdir", "open_close", "read_uncached", "read_cached", "read_direct", "write_sync", "create_fsync", "unlink")
MOVING_DATA = {"read_uncached", "read_cached", "read_direct", "write_sync", "create_fsync"}  # 4 KiB per sample
MIB = 1 << 20  # the work file: 1 MiB, ioping's default working set (docs/io-latency.md)
Events = list[dict[str, Any]]
Mount = Callable[..., Path]  # mount(fstype, options="") -> its mount point


def run(capfd: pytest.CaptureFixture[str], path: Path, **spec: Any) -> tuple[int, Events]:
    """Run one probe of `path`; its exit status and events."""
    capfd.readouterr()
    status = main(["_probe_child.py", json.dumps({"path": str(path), "gap_s": 0.0, **spec})])
    return status, [json.loads(line) for line in capfd.readouterr().out.splitlines()]


def done(events: Events, op: str) -> Events:
    return [e for e in events if e["ev"] == "done" and e["op"] == op]


def indices(events: Events, op: str) -> list[tuple[int, bool]]:
    return [(e["i"], e["warmup"]) for e in done(events, op)]


def end(events: Events) -> dict[str, Any]:
    assert events[-1]["ev"] == "end", events[-3:]
    return events[-1]


def area(path: Path) -> Path:
    return path / ".wslwatch-probe"


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Mount]:
    """`mount(fstype, options)`: a fresh filesystem of that type under tmp_path, unmounted after."""
    points: list[Path] = []

    def make(fstype: str, options: str = "") -> Path:
        point = tmp_path / f"{fstype}{len(points)}"
        point.mkdir()
        command = ["mount", "-t", fstype, *(["-o", options] if options else []), fstype, str(point)]
        need(os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0, f"{fstype} mount: needs root")
        points.append(point)
        return point

    yield make
    for point in points:
        subprocess.run(["umount", str(point)], check=True)


# --- the stream: order, numbering, bytes ------------------------------------------------------


def test_every_operation_streams_its_samples_in_order_and_the_bytes_moved_add_up(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status, events = run(capfd, tmp_path, samples={op: 3 for op in ALL_OPS})  # tmp_path: ext4 here
    assert status == 0, events
    assert events[:4] == [
        {"ev": "start", "op": "resolve", "i": 0},
        {"ev": "place", "realpath": str(tmp_path)},
        {"ev": "start", "op": "prepare", "i": 0},
        {"ev": "ready"},
    ]
    assert not [e for e in events if e["ev"] in ("skip", "note", "error")]  # ext4 allows every operation
    timed = events[4:-1]
    assert [e["op"] for e in timed[::2]] == [op for op in ALL_OPS for _ in range(4)]  # start, done, start, done…
    for start, sample in zip(timed[::2], timed[1::2]):
        assert (start["ev"], sample["ev"], start["i"]) == ("start", "done", sample["i"])
        assert isinstance(sample["ns"], int) and sample["ns"] > 0
    for op in ALL_OPS:
        assert indices(events, op) == [(0, True), (1, False), (2, False), (3, False)]
    assert all(e["cached"] is False for e in done(events, "read_uncached"))  # ext4 drops clean pages
    data_samples = sum(1 for e in events if e["ev"] == "done" and e["op"] in MOVING_DATA)
    assert end(events) == {"ev": "end", "readonly": False, "bytes": 4096 * data_samples, "cache_illusions": 0, "left": []}
    assert sorted(os.listdir(area(tmp_path))) == ["entry0", "entry1", "entry2", "entry3", "work.bin"]  # kept by default
    assert (area(tmp_path) / "work.bin").stat().st_size == MIB


def test_unlink_times_only_the_files_create_fsync_made(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status, events = run(capfd, tmp_path, samples={"create_fsync": 2, "unlink": 6})
    assert status == 0, events
    assert len(done(events, "create_fsync")) == 3
    assert indices(events, "unlink") == [(0, True), (1, False), (2, False)]
    assert end(events)["left"] == [] and end(events)["bytes"] == 3 * 4096
    assert not [name for name in os.listdir(area(tmp_path)) if name.startswith("c-")]


def test_files_unlink_did_not_time_are_removed_at_the_end(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status, events = run(capfd, tmp_path, samples={"create_fsync": 2})
    assert status == 0 and end(events)["left"] == []
    assert not [name for name in os.listdir(area(tmp_path)) if name.startswith("c-")]


# --- pauses and the time budget ---------------------------------------------------------------


def started_within(events: Events) -> list[tuple[str, int]]:
    return [(e["op"], e["i"]) for e in events if e["ev"] == "done"]


def test_without_a_gap_in_the_spec_samples_are_20_ms_apart(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    t0 = time.monotonic()
    assert main(["_probe_child.py", json.dumps({"path": str(tmp_path), "readonly": True, "samples": {"stat_dir": 3}})]) == 0
    elapsed = time.monotonic() - t0
    assert 3 * 0.02 <= elapsed < 0.5  # four samples, three pauses: none before the first


def test_a_spent_budget_leaves_one_measured_sample_per_operation(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status, events = run(capfd, tmp_path, readonly=True, budget_s=0.0, samples={"stat_dir": 5, "listdir": 5})
    assert status == 0
    notes = [e["what"] for e in events if e["ev"] == "note"]
    assert len(notes) == 1 and "budget" in notes[0]  # said once, for both operations
    assert indices(events, "stat_dir") == [(0, False)] and indices(events, "listdir") == [(0, False)]


def test_a_budget_spent_during_an_operation_stops_it_after_its_warmup_and_one_sample(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # 0.2 s pauses, 0.3 s budget: checked before sample 2 at 0.2 s (go on), before sample 3 at 0.4 s (stop)
    status, events = run(capfd, tmp_path, readonly=True, gap_s=0.2, budget_s=0.3, samples={"stat_dir": 5})
    assert status == 0
    assert started_within(events) == [("stat_dir", 0), ("stat_dir", 1), ("stat_dir", 2)]
    assert not [e for e in events if e["ev"] == "note"]


def test_the_first_sample_of_a_probe_is_not_paused_and_two_samples_are_always_taken(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # stat_dir: 0 at 0 s, 1 at 0.2 s; listdir starts at 0.2 s (< 0.3: its full run), its 0 at 0.4 s,
    # its 1 at 0.6 s; sample 2 is not taken, past the budget
    status, events = run(capfd, tmp_path, readonly=True, gap_s=0.2, budget_s=0.3, samples={"stat_dir": 1, "listdir": 5})
    assert status == 0
    assert started_within(events) == [("stat_dir", 0), ("stat_dir", 1), ("listdir", 0), ("listdir", 1)]
    assert indices(events, "listdir") == [(0, True), (1, False)]
    assert not [e for e in events if e["ev"] == "note"]


# --- the work file ----------------------------------------------------------------------------


def plant_area(path: Path, **files: bytes) -> Path:
    where = area(path)
    where.mkdir(mode=0o700)
    for name, content in files.items():
        (where / name).write_bytes(content)
    return where


def test_a_work_file_of_the_right_size_is_reused_as_it_is(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    content = os.urandom(MIB)
    where = plant_area(tmp_path, **{"work.bin": content})
    status, _ = run(capfd, tmp_path, samples={"read_cached": 2})
    assert status == 0
    assert (where / "work.bin").read_bytes() == content


@pytest.mark.parametrize("size", [10, 2 * MIB])
def test_a_work_file_of_another_size_is_refilled_with_random_data(tmp_path: Path, capfd: pytest.CaptureFixture[str], size: int) -> None:
    where = plant_area(tmp_path, **{"work.bin": b"\0" * size})
    status, _ = run(capfd, tmp_path, samples={"read_cached": 2})
    assert status == 0
    data = (where / "work.bin").read_bytes()
    assert len(data) == MIB
    assert data.count(0) < MIB // 128  # random bytes, not the old zeros (1/256 of them zero)


def test_files_of_dead_probes_are_removed_those_of_live_ones_kept(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    with subprocess.Popen(["sleep", "30"]) as live:
        try:
            where = plant_area(tmp_path, **{f"c-{dead.pid}-abc123-0": b"x", f"c-{live.pid}-abc123-0": b"x"})
            (where / "someone's dir").mkdir()  # not a file the probe made: left alone
            status, events = run(capfd, tmp_path, samples={"stat_dir": 1})
        finally:
            live.kill()
    assert status == 0, events
    assert sorted(os.listdir(where)) == [f"c-{live.pid}-abc123-0", "entry0", "entry1", "entry2", "entry3", "someone's dir", "work.bin"]


def test_a_full_disk_leaves_no_partial_work_file(mount: Mount) -> None:
    small = mount("tmpfs", "size=512k")
    spec = json.dumps({"path": str(small), "samples": {"stat_dir": 1}})  # its own process: it stops at the error
    child = subprocess.run([sys.executable, "-I", "-S", _probe_child.__file__, spec], capture_output=True, text=True, cwd="/")
    events = [json.loads(line) for line in child.stdout.splitlines()]
    assert child.returncode == 3
    assert events[-1]["ev"] == "error" and "No space left on device" in events[-1]["why"]
    assert not (area(small) / "work.bin").exists()


def test_an_operation_that_fails_is_skipped_and_the_probe_goes_on(mount: Mount, capfd: pytest.CaptureFixture[str]) -> None:
    full = mount("tmpfs", "size=1m")  # room for the work file and nothing more
    status, events = run(capfd, full, samples={"create_fsync": 2, "unlink": 2, "stat_dir": 1})
    assert status == 0, events
    assert [e for e in events if e["ev"] == "skip"] == [{"ev": "skip", "op": "create_fsync", "why": "No space left on device"}]
    assert done(events, "create_fsync") == []
    assert indices(events, "unlink") == [(0, True)]  # the file that could not be written is removed
    assert end(events)["left"] == [] and end(events)["bytes"] == 0


# --- the page cache ---------------------------------------------------------------------------


def test_where_the_cache_cannot_be_dropped_every_uncached_read_is_a_cache_illusion(mount: Mount, capfd: pytest.CaptureFixture[str]) -> None:
    ram = mount("ramfs")  # no backing store: pages never leave the cache, and no O_DIRECT
    status, events = run(capfd, ram, samples={"stat_dir": 2, "read_uncached": 4, "read_cached": 2})
    assert status == 0, events
    assert [e["cached"] for e in done(events, "read_uncached")] == [True] * 5
    assert end(events)["cache_illusions"] == 4  # the warmup sample is no measurement
    assert end(events)["bytes"] == 4096 * 8


def test_o_direct_refused_by_the_filesystem_skips_the_direct_reads(mount: Mount, capfd: pytest.CaptureFixture[str]) -> None:
    ram = mount("ramfs")
    status, events = run(capfd, ram, samples={"read_direct": 2})
    assert status == 0, events
    assert [e for e in events if e["ev"] == "skip"] == [{"ev": "skip", "op": "read_direct", "why": "O_DIRECT refused by this filesystem (Invalid argument)"}]
    assert done(events, "read_direct") == [] and end(events)["bytes"] == 0


def test_a_page_mapped_by_another_process_is_reported_cached(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    where = plant_area(tmp_path)
    fd = os.open(where / "work.bin", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for offset in range(0, MIB, 4096):  # page by page: small folios, each dropped on its own
            os.pwrite(fd, os.urandom(4096), offset)
        os.fsync(fd)
        half = MIB // 2
        with mmap.mmap(fd, half, offset=half, prot=mmap.PROT_READ) as pinned:  # the upper half mapped…
            for page in range(0, half, 4096):
                pinned[page]  # …and faulted in: the kernel keeps mapped pages
            status, events = run(capfd, tmp_path, samples={"read_uncached": 40})
    finally:
        os.close(fd)
    assert status == 0, events
    cached = [e["cached"] for e in done(events, "read_uncached")]
    assert True in cached and False in cached  # random offsets: both halves read (2^-40 to miss one)
    assert end(events)["cache_illusions"] == cached[1:].count(True)


def test_the_first_page_is_dropped_too(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # 1500 random offsets: the first page is among them but for a chance of 0.3 %
    status, events = run(capfd, tmp_path, samples={"read_uncached": 1500})
    assert status == 0
    assert [e["cached"] for e in done(events, "read_uncached")] == [False] * 1501
