"""The give-back commands against real kernels: this machine's (drop_caches, compact_memory) and
Debian's 6.12 in QEMU (cgroup v2 `memory.reclaim`, which this machine's kernel binds to v1)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from rigs import need
from rigs.qemu_guest import QemuGuest, Shell, qemu_guest, qemu_guest_6_1, shell  # noqa: F401  (fixtures)
from wslwatch.collectors._probe_child import _Residency
from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.config.schema import ReclaimConfig
from wslwatch.reclaim.controller import Controller, describe
from wslwatch.reclaim.guest import MEMORY_RECLAIM, MEMORY_STAT, Cache, LocalGuest, Outcome, WslGuest, give_back, read_cache, write_argv

MIB = 1 << 20


def _cached_share(path: Path) -> float:
    """Share of the file's pages in the page cache, by mincore (the probe's own residency check)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        pages = range(0, path.stat().st_size, 64 * 4096)
        residency = _Residency(fd)
        return sum(bool(residency.resident(offset)) for offset in pages) / len(pages)
    finally:
        os.close(fd)


@pytest.mark.rig
def test_drop_caches_empties_the_page_cache_of_this_kernel(tmp_path: Path) -> None:
    need(os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK), "root with a writable /proc/sys/vm/drop_caches")
    data = tmp_path / "dataset.bin"
    data.write_bytes(os.urandom(64 * MIB))
    os.sync()
    data.read_bytes()
    assert _cached_share(data) > 0.9

    guest = LocalGuest()
    outcome = give_back(guest, want_bytes=1 << 40, floor_bytes=0, step_bytes=256 * MIB, max_steps=4)

    assert outcome.method == "drop_caches"  # this kernel: the memory controller is cgroup v1
    assert outcome.result == "ok", outcome.detail
    assert _cached_share(data) < 0.1
    # what it reports freed is what the kernel says it now holds, and includes our 64 MiB
    assert outcome.after.file == pytest.approx(read_cache(guest).file, abs=32 * MIB)
    assert outcome.freed_bytes >= 48 * MIB


# In the guest: 64 MiB of page cache (a file on a real disk filesystem) and about 48 MiB of
# anonymous memory (a shell variable) in one cgroup, and a swap device the kernel could use.
_LOAD = (
    "echo +memory > /sys/fs/cgroup/cgroup.subtree_control && mkdir /sys/fs/cgroup/work && "
    "echo $$ > /sys/fs/cgroup/work/cgroup.procs && "
    "dd if=/dev/zero of=/data/blob bs=1M count=64 2>/dev/null && sync; "
    "(x=$(head -c 50331648 /dev/zero | tr '\\0' a); touch /tmp/anon-ready; exec sleep 3600 & wait) >/dev/null 2>&1 & "
    "while [ ! -e /tmp/anon-ready ]; do sleep 1; done"
)


def _work_stat(guest: Shell) -> dict[str, int]:
    done = guest.run(("cat", "/sys/fs/cgroup/work/memory.stat"))
    return {k: int(v) for k, v in (line.split() for line in done.stdout.splitlines())}


def _load(guest: Shell) -> dict[str, int]:
    """Start the load; its memory.stat once the kernel's (periodically flushed) counters show it."""
    assert guest.run(("sh", "-c", _LOAD)).returncode == 0
    for _ in range(20):
        loaded = _work_stat(guest)
        if loaded["file"] >= 60 * MIB and loaded["anon"] >= 40 * MIB:
            return loaded
        time.sleep(0.5)
    raise AssertionError(f"the load did not show in memory.stat: {loaded}")


@pytest.mark.rig
def test_memory_reclaim_gives_back_cache_in_bounded_steps_down_to_the_floor_and_leaves_anonymous_memory(qemu_guest: QemuGuest) -> None:
    with shell(qemu_guest) as guest:
        loaded = _load(guest)

        outcome = give_back(guest, want_bytes=40 * MIB, floor_bytes=8 * MIB, step_bytes=16 * MIB, max_steps=8)

        after = _work_stat(guest)
        floor = outcome.after.file - 8 * MIB
        to_floor = give_back(guest, want_bytes=1 << 40, floor_bytes=floor, step_bytes=64 * MIB, max_steps=8)
        swapped = dict(line.split() for line in guest.run(("cat", "/proc/vmstat")).stdout.splitlines())["pswpout"]
    assert outcome.method == "memory.reclaim" and outcome.before.source == MEMORY_STAT
    assert outcome.result == "ok", outcome.detail
    assert 3 <= outcome.steps <= 6  # 40 MiB in steps of at most 16 MiB, memory.stat re-read after each
    assert 36 * MIB <= outcome.freed_bytes <= 56 * MIB  # about what was asked, not everything
    assert loaded["file"] - after["file"] >= 36 * MIB
    assert after["anon"] >= loaded["anon"] - MIB and swapped == "0"  # swappiness=0: nothing went to swap
    # asked for everything, it stops at the floor (the kernel may overshoot a step by a little)
    assert floor - 2 * MIB <= to_floor.after.file and 4 * MIB <= to_floor.freed_bytes <= 10 * MIB


