"""Where a path lives: its mount (or Windows volume), filesystem and kind, and whether it is cross-OS.

The kinds answer the question users have: is this directory on the ext4 virtual disk, or on
the slow cross-OS share (`/mnt/c` is drvfs over 9P or virtio-fs; `\\\\wsl$\\` is the same
boundary seen from Windows)? Nothing here touches the path itself: a Linux path is looked up
in the mount table, a Windows path is judged by prefix and by the volume facts a probe
child reported (see `collectors/_probe_child.py`).
"""

from __future__ import annotations

import dataclasses
import ntpath
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from wslwatch.collectors.mounts import MountEntry, MountTable, read_mount_table

__all__ = [
    "CROSS_OS_KINDS",
    "MountinfoPlaces",
    "Place",
    "PlaceFinder",
    "WindowsPlaces",
    "default_place_finder",
    "kind_of",
    "place_in",
    "wsl_share_distro",
]

#: Kinds whose files live on the other operating system.
CROSS_OS_KINDS = frozenset({"wsl-drvfs-9p", "wsl-drvfs-virtiofs", "wsl-drvfs", "wsl-9p-from-windows"})

_NETWORK_FSTYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "lustre", "afs", "ncpfs", "gfs2", "ocfs2"}
)


@dataclass(frozen=True)
class Place:
    """The facts `wslwatch where` prints and `wslwatch_path_info` exports for one path."""

    path: str
    mountpoint: str
    fstype: str
    source: str
    kind: str
    cross_os: bool
    readonly: bool


def kind_of(entry: MountEntry) -> str:
    """The kind of a Linux mount (research/io-latency.md §4.2)."""
    fstype, source = entry.fstype, entry.source
    aname = entry.super_option("aname")
    if fstype == "9p":
        return "wsl-drvfs-9p" if aname is not None and aname.split(";")[0] == "drvfs" else "9p"
    if fstype == "virtiofs" and source.startswith("drvfs"):
        return "wsl-drvfs-virtiofs"
    if fstype == "drvfs":
        return "wsl-drvfs"
    if fstype.startswith("fuse.") or fstype in ("fuse", "fuseblk"):
        return "fuse"
    if fstype == "overlay":
        upper = entry.super_option("upperdir") or ""
        return "overlay-docker" if "/docker/" in upper or "containerd" in upper else "overlay"
    if fstype in _NETWORK_FSTYPES or fstype.startswith("nfs"):
        return "network"
    return fstype


def place_in(table: MountTable, path: str) -> Place | None:
    """Where absolute `path` lives by `table` (lexically), or None when no mount holds it."""
    entry = table.find(path)
    if entry is None:
        return None
    kind = kind_of(entry)
    source = entry.source if entry.root == "/" else f"{entry.source}[{entry.root}]"  # findmnt's notation
    return Place(path, entry.mountpoint, entry.fstype, source, kind, kind in CROSS_OS_KINDS, entry.readonly)


class PlaceFinder(Protocol):
    """Turns a path, and what a probe child found out about it, into a `Place`."""

    def place(self, path: str, facts: Mapping[str, Any] | None) -> Place | None:
        """`facts` is the child's `place` event (realpath, volume), or None to judge `path` lexically."""
        ...


class MountinfoPlaces:
    """Linux: the child's resolved path, looked up in this process's mount table."""

    def __init__(self, mountinfo: str = "/proc/self/mountinfo") -> None:
        self._mountinfo = mountinfo

    def place(self, path: str, facts: Mapping[str, Any] | None) -> Place | None:
        resolved = str(facts["realpath"]) if facts and facts.get("realpath") else path
        found = place_in(read_mount_table(self._mountinfo), resolved)
        return None if found is None else dataclasses.replace(found, path=path)


_WSL_PREFIXES = ("\\\\wsl$\\", "\\\\wsl.localhost\\", "\\\\?\\unc\\wsl$\\", "\\\\?\\unc\\wsl.localhost\\")
_DRIVE_REMOTE = 4


def _wsl_share(path: str) -> tuple[str, str] | None:
    """(the `\\\\wsl$\\` prefix as written, the distro) of a path into a WSL distro seen from Windows."""
    windows = path.replace("/", "\\")
    lowered = windows.lower()
    for prefix in _WSL_PREFIXES:
        if lowered.startswith(prefix):
            return windows[: len(prefix)], windows[len(prefix) :].split("\\", 1)[0]
    return None


def _wsl_share_root(path: str) -> str | None:
    """`\\\\wsl.localhost\\Ubuntu\\` for a path into a WSL distro seen from Windows, else None."""
    share = _wsl_share(path)
    return None if share is None else share[0] + share[1] + "\\"


def wsl_share_distro(path: str) -> str | None:
    """`Ubuntu` for `\\\\wsl$\\Ubuntu\\...` or `\\\\wsl.localhost\\Ubuntu\\...` (any slashes, any case), else None."""
    share = _wsl_share(path)
    return None if share is None else share[1]


class WindowsPlaces:
    """Windows: `\\\\wsl$\\` and `\\\\wsl.localhost\\` by prefix; anything else by the volume
    facts (`GetVolumePathNameW`, `GetVolumeInformationW`, `GetDriveTypeW`) the child reported."""

    def place(self, path: str, facts: Mapping[str, Any] | None) -> Place | None:
        volume: Mapping[str, Any] = (facts or {}).get("volume") or {}
        fstype = str(volume.get("fstype", ""))
        readonly = bool(volume.get("readonly", False))
        share = _wsl_share_root(path)
        if share is not None:
            return Place(path, share, fstype or "9p", share.rstrip("\\"), "wsl-9p-from-windows", True, readonly)
        if not volume:
            return None
        root = str(volume["root"])
        kind = "network" if volume.get("drive_type") == _DRIVE_REMOTE else fstype.lower() or "unknown"
        source = root.rstrip("\\") if root.startswith("\\\\") else ntpath.splitdrive(root)[0] or root
        return Place(path, root, fstype, source, kind, False, readonly)


def default_place_finder() -> PlaceFinder:
    """The finder for the operating system this runs on."""
    return WindowsPlaces() if sys.platform == "win32" else MountinfoPlaces()
