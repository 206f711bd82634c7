"""The probe child's work area, its cleanup run and its entry point, on real directories.

What a user sees of `DIR/.wslwatch-probe/`: it is made private (0700, files 0600) and written
to only when needed; links, FIFOs, other users' areas are refused with a message that names the
path and says what to do (exit status 3); cleanup removes our files and links (never a link's
target), writes nothing where there is no area, and names what it had to leave; files of dead
probes are removed, a live probe's are kept. Both ways of reaching the area are run: through
directory descriptors (Linux) and by path (what Windows does, which has no `openat`: here the
standard library's capability sets are emptied for it). Most tests call the child's `main` in
this process (its events are the lines it writes to fd 1), taking another user id with
`setresuid` where they need one; the one that could hang runs it as its own process, as
`PathProber` does.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from rigs import need
from wslwatch.collectors._probe_child import AREA, OPS, main
from wslwatch.collectors.probe import CHILD_SCRIPT

Events = list[dict[str, Any]]

USER, OTHER_USER = 4242, 4343  # ids no account here has
ENTRIES = {"entry0", "entry1", "entry2", "entry3", "work.bin"}  # what a probe keeps in its area


def spec(path: Path | str, mode: str = "probe", **extra: Any) -> str:
    """The child's argument, as `PathProber` builds it: one sample of every operation."""
    return json.dumps({"mode": mode, "path": str(path), "samples": dict.fromkeys(OPS, 1), "gap_s": 0, **extra})


def run(capfd: pytest.CaptureFixture[str], argument: str) -> tuple[int, Events]:
    """Run the child in this process: its exit status and its events. Once it has ended it
    holds no descriptor (so the probed mount can be unmounted)."""
    open_before = sorted(os.listdir("/proc/self/fd"))
    code = main(["_probe_child.py", argument])
    assert code != 0 or sorted(os.listdir("/proc/self/fd")) == open_before, "a descriptor was left open"
    out, err = capfd.readouterr()
    assert err == ""
    return code, [json.loads(line) for line in out.splitlines()]


@contextmanager
def as_user(uid: int) -> Iterator[None]:
    """Be user `uid` (real and effective; root stays the saved id, to come back)."""
    os.setresuid(uid, uid, 0)
    try:
        yield
    finally:
        os.setresuid(0, 0, 0)


def error_of(code: int, events: Events) -> str:
    """The reason of a fatal setup error: the last event, with exit status 3."""
    assert code == 3, events
    assert events[-1]["ev"] == "error" and events[-1]["op"] == "setup"
    return str(events[-1]["why"])


def files(directory: Path) -> dict[str, int]:
    """Every entry under `directory` (not following links) and its permission bits."""
    return {str(p.relative_to(directory)): stat.S_IMODE(p.lstat().st_mode) for p in sorted(directory.rglob("*"))}


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """A umask of 0, so that only the modes the probe asks for decide what it makes."""
    before = os.umask(0)
    yield
    os.umask(before)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: a path taken relative to it by mistake lands there."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "cwd"


@pytest.fixture(params=["by descriptor", "by path"])
def access(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, cwd: Path) -> Iterator[str]:
    """How the child reaches the area: through directory descriptors, or by path as on Windows."""
    if request.param == "by path":
        monkeypatch.setattr(os, "supports_dir_fd", set())
        monkeypatch.setattr(os, "supports_fd", os.supports_fd - {os.listdir})
    yield request.param
    assert os.listdir(cwd) == [], "something was made in the working directory"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The user's directory, holding one file of theirs."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n")
    (tmp_path / "data" / "train.csv").chmod(0o644)
    return tmp_path / "data"


def test_a_probe_works_in_a_private_area_that_cleanup_removes(
    capfd: pytest.CaptureFixture[str], data: Path, access: str
) -> None:
    code, events = run(capfd, spec(data))
    assert code == 0 and events[-1]["ev"] == "end" and not events[-1]["readonly"], events
    assert {e["op"] for e in events if e["ev"] == "done"} | {e["op"] for e in events if e["ev"] == "skip"} == set(OPS)
    assert {e["op"] for e in events if e["ev"] == "skip"} <= {"read_direct"}
    assert files(data) == {"train.csv": 0o644, AREA: 0o700, **{f"{AREA}/{name}": 0o600 for name in ENTRIES}}
    code, events = run(capfd, spec(data, "cleanup"))
    assert (code, events) == (0, [{"ev": "end", "left": []}])
    assert files(data) == {"train.csv": 0o644}