# A stand-in wsl.exe that records its arguments and runs what follows `--exec` on this machine,
# so the Windows path reaches a real kernel.
_WSL_EXE = """#!{python}
import json, os, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
argv = sys.argv[sys.argv.index("--exec") + 1:]
os.execvp(argv[0], argv)
"""


@pytest.mark.rig
def test_a_kernel_that_refuses_swappiness_gets_its_cache_dropped_never_plain_memory_reclaim(qemu_guest_6_1: QemuGuest) -> None:
    with shell(qemu_guest_6_1) as guest:
        loaded = _load(guest)
        refused = guest.run(write_argv(MEMORY_RECLAIM, f"{MIB} swappiness=0"))
        outcome = give_back(guest, want_bytes=40 * MIB, floor_bytes=8 * MIB, step_bytes=16 * MIB, max_steps=8)
        after = _work_stat(guest)
        swapped = dict(line.split() for line in guest.run(("cat", "/proc/vmstat")).stdout.splitlines())["pswpout"]
    assert refused.returncode != 0  # Linux 6.1: "swappiness=" is not a memory.reclaim key
    assert outcome.method == "drop_caches" and outcome.result == "ok", outcome.detail
    assert loaded["file"] - after["file"] >= 56 * MIB  # drop_caches 1 empties the clean page cache
    assert after["anon"] >= loaded["anon"] - MIB and swapped == "0"


@pytest.mark.rig
def test_controller_from_windows_runs_constant_commands_through_wsl_exe_and_reports(tmp_path: Path) -> None:
    need(os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK), "root with a writable /proc/sys/vm/drop_caches")
    calls, wsl_exe = tmp_path / "calls.jsonl", tmp_path / "wsl.exe"
    wsl_exe.write_text(_WSL_EXE.format(python=sys.executable, log=str(calls)))
    wsl_exe.chmod(0o755)
    data = tmp_path / "dataset.bin"
    data.write_bytes(os.urandom(32 * MIB))
    os.sync()
    data.read_bytes()
    told: list[str] = []
    controller = Controller(
        ReclaimConfig(enabled=True, min_cache_gib=0.0),
        guest=lambda: WslGuest(WslExe(str(wsl_exe), timeout_s=60), "Ubuntu-24.04"),
        working_set=lambda: None,
        notify=told.append,
    )

    message = controller.give_back_now()

    assert re.fullmatch(r"freed \d+\.\d GB of page cache in the WSL guest \(drop_caches\) in \d+\.\d s", message)
    assert told == [message]
    assert _cached_share(data) < 0.1
    argvs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert all(argv[:5] == ["-d", "Ubuntu-24.04", "-u", "root", "--exec"] for argv in argvs)
    assert ["sh", "-c", 'printf "%s" "$1" > "$2"', "wslwatch-reclaim", "1", "/proc/sys/vm/drop_caches"] in [a[5:] for a in argvs]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in controller.samples(0.0)}
    assert samples[("wslwatch_reclaim_actions_total", (("method", "drop_caches"), ("result", "ok")))] == 1
    assert samples[("wslwatch_reclaim_freed_bytes_total", ())] >= 24 * MIB


def test_controller_with_no_running_distro_does_nothing_and_says_why() -> None:
    told: list[str] = []
    controller = Controller(ReclaimConfig(enabled=True), lambda: "no WSL distro runs", lambda: None, told.append)
    assert controller.give_back_now() == "did not give memory back: no WSL distro runs"
    assert told == [] and [s.name for s in controller.samples(0.0)] == ["wslwatch_reclaim_freed_bytes_total"]


def test_the_notification_says_what_windows_got_back() -> None:
    before = Cache(30 * 10**9, 5 * 10**9, MEMORY_STAT)
    outcome = Outcome("memory.reclaim", "ok", before, before._replace(file=16 * 10**9), 14, 3.14)
    assert describe(outcome, 37.4e9, 23.2e9) == "gave back 14.2 GB to Windows (VM working set 37.4 → 23.2 GB) in 3.1 s"
    failed = Outcome("drop_caches", "failed", before, before, 2, 0.1, "sh: can't create /proc/sys/vm/drop_caches: Read-only file system")
    assert describe(failed, 1e9, 1e9) == (
        "could not give memory back to Windows (drop_caches): sh: can't create /proc/sys/vm/drop_caches: Read-only file system"
    )
