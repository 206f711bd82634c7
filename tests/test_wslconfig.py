"""The .wslconfig parser and collector: real files people posted, every form WSL reads, garbage."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wslwatch.collectors._wslconfig_parser import (
    decode_wslconfig,
    effective_sizes,
    parse_size,
    parse_wslconfig,
)
from wslwatch.collectors.wslconfig import WslconfigCollector
from wslwatch.core import CollectorError, NoData, Sample
from wslwatch.exporters.catalogue import CATALOGUE

FIXTURES = Path(__file__).parent / "fixtures" / "wslconfig"
GiB = 1 << 30
MiB = 1 << 20


def codes(text: str) -> list[tuple[str, int | None]]:
    """(code, line) of every problem in `text`, in order."""
    return [(p.code, p.line) for p in parse_wslconfig(text).problems]


# ---------------------------------------------------------------------------------------
# Real files (tests/fixtures/README.md names each source)

REAL = [
    # file, memory, swap, reclaim mode, section, problems (code, line)
    ("wsl-issue10759-reclaim-under-wsl2.wslconfig", 24 * GiB, None, "dropcache", "default",
     [("reclaim_in_wsl2_section", 3)]),
    ("wsl-issue10759-reply-experimental.wslconfig", 24 * GiB, None, "gradual", "experimental", []),
    ("wsl-issue8013-page-reporting.wslconfig", None, None, "dropcache", "default",
     [("page_reporting_deprecated", 3), ("unknown_key", 4)]),
    ("wsl-issue7099-semicolon-comment.wslconfig", 16 * GiB, None, "dropcache", "default", [("semicolon_comment", 2)]),
    ("wsl-issue6890-section-typo.wslconfig", None, None, "dropcache", "default",
     [("unknown_key", 2), ("unknown_key", 3)]),
    ("wsl-issue12671-key-before-section.wslconfig", None, None, "dropcache", "default", [("unknown_key", 1)]),
    ("wsl-issue10503-swap-0gb.wslconfig", None, 0, "dropcache", "default", []),
    ("nixos-wsl-issue123-sizes.wslconfig", 8 * GiB, 32 * GiB, "dropcache", "default", []),
    ("wsl-issue10985-trailing-space.wslconfig", 20 * GiB, 4 * GiB, "dropcache", "default", []),
    ("mimikun-dotfiles-issue1841.wslconfig", 8 * GiB, 0, "dropcache", "experimental",
     [("page_reporting_deprecated", 11)]),
    ("docker-for-win-issue12681-learn-example.wslconfig", 8 * GiB, 8 * GiB, "dropcache", "default", []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "memory", "swap", "mode", "section", "problems"), REAL, ids=[r[0] for r in REAL])
def test_real_files(name: str, memory: int | None, swap: int | None, mode: str, section: str,
                    problems: list[tuple[str, int]]) -> None:  # fmt: skip
    text, decode_problems = decode_wslconfig((FIXTURES / name).read_bytes())
    config = parse_wslconfig(text)
    assert decode_problems == ()
    assert (config.memory_bytes, config.swap_bytes) == (memory, swap)
    assert (config.auto_memory_reclaim, config.reclaim_section) == (mode, section)
    assert [(p.code, p.line) for p in config.problems] == problems


def test_every_fixture_is_in_the_table_and_named_in_the_readme() -> None:
    readme = (FIXTURES.parent / "README.md").read_text()
    on_disk = sorted(p.name for p in FIXTURES.iterdir())
    assert on_disk == sorted(r[0] for r in REAL)
    assert all(name in readme for name in on_disk)


def test_real_file_values_with_escapes_quotes_and_lower_case_keys() -> None:
    learn = parse_wslconfig((FIXTURES / "docker-for-win-issue12681-learn-example.wslconfig").read_text())
    values = {s.key: s.value for s in learn.settings}
    assert values["wsl2.kernel"] == "C:\\temp\\myCustomKernel"  # written C:\\temp\\myCustomKernel
    assert values["wsl2.swapfile"] == "C:\\temp\\wsl-swap.vhdx"  # lower-case key, still known
    assert values["wsl2.kernelCommandLine"] == "vsyscall=emulate"
    dotfiles = parse_wslconfig((FIXTURES / "mimikun-dotfiles-issue1841.wslconfig").read_text(encoding="utf-8"))
    values = {s.key: s.value for s in dotfiles.settings}
    assert values["wsl2.networkingMode"] == "mirrored"  # quotes removed
    assert values["experimental.dnsTunnelingIpAddress"] == "10.255.255.254"
    assert values["wsl2.defaultVhdSize"] == "1TB"
    assert "experimental.ignoredPorts" not in values  # commented out


def test_real_file_messages_say_what_to_do() -> None:
    [problem] = parse_wslconfig((FIXTURES / "wsl-issue10759-reclaim-under-wsl2.wslconfig").read_text()).problems
    assert problem.key == "wsl2.autoMemoryReclaim"
    assert "[experimental]" in problem.message and "move" in problem.message
    typo = parse_wslconfig((FIXTURES / "wsl-issue6890-section-typo.wslconfig").read_text()).problems
    assert "did you mean [wsl2]?" in typo[0].message
    before = parse_wslconfig((FIXTURES / "wsl-issue12671-key-before-section.wslconfig").read_text()).problems
    assert "before any [section]" in before[0].message and "[wsl2]" in before[0].message


# ---------------------------------------------------------------------------------------
# Every form of the file WSL reads


@pytest.mark.parametrize(
    ("text", "mode", "section", "problems"),
    [
        ("[wsl2]\nautoMemoryReclaim=gradual\n", "dropcache", "default", [("reclaim_in_wsl2_section", 2)]),
        ("[experimental]\nautoMemoryReclaim=gradual\n", "gradual", "experimental", []),
        ("[experimental]\nautoMemoryReclaim=disabled\n", "disabled", "experimental", []),
        ("[EXPERIMENTAL]\nAutoMemoryReclaim = DropCache\n", "dropcache", "experimental", []),
        ("[Experimental]\nautomemoryreclaim=GRADUAL # slow release\n", "gradual", "experimental", []),
        ('[experimental]\nautoMemoryReclaim = "gradual"\n', "gradual", "experimental", []),
        ("[experimental]\nautoMemoryReclaim=dropCaches\n", "dropcache", "experimental", [("unknown_reclaim_value", 2)]),
        ("[experimental]\nautoMemoryReclaim=\n", "dropcache", "experimental", [("unknown_reclaim_value", 2)]),
        ("[experimental]\nautoMemoryReclaim=gradual ; slow\n", "dropcache", "experimental",
         [("semicolon_comment", 2), ("unknown_reclaim_value", 2)]),
        ("[wsl2]\nautoMemoryReclaim=disabled\n[experimental]\nautoMemoryReclaim=gradual\n", "gradual",
         "experimental", [("reclaim_in_wsl2_section", 2)]),
        ("[experimental]\nautoMemoryReclaim=gradual\nautoMemoryReclaim=disabled\n", "gradual", "experimental",
         [("duplicate_key", 3)]),
        ("[general]\nautoMemoryReclaim=gradual\n", "dropcache", "default", [("unknown_key", 2)]),
        ("autoMemoryReclaim=gradual\n", "dropcache", "default", [("unknown_key", 1)]),
        ("[experimental]\nautoMemoryReclaim=\"gradual\n", "dropcache", "default", [("invalid_line", 2)]),
        ("", "dropcache", "default", []),
    ],
)  # fmt: skip
def test_auto_memory_reclaim(text: str, mode: str, section: str, problems: list[tuple[str, int]]) -> None:
    config = parse_wslconfig(text)
    assert (config.auto_memory_reclaim, config.reclaim_section) == (mode, section)
    assert codes(text) == problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8GB", 8 * GiB), ("8G", 8 * GiB), ("4096MB", 4 * GiB), ("4096M", 4 * GiB), ("512KB", 512 << 10),
        ("512K", 512 << 10), ("1TB", 1 << 40), ("2T", 2 << 40), ("1073741824", GiB), ("100B", 100),
        ("0", 0), ("0GB", 0), ("+8GB", 8 * GiB), (" 8GB", 8 * GiB), ("08GB", 8 * GiB),
    ],
)  # fmt: skip
def test_sizes_wsl_accepts(value: str, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("value", "advice"),
    [
        ("8gb", "upper case only: write 8GB"), ("8Gb", "upper case only: write 8GB"), ("8mb", "write 8MB"),
        ("8 GB", "no spaces around the unit: write 8GB"), ("8GB ", "no spaces"),
        ("8GiB", "write 8GB"), ("8.5GB", "e.g. 8704MB"), ("0.5KB", "e.g. 512B"), ("-1", "negative"),
        ("50%", "unit must be"), ("", "not a size"), ("GB", "not a size"), ("00", "write 0"), ("+0", "write 0"),
        ("eight", "not a size"), ("99999999999999999999TB", "too large"),
    ],
)  # fmt: skip
def test_sizes_wsl_rejects(value: str, advice: str) -> None:
    result = parse_size(value)
    assert isinstance(result, str) and advice in result


@pytest.mark.parametrize(
    ("text", "memory", "swap", "problems"),
    [
        ("[wsl2]\nmemory=8GB\nswap=2GB\n", 8 * GiB, 2 * GiB, []),
        ("[wsl2]\nswap=0\n", None, 0, []),
        ("[WSL2]\nMEMORY=12G\nSwap=0GB\n", 12 * GiB, 0, []),
        ('[wsl2]\nmemory="6GB"\n', 6 * GiB, None, []),
        ("[wsl2]\nmemory = 6GB   # six\n", 6 * GiB, None, []),
        ("[wsl2]\n\tmemory\t=\t6GB\t\n", 6 * GiB, None, []),
        ("[wsl2]\nmemory=8gb\n", None, None, [("bad_size", 2)]),
        ("[wsl2]\nswap=8 GB\n", None, None, [("bad_size", 2)]),
        ("[wsl2]\nmemory=8GB ; eight\n", None, None, [("bad_size", 2), ("semicolon_comment", 2)]),
        ("[wsl2]\nmemory=0\n", 0, None, []),
        ("[wsl2]\ndefaultVhdSize=1tb\n", None, None, [("bad_size", 2)]),
        ("[wsl2]\nmemory=8GB\nmemory=4GB\n", 8 * GiB, None, [("duplicate_key", 3)]),
        ("[wsl2]\nmemory=8gb\nmemory=4GB\n", None, None, [("bad_size", 2), ("duplicate_key", 3)]),
        ("[wsl2]\r\nmemory=8GB\r\nswap=1GB\r\n", 8 * GiB, GiB, []),
        ("memory=8GB\n[wsl2]\n", None, None, [("unknown_key", 1)]),
        ("[wsl2]\n[ wsl2 ]\nmemory=8GB\n", 8 * GiB, None, [("invalid_line", 2)]),
        ("[ wsl2 ]\nmemory=8GB\n", None, None, [("invalid_line", 1), ("unknown_key", 2)]),
        ("[wsl2]x\nmemory=8GB\n", None, None, [("invalid_line", 1), ("unknown_key", 2)]),
        ("[wsl2] # the VM\nmemory=8GB\n", 8 * GiB, None, []),
    ],
)  # fmt: skip
def test_memory_and_swap(text: str, memory: int | None, swap: int | None, problems: list[tuple[str, int]]) -> None:
    config = parse_wslconfig(text)
    assert (config.memory_bytes, config.swap_bytes) == (memory, swap)
    assert codes(text) == problems


@pytest.mark.parametrize(
    ("text", "key", "value", "problems"),
    [
        ('[wsl2]\nkernelCommandLine = "quiet # not a comment"\n', "wsl2.kernelCommandLine", "quiet # not a comment", []),
        ('[wsl2]\nkernelCommandLine = " padded "\n', "wsl2.kernelCommandLine", " padded ", []),
        ("[wsl2]\nkernelCommandLine = a \\\n b\nmemory=1GB\n", "wsl2.memory", "1GB", []),
        ("[wsl2]\nkernelCommandLine = a \\\n b\n", "wsl2.kernelCommandLine", "a  b", []),
        ('[wsl2]\nkernel = C:\\\\k\\"x\\" \\t\n', "wsl2.kernel", 'C:\\k"x" \t', []),
        ("[wsl2]\nswapFile=C:\\temp\\swap.vhdx\nmemory=2GB\n", "wsl2.memory", "2GB", [("invalid_line", 2)]),
        ("[wsl2]\nkernel=C:\\\n", "wsl2.kernel", "C:", []),
        ("[wsl2]\nkernel=C:\\", None, None, [("invalid_line", 2)]),
        ("[wsl2]\n  # indented comment\n;memory=2GB\n", None, None, [("semicolon_comment", 3)]),
        ("[wsl2]\nmemory 8GB\n", None, None, [("invalid_line", 2)]),
        ("[wsl2]\nauto_memory_reclaim=gradual\n", None, None, [("invalid_line", 2)]),
        ("[wsl2]\n=8GB\n", None, None, [("invalid_line", 2)]),
        ("[wsl2]\nmemroy=8GB\n", None, None, [("unknown_key", 2)]),
        ("[wsl2]\nsparseVhd=true\n", None, None, [("unknown_key", 2)]),
        ("[wsl2]\nnetworkingMode=mirrored\n[experimental]\nnetworkingMode=nat\n", "wsl2.networkingMode",
         "mirrored", [("duplicate_key", 4)]),
        ("[experimental]\nnetworkingMode=mirrored\n", "experimental.networkingMode", "mirrored", []),
        ("[general]\ninstanceIdleTimeout=-1\n", "general.instanceIdleTimeout", "-1", []),
        ("[wsl2]\npageReporting=false\n", None, None, [("page_reporting_deprecated", 2)]),
        ("[experimental]\npageReporting=false\n", None, None, [("page_reporting_deprecated", 2)]),
    ],
)  # fmt: skip
def test_lines_values_and_keys(text: str, key: str | None, value: str | None, problems: list[tuple[str, int]]) -> None:
    config = parse_wslconfig(text)
    if key is not None:
        assert {s.key: s.value for s in config.settings}[key] == value
    assert codes(text) == problems


def test_unknown_key_messages_guess_the_meant_key_or_section() -> None:
    def message(text: str) -> str:
        return parse_wslconfig(text).problems[0].message

    assert "did you mean memory?" in message("[wsl2]\nmemroy=8GB\n")
    assert "did you mean localhostForwarding?" in message("[wsl2]\nlocalhostForwading=true\n")
    assert "belongs under [experimental]" in message("[wsl2]\nsparseVhd=true\n")
    assert "removed" in message("[wsl2]\nidleThreshold=1\n")
    assert "check the spelling" in message("[wsl2]\nzzz=1\n")
    dup = parse_wslconfig("[wsl2]\nmemory=8GB\n\nmemory=4GB\n").problems[0]
    assert (dup.key, dup.line) == ("wsl2.memory", 4) and "first value (line 2)" in dup.message


def test_problem_where_names_line_and_key() -> None:
    [problem] = parse_wslconfig("[wsl2]\nautoMemoryReclaim=gradual\n").problems
    assert problem.where() == "2: wsl2.autoMemoryReclaim"
    [semicolon] = parse_wslconfig(";x\n").problems
    assert semicolon.where() == "1"


# ---------------------------------------------------------------------------------------
# Encodings and garbage

NOTEPAD_TEXT = "[wsl2]\r\nmemory=6GB\r\n[experimental]\r\nautoMemoryReclaim=gradual\r\n"


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (NOTEPAD_TEXT.encode(), ()),
        (b"\xef\xbb\xbf" + NOTEPAD_TEXT.encode(), ()),  # UTF-8 with BOM (Notepad's default since 2019)
        (b"\xff\xfe" + NOTEPAD_TEXT.encode("utf-16-le"), ()),  # Notepad "Unicode"
    ],
)  # fmt: skip
def test_encodings_wsl_reads(data: bytes, problems: tuple[str, ...]) -> None:
    text, decode_problems = decode_wslconfig(data)
    config = parse_wslconfig(text)
    assert tuple(p.code for p in decode_problems) == problems
    assert (config.memory_bytes, config.auto_memory_reclaim, config.problems) == (6 * GiB, "gradual", ())


@pytest.mark.parametrize(
    "data",
    [
        b"\xfe\xff" + NOTEPAD_TEXT.encode("utf-16-be"),  # UTF-16 big-endian
        NOTEPAD_TEXT.encode("utf-16-le"),  # UTF-16 without a BOM
        bytes(range(256)) * 4,  # binary
    ],
    ids=["utf16-be", "utf16-no-bom", "binary"],
)
def test_encodings_wsl_cannot_read_give_defaults_and_a_problem(data: bytes) -> None:
    text, problems = decode_wslconfig(data)
    assert text == ""
    assert [p.code for p in problems] == ["bad_encoding"]
    assert "save it as UTF-8" in problems[0].message


def test_ansi_file_is_flagged_at_its_line_and_still_read() -> None:
    data = "[wsl2]\n# Mémoire\nmemory=4GB\n".encode("cp1252")
    text, problems = decode_wslconfig(data)
    assert [(p.code, p.line) for p in problems] == [("bad_encoding", 2)]
    assert parse_wslconfig(text).memory_bytes == 4 * GiB


@pytest.mark.parametrize("encode", [str.encode, lambda t: b"\xff\xfe" + t.encode("utf-16-le")], ids=["utf8", "utf16"])
def test_truncated_file_drops_its_partial_last_line(encode: Callable[[str], bytes]) -> None:
    data = encode("[wsl2]\nmemory=4GB\nswap=1234567")
    text, problems = decode_wslconfig(data, truncated=True)
    config = parse_wslconfig(text)
    assert [p.code for p in problems] == ["file_too_large"]
    assert (config.memory_bytes, config.swap_bytes) == (4 * GiB, None)


@given(st.binary(max_size=2048))
def test_any_bytes_decode_and_parse_without_error(data: bytes) -> None:
    text, _ = decode_wslconfig(data, truncated=len(data) % 2 == 1)
    parse_wslconfig(text)


@given(st.text(alphabet=st.sampled_from(list("[]=#;\"\\ \t\r\nab1wsl2GBexperimentalmemory")), max_size=300))
def test_any_text_parses_and_every_problem_has_a_code_and_message(text: str) -> None:
    config = parse_wslconfig(text)
    assert all(p.code and p.message for p in config.problems)
    assert config.auto_memory_reclaim in ("gradual", "dropcache", "disabled")


@given(st.integers(min_value=0, max_value=1 << 24), st.sampled_from(["", "B", "K", "KB", "M", "MB", "G", "GB"]))
def test_size_forms_round_trip(number: int, unit: str) -> None:
    factor = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": GiB, "GB": GiB}[unit]
    assert parse_size(f"{number}{unit}") == number * factor


# ---------------------------------------------------------------------------------------
# Effective sizes (WslCoreConfig.cpp Initialize)


@pytest.mark.parametrize(
    ("text", "host", "default", "memory", "swap", "problems"),
    [
        ("", 32 * GiB, 16 * GiB, 16 * GiB, 4 * GiB, []),  # 50 % of 32 GiB; a quarter of that
        ("", 24 * GiB, 12 * GiB, 12 * GiB, 3 * GiB, []),
        ("[wsl2]\nmemory=6GB\n", 32 * GiB, 16 * GiB, 6 * GiB, 2 * GiB, []),  # 1.5 GiB rounds up to 2
        ("[wsl2]\nmemory=4GB\n", 32 * GiB, 16 * GiB, 4 * GiB, GiB, []),
        ("[wsl2]\nmemory=4097MB\n", 32 * GiB, 16 * GiB, 4097 * MiB, 2 * GiB, []),
        ("[wsl2]\nmemory=0\n", 32 * GiB, 16 * GiB, 16 * GiB, 4 * GiB, []),  # 0 means the default
        ("[wsl2]\nswap=0\n", 32 * GiB, 16 * GiB, 16 * GiB, 0, []),
        ("[wsl2]\nmemory=128MB\n", 32 * GiB, 16 * GiB, 256 * MiB, GiB, [("memory_out_of_range", 2)]),
        ("[wsl2]\nmemory=64GB\n", 32 * GiB, 16 * GiB, 32 * GiB, 8 * GiB, [("memory_out_of_range", 2)]),
        ("[wsl2]\nmemory=64GB\n", None, 15 * GiB, 64 * GiB, 16 * GiB, []),  # inside WSL: no host cap known
        ("", None, 15 * GiB + 600 * MiB, 15 * GiB + 600 * MiB, 4 * GiB, []),  # MemTotal under 16 GiB
        ("", None, None, None, None, []),
        ("[wsl2]\nswap=2GB\n", None, None, None, 2 * GiB, []),
    ],
)  # fmt: skip
def test_effective_sizes(text: str, host: int | None, default: int | None, memory: int | None, swap: int | None,
                         problems: list[tuple[str, int]]) -> None:  # fmt: skip
    sizes = effective_sizes(parse_wslconfig(text), host, default)
    assert (sizes.memory_bytes, sizes.swap_bytes) == (memory, swap)
    assert [(p.code, p.line) for p in sizes.problems] == problems


# ---------------------------------------------------------------------------------------
# The collector, end to end over real files


def by_name(samples: list[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for sample in samples:
        out.setdefault(sample.name, []).append(sample)
    return out


def assert_in_catalogue(samples: list[Sample]) -> None:
    for sample in samples:
        family = CATALOGUE[sample.name]
        assert family.kind == "gauge"
        assert set(sample.labels) == set(family.labels), sample


def windows_collector(profile: Path) -> WslconfigCollector:
    return WslconfigCollector(60.0, "", platform="win32", environ={"USERPROFILE": str(profile)})


def test_missing_file_gives_wsl_defaults(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wslwatch.collectors.wslconfig")
    collector = windows_collector(tmp_path)
    collector.collect(99.0)
    samples = collector.collect(100.0)
    assert_in_catalogue(samples)
    series = by_name(samples)
    [info] = series["wslwatch_wsl_config_info"]
    assert (dict(info.labels), info.value, info.ts) == (
        {"auto_memory_reclaim": "dropcache", "section": "default", "path": ""}, 1.0, 100.0)  # fmt: skip
    host = psutil.virtual_memory().total
    memory = host // 2
    assert series["wslwatch_wsl_config_memory_limit_bytes"][0].value == memory
    assert series["wslwatch_wsl_config_swap_bytes"][0].value == -(-memory // 4 // GiB) * GiB
    assert "wslwatch_wsl_config_problem" not in series
    assert [r.getMessage() for r in caplog.records] == [
        f"no .wslconfig at {tmp_path / '.wslconfig'}: WSL's defaults apply"]  # once, not per collection


def test_problems_are_exported_and_logged_once_per_change(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copy(FIXTURES / "wsl-issue8013-page-reporting.wslconfig", tmp_path / ".wslconfig")
    collector = windows_collector(tmp_path)
    caplog.set_level(logging.INFO, "wslwatch.collectors.wslconfig")
    samples = collector.collect(1.0)
    assert_in_catalogue(samples)
    assert sorted(s.labels["code"] for s in by_name(samples)["wslwatch_wsl_config_problem"]) == [
        "page_reporting_deprecated", "unknown_key"]  # fmt: skip
    path = tmp_path / ".wslconfig"
    assert by_name(samples)["wslwatch_wsl_config_info"][0].labels["path"] == str(path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{path}:3: wsl2.pageReporting: WSL no longer reads pageReporting")
    assert warnings[1].startswith(f"{path}:4: wsl2.idleThreshold: ") and warnings[1].endswith("[unknown_key]")

    caplog.clear()
    collector.collect(2.0)
    assert caplog.records == []  # same problems: nothing new to say

    path.write_text("[wsl2]\nlocalhostForwarding = true\nmemory=8GB\n[experimental]\nautoMemoryReclaim=gradual\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new stamp even on a coarse clock
    samples = collector.collect(3.0)
    series = by_name(samples)
    assert "wslwatch_wsl_config_problem" not in series
    assert series["wslwatch_wsl_config_info"][0].labels["auto_memory_reclaim"] == "gradual"
    assert series["wslwatch_wsl_config_memory_limit_bytes"][0].value == 8 * GiB
    assert series["wslwatch_wsl_config_swap_bytes"][0].value == 2 * GiB
    assert [r.getMessage() for r in caplog.records] == [f"{path}: no problems left"]


def test_notepad_utf16_file_end_to_end(tmp_path: Path) -> None:
    text = (FIXTURES / "wsl-issue10759-reply-experimental.wslconfig").read_text().replace("\n", "\r\n")
    (tmp_path / ".wslconfig").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    series = by_name(windows_collector(tmp_path).collect(1.0))
    assert series["wslwatch_wsl_config_info"][0].labels["auto_memory_reclaim"] == "gradual"
    assert series["wslwatch_wsl_config_memory_limit_bytes"][0].value == min(24 * GiB, psutil.virtual_memory().total)
    codes_now = {s.labels["code"] for s in series.get("wslwatch_wsl_config_problem", [])}
    assert codes_now <= {"memory_out_of_range"}  # only on a test machine under 24 GiB


@pytest.mark.parametrize(
    ("data", "code"),
    [(os.urandom(3000).replace(b"\n", b"") + b"\x00", "bad_encoding"), (b"# pad\n" * 1000, "file_too_large")],
)
def test_garbage_files_are_problems_not_errors(tmp_path: Path, data: bytes, code: str) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(data)
    collector = WslconfigCollector(60.0, str(path), platform="linux", environ={}, max_bytes=4096)
    series = by_name(collector.collect(1.0))
    assert [s.labels["code"] for s in series["wslwatch_wsl_config_problem"]] == [code]
    assert series["wslwatch_wsl_config_info"][0].labels == {
        "auto_memory_reclaim": "dropcache", "section": "default", "path": str(path)}  # fmt: skip


def test_a_text_file_of_garbage_is_logged_briefly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("".join(f"line {i} of some other file\n" for i in range(500)))
    caplog.set_level(logging.WARNING, "wslwatch.collectors.wslconfig")
    series = by_name(WslconfigCollector(60.0, str(path), platform="linux", environ={}).collect(1.0))
    assert [s.labels["code"] for s in series["wslwatch_wsl_config_problem"]] == ["invalid_line"]
    assert len(caplog.records) == 21
    assert caplog.records[-1].getMessage() == f"{path}: 480 more problems not logged; is this really a .wslconfig?"


def test_unreadable_path_is_a_collector_error(tmp_path: Path) -> None:
    collector = WslconfigCollector(60.0, str(tmp_path), platform="linux", environ={})
    with pytest.raises(CollectorError, match=f"cannot read {tmp_path}"):
        collector.collect(1.0)


def test_plain_linux_without_a_path_has_no_data(tmp_path: Path) -> None:
    collector = WslconfigCollector(60.0, "", platform="linux", environ={}, proc_root=str(tmp_path))
    with pytest.raises(NoData, match="collectors.wslconfig.path"):
        collector.collect(1.0)


@pytest.fixture
def vm_process(tmp_path: Path) -> Iterator[float]:
    """A real process named vmmemWSL, the name of the WSL VM's process on Windows 11."""
    binary = tmp_path / "vmmemWSL"
    shutil.copy("/bin/sleep", binary)
    proc = subprocess.Popen([str(binary), "30"])
    created = psutil.Process(proc.pid).create_time()
    yield created
    proc.kill()
    proc.wait()


