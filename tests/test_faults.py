"""Faults and bad input while `wslwatch run` serves: real daemon processes, real files.

Each test says what is lost. The answer is always the same: nothing beyond the broken
source's own series while it is broken. The other collectors keep reporting, every scrape
of /metrics answers, and the source comes back by itself once the fault goes away.
The exporter's port being taken is tested in test_cli_run.py
(`test_a_taken_port_is_a_clear_error`).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from daemon_process import DaemonProcess, run_argv, scrape, start_daemon
from faults import VM_NAME, errors, last_success, up, value, wait_metrics, write_fast_config
from rigs import need
from rigs.fake_nvml import FakeNvml

FIXTURES = Path(__file__).parent / "fixtures"
GiB = 1 << 30
MiB = 1 << 20
OTHERS = ("host_memory", "wsl_guest", "process")


def stopped_cleanly(daemon: DaemonProcess) -> str:
    """Stop the daemon; it must exit 0 without a traceback. Returns its log."""
    code = daemon.stop()
    log = "".join(daemon.log)
    assert code == 0, log
    assert "Traceback" not in log, log
    return log


@pytest.mark.rig
def test_gpu_lost_while_serving_and_back(tmp_path: Path, fake_nvml: FakeNvml) -> None:
    """Lost while the GPU is lost: its own series only (absent, never zeros or stale values).
    Not lost: every other collector's samples and every scrape. Then it recovers unaided."""
    fake_nvml.set(util_error=3)  # NotSupported, as on WSL's 510 drivers
    daemon = start_daemon(write_fast_config(tmp_path / "c.toml"), env=fake_nvml.env())
    try:
        metrics = wait_metrics(daemon.url, lambda m: up(m).get("gpu") == 1.0, what="gpu up")
        assert value(metrics, "wslwatch_gpu_memory_total_bytes") == 16 * GiB
        assert "wslwatch_gpu_utilization_ratio" not in metrics, "NotSupported is absent, not 0"
        assert value(metrics, "wslwatch_gpu_temperature_celsius") == 40.0

        fake_nvml.set(query_error=15)  # NVML_ERROR_GPU_IS_LOST
        lost = wait_metrics(daemon.url, lambda m: up(m).get("gpu") == 0.0, what="gpu down")
        assert not [name for name in lost if name.startswith("wslwatch_gpu_")], "no stale GPU series"
        before = last_success(lost)
        later = wait_metrics(
            daemon.url,
            lambda m: all(last_success(m).get(c, 0) > before[c] for c in OTHERS) and up(m).get("gpu") == 0.0,
            what="the others collect while the GPU is lost",
        )
        assert all(up(later)[c] == 1.0 for c in OTHERS)
        assert errors(later)["gpu"] >= 1 and all(errors(later)[c] == 0 for c in OTHERS)

        fake_nvml.set(query_error=None)
        back = wait_metrics(daemon.url, lambda m: up(m).get("gpu") == 1.0, timeout=15, what="gpu back")
        assert value(back, "wslwatch_gpu_memory_total_bytes") == 16 * GiB
    finally:
        log = stopped_cleanly(daemon)
    assert "the GPU stopped answering" in log
    assert "collector gpu recovered" in log
    # logged on change only: once per back-off step (1, 2, 4 ... collections), not once per collection
    assert log.count("the GPU stopped answering") <= 7, log


def test_nvml_missing_leaves_the_others_alone(tmp_path: Path) -> None:
    """No NVML library at all. Lost: the GPU series, which never existed. The others report,
    and the missing library costs a failed init try on a back-off, not on every collection."""
    env = {"LD_LIBRARY_PATH": str(tmp_path)}  # an empty directory first: no libnvidia-ml.so.1 of a test
    daemon = start_daemon(write_fast_config(tmp_path / "c.toml"), env=env)
    try:
        metrics = wait_metrics(daemon.url, lambda m: all(up(m).get(c) == 1.0 for c in OTHERS) and "gpu" in up(m))
        need(up(metrics)["gpu"] != 1.0, "a machine without a real NVML library (this one has one)")
        assert not [name for name in metrics if name.startswith("wslwatch_gpu_")]
    finally:
        log = stopped_cleanly(daemon)
    assert log.count("NVML library not found") <= 7, "logged once per back-off step"


def spawn_vm(tmp_path: Path, seconds: str) -> subprocess.Popen[bytes]:
    """A real process named VM_NAME (a symlink to `sleep`)."""
    stand_in = tmp_path / VM_NAME
    if not stand_in.exists():
        stand_in.symlink_to(shutil.which("sleep") or "/bin/sleep")
    return subprocess.Popen([str(stand_in), seconds])