def test_an_existing_area_open_to_others_is_reused_and_closed_to_them(
    capfd: pytest.CaptureFixture[str], data: Path, access: str
) -> None:
    (data / AREA).mkdir(mode=0o701)  # others may pass through it
    code, events = run(capfd, spec(data))
    assert code == 0 and events[-1]["ev"] == "end", events
    if access == "by descriptor":  # Windows has no such modes to close
        assert stat.S_IMODE((data / AREA).stat().st_mode) == 0o700


def test_a_probe_of_a_ready_private_area_writes_nothing_to_it(capfd: pytest.CaptureFixture[str], data: Path) -> None:
    """No metadata write each interval (a round trip to Windows on a /mnt/c share)."""
    assert run(capfd, spec(data))[0] == 0
    before = (data / AREA).stat()
    time.sleep(0.02)  # past the granularity of file times
    code, events = run(capfd, json.dumps({"path": str(data), "samples": {"stat_dir": 1}, "gap_s": 0}))
    assert code == 0 and events[-1]["ev"] == "end", events
    after = (data / AREA).stat()
    assert (after.st_ctime_ns, after.st_mtime_ns) == (before.st_ctime_ns, before.st_mtime_ns)


def test_a_link_in_place_of_the_area_is_refused(
    capfd: pytest.CaptureFixture[str], data: Path, tmp_path: Path, access: str
) -> None:
    (tmp_path / "victim").mkdir()
    (data / AREA).symlink_to(tmp_path / "victim")
    why = error_of(*run(capfd, spec(data)))
    says = {"by descriptor": "is not a directory of ours (a symlink?)", "by path": "is a link"}[access]
    assert why == f"{data / AREA} {says}; remove it"
    assert os.listdir(tmp_path / "victim") == []
    assert error_of(*run(capfd, spec(data, "cleanup"))) == why
    assert (data / AREA).is_symlink() and os.listdir(tmp_path / "victim") == []


def test_a_fifo_in_place_of_the_area_is_refused_without_hanging(data: Path) -> None:
    os.mkfifo(data / AREA)
    done = subprocess.run([sys.executable, "-I", "-S", CHILD_SCRIPT, spec(data)], capture_output=True, cwd="/", timeout=10)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert error_of(done.returncode, events) == f"{data / AREA} is not a directory of ours (a symlink?); remove it"


def test_a_setup_error_inside_the_area_names_the_full_path(
    capfd: pytest.CaptureFixture[str], data: Path, access: str
) -> None:
    (data / AREA / "work.bin").mkdir(parents=True)
    code, events = run(capfd, spec(data))
    assert error_of(code, events) == f"{data / AREA / 'work.bin'}: Is a directory"
    assert events[-1]["errno"] == errno.EISDIR


def test_cleanup_without_an_area_writes_nothing(capfd: pytest.CaptureFixture[str], data: Path, access: str) -> None:
    os.utime(data, ns=(10**18, 10**18))
    code, events = run(capfd, spec(data, "cleanup"))
    assert (code, events) == (0, [{"ev": "end", "left": []}])
    assert data.stat().st_mtime_ns == 10**18 and os.listdir(data) == ["train.csv"]


def test_cleanup_of_a_file_says_it_is_not_a_directory(capfd: pytest.CaptureFixture[str], data: Path) -> None:
    assert error_of(*run(capfd, spec(data / "train.csv", "cleanup"))) == f"{data / 'train.csv'}: Not a directory"


def test_cleanup_removes_links_in_the_area_never_their_targets(
    capfd: pytest.CaptureFixture[str], data: Path, tmp_path: Path, access: str
) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "model.pt").write_bytes(b"weights")
    (data / AREA).mkdir(mode=0o700)
    (data / AREA / "to-a-directory").symlink_to(tmp_path / "precious")
    (data / AREA / "dangling").symlink_to(tmp_path / "gone")
    (data / AREA / "work.bin").write_bytes(b"x")
    code, events = run(capfd, spec(data, "cleanup"))
    assert (code, events) == (0, [{"ev": "end", "left": []}])
    assert os.listdir(data) == ["train.csv"]
    assert (tmp_path / "precious" / "model.pt").read_bytes() == b"weights"


@pytest.fixture
def read_only(data: Path) -> Iterator[Path]:
    """`data` with a private area holding a work file and an entry, then mounted read-only over itself."""
    need(os.geteuid() == 0 and shutil.which("mount") is not None, "a read-only bind mount: needs root and mount(8)")
    (data / AREA).mkdir(mode=0o700)
    for name in ("work.bin", "entry0"):
        (data / AREA / name).write_bytes(b"x")
    subprocess.run(["mount", "--bind", str(data), str(data)], check=True, capture_output=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True, capture_output=True)
        yield data
    finally:
        subprocess.run(["umount", str(data)], check=True)