def test_file_changed_after_the_vm_started(tmp_path: Path, vm_process: float) -> None:
    path = tmp_path / ".wslconfig"
    path.write_text("[wsl2]\nmemory=4GB\n")
    collector = windows_collector(tmp_path)
    os.utime(path, (vm_process - 3600, vm_process - 3600))  # written before the VM started
    assert "wslwatch_wsl_config_problem" not in by_name(collector.collect(1.0))
    os.utime(path, (vm_process + 3600, vm_process + 3600))  # edited while it runs
    series = by_name(collector.collect(2.0))
    assert [s.labels["code"] for s in series["wslwatch_wsl_config_problem"]] == ["changed_after_vm_start"]


# --- inside WSL: a stand-in Windows (cmd.exe, wslpath) and a captured /proc


def make_wsl(tmp_path: Path, *, mem_total_kb: int = 16_283_084, btime: int = 1_700_000_000) -> tuple[dict[str, str], Path]:
    """A /proc like a WSL guest's, and PATH with cmd.exe and wslpath that behave like Windows'.

    cmd.exe /u writes UTF-16LE with CRLF; each call is logged to `calls`.
    wslpath -u maps `C:\\...` under `<tmp>/mnt/c/...`.
    """
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(f"MemTotal:       {mem_total_kb} kB\nMemFree:        15000000 kB\n")
    (proc / "stat").write_text(f"cpu  1 2 3 4\nbtime {btime}\nprocesses 100\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "cmd.exe").write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "sys.stdout.buffer.write('C:\\\\Users\\\\Zoë Dev\\r\\n'.encode('utf-16-le'))\n"
    )
    (bin_dir / "wslpath").write_text(
        f"#!{sys.executable}\nimport sys\n"
        "assert sys.argv[1] == '-u', sys.argv\n"
        "drive, rest = sys.argv[2].split(':', 1)\n"
        f"print({str(tmp_path / 'mnt')!r} + '/' + drive.lower() + rest.replace('\\\\', '/'))\n"
    )
    for tool in bin_dir.iterdir():
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    profile = tmp_path / "mnt" / "c" / "Users" / "Zoë Dev"
    profile.mkdir(parents=True)
    return {"WSL_DISTRO_NAME": "Ubuntu", "PATH": str(bin_dir)}, profile


