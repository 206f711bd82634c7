"""The probe child: times small I/O operations in `<DIR>/.wslwatch-probe/` and streams them.

Run as its own process, `python -I -S _probe_child.py SPEC_JSON`, so that a probe stuck in
the kernel on a dead mount can only ever hang this process, never the daemon. It imports
nothing but the standard library (start-up ~20 ms). The daemon also imports it, for the
operation names and the sizes.

Each line on stdout is one JSON event, flushed at once so the parent always knows which
operation is in flight:

    {"ev": "start", "op": "resolve", "i": 0}                     # realpath of the directory
    {"ev": "place", "realpath": "/mnt/c/data", "volume": {...}}   # volume: Windows only
    {"ev": "start", "op": "prepare", "i": 0}                     # the work area and file
    {"ev": "ready"}
    {"ev": "start", "op": "stat_dir", "i": 0}
    {"ev": "done", "op": "stat_dir", "i": 0, "ns": 41230, "warmup": true}
    {"ev": "skip", "op": "read_direct", "why": "..."}             # op not possible here
    {"ev": "note", "what": "..."}
    {"ev": "error", "op": "setup", "why": "..."}                  # fatal; exit status 3
    {"ev": "end", "readonly": false, "bytes": 122880, "cache_illusions": 0, "left": []}

Safety: files are made only inside `.wslwatch-probe/` (created 0700, owned by us, opened
relative to directory descriptors with O_NOFOLLOW so no symlink is ever followed), the
work file is reused between probes, and the cwd is `/` so no mount is held busy.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import json
import math
import mmap
import os
import random
import stat
import sys
import time
from functools import partial
from typing import Any, Callable, Iterator

__all__ = [
    "AREA",
    "BLOCK",
    "DATA_OPS",
    "METADATA_OPS",
    "OPS",
    "WORK_SIZE",
]

AREA = ".wslwatch-probe"
WORK = "work.bin"
ENTRIES = ("entry0", "entry1", "entry2", "entry3")
BLOCK = 4096  # bytes moved by one data operation
WORK_SIZE = 1 << 20  # the work file: ioping's default working set
LISTDIR_LIMIT = 64  # entries read from a read-only directory
_FILL_CHUNK = 256 * 1024  # the untimed fill of a new work file: few requests on a slow share

#: Every operation, in the order a probe runs them (create_fsync makes the files unlink removes).
OPS = (
    "stat_dir",
    "listdir",
    "open_close",
    "read_uncached",
    "read_cached",
    "read_direct",
    "write_sync",
    "create_fsync",
    "unlink",
)
#: Operations that move BLOCK bytes of file data per sample.
DATA_OPS = ("read_uncached", "read_cached", "read_direct", "write_sync", "create_fsync")
#: What is left for a directory the probe may not write to.
METADATA_OPS = ("stat_dir", "listdir")

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: A directory opened to reach its entries through the descriptor; the area: also never a link.
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC
_AREA_FLAGS = _DIR_FLAGS | _O_NOFOLLOW
#: Added to the flags of every file opened in the area: never through a link, never inherited, binary.
_FILE_FLAGS = _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_BINARY", 0)


class _Fatal(Exception):
    """The probe cannot go on: `op` is where, the message says why and what to do."""

    def __init__(self, op: str, why: str) -> None:
        super().__init__(why)
        self.op = op


def _emit(event: dict[str, Any]) -> None:
    os.write(1, (json.dumps(event) + "\n").encode())


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


# --- the work area -------------------------------------------------------------------------


class _Area:
    """`DIR/.wslwatch-probe/`, reached through directory descriptors where the OS has them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, AREA)
        self._by_fd = os.open in os.supports_dir_fd and os.listdir in os.supports_fd
        self._dir_fd: int | None = None
        self._fd: int | None = None

    def enter(self, may_create: bool) -> bool:
        """Open (creating it if allowed) the area; True if this call created it."""
        created = False
        if self._by_fd:
            self._dir_fd = os.open(self.directory, _DIR_FLAGS)
        if may_create:
            try:
                os.mkdir(self._name(AREA), 0o700, **self._at_dir())
                created = True
            except FileExistsError:
                pass
        if self._by_fd:
            try:
                self._fd = os.open(AREA, _AREA_FLAGS, dir_fd=self._dir_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _Fatal("setup", f"{self.path} is not a directory of ours (a symlink?); remove it") from None
                raise
            info = os.fstat(self._fd)
        else:
            info = os.lstat(self.path)
            if stat.S_ISLNK(info.st_mode) or getattr(info, "st_file_attributes", 0) & 0x400:  # reparse point
                raise _Fatal("setup", f"{self.path} is a link; remove it")
        self._check_ours(info)
        return created

    def _check_ours(self, info: os.stat_result) -> None:
        if not stat.S_ISDIR(info.st_mode):
            raise _Fatal("setup", f"{self.path} is not a directory; remove it")
        getuid: Callable[[], int] | None = getattr(os, "getuid", None)
        if getuid is not None and info.st_uid != getuid():
            raise _Fatal("setup", f"{self.path} belongs to user id {info.st_uid}, not to us; remove it")
        if self._fd is not None and info.st_mode & 0o077:
            os.chmod(self._fd, 0o700)

    def _at_dir(self) -> dict[str, Any]:
        return {"dir_fd": self._dir_fd} if self._dir_fd is not None else {}

    def _at_area(self) -> dict[str, Any]:
        return {"dir_fd": self._fd} if self._fd is not None else {}

    def _name(self, name: str) -> str:
        return name if self._dir_fd is not None else os.path.join(self.directory, name)

    def _inside(self, name: str) -> str:
        return name if self._fd is not None else os.path.join(self.path, name)

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        """Open `name` inside the area, never following a symlink."""
        return os.open(self._inside(name), flags | _FILE_FLAGS, mode, **self._at_area())

    def unlink(self, name: str) -> None:
        os.unlink(self._inside(name), **self._at_area())

    def try_unlink(self, name: str) -> bool:
        """Unlink `name` if it can be now; False when it is in use or refused (left for a later probe)."""
        try:
            self.unlink(name)
        except FileNotFoundError:
            pass
        except OSError:
            return False
        return True

    def names(self) -> list[str]:
        return os.listdir(self._fd if self._fd is not None else self.path)

    def list_fresh(self) -> None:
        """Open the area by name, read its entries, close it: the `listdir` operation."""
        if self._dir_fd is None:
            os.listdir(self.path)
            return
        fd = os.open(AREA, _AREA_FLAGS, dir_fd=self._dir_fd)
        try:
            os.listdir(fd)
        finally:
            os.close(fd)

    def remove(self) -> list[str]:
        """Delete our regular files and the area itself; returns what had to be left (not
        ours, or in use: on Windows an antivirus scanning a new file holds it for a moment)."""
        left = []
        for name in self.names():
            info = os.stat(self._inside(name), follow_symlinks=False, **self._at_area())
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)) or not self.try_unlink(name):
                left.append(name)  # unlinking a symlink removes the link, never its target
        if not left:
            os.rmdir(self._name(AREA), **self._at_dir())
        return left

    def close(self) -> None:
        for fd in (self._fd, self._dir_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._dir_fd = None


# --- page cache control ----------------------------------------------------------------------


def _seek_read(fd: int, size: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _seek_write(fd: int, data: bytes, offset: int) -> int:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)


#: Positioned read and write, and the data-only sync, as this OS has them (Windows: seek, fsync).
_pread: Callable[[int, int, int], bytes] = getattr(os, "pread", None) or _seek_read
_pwrite: Callable[[int, bytes, int], int] = getattr(os, "pwrite", None) or _seek_write
_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def _advise(fd: int, advice_name: str) -> bool:
    """`posix_fadvise` over the whole file; False where the OS (Windows) or filesystem refuses."""
    try:
        getattr(os, "posix_fadvise")(fd, 0, 0, getattr(os, advice_name))
    except (AttributeError, OSError):
        return False
    return True


class _Residency:
    """Whether a page of the work file is in the page cache: `mincore` on a one-page mapping that
    is never touched (so it faults nothing in) and exists only for the check, because a mapping
    of a FUSE direct_io file would slow every timed read and write of it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._libc: Any = None
        self._vec = ctypes.c_ubyte()
        self._flags = getattr(mmap, "PROT_READ", None), getattr(mmap, "MAP_SHARED", None)
        if None in self._flags:  # Windows: no mincore
            return
        libc = ctypes.CDLL(None)  # every libc of Linux (glibc, musl) has the three
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self._libc = libc

    def resident(self, offset: int) -> bool | None:
        """Whether the page at `offset` is cached; None when this cannot be known."""
        if self._libc is None:
            return None
        page = offset - offset % mmap.PAGESIZE
        addr = self._libc.mmap(None, mmap.PAGESIZE, *self._flags, self._fd, page)
        try:
            # -1 also where the mmap failed (e.g. FUSE direct_io on older kernels): mincore refuses
            # MAP_FAILED, which is not page-aligned
            if self._libc.mincore(addr, mmap.PAGESIZE, ctypes.byref(self._vec)):
                return None
            return bool(self._vec.value & 1)
        finally:
            self._libc.munmap(addr, mmap.PAGESIZE)


def _random_block() -> int:
    """The offset of a random BLOCK of the work file."""
    return random.randrange(0, WORK_SIZE, BLOCK)


# --- the probe -------------------------------------------------------------------------------


class _Probe:
    """One probe run over one directory, as the spec asks."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.samples: dict[str, int] = {op: int(n) for op, n in spec.get("samples", {}).items() if op in OPS}
        self.gap_s = float(spec.get("gap_s", 0.02))
        self.budget_s = float(spec.get("budget_s", math.inf))
        self.started = time.monotonic()
        self.bytes = 0  # moved by the timed samples
        self.illusions = 0
        self.over_budget = False
        self.area: _Area | None = None
        self.work_fd: int | None = None
        self.created_files: list[str] = []
        self.created_area = False
        self.realpath = ""
        self._first_sample = True

    # pacing and timing

    def _pause(self) -> None:
        if not self._first_sample:
            time.sleep(self.gap_s)
        self._first_sample = False

    def _rounds(self, op: str) -> Iterator[tuple[int, bool]]:
        """(index, is_warmup) for each sample of `op`, fewer once the time budget is spent."""
        if not self.over_budget and self._spent():
            self.over_budget = True
            _emit({"ev": "note", "what": f"time budget of {self.budget_s:g}s spent; one sample per remaining operation"})
        if self.over_budget:
            yield 0, False
            return
        wanted = self.samples[op]
        for i in range(wanted + 1):
            if i >= 2 and self._spent():
                return
            yield i, i == 0

    def _spent(self) -> bool:
        return time.monotonic() - self.started > self.budget_s

    def _time(self, op: str, i: int, warmup: bool, call: Callable[[], object], **extra: Any) -> None:
        _emit({"ev": "start", "op": op, "i": i})
        self._pause()  # the parent handles the event meanwhile, not while the operation is timed
        t0 = time.perf_counter_ns()
        call()
        ns = time.perf_counter_ns() - t0
        _emit({"ev": "done", "op": op, "i": i, "ns": ns, "warmup": warmup, **extra})

    def _series(
        self,
        op: str,
        timed: Callable[[int], Callable[[], object]],
        before: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        """Time `timed(i)()` for each sample of `op`; an OSError skips the rest of the op.

        `timed(i)` builds the call before the clock starts: where the operation is one system
        call it is a `partial` of it, so no Python frame runs inside the measurement (after the
        pause between samples an interpreter frame costs tens of µs of cold caches)."""
        try:
            for i, warmup in self._rounds(op):
                extra = before(i) if before else {}
                self._time(op, i, warmup, timed(i), **extra)
                self.bytes += BLOCK if op in DATA_OPS else 0
                self.illusions += 1 if extra.get("cached") and not warmup else 0
        except OSError as exc:
            _emit({"ev": "skip", "op": op, "why": _why(exc)})

    # setup

    def locate(self) -> None:
        _emit({"ev": "start", "op": "resolve", "i": 0})
        self.realpath = os.path.realpath(self.spec["path"])
        _emit({"ev": "place", "realpath": self.realpath, **_volume_facts(self.realpath)})

    def _enter(self) -> bool:
        """Open the work area; False when the directory can only be read."""
        if self.spec.get("readonly"):
            return False
        area = _Area(self.realpath)
        try:
            self.created_area = area.enter(may_create=True)
        except _Fatal:
            area.close()
            raise
        except OSError as exc:  # EROFS, EACCES, or a filesystem that holds no files (procfs)
            area.close()
            _emit({"ev": "note", "what": f"cannot write here ({_why(exc)}): timing metadata operations only"})
            return False
        self.area = area
        return True

    def _prepare_work_file(self) -> None:
        area = self.area
        assert area is not None
        names = area.names()
        for name in set(ENTRIES) - set(names):
            os.close(area.open(name, os.O_WRONLY | os.O_CREAT))
        for name in names:  # files of a probe that was killed in create_fsync
            if name.startswith("c-") and not _alive(name.split("-")[1]):
                area.unlink(name)
        try:
            fd = area.open(WORK, os.O_RDWR)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                os.close(fd)
                raise _Fatal("setup", f"{area.path}/{WORK} is not a regular file; remove it")
            fresh = info.st_size != WORK_SIZE
        except FileNotFoundError:
            fd = area.open(WORK, os.O_RDWR | os.O_CREAT)
            fresh = True
        if fresh:  # random data, so no compression or zero-page shortcut flatters the reads
            try:
                os.ftruncate(fd, WORK_SIZE)  # a larger one (left by another version) is cut to size
                for offset in range(0, WORK_SIZE, _FILL_CHUNK):
                    _pwrite(fd, os.urandom(_FILL_CHUNK), offset)
                os.fsync(fd)
            except OSError:  # a full disk: a partial file would keep it at 100 % as long as we run
                os.close(fd)
                area.unlink(WORK)
                raise
        self.work_fd = fd
        _advise(fd, "POSIX_FADV_RANDOM")

    # the operations

    def run(self) -> None:
        self.locate()
        _emit({"ev": "start", "op": "prepare", "i": 0})
        if not stat.S_ISDIR(os.stat(self.realpath).st_mode):  # a missing one raises: a setup error
            raise _Fatal("setup", f"{self.realpath} is not a directory; give the directory to probe")
        writable = self._enter()
        if writable:
            self._prepare_work_file()
        _emit({"ev": "ready"})
        try:
            for op in OPS:
                if op in self.samples and (writable or op in METADATA_OPS):
                    getattr(self, f"_op_{op}")()
        finally:
            self._finish(writable)

    def _op_stat_dir(self) -> None:
        self._series("stat_dir", lambda i: partial(os.stat, self.realpath))

    def _op_listdir(self) -> None:
        area = self.area
        if area is not None:
            self._series("listdir", lambda i: area.list_fresh)
        else:
            self._series("listdir", lambda i: partial(_list_some, self.realpath))

    def _op_open_close(self) -> None:
        area = self.area
        assert area is not None
        self._series("open_close", lambda i: lambda: os.close(area.open(ENTRIES[0], os.O_RDONLY)))

    def _offsets(self, op: str) -> list[int]:
        """A random block-aligned offset for every sample of `op`, chosen before any is timed."""
        return [_random_block() for _ in range(self.samples[op] + 1)]

    def _op_read_uncached(self) -> None:
        fd = self.work_fd
        assert fd is not None
        if not _advise(fd, "POSIX_FADV_DONTNEED"):
            _emit({"ev": "skip", "op": "read_uncached", "why": "the page cache cannot be dropped here (no posix_fadvise)"})
            return
        offsets = self._offsets("read_uncached")
        residency = _Residency(fd)

        def drop(i: int) -> dict[str, Any]:
            _advise(fd, "POSIX_FADV_DONTNEED")  # the whole file: a 4 KiB drop can miss a large folio
            cached = residency.resident(offsets[i])
            return {} if cached is None else {"cached": cached}

        self._series("read_uncached", lambda i: partial(_pread, fd, BLOCK, offsets[i]), before=drop)

    def _op_read_cached(self) -> None:
        fd = self.work_fd
        assert fd is not None
        read = partial(_pread, fd, BLOCK, _random_block())  # the warmup sample caches it
        self._series("read_cached", lambda i: read)

    def _op_read_direct(self) -> None:
        area = self.area
        assert area is not None
        preadv: Callable[[int, list[mmap.mmap], int], int] | None = getattr(os, "preadv", None)
        if not _O_DIRECT or preadv is None:
            _emit({"ev": "skip", "op": "read_direct", "why": "O_DIRECT is not available on this OS"})
            return
        try:
            fd = area.open(WORK, os.O_RDONLY | _O_DIRECT)
        except OSError as exc:
            _emit({"ev": "skip", "op": "read_direct", "why": f"O_DIRECT refused by this filesystem ({_why(exc)})"})
            return
        buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
        try:
            offsets = self._offsets("read_direct")
            self._series("read_direct", lambda i: partial(preadv, fd, [buffer], offsets[i]))
        finally:
            buffer.close()
            os.close(fd)

    def _op_write_sync(self) -> None:
        fd = self.work_fd
        assert fd is not None
        data = os.urandom(BLOCK)
        offsets = self._offsets("write_sync")

        def write(offset: int) -> None:
            _pwrite(fd, data, offset)
            _datasync(fd)

        self._series("write_sync", lambda i: partial(write, offsets[i]))

    def _op_create_fsync(self) -> None:
        area = self.area
        assert area is not None
        data = os.urandom(BLOCK)
        tag = f"c-{os.getpid()}-{random.getrandbits(24):06x}"

        def create(name: str) -> None:
            fd = area.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

        def named(i: int) -> Callable[[], None]:
            self.created_files.append(f"{tag}-{i}")  # before it exists: cleanup then knows it
            return partial(create, self.created_files[-1])

        self._series("create_fsync", named)

    def _op_unlink(self) -> None:
        area = self.area
        assert area is not None
        names = list(self.created_files)
        if not names:
            _emit({"ev": "skip", "op": "unlink", "why": "no files were created to remove"})
            return
        self.samples["unlink"] = min(self.samples["unlink"], len(names) - 1)

        self._series("unlink", lambda i: partial(area.unlink, names[i]))

    def _finish(self, writable: bool) -> None:
        left: list[str] = []
        if self.work_fd is not None:
            os.close(self.work_fd)
        if self.area is not None:
            # those unlink did not get to, or did not time; one in use is left (the timings stand)
            # for the next probe, which removes the files of probes no longer running
            left = [name for name in self.created_files if not self.area.try_unlink(name)]
            if not self.spec.get("keep", True) and self.created_area:
                left += self.area.remove()
            self.area.close()
        _emit(
            {
                "ev": "end",
                "readonly": not writable,
                "bytes": self.bytes,
                "cache_illusions": self.illusions,
                "left": left,
            }
        )


def _list_some(directory: str) -> None:
    """Read at most LISTDIR_LIMIT entries of a directory we may not write to."""
    with os.scandir(directory) as entries:
        for _ in itertools.islice(entries, LISTDIR_LIMIT):
            pass


def _remove_area(spec: dict[str, Any]) -> None:
    """The cleanup run: delete `.wslwatch-probe/` (ours only) under the resolved directory."""
    realpath = os.path.realpath(spec["path"])
    area = _Area(realpath)
    left: list[str] = []
    try:
        area.enter(may_create=False)
        left = area.remove()
    except FileNotFoundError:
        pass
    finally:
        area.close()
    _emit({"ev": "end", "left": left})


# --- what differs on Windows: volume facts, process liveness ---------------------------------

if sys.platform == "win32":
    from ctypes import wintypes

    _FILE_READ_ONLY_VOLUME = 0x00080000

    def _volume_facts(path: str) -> dict[str, Any]:
        """The volume root, filesystem name, drive type and read-only flag of `path`."""
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.GetVolumePathNameW.argtypes = [wintypes.LPCWSTR, wintypes.LPWSTR, wintypes.DWORD]
        kernel32.GetVolumeInformationW.argtypes = [
            wintypes.LPCWSTR, wintypes.LPWSTR, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD),
            ctypes.POINTER(wintypes.DWORD), ctypes.POINTER(wintypes.DWORD), wintypes.LPWSTR, wintypes.DWORD,
        ]
        kernel32.GetDriveTypeW.argtypes = [wintypes.LPCWSTR]
        root = ctypes.create_unicode_buffer(1024)
        if not kernel32.GetVolumePathNameW(path, root, len(root)):
            return {}
        name = ctypes.create_unicode_buffer(261)
        flags = wintypes.DWORD()
        known = kernel32.GetVolumeInformationW(root.value, None, 0, None, None, ctypes.byref(flags), name, len(name))
        return {
            "volume": {
                "root": root.value,
                "fstype": name.value if known else "",
                "drive_type": int(kernel32.GetDriveTypeW(root.value)),
                "readonly": bool(flags.value & _FILE_READ_ONLY_VOLUME),
            }
        }

    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259
    _ERROR_INVALID_PARAMETER = 87  # OpenProcess: no process with that id

    def _alive(pid: str) -> bool:
        """Whether the process that named a file `c-<pid>-...` may still be using it (asked without
        `os.kill(pid, 0)`, which on Windows would terminate it)."""
        try:
            number = int(pid)
        except ValueError:
            return False
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
        kernel32.OpenProcess.restype = wintypes.HANDLE
        kernel32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, number)
        if not handle:
            return ctypes.get_last_error() != _ERROR_INVALID_PARAMETER  # denied: alive, and not ours
        try:
            code = wintypes.DWORD()
            return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == _STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

