"""Linux mount tables: parse them and find the mount a path lives on, without touching the path.

`/proc/self/mountinfo` is the source of truth (proc(5)):
`id parent major:minor root mountpoint mount_opts [optional...] - fstype source super_opts`.
It is split at the first `" - "`; the kernel escapes space, tab, newline and backslash as
`\\040 \\011 \\012 \\134` in root, mount point and source only, while super options are
printed raw (WSL's `path=C:\\Program Files\\...` holds raw spaces and backslashes).

For bug reports, `parse_mount_table` also reads what users paste instead: `/proc/mounts`
lines, `mount` output (`SRC on MP type FS (OPTS)`) and `findmnt` rows.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

__all__ = ["MountEntry", "MountTable", "parse_mount_table", "read_mount_table"]

_ESCAPES = {"\\040": " ", "\\011": "\t", "\\012": "\n", "\\134": "\\"}
_ESCAPE = re.compile(r"\\(?:040|011|012|134)")

# Kernel tables separate fields by one space and escape only space, tab, newline and
# backslash, so a field may hold other characters Python counts as whitespace (\x1c-\x1f).
_MOUNTINFO_HEAD = re.compile(r"^(\d+) (\d+) (\d+:\d+) ([^ ]+) ([^ ]+) ([^ ]+)(?: [^ ]+)*$")
_PROC_MOUNTS = re.compile(r"^([^ ]+) (/[^ ]*) ([^ ]+) (.*) (\d+) (\d+)$")
_MOUNT_OUTPUT = re.compile(r"^(.*?) on (/.*?) type (\S+) \((.*)\)$")
_FINDMNT = re.compile(r"^[\s│├└─|`-]*(/\S*)\s+(\S+)\s+([\w.+-]+)\s+(\S.*?)\s*$")
_BRACKET_ROOT = re.compile(r"^(.*)\[(/.*)\]$")


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], field)


def _tokens(options: str) -> tuple[str, ...]:
    return tuple(options.split(",")) if options else ()


@dataclass(frozen=True)
class MountEntry:
    """One mount, as the table describes it; ids are None where the format has none."""

    mountpoint: str
    fstype: str
    source: str
    root: str = "/"
    mount_options: tuple[str, ...] = ()
    super_options: str = ""  # raw: may hold spaces, backslashes and `;`-joined sub-options
    mount_id: int | None = None
    parent_id: int | None = None
    device: str = ""  # "major:minor"

    @property
    def readonly(self) -> bool:
        """Read-only by the per-mount options (a read-only bind) or by the superblock's."""
        return "ro" in self.mount_options or "ro" in _tokens(self.super_options)

    def super_option(self, name: str) -> str | None:
        """The value of `name=` among the super options (`aname=drvfs;path=C:\\` gives `drvfs;path=C:\\`)."""
        prefix = f"{name}="
        for token in _tokens(self.super_options):
            if token.startswith(prefix):
                return token[len(prefix) :]
        return None


def _under(path: str, mountpoint: str) -> bool:
    """Whether `path` is `mountpoint` or below it (`/mnt/cc` is not below `/mnt/c`)."""
    return path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")


@dataclass(frozen=True)
class MountTable:
    """Parsed mounts in table order, and the 1-based numbers of lines that were not understood."""

    entries: tuple[MountEntry, ...]
    unreadable: tuple[int, ...] = ()
    _by_id: dict[int, MountEntry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({e.mount_id: e for e in self.entries if e.mount_id is not None})

    def find(self, path: str) -> MountEntry | None:
        """The visible mount holding absolute `path` (lexically): the longest mount point that
        contains it, where a mount covered by a later one at or above its mount point is hidden."""
        path = posixpath.normpath(path)
        candidates = [(i, e) for i, e in enumerate(self.entries) if _under(path, e.mountpoint)]
        visible = [
            (i, e)
            for i, e in candidates
            if not any(j > i and _under(e.mountpoint, f.mountpoint) and not self._is_ancestor(f, e) for j, f in candidates)
        ]
        if not visible:
            return None
        return max(visible, key=lambda item: (len(item[1].mountpoint), item[0]))[1]

    def _is_ancestor(self, older: MountEntry, entry: MountEntry) -> bool:
        seen: set[int] = set()
        current = entry
        while current.parent_id is not None and current.parent_id not in seen:
            seen.add(current.parent_id)
            if current.parent_id == older.mount_id:
                return True
            parent = self._by_id.get(current.parent_id)
            if parent is None:
                return False
            current = parent
        return False


def _mountinfo_line(line: str) -> MountEntry | None:
    left, sep, right = line.partition(" - ")
    head = _MOUNTINFO_HEAD.match(left)
    if not sep or not head:
        return None
    fstype, _, rest = right.partition(" ")
    source, _, super_options = rest.partition(" ")
    if not fstype or not source:
        return None
    mount_id, parent_id, device, root, mountpoint, options = head.groups()
    return MountEntry(
        mountpoint=_unescape(mountpoint),
        fstype=fstype,
        source=_unescape(source),
        root=_unescape(root),
        mount_options=_tokens(options),
        super_options=super_options,
        mount_id=int(mount_id),
        parent_id=int(parent_id),
        device=device,
    )


def _proc_mounts_line(line: str) -> MountEntry | None:
    match = _PROC_MOUNTS.match(line)
    if not match:
        return None
    source, mountpoint, fstype, options = match.groups()[:4]
    return MountEntry(_unescape(mountpoint), fstype, _unescape(source), super_options=options)


def _mount_output_line(line: str) -> MountEntry | None:
    match = _MOUNT_OUTPUT.match(line)
    if not match:
        return None
    source, mountpoint, fstype, options = match.groups()
    return MountEntry(mountpoint, fstype, source, super_options=options)


def _findmnt_line(line: str) -> MountEntry | None:
    match = _FINDMNT.match(line)
    if not match:
        return None
    mountpoint, source, fstype, options = match.groups()
    root = "/"
    bracket = _BRACKET_ROOT.match(source)
    if bracket:
        source, root = bracket.groups()
    return MountEntry(mountpoint, fstype, source, root=root, super_options=options)


_READERS = (_mountinfo_line, _proc_mounts_line, _mount_output_line, _findmnt_line)


def parse_mount_table(text: str) -> MountTable:
    """Parse mountinfo, /proc/mounts, `mount` or `findmnt` lines (mixed is fine); `#` lines
    and blank lines are skipped, other lines nothing understands are listed as unreadable."""
    entries: list[MountEntry] = []
    unreadable: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#") or line.split() == ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"]:
            continue
        entry = next((e for e in (read(line) for read in _READERS) if e is not None), None)
        if entry is None:
            unreadable.append(number)
        else:
            entries.append(entry)
    return MountTable(tuple(entries), tuple(unreadable))


def read_mount_table(path: str = "/proc/self/mountinfo") -> MountTable:
    """This process's mount table (reading it never touches a mounted filesystem)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as file:
        return parse_mount_table(file.read())
