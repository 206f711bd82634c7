"""The Windows reader of WslGuestCollector, through the stand-in `wsl.exe` of `fake_wsl.py`,
which runs the reader's `grep` for real on this machine's (or a fixture's) proc files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
from catalogue_check import assert_catalogued
from fake_wsl import FIXTURES, FakeWsl, fake_wsl, recorded_utf16_list, recorded_verbose_list
from rigs.cgroups import child, memory_cgroups, uncached_file

from wslwatch.collectors._wsl_exe import WslExe, decode_output, windows_wsl_exe
from wslwatch.collectors.wsl_guest import HOLDERS_SCRIPT, ProcReader, WslExeReader, WslGuestCollector
from wslwatch.collectors.wslconfig import WslconfigCollector
from wslwatch.core import CollectorError, NoData

VM = FIXTURES / "proc-debian-vm"

__all__ = ["fake_wsl"]  # the fixture, used by name


def guest(
    fake: FakeWsl,
    proc_root: Path | str = VM,
    distro: str = "",
    timeout_s: float = 5.0,
    idle_timeout_s: Callable[[], float | None] = lambda: None,
) -> WslGuestCollector:
    reader = WslExeReader(distro, str(proc_root), WslExe(fake.path, timeout_s), idle_timeout_s=idle_timeout_s)
    return WslGuestCollector(30.0, str(proc_root), distro, reader=reader)


def test_the_recorded_lists_are_what_the_tests_assume() -> None:
    assert recorded_verbose_list() == (["Ubuntu-20.04", "Ubuntu-20.04.wsl1", "Alpine"], ["Ubuntu-20.04"])
    assert recorded_utf16_list() == ["Ubuntu", "Legacy", "Ubuntu-tmp"]


def test_reads_the_running_distro_with_one_exec(fake_wsl: FakeWsl) -> None:
    samples = guest(fake_wsl).collect(1000.0)
    direct = WslGuestCollector(30.0, str(VM), "", reader=ProcReader(str(VM))).collect(1000.0)
    assert samples == direct  # the same files give the same samples through either reader
    assert_catalogued(samples, 1000.0)
    paths = [f"{VM}/meminfo", f"{VM}/vmstat", f"{VM}/stat", f"{VM}/pressure/memory"]
    assert fake_wsl.calls() == [
        ["--list", "--running", "--quiet"],
        ["-d", "Ubuntu-20.04", "--exec", "grep", "-s", "-H", "^", *paths],
    ]
    assert fake_wsl.utf8_requests() == {"1"}


def test_a_stopped_configured_distro_is_never_exec_ed_a_running_one_is_read_instead(fake_wsl: FakeWsl) -> None:
    guest(fake_wsl, distro="Alpine").collect(1000.0)  # Alpine stopped; Ubuntu-20.04 keeps the VM (one kernel) up
    assert [call[:2] for call in fake_wsl.execs()] == [["-d", "Ubuntu-20.04"]]
    fake_wsl.change(running=[])
    with pytest.raises(NoData, match="no WSL distro is running; the guest is read only while the VM runs, never woken"):
        guest(fake_wsl, distro="Alpine").collect(1100.0)
    assert len(fake_wsl.execs()) == 1


def test_reads_through_the_first_running_distro_not_the_stopped_default(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(installed=["Ubuntu-20.04", "docker-desktop", "Alpine"], running=["docker-desktop", "Alpine"])
    guest(fake_wsl).collect(1000.0)
    assert [call[:2] for call in fake_wsl.execs()] == [["-d", "docker-desktop"]]
    assert ["--list", "--quiet"] not in fake_wsl.calls(), "the default distro is not looked up"


def test_nothing_running_at_all(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(running=[])
    with pytest.raises(NoData):
        guest(fake_wsl).collect(1000.0)
    assert fake_wsl.execs() == []


def test_a_distro_name_matches_without_regard_to_case_and_is_used_as_listed(fake_wsl: FakeWsl) -> None:
    guest(fake_wsl, distro="ubuntu-20.04").collect(1000.0)
    assert [call[:2] for call in fake_wsl.execs()] == [["-d", "Ubuntu-20.04"]]


def test_an_unknown_distro_names_the_installed_ones(fake_wsl: FakeWsl) -> None:
    message = r"no distro named 'Debian' \(installed: Ubuntu-20.04, Ubuntu-20.04.wsl1, Alpine\)"
    with pytest.raises(CollectorError, match=message) as error:
        guest(fake_wsl, distro="Debian").collect(1000.0)
    assert not isinstance(error.value, NoData)
    assert fake_wsl.execs() == []


def test_reads_are_at_least_30_s_apart_and_stop_when_the_distro_stops(fake_wsl: FakeWsl) -> None:
    collector = guest(fake_wsl, distro="Ubuntu-20.04")
    first = collector.collect(1000.0)
    again = collector.collect(1010.0)  # too soon: the last read, while the distro still runs
    assert len(fake_wsl.execs()) == 1
    assert [s.value for s in again] == [s.value for s in first] and {s.ts for s in again} == {1010.0}
    collector.collect(1029.9)
    assert len(fake_wsl.execs()) == 1
    collector.collect(1030.0)
    assert len(fake_wsl.execs()) == 2
    fake_wsl.change(running=[])
    with pytest.raises(NoData):
        collector.collect(1035.0)  # stopped: no stale numbers from the last read either
    fake_wsl.change(running=["Ubuntu-20.04"])
    collector.collect(1036.0)  # started again by its user: read at once
    assert len(fake_wsl.execs()) == 3
    running, installed = ["--list", "--running", "--quiet"], ["--list", "--quiet"]
    assert [call for call in fake_wsl.calls() if "--exec" not in call] == [running] * 5 + [installed, running]


def test_utf16_output_of_an_old_wsl_exe_is_decoded(fake_wsl: FakeWsl) -> None:
    names = recorded_utf16_list()
    fake_wsl.change(installed=names, running=names[:1], honours_wsl_utf8=False)
    samples = guest(fake_wsl).collect(1000.0)
    assert [call[:2] for call in fake_wsl.execs()] == [["-d", "Ubuntu"]]
    assert {s.name for s in samples} >= {"wslwatch_guest_memory_total_bytes", "wslwatch_guest_cpu_seconds_total"}


def test_decode_output_takes_utf16le_or_utf8() -> None:
    assert decode_output("Ubuntu\r\nLegacy\r\n".encode("utf-16-le")) == "Ubuntu\nLegacy\n"
    assert decode_output("\ufeffUbuntu\r\n".encode("utf-16-le")) == "Ubuntu\n"
    assert decode_output("Ubuntu-20.04\r\nDébian\r\n".encode()) == "Ubuntu-20.04\nDébian\n"


def test_a_guest_without_psi_reads_the_rest(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    root = tmp_path / "proc"
    shutil.copytree(VM, root)
    (root / "pressure/memory").unlink()
    names = {s.name for s in guest(fake_wsl, root).collect(1000.0)}
    assert "wslwatch_guest_memory_pressure_some_ratio" not in names
    assert "wslwatch_guest_memory_total_bytes" in names


def test_a_required_file_missing_in_the_guest(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    root = tmp_path / "proc"
    shutil.copytree(VM, root)
    (root / "vmstat").unlink()
    message = rf"reading {root}/vmstat in WSL distro 'Ubuntu-20.04' through wsl.exe failed \(exit status 2\)"
    with pytest.raises(CollectorError, match=message):
        guest(fake_wsl, root, distro="Ubuntu-20.04").collect(1000.0)


def test_wsl_exe_refusing_the_exec_is_reported_with_its_message(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(installed=["Other"], running=["Ubuntu-20.04"])  # unregistered between the two calls
    with pytest.raises(CollectorError, match="exit status 255.*There is no distribution with the supplied name"):
        guest(fake_wsl, distro="Ubuntu-20.04").collect(1000.0)


NO_DISTROS = "Windows Subsystem for Linux has no installed distributions."


@pytest.mark.parametrize(
    ("said", "status", "told"),
    [
        # research/windows.md: errors exit -1 (4294967295 on Windows; 255 from the stand-in here)
        (f"{NO_DISTROS}\n", 255, NO_DISTROS),
        ("", 255, "no message"),
        ("", -9, "no message"),  # inside WSL, a wsl.exe killed by a signal
    ],
)
def test_a_failing_list_is_reported_with_wsl_exes_message(fake_wsl: FakeWsl, said: str, status: int, told: str) -> None:
    fake_wsl.change(list_error=[said, status])
    with pytest.raises(CollectorError) as caught:
        WslExe(fake_wsl.path).distros("--running")
    assert str(caught.value) == f"`{fake_wsl.path} --list --running --quiet` failed with exit status {status}: {told}"


def test_a_wsl_exe_that_cannot_be_run_says_so(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match=f"could not run `{tmp_path} --list --quiet`: .*Permission denied"):
        WslExe(str(tmp_path)).distros()  # a folder, not a program


def test_no_wsl_exe(tmp_path: Path) -> None:
    reader = WslExeReader("", "/proc", WslExe(str(tmp_path / "wsl.exe")))
    with pytest.raises(CollectorError, match="wsl.exe was not found: WSL is not installed"):
        WslGuestCollector(30.0, "/proc", "", reader=reader).collect(1.0)


def test_a_hanging_wsl_exe_is_stopped_at_its_deadline(fake_wsl: FakeWsl) -> None:
    fake_wsl.change(sleep=30)
    with pytest.raises(CollectorError, match=r"wsl.exe --list --running --quiet` did not finish within 0.5s and was stopped"):
        guest(fake_wsl, timeout_s=0.5).collect(1000.0)


def test_a_hanging_wsl_exe_is_given_five_seconds_by_default(fake_wsl: FakeWsl) -> None:
    """wsl.exe answers in well under a second when WSL is healthy; five seconds leave room for a
    slow first call and still end a stuck one within one collection."""
    fake_wsl.change(sleep=30)
    with pytest.raises(CollectorError, match=r"`[^`]*wsl.exe --version` did not finish within 5s and was stopped"):
        WslExe(fake_wsl.path).run("--version")


def test_holders_come_through_the_same_one_exec(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    """The guest's holders ride in the one read: real processes and real cgroups of this machine,
    read by the stand-in's real `sh`, give what the direct reader gives from the same files."""
    data = uncached_file(tmp_path / "dataset.bin", 64 * (1 << 20))
    reader = WslExeReader("", "/proc", WslExe(fake_wsl.path, 10.0), cgroup_root="/sys/fs/cgroup")
    collector = WslGuestCollector(30.0, "/proc", "", reader=reader, top_n=1000)
    with memory_cgroups("cache.scope") as top, child("anon", 256 << 20) as big, child("file", 0, top / "cache.scope", data):
        samples = collector.collect(1000.0)
    assert len(fake_wsl.execs()) == 1 and fake_wsl.execs()[0][3:6] == ["/bin/sh", "-c", HOLDERS_SCRIPT]
    processes = {s.labels["pid"]: s for s in samples if s.name == "wslwatch_guest_process_memory_bytes"}
    assert processes[str(big)].labels["process"].startswith("python") and processes[str(big)].value >= 256 << 20
    cgroups = {(s.labels["cgroup"], s.labels["kind"]): s for s in samples if s.name == "wslwatch_guest_cgroup_memory_bytes"}
    cache = cgroups[(f"/{top.name}/cache.scope", "file")]
    assert cache.labels["name"] == "cache.scope" and cache.value >= 64 << 20
    assert_catalogued(samples, 1000.0)


