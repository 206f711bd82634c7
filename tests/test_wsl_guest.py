"""WslGuestCollector reading /proc directly: captured files with exact values, this machine's
real /proc against psutil, and missing or cut-short files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psutil
import pytest
from catalogue_check import assert_catalogued

from wslwatch.collectors.wsl_guest import (
    WslGuestCollector,
    parse_cpu_ticks,
    parse_meminfo,
    parse_pressure,
    parse_vmstat,
)
from wslwatch.core import CollectorError, Sample

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VM = FIXTURES / "proc-debian-vm"
KiB = 1024


def values(samples: list[Sample]) -> dict[str, float]:
    """{name or name{mode}: value}; fails on a duplicate series."""
    out: dict[str, float] = {}
    for s in samples:
        key = s.name + "".join(f"{{{v}}}" for v in s.labels.values())
        assert key not in out, f"duplicate series {key}"
        out[key] = s.value
    return out


def proc_tree(root: Path, **texts: str | None) -> Path:
    """A proc_root with the VM's captured files; a keyword replaces one (None: leaves it out).

    `pressure` stands for pressure/memory.
    """
    shutil.copytree(VM, root)
    for name, text in texts.items():
        path = root / ("pressure/memory" if name == "pressure" else name)
        if text is None:
            path.unlink()
        else:
            path.write_text(text)
    return root


def collect(proc_root: Path, now: float = 100.0) -> list[Sample]:
    return WslGuestCollector(30.0, str(proc_root), "").collect(now)


# --- parsers on captured files ---------------------------------------------------------------


def test_parse_meminfo_of_the_captured_vm() -> None:
    fields = parse_meminfo((VM / "meminfo").read_text())
    assert len(fields) == 54
    assert fields["MemTotal"] == 24683656 * KiB
    assert fields["MemAvailable"] == 24024408 * KiB
    assert fields["Active(file)"] == 518768 * KiB
    assert fields["HugePages_Total"] == 0  # a count, not kB
    assert fields["DirectMap1G"] == 25165824 * KiB


def test_parse_meminfo_of_wsl2_keeps_only_what_was_reported() -> None:
    """The published WSL2 text ends in the reporter's `...`: it is skipped, nothing is invented."""
    fields = parse_meminfo((FIXTURES / "wsl2-meminfo-head-heim305.txt").read_text())
    assert fields == {
        "MemTotal": 26220580 * KiB,
        "MemFree": 26108576 * KiB,
        "MemAvailable": 25898488 * KiB,
        "Buffers": 4716 * KiB,
        "Cached": 8320 * KiB,
    }


def test_parse_meminfo_reads_a_value_glued_to_its_colon() -> None:
    fields = parse_meminfo((FIXTURES / "wsl1-meminfo-swapfree-no-space-issue296.txt").read_text())
    assert fields == {"SwapTotal": 789541600 * KiB, "SwapFree": 18014393644749232 * KiB}


def test_parse_meminfo_leaves_out_a_last_line_that_was_cut() -> None:
    text = (VM / "meminfo").read_text()
    cut = text[: text.index("MemAvailable:") + len("MemAvailable:   2402")]
    assert parse_meminfo(cut) == {"MemTotal": 24683656 * KiB, "MemFree": 23247928 * KiB}


def test_parse_vmstat_swap_counters() -> None:
    captured = parse_vmstat((VM / "vmstat").read_text())
    assert (captured["pswpin"], captured["pswpout"], captured["nr_free_pages"]) == (0, 0, 843713)
    public = parse_vmstat((FIXTURES / "vmstat-head-oshi1202.txt").read_text())
    assert (len(public), public["pswpin"], public["pswpout"]) == (66, 580, 5533)


def test_parse_cpu_ticks_of_the_all_cpu_line() -> None:
    assert parse_cpu_ticks((VM / "stat").read_text()) == {
        "user": 29703, "nice": 0, "system": 6212, "idle": 124100,
        "iowait": 699, "irq": 0, "softirq": 192, "steal": 234,
    }  # fmt: skip
    assert parse_cpu_ticks("cpu  10 20 30 40\n") == {"user": 10, "nice": 20, "system": 30, "idle": 40}
    assert parse_cpu_ticks("cpu0 1 2 3 4\n") == {}