def test_vm_process_vanishing_mid_read(tmp_path: Path) -> None:
    """VM processes appear and vanish (some left as zombies) while the collector reads them
    every 0.1 s. Lost: nothing. Each collection reports the VM up or down, never an error."""
    daemon = start_daemon(write_fast_config(tmp_path / "c.toml"), env={})
    steady = spawn_vm(tmp_path, "60")
    try:
        metrics = wait_metrics(daemon.url, lambda m: value(m, "wslwatch_vmmem_up") == 1.0, what="VM seen")
        assert metrics["wslwatch_vmmem_working_set_bytes"][0][0] == {"process": VM_NAME}
        steady.kill()
        steady.wait()
        wait_metrics(daemon.url, lambda m: value(m, "wslwatch_vmmem_up") == 0.0, what="VM gone")
        flapping = random.Random(7)
        ends = time.monotonic() + 2.5
        while time.monotonic() < ends:
            child = spawn_vm(tmp_path, "1")
            time.sleep(flapping.uniform(0.0, 0.03))
            child.kill()
            time.sleep(flapping.uniform(0.0, 0.03))  # a zombie until reaped
            child.wait()
            assert up(scrape(daemon.url))["vmmem"] == 1.0
        final = wait_metrics(daemon.url, lambda m: value(m, "wslwatch_vmmem_up") == 0.0, what="VM gone again")
        assert errors(final)["vmmem"] == 0.0
    finally:
        steady.kill()
        steady.wait()
        stopped_cleanly(daemon)


def test_proc_files_missing_cut_or_garbled(tmp_path: Path) -> None:
    """The guest's /proc files break in turn. Lost: the guest series while a required file is
    missing or cut short (the reason is logged), and only the pressure series while the PSI
    file is garbage. The other collectors and /metrics are untouched; the guest comes back."""
    root = tmp_path / "proc"
    shutil.copytree(FIXTURES / "proc-debian-vm", root)
    meminfo = (root / "meminfo").read_text()
    total = 24683656 * 1024
    daemon = start_daemon(write_fast_config(tmp_path / "c.toml", wsl_guest={"proc_root": str(root)}), env={})

    def guest_up(m: dict[str, list[tuple[dict[str, str], float]]]) -> bool:
        return up(m).get("wsl_guest") == 1.0

    try:
        metrics = wait_metrics(daemon.url, guest_up)
        assert value(metrics, "wslwatch_guest_memory_total_bytes") == total
        assert value(metrics, "wslwatch_guest_memory_pressure_some_ratio") == 0.0

        (root / "meminfo").unlink()
        down = wait_metrics(daemon.url, lambda m: not guest_up(m), what="missing meminfo")
        assert "wslwatch_guest_memory_total_bytes" not in down and "wslwatch_guest_cpu_seconds_total" not in down
        assert all(up(down)[c] == 1.0 for c in ("host_memory", "process"))

        (root / "meminfo").write_text("MemTotal:       2468")  # cut in the middle of its first line
        wait_metrics(daemon.url, lambda m: not guest_up(m) and errors(m)["wsl_guest"] >= 2)

        (root / "meminfo").write_text(meminfo[: meminfo.index("Cached:")])  # cut after five whole lines
        cut = wait_metrics(daemon.url, guest_up, what="a file cut after whole lines still gives what it has")
        assert value(cut, "wslwatch_guest_memory_total_bytes") == total
        assert "wslwatch_guest_memory_cached_bytes" not in cut, "a field that was cut off is absent, not 0"

        (root / "pressure" / "memory").write_bytes(os.urandom(512).replace(b"\n", b" "))
        (root / "meminfo").write_text(meminfo)
        garbled = wait_metrics(
            daemon.url,
            lambda m: guest_up(m) and "wslwatch_guest_memory_cached_bytes" in m,
            what="guest back with PSI garbage",
        )
        assert "wslwatch_guest_memory_pressure_some_ratio" not in garbled
        assert value(garbled, "wslwatch_guest_memory_total_bytes") == total
    finally:
        log = stopped_cleanly(daemon)
    assert f"{root}/meminfo does not exist" in log
    assert f"{root}/meminfo has no complete MemTotal line" in log
    assert "collector wsl_guest recovered" in log


