"""The WSL version collector: `wsl.exe --version` as WSL prints it, and the inside-WSL readers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wslwatch.collectors.wsl_version import WslVersionCollector, parse_wsl_version
from wslwatch.core import CollectorError, NoData

# `wsl --version` as pasted into microsoft/WSL bug reports (the issue template asks for it),
# English and German; the labels are translated, the order is fixed.
ENGLISH = """WSL version: 2.7.10.0
Kernel version: 6.18.33.1-1
WSLg version: 1.0.71
MSRDC version: 1.2.6353
Direct3D version: 1.611.1-81528511
DXCore version: 10.0.26100.1-240331-1435.ge-release
Windows version: 10.0.26100.4946
"""
GERMAN = "WSL-Version: 2.0.9.0\nKernelversion: 5.15.133.1-1\nWSLg-Version: 1.0.59\n"


def test_version_and_kernel_from_wsl_exe_in_any_language() -> None:
    assert parse_wsl_version(ENGLISH) == ("2.7.10.0", "6.18.33.1-1")
    assert parse_wsl_version(GERMAN) == ("2.0.9.0", "5.15.133.1-1")


def test_output_without_versions_is_a_clear_error() -> None:
    with pytest.raises(CollectorError, match="printed no WSL and kernel version"):
        parse_wsl_version("Invalid command line option: --version\n")


def _guest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wslinfo: str | None) -> WslVersionCollector:
    proc = tmp_path / "proc"
    (proc / "sys/kernel").mkdir(parents=True)
    (proc / "sys/kernel/osrelease").write_text("6.6.87.2-microsoft-standard-WSL2\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if wslinfo is not None:  # WSL's own wslinfo is a link to /init; a stand-in prints what it prints
        (bin_dir / "wslinfo").write_text(f"#!/bin/sh\n[ \"$1\" = --wsl-version ] && echo {wslinfo}\n")
        (bin_dir / "wslinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")
    return WslVersionCollector(600.0, str(proc))


def test_inside_wsl_wslinfo_and_the_kernel_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (sample,) = _guest(tmp_path, monkeypatch, "2.7.10").collect(1.0)
    assert (sample.name, sample.labels, sample.value) == (
        "wslwatch_wsl_info", {"version": "2.7.10", "kernel": "6.6.87.2-microsoft-standard-WSL2"}, 1.0
    )


def test_inside_wsl_without_wslinfo_the_version_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (sample,) = _guest(tmp_path, monkeypatch, None).collect(1.0)
    assert sample.labels == {"version": "", "kernel": "6.6.87.2-microsoft-standard-WSL2"}


def test_elsewhere_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WSL_DISTRO_NAME", "WSL_INTEROP"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "sys/kernel").mkdir(parents=True)
    (tmp_path / "sys/kernel/osrelease").write_text("6.1.0-18-amd64\n")
    with pytest.raises(NoData):
        WslVersionCollector(600.0, str(tmp_path)).collect(1.0)
