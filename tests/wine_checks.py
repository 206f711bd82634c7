"""Shared by the Windows tests (tests/test_windows_*.py): the daemon's state folder and /metrics
under Wine, and the guest's /proc as the stand-in wsl.exe replays it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable, TypeVar

from rigs.wine import WineRig

from wslwatch.collectors.wsl_guest import HOLDERS_SCRIPT

PROC = Path(__file__).parent / "fixtures" / "proc-debian-vm"  # captured on a Debian 12 VM, see fixtures/README.md
FILES = ("meminfo", "vmstat", "stat", "pressure/memory")
# The one read, as the default config makes it (who holds the memory included): the fixed script,
# its proc and cgroup roots, then the files. The stand-in answers it with the files' lines alone,
# as a guest would where no process or cgroup is readable.
READ = " ".join(
    ["-d", "Ubuntu", "--exec", "/bin/sh", "-c", HOLDERS_SCRIPT, "wslwatch", "/proc", "/sys/fs/cgroup"]
    + [f"/proc/{name}" for name in FILES]
)
#: A read between two of the holders' turns (`holders_interval_s`): the files alone.
PLAIN_READ = " ".join(["-d", "Ubuntu", "--exec", "grep", "-s", "-H", "^"] + [f"/proc/{name}" for name in FILES])


def grep_output() -> bytes:
    """What `grep -s -H ^ /proc/meminfo …` prints in the guest: each line prefixed with its file."""
    lines = [f"/proc/{name}:{line}\n" for name in FILES for line in (PROC / name).read_text().splitlines()]
    return "".join(lines).encode()


def mem_total_bytes() -> float:
    (line,) = [line for line in (PROC / "meminfo").read_text().splitlines() if line.startswith("MemTotal:")]
    return float(line.split()[1]) * 1024


T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.2)
    return found


def state_dir(rig: WineRig) -> Path:
    return rig.local_appdata / "wslwatch"


def running_url(rig: WineRig) -> str:
    """The /metrics URL the running daemon recorded in %LOCALAPPDATA%\\wslwatch\\instance.json."""

    def url() -> str | None:
        try:
            info = json.loads((state_dir(rig) / "instance.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return info["url"] or None

    return wait_for(url, "the daemon recording its /metrics URL")


def metrics(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def metrics_with(url: str, name: str) -> str | None:
    """The /metrics page once it has a sample of `name`, else None."""
    text = metrics(url)
    return text if f"\n{name} " in text or f"\n{name}{{" in text else None


def stop(rig: WineRig, daemon: subprocess.Popen[str]) -> None:
    done = rig.wslwatch("stop")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped" in done.stdout
    assert daemon.wait(30) == 0, daemon.communicate()
    assert not (state_dir(rig) / "instance.json").exists()
