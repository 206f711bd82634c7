"""The daemon and its process's life: suspended and resumed (a laptop's sleep), stopped mid-collection.

The real daemon, its real scheduler, real signals. Runs are counted through
`wslwatch_collector_errors_total` of collectors pointed at sources that always fail: each
run of such a collector adds exactly one.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from daemon_process import Series, scrape, start_daemon
from faults import errors, last_success, up, wait_metrics, write_fast_config
from rigs.fake_nvml import FakeNvml

FIXTURES = Path(__file__).parent / "fixtures"
INTERVAL_S = 0.25
SUSPENDED_S = 4.0
COUNTED = ("wsl_guest", "wslconfig")


def test_suspend_and_resume_gives_no_burst_of_catch_up_runs(tmp_path: Path) -> None:
    """SIGSTOP for 4 s, then SIGCONT: each collector runs at most once to catch up, then on its
    interval again. Lost: the collections a suspended machine cannot make, and nothing else."""
    config = write_fast_config(
        tmp_path / "c.toml",
        INTERVAL_S,
        wsl_guest={"proc_root": str(tmp_path / "no-proc")},  # fails on every run: counts runs
        wslconfig={"path": str(tmp_path)},  # a directory: fails on every run
    )
    daemon = start_daemon(config, env={})
    try:
        before = wait_metrics(daemon.url, lambda m: all(errors(m).get(c, 0) >= 2 for c in COUNTED))
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGSTOP)
        time.sleep(SUSPENDED_S)
        daemon.proc.send_signal(signal.SIGCONT)
        resumed_at = time.time()
        time.sleep(1.0)
        after = scrape(daemon.url)
        running_s = time.monotonic() - started - SUSPENDED_S
    finally:
        daemon.proc.send_signal(signal.SIGCONT)  # never leave it stopped, whatever failed
        code = daemon.stop()
    assert code == 0, "".join(daemon.log)
    on_schedule = running_s / INTERVAL_S
    for collector in COUNTED:
        runs = errors(after)[collector] - errors(before)[collector]
        # one catch-up run, one for the boundary; a burst would add SUSPENDED_S / INTERVAL_S = 16
        assert 1 <= runs <= on_schedule + 2, f"{collector}: {runs} runs in {running_s:.2f}s of running time"
    assert all(last_success(after)[c] >= resumed_at for c in ("host_memory", "process"))
    assert all(up(after)[c] == 1.0 for c in ("host_memory", "process"))


def low_memory_guest(tmp_path: Path) -> Path:
    """A guest /proc whose MemAvailable is 5 % of MemTotal, and whose counters never move."""
    root = tmp_path / "proc"
    shutil.copytree(FIXTURES / "proc-debian-vm", root)
    meminfo = (root / "meminfo").read_text()
    (root / "meminfo").write_text(meminfo.replace("MemAvailable:   24024408 kB", "MemAvailable:    1234182 kB"))
    return root


def firing(metrics: Series) -> list[str]:
    return [labels["rule"] for labels, _ in metrics.get("wslwatch_alert_firing", [])]


def test_a_pending_alert_does_not_fire_from_the_gap(tmp_path: Path) -> None:
    """guest_memory_low is pending (for_s = 3 s) when the daemon is suspended for 5 s. Lost: no
    alert; but the gap is not 3 s of observation, so it fires 3 s of running after the resume,
    not at once. No other rule fires from the gap."""
    config = write_fast_config(
        tmp_path / "c.toml",
        INTERVAL_S,
        extra="[rules.guest_memory_low]\nfor_s = 3.0\n",
        wsl_guest={"proc_root": str(low_memory_guest(tmp_path))},
        vmmem={"enabled": False},  # inside WSL there is no VM process either: the guest rules apply
    )
    daemon = start_daemon(config, env={})
    try:
        wait_metrics(daemon.url, lambda m: up(m).get("wsl_guest") == 1.0, what="guest read")
        daemon.proc.send_signal(signal.SIGSTOP)
        time.sleep(SUSPENDED_S)
        daemon.proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        early: list[str] = []
        while time.monotonic() - resumed < 1.5:
            early += firing(scrape(daemon.url))
        later = wait_metrics(daemon.url, lambda m: firing(m) == ["guest_memory_low"], what="the real alert")
        fired_after = time.monotonic() - resumed
    finally:
        daemon.proc.send_signal(signal.SIGCONT)
        code = daemon.stop()
    assert code == 0, "".join(daemon.log)
    assert early == [], "fired from the gap, before 3 s of running after the resume"
    assert 2.5 <= fired_after, f"fired {fired_after:.1f}s after the resume"
    assert firing(later) == ["guest_memory_low"]


@pytest.mark.rig
def test_sigterm_during_a_slow_collection_exits_cleanly(tmp_path: Path, fake_nvml: FakeNvml) -> None:
    """A GPU collection in the driver (1.5 s per NVML call) when SIGTERM comes: the daemon waits
    for it at most its deadline (5 s: a collector's close() must not race its own collection,
    e.g. an I/O probe's files are removed after the probe ends), closes every collector and
    exits 0 without a traceback. Lost: nothing; the cut collection had nothing to report yet."""
    fake_nvml.set(delay_ms=1500)
    config = write_fast_config(tmp_path / "c.toml", gpu={"interval_s": 5.0})
    daemon = start_daemon(config, env=fake_nvml.env())
    time.sleep(0.3)  # the first GPU collection started with the scheduler and is in the driver now
    asked = time.monotonic()
    code = daemon.stop(timeout=15)
    took = time.monotonic() - asked
    log = "".join(daemon.log)
    assert code == 0, log
    assert "Traceback" not in log and "stopping" in log
    assert took < 5.0 + 2.5, f"stopping took {took:.1f}s, more than the collection's 5 s deadline"


@pytest.mark.rig
def test_sigterm_with_a_hung_driver_does_not_wait_for_it(tmp_path: Path, fake_nvml: FakeNvml) -> None:
    """A GPU collection that never returns (abandoned after its 0.5 s deadline): SIGTERM still
    ends the daemon at once with exit 0. Lost: nothing; the hung call dies with the process."""
    fake_nvml.set(delay_ms=60_000)
    config = write_fast_config(tmp_path / "c.toml", gpu={"interval_s": 5.0, "timeout_s": 0.5})
    daemon = start_daemon(config, env=fake_nvml.env())
    wait_metrics(daemon.url, lambda m: up(m).get("gpu") == 0.0, what="the GPU collection abandoned")
    asked = time.monotonic()
    code = daemon.stop(timeout=15)
    took = time.monotonic() - asked
    log = "".join(daemon.log)
    assert code == 0, log
    assert "timed out after 0.5s" in log and "Traceback" not in log
    assert took < 3.0, f"stopping took {took:.1f}s"
