"""A slow filesystem for tests: a FUSE passthrough that delays chosen operations, or hangs them.

    python slowfs.py BACKING MOUNTPOINT CONTROL [--log FILE]

CONTROL is a JSON file outside the mount, re-read whenever it is replaced:
`{"delay_ms": 2, "jitter_ms": 0, "ops": "all" | ["read", "getattr", ...], "hang": false,
"fail": {"write": "ENOSPC", ...}}`; `fail` makes those operations answer with that errno
(after any delay), as a full disk or a permission the kernel refuses would.
A hung request waits, in the kernel's eyes a genuine stall (the caller sits in state D),
until CONTROL says `"hang": false`. With `--log`, every operation that changes something
is appended as `OP PATH` lines, so tests can see where a program wrote.

Mounted like WSL's 9P `cache=mmap`: `direct_io` and zero attribute/entry timeouts, so every
read and every lookup reaches this process.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import threading
import time
from typing import Any

from fuse import FUSE, FuseOSError, Operations

_MUTATING = frozenset(
    {"create", "write", "truncate", "unlink", "mkdir", "rmdir", "rename", "chmod", "chown", "utimens",
     "symlink", "link", "mknod", "setxattr", "removexattr"}
)
_STAT_FIELDS = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_ino")


class _Control:
    """The injected behaviour, re-read when the control file is replaced."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.settings: dict[str, Any] = {}

    def current(self) -> dict[str, Any]:
        try:
            info = os.stat(self._path)
        except FileNotFoundError:
            return self.settings
        with self._lock:
            if (info.st_ino, info.st_mtime_ns) != self._seen:
                self._seen = (info.st_ino, info.st_mtime_ns)
                with open(self._path, encoding="utf-8") as file:
                    self.settings = json.load(file)
            return self.settings

    def applies(self, op: str, settings: dict[str, Any]) -> bool:
        ops = settings.get("ops", "all")
        return ops == "all" or op in ops


class SlowFs(Operations):  # type: ignore[misc]
    """Passthrough to BACKING with injected delays, hangs and errors."""

    def __init__(self, backing: str, control: _Control, log: str | None) -> None:
        self._root = backing
        self._control = control
        self._log = open(log, "a", encoding="utf-8") if log else None
        self._log_lock = threading.Lock()

    def __call__(self, op: str, path: str, *args: Any) -> Any:
        settings = self._control.current()
        if self._control.applies(op, settings):
            while settings.get("hang"):
                time.sleep(0.02)
                settings = self._control.current()
            delay = settings.get("delay_ms", 0) + random.uniform(0, settings.get("jitter_ms", 0))
            if delay > 0:
                time.sleep(delay / 1000)
        failure = settings.get("fail", {}).get(op)
        if failure:
            raise FuseOSError(getattr(errno, failure))
        if op in _MUTATING and self._log is not None:
            with self._log_lock:
                self._log.write(f"{op} {path}\n")
                self._log.flush()
        return super().__call__(op, path, *args)

    def _full(self, path: str) -> str:
        return os.path.join(self._root, path.lstrip("/"))

    # metadata

    def access(self, path: str, mode: int) -> None:
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        info = os.lstat(self._full(path))
        return {key: getattr(info, key) for key in _STAT_FIELDS}

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def statfs(self, path: str) -> dict[str, Any]:
        info = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {key: getattr(info, key) for key in keys}

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._full(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._full(path), uid, gid)

    def utimens(self, path: str, times: tuple[float, float] | None = None) -> None:
        os.utime(self._full(path), times)

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._full(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._full(path))

    def unlink(self, path: str) -> None:
        os.unlink(self._full(path))

    def rename(self, old: str, new: str) -> None:
        os.rename(self._full(old), self._full(new))

    def symlink(self, name: str, target: str) -> None:
        os.symlink(target, self._full(name))

    def link(self, name: str, target: str) -> None:
        os.link(self._full(target), self._full(name))

    # data

    def open(self, path: str, flags: int) -> int:
        return os.open(self._full(path), flags & ~os.O_DIRECT)  # our buffers are not aligned

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        # fusepy does not pass the open flags; O_RDWR serves any later read or write
        return os.open(self._full(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> None:
        os.truncate(self._full(path), length)

    def flush(self, path: str, fh: int) -> None:
        return None

    def fsync(self, path: str, datasync: int, fh: int) -> None:
        (os.fdatasync if datasync else os.fsync)(fh)

    def release(self, path: str, fh: int) -> None:
        os.close(fh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("control")
    parser.add_argument("--log")
    args = parser.parse_args()
    operations = SlowFs(os.path.abspath(args.backing), _Control(args.control), args.log)
    FUSE(
        operations,
        args.mountpoint,
        foreground=True,
        nothreads=False,
        fsname="slowfs",
        subtype="slowfs",
        direct_io=True,
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
    )


if __name__ == "__main__":
    main()
