"""The Windows installer (scripts/windows_installer.py + installer/wslwatch.nsi): built here from
the registries with Debian's NSIS, then run as a Windows user runs it — silently, under Wine
(tests/rigs/wine.py) on an X display with a tray host — through install, the running daemon and
its docked tray icon, and a silent uninstall that leaves nothing it wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path, PureWindowsPath
from typing import Callable, Iterator, TypeVar

import pytest

from rigs import need, wine
from rigs.wine import WineRig
from rigs.xdesktop import trayer, xvfb
from wslwatch import __version__
from wslwatch.daemon.app_id import APP_ID, MARKER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import windows_installer  # noqa: E402

pytestmark = pytest.mark.rig

RUN = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
UNINSTALL = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\wslwatch"
T = TypeVar("T")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the installer, its staged bundle)."""
    need(shutil.which("makensis") is not None, "makensis (Debian package `nsis`, tests/debian-packages.txt)")
    root = tmp_path_factory.mktemp("installer")
    return windows_installer.build(root / "dist", root / "work"), root / "work" / "stage"


def test_the_bundle_holds_python_wslwatch_and_the_app_id_marker(built: tuple[Path, Path]) -> None:
    setup, stage = built
    assert setup.name == f"wslwatch-{__version__}-setup.exe"
    assert setup.read_bytes()[:2] == b"MZ"
    python = stage / "python"
    for name in ("python.exe", "pythonw.exe", "python311.dll", "python311.zip"):
        assert (python / name).is_file(), name
    assert "Lib\\site-packages" in (python / "python311._pth").read_text()
    site = python / "Lib/site-packages"
    for package in ("wslwatch/daemon/cli.py", "psutil/_psutil_windows.pyd", "PIL/_imaging.cp311-win_amd64.pyd",
                    "pystray/_win32.py", "prometheus_client/__init__.py", "pynvml.py"):  # fmt: skip
        assert (site / package).is_file(), package
    assert (python / MARKER).read_text() == APP_ID


def test_the_uninstall_list_removes_every_installed_file_and_folder(built: tuple[Path, Path]) -> None:
    _, stage = built
    lines = windows_installer.uninstall_list(stage).splitlines()
    deleted = {line.removeprefix('Delete "$INSTDIR\\').removesuffix('"') for line in lines if line.startswith("Delete")}
    removed = [line.removeprefix('RMDir "$INSTDIR\\').removesuffix('"') for line in lines if line.startswith("RMDir")]
    files = {str(PureWindowsPath(p.relative_to(stage))) for p in stage.rglob("*") if p.is_file()}
    folders = {str(PureWindowsPath(p.relative_to(stage))) for p in stage.rglob("*") if p.is_dir()}
    assert files <= deleted
    assert folders <= set(removed)
    depth = [name.count("\\") for name in removed if not name.endswith("__pycache__")]
    assert depth == sorted(depth, reverse=True), "a folder is removed before the folders inside it"


def _wait(what: str, check: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:g} s")


@pytest.fixture
def desktop_rig() -> Iterator[WineRig]:
    """A fresh copy of the Wine prefix, on its own X display with trayer docked at the top."""
    missing = wine.available()
    need(missing is None, missing or "")
    cached = wine.build_cached()
    work = Path(tempfile.mkdtemp(prefix="installer-", dir=cached.parent))  # hard links need the same filesystem
    with xvfb() as display, trayer(display):
        rig = WineRig(cached, cached / "prefix", cached / "home").copy(work / "rig", display)
        try:
            rig.start_server()
            yield rig
        finally:
            rig.stop_server()
            shutil.rmtree(work, ignore_errors=True)