def test_inside_wsl_finds_the_windows_profile_through_interop(tmp_path: Path) -> None:
    environ, profile = make_wsl(tmp_path, btime=int(time.time()) - 600)
    path = profile / ".wslconfig"
    path.write_text("[wsl2]\nswap=0\n[experimental]\nautoMemoryReclaim=disabled\n")
    collector = WslconfigCollector(60.0, "", platform="linux", environ=environ, proc_root=str(tmp_path / "proc"))
    samples = collector.collect(1.0)
    assert_in_catalogue(samples)
    series = by_name(samples)
    assert series["wslwatch_wsl_config_info"][0].labels == {
        "auto_memory_reclaim": "disabled", "section": "experimental", "path": str(path)}  # fmt: skip
    assert series["wslwatch_wsl_config_memory_limit_bytes"][0].value == 16_283_084 * 1024  # the guest's MemTotal
    assert series["wslwatch_wsl_config_swap_bytes"][0].value == 0
    # written just now, ten minutes after the guest booted: the running VM has the old settings
    assert [s.labels["code"] for s in series["wslwatch_wsl_config_problem"]] == ["changed_after_vm_start"]
    collector.collect(2.0)
    assert (tmp_path / "calls").read_text() == "/d /u /c echo %USERPROFILE%\n"  # asked once, then cached


