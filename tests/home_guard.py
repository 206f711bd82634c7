"""The user's own wslwatch folders, which a test run must leave exactly as it found them.

A snapshot holds, for every file and folder there, its kind, size and modification time
(a folder's time changes when an entry comes or goes, so even a file written and removed
again shows).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Mapping

__all__ = ["ISOLATED", "Snapshot", "changes", "snapshot", "user_places"]

#: The per-user folders wslwatch itself uses; a test run points them at a temporary folder.
ISOLATED = ("XDG_CONFIG_HOME", "XDG_STATE_HOME")

Snapshot = dict[str, tuple[str, int, int] | None]


def user_places(environ: Mapping[str, str]) -> list[Path]:
    """What wslwatch keeps for the user `environ` describes: config, state (log, history,
    instance lock), the login entries `install` writes, and any data or cache folder."""
    home = Path(environ.get("HOME") or Path.home())

    def base(variable: str, default: str) -> Path:
        return Path(environ.get(variable) or home / default)

    config = base("XDG_CONFIG_HOME", ".config")
    units = config / "systemd" / "user"
    return [
        config / "wslwatch",
        config / "autostart" / "wslwatch.desktop",
        units / "wslwatch.service",
        units / "default.target.wants" / "wslwatch.service",
        base("XDG_STATE_HOME", ".local/state") / "wslwatch",
        base("XDG_DATA_HOME", ".local/share") / "wslwatch",
        base("XDG_CACHE_HOME", ".cache") / "wslwatch",
    ]


def _entry(path: Path) -> tuple[str, int, int] | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    kind = "dir" if stat.S_ISDIR(info.st_mode) else "link" if stat.S_ISLNK(info.st_mode) else "file"
    return kind, info.st_size if kind == "file" else 0, info.st_mtime_ns


def snapshot(places: list[Path]) -> Snapshot:
    """Every place and everything under it: path -> (kind, size, mtime_ns), None if absent."""
    found: Snapshot = {}
    for place in places:
        found[str(place)] = _entry(place)
        if place.is_dir() and not place.is_symlink():
            for folder, names, files in os.walk(place):
                for name in names + files:
                    found[os.path.join(folder, name)] = _entry(Path(folder, name))
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per path that differs: what it was, what it is."""
    return [
        f"{path}: {before.get(path)} -> {after.get(path)}"
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]
