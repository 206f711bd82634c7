"""The probe on real directories: what it measures, where it writes, what it leaves behind."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigs import need
from wslwatch.collectors._probe_child import AREA, BLOCK, DATA_OPS, METADATA_OPS, OPS
from wslwatch.collectors.probe import PathProber, base_interpreter, plan_samples


def probe(path: Path, samples: int = 3, **options: object) -> "ProbeResult":  # type: ignore[name-defined]  # noqa: F821
    return PathProber(str(path)).probe(plan_samples(samples), gap_s=0.0, deadline_s=30.0, **options)  # type: ignore[arg-type]


def tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file and directory under `root`: mode, mtime, content."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() else b""
        out[str(path.relative_to(root))] = (info.st_mode, info.st_mtime_ns, content)
    return out


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A directory with the user's own files in it."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "train.csv").write_text("a,b\n1,2\n")
    (data / "sub" / "img.bin").write_bytes(os.urandom(8192))
    return data


def test_every_operation_is_measured_on_a_writable_directory(user_dir: Path) -> None:
    result = probe(user_dir, samples=3)
    assert result.status == "ok", result.reason
    assert result.facts is not None and result.facts["realpath"] == str(user_dir)
    measured = set(result.latencies)
    assert measured | set(result.skipped) == set(OPS)
    assert set(result.skipped) <= {"read_direct"}  # O_DIRECT may be refused by the filesystem under test
    for op in measured:
        assert len(result.latencies[op]) == 3
        assert all(0 < s < 5 for s in result.latencies[op])
    assert not result.readonly


def test_files_are_made_only_in_the_private_area_and_removed(user_dir: Path) -> None:
    before = tree(user_dir)
    prober = PathProber(str(user_dir))
    assert prober.probe(plan_samples(2), gap_s=0.0, deadline_s=30.0).status == "ok"
    after = tree(user_dir)
    new = {name for name in after if name not in before}
    assert new == {AREA, f"{AREA}/work.bin", *(f"{AREA}/entry{i}" for i in range(4))}
    assert {name: after[name] for name in before} == before  # the user's files are untouched
    assert stat.S_IMODE(after[AREA][0]) == 0o700
    assert len(after[f"{AREA}/work.bin"][2]) == 1 << 20  # 1 MiB, ioping's default working set
    assert prober.remove_area(10.0).status == "ok"
    assert tree(user_dir) == before


def test_a_one_off_probe_leaves_nothing(user_dir: Path) -> None:
    before = tree(user_dir)
    assert probe(user_dir, samples=2, keep_area=False).status == "ok"
    assert tree(user_dir) == before


def test_an_area_that_was_already_there_is_kept_by_a_one_off_probe(user_dir: Path) -> None:
    prober = PathProber(str(user_dir))
    prober.probe(plan_samples(1), gap_s=0.0, deadline_s=30.0)  # the daemon's area
    probe(user_dir, samples=1, keep_area=False)  # then `wslwatch probe` on the same directory
    assert (user_dir / AREA / "work.bin").exists()


def test_the_work_file_is_reused_and_the_bytes_moved_are_counted(user_dir: Path) -> None:
    first = probe(user_dir, samples=2)
    inode = (user_dir / AREA / "work.bin").stat().st_ino
    second = probe(user_dir, samples=2)
    assert (user_dir / AREA / "work.bin").stat().st_ino == inode
    data_ops = [op for op in DATA_OPS if op not in second.skipped]
    assert first.bytes == second.bytes == 3 * BLOCK * len(data_ops)  # warmup + 2 samples, 4 KiB each


def test_a_symlink_in_place_of_the_area_is_refused(user_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (user_dir / AREA).symlink_to(victim)
    result = probe(user_dir, samples=1)
    assert result.status == "error"
    assert "symlink" in (result.reason or "")
    assert list(victim.iterdir()) == []
    cleanup = PathProber(str(user_dir)).remove_area(10.0)
    assert cleanup.status == "error" and "symlink" in (cleanup.reason or "")
    assert (user_dir / AREA).is_symlink() and list(victim.iterdir()) == []  # cleanup never follows it either


def test_files_planted_in_the_area_as_symlinks_are_never_followed(user_dir: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.write_bytes(b"keep me")
    area = user_dir / AREA
    area.mkdir(mode=0o700)
    (area / "work.bin").symlink_to(precious)
    result = probe(user_dir, samples=1)
    assert result.status == "error"
    PathProber(str(user_dir)).remove_area(10.0)
    assert precious.read_bytes() == b"keep me" and not area.exists()


def test_an_area_of_another_user_is_refused(user_dir: Path) -> None:
    need(os.geteuid() == 0, "root, to give a directory to another user")
    (user_dir / AREA).mkdir(mode=0o700)
    os.chown(user_dir / AREA, 4242, 4242)
    result = probe(user_dir, samples=1)
    assert result.status == "error" and "user id 4242" in (result.reason or "")


def test_a_too_open_area_is_closed_to_others(user_dir: Path) -> None:
    (user_dir / AREA).mkdir()
    os.chmod(user_dir / AREA, 0o755)
    assert probe(user_dir, samples=1).status == "ok"
    assert stat.S_IMODE((user_dir / AREA).stat().st_mode) == 0o700


@pytest.fixture
def readonly_bind(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path/ro`: a read-only bind mount of a directory holding one file."""
    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    (source / "dataset.bin").write_bytes(b"x" * 100)
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode == 0
    need(mounted, "read-only bind mount: needs root and mount(8)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True)
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_a_read_only_directory_gets_the_metadata_operations_only(readonly_bind: Path) -> None:
    result = probe(readonly_bind, samples=2)
    assert result.status == "ok", result.reason
    assert result.readonly
    assert set(result.latencies) == set(METADATA_OPS)
    assert os.listdir(readonly_bind) == ["dataset.bin"]


def test_a_known_read_only_directory_is_not_even_tried(user_dir: Path) -> None:
    result = probe(user_dir, samples=1, readonly=True)
    assert result.readonly and set(result.latencies) == set(METADATA_OPS)
    assert not (user_dir / AREA).exists()


def test_a_missing_directory_is_an_error_that_names_it(tmp_path: Path) -> None:
    result = probe(tmp_path / "nope")
    assert result.status == "error"
    assert str(tmp_path / "nope") in (result.reason or "") and "No such file" in (result.reason or "")


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = probe(tmp_path / "f")
    assert result.status == "error" and "is not a directory" in (result.reason or "")


def test_locate_resolves_symlinks_without_writing(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    located = PathProber(str(tmp_path / "link")).locate(10.0)
    assert located.status == "ok" and located.facts is not None
    assert located.facts["realpath"] == str(tmp_path / "real")
    assert list((tmp_path / "real").iterdir()) == []


def test_progress_reports_each_operation_in_order(user_dir: Path) -> None:
    seen: list[str] = []

    def progress(op: str | None, elapsed: float) -> None:
        if op and (not seen or seen[-1] != op):
            seen.append(op)

    PathProber(str(user_dir)).probe(plan_samples(1), gap_s=0.0, deadline_s=30.0, progress=progress)
    assert seen[:2] == ["resolve", "prepare"]  # setup steps are reported too: a hang there is named
    assert seen[2:] == [op for op in OPS if op in seen]
    assert {"stat_dir", "create_fsync", "unlink"} <= set(seen)


def test_the_default_byte_cap_pays_for_five_samples_every_60_s() -> None:
    plan = plan_samples(5, 2048 * 60)
    assert plan == dict.fromkeys(OPS, 5)
    assert sum((plan[op] + 1) * BLOCK for op in DATA_OPS) == 2048 * 60


def test_a_tight_budget_keeps_the_most_telling_operations() -> None:
    assert plan_samples(5, 2048 * 30) == {**dict.fromkeys(OPS, 5), **dict.fromkeys(DATA_OPS, 2)}
    four_blocks = plan_samples(5, 4 * BLOCK)
    assert set(four_blocks) == set(METADATA_OPS) | {"open_close", "create_fsync", "read_uncached", "unlink"}
    assert set(plan_samples(5, BLOCK)) == set(METADATA_OPS) | {"open_close"}


def test_a_budget_between_whole_rounds_gives_whole_samples() -> None:
    # 17 blocks: 3 blocks (a warmup and 2 samples) for each of the 5 data operations, 2 unused
    assert plan_samples(5, 17 * BLOCK) == {**dict.fromkeys(OPS, 5), **dict.fromkeys(DATA_OPS, 2)}
    # 10 blocks: one sample of each; 8 blocks: not enough for all five, the four most telling get one
    assert plan_samples(5, 10 * BLOCK) == {**dict.fromkeys(OPS, 5), **dict.fromkeys(DATA_OPS, 1)}
    assert plan_samples(5, 8 * BLOCK) == {
        **dict.fromkeys(("stat_dir", "listdir", "open_close", "unlink"), 5),
        **dict.fromkeys(("create_fsync", "read_uncached", "write_sync", "read_cached"), 1),
    }


@given(samples=st.integers(1, 50), budget=st.integers(0, 2_000_000))
def test_a_plan_never_moves_more_than_its_budget(samples: int, budget: int) -> None:
    plan = plan_samples(samples, budget)
    assert sum((plan[op] + 1) * BLOCK for op in DATA_OPS if op in plan) <= budget
    assert ("unlink" in plan) == ("create_fsync" in plan)
    assert all(plan[op] == samples for op in OPS if op in plan and op not in DATA_OPS)


def test_a_probe_process_that_dies_says_what_it_printed(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    fake.chmod(0o755)
    result = PathProber(str(tmp_path), python=str(fake)).probe(plan_samples(1), gap_s=0.0, deadline_s=5.0)
    assert result.status == "error"
    assert "exited with status 1" in (result.reason or "") and "init_fs_encoding" in (result.reason or "")


def test_windows_probes_run_in_the_base_interpreter_not_a_venv_launcher(tmp_path: Path) -> None:
    """A Windows venv's python.exe / pythonw.exe is a launcher whose child is the interpreter:
    killing the launcher (a stuck probe) would leave the child stuck. The base one is used."""
    base = tmp_path / "Python311" / "python.exe"
    base.parent.mkdir()
    base.write_bytes(b"")
    launcher = str(tmp_path / "venv" / "Scripts" / "pythonw.exe")
    assert base_interpreter(launcher, str(base)) == str(base)
    assert base_interpreter(launcher, None) == launcher, "no venv: the interpreter itself"
    assert base_interpreter(launcher, str(tmp_path / "gone.exe")) == launcher