else:

    def _volume_facts(path: str) -> dict[str, Any]:
        """Nothing: on Linux the parent reads the mount table itself."""
        return {}

    def _alive(pid: str) -> bool:
        """Whether the process that named a file `c-<pid>-...` may still be using it."""
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            return False
        except PermissionError:  # alive, and not ours
            return True
        return True


def _failed_path(exc: OSError, spec: dict[str, Any]) -> str:
    """The full path a failed call was about: calls relative to a directory descriptor name only
    the entry (or the descriptor's number), which means nothing in a message."""
    name = exc.filename if isinstance(exc.filename, str) else ""
    if os.path.isabs(name):
        return name
    path = str(spec.get("path", ""))
    return os.path.join(path, AREA, name) if name else path


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(argv[1])
    mode = spec.get("mode", "probe")
    try:
        if mode == "locate":
            _Probe(spec).locate()
            _emit({"ev": "end"})
        elif mode == "cleanup":
            _remove_area(spec)
        else:
            _Probe(spec).run()
    except _Fatal as exc:
        _emit({"ev": "error", "op": exc.op, "why": str(exc)})
        return 3
    except OSError as exc:
        _emit({"ev": "error", "op": "setup", "why": f"{_failed_path(exc, spec)}: {_why(exc)}", "errno": exc.errno})
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
