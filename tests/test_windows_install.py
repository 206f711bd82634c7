"""`wslwatch install` / `uninstall` on Windows CPython under Wine: the HKCU Run value, read back with
Windows' own `reg query`, and the user's Settings > Apps > Startup switch."""

from __future__ import annotations

from typing import Iterator

import pytest
from wine_checks import metrics, running_url, stop

from rigs.wine import WineRig

pytestmark = pytest.mark.rig

RUN = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"


@pytest.fixture
def clean_run_key(wine_rig: WineRig) -> Iterator[WineRig]:
    """The session's prefix with no wslwatch Run or StartupApproved value before and after the test."""
    for key in (RUN, APPROVED):
        wine_rig.run(["reg", "delete", key, "/v", "wslwatch", "/f"])
    yield wine_rig
    for key in (RUN, APPROVED):
        wine_rig.run(["reg", "delete", key, "/v", "wslwatch", "/f"])


def test_install_writes_a_quoted_windowless_command_and_uninstall_removes_it(clean_run_key: WineRig) -> None:
    rig = clean_run_key
    done = rig.wslwatch("install")
    assert done.returncode == 0, done.stderr
    # The interpreter lives in "C:\Program Files\Python 3.11": unquoted, Explorer would split the path.
    expected = f'"{rig.pythonw_exe}" -m wslwatch run'
    assert rig.reg_query(RUN, "wslwatch") == expected
    assert expected in done.stdout and "undo: wslwatch uninstall" in done.stdout

    again = rig.wslwatch("install")
    assert again.returncode == 0 and "already installed" in again.stdout

    gone = rig.wslwatch("uninstall")
    assert gone.returncode == 0, gone.stderr
    assert rig.reg_query(RUN, "wslwatch") is None
    assert "removed" in gone.stdout


def test_install_respects_startup_switched_off(clean_run_key: WineRig) -> None:
    """Explorer's record of "switched off in Settings > Apps > Startup" (03 00 00 00 + FILETIME of
    2026-03-01) is reported, and left exactly as it was."""
    rig = clean_run_key
    switched_off = "03000000002015ee72a9dc01"
    rig.reg_add(APPROVED, "wslwatch", "REG_BINARY", switched_off)
    done = rig.wslwatch("install", "--headless")
    assert done.returncode == 0, done.stderr
    assert "switched off in Settings > Apps > Startup since 2026-03-01" in done.stdout
    assert rig.reg_query(APPROVED, "wslwatch") == switched_off.upper()
    assert rig.reg_query(RUN, "wslwatch") == f'"{rig.pythonw_exe}" -m wslwatch run --headless'


def test_uninstall_leaves_a_foreign_run_value_alone(clean_run_key: WineRig) -> None:
    rig = clean_run_key
    rig.reg_add(RUN, "wslwatch", "REG_SZ", r"C:\Tools\other.exe")
    done = rig.wslwatch("uninstall")
    assert done.returncode == 0, done.stderr
    assert rig.reg_query(RUN, "wslwatch") == r"C:\Tools\other.exe"
    assert "left" in done.stdout


def test_the_run_value_starts_the_daemon_windowless_as_explorer_starts_it(clean_run_key: WineRig) -> None:
    """The value, started verbatim by CreateProcess as Explorer does at login (Windows splits the
    quoted path with its spaces), runs the daemon with no console: /metrics serves, `stop` ends it."""
    rig = clean_run_key
    console = rig.local_appdata / "wslwatch" / "Logs" / "console.log"
    console.unlink(missing_ok=True)  # what an earlier test's windowless run said
    assert rig.wslwatch("install", "--headless").returncode == 0
    command = rig.reg_query(RUN, "wslwatch")
    assert command is not None
    daemon = rig.start_like_explorer(command.replace(" run --headless", " run --headless --port 0"))
    try:
        assert "wslwatch_build_info" in metrics(running_url(rig))
        stop(rig, daemon)
    finally:
        if daemon.poll() is None:
            rig.end_windows_processes()
            daemon.kill()
    assert "Traceback" not in console.read_text(encoding="utf-8")  # warnings reach it too, crashes must not
