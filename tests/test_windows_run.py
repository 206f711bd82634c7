"""The daemon on Windows CPython under Wine, started as a Windows user starts it: `wslwatch.exe run`
in a console, and windowless through the gui-script `wslwatchw.exe` (pythonw: no console streams)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from wine_checks import metrics, metrics_with, running_url, state_dir, stop, wait_for

from rigs.wine import WineRig
from rigs.xdesktop import close_window, window_titled, xvfb

pytestmark = pytest.mark.rig

def test_run_serves_metrics_refuses_a_second_instance_and_stops_cleanly(wine_rig: WineRig) -> None:
    daemon = wine_rig.popen([wine_rig.script("wslwatch"), "run", "--headless", "--port", "0"])
    try:
        url = running_url(wine_rig)
        body = wait_for(lambda: metrics_with(url, "wslwatch_host_memory_total_bytes"), "host RAM on /metrics")
        assert 'wslwatch_build_info{version="' in body

        second = wine_rig.wslwatch("run", "--headless", "--port", "0")
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"already runs for this user (pid {json.loads((state_dir(wine_rig) / 'instance.json').read_text())['pid']}" in second.stderr
        assert url in second.stderr

        stop(wine_rig, daemon)
    finally:
        if daemon.poll() is None:
            wine_rig.end_windows_processes()
            daemon.kill()
    log = (state_dir(wine_rig) / "Logs" / "wslwatch.log").read_text(encoding="utf-8")
    assert "serving " + url in log and "stopping" in log
    assert "Traceback" not in log


def test_windowless_run_logs_to_localappdata_and_a_refused_start_is_shown(wine_rig: WineRig, tmp_path: Path) -> None:
    """pythonw has no stdout/stderr: the log and the console output go to %LOCALAPPDATA%\\wslwatch\\Logs.
    A second windowless start is refused (exit 3) and says so in a message box, not only in a file."""
    with xvfb(640, 480) as display, wine_rig.on_display(tmp_path / "desktop", display) as rig:
        logs = state_dir(rig) / "Logs"
        env = {"DISPLAY": display}
        windowless = subprocess.list2cmdline([rig.script("wslwatchw"), "run", "--headless", "--port", "0"])
        daemon = rig.start_like_explorer(windowless, env=env)
        try:
            url = running_url(rig)
            assert "wslwatch_build_info" in metrics(url)
            second = rig.start_like_explorer(windowless, env=env)
            box = wait_for(lambda: window_titled(display, "wslwatch could not start"), "the message box")
            assert second.poll() is None  # it waits for the user
            close_window(display, box)
            closes = [box]
            while second.poll() is None and len(closes) < 60:  # the box may not take the first close yet
                time.sleep(0.5)
                again = window_titled(display, "wslwatch could not start")
                if again is not None:
                    close_window(display, again)
                    closes.append(again)
            assert second.wait(10) == 3, closes
            stop(rig, daemon)
        finally:  # leaving the display's rig ends every Windows process in it
            daemon.kill()
    assert "serving " + url in (logs / "wslwatch.log").read_text(encoding="utf-8")
    console = (logs / "console.log").read_text(encoding="utf-8")
    assert "already runs for this user" in console
