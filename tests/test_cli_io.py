"""`wslwatch where` and `wslwatch probe` as a user runs them, and the probe report's wording."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from wslwatch.collectors._probe_child import OPS
from wslwatch.collectors.places import Place
from wslwatch.collectors.probe import ProbeResult
from wslwatch.daemon.cli import main
from wslwatch.daemon.cmd_probe import PathReport, as_table, percentile, summary, verdicts

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def wslwatch(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """The real command line, run in this process; the probe's children are real processes."""

    def run(*args: str) -> Run:
        code = main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def where_json(wslwatch: Callable[..., Run], fixture: str, *paths: str) -> list[dict[str, Any]]:
    done = wslwatch("where", "--json", "--mountinfo", str(FIXTURES / fixture), *paths)
    assert done.returncode in (0, 1), done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)["paths"]
    return result


def test_where_classifies_the_wsl_fixtures(wslwatch: Callable[..., Run]) -> None:
    drvfs, docker, drivers, init = where_json(
        wslwatch, "wsl-mount-output.txt", "/mnt/c/Users/me/datasets", "/Docker/host/bin", "/usr/lib/wsl/drivers/nv.dll", "/init"
    )
    assert drvfs == {
        "path": "/mnt/c/Users/me/datasets",
        "mountpoint": "/mnt/c",
        "fstype": "9p",
        "source": "C:\\",
        "kind": "wsl-drvfs-9p",
        "cross_os": True,
        "readonly": False,
    }
    assert (docker["kind"], docker["source"], docker["cross_os"]) == ("wsl-drvfs-9p", "drvfs", True)
    assert (drivers["kind"], drivers["readonly"], drivers["cross_os"]) == ("9p", True, False)
    assert (init["kind"], init["source"], init["readonly"]) == ("9p", "tools[/init]", True)


def test_where_classifies_wsl_mountinfo_docker_and_edge_cases(wslwatch: Callable[..., Run]) -> None:
    drivers, lib, versions, wslg_distro = where_json(
        wslwatch, "wsl-mountinfo-issue7152.txt", "/usr/lib/wsl/drivers", "/usr/lib/wsl/lib/libcuda.so", "/mnt/wslg/versions.txt", "/mnt/wslg/distro/x"
    )
    assert (drivers["kind"], drivers["readonly"]) == ("9p", True)
    assert lib["kind"] == "overlay"
    assert versions["source"] == "none[/etc/versions.txt]"
    assert (wslg_distro["kind"], wslg_distro["readonly"]) == ("ext4", True)
    (container,) = where_json(wslwatch, "docker-overlay-mountinfo.txt", "/app/data")
    assert (container["kind"], container["mountpoint"]) == ("overlay-docker", "/")
    spaced, overmount, fuse = where_json(
        wslwatch, "linux-mountinfo-edge-cases.txt", "/srv/lab/dir with space/a", "/srv/lab/mnt_t", "/srv/lab/slow_mnt/x"
    )
    assert (spaced["mountpoint"], spaced["source"]) == ("/srv/lab/dir with space", "/dev/vda[/srv/lab/diod_export]")
    assert overmount["source"] == "second"
    assert (fuse["kind"], fuse["fstype"]) == ("fuse", "fuse.slowfs")


def test_where_table_gives_advice_for_cross_os_paths_and_says_what_is_unknown(wslwatch: Callable[..., Run]) -> None:
    done = wslwatch("where", "--mountinfo", str(FIXTURES / "wsl-mountinfo-issue7152.txt"), "/home/me", "/usr/lib/wsl/lib")
    assert done.returncode == 1  # /home/me is under no mount in that excerpt
    assert "/home/me: no mount in the table holds it" in done.stdout
    header, row_home, row_lib = done.stdout.splitlines()[:3]
    assert header.split()[:3] == ["PATH", "KIND", "CROSS-OS"]
    assert row_lib.split()[:4] == ["/usr/lib/wsl/lib", "overlay", "no", "no"]
    advice = wslwatch("where", "--mountinfo", str(FIXTURES / "wsl-mount-output.txt"), "/mnt/c/data")
    assert advice.returncode == 0
    assert "/mnt/c/data is on a Windows drive reached through WSL's drvfs over 9P" in advice.stdout
    assert "copy training data into the Linux filesystem" in advice.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mountinfo", str(FIXTURES / "wsl-mount-output.txt"), "data"], "give absolute paths"),
        (["--mountinfo", "/nonexistent/mountinfo", "/x"], "cannot read /nonexistent/mountinfo"),
        (["--mountinfo", str(FIXTURES / "wsl-list-verbose.txt"), "/x"], "holds no mount lines"),
    ],
)
def test_where_refuses_what_it_cannot_use(wslwatch: Callable[..., Run], args: list[str], message: str) -> None:
    done = wslwatch("where", *args)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""


def test_where_warns_about_lines_it_skips(wslwatch: Callable[..., Run], tmp_path: Path) -> None:
    pasted = tmp_path / "pasted.txt"
    pasted.write_text("$ cat /proc/self/mountinfo\n" + (FIXTURES / "linux-mountinfo-edge-cases.txt").read_text())
    done = wslwatch("where", "--mountinfo", str(pasted), "/srv/lab/ov/merged")
    assert done.returncode == 0 and "line(s) 1 are not mount lines" in done.stderr
    assert "overlay" in done.stdout


