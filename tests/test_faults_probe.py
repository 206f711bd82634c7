"""Faults under a probed path while `wslwatch run` serves: a full disk, a refused write, the
directory deleted mid-probe, SIGTERM mid-probe. The path is a real FUSE mount
(`rigs/slowfs.py`) answering chosen operations with the errno a real filesystem would.

Each test says what is lost; the answer is never more than the measurements the fault
makes impossible, and the probe's files never outlive the daemon.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon_process import DaemonProcess, Series, scrape, start_daemon
from faults import up, wait_metrics, write_fast_config
from rigs.slowfs_rig import SlowFsMount, slowfs  # noqa: F401 - the fixture
from wslwatch.collectors.probe import PathProber, plan_samples

AREA = ".wslwatch-probe"
COLLECTOR = "io_latency:data"
FULL_DISK = {"write": "ENOSPC", "create": "ENOSPC", "mkdir": "ENOSPC"}
READ_ONLY_DIRECTORY = {"mkdir": "EACCES", "create": "EACCES"}

pytestmark = pytest.mark.rig


def probe_config(tmp_path: Path, path: Path, interval_s: float = 1.0) -> Path:
    """The other collectors every 0.5 s; `path` probed every `interval_s`, one sample per operation."""
    extra = (
        "[collectors.io_latency]\nsamples = 1\nsample_gap_s = 0.0\nmax_bytes_per_s = 0\n"
        f'[[paths]]\npath = "{path}"\nname = "data"\ninterval_s = {interval_s}\n'
    )
    return write_fast_config(tmp_path / "c.toml", 0.5, extra=extra)


def count(metrics: Series, op: str) -> float:
    """How many samples of `op` the latency histogram holds (0 when it has none)."""
    return sum(v for labels, v in metrics.get("wslwatch_path_io_latency_seconds_count", []) if labels["op"] == op)


def status(metrics: Series) -> str | None:
    return next((labels["status"] for labels, v in metrics.get("wslwatch_path_probe_status", []) if v == 1), None)


def logged(daemon: DaemonProcess, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in "".join(daemon.log):
        assert time.monotonic() < deadline, f"never logged: {text}\n{''.join(daemon.log[-30:])}"
        time.sleep(0.05)


def stopped_cleanly(daemon: DaemonProcess) -> str:
    code = daemon.stop(timeout=30)
    log = "".join(daemon.log)
    assert code == 0 and "Traceback" not in log, log
    return log


def data_dir(mount: SlowFsMount) -> Path:
    (mount.backing / "data").mkdir()
    return mount.mountpoint / "data"


def test_a_full_disk_loses_only_the_writes(slowfs: SlowFsMount, tmp_path: Path) -> None:  # noqa: F811
    """ENOSPC on every write. Lost: the write and create latencies while the disk is full (the
    reason is logged once). The reads are still timed, the path stays `ok`, the collector up."""
    daemon = start_daemon(probe_config(tmp_path, data_dir(slowfs)), env={})
    try:
        wait_metrics(daemon.url, lambda m: count(m, "write_sync") >= 1, timeout=15, what="a write timed")
        slowfs.set(fail=FULL_DISK)
        logged(daemon, "write_sync is not measured here: No space left on device")
        full_line = next(line for line in daemon.log if "write_sync is not measured here" in line)
        assert " WARNING wslwatch.collectors.io_latency: " in full_line, "a disk filling up is a warning"
        full = scrape(daemon.url)
        writes, reads = count(full, "write_sync"), count(full, "read_cached")
        later = wait_metrics(daemon.url, lambda m: count(m, "read_cached") >= reads + 2, what="two more probes")
        assert count(later, "write_sync") == writes, "no write timed on a full disk"
        assert status(later) == "ok" and up(later)[COLLECTOR] == 1.0 and up(later)["host_memory"] == 1.0
        slowfs.set()
        wait_metrics(daemon.url, lambda m: count(m, "write_sync") > writes, what="writes timed again")
    finally:
        slowfs.set()
        stopped_cleanly(daemon)
    assert not (slowfs.backing / "data" / AREA).exists(), "the probe's files are removed at exit"


def test_a_directory_this_user_may_not_write(slowfs: SlowFsMount, tmp_path: Path) -> None:  # noqa: F811
    """EACCES on creating anything. Lost: every data operation's latency (the log says why);
    the metadata operations are still timed. Once writing is allowed they all come back."""
    slowfs.set(fail=READ_ONLY_DIRECTORY)
    daemon = start_daemon(probe_config(tmp_path, data_dir(slowfs)), env={})
    try:
        refused = wait_metrics(daemon.url, lambda m: count(m, "listdir") >= 2, timeout=15, what="metadata timed")
        assert count(refused, "write_sync") == 0 and count(refused, "read_cached") == 0
        assert status(refused) == "ok"
        logged(daemon, "cannot write here (Permission denied): timing metadata operations only")
        slowfs.set()
        wait_metrics(daemon.url, lambda m: count(m, "write_sync") >= 1, what="data operations timed")
    finally:
        slowfs.set()
        stopped_cleanly(daemon)
    assert not (slowfs.backing / "data" / AREA).exists()


def wait_for_a_probe_in_flight(mount: SlowFsMount) -> None:
    """Until the probe writes something new through the mount (each FUSE request takes 20 ms)."""
    before = len(mount.written_paths())
    deadline = time.monotonic() + 15
    while len(mount.written_paths()) <= before:
        assert time.monotonic() < deadline, "no probe wrote through the mount"
        time.sleep(0.01)


def test_the_directory_deleted_while_probed(slowfs: SlowFsMount, tmp_path: Path) -> None:  # noqa: F811
    """The probed directory is deleted in the middle of a probe. Lost: that probe's remaining
    operations and the path's latencies while it is gone; the next probe says `error` with the
    path in the reason; the other collectors carry on; once it is back, so is the probe."""
    path = data_dir(slowfs)
    daemon = start_daemon(probe_config(tmp_path, path, interval_s=3.0), env={})
    try:
        wait_metrics(daemon.url, lambda m: status(m) == "ok", timeout=15)
        slowfs.set(20.0)
        wait_for_a_probe_in_flight(slowfs)
        shutil.rmtree(slowfs.backing / "data")
        gone = wait_metrics(daemon.url, lambda m: status(m) == "error", timeout=15, what="error while gone")
        assert up(gone)[COLLECTOR] == 1.0 and up(gone)["host_memory"] == 1.0
        logged(daemon, f"probe of {path} error: {path}")
        (slowfs.backing / "data").mkdir()
        wait_metrics(daemon.url, lambda m: status(m) == "ok", timeout=15, what="ok once it is back")
    finally:
        slowfs.set()
        stopped_cleanly(daemon)
    assert [p.name for p in slowfs.backing.rglob("*")] == ["data"], "nothing of the probe is left"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP (terminal closed)"])
def test_a_stop_in_the_middle_of_a_probe_removes_its_files(
    slowfs: SlowFsMount, tmp_path: Path, sig: signal.Signals  # noqa: F811
) -> None:
    """SIGTERM (or SIGHUP) while a probe writes in its area: the daemon lets the probe end (within
    its deadline), removes `.wslwatch-probe/`, and exits 0. Lost: nothing; nothing is left behind."""
    daemon = start_daemon(probe_config(tmp_path, data_dir(slowfs), interval_s=3.0), env={})
    wait_metrics(daemon.url, lambda m: status(m) == "ok", timeout=15)
    assert (slowfs.backing / "data" / AREA).is_dir(), "the daemon keeps its area between probes"
    slowfs.set(20.0)
    wait_for_a_probe_in_flight(slowfs)
    asked = time.monotonic()
    daemon.proc.send_signal(sig)
    try:
        log = stopped_cleanly(daemon)
    finally:
        slowfs.set()
    assert time.monotonic() - asked < 2.4 + 2.0 + 5.0, "the probe's deadline, its grace, then the cleanup"
    assert "stopping" in log
    assert not (slowfs.backing / "data" / AREA).exists()


def test_a_probe_that_ended_while_the_daemon_was_stopped_is_not_stalled(
    slowfs: SlowFsMount, tmp_path: Path  # noqa: F811
) -> None:
    """SIGSTOP mid-probe for longer than the probe's deadline, then SIGCONT: the probe (its own
    process, not stopped) ended in time, so it counts, and nothing says `stalled`."""
    daemon = start_daemon(probe_config(tmp_path, data_dir(slowfs), interval_s=2.0), env={})
    try:
        wait_metrics(daemon.url, lambda m: status(m) == "ok", timeout=15)
        slowfs.set(20.0)
        wait_for_a_probe_in_flight(slowfs)
        daemon.proc.send_signal(signal.SIGSTOP)
        time.sleep(2.5)  # past the 1.6 s deadline; the probe itself ends meanwhile
        daemon.proc.send_signal(signal.SIGCONT)
        slowfs.set()
        before = count(scrape(daemon.url), "read_cached")
        wait_metrics(daemon.url, lambda m: count(m, "read_cached") > before, timeout=15, what="the next probe")
    finally:
        slowfs.set()
        log = stopped_cleanly(daemon)
    assert " stalled: " not in log and "abandoned" not in log, log  # no stall, no timed-out collection


def test_once_beside_the_running_daemon_leaves_its_probe_area_alone(
    slowfs: SlowFsMount, tmp_path: Path  # noqa: F811
) -> None:
    """The "already running" message suggests `wslwatch once`; it used to probe the same path and
    remove the daemon's `.wslwatch-probe/` mid-probe. Now it leaves the daemon's paths alone."""
    config = probe_config(tmp_path, data_dir(slowfs), interval_s=3.0)
    daemon = start_daemon(config, env={})
    try:
        wait_metrics(daemon.url, lambda m: status(m) == "ok", timeout=15)
        done = subprocess.run(
            [sys.executable, "-m", "wslwatch", "once", "--config", str(config)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert "it probes the [[paths]] itself, so `once` leaves them alone" in done.stderr
        assert "io_latency" not in done.stdout and "path_io_latency" not in done.stdout
        assert (slowfs.backing / "data" / AREA).is_dir(), "the daemon's probe area is still there"
    finally:
        stopped_cleanly(daemon)


def test_a_work_file_that_cannot_be_filled_is_not_left_behind(slowfs: SlowFsMount) -> None:  # noqa: F811
    """A first probe on a full disk: the half-written work file is removed, not left to keep the
    disk at 100 % for as long as the daemon runs; the probe says why it failed."""
    slowfs.set(fail={"write": "ENOSPC"})
    result = PathProber(str(slowfs.mountpoint)).probe(plan_samples(1), gap_s=0.0, deadline_s=20.0)
    assert result.status == "error" and "No space left on device" in (result.reason or ""), result
    assert not (slowfs.backing / AREA / "work.bin").exists()
