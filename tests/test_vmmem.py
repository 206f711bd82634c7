"""VmmemCollector finds and measures real processes named like the WSL VM process.

Each stand-in is the real Python interpreter started through a symlink named `vmmemWSL` (or
`vmmem`, ...), so the kernel and psutil report that name; it allocates and touches a known
amount of memory before it says "ready".
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from catalogue_check import assert_catalogued
from fake_wsl import FakeWsl, fake_wsl

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.collectors.vmmem import SharedNameCheck, VmmemCollector, _proc_comm_names, _psutil_names
from wslwatch.core import Sample

MiB = 1 << 20
CHILD = (
    "import sys\n"
    "block = b'\\x01' * (int(sys.argv[1]) << 20)\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
    "sys.stdin.read()\n"
)
DEFAULT_NAMES = ("vmmemWSL", "vmmem")

__all__ = ["fake_wsl"]  # the fixture, used by name

Spawn = Callable[[str, int], "subprocess.Popen[bytes]"]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Starts a process named `name` holding `mib` MiB; every one is killed and reaped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    interpreter = os.path.realpath(sys.executable)

    def start(name: str, mib: int) -> subprocess.Popen[bytes]:
        folder = tmp_path / f"bin{len(started)}"
        folder.mkdir()
        (folder / name).symlink_to(interpreter)
        child = subprocess.Popen(
            [str(folder / name), "-c", CHILD, str(mib)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        started.append(child)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        return child

    yield start
    for child in started:
        child.kill()
        child.wait()


def by_name(samples: list[Sample]) -> dict[str, tuple[dict[str, str], float]]:
    return {s.name: (dict(s.labels), s.value) for s in samples}


def test_no_vm_process_is_up_zero_and_nothing_else() -> None:
    collector = VmmemCollector(["vmmemWSL-not-running-here"], 15.0)
    samples = collector.collect(5.0)
    assert [(s.name, dict(s.labels), s.value) for s in samples] == [("wslwatch_vmmem_up", {}, 0.0)]
    assert_catalogued(samples, 5.0)


def test_finds_vmmemWSL_and_measures_its_working_set(spawn: Spawn) -> None:
    spawn("vmmemWSL", 96)
    now = time.time()
    samples = VmmemCollector(DEFAULT_NAMES, 15.0).collect(now)
    values = by_name(samples)
    assert values["wslwatch_vmmem_up"] == ({}, 1.0)
    labels, working_set = values["wslwatch_vmmem_working_set_bytes"]
    assert labels == {"process": "vmmemWSL"}
    assert 96 * MiB <= working_set <= 96 * MiB + 48 * MiB  # the block plus the interpreter itself
    assert values["wslwatch_vmmem_private_bytes"][1] >= working_set
    assert_catalogued(samples, now)


def test_names_match_without_regard_to_case_or_an_exe_suffix(spawn: Spawn) -> None:
    spawn("VMMEMwsl.exe", 8)
    values = by_name(VmmemCollector(["vmmemWSL"], 15.0).collect(1.0))
    assert values["wslwatch_vmmem_working_set_bytes"][0] == {"process": "VMMEMwsl.exe"}


def test_the_first_configured_name_wins_whatever_the_process_order(spawn: Spawn) -> None:
    spawn("vmmem", 8)
    spawn("vmmemWSL", 64)
    wsl_first = by_name(VmmemCollector(["vmmemWSL", "vmmem"], 15.0).collect(1.0))
    plain_first = by_name(VmmemCollector(["vmmem", "vmmemWSL"], 15.0).collect(1.0))
    assert wsl_first["wslwatch_vmmem_working_set_bytes"][0] == {"process": "vmmemWSL"}
    assert wsl_first["wslwatch_vmmem_working_set_bytes"][1] >= 64 * MiB
    assert plain_first["wslwatch_vmmem_working_set_bytes"][0] == {"process": "vmmem"}
    assert plain_first["wslwatch_vmmem_working_set_bytes"][1] < 64 * MiB


def test_of_several_processes_with_the_winning_name_the_largest_is_reported(spawn: Spawn) -> None:
    spawn("vmmem", 8)
    spawn("vmmem", 80)
    working_set = by_name(VmmemCollector(["vmmem"], 15.0).collect(1.0))["wslwatch_vmmem_working_set_bytes"][1]
    assert working_set >= 80 * MiB


def test_a_process_that_exits_between_collections_is_up_zero(spawn: Spawn) -> None:
    collector = VmmemCollector(DEFAULT_NAMES, 15.0)
    child = spawn("vmmemWSL", 8)
    assert by_name(collector.collect(1.0))["wslwatch_vmmem_up"] == ({}, 1.0)
    child.kill()
    child.wait()
    samples = collector.collect(2.0)
    assert [(s.name, s.value) for s in samples] == [("wslwatch_vmmem_up", 0.0)]


def test_an_exited_process_still_listed_is_gone_not_zero_bytes(spawn: Spawn) -> None:
    """A zombie (exited, not reaped) is still listed under its name but has no memory left."""
    child = spawn("vmmemWSL", 8)
    child.kill()
    deadline = time.monotonic() + 5
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the killed child never became a zombie"
        time.sleep(0.01)
    samples = VmmemCollector(DEFAULT_NAMES, 15.0).collect(1.0)
    assert [(s.name, s.value) for s in samples] == [("wslwatch_vmmem_up", 0.0)]


def test_the_quick_linux_listing_names_processes_as_psutil_does(spawn: Spawn) -> None:
    child = spawn("vmmemWSL", 1)
    quick, slow = dict(_proc_comm_names()), dict(_psutil_names())
    assert quick[child.pid] == slow[child.pid] == "vmmemWSL"
    # Processes start, exit and exec between the two listings (other work runs here too), so the
    # listings must agree on most processes, not all. psutil completes names of 15+ characters.
    both = quick.keys() & slow.keys()
    assert len(both) >= 0.8 * len(slow)
    short = [pid for pid in both if len(slow[pid]) < 15]
    assert sum(quick[pid] == slow[pid] for pid in short) >= 0.8 * len(short)


def test_the_wslconfig_check_dates_the_same_vm_process(spawn: Spawn) -> None:
    """The Windows `.wslconfig` host asks when the VM started: `vmmemWSL` (the newest), else a
    lone `vmmem`; two `vmmem` are ambiguous (other Hyper-V VMs on Windows 10)."""
    from wslwatch.collectors._wslconfig_hosts import _find_vm_process

    def started(child: subprocess.Popen[bytes]) -> tuple[int, float]:
        return child.pid, psutil.Process(child.pid).create_time()

    assert _find_vm_process() is None
    lone = spawn("vmmem", 1)
    assert _find_vm_process() == started(lone)
    spawn("VMMEM.exe", 1)
    assert _find_vm_process() is None, "two vmmem processes: which is WSL's cannot be told"
    spawn("vmmemWSL", 1)
    time.sleep(0.02)  # create times have 10 ms resolution
    newest = spawn("vmmemWSL", 1)
    assert _find_vm_process() == started(newest)


# Names of this module's own: processes other tests on this machine start as `vmmem`/`vmmemWSL`
# must not decide these. `vmmem-t` plays the Hyper-V VMs' shared name, `wslvm-t` WSL's own.
OWN_NAMES = ("wslvm-t", "vmmem-t")


def windows(build: int, wsl: WslExe) -> SharedNameCheck:
    return SharedNameCheck(build, wsl, shared_name="vmmem-t")


def test_on_windows_11_a_plain_vmmem_is_another_vm_never_wsls(spawn: Spawn, fake_wsl: FakeWsl) -> None:
    spawn("vmmem-t", 8)  # e.g. Windows Sandbox: WSL's own is always vmmemWSL on build 22000+
    check = windows(22631, WslExe(fake_wsl.path))
    samples = VmmemCollector(OWN_NAMES, 15.0, check).collect(1.0)
    assert [(s.name, s.value) for s in samples] == [("wslwatch_vmmem_up", 0.0)]
    assert fake_wsl.calls() == [], "the build alone decides; wsl.exe is not run"
    spawn("wslvm-t", 8)
    values = by_name(VmmemCollector(OWN_NAMES, 15.0, check).collect(2.0))
    assert values["wslwatch_vmmem_working_set_bytes"][0] == {"process": "wslvm-t"}


def test_on_windows_10_vmmem_is_wsls_only_while_a_distro_runs(spawn: Spawn, fake_wsl: FakeWsl) -> None:
    spawn("vmmem-t", 8)
    collector = VmmemCollector(OWN_NAMES, 15.0, windows(19045, WslExe(fake_wsl.path)))
    fake_wsl.change(running=[])  # a Hyper-V VM runs, WSL does not
    assert [(s.name, s.value) for s in collector.collect(1.0)] == [("wslwatch_vmmem_up", 0.0)]
    fake_wsl.change(running=["Ubuntu-20.04"])
    values = by_name(collector.collect(2.0))
    assert values["wslwatch_vmmem_up"] == ({}, 1.0)
    assert values["wslwatch_vmmem_working_set_bytes"][0] == {"process": "vmmem-t"}
    assert fake_wsl.calls() == [["--list", "--running", "--quiet"]] * 2
    assert fake_wsl.execs() == []