def test_the_holders_ride_in_the_one_read_only_on_their_turn(fake_wsl: FakeWsl) -> None:
    """Every collection is still one wsl.exe start (after the `--list`); the holders' script only
    on the holders' turn, every 60 s, a plain grep in between, while the last holders are exported."""
    reader = WslExeReader("", "/proc", WslExe(fake_wsl.path, 10.0), cgroup_root="/sys/fs/cgroup")
    collector = WslGuestCollector(30.0, "/proc", "", reader=reader, top_n=1000, holders_interval_s=60.0)
    processes = "wslwatch_guest_process_memory_bytes"
    first = collector.collect(1000.0)
    with child("anon", 64 << 20) as pid:
        between = collector.collect(1030.0)
        turn = collector.collect(1060.0)
    calls = fake_wsl.calls()
    assert [call[:1] for call in calls] == [["--list"], ["-d"]] * 3, "one wsl.exe start per collection"
    assert [call[3:6] for call in fake_wsl.execs()] == [["/bin/sh", "-c", HOLDERS_SCRIPT], ["grep", "-s", "-H"], ["/bin/sh", "-c", HOLDERS_SCRIPT]]
    assert [(s.labels, s.value) for s in between if s.name == processes] == [(s.labels, s.value) for s in first if s.name == processes]
    assert str(pid) not in {s.labels["pid"] for s in between if s.name == processes}
    assert str(pid) in {s.labels["pid"] for s in turn if s.name == processes}