def test_parse_pressure() -> None:
    published = parse_pressure((FIXTURES / "psi-memory-procfs40.txt").read_text())
    assert published["some"] == {"avg10": 70.24, "avg60": 68.52, "avg300": 69.91, "total": 3559632828.0}
    assert published["full"]["avg60"] == 58.06
    assert parse_pressure((VM / "pressure/memory").read_text())["some"]["avg60"] == 0.0


# --- the collector on captured trees ---------------------------------------------------------


def test_collects_every_series_from_the_captured_vm(tmp_path: Path) -> None:
    samples = collect(proc_tree(tmp_path / "proc"), now=123.0)
    assert values(samples) == {
        "wslwatch_guest_memory_total_bytes": 24683656 * KiB,
        "wslwatch_guest_memory_available_bytes": 24024408 * KiB,
        "wslwatch_guest_memory_free_bytes": 23247928 * KiB,
        "wslwatch_guest_memory_cached_bytes": 918496 * KiB,
        "wslwatch_guest_memory_reclaimable_bytes": (518768 + 410352 + 110028) * KiB,
        "wslwatch_guest_swap_total_bytes": 0,
        "wslwatch_guest_swap_free_bytes": 0,
        "wslwatch_guest_swap_in_pages_total": 0,
        "wslwatch_guest_swap_out_pages_total": 0,
        "wslwatch_guest_cpu_seconds_total{user}": 297.03,
        "wslwatch_guest_cpu_seconds_total{nice}": 0.0,
        "wslwatch_guest_cpu_seconds_total{system}": 62.12,
        "wslwatch_guest_cpu_seconds_total{idle}": 1241.0,
        "wslwatch_guest_cpu_seconds_total{iowait}": 6.99,
        "wslwatch_guest_cpu_seconds_total{irq}": 0.0,
        "wslwatch_guest_cpu_seconds_total{softirq}": 1.92,
        "wslwatch_guest_cpu_seconds_total{steal}": 2.34,
        "wslwatch_guest_memory_pressure_some_ratio": 0.0,
    }
    assert_catalogued(samples, 123.0)


def test_wsl2_meminfo_head_gives_only_the_series_it_can(tmp_path: Path) -> None:
    meminfo = (FIXTURES / "wsl2-meminfo-head-heim305.txt").read_text()
    got = values(collect(proc_tree(tmp_path / "proc", meminfo=meminfo)))
    from_meminfo = {k: v for k, v in got.items() if k.endswith("_bytes")}
    assert from_meminfo == {
        "wslwatch_guest_memory_total_bytes": 26220580 * KiB,
        "wslwatch_guest_memory_available_bytes": 25898488 * KiB,
        "wslwatch_guest_memory_free_bytes": 26108576 * KiB,
        "wslwatch_guest_memory_cached_bytes": 8320 * KiB,
    }  # no swap and no reclaimable: the text has no such lines


def test_wsl1_meminfo_without_memavailable_leaves_it_absent(tmp_path: Path) -> None:
    meminfo = (FIXTURES / "wsl1-meminfo-head-heim305.txt").read_text()
    got = values(collect(proc_tree(tmp_path / "proc", meminfo=meminfo)))
    assert got["wslwatch_guest_memory_total_bytes"] == 33483712 * KiB
    assert "wslwatch_guest_memory_available_bytes" not in got


def test_pressure_is_the_some_avg60_share(tmp_path: Path) -> None:
    pressure = (FIXTURES / "psi-memory-procfs40.txt").read_text()
    got = values(collect(proc_tree(tmp_path / "proc", pressure=pressure)))
    assert got["wslwatch_guest_memory_pressure_some_ratio"] == pytest.approx(0.6852)