#: .wslconfig contents and the problem code each gives (None: read cleanly), with the VM memory then.
WSLCONFIG_GARBAGE: list[tuple[str, bytes, str | None, float | None]] = [
    ("UTF-8 with BOM", b"\xef\xbb\xbf[wsl2]\nmemory=4GB\n", None, 4 * GiB),
    ("Notepad's UTF-16LE with BOM", "[wsl2]\r\nmemory=3GB\r\n".encode("utf-16"), None, 3 * GiB),
    ("UTF-16BE with BOM", b"\xfe\xff" + "[wsl2]\nmemory=2GB\n".encode("utf-16-be"), "bad_encoding", None),
    ("ANSI (Latin-1)", "# café\n[wsl2]\nmemory=5GB\n".encode("latin-1"), "bad_encoding", 5 * GiB),
    ("binary", bytes(range(256)) * 64, "bad_encoding", None),
    ("huge", b"[wsl2]\nmemory=6GB\n" + b"# filler line\n" * 100_000, "file_too_large", 6 * GiB),
]


def test_wslconfig_garbage_through_the_daemon(tmp_path: Path) -> None:
    """The .wslconfig is rewritten with one kind of garbage after another while the daemon
    runs. Lost: nothing. Each becomes a `wsl_config_problem{code}` series (the collector stays
    up), what WSL would still read is exported, and every scrape answers."""
    wslconfig = tmp_path / ".wslconfig"
    wslconfig.write_bytes(b"[wsl2]\nmemory=1GB\n")
    config = write_fast_config(tmp_path / "c.toml", wslconfig={"path": str(wslconfig)})
    daemon = start_daemon(config, env={})
    try:
        wait_metrics(daemon.url, lambda m: value(m, "wslwatch_wsl_config_memory_limit_bytes") == 1 * GiB)
        for stamp, (kind, data, code, memory) in enumerate(WSLCONFIG_GARBAGE, start=1):
            wslconfig.write_bytes(data)
            os.utime(wslconfig, ns=(stamp * 10**9, stamp * 10**9))  # a new stamp even at the same size

            def shows(m: dict[str, list[tuple[dict[str, str], float]]]) -> bool:
                codes = {labels["code"] for labels, _ in m.get("wslwatch_wsl_config_problem", [])}
                limit = value(m, "wslwatch_wsl_config_memory_limit_bytes")
                read = limit == memory if memory is not None else limit not in (1 * GiB, None)
                return codes == ({code} if code else set()) and read

            metrics = wait_metrics(daemon.url, shows, what=kind)
            assert up(metrics)["wslconfig"] == 1.0, kind
            assert errors(metrics)["wslconfig"] == 0.0, kind
    finally:
        stopped_cleanly(daemon)


def run_with_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(run_argv(path, "--port", "0"), capture_output=True, text=True, timeout=60, check=False)


#: Garbage config files: (what, its bytes, the start of the message).
CONFIG_GARBAGE: dict[str, tuple[Callable[[], bytes], str]] = {
    "binary": (lambda: bytes(range(256)) * 4, "{path}:2: not UTF-8 text; save the file as UTF-8"),
    "NUL in a value": (lambda: b"[exporter]\nport = 1\x00\n", "{path}:2: invalid TOML: "),
    "prose": (lambda: b"This is not a config.\nJust words.\n", "{path}:1: invalid TOML: "),
    "UTF-16 with BOM": (lambda: "[exporter]\nport = 1\n".encode("utf-16"), "{path}:1: not UTF-8 text"),
    "a bad line after 90 000 comments": (lambda: b"# filler\n" * 90_000 + b"port = \n", "{path}:90001: invalid TOML: "),
    "20 000 unknown keys": (lambda: b"".join(b"k%d = 1\n" % n for n in range(20_000)), "{path}:1: k0: unknown key"),
    "larger than 1 MiB": (lambda: b"# filler\n" * 200_000, "{path}: larger than 1 MiB, which no wslwatch config is"),
}


@pytest.mark.parametrize("kind", list(CONFIG_GARBAGE))
def test_config_garbage_is_refused_with_file_and_line(tmp_path: Path, kind: str) -> None:
    """Lost: nothing was started, so nothing. The message names the file and line, exit 2."""
    make, message = CONFIG_GARBAGE[kind]
    path = tmp_path / "garbage.toml"
    path.write_bytes(make())
    done = run_with_config(path)
    assert done.returncode == 2, kind
    assert done.stderr.startswith(message.format(path=path)), done.stderr[:500]
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) <= 22, "at most 20 problems and a count, then the summary"
    assert "nothing was started" in done.stderr.splitlines()[-1]


def test_a_device_as_config_is_refused(tmp_path: Path) -> None:
    """`--config /dev/zero` would never end (and a FIFO would block): only a regular file is read."""
    done = run_with_config(Path("/dev/zero"))
    assert done.returncode == 2
    assert done.stderr.startswith("/dev/zero: not a regular file; give the path of a TOML file")