def test_cleanup_on_a_read_only_mount_names_what_it_left(capfd: pytest.CaptureFixture[str], read_only: Path) -> None:
    code, events = run(capfd, spec(read_only, "cleanup"))
    assert code == 0 and events[-1]["ev"] == "end" and sorted(events[-1]["left"]) == ["entry0", "work.bin"], events
    assert sorted(os.listdir(read_only / AREA)) == ["entry0", "work.bin"]


def test_listing_a_read_only_directory_reads_its_entries(capfd: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    """`listdir` times reading the entries, not only opening the directory; seen in its access
    time (relatime: updated when older than the modification time)."""
    (tmp_path / "control").mkdir()
    for directory in (data, tmp_path / "control"):
        os.utime(directory, ns=(10**18, 2 * 10**18))
    os.listdir(tmp_path / "control")
    need((tmp_path / "control").stat().st_atime_ns != 10**18, "a filesystem that records access times (not noatime)")
    code, events = run(capfd, json.dumps({"path": str(data), "samples": {"listdir": 1}, "gap_s": 0, "readonly": True}))
    assert code == 0 and [e["op"] for e in events if e["ev"] == "done"] == ["listdir", "listdir"], events
    assert data.stat().st_atime_ns != 10**18


def started_deaf(command: list[str]) -> subprocess.Popen[bytes]:
    """`command` started with every signal blocked: one sent to it stays pending, to be seen."""
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        return subprocess.Popen(command)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)


def pending_signals(pid: int) -> int:
    """The signals sent to process `pid` and not yet handled, as a bit mask."""
    status = Path(f"/proc/{pid}/status").read_text()
    return sum(int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:")))


def test_files_of_dead_probes_are_removed_and_a_live_ones_kept(capfd: pytest.CaptureFixture[str], data: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = started_deaf(["sleep", "60"])
    try:
        (data / AREA).mkdir(mode=0o700)
        for name in (f"c-{live.pid}-0a0a0a-0", f"c-{dead.pid}-0a0a0a-0", "c-notapid-0"):
            (data / AREA / name).write_bytes(b"x")
        code, events = run(capfd, json.dumps({"path": str(data), "samples": {"stat_dir": 1}, "gap_s": 0}))
        assert code == 0 and events[-1]["ev"] == "end", events
        assert set(os.listdir(data / AREA)) == ENTRIES | {f"c-{live.pid}-0a0a0a-0"}
        assert pending_signals(live.pid) == 0, "the live probe was sent a signal"
    finally:
        live.kill()
        live.wait()


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A directory that belongs to USER, in a folder every user may pass through."""
    need(os.geteuid() == 0, "running the probe as another user needs root")
    top = Path(tempfile.mkdtemp(prefix="wslwatch-area-"))
    try:
        top.chmod(0o711)
        (top / "data").mkdir()
        os.chown(top / "data", USER, USER)
        yield top / "data"
    finally:
        shutil.rmtree(top)


def test_an_area_of_another_user_is_refused_even_to_a_user_of_a_higher_id(
    capfd: pytest.CaptureFixture[str], shared: Path
) -> None:
    (shared / AREA).mkdir(mode=0o755)  # made by root, e.g. by `sudo wslwatch probe`
    with as_user(USER):
        why = error_of(*run(capfd, spec(shared)))
    assert why == f"{shared / AREA} belongs to user id 0, not to us; remove it"


def test_a_file_of_a_live_process_of_another_user_is_kept(capfd: pytest.CaptureFixture[str], shared: Path) -> None:
    """Its id may be a probe's that ran in another PID namespace: never removed from under it."""
    other = subprocess.Popen(["sleep", "60"], user=OTHER_USER)
    try:
        (shared / AREA).mkdir(mode=0o700)
        (shared / AREA / f"c-{other.pid}-0a0a0a-0").write_bytes(b"x")
        for path in (shared / AREA, shared / AREA / f"c-{other.pid}-0a0a0a-0"):
            os.chown(path, USER, USER)
        with as_user(USER):
            code, events = run(capfd, json.dumps({"path": str(shared), "samples": {"stat_dir": 1}, "gap_s": 0}))
        assert code == 0 and events[-1]["ev"] == "end", events
        assert f"c-{other.pid}-0a0a0a-0" in os.listdir(shared / AREA)
    finally:
        other.kill()
        other.wait()
