"""Inside WSL, opted in: the Windows host's RAM and the VM process through interop.

Windows cannot run here, so the seam is the program interop would start: a stand-in
`powershell.exe` on PATH that logs how it was called and prints what the script prints
(`ram TOTAL AVAILABLE`, `build N`, `vm NAME WORKING_SET PRIVATE`, the format of
`collectors/_windows_view.py`'s own script; the figures are a 64 GiB host's, not recorded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wslwatch.collectors._windows_view import SCRIPT, WindowsView, parse_host_view, powershell_path
from wslwatch.collectors.host_memory import HostMemoryCollector
from wslwatch.collectors.vmmem import VmmemCollector
from wslwatch.core import CollectorError

GiB = 1 << 30
WINDOWS_11 = "ram 68406640640 41212674048\r\nbuild 22631\r\nvm vmmemWSL 9126805504 9730842624\r\nvm vmmem 1073741824 1100000000\r\n"

STAND_IN = """#!{python} -IS
import json, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stdout.write(open({answer!r}).read())
"""


class FakePowershell:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "powershell.exe"
        self.path.write_text(STAND_IN.format(python=sys.executable, log=str(folder / "calls"), answer=str(folder / "out")))
        self.path.chmod(0o755)
        self.answer(WINDOWS_11)

    def answer(self, text: str) -> None:
        (self.folder / "out").write_text(text)

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def powershell(tmp_path: Path) -> FakePowershell:
    folder = tmp_path / "System32"
    folder.mkdir()
    return FakePowershell(folder)


def test_one_run_answers_both_collectors_with_the_fixed_script(powershell: FakePowershell) -> None:
    view = WindowsView(str(powershell.path))
    host = {s.name: s.value for s in HostMemoryCollector(15.0, view).collect(1.0)}
    vm = {(s.name, tuple(s.labels.items())): s.value for s in VmmemCollector(["vmmemWSL"], 15.0, windows=view).collect(1.0)}
    assert host == {"wslwatch_host_memory_total_bytes": 68406640640.0, "wslwatch_host_memory_available_bytes": 41212674048.0}
    assert vm == {
        ("wslwatch_vmmem_up", ()): 1.0,
        ("wslwatch_vmmem_working_set_bytes", (("process", "vmmemWSL"),)): 9126805504.0,
        ("wslwatch_vmmem_private_bytes", (("process", "vmmemWSL"),)): 9730842624.0,
    }
    HostMemoryCollector(15.0, view).collect(20.0)  # within the spacing: the same run
    assert powershell.calls() == [["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", SCRIPT]]


def test_a_plain_vmmem_is_wsls_only_before_windows_11() -> None:
    another_vm = "ram 100 50\nbuild {build}\nvm vmmem 4096 8192\n"
    assert parse_host_view(another_vm.format(build=22631)).vm is None
    windows_10 = parse_host_view(another_vm.format(build=19045)).vm
    assert windows_10 is not None and windows_10.name == "vmmem" and windows_10.working_set == 4096
    assert parse_host_view("ram 100 50\nbuild 22631\n").vm is None, "WSL shut down (as seen by another VM's user)"


def test_powershell_saying_nothing_useful_is_an_error_naming_what_it_said(powershell: FakePowershell) -> None:
    powershell.answer("Add-Type : Cannot add type. The assembly 'Microsoft.VisualBasic' could not be found.\r\n")
    with pytest.raises(CollectorError, match="did not report the host's RAM \\(it said: Add-Type : Cannot add type"):
        WindowsView(str(powershell.path)).read()


def test_without_interop_the_error_says_what_to_do() -> None:
    with pytest.raises(CollectorError, match=r"powershell.exe is not reachable from WSL .* set from_windows = false"):
        WindowsView(None).read()


def test_powershell_is_found_on_the_path_interop_appends(powershell: FakePowershell) -> None:
    assert powershell_path({"PATH": f"/usr/bin:{powershell.folder}"}) == str(powershell.path)


def test_once_inside_wsl_reports_the_windows_host_when_opted_in(powershell: FakePowershell, tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[collectors.host_memory]\nfrom_windows = true\n[collectors.vmmem]\nfrom_windows = true\n")
    env = {**os.environ, "PATH": f"{powershell.folder}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "once", "--json", "--config", str(config)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    values = {s["name"]: s["value"] for s in json.loads(done.stdout)["samples"]}
    assert values["wslwatch_host_memory_total_bytes"] == 68406640640
    assert values["wslwatch_vmmem_up"] == 1 and values["wslwatch_vmmem_working_set_bytes"] == 9126805504
    assert "wslwatch_host_swap_total_bytes" not in values
    assert len(powershell.calls()) == 1, "host_memory and vmmem shared one run"
