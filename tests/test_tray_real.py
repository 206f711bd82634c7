"""The real tray: `wslwatch run` docks its icon in trayer on Xvfb through pystray's xorg backend,
and a VRAM alert driven through the fake NVML library turns it from green to red (and back),
with the alert shown by dunst over D-Bus. Without a display it runs headless and says why."""

from __future__ import annotations

import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pytest
from daemon_process import DaemonProcess, fast_collectors
from PIL import Image
from rigs.fake_nvml import FakeNvml
from rigs.xdesktop import dunst, screenshot, session_bus, trayer, window_box, xvfb

from wslwatch.tray.render import AMBER, GREEN, RED

ICON_CLASS = "wslwatchSystemTrayIcon"  # pystray's xorg backend: f"{name}SystemTrayIcon"

CONFIG = "[tray]\nupdate_s = 0.2\n" + fast_collectors(wslconfig=5) + """
[rules.vram_high]
for_s = 0
critical_for_s = 0
clear_for_s = 0
"""

MIB_24G = 24576


def run_argv(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wslwatch", "run", "--config", str(config), "--port", "0", *extra]


def colour_counts(image: Image.Image) -> dict[str, int]:
    """Pixels near each state colour (the icon is scaled to the tray's size, which blurs edges)."""
    counts = {"green": 0, "amber": 0, "red": 0}
    data = image.convert("RGB").tobytes()
    for pixel in zip(data[0::3], data[1::3], data[2::3]):
        for name, colour in (("green", GREEN), ("amber", AMBER), ("red", RED)):
            if sum((a - b) ** 2 for a, b in zip(pixel, colour)) < 40**2:
                counts[name] += 1
    return counts


def wait_for(what: str, check: Callable[[], object], timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


@pytest.mark.rig
def test_the_docked_icon_turns_red_on_a_critical_vram_alert(fake_nvml: FakeNvml, tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text(CONFIG)
    fake_nvml.set(count=1, total_mib=MIB_24G, used_mib=2048)
    with xvfb(320, 160) as display, trayer(display), session_bus(tmp_path) as bus:
        with dunst(display, bus, tmp_path / "dunst.log"):
            env = {"DISPLAY": display, "PYSTRAY_BACKEND": "xorg", "DBUS_SESSION_BUS_ADDRESS": bus, **fake_nvml.env()}
            daemon = DaemonProcess(run_argv(config), env)
            try:
                daemon.wait_serving(20)

                def icon() -> Image.Image | None:
                    box = window_box(display, ICON_CLASS)
                    return screenshot(display).crop(box) if box else None

                def icon_in(colour: str) -> Image.Image | None:
                    image = icon()
                    if image is None:
                        return None
                    counts = colour_counts(image)
                    others = sum(n for name, n in counts.items() if name != colour)
                    return image if counts[colour] >= image.width * image.height // 8 and others == 0 else None

                green = wait_for("a docked green icon", lambda: icon_in("green"))
                screenshot(display).save(tmp_path / "tray-green.png")
                assert isinstance(green, Image.Image) and green.size == (24, 24), "trayer docks it at 24x24"
                with urllib.request.urlopen(daemon.url, timeout=5) as response:
                    assert b'wslwatch_gpu_memory_used_bytes{gpu="0"' in response.read()

                fake_nvml.set(used_mib=MIB_24G - 200)  # 99 %: critical at once with these timings
                wait_for("the icon turning red", lambda: icon_in("red"))
                screenshot(display).save(tmp_path / "tray-red.png")
                wait_for("dunst showing the alert", lambda: "wslwatch: vram_high (critical)" in _read(tmp_path / "dunst.log"))

                fake_nvml.set(used_mib=1024)
                wait_for("the icon turning green again", lambda: icon_in("green"))
            finally:
                code = daemon.stop()
            log = "".join(daemon.log)
            assert code == 0, log
            assert "tray icon shown (pystray xorg backend)" in log
            assert "desktop notifications through D-Bus" in log
            assert "Traceback" not in log, log


@pytest.mark.rig
def test_the_icon_docks_when_the_tray_host_starts_after_wslwatch(tmp_path: Path) -> None:
    """The login race: wslwatch shows its icon before the panel runs; it docks once the panel starts."""
    config = tmp_path / "wslwatch.toml"
    config.write_text("[tray]\nupdate_s = 0.2\n[collectors.gpu]\nenabled = false\n")
    with xvfb(320, 160) as display:
        daemon = DaemonProcess(run_argv(config), {"DISPLAY": display, "PYSTRAY_BACKEND": "xorg"})
        try:
            daemon.wait_serving(20)
            wait_for("the no-tray-host line", lambda: "no tray host on this display yet" in "".join(daemon.log))
            assert window_box(display, ICON_CLASS) is None, "nothing can show the icon before a tray host runs"
            with trayer(display):
                box = wait_for("the icon docked in the late tray host", lambda: window_box(display, ICON_CLASS))
                assert isinstance(box, tuple) and (box[2] - box[0], box[3] - box[1]) == (24, 24)
                wait_for("the docked line", lambda: "tray icon docked" in "".join(daemon.log))
        finally:
            code = daemon.stop()
    log = "".join(daemon.log)
    assert code == 0, log
    assert "a tray host started; asking it to dock the icon" in log, "heard the panel's MANAGER message"
    assert "asking it again" not in log, "docked by listening, with no retry"
    assert "Failed to dock icon" not in log and "Traceback" not in log, log


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def test_without_a_display_run_falls_back_to_headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[collectors.gpu]\nenabled = false\n")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    daemon = DaemonProcess(run_argv(config), {})
    try:
        daemon.wait_serving(20)
        wait_for("the fallback log line", lambda: "running headless" in "".join(daemon.log))
        with urllib.request.urlopen(daemon.url, timeout=5) as response:
            assert response.status == 200
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    log = "".join(daemon.log)
    assert 'no tray backend: Xlib.error.DisplayNameError: Bad display name ""; running headless' in log
    assert "Traceback" not in log


def test_headless_never_tries_the_tray(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[collectors.gpu]\nenabled = false\n")
    daemon = DaemonProcess(run_argv(config, "--headless"), {"PYSTRAY_BACKEND": "bogus"})
    try:
        daemon.wait_serving(20)
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    log = "".join(daemon.log)
    assert "tray" not in log.lower(), log
