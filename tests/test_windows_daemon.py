"""The daemon on Windows CPython under Wine, as a Windows user runs it: one instance per user
(the named mutex), `wslwatch stop` through the named event, a port Windows refuses (WinError 10013),
a clean stop at sign-out, Windows' own `wsl.exe`, leftover probe files of ended processes."""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rigs.wine import WineRig, build_exe
from rigs.xdesktop import trayer, xvfb

pytestmark = pytest.mark.rig

RIGS = Path(__file__).resolve().parent / "rigs"
_SERVING = re.compile(r"serving (http://\S+/metrics)")


class WindowsDaemon:
    """`wslwatch.exe run --headless --port 0` under Wine; its log lines (stderr) drained all along."""

    def __init__(self, rig: WineRig, *options: str) -> None:
        self.proc = rig.popen([rig.script("wslwatch"), "run", "--port", "0", *options])
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 120) -> re.Match[str]:
        """The first log line matching `pattern`; the daemon is killed if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            found = pattern.search(line)
            if found:
                return found
        self.proc.kill()
        raise AssertionError(f"wslwatch.exe run never logged {pattern.pattern!r}:\n" + "".join(self.log))


def test_one_instance_per_user_and_stop_ends_it_cleanly(wine_rig: WineRig) -> None:
    """Windows has no SIGTERM: `wslwatch stop` finds the daemon through its mutex and instance.json and
    sets the per-user named event it waits on; the daemon stops cleanly (exit 0, record removed)."""
    daemon = WindowsDaemon(wine_rig, "--headless")
    try:
        url = daemon.wait_for(_SERVING).group(1)
        second = wine_rig.wslwatch("run", "--headless", "--port", "0", timeout=120)
        assert second.returncode == 3, second.stderr
        assert f"wslwatch already runs for this user (pid " in second.stderr and url in second.stderr

        done = wine_rig.wslwatch("stop", timeout=120)
        assert done.returncode == 0, done.stderr
        assert re.fullmatch(r"wslwatch \(pid \d+\) stopped\.\n", done.stdout.replace("\r\n", "\n")), done.stdout
        assert daemon.proc.wait(30) == 0
        assert "stopping" in "".join(daemon.log)
        assert not (wine_rig.local_appdata / "wslwatch" / "instance.json").exists()

        again = wine_rig.wslwatch("stop", timeout=120)
        assert (again.returncode, again.stdout.strip()) == (0, "wslwatch is not running for this user; nothing to stop.")
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()


def test_a_port_windows_refuses_is_exit_2_naming_netsh(wine_rig: WineRig, tmp_path: Path) -> None:
    """A port in one of the ranges Hyper-V/WSL reserve fails with WinError 10013. Under Wine the same
    error comes from a port below 1024 bound by a process that may not (root without
    CAP_NET_BIND_SERVICE): a copy of the prefix, so its own wineserver starts without it."""
    rig = wine_rig.copy(tmp_path / "capped")
    capped = ["setpriv", "--bounding-set", "-net_bind_service", "--inh-caps", "-net_bind_service"]
    argv = [*capped, "wine", rig.script("wslwatch"), "run", "--headless", "--port", "80"]
    try:
        done = subprocess.run(argv, env=rig.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["wineserver", "-k"], env=rig.env(), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot serve /metrics: 127.0.0.1:80 is in a range of ports Windows reserves (WinError 10013" in done.stderr
    assert "`netsh int ipv4 show excludedportrange protocol=tcp`" in done.stderr
    assert "Traceback" not in done.stderr


def test_signing_out_stops_it_cleanly_through_the_tray_window(wine_rig: WineRig, tmp_path: Path) -> None:
    """At sign-out Windows asks every top-level window (WM_QUERYENDSESSION), then tells it
    (WM_ENDSESSION); `wineboot --end-session` does the same for the prefix's windows. The tray's
    window answers "yes" (pystray alone answers 0, which cancels the sign-out) and the daemon stops
    inside WM_ENDSESSION, before Windows may end the process."""
    with xvfb() as display, trayer(display):
        rig = wine_rig.copy(tmp_path / "desktop", display=display)
        rig.start_server()
        try:
            daemon = WindowsDaemon(rig)
            daemon.wait_for(re.compile(r"tray icon shown \(pystray win32 backend\)"))
            ended = subprocess.run(["wine", "wineboot", "--end-session"], env=rig.env(), capture_output=True, timeout=120)
            assert ended.returncode == 0
            assert daemon.proc.wait(30) == 0, "".join(daemon.log)
            log = "".join(daemon.log)
            assert "Windows is ending the session; stopping" in log and "cmd_run: stopping" in log
            assert not (rig.local_appdata / "wslwatch" / "instance.json").exists()
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
            rig.stop_server()


def test_windows_own_wsl_exe_runs_never_one_in_the_current_directory(wine_rig: WineRig, tmp_path: Path) -> None:
    """A bare `wsl.exe` is looked for in the current directory before System32: a `wsl.exe` lying in
    the folder wslwatch was started from must never run."""
    rig = wine_rig.copy(tmp_path / "rig")
    system32 = rig.linux_path("C:\\windows\\system32")
    build_exe(RIGS / "wsl_recorder.c", system32 / "wsl.exe")
    folder = tmp_path / "Downloads"
    folder.mkdir()
    shutil.copy(system32 / "wsl.exe", folder / "wsl.exe")
    rig.start_server()
    try:
        proc = rig.popen([rig.script("wslwatch"), "once", "--json"], cwd=folder)
        out, err = proc.communicate(timeout=180)
    finally:
        rig.stop_server()
    assert proc.returncode == 0, err
    assert not (folder / "calls.log").exists(), "the wsl.exe in the current directory ran"
    calls = (system32 / "calls.log").read_text().splitlines()
    # the guest's reader asks what runs; the wsl_version collector asks the version (it never boots WSL)
    own = "C:\\windows\\system32\\wsl.exe"
    assert sorted(calls) == [f"{own} --list --running --quiet", f"{own} --version"], calls


def test_a_probe_removes_files_left_by_dead_probes_and_keeps_a_live_ones(wine_rig: WineRig, tmp_path: Path) -> None:
    """A probe killed in `create_fsync` leaves `c-<pid>-…` files; the next probe removes those whose
    process has ended. On Windows liveness is asked of OpenProcess/GetExitCodeProcess (`os.kill(pid, 0)`
    would end the process there), so a live one's file stays — and an ended one's goes even while
    something still holds a handle to it (the process object lives on, with its exit code)."""
    data = tmp_path / "data"
    area = data / ".wslwatch-probe"
    area.mkdir(parents=True, mode=0o700)  # there before: `probe` keeps the folder, and what it did there shows
    holder = (
        "import os, subprocess, sys, time\n"
        "ended = [subprocess.Popen([sys.executable, '-c', f'raise SystemExit({code})']) for code in (1, 300)]\n"
        "[p.wait() for p in ended]  # their handles stay open while this lives\n"
        "print(os.getpid(), *(p.pid for p in ended), flush=True)\n"
        "time.sleep(120)\n"
    )
    live = wine_rig.popen([wine_rig.python_exe, "-c", holder])
    try:
        assert live.stdout is not None
        live_pid, *ended_pids = (int(pid) for pid in live.stdout.readline().split())
        dead = area / "c-99991-aaaaaa-0"  # no such process
        unnamed = area / "c-x-cccccc-0"  # no process id at all: nobody's
        ended = [area / f"c-{pid}-dddddd-0" for pid in ended_pids]
        kept = area / f"c-{live_pid}-bbbbbb-0"
        for leftover in (dead, unnamed, *ended, kept):
            leftover.write_bytes(b"x" * 4096)
        done = wine_rig.wslwatch("probe", wine_rig.windows_path(data), "--samples", "1", timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not dead.exists(), "a dead probe's file is removed"
        assert not unnamed.exists()
        assert [path.name for path in ended if path.exists()] == [], "ended with status 1 and 300, handles still open"
        assert kept.exists(), "a running process's file is left alone"
        assert live.poll() is None, "and the process itself too (`os.kill(pid, 0)` would have ended it)"
    finally:
        live.kill()
        live.wait(30)


def _window_titles(display: str) -> list[str]:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env={"DISPLAY": display}, capture_output=True, text=True)
    return re.findall(r'^\s*0x[0-9a-f]+ "([^"]*)"', tree.stdout, flags=re.MULTILINE)


def test_a_windowless_start_that_fails_is_told_in_a_message_box(wine_rig: WineRig, tmp_path: Path) -> None:
    """Started as the Run value starts it (`pythonw`, through the shell: no console, no standard
    streams), a start refused for a bad config is told in a message box, and console.log has why."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[exporter]\nport = "9477"\n')
    with xvfb(800, 600) as display:
        rig = wine_rig.copy(tmp_path / "desktop", display=display)
        rig.start_server()
        try:
            argv = ["wine", "start", rig.pythonw_exe, "-m", "wslwatch", "run", "--config", rig.windows_path(bad)]
            subprocess.Popen(argv, env=rig.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while "wslwatch could not start" not in _window_titles(display):
                assert time.monotonic() < deadline, f"no message box; windows: {_window_titles(display)}"
                time.sleep(0.5)
            console = (rig.local_appdata / "wslwatch" / "Logs" / "console.log").read_text()
            assert f'{rig.windows_path(bad)}:2: exporter.port: must be a whole number, got "9477"' in console
        finally:
            rig.stop_server()
