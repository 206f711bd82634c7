"""The probe against a real slow filesystem (FUSE): injected delays, genuine hangs, recovery.

The rig (`rigs/slowfs.py`) mounts a passthrough that delays chosen FUSE operations or
leaves them unanswered, so a hang here is a real kernel-level stall (state D), not a mock.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from rigs.slowfs_rig import SlowFsMount
from wslwatch.collectors._probe_child import AREA
from wslwatch.collectors.io_latency import IoLatencyCollector
from wslwatch.collectors.probe import PathProber, plan_samples
from wslwatch.config.schema import Config, ExporterConfig
from wslwatch.daemon.app import Daemon
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store

pytestmark = pytest.mark.rig

DELAY_MS = 20.0


def p50s(mount: SlowFsMount, samples: dict[str, int]) -> dict[str, float]:
    """Median seconds per operation of one probe of the mount."""
    result = PathProber(str(mount.mountpoint)).probe(samples, gap_s=0.005, deadline_s=30.0)
    assert result.status == "ok", result.reason
    return {op: statistics.median(values) for op, values in result.latencies.items()}


@pytest.mark.parametrize(
    ("slowed", "round_trips"),
    [
        (["getattr"], {"stat_dir": 1, "read_uncached": 0, "read_cached": 0}),
        (["read"], {"read_uncached": 1, "read_cached": 1, "read_direct": 1, "stat_dir": 0}),
        (["write", "fsync"], {"write_sync": 2, "read_uncached": 0, "stat_dir": 0}),
        # create_fsync's sync reaches the filesystem: one fsync request per file
        (["fsync"], {"create_fsync": 1, "unlink": 0, "stat_dir": 0}),
    ],
)
def test_an_injected_delay_shows_in_the_operations_that_make_those_requests(
    slowfs: SlowFsMount, slowed: list[str], round_trips: dict[str, int]
) -> None:
    plan = dict.fromkeys(round_trips, 5)
    base = p50s(slowfs, plan)
    slowfs.set(DELAY_MS, ops=slowed)
    slow = p50s(slowfs, plan)
    for op, trips in round_trips.items():
        took_ms, base_ms, expected = slow[op] * 1000, base[op] * 1000, trips * DELAY_MS
        # every delayed request sleeps at least DELAY_MS; a loaded machine can only add to that
        assert expected <= took_ms <= 1.25 * expected + base_ms + 5.0, f"{op}: {took_ms:.2f} ms, expected {expected:g} + {base_ms:.2f} ms"


def test_the_exported_latencies_are_seconds(slowfs: SlowFsMount) -> None:
    slowfs.set(DELAY_MS, ops=["getattr"])  # stat_dir: one getattr request, >= 20 ms
    collector = IoLatencyCollector(str(slowfs.mountpoint), samples=3, gap_s=0.0)
    samples = [s for s in collector.collect(time.time()) if s.labels.get("op") == "stat_dir"]
    collector.close()
    value = {(s.name, s.labels.get("le", "")): s.value for s in samples}
    count = value[("wslwatch_path_io_latency_seconds_count", "")]
    mean_s = value[("wslwatch_path_io_latency_seconds_sum", "")] / count
    assert count == 3 and DELAY_MS / 1000 <= mean_s <= 1.25 * DELAY_MS / 1000 + 0.05, mean_s
    # every sample lies between 10 ms and 250 ms (in milliseconds they would all be past the last bound)
    assert value[("wslwatch_path_io_latency_seconds_bucket", "0.01")] == 0
    assert value[("wslwatch_path_io_latency_seconds_bucket", "0.25")] == count


def _probe_children() -> dict[int, str]:
    """Live probe processes under this one: pid -> the path each probes."""
    found = {}
    for process in psutil.Process().children(recursive=True):
        try:
            command = process.cmdline()
        except psutil.Error:  # it ended meanwhile
            continue
        if len(command) > 1 and command[-2].endswith("_probe_child.py"):
            found[process.pid] = json.loads(command[-1])["path"]
    return found


def _wait(condition, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_hang_is_reported_stalled_in_time_and_the_stuck_child_does_not_pile_up(
    slowfs: SlowFsMount, caplog: pytest.LogCaptureFixture
) -> None:
    collector = IoLatencyCollector(str(slowfs.mountpoint), interval_s=5.0, samples=2, gap_s=0.0, deadline_s=1.5)
    assert _status(collector.collect(time.time())) == "ok"
    slowfs.set(ops=["readdir"], hang=True)

    started = time.monotonic()
    samples = collector.collect(time.time())
    took = time.monotonic() - started
    assert _status(samples) == "stalled"
    assert 1.5 <= took < 3.0, f"stalled after {took:.2f}s with a 1.5s deadline"
    stuck = collector.stuck_pid
    assert stuck is not None
    time.sleep(0.3)
    assert psutil.pid_exists(stuck) and psutil.Process(stuck).status() != psutil.STATUS_ZOMBIE  # SIGKILL cannot end it
    assert any(s.name == "wslwatch_path_info" and s.labels["kind"] == "fuse" for s in samples)

    for _ in range(3):  # later cycles start nothing while the stuck child lives
        started = time.monotonic()
        assert _status(collector.collect(time.time())) == "stalled"
        assert time.monotonic() - started < 0.5
        assert list(_probe_children()) == [stuck]
    stalls = [r for r in caplog.records if r.levelno == logging.WARNING and "stalled" in r.getMessage()]
    assert len(stalls) == 1, "one warning for one stall, not one per cycle as its age grows"

    slowfs.set()  # answer the stuck request: the pending SIGKILL takes effect
    assert _wait(lambda: collector.stuck_pid is None)
    samples = collector.collect(time.time())
    assert _status(samples) == "ok"
    assert _probe_children() == {}
    collector.close()
    assert not (slowfs.backing / AREA).exists()


def test_the_stalled_operation_is_named(slowfs: SlowFsMount) -> None:
    prober = PathProber(str(slowfs.mountpoint))
    prober.probe(plan_samples(1), gap_s=0.0, deadline_s=10.0)  # the work area exists
    slowfs.set(ops=["unlink"], hang=True)
    started = time.monotonic()
    result = prober.probe(plan_samples(1), gap_s=0.0, deadline_s=1.5)
    assert (result.status, result.in_flight) == ("stalled", "unlink")
    assert result.reason == "no answer within 1.5s (stuck in unlink); the probe process was killed"
    assert result.latencies["create_fsync"]  # what finished before the hang is kept
    time.sleep(1.0)
    again = prober.probe(plan_samples(1), gap_s=0.0, deadline_s=1.5)  # the stuck child still holds it
    ago = round(time.monotonic() - started)
    assert (again.status, again.in_flight) == ("stalled", "unlink")
    assert again.reason in {
        f"the probe started {seconds}s ago is still stuck in unlink; no new probe starts until it ends"
        for seconds in (ago - 1, ago, ago + 1)
    }, again.reason
    slowfs.set()
    assert _wait(lambda: prober.stuck_pid is None)


def test_cli_probe_of_a_hung_mount_ends_at_its_deadline(slowfs: SlowFsMount) -> None:
    """`wslwatch probe` returns with `stalled` while its killed child is still stuck in the kernel:
    nothing waits for that child, not even the interpreter's exit."""
    slowfs.set(hang=True)
    command = [sys.executable, "-m", "wslwatch", "probe", "--json", "--timeout", "1.5", str(slowfs.mountpoint)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        (path,) = json.loads(done.stdout)["paths"]
        assert path["status"] == "stalled", path
        assert _probes_of(slowfs), "its child is still stuck: the command did not wait for it"
    finally:
        slowfs.set()
    assert _wait(lambda: not _probes_of(slowfs))


def _probes_of(mount: SlowFsMount) -> list[int]:
    """Live probe processes of `mount`, whoever started them (a command's stuck child outlives it)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        command = process.info["cmdline"] or []
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(part.endswith("_probe_child.py") for part in command):
            if str(mount.mountpoint) in command[-1]:
                found.append(process.info["pid"])
    return found


def _status(samples) -> str:  # type: ignore[no-untyped-def]
    (current,) = [s.labels["status"] for s in samples if s.name == "wslwatch_path_probe_status" and s.value == 1]
    return current


def _scrape(url: str) -> tuple[str, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode(), time.monotonic() - started


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_daemon_keeps_serving_and_probing_other_paths_while_one_hangs(
    slowfs: SlowFsMount, tmp_path: Path
) -> None:
    healthy = tmp_path / "healthy"
    healthy.mkdir()
    hung = str(slowfs.mountpoint)
    config = Config(exporter=ExporterConfig(bind="127.0.0.1", port=0))
    store = Store()
    collectors = [
        IoLatencyCollector(str(healthy), interval_s=1.0, samples=1, gap_s=0.0, deadline_s=0.7),
        IoLatencyCollector(hung, name="fuse", interval_s=1.0, samples=1, gap_s=0.0, deadline_s=0.7),
    ]
    runners = [CollectorRunner(c, store, c.interval_s) for c in collectors]  # the runner's deadline is only a backstop
    daemon = Daemon.create(config, store=store, runners=runners)
    server = daemon.start()
    url = server.url
    try:
        assert _wait(lambda: _metric(_scrape(url)[0], "wslwatch_path_probe_status", path=hung, status="ok") == 1)
        slowfs.set(hang=True)
        assert _wait(lambda: _metric(_scrape(url)[0], "wslwatch_path_probe_status", path=hung, status="stalled") == 1)
        last_ok = _metric(_scrape(url)[0], "wslwatch_path_probe_last_success_timestamp_seconds", path=str(healthy))
        slowest = 0.0
        for _ in range(13):  # over a second of scrapes while the hang lasts
            text, took = _scrape(url)
            slowest = max(slowest, took)
            assert len([pid for pid, path in _probe_children().items() if path == hung]) <= 1
            time.sleep(0.1)
        assert slowest < 0.5
        assert _metric(text, "wslwatch_path_probe_status", path=hung, status="stalled") == 1
        assert _metric(text, "wslwatch_collector_up", collector="io_latency:fuse") == 1
        assert (_metric(text, "wslwatch_path_probe_last_success_timestamp_seconds", path=str(healthy)) or 0) > (last_ok or 0)
        slowfs.set()
        assert _wait(lambda: _metric(_scrape(url)[0], "wslwatch_path_probe_status", path=hung, status="ok") == 1, 6.0)
    finally:
        slowfs.set()
        daemon.stop()
    assert not (healthy / AREA).exists() and not (slowfs.backing / AREA).exists()


def test_the_probe_writes_only_inside_its_area_and_leaves_nothing(slowfs: SlowFsMount) -> None:
    (slowfs.backing / "dataset").mkdir()
    (slowfs.backing / "dataset" / "shard0.bin").write_bytes(b"\x00" * 4096)
    collector = IoLatencyCollector(str(slowfs.mountpoint), samples=2, gap_s=0.0)
    assert _status(collector.collect(time.time())) == "ok"
    assert _status(collector.collect(time.time())) == "ok"
    collector.close()
    written = slowfs.written_paths()
    assert written and all(path == f"/{AREA}" or path.startswith(f"/{AREA}/") for path in written)
    assert f"/{AREA}" in written  # made, then removed (rmdir is logged with the same path)
    assert sorted(p.name for p in slowfs.backing.rglob("*")) == ["dataset", "shard0.bin"]


def test_cli_probe_shows_the_rig_far_slower_with_its_kind(slowfs: SlowFsMount, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    slowfs.set(3.0)
    command = [sys.executable, "-m", "wslwatch", "probe", "--samples", "2", "--interval", "0"]
    done = subprocess.run([*command, "--json", str(local), str(slowfs.mountpoint)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    fast, slow = json.loads(done.stdout)["paths"]
    assert (slow["kind"], slow["fstype"], slow["mountpoint"]) == ("fuse", "fuse.slowfs", str(slowfs.mountpoint))
    for op in ("stat_dir", "open_close"):  # ~20 µs on a local disk, >= 3 ms per request on the rig
        assert slow["ops"][op]["p50_s"] > 10 * fast["ops"][op]["p50_s"], op
    assert slow["ops"]["create_fsync"]["p50_s"] > fast["ops"]["create_fsync"]["p50_s"]
    table = subprocess.run([*command, str(local), str(slowfs.mountpoint)], capture_output=True, text=True, timeout=60)
    assert f"{slowfs.mountpoint} is " in table.stdout and "slower than" in table.stdout
    assert "fuse" in table.stdout.splitlines()[1]
    assert sorted(p.name for p in slowfs.backing.iterdir()) == []


def test_a_file_in_use_at_cleanup_keeps_the_timings_and_the_next_probe_removes_it(slowfs: SlowFsMount) -> None:  # noqa: F811
    """On Windows an antivirus scanning a new file holds it, and deleting it fails ("in use"):
    here the filesystem refuses the unlink the same way (EACCES, as ERROR_SHARING_VIOLATION
    reaches Python). The files are left, the timings stand; the next probe removes them."""
    prober = PathProber(str(slowfs.mountpoint))
    plan = {"create_fsync": 2}  # no timed unlink: create_fsync's files are all removed at cleanup
    slowfs.set(ops=["unlink"], fail={"unlink": "EACCES"})
    held = prober.probe(plan, gap_s=0.0, deadline_s=10.0)
    assert held.status == "ok", held.reason
    assert len(held.latencies["create_fsync"]) == 2
    left = sorted(p.name for p in (slowfs.backing / AREA).iterdir() if p.name.startswith("c-"))
    assert len(left) == 3, "the warmup's file and the two timed ones are left"
    assert [note for note in held.notes if note.startswith("could not remove c-")] == [
        f"could not remove {name} from the probe directory" for name in left
    ]

    slowfs.set()
    again = prober.probe(plan, gap_s=0.0, deadline_s=10.0)
    assert again.status == "ok", again.reason
    assert not [p for p in (slowfs.backing / AREA).iterdir() if p.name.startswith("c-")]