def test_holders_due_while_a_read_is_reused_come_with_the_next_read(fake_wsl: FakeWsl, tmp_path: Path) -> None:
    wslconfig_file = tmp_path / ".wslconfig"
    wslconfig_file.write_text("[general]\ninstanceIdleTimeout=60000\n")  # reads 75 s apart
    reader = WslExeReader(
        "", "/proc", WslExe(fake_wsl.path, 10.0), idle_timeout_s=WslconfigCollector(30.0, str(wslconfig_file)).instance_idle_timeout_s,
        cgroup_root="/sys/fs/cgroup",
    )  # fmt: skip
    collector = WslGuestCollector(30.0, "/proc", "", reader=reader, top_n=5, holders_interval_s=60.0)
    held = [{s.labels["pid"] for s in collector.collect(now) if s.name == "wslwatch_guest_process_memory_bytes"}
            for now in (1000.0, 1030.0, 1060.0, 1090.0)]  # fmt: skip
    assert all(held), "the holders are exported at every collection"
    assert [call[3] for call in fake_wsl.execs()] == ["/bin/sh", "/bin/sh"], "read at 1000 and 1090, both with the holders"


def test_reads_are_spaced_beyond_a_longer_instance_idle_timeout_from_wslconfig(
    fake_wsl: FakeWsl, tmp_path: Path
) -> None:
    wslconfig_file = tmp_path / ".wslconfig"
    wslconfig_file.write_text("[general]\ninstanceIdleTimeout=60000\n")  # 60 s: reads 30 s apart would keep it up
    wslconfig = WslconfigCollector(30.0, str(wslconfig_file))
    collector = guest(fake_wsl, distro="Ubuntu-20.04", idle_timeout_s=wslconfig.instance_idle_timeout_s)
    for now in (1000.0, 1030.0, 1060.0, 1074.9):
        collector.collect(now)
    assert len(fake_wsl.execs()) == 1, "no read within the 60 s idle timeout plus a margin"
    collector.collect(1075.0)
    assert len(fake_wsl.execs()) == 2
    wslconfig_file.write_text("[general]\ninstanceIdleTimeout=-1\n")  # never idle-stopped: the usual 30 s
    collector.collect(1105.0)
    assert len(fake_wsl.execs()) == 3


def test_windows_runs_its_own_wsl_exe_never_a_bare_name_found_in_the_current_directory() -> None:
    assert windows_wsl_exe({"SystemRoot": "D:\\Windows"}) == "D:\\Windows\\System32\\wsl.exe"
    assert windows_wsl_exe({}) == "C:\\Windows\\System32\\wsl.exe"
    # a 32-bit Python sees SysWOW64 (no wsl.exe there) as System32
    assert windows_wsl_exe({"SystemRoot": "C:\\WINDOWS"}, is_64bit_python=False) == "C:\\WINDOWS\\Sysnative\\wsl.exe"
