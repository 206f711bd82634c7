"""Start at login: the Windows Run value (registry faked: Windows cannot run here) and the
Linux files (real files, checked by the real desktop-file-validate and systemd-analyze)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.rigs import need
from wslwatch.daemon.autostart import (
    APPROVED_KEY,
    MARKER,
    RUN_KEY,
    AutostartError,
    RunKey,
    SystemdUserUnit,
    XdgAutostart,
    desktop_exec,
    launch_argv,
    parse_startup_approved,
    store_python,
    systemd_exec,
    windowless_python,
)

# Recorded StartupApproved\Run values (research/windows.md §1; superuser.com q/1098450 and q/1766797):
# enabled, and the same entries after "Disable" in Task Manager / Settings > Apps > Startup.
ENABLED_02 = bytes.fromhex("02 00 00 00 00 00 00 00 00 00 00 00")
ENABLED_06 = bytes.fromhex("06 00 00 00 00 00 00 00 00 00 00 00")
DISABLED_03 = bytes.fromhex("03 00 00 00 17 79 BD 01 17 D9 D1 01")  # posted 2016-07-08
DISABLED_07 = bytes.fromhex("07 00 00 00 71 C9 33 AE 16 D9 D1 01")  # posted 2016-07-08
DISABLED_2023 = bytes.fromhex("03 00 00 00 d4 0d 43 8d c8 3b d9 01")  # posted 2023-02

PY_ORG = r"C:\Users\Jane Doe\AppData\Local\Programs\Python\Python311\python.exe"
VENV = r"C:\Users\Jane Doe\src\train\.venv\Scripts\python.exe"


class FakeHkcu:
    """HKEY_CURRENT_USER as a dict: Windows itself is the one thing that cannot run here."""

    def __init__(self, values: dict[tuple[str, str], str | bytes] | None = None) -> None:
        self.values = dict(values or {})

    def read(self, key: str, name: str) -> str | bytes | None:
        return self.values.get((key, name))

    def write_string(self, key: str, name: str, data: str) -> None:
        self.values[(key, name)] = data

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


# --- Windows command line -----------------------------------------------------------------


def test_pythonw_is_taken_from_beside_the_running_interpreter() -> None:
    assert windowless_python(PY_ORG) == r"C:\Users\Jane Doe\AppData\Local\Programs\Python\Python311\pythonw.exe"
    assert windowless_python(VENV) == r"C:\Users\Jane Doe\src\train\.venv\Scripts\pythonw.exe"
    assert windowless_python(r"C:\Py\python3.11.exe") == r"C:\Py\pythonw3.11.exe"
    assert windowless_python(r"C:\Py\PythonW.EXE") == r"C:\Py\pythonw.exe"


def test_an_interpreter_that_is_not_python_exe_is_refused() -> None:
    with pytest.raises(AutostartError, match="not a python.exe"):
        windowless_python(r"C:\tools\frozen-wslwatch.exe")


def test_run_value_quotes_paths_with_spaces_and_carries_the_flags() -> None:
    registry = FakeHkcu()
    argv = launch_argv(windowless_python(VENV), headless=True, config=r"C:\Users\Jane Doe\wslwatch.toml")

    lines = RunKey(registry).install(argv)

    value = registry.values[(RUN_KEY, "wslwatch")]
    assert value == (
        r'"C:\Users\Jane Doe\src\train\.venv\Scripts\pythonw.exe" -m wslwatch run --headless '
        r'--config "C:\Users\Jane Doe\wslwatch.toml"'
    )
    assert lines == [rf"added HKCU\{RUN_KEY}\wslwatch = {value}"]


def test_run_value_without_headless_starts_the_tray() -> None:
    registry = FakeHkcu()
    RunKey(registry).install(launch_argv(r"C:\Py\pythonw.exe", headless=False))
    assert registry.values[(RUN_KEY, "wslwatch")] == r"C:\Py\pythonw.exe -m wslwatch run"


def test_install_twice_changes_nothing_the_second_time() -> None:
    registry = FakeHkcu()
    argv = launch_argv(windowless_python(PY_ORG), headless=False)
    RunKey(registry).install(argv)
    before = dict(registry.values)

    lines = RunKey(registry).install(argv)

    assert registry.values == before
    assert lines[0].startswith("already installed:")


def test_install_updates_a_value_from_another_python() -> None:
    registry = FakeHkcu({(RUN_KEY, "wslwatch"): r"C:\Old\pythonw.exe -m wslwatch run"})
    lines = RunKey(registry).install(launch_argv(r"C:\New\pythonw.exe", headless=False))
    assert registry.values[(RUN_KEY, "wslwatch")] == r"C:\New\pythonw.exe -m wslwatch run"
    assert lines[0].startswith("updated ")


# --- StartupApproved ------------------------------------------------------------------------


@pytest.mark.parametrize("data", [ENABLED_02, ENABLED_06, b""])
def test_startup_approved_enabled_values(data: bytes) -> None:
    assert parse_startup_approved(data).enabled
    assert parse_startup_approved(data).changed is None


_POSTED_2016 = datetime(2016, 7, 8, 13, 36, 5, tzinfo=timezone.utc)  # the question with both 2016 values


@pytest.mark.parametrize(
    ("data", "earliest", "latest"),
    [
        (DISABLED_03, _POSTED_2016 - timedelta(hours=2), _POSTED_2016),
        (DISABLED_07, _POSTED_2016 - timedelta(hours=2), _POSTED_2016),
        # the answer with this value came after a comment of 2023-02-04, within that month
        (DISABLED_2023, datetime(2023, 2, 4, tzinfo=timezone.utc), datetime(2023, 3, 1, tzinfo=timezone.utc)),
    ],
)
def test_startup_approved_disabled_values_carry_the_time_of_the_switch(
    data: bytes, earliest: datetime, latest: datetime
) -> None:
    approval = parse_startup_approved(data)
    assert not approval.enabled
    assert approval.changed is not None
    assert earliest <= approval.changed <= latest


def test_install_reports_the_users_off_switch_and_never_touches_it() -> None:
    registry = FakeHkcu({(APPROVED_KEY, "wslwatch"): DISABLED_2023})

    lines = RunKey(registry).install(launch_argv(r"C:\Py\pythonw.exe", headless=False))

    assert registry.values[(APPROVED_KEY, "wslwatch")] == DISABLED_2023
    assert "switched off in Settings > Apps > Startup since 2023-02-08" in lines[-1]


def test_install_says_nothing_of_the_switch_when_it_is_on() -> None:
    registry = FakeHkcu({(APPROVED_KEY, "wslwatch"): ENABLED_02})
    lines = RunKey(registry).install(launch_argv(r"C:\Py\pythonw.exe", headless=False))
    assert len(lines) == 1


def test_uninstall_removes_only_the_run_value() -> None:
    registry = FakeHkcu(
        {(APPROVED_KEY, "wslwatch"): DISABLED_03, (RUN_KEY, "OneDrive"): r'"C:\OneDrive.exe" /background'}
    )
    RunKey(registry).install(launch_argv(r"C:\Py\pythonw.exe", headless=False))

    lines = RunKey(registry).uninstall()

    assert (RUN_KEY, "wslwatch") not in registry.values
    assert registry.values == {
        (APPROVED_KEY, "wslwatch"): DISABLED_03,
        (RUN_KEY, "OneDrive"): r'"C:\OneDrive.exe" /background',
    }
    assert lines[0].startswith(r"removed HKCU")
    assert RunKey(registry).uninstall()[0].startswith("nothing to remove")


def test_uninstall_leaves_a_foreign_value_of_the_same_name() -> None:
    registry = FakeHkcu({(RUN_KEY, "wslwatch"): r"C:\something\else.exe"})
    lines = RunKey(registry).uninstall()
    assert registry.values[(RUN_KEY, "wslwatch")] == r"C:\something\else.exe"
    assert lines[0].startswith("left ")


# --- Linux: quoting ------------------------------------------------------------------------


def test_desktop_exec_quotes_by_the_desktop_entry_rules() -> None:
    argv = ["/home/jane/my venv/bin/python", "-m", "wslwatch", "run", "--config", '/c/50%"$x\\y']
    # reserved characters force quotes; " ` $ \ are backslash-escaped inside them; % doubles;
    # then the string-value escape doubles every backslash
    assert desktop_exec(argv) == (
        '"/home/jane/my venv/bin/python" -m wslwatch run --config "/c/50%%\\\\"\\\\$x\\\\\\\\y"'
    )


def test_systemd_exec_quotes_every_word_and_doubles_specifier_characters() -> None:
    argv = ["/home/jane/my venv/bin/python", "-m", "wslwatch", "run", "--config", '/c/50%"$x\\y']
    assert systemd_exec(argv) == (
        '"/home/jane/my venv/bin/python" "-m" "wslwatch" "run" "--config" "/c/50%%\\"$$x\\\\y"'
    )


@pytest.mark.parametrize("quote", [desktop_exec, systemd_exec])
def test_a_line_break_in_a_path_is_refused(quote: object) -> None:
    with pytest.raises(AutostartError, match="line break"):
        quote(["/usr/bin/python", "--config", "/a\nb"])  # type: ignore[operator]


# --- Linux: real files, real validators ------------------------------------------------------


@pytest.fixture
def spaced_python(tmp_path: Path) -> str:
    """The real interpreter reached through a folder with a space in its name."""
    folder = tmp_path / "my venv" / "bin"
    folder.mkdir(parents=True)
    link = folder / "python"
    link.symlink_to(os.path.realpath(sys.executable))
    return str(link)


def test_xdg_entry_is_valid_and_idempotent(tmp_path: Path, spaced_python: str) -> None:
    need(shutil.which("desktop-file-validate") is not None, "desktop-file-validate (desktop-file-utils)")
    xdg = XdgAutostart(tmp_path / "config")
    argv = launch_argv(spaced_python, headless=False, config=str(tmp_path / "50% $HOME.toml"))

    first = xdg.install(argv)
    path = tmp_path / "config" / "autostart" / "wslwatch.desktop"
    text = path.read_text()
    second = xdg.install(argv)

    check = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout == "", check.stdout
    assert first == [f"wrote {path}; it starts at your next desktop login"]
    assert second == [f"already installed: {path}"]
    assert path.read_text() == text
    assert f'Exec="{spaced_python}" -m wslwatch run --config' in text


def test_xdg_entry_switched_off_by_the_user_is_left_alone(tmp_path: Path) -> None:
    xdg = XdgAutostart(tmp_path)
    xdg.install(launch_argv("/usr/bin/python3", headless=False))
    path = tmp_path / "autostart" / "wslwatch.desktop"
    switched_off = path.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false")
    path.write_text(switched_off)

    lines = xdg.install(launch_argv("/opt/other/python3", headless=False))

    assert path.read_text() == switched_off
    assert "you switched it off" in lines[0]


def test_xdg_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "autostart" / "wslwatch.desktop"
    path.parent.mkdir()
    path.write_text("[Desktop Entry]\nExec=mine\n")
    xdg = XdgAutostart(tmp_path)

    with pytest.raises(AutostartError, match="was not written by `wslwatch install`"):
        xdg.install(launch_argv("/usr/bin/python3", headless=False))
    assert xdg.uninstall()[0].startswith("left ")
    assert path.read_text() == "[Desktop Entry]\nExec=mine\n"


def test_systemd_unit_verifies_and_is_enabled_without_a_running_systemd(tmp_path: Path, spaced_python: str) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze (systemd)")
    unit = SystemdUserUnit(tmp_path / "config")

    lines = unit.install(launch_argv(spaced_python, headless=True))

    folder = tmp_path / "config" / "systemd" / "user"
    service = folder / "wslwatch.service"
    wants = folder / "default.target.wants" / "wslwatch.service"
    assert wants.is_symlink() and wants.resolve() == service
    assert lines[0] == f"wrote {service}"
    assert "systemctl --user daemon-reload && systemctl --user start wslwatch" in lines[-1]
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    check = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(service)], capture_output=True, text=True, env=env
    )
    assert check.returncode == 0 and check.stderr == "", check.stderr


def test_systemd_unit_with_an_unquoted_space_fails_the_same_verifier(tmp_path: Path, spaced_python: str) -> None:
    """The verifier above can fail: a hand-written unquoted ExecStart is caught by it."""
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze (systemd)")
    SystemdUserUnit(tmp_path).install(launch_argv(spaced_python, headless=True))
    service = tmp_path / "systemd" / "user" / "wslwatch.service"
    service.write_text(service.read_text().replace(f'"{spaced_python}"', spaced_python))
    check = subprocess.run(["systemd-analyze", "verify", str(service)], capture_output=True, text=True)
    assert "is not executable" in check.stderr


def test_systemd_disabled_by_the_user_stays_disabled(tmp_path: Path) -> None:
    unit = SystemdUserUnit(tmp_path)
    unit.install(launch_argv("/usr/bin/python3", headless=True))
    wants = tmp_path / "systemd" / "user" / "default.target.wants" / "wslwatch.service"
    wants.unlink()  # what `systemctl --user disable wslwatch` does

    lines = unit.install(launch_argv("/opt/new/python3", headless=True))

    assert not wants.exists()
    assert any("it is disabled" in line for line in lines)
    assert '"/opt/new/python3"' in (tmp_path / "systemd" / "user" / "wslwatch.service").read_text()


# --- the CLI, end to end -----------------------------------------------------------------------


def _cli(args: list[str], config_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    return subprocess.run(
        [sys.executable, "-m", "wslwatch", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_install_then_uninstall_removes_exactly_what_it_wrote(tmp_path: Path) -> None:
    home = tmp_path / "config"
    (home / "autostart").mkdir(parents=True)
    (home / "autostart" / "other.desktop").write_text("[Desktop Entry]\n")

    installed = [_cli(["install"], home), _cli(["install", "--headless"], home)]
    files_after_install = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if not p.is_dir())
    removed = _cli(["uninstall"], home)

    assert [r.returncode for r in installed] == [0, 0], [r.stderr for r in installed]
    assert installed[0].stdout.endswith("undo: wslwatch uninstall\n")
    assert files_after_install == [
        "autostart/other.desktop",
        "autostart/wslwatch.desktop",
        "systemd/user/default.target.wants/wslwatch.service",
        "systemd/user/wslwatch.service",
    ]
    assert removed.returncode == 0
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if not p.is_dir()) == [
        "autostart/other.desktop"
    ]
    desktop_line = next(line for line in installed[0].stdout.splitlines() if "wslwatch.desktop" in line)
    assert desktop_line.startswith("wrote ")
    assert MARKER not in removed.stdout


def test_cli_install_refusal_exits_2_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "config"
    (home / "autostart").mkdir(parents=True)
    (home / "autostart" / "wslwatch.desktop").write_text("[Desktop Entry]\nExec=mine\n")

    result = _cli(["install"], home)

    assert result.returncode == 2
    assert "was not written by `wslwatch install`" in result.stderr


#: `sys.base_prefix` of the Store's Python 3.11 (its package's install folder, as the CPython docs'
#: "Using Python on Windows" and the package family `PythonSoftwareFoundation.Python.3.11_qbz5n2kfra8p0`
#: name it), of python.org's per-user installer, and of a venv made from the Store's Python.
STORE_PREFIX = "C:\\Program Files\\WindowsApps\\PythonSoftwareFoundation.Python.3.11_3.11.2544.0_x64__qbz5n2kfra8p0"
PYTHON_ORG_PREFIX = "C:\\Users\\Jane Doe\\AppData\\Local\\Programs\\Python\\Python311"


def test_the_microsoft_store_python_is_told_apart_by_its_install_folder() -> None:
    assert store_python(STORE_PREFIX)
    assert store_python(STORE_PREFIX.lower().replace("\\", "/"))
    assert not store_python(PYTHON_ORG_PREFIX)
    assert not store_python("/usr")


def test_doctor_warns_about_the_store_python_on_windows_only() -> None:
    from wslwatch.daemon.doctor import _store_python

    (finding,) = _store_python("windows", STORE_PREFIX)
    assert finding.status == "warn" and finding.check == "wslwatch.store_python"
    assert "Install Python from python.org" in finding.fix
    assert _store_python("windows", PYTHON_ORG_PREFIX) == []
    assert _store_python("wsl", STORE_PREFIX) == []
