"""Classifying where a path lives: the kinds of real WSL/Docker/Linux mounts, and Windows paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from wslwatch.collectors.mounts import parse_mount_table
from wslwatch.collectors.places import CROSS_OS_KINDS, MountinfoPlaces, Place, WindowsPlaces, kind_of, place_in

FIXTURES = Path(__file__).parent / "fixtures"


def kinds(name: str) -> list[tuple[str, str, bool]]:
    table = parse_mount_table((FIXTURES / name).read_text(encoding="utf-8"))
    out = []
    for entry in table.entries:
        kind = kind_of(entry)
        out.append((entry.mountpoint, kind, kind in CROSS_OS_KINDS))
    return out


def test_wsl_mount_lines_of_every_shape() -> None:
    assert kinds("wsl-mount-output.txt") == [
        ("/mnt/c", "wsl-drvfs-9p", True),  # 9p, trans=fd
        ("/mnt/c", "wsl-drvfs-9p", True),  # 9p, trans=virtio
        ("/usr/lib/wsl/drivers", "9p", False),  # aname=drivers: other 9p
        ("/mnt/c", "wsl-drvfs-9p", True),  # cache=5
        ("/mnt/c", "wsl-drvfs-virtiofs", True),  # virtiofs, source drvfsC0
        ("/mnt/c", "wsl-drvfs", True),  # WSL 1
        ("/mnt/c", "wsl-drvfs-9p", True),  # /proc/mounts, C:\134
        ("/Docker/host", "wsl-drvfs-9p", True),  # raw spaces in the options
        ("/init", "9p", False),  # aname=tools
    ]


def test_wsl_mountinfo() -> None:
    assert kinds("wsl-mountinfo-issue7152.txt") == [
        ("/usr/lib/modules/7.0.13-arch1-1-wsl-microsoft-standard-WSL2", "overlay", False),
        ("/mnt/wsl", "tmpfs", False),
        ("/usr/lib/wsl/drivers", "9p", False),
        ("/mnt/wslg", "tmpfs", False),
        ("/mnt/wslg/distro", "ext4", False),
        ("/usr/lib/wsl/lib", "overlay", False),
        ("/mnt/wslg/versions.txt", "overlay", False),
    ]


def test_linux_edge_cases_and_docker() -> None:
    assert [k for _, k, _ in kinds("linux-mountinfo-edge-cases.txt")] == [
        "fuse", "ext4", "tmpfs", "tmpfs", "overlay", "tmpfs",
    ]  # fmt: skip
    assert kinds("docker-overlay-mountinfo.txt")[0] == ("/", "overlay-docker", False)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("1 0 0:1 / /m rw - overlay overlay rw,lowerdir=/l,upperdir=/var/lib/containerd/x/fs,workdir=/w", "overlay-docker"),
        ("1 0 0:1 / /m rw - fuse.sshfs me@host:/ rw,user_id=0", "fuse"),
        ("1 0 0:1 / /m rw - fuseblk /dev/sdb1 rw", "fuse"),
        ("1 0 0:1 / /m rw - nfs4 srv:/export rw,vers=4.2", "network"),
        ("1 0 0:1 / /m rw - cifs //srv/share rw,vers=3.0", "network"),
        ("1 0 0:1 / /m rw - virtiofs myfs rw", "virtiofs"),  # a virtio-fs share that is not drvfs
        ("1 0 0:1 / /m rw - 9p drvfsx rw,aname=drvfsx;path=C:\\", "9p"),  # only aname=drvfs is drvfs
        ("1 0 0:1 / /m rw - btrfs /dev/sdc rw", "btrfs"),
    ],
)
def test_kinds_by_rule(line: str, kind: str) -> None:
    entry = parse_mount_table(line).entries[0]
    assert kind_of(entry) == kind


def test_place_carries_bind_root_in_source_and_cross_os() -> None:
    table = parse_mount_table("9 1 0:80 /Users/me /mnt/me rw - 9p C:\\134 rw,aname=drvfs;path=C:\\;uid=1000")
    place = place_in(table, "/mnt/me/data")
    assert place == Place("/mnt/me/data", "/mnt/me", "9p", "C:\\[/Users/me]", "wsl-drvfs-9p", True, False)


def test_mountinfo_places_use_the_resolved_path_and_keep_the_given_one(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "1 0 8:1 / / rw - ext4 /dev/sda rw\n2 1 0:50 / /mnt/c rw,noatime - 9p C:\\134 rw,aname=drvfs;path=C:\\\n"
    )
    finder = MountinfoPlaces(str(mountinfo))
    lexical = finder.place("/home/me/models", None)
    resolved = finder.place("/home/me/models", {"realpath": "/mnt/c/models"})
    assert lexical is not None and lexical.kind == "ext4"
    assert resolved is not None and (resolved.path, resolved.kind, resolved.cross_os) == ("/home/me/models", "wsl-drvfs-9p", True)


@pytest.mark.parametrize(
    "path",
    [
        "\\\\wsl$\\Ubuntu\\home\\me\\data",
        "\\\\wsl.localhost\\Ubuntu-22.04\\home",
        "\\\\WSL.LOCALHOST\\Ubuntu\\x",
        "//wsl$/Ubuntu/home",
        "\\\\?\\UNC\\wsl.localhost\\Ubuntu\\home",
    ],
)
def test_windows_paths_into_wsl_are_cross_os_by_prefix(path: str) -> None:
    place = WindowsPlaces().place(path, None)
    assert place is not None and (place.kind, place.cross_os) == ("wsl-9p-from-windows", True)
    assert place.mountpoint.lower().endswith(("\\ubuntu\\", "\\ubuntu-22.04\\"))


def test_windows_volume_facts() -> None:
    finder = WindowsPlaces()
    fixed = {"volume": {"root": "C:\\", "fstype": "NTFS", "drive_type": 3, "readonly": False}}
    share = {"volume": {"root": "\\\\nas\\data\\", "fstype": "NTFS", "drive_type": 4, "readonly": True}}
    assert finder.place("C:\\data", fixed) == Place("C:\\data", "C:\\", "NTFS", "C:", "ntfs", False, False)
    assert finder.place("\\\\nas\\data\\x", share) == Place("\\\\nas\\data\\x", "\\\\nas\\data\\", "NTFS", "\\\\nas\\data", "network", False, True)
    assert finder.place("C:\\data", None) is None  # nothing known and no WSL prefix


def test_wsl_prefix_wins_over_reported_volume_facts() -> None:
    facts = {"volume": {"root": "\\\\wsl.localhost\\Ubuntu\\", "fstype": "9P", "drive_type": 4, "readonly": False}}
    place = WindowsPlaces().place("\\\\wsl.localhost\\Ubuntu\\home", facts)
    assert place is not None and (place.kind, place.fstype) == ("wsl-9p-from-windows", "9P")
