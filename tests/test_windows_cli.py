"""wslwatch's command line on Windows CPython under Wine, run as a Windows user runs it (`wslwatch.exe`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from wine_checks import READ, grep_output

from rigs.slowfs_rig import SlowFsMount
from rigs.wine import WineRig
from rigs.wsl_standin import WslStandIn
from wslwatch.collectors._probe_child import OPS

pytestmark = pytest.mark.rig


def test_once_json_has_host_ram_and_no_traceback(wine_rig: WineRig) -> None:
    """Wine's PDH cannot read swap (as on Windows machines with performance counters disabled):
    host RAM must still be reported, swap left absent, and nothing printed as a crash."""
    done = wine_rig.wslwatch("once", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    names = {s["name"]: s["value"] for s in report["samples"]}
    assert names["wslwatch_host_memory_total_bytes"] > names["wslwatch_host_memory_available_bytes"] > 0
    assert "wslwatch_host_swap_total_bytes" not in names
    assert "host_memory" not in report["errors"]


def test_without_gpu_counters_per_process_vram_is_not_available_with_a_reason(wine_rig: WineRig, tmp_path: Path) -> None:
    """Wine's PDH has no `GPU Process Memory` set (as Windows before 1709 or without a WDDM 2.x
    driver): the real win32pdh read fails, and `once` says so instead of exporting or crashing."""
    config = tmp_path / "wslwatch.toml"
    config.write_text("[collectors.gpu_holders]\nenabled = true\n")
    done = wine_rig.wslwatch("once", "--json", "--config", wine_rig.windows_path(config))
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert not [s for s in report["samples"] if s["name"] == "wslwatch_gpu_process_memory_bytes"]
    reason = report["errors"]["gpu_holders"]
    assert "GPU Process Memory is not available here" in reason and "gpu_holders] enabled = false" in reason


def test_probe_of_a_windows_path_with_a_space_times_it_and_cleans_up(wine_rig: WineRig, tmp_path: Path) -> None:
    data = tmp_path / "training data"
    data.mkdir()
    done = wine_rig.wslwatch("probe", wine_rig.windows_path(data), "--json", "--samples", "3")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    (path,) = json.loads(done.stdout)["paths"]
    assert path["path"] == wine_rig.windows_path(data)
    assert path["status"] == "ok" and not path["cross_os"]
    # the volume as GetVolumeInformationW tells it: a local NTFS drive, writable; all is timed but
    # what needs O_DIRECT or posix_fadvise, which Windows has not
    assert (path["kind"], path["fstype"], path["mountpoint"]) == ("ntfs", "NTFS", wine_rig.windows_path(data)[:3])
    assert not path["readonly"] and set(path["skipped"]) == {"read_direct", "read_uncached"}
    assert set(path["ops"]) == set(OPS) - {"read_direct", "read_uncached"}
    assert all(op["n"] == 3 and op["min_s"] > 0 for op in path["ops"].values())
    assert list(data.iterdir()) == []  # the probe's own folder is gone again


def test_a_watched_windows_path_is_placed_on_its_volume(wine_rig: WineRig, tmp_path: Path) -> None:
    """`wslwatch_path_info` of a `[[paths]]` directory on a local drive: the volume facts the probe
    read (GetVolumePathNameW, GetVolumeInformationW, GetDriveTypeW), a writable NTFS drive."""
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "wslwatch.toml"
    config.write_text(f"[[paths]]\npath = '{wine_rig.windows_path(data)}'\nname = 'data'\n")
    done = wine_rig.wslwatch("once", "--json", "--config", wine_rig.windows_path(config))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    (info,) = [s["labels"] for s in json.loads(done.stdout)["samples"] if s["name"] == "wslwatch_path_info"]
    drive = wine_rig.windows_path(data)[:2]
    assert {key: info[key] for key in ("mountpoint", "fstype", "source", "kind", "cross_os", "readonly")} == {
        "mountpoint": drive + "\\", "fstype": "NTFS", "source": drive, "kind": "ntfs", "cross_os": "false", "readonly": "false",
    }  # fmt: skip


def test_doctor_reads_the_guest_through_wsl_exe_and_names_what_fails(wine_rig: WineRig, wsl_exe: WslStandIn) -> None:
    wsl_exe.reply("--list --running --quiet", "Ubuntu\n")
    wsl_exe.reply("--list --quiet", "Ubuntu\n")
    wsl_exe.reply(READ, grep_output(), mode="raw")
    done = wine_rig.wslwatch("doctor", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    findings = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    assert findings["wslwatch.os"]["detail"].startswith("Windows")
    assert findings["wsl.guest"]["status"] == "ok", findings["wsl.guest"]
    # Wine's NtQuerySystemInformation cannot list processes (psutil: OSError 22): said, with a next step.
    vm = findings["wsl.vm_process"]
    assert vm["status"] == "fail" and "NtQuerySystemInformation" in vm["detail"] and vm["fix"]


def probe_children(of: Path) -> list[str]:
    """Command lines of live probe processes of the test whose temporary folder is `of` (Wine
    shows a Windows process's command line in /proc; other tests may probe meanwhile)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "_probe_child.py" in text and of.name in text:
            found.append(text)
    return found


def test_a_probe_stuck_on_a_hung_mount_is_reported_stalled_at_its_deadline(
    wine_rig: WineRig, slowfs: SlowFsMount, tmp_path: Path  # noqa: F811
) -> None:
    """A directory listing that never returns (FUSE leaves it unanswered: a real kernel-level stall
    under the Windows process, which no signal ends) is reported stalled at the deadline, and
    wslwatch does not wait for the stuck process: it kills it and goes on. The killed process ends
    once the listing returns (as a process stuck in a hung driver on Windows)."""
    data = slowfs.mountpoint / "data"
    data.mkdir()
    slowfs.set(ops=["readdir"], hang=True)
    started = time.monotonic()
    cli = wine_rig.popen([wine_rig.script("wslwatch"), "probe", wine_rig.windows_path(data), "--json", "--timeout", "4"])
    try:
        cli.wait(60)  # its pipes may stay open: the stuck process holds them under Wine
        took = time.monotonic() - started
        assert probe_children(of=tmp_path), "the stuck probe process is still in its listing"
    finally:
        slowfs.set()  # the listing returns: the killed process ends
    out, err = cli.communicate(timeout=60)
    assert "Traceback" not in err, err
    (path,) = json.loads(out)["paths"]
    assert path["status"] == "stalled", path
    # Wine lists a directory to look a new file name up case-insensitively, so the stall already
    # shows while the probe prepares its folder, not first in its timed listing as on Linux.
    assert "the probe process was killed" in path["reason"]
    assert took < 4 + 15, f"the command took {took:.1f} s with a 4 s deadline"
    deadline = time.monotonic() + 30
    while probe_children(of=tmp_path):
        assert time.monotonic() < deadline, "the killed probe process lived on after its listing returned"
        time.sleep(0.2)
