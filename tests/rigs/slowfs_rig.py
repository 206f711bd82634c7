"""Mounting the slow FUSE filesystem (`slowfs.py`) for a test or a benchmark, and unmounting it.

The tests' `slowfs` fixture (tests/conftest.py) mounts a fresh one under the test's
`tmp_path` and unmounts it even when the test fails, a hang released first so no process
stays stuck.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping


__all__ = ["SlowFsMount", "slowfs_available"]

SLOWFS_SCRIPT = Path(__file__).with_name("slowfs.py")


def _fusermount() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")


def slowfs_available() -> tuple[bool, str]:
    """Whether this machine can mount the rig, and what is missing if not."""
    if not os.path.exists("/dev/fuse") or not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return False, "/dev/fuse is missing or not usable by this user"
    if _fusermount() is None:
        return False, "fusermount/fusermount3 is missing (Debian: fuse3)"
    if importlib.util.find_spec("fuse") is None:
        return False, "fusepy is not installed (pip install fusepy)"
    probe = subprocess.run([sys.executable, "-c", "import fuse"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"fusepy cannot load libfuse (Debian: libfuse2): {probe.stderr.strip().splitlines()[-1:]}"
    return True, ""


def _mounted(mountpoint: Path) -> bool:
    escaped = str(mountpoint).replace("\\", "\\134").replace(" ", "\\040")
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        return any(line.split()[4] == escaped and " - fuse.slowfs " in line for line in mountinfo)


class SlowFsMount:
    """A running slowfs: `mountpoint` shows `backing` with the behaviour set by `set()`."""

    def __init__(self, base: Path) -> None:
        self.backing = base / "backing"
        self.mountpoint = base / "mnt"
        self.control = base / "control.json"
        self.log = base / "ops.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self.backing.mkdir(parents=True)
        self.mountpoint.mkdir()
        self.set()
        self._process = subprocess.Popen(
            [sys.executable, str(SLOWFS_SCRIPT), str(self.backing), str(self.mountpoint), str(self.control), "--log", str(self.log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout_s
        while not _mounted(self.mountpoint):
            if self._process.poll() is not None or time.monotonic() > deadline:
                err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                self.stop()
                raise RuntimeError(f"slowfs did not mount at {self.mountpoint}: {err.strip()}")
            time.sleep(0.02)

    def set(
        self,
        delay_ms: float = 0.0,
        *,
        ops: str | list[str] = "all",
        hang: bool = False,
        jitter_ms: float = 0.0,
        fail: Mapping[str, str] | None = None,
    ) -> None:
        """Change the injected behaviour; in effect for every request that starts after this returns.

        `fail` maps FUSE operations to the errno name they answer with, e.g. `{"write": "ENOSPC"}`."""
        staged = self.control.with_suffix(".new")
        settings = {"delay_ms": delay_ms, "jitter_ms": jitter_ms, "ops": ops, "hang": hang, "fail": dict(fail or {})}
        staged.write_text(json.dumps(settings))
        os.replace(staged, self.control)  # a new inode: the rig notices at its next request

    def written_paths(self) -> list[str]:
        """Every path (inside the mount) that an operation changed, in order."""
        if not self.log.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        """Release any hang, unmount (lazily if it stays busy), end the rig process."""
        self.set()
        fusermount = _fusermount()
        if fusermount and _mounted(self.mountpoint):
            for args in (["-u"], ["-u"], ["-uz"]):
                if subprocess.run([fusermount, *args, str(self.mountpoint)], capture_output=True).returncode == 0:
                    break
                time.sleep(0.2)
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None