def test_inside_wsl_default_swap_comes_from_the_guest_memory(tmp_path: Path) -> None:
    environ, profile = make_wsl(tmp_path, mem_total_kb=16_283_084)  # a 16 GiB VM as the guest sees it
    series = by_name(WslconfigCollector(60.0, "", platform="linux", environ=environ,
                                        proc_root=str(tmp_path / "proc")).collect(1.0))  # fmt: skip
    assert series["wslwatch_wsl_config_info"][0].labels["path"] == ""  # no file in the profile
    assert series["wslwatch_wsl_config_swap_bytes"][0].value == 4 * GiB  # as WSL sized it from 16 GiB


@pytest.mark.parametrize(
    ("environ", "marker_file", "marker_text"),
    [({"WSL_INTEROP": "/run/WSL/1_interop"}, "", ""), ({}, "sys/fs/binfmt_misc/WSLInterop", "enabled\n"),
     ({}, "sys/kernel/osrelease", "6.6.87.2-microsoft-standard-WSL2\n")],
    ids=["WSL_INTEROP", "binfmt", "osrelease"],
)  # fmt: skip
def test_wsl_is_recognised_by_each_marker(tmp_path: Path, environ: dict[str, str], marker_file: str,
                                          marker_text: str) -> None:  # fmt: skip
    proc = tmp_path / "proc"
    if marker_file:
        (proc / marker_file).parent.mkdir(parents=True)
        (proc / marker_file).write_text(marker_text)
    collector = WslconfigCollector(60.0, "", platform="linux", environ=environ, proc_root=str(proc))
    with pytest.raises(CollectorError, match="cmd.exe is not on PATH") as caught:
        collector.collect(1.0)
    assert not isinstance(caught.value, NoData)  # inside WSL a missing interop is a fault to fix


