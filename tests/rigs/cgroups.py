"""Real memory holders: child processes that hold known memory, in real cgroup v1 memory cgroups.

A `Holder` child allocates (and touches) anonymous memory, or reads a file whose pages were
dropped from the page cache first (so the cache it fills is charged to its own cgroup), then
says `ready` and waits. The cgroups live under the writable v1 memory controller
(`/sys/fs/cgroup/memory`, root only) in one folder per test, removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rigs import need

__all__ = ["V1_MEMORY", "child", "v1_cgroups"]

V1_MEMORY = Path("/sys/fs/cgroup/memory")

_CHILD = """\
import os, sys
kind, size = sys.argv[1], int(sys.argv[2])
if kind == "anon":
    held = bytearray(size)
    for i in range(0, size, 4096):
        held[i] = 1
else:
    with open(sys.argv[3], "rb") as f:
        while f.read(1 << 20):
            pass
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def child(kind: str, size: int, cgroup: Path | None = None, path: Path | None = None) -> Iterator[int]:
    """A child holding `size` bytes of `kind` ("anon", or "file": reading `path`), in `cgroup`; its pid."""
    args = [sys.executable, "-c", _CHILD, kind, str(size), str(path or "")]
    preexec = None if cgroup is None else (lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())))
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=preexec)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def uncached_file(path: Path, size: int) -> Path:
    """A file of `size` bytes whose pages are not in the page cache (written, synced, dropped)."""
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return path


@contextmanager
def v1_cgroups(*names: str) -> Iterator[Path]:
    """A fresh folder of v1 memory cgroups `names` (nested paths allowed); its path."""
    writable = os.geteuid() == 0 and os.access(V1_MEMORY / "cgroup.procs", os.W_OK)
    need(writable, "a writable cgroup v1 memory controller (/sys/fs/cgroup/memory, as root)")
    top = V1_MEMORY / f"wslwatch-test-{uuid.uuid4().hex[:8]}"
    made = [top]
    top.mkdir()
    try:
        for name in names:
            for parent in reversed((top / name).relative_to(top).parents[:-1]):
                if not (top / parent).exists():
                    (top / parent).mkdir()
                    made.append(top / parent)
            (top / name).mkdir()
            made.append(top / name)
        yield top
    finally:
        for path in reversed(made):
            path.rmdir()
