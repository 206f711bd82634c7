"""Mount-table parsing and lookup, over real captured lines and this machine's own mountinfo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wslwatch.collectors.mounts import MountEntry, parse_mount_table, read_mount_table

FIXTURES = Path(__file__).parent / "fixtures"


def table(name: str):  # type: ignore[no-untyped-def]
    return parse_mount_table((FIXTURES / name).read_text(encoding="utf-8"))


def test_escapes_are_undone_in_mount_point_and_source_only() -> None:
    t = table("linux-mountinfo-edge-cases.txt")
    assert not t.unreadable
    spaced = t.find("/srv/lab/dir with space/file")
    assert spaced is not None and spaced.mountpoint == "/srv/lab/dir with space"
    assert t.entries[2].source == "my src"  # \040 in a source
    backslash = t.find("/srv/lab/bind\\back")
    assert backslash is not None and backslash.mountpoint == "/srv/lab/bind\\back"  # \134


def test_a_later_over_mount_wins() -> None:
    entry = table("linux-mountinfo-edge-cases.txt").find("/srv/lab/mnt_t/a")
    assert entry is not None and (entry.mount_id, entry.source) == (45, "second")


def test_a_later_mount_at_the_same_point_wins_in_a_table_without_ids() -> None:
    t = parse_mount_table("/dev/sda1 on /data type ext4 (rw)\n/dev/sdb1 on /data type xfs (rw)\n")
    entry = t.find("/data/x")
    assert entry is not None and entry.source == "/dev/sdb1"


def test_bind_mount_roots_are_kept() -> None:
    t = table("linux-mountinfo-edge-cases.txt")
    assert t.find("/srv/lab/dir with space").root == "/srv/lab/diod_export"  # type: ignore[union-attr]
    assert t.find("/srv/lab/bind\\back/x").root == "/lab_target"  # type: ignore[union-attr]
    wsl = table("wsl-mountinfo-issue7152.txt").find("/mnt/wslg/versions.txt")
    assert wsl is not None and wsl.root == "/etc/versions.txt"


def test_super_options_keep_raw_spaces_and_backslashes() -> None:
    t = table("wsl-mount-output.txt")
    docker = t.find("/Docker/host/x")
    assert docker is not None
    assert docker.super_option("aname") == "drvfs;path=C:\\Program Files\\Docker\\Docker\\resources;symlinkroot=/mnt/"
    assert docker.super_option("trans") == "virtio"
    # /proc/mounts escapes the source (C:\134) but not the options (path=C:\;)
    wsl2 = [e for e in t.entries if e.source == "C:\\" and e.fstype == "9p"]
    assert wsl2 and all("path=C:\\;" in e.super_options for e in wsl2)


def test_super_options_field_may_hold_the_mountinfo_separator() -> None:
    line = "50 27 0:60 / /mnt/x rw - 9p drvfs rw,aname=drvfs;path=D:\\a - b;uid=1000"
    entry = parse_mount_table(line).entries[0]
    assert (entry.fstype, entry.source, entry.super_option("aname")) == ("9p", "drvfs", "drvfs;path=D:\\a - b;uid=1000")


def test_read_only_from_either_option_set() -> None:
    wsl = table("wsl-mountinfo-issue7152.txt")
    assert wsl.find("/usr/lib/wsl/drivers").readonly  # type: ignore[union-attr]  # ro in both sets
    assert wsl.find("/mnt/wslg/distro").readonly  # type: ignore[union-attr]  # ro bind of a rw superblock
    assert not wsl.find("/mnt/wsl").readonly  # type: ignore[union-attr]
    only_super = parse_mount_table("60 27 0:70 / /mnt/ro rw,relatime - ext4 /dev/sdd ro,data=ordered").entries[0]
    assert only_super.readonly


def test_longest_prefix_on_a_path_boundary() -> None:
    t = parse_mount_table(
        "1 0 8:1 / / rw - ext4 /dev/sda rw\n"
        "2 1 0:50 / /mnt/c rw - 9p drvfs rw,aname=drvfs;path=C:\\\n"
        "3 1 0:51 / /mnt/cc rw - tmpfs tmpfs rw\n"
    )
    assert t.find("/mnt/c").mount_id == 2  # type: ignore[union-attr]
    assert t.find("/mnt/c/data/x").mount_id == 2  # type: ignore[union-attr]
    assert t.find("/mnt/cc/x").mount_id == 3  # type: ignore[union-attr]
    assert t.find("/mnt/cd").mount_id == 1  # type: ignore[union-attr]
    assert t.find("/mnt/c/../cc").mount_id == 3  # type: ignore[union-attr]  # lexically normalised


def test_a_mount_over_a_parent_directory_hides_older_mounts_below_it() -> None:
    t = parse_mount_table(
        "1 0 8:1 / / rw - ext4 /dev/sda rw\n"
        "2 1 0:50 / /data/sub rw - tmpfs old rw\n"
        "3 1 0:51 / /data rw - tmpfs new rw\n"
    )
    assert t.find("/data/sub/x").source == "new"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "more",
    [
        "",
        "40 50 8:4 / /a rw - ext4 /dev/sdd rw\n50 40 8:5 / /b rw - ext4 /dev/sde rw\n",  # parents in a cycle
    ],
)
def test_a_mount_over_a_parent_directory_hides_what_is_below_whatever_the_ids(more: str) -> None:
    # /data/x's parent is 25 (not in the table) or 40 (whose parents go round): never /data (20).
    parent = "40" if more else "25"
    lines = f"30 {parent} 8:2 / /data/x rw - ext4 /dev/sdb rw\n20 1 8:1 / /data rw - ext4 /dev/sda rw\n"
    t = parse_mount_table(more + lines)
    entry = t.find("/data/x/y")
    assert entry is not None and entry.mount_id == 20


def test_children_listed_before_their_parent_stay_visible() -> None:
    # as on this test machine: the root mount (27) is listed after /proc (22), its child
    t = parse_mount_table("22 27 0:21 / /proc rw - proc proc rw\n27 1 254:0 / / rw - ext4 /dev/vda rw\n")
    assert t.find("/proc/1").fstype == "proc"  # type: ignore[union-attr]
    assert t.find("/etc").fstype == "ext4"  # type: ignore[union-attr]


def test_mount_output_proc_mounts_and_findmnt_lines_are_read() -> None:
    t = table("wsl-mount-output.txt")
    assert not t.unreadable
    kinds = [(e.mountpoint, e.fstype, e.source) for e in t.entries]
    assert kinds == [
        ("/mnt/c", "9p", "C:\\"),
        ("/mnt/c", "9p", "drvfs"),
        ("/usr/lib/wsl/drivers", "9p", "drivers"),
        ("/mnt/c", "9p", "C:\\"),
        ("/mnt/c", "virtiofs", "drvfsC0"),
        ("/mnt/c", "drvfs", "C:"),
        ("/mnt/c", "9p", "C:\\"),
        ("/Docker/host", "9p", "drvfs"),
        ("/init", "9p", "tools"),
    ]
    assert t.entries[-1].root == "/init"  # findmnt's tools[/init]


def test_lines_nothing_understands_are_reported() -> None:
    t = parse_mount_table("# a comment\n\nhello world\n1 0 8:1 / / rw - ext4 /dev/sda rw\n")
    assert t.unreadable == (3,)
    assert len(t.entries) == 1
    # A mountinfo line cut after its file system type; a `mount` line whose source holds " - ".
    t = parse_mount_table("36 1 8:1 / /a rw - ext4\nhost:/x - y on /mnt/y type nfs (rw)\n")
    assert t.unreadable == (1,)
    assert [(e.source, e.mountpoint) for e in t.entries] == [("host:/x - y", "/mnt/y")]


def test_docker_container_root() -> None:
    t = table("docker-overlay-mountinfo.txt")
    root = t.find("/workspace/data")
    assert root is not None and root.fstype == "overlay" and root.mountpoint == "/"
    assert t.find("/dev/pts/0").fstype == "devpts"  # type: ignore[union-attr]


def _kernel_escape(text: str) -> str:
    return text.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1, max_size=20))
def test_any_escaped_name_round_trips(name: str) -> None:
    mountpoint = f"/mnt/{name}"
    line = f"7 1 0:99 / {_kernel_escape(mountpoint)} rw - tmpfs {_kernel_escape(name)} rw,size=4k"
    entry = parse_mount_table(line).entries[0]
    assert (entry.mountpoint, entry.source, entry.super_options) == (mountpoint, name, "rw,size=4k")


def test_this_machine_each_mount_point_resolves_to_the_device_stat_sees() -> None:
    """Every mount point visible now, read as the daemon reads them; one that cannot be reached
    from here (permissions, a stale mount) or is unmounted meanwhile has nothing to compare."""
    compared = {}
    for mountpoint in sorted({e.mountpoint for e in read_mount_table().entries}):
        try:
            info = os.stat(mountpoint)
        except OSError:
            continue
        entry = read_mount_table().find(mountpoint)  # after the stat: still mounted there
        if isinstance(entry, MountEntry) and entry.mountpoint == mountpoint:
            compared[mountpoint] = (entry.device, f"{os.major(info.st_dev)}:{os.minor(info.st_dev)}")
    assert "/" in compared and "/proc" in compared
    assert {point: devices for point, devices in compared.items() if devices[0] != devices[1]} == {}