def test_where_on_this_machine_follows_symlinks_in_a_child(wslwatch: Callable[..., Run], tmp_path: Path) -> None:
    target = Path("/dev/shm") / f"wslwatch-test-{tmp_path.name}"
    target.mkdir()
    try:
        (tmp_path / "link").symlink_to(target)
        (entry,) = json.loads(wslwatch("where", "--json", str(tmp_path / "link")).stdout)["paths"]
        assert (entry["path"], entry["fstype"], entry["mountpoint"]) == (str(tmp_path / "link"), "tmpfs", "/dev/shm")
        assert list(target.iterdir()) == []  # nothing was written
    finally:
        target.rmdir()


def test_probe_json_has_the_documented_shape(wslwatch: Callable[..., Run], tmp_path: Path) -> None:
    done = wslwatch("probe", "--json", "--samples", "4", "--interval", "0", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["paths"]
    assert {"path", "kind", "fstype", "mountpoint", "cross_os", "status", "ops"} <= set(entry)
    assert (entry["path"], entry["status"], entry["cross_os"]) == (str(tmp_path), "ok", False)
    assert set(entry["ops"]) | {"read_direct"} == set(OPS)
    for stats in entry["ops"].values():
        assert set(stats) == {"p50_s", "p90_s", "p99_s", "min_s", "max_s", "n"}
        assert stats["n"] == 4
        assert 0 < stats["min_s"] <= stats["p50_s"] <= stats["p90_s"] <= stats["p99_s"] <= stats["max_s"]
    assert list(tmp_path.iterdir()) == []


def test_probe_table_has_a_column_per_path_a_row_per_operation_and_progress(wslwatch: Callable[..., Run], tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    done = wslwatch("probe", "--samples", "2", "--interval", "0.05", str(first), str(second))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [str(first), str(second)]
    assert lines[1].split()[0] == "kind" and lines[2].split() == ["status", "ok", "ok"]
    rows = [line.split()[0] for line in lines[3 : lines.index("(median of 2 samples per operation, 50 ms apart)")]]
    assert rows == [op for op in OPS if op in rows] and set(OPS) - set(rows) <= {"read_direct"}
    assert "(median of 2 samples per operation, 50 ms apart)" in done.stdout
    assert any(str(second) in line and ("slower than" in line or "about as fast as" in line) for line in lines)
    assert f"probing 1/2 {first} ..." in done.stderr  # each takes over a second at 50 ms spacing


def test_probe_rejects_bad_numbers(wslwatch: Callable[..., Run]) -> None:
    done = wslwatch("probe", "--samples", "0", "/tmp")
    assert done.returncode == 2 and "--samples must be from 1 to 1000" in done.stderr


def test_probe_of_a_missing_directory_says_so_and_fails(wslwatch: Callable[..., Run], tmp_path: Path) -> None:
    done = wslwatch("probe", str(tmp_path / "missing"))
    assert done.returncode == 1
    assert f"{tmp_path / 'missing'} could not be probed:" in done.stdout and "No such file or directory" in done.stdout


def report(path: str, kind: str, p50s: dict[str, float], status: str = "ok", **extra: object) -> PathReport:
    place = Place(path, "/", kind, "src", kind, kind.startswith("wsl-drvfs"), False)
    result = ProbeResult(status, latencies={op: [v] for op, v in p50s.items()}, **extra)  # type: ignore[arg-type]
    return PathReport(path, place, result)


def test_verdict_names_the_operation_with_the_largest_ratio() -> None:
    local = report("/home/me/data", "ext4", {"stat_dir": 20e-6, "create_fsync": 0.001})
    drvfs = report("/mnt/c/data", "wsl-drvfs-9p", {"stat_dir": 200e-6, "create_fsync": 0.014})
    lines = verdicts([drvfs, local])
    assert lines[0] == "/mnt/c/data is 14× slower than /home/me/data for create_fsync"
    assert any(line.startswith("/mnt/c/data is on a Windows drive") for line in lines)


def test_verdict_for_similar_paths_stalls_and_errors() -> None:
    a = report("/a", "ext4", {"stat_dir": 20e-6, "listdir": 40e-6})
    b = report("/b", "ext4", {"stat_dir": 25e-6, "listdir": 41e-6})
    stuck = report("/c", "fuse", {}, status="stalled", reason="no answer within 20s (stuck in listdir)")
    broken = report("/d", "ext4", {}, status="error", reason="/d: No such file or directory")
    assert verdicts([a, b, stuck, broken]) == [
        "/b is about as fast as /a (within 1.5× on every operation)",
        "/c stalled: no answer within 20s (stuck in listdir); its filesystem is hung or extremely slow",
        "/d could not be probed: /d: No such file or directory",
    ]


def test_ratio_wording_and_table_units() -> None:
    a = report("/a", "ext4", {"read_cached": 2e-6, "write_sync": 0.0004})
    b = report("/b", "fuse", {"read_cached": 5e-6, "write_sync": 0.0012})
    assert verdicts([a, b])[0] == "/b is 3.0× slower than /a for write_sync"
    table = as_table([a, b], 1, 0.02)
    assert "2.0 µs" in table and "400 µs" in table and "1.20 ms" in table
    assert "read_direct" not in table  # an operation measured nowhere has no row


def test_tmpfs_cache_illusions_are_explained() -> None:
    shm = report("/dev/shm/x", "tmpfs", {"read_uncached": 1e-6}, cache_illusions=1)
    assert "served from memory every time" in as_table([shm], 1, 0.02)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.99) == 5.0
    stats = summary([0.004, 0.001, 0.002, 0.003, 0.010])
    assert (stats["p50_s"], stats["min_s"], stats["max_s"], stats["n"]) == (0.003, 0.001, 0.010, 5)
    assert stats["p90_s"] == pytest.approx(0.0076)
