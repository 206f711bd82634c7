"""Real memory holders: child processes that hold known memory, in real memory cgroups.

A child allocates (and touches) anonymous memory, or reads a file whose pages were dropped
from the page cache first (so the cache it fills is charged to its own cgroup), then says
`ready` and waits. The cgroups live under the writable memory controller — v1's
`/sys/fs/cgroup/memory` where there is one (as on the machine these tests were written on),
else the v2 tree — in one folder per test, removed afterwards (root only).
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

from wslwatch.collectors import _guest_holders as holders

__all__ = ["V1_MEMORY", "child", "fixture_tree", "uncached_file", "memory_cgroups", "v2_tree_files"]

V1_MEMORY = Path("/sys/fs/cgroup/memory")
V2_ROOT = Path("/sys/fs/cgroup")
MiB = 1 << 20
#: Recorded v2 memory.stat files (see the README there).
_RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "cgroup"

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


def _hierarchy() -> tuple[Path, bool] | None:
    """(the writable memory hierarchy, whether it is cgroup v2), or None: v1's memory controller
    where there is one (as on this machine), else a v2 tree with the memory controller."""
    if os.geteuid() != 0:
        return None
    if os.access(V1_MEMORY / "cgroup.procs", os.W_OK):
        return V1_MEMORY, False
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "memory" in controllers.read_text().split():
        return V2_ROOT, True
    return None


@contextmanager
def memory_cgroups(*names: str) -> Iterator[Path]:
    """A fresh folder of memory cgroups `names` (nested paths allowed) in the writable memory
    hierarchy, v1 or v2; its path. In v2 each parent hands the memory controller down
    (`+memory` in its cgroup.subtree_control), which a cgroup without processes may do."""
    found = _hierarchy()
    need(found is not None, "a writable cgroup memory controller (/sys/fs/cgroup/memory or a v2 tree, as root)")
    assert found is not None
    hierarchy, v2 = found
    top = hierarchy / f"wslwatch-test-{uuid.uuid4().hex[:8]}"
    made: list[Path] = []

    def make(path: Path) -> None:
        if v2:
            control = path.parent / "cgroup.subtree_control"
            if "memory" not in control.read_text().split():
                control.write_text("+memory")
        path.mkdir()
        made.append(path)

    try:
        make(top)
        for name in names:
            for parent in reversed((top / name).relative_to(top).parents[:-1]):
                if not (top / parent).exists():
                    make(top / parent)
            make(top / name)
        yield top
    finally:
        for path in reversed(made):
            path.rmdir()


def v2_tree_files(containers: int, services: int) -> dict[str, str]:
    """The files of a v2 tree as the readers key them: Docker Desktop's containers and systemd services."""
    runc = (_RECORDED / "memory.stat-v2-runc").read_text()
    pod = (_RECORDED / "memory.stat-v2-pod").read_text()
    files = {f"{holders.CGROUP_PREFIX}docker/memory.stat": runc}  # a parent: its stat holds its children's
    for i in range(containers):
        path = f"{holders.CGROUP_PREFIX}docker/{i:064x}"
        files[f"{path}/memory.stat"] = runc.replace("anon 6121017344", f"anon {(i + 1) * MiB}")
        files[f"{path}/memory.swap.current"] = f"{i * 4096}\n"
    for i in range(services):
        files[f"{holders.CGROUP_PREFIX}system.slice/unit-{i}.service/memory.stat"] = pod
    return files


def fixture_tree(root: Path, processes: int, cgroups: int, swapped: bool = False) -> tuple[Path, Path]:
    """A /proc with `processes` user processes (pid N, named `worker-N`, holds N pages of anon:
    its `stat`, `statm` and `status`, copied from this process's own and changed) and this
    machine's meminfo (`swapped`: saying half its 1 GiB of swap is in use), vmstat and stat, and
    a v2 cgroup tree of `cgroups` leaves (`v2_tree_files`)."""
    proc, cgroup = root / "proc", root / "cgroup"
    page = os.sysconf("SC_PAGE_SIZE")
    own = {name: Path("/proc/self", name).read_text() for name in ("stat", "statm", "status")}
    for name in ("meminfo", "vmstat", "stat"):
        (proc / name).parent.mkdir(parents=True, exist_ok=True)
        (proc / name).write_text(Path("/proc", name).read_text())
    if swapped:
        (proc / "meminfo").write_text(_swap_in_use((proc / "meminfo").read_text()))
    for pid in range(1000, 1000 + processes):
        (proc / str(pid)).mkdir()
        stat = f"{pid} (worker-{pid}){own['stat'][own['stat'].rfind(')') + 1 :]}"
        size, _, shared, *rest = own["statm"].split()
        statm = " ".join([size, str(int(shared) + pid), shared, *rest]) + "\n"
        status = _status_field(_status_field(own["status"], "RssAnon", pid * page >> 10), "VmSwap", pid)
        for name, text in (("stat", stat), ("statm", statm), ("status", status)):
            (proc / str(pid) / name).write_text(text)
    for key, text in v2_tree_files(cgroups // 2, cgroups - cgroups // 2).items():
        path = cgroup / key[len(holders.CGROUP_PREFIX) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return proc, cgroup


def _status_field(status: str, field: str, kb: int) -> str:
    """`status` with `field` (a kB line) saying `kb`."""
    start = status.index(f"\n{field}:") + len(field) + 2
    return status[:start] + f"\t{kb} kB" + status[status.index("\n", start) :]


def _swap_in_use(meminfo: str) -> str:
    """`meminfo` saying 1 GiB of swap, half of it in use."""
    lines = [line for line in meminfo.splitlines() if not line.startswith(("SwapTotal:", "SwapFree:"))]
    return "\n".join([*lines, "SwapTotal:       1048576 kB", "SwapFree:         524288 kB", ""])