def test_inside_wsl_with_interop_off(tmp_path: Path) -> None:
    environ, _ = make_wsl(tmp_path)
    cmd = Path(environ["PATH"], "cmd.exe")
    cmd.write_bytes(b"MZ\x90\x00 a Windows binary the kernel cannot run\n")  # no WSLInterop handler: ENOEXEC
    collector = WslconfigCollector(60.0, "", platform="linux", environ=environ, proc_root=str(tmp_path / "proc"))
    with pytest.raises(CollectorError, match=r"Windows interop is off .* collectors\.wslconfig\.path"):
        collector.collect(1.0)


def test_inside_wsl_when_cmd_fails(tmp_path: Path) -> None:
    environ, _ = make_wsl(tmp_path)
    Path(environ["PATH"], "cmd.exe").write_text("#!/bin/sh\necho 'Access is denied.' >&2\nexit 1\n")
    collector = WslconfigCollector(60.0, "", platform="linux", environ=environ, proc_root=str(tmp_path / "proc"))
    with pytest.raises(CollectorError, match=r"cmd.exe failed with exit status 1 \(Access is denied.\)"):
        collector.collect(1.0)


def test_inside_wsl_when_userprofile_is_unset(tmp_path: Path) -> None:
    environ, _ = make_wsl(tmp_path)
    Path(environ["PATH"], "cmd.exe").write_text("#!/bin/sh\nprintf '%%USERPROFILE%%\\r\\n'\n")
    collector = WslconfigCollector(60.0, "", platform="linux", environ=environ, proc_root=str(tmp_path / "proc"))
    with pytest.raises(CollectorError, match="did not give %USERPROFILE%"):
        collector.collect(1.0)


