"""`wslwatch run` and `wslwatch once` as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from daemon_process import fast_collectors, run_argv, scrape, start_daemon

FAST = fast_collectors()


def test_run_serves_the_catalogue_within_two_seconds(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text(FAST)
    started = time.monotonic()
    daemon = start_daemon(config)
    try:
        everyone = {"host_memory", "vmmem", "wsl_guest", "gpu", "wslconfig", "wsl_version", "process"}
        reported: set[str] = set()
        while time.monotonic() - started < 2.0 and reported != everyone:
            metrics = scrape(daemon.url)
            reported = {labels["collector"] for labels, _ in metrics.get("wslwatch_collector_up", [])}
        assert reported == everyone, "every collector reports within 2 s of start"
        assert daemon.url.startswith("http://127.0.0.1:")
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        total = int(meminfo["MemTotal"].split()[0]) * 1024
        assert metrics["wslwatch_guest_memory_total_bytes"] == [({}, float(total))]
        assert metrics["wslwatch_vmmem_up"] == [({}, 0.0)]
        up = {labels["collector"]: value for labels, value in metrics["wslwatch_collector_up"]}
        assert up["host_memory"] == 1.0 and up["wsl_guest"] == 1.0 and up["gpu"] == 0.0
        assert metrics["wslwatch_build_info"][0][1] == 1.0
        assert metrics["wslwatch_process_resident_memory_bytes"][0][1] > 10e6
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    assert "stopping" in "".join(daemon.log)


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text("")
    try:
        done = subprocess.run(run_argv(config, "--port", str(port)), capture_output=True, text=True, timeout=30)
    finally:
        holder.close()
    assert done.returncode == 2
    assert f"cannot serve /metrics: 127.0.0.1:{port} is already in use." in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_config_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[exporter]\nbind = "0.0.0.0"\nport = "9477"\n')
    done = subprocess.run(run_argv(config), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f'{config}:3: exporter.port: must be a whole number, got "9477"' in done.stderr
    assert "nothing was started" in done.stderr and "Traceback" not in done.stderr


def test_once_json_on_this_linux_machine(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "once", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    names = {s["name"] for s in doc["samples"]}
    assert {"wslwatch_host_memory_total_bytes", "wslwatch_guest_memory_total_bytes", "wslwatch_vmmem_up"} <= names
    assert [s["value"] for s in doc["samples"] if s["name"] == "wslwatch_vmmem_up"] == [0.0]
    assert doc["errors"]["gpu"].startswith("NVML library not found")
    assert all(set(s) == {"name", "labels", "value"} for s in doc["samples"])


def test_once_table_is_readable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "once", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["METRIC", "LABELS", "VALUE"]
    assert any(line.startswith("host_memory_total_bytes") and line.endswith("GiB") for line in lines)
    assert "not collected:" in lines and any(line.startswith("  gpu: NVML library not found") for line in lines)


def test_a_port_the_system_refuses_is_a_clear_error() -> None:
    """A port the OS refuses (EACCES: on Windows WinError 10013, a port in an excluded range;
    here a port below 1024 bound by a user who is not root): exit 2 and what to do, no traceback."""
    with tempfile.TemporaryDirectory() as home:
        os.chmod(home, 0o777)  # the unprivileged user writes its state here
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_STATE_HOME": home}
        argv = [sys.executable, "-m", "wslwatch", "run", "--headless", "--port", "80"]
        done = subprocess.run([*as_user, *argv], capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 2, done.stderr
    assert "cannot serve /metrics: 127.0.0.1:80 may not be used by this user" in done.stderr
    assert "choose another port with --port" in done.stderr
    assert "Traceback" not in done.stderr
