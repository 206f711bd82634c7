"""`wslwatch where PATH...`: which mount or volume each path lives on, and whether it is cross-OS."""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
from typing import Any

from wslwatch.collectors.mounts import parse_mount_table
from wslwatch.collectors.places import Place, default_place_finder, place_in
from wslwatch.collectors.probe import PathProber
from wslwatch.daemon.cmd_common import fail

__all__ = ["advice", "register"]

#: How long resolving a path's symlinks may take before it is judged by its name alone.
_RESOLVE_DEADLINE_S = 5.0

_CROSS_OS_WHY = {
    "wsl-drvfs-9p": "a Windows drive reached through WSL's drvfs over 9P",
    "wsl-drvfs-virtiofs": "a Windows drive reached through WSL's drvfs over virtio-fs",
    "wsl-drvfs": "a Windows drive reached through WSL 1's drvfs",
    "wsl-9p-from-windows": "WSL's Linux files reached from Windows over 9P (\\\\wsl$)",
}


def advice(place: Place) -> str | None:
    """One plain sentence for a cross-OS path: what it is and what to do; None otherwise."""
    why = _CROSS_OS_WHY.get(place.kind)
    if why is None:
        return None
    if place.kind == "wsl-9p-from-windows":
        fix = "run the job inside WSL, or keep its data on a Windows drive"
    else:
        fix = "copy training data into the Linux filesystem (e.g. under your home directory) for full speed"
    return f"{place.path} is on {why}: every file operation crosses the VM boundary; {fix}."


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "where",
        help="show where paths live (mount, filesystem, kind, cross-OS) without doing I/O on them",
        description=(
            "Show the mount point, filesystem, source and kind of each PATH, and whether it crosses "
            "between Windows and WSL. Symlinks are resolved in a separate process with a deadline, so a "
            "hung mount cannot hang this command; no file data is read or written."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument(
        "--mountinfo",
        metavar="FILE",
        help="read this mount table (a copy of /proc/self/mountinfo, /proc/mounts or `mount` output) "
        "instead of this machine's; PATH is then taken literally",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"paths": [{"path", "mountpoint", "fstype", "source", "kind", "cross_os", "readonly"}]}',
    )
    parser.set_defaults(handler=where)


def where(args: argparse.Namespace) -> int:
    if args.mountinfo is not None:
        places = _from_file(args.mountinfo, args.paths)
        if isinstance(places, int):
            return places
    else:
        places = [_here(path) for path in args.paths]
    rows = list(zip(args.paths, places))
    sys.stdout.write(as_json(rows) if args.json else as_table(rows))
    return 0 if all(place is not None for place in places) else 1


def _from_file(name: str, paths: list[str]) -> list[Place | None] | int:
    relative = [path for path in paths if not path.startswith("/")]
    if relative:
        return fail(f"with --mountinfo, give absolute paths (a pasted table has no current directory): {relative[0]}")
    try:
        with open(name, encoding="utf-8", errors="surrogateescape") as file:
            table = parse_mount_table(file.read())
    except OSError as exc:
        return fail(f"cannot read {name}: {exc.strerror or exc}")
    if not table.entries:
        return fail(f"{name} holds no mount lines (expected /proc/self/mountinfo, /proc/mounts or `mount` output)")
    if table.unreadable:
        lines = ", ".join(str(n) for n in table.unreadable[:10])
        print(f"wslwatch: {name}: line(s) {lines} are not mount lines; ignored", file=sys.stderr)
    return [place_in(table, posixpath.normpath(path)) for path in paths]


def _here(path: str) -> Place | None:
    absolute = os.path.abspath(os.path.expanduser(path))
    located = PathProber(absolute).locate(_RESOLVE_DEADLINE_S)
    if located.status != "ok":
        print(f"wslwatch: {absolute}: {located.reason}; judged by its name alone", file=sys.stderr)
    return default_place_finder().place(absolute, located.facts)


def _fields(place: Place) -> dict[str, Any]:
    return {
        "mountpoint": place.mountpoint,
        "fstype": place.fstype,
        "source": place.source,
        "kind": place.kind,
        "cross_os": place.cross_os,
        "readonly": place.readonly,
    }


def as_json(rows: list[tuple[str, Place | None]]) -> str:
    """The `where --json` document; a path no mount holds has null fields."""
    empty = dict.fromkeys(("mountpoint", "fstype", "source", "kind", "cross_os", "readonly"))
    doc = {"paths": [{"path": path, **(_fields(place) if place else empty)} for path, place in rows]}
    return json.dumps(doc, indent=2) + "\n"


def as_table(rows: list[tuple[str, Place | None]]) -> str:
    """One row per path, then one line of advice per cross-OS path."""
    table = [("PATH", "KIND", "CROSS-OS", "READONLY", "FSTYPE", "MOUNTPOINT", "SOURCE")]
    notes: list[str] = []
    for path, place in rows:
        if place is None:
            table.append((path, "-", "-", "-", "-", "-", "-"))
            notes.append(f"{path}: no mount in the table holds it")
            continue
        yes_no = ("no", "yes")
        table.append(
            (path, place.kind, yes_no[place.cross_os], yes_no[place.readonly], place.fstype, place.mountpoint, place.source)
        )
        notes += [line for line in (advice(place),) if line]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in table]
    return "\n".join([line.rstrip() for line in lines] + ([""] + notes if notes else [])) + "\n"