def _start(rig: WineRig, argv: list[str]) -> int:
    """Run a Windows program to its end, its streams on /dev/null: what it starts (the daemon)
    must not hold a pipe of ours open."""
    env = rig.env()
    return subprocess.run(["wine", *argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=600).returncode  # fmt: skip


def _tray_icons(display: str) -> int:
    """How many windows trayer's panel holds (each docked icon adds its XEmbed socket and window)."""
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display)
    try:
        (panel,) = [w for w in connection.screen().root.query_tree().children if w.get_wm_class() == ("panel", "trayer")]
        count, pending = 0, list(panel.query_tree().children)
        while pending:
            window = pending.pop()
            count += 1
            pending.extend(window.query_tree().children)
        return count
    finally:
        connection.close()


def test_silent_install_runs_wslwatch_in_the_tray_and_silent_uninstall_leaves_nothing(
    built: tuple[Path, Path], desktop_rig: WineRig
) -> None:
    rig = desktop_rig
    setup, stage = built
    assert rig.display is not None
    state = rig.local_appdata / "wslwatch"
    state.mkdir(parents=True)
    (state / "wslwatch.toml").write_text("[exporter]\nport = 0\n")  # the user's config: a free port
    install_dir = rig.local_appdata / "Programs/wslwatch"
    shortcut = rig.user_profile / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/wslwatch.lnk"
    icons_before = _tray_icons(rig.display)

    assert _start(rig, [rig.windows_path(setup), "/S"]) == 0

    # What it wrote: the bundle, the shortcut to the windowless daemon, the uninstall entry,
    # and (start at login) the very Run value `wslwatch install` writes for the bundle's Python.
    pythonw = rig.windows_path(install_dir / "python/pythonw.exe")
    assert (install_dir / "uninstall.exe").is_file()
    assert {p.name for p in install_dir.iterdir()} == {p.name for p in stage.iterdir()} | {"uninstall.exe"}
    link = _link_text(shortcut)
    assert pythonw.lower() in link and "-m wslwatch run" in link, link
    run_value = rig.reg_query(RUN, "wslwatch") or ""
    assert run_value.startswith((pythonw, f'"{pythonw}"')) and run_value.endswith(" -m wslwatch run"), run_value
    again = rig.run([rig.windows_path(install_dir / "python/python.exe"), "-m", "wslwatch", "install"])
    assert "already installed" in again.stdout, again.stdout + again.stderr
    assert rig.reg_query(UNINSTALL, "QuietUninstallString") == f'"{rig.windows_path(install_dir / "uninstall.exe")}" /S'

    # ...and the daemon it started at the end: /metrics, the tray icon docked, the bundle's AppUserModelID.
    url = _wait("the started daemon's URL", lambda: (_read_json(state / "instance.json") or {}).get("url"), 120)
    body = _wait("/metrics", lambda: _scrape(url), 60)
    assert f'wslwatch_build_info{{version="{__version__}"}} 1.0' in body
    assert "wslwatch_host_memory_total_bytes " in body
    _wait("the tray icon docked in trayer", lambda: _tray_icons(rig.display or "") > icons_before, 60)
    log = (state / "Logs/wslwatch.log").read_text(encoding="utf-8", errors="replace")
    assert f"AppUserModelID {APP_ID}" in log

    assert _start(rig, [rig.windows_path(install_dir / "uninstall.exe"), "/S"]) == 0
    _wait("the install folder removed", lambda: not install_dir.exists(), 180)
    assert not shortcut.exists()
    assert rig.reg_query(RUN, "wslwatch") is None
    assert rig.reg_query(UNINSTALL, "DisplayName") is None
    _wait("the daemon stopped", lambda: not (state / "instance.json").exists(), 30)
    assert _scrape(url) is None
    # Left: only the user's own configuration and the daemon's log, which the installer never wrote.
    assert {p.name for p in state.iterdir()} <= {"wslwatch.toml", "Logs", "history.jsonl"}


def _link_text(path: Path) -> str:
    """The strings of a .lnk (its ANSI and its UTF-16 ones, at either alignment), lower-cased."""
    data = path.read_bytes()
    texts = [data.decode("latin-1"), data.decode("utf-16-le", "replace"), data[1:].decode("utf-16-le", "replace")]
    return "\n".join(texts).lower()


def _read_json(path: Path) -> dict[str, str] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return None
