"""The guest read from Windows through `wsl.exe`, on Windows CPython under Wine, against the mingw-built
stand-in `wsl.exe` (tests/rigs/fake_wsl_exe.c) replaying outputs recorded on real machines."""

from __future__ import annotations

import json

import pytest
from wine_checks import READ, grep_output, mem_total_bytes

from rigs.wine import WineRig
from rigs.wsl_standin import WslStandIn
from rigs.xdesktop import xvfb

pytestmark = pytest.mark.rig

def guest_samples(rig: WineRig) -> dict[str, float]:
    done = rig.wslwatch("once", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    return {s["name"]: s["value"] for s in report["samples"] if s["name"].startswith("wslwatch_guest_")}


@pytest.mark.parametrize("mode", ["wsl", "utf16"], ids=["honours-WSL_UTF8", "inbox-utf16-only"])
def test_guest_read_through_the_running_distro(wine_rig: WineRig, wsl_exe: WslStandIn, mode: str) -> None:
    """`--list --running --quiet` (in UTF-8 as asked, or UTF-16LE from the inbox Windows 10 wsl.exe that
    ignores WSL_UTF8) names the running distro; the one `--exec` read goes through it."""
    wsl_exe.reply("--list --running --quiet", "Ubuntu\n", mode=mode)  # type: ignore[arg-type]
    wsl_exe.reply("--list --quiet", "Debian\nUbuntu\n", mode=mode)  # type: ignore[arg-type]
    wsl_exe.reply(READ, grep_output(), mode="raw")
    assert guest_samples(wine_rig)["wslwatch_guest_memory_total_bytes"] == mem_total_bytes()
    calls = [c for c in wsl_exe.calls() if c.args != "--version"]  # `wsl.exe --version` feeds wsl_info
    assert [c.args for c in calls] == ["--list --running --quiet", READ]
    assert {c.wsl_utf8 for c in calls} == {"1"}


def test_nothing_running_means_no_exec(wine_rig: WineRig, wsl_exe: WslStandIn) -> None:
    """With no distro running, `--list --running --quiet` prints nothing (exit 0): the VM is never booted."""
    wsl_exe.reply("--list --running --quiet", "")
    wsl_exe.reply("--list --quiet", "Ubuntu\n")
    wsl_exe.reply("-d", grep_output(), mode="raw")
    assert guest_samples(wine_rig) == {}
    assert [c.args for c in wsl_exe.calls() if "--exec" in c.args] == []


def test_windowless_start_opens_no_console_window(wine_rig: WineRig, wsl_exe: WslStandIn) -> None:
    """Started windowless (`wslwatchw.exe`, pythonw) on a display, every wsl.exe runs without a console
    window: a console child of a GUI parent gets a visible one unless started with CREATE_NO_WINDOW."""
    wsl_exe.reply("--list --running --quiet", "Ubuntu\n")
    wsl_exe.reply(READ, grep_output(), mode="raw")
    with xvfb() as display:
        done = wine_rig.run([wine_rig.script("wslwatchw"), "once"], env={"DISPLAY": display})
    assert done.returncode == 0, done.stderr
    calls = wsl_exe.calls()
    assert READ in [c.args for c in calls]
    assert [c.console_window for c in calls] == [False] * len(calls)