def test_swap_counters_from_a_vmstat_with_swapping(tmp_path: Path) -> None:
    vmstat = (FIXTURES / "vmstat-head-oshi1202.txt").read_text()
    got = values(collect(proc_tree(tmp_path / "proc", vmstat=vmstat)))
    assert (got["wslwatch_guest_swap_in_pages_total"], got["wslwatch_guest_swap_out_pages_total"]) == (580, 5533)


def test_without_psi_the_pressure_series_is_absent(tmp_path: Path) -> None:
    got = values(collect(proc_tree(tmp_path / "proc", pressure=None)))
    assert "wslwatch_guest_memory_pressure_some_ratio" not in got
    assert got["wslwatch_guest_memory_total_bytes"] == 24683656 * KiB


# --- missing, unreadable and cut-short files -------------------------------------------------


@pytest.mark.parametrize("name", ["meminfo", "vmstat", "stat"])
def test_a_missing_required_file_names_the_file_and_the_setting(tmp_path: Path, name: str) -> None:
    root = proc_tree(tmp_path / "proc", **{name: None})
    with pytest.raises(CollectorError) as error:
        collect(root)
    assert str(error.value).startswith(f"{root / name} does not exist")
    assert "proc_root" in str(error.value)


def test_a_proc_root_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="nowhere/meminfo does not exist.*proc_root = '.*nowhere'"):
        collect(tmp_path / "nowhere")


def test_an_unreadable_file_says_which_and_why(tmp_path: Path) -> None:
    root = proc_tree(tmp_path / "proc", stat=None)
    (root / "stat").mkdir()
    with pytest.raises(CollectorError, match=f"cannot read {root / 'stat'}: Is a directory"):
        collect(root)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("meminfo", "", "meminfo has no complete MemTotal line"),
        ("meminfo", "MemTotal:       246836", "meminfo has no complete MemTotal line"),
        ("vmstat", "", "vmstat has no complete `name value` line"),
        ("stat", "cpu  29703 0 6212 124100", "stat has no complete `cpu` line"),
    ],
)
def test_a_file_cut_short_is_a_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(CollectorError, match=message):
        collect(proc_tree(tmp_path / "proc", **{name: text}))


def test_a_garbled_pressure_file_only_loses_its_own_series(tmp_path: Path) -> None:
    got = values(collect(proc_tree(tmp_path / "proc", pressure="some avg10=0.00 avg6")))
    assert "wslwatch_guest_memory_pressure_some_ratio" not in got
    assert "wslwatch_guest_memory_total_bytes" in got


# --- this machine's real /proc ---------------------------------------------------------------


def test_real_proc_agrees_with_psutil() -> None:
    now = time.time()
    samples = WslGuestCollector(30.0, "/proc", "").collect(now)
    got = values(samples)
    memory, swap, cpu = psutil.virtual_memory(), psutil.swap_memory(), psutil.cpu_times()
    assert got["wslwatch_guest_memory_total_bytes"] == memory.total
    assert got["wslwatch_guest_swap_total_bytes"] == swap.total
    assert abs(got["wslwatch_guest_memory_available_bytes"] - memory.available) < 64 << 20
    assert got["wslwatch_guest_memory_free_bytes"] <= got["wslwatch_guest_memory_available_bytes"]
    assert got["wslwatch_guest_memory_reclaimable_bytes"] <= got["wslwatch_guest_memory_total_bytes"]
    for mode in ("user", "system", "idle"):
        assert abs(got[f"wslwatch_guest_cpu_seconds_total{{{mode}}}"] - getattr(cpu, mode)) < 2.0
    assert got["wslwatch_guest_swap_in_pages_total"] * 4096 == pytest.approx(swap.sin, abs=1 << 20)
    has_psi = os.path.exists("/proc/pressure/memory")
    assert ("wslwatch_guest_memory_pressure_some_ratio" in got) == has_psi
    if has_psi:
        assert 0.0 <= got["wslwatch_guest_memory_pressure_some_ratio"] <= 1.0
    assert_catalogued(samples, now)