def test_through_the_runner_to_metrics(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from wslwatch.daemon.runner import CollectorRunner
    from wslwatch.store import Store
    from wslwatch.exporters.prometheus import StoreCollector

    shutil.copy(FIXTURES / "wsl-issue10759-reclaim-under-wsl2.wslconfig", tmp_path / ".wslconfig")
    store = Store()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store.snapshot, "test"))

    CollectorRunner(windows_collector(tmp_path), store, 10.0).run()
    lines = generate_latest(registry).decode().splitlines()
    path = tmp_path / ".wslconfig"
    assert (
        f'wslwatch_wsl_config_info{{auto_memory_reclaim="dropcache",path="{path}",section="default"}} 1.0' in lines
    )
    assert 'wslwatch_wsl_config_problem{code="reclaim_in_wsl2_section"} 1.0' in lines
    [memory] = [line.split()[1] for line in lines if line.startswith("wslwatch_wsl_config_memory_limit_bytes ")]
    assert float(memory) == min(24 * GiB, psutil.virtual_memory().total)
    assert 'wslwatch_collector_up{collector="wslconfig"} 1.0' in lines

    plain_linux = WslconfigCollector(60.0, "", platform="linux", environ={}, proc_root=str(tmp_path))
    CollectorRunner(plain_linux, store, 10.0).run()
    lines = generate_latest(registry).decode().splitlines()
    assert 'wslwatch_collector_up{collector="wslconfig"} 0.0' in lines
    assert 'wslwatch_collector_errors_total{collector="wslconfig"} 0.0' in lines  # no data is no fault
    assert not [line for line in lines if line.startswith("wslwatch_wsl_config")]
