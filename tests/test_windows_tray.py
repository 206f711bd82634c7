"""The tray on pystray's win32 backend, on Windows CPython under Wine: Wine's Explorer docks the
Windows notification-area icon in trayer on Xvfb (an XEmbed tray, as Wine's own systray does on a
Linux desktop). The guest's memory comes from the stand-in wsl.exe replaying a recorded
/proc/meminfo; lowering its MemAvailable fires `guest_memory_low`, which turns the icon amber and
makes the tray's notification call (Shell_NotifyIconW with NIF_INFO)."""

from __future__ import annotations

import colorsys
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from wine_checks import PLAIN_READ, PROC, READ, grep_output, stop, wait_for
from PIL import Image

from rigs.wine import WineRig
from rigs.wsl_standin import WslStandIn
from rigs.xdesktop import screenshot, trayer, window_box, xvfb

pytestmark = pytest.mark.rig

ICON_CLASS = "explorer.exe"  # Wine's Explorer owns the docked notification-area icons
CONFIG = """
[tray]
update_s = 0.2
[rules.guest_memory_low]
for_s = 0
clear_for_s = 0
[collectors.gpu]
enabled = false
"""


def low_memory_grep_output() -> bytes:
    """The recorded guest files with MemFree and MemAvailable lowered to 2 % of MemTotal."""
    meminfo = (PROC / "meminfo").read_text().splitlines()
    total = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    low = {"MemFree:", "MemAvailable:"}
    meminfo = [f"{line.split()[0]} {total // 50} kB" if line.split()[0] in low else line for line in meminfo]
    return grep_output().replace(
        "".join(f"/proc/meminfo:{line}\n" for line in (PROC / "meminfo").read_text().splitlines()).encode(),
        "".join(f"/proc/meminfo:{line}\n" for line in meminfo).encode(),
    )


@pytest.fixture
def desktop_rig(wine_rig: WineRig, wsl_exe_build: Path, tmp_path: Path) -> Iterator[tuple[WineRig, str, WslStandIn]]:
    """A copy of the session's prefix whose wineserver (and so Explorer) runs on an Xvfb with trayer."""
    with xvfb(320, 120) as display, trayer(display), wine_rig.on_display(tmp_path / "desktop", display) as rig:
        yield rig, display, WslStandIn(rig, wsl_exe_build)


def colour_counts(image: Image.Image) -> dict[str, int]:
    """Vivid pixels by hue, red and blue swapped back: Wine 8.0 shows the icon pystray loads from a
    Pillow-written .ico with red and blue exchanged (green (0, 150, 60) as about (64, 149, 7), amber
    (235, 150, 0) as about (7, 149, 229)); see docs/windows.md."""
    counts = {"green": 0, "amber": 0, "red": 0}
    data = image.convert("RGB").tobytes()
    for b, g, r in zip(data[0::3], data[1::3], data[2::3]):
        hue, saturation, value = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        if saturation < 0.5 or value < 0.35:
            continue
        degrees = hue * 360
        name = "green" if 70 <= degrees <= 170 else "amber" if 20 <= degrees <= 60 else "red" if degrees < 12 or degrees > 348 else None
        if name:
            counts[name] += 1
    return counts


def icon_in(display: str, colour: str, timeout: float = 60) -> Image.Image:
    """The docked icon once it is drawn mostly in `colour` (green, amber or red)."""

    def drawn() -> Image.Image | None:
        box = window_box(display, ICON_CLASS)
        image = screenshot(display).crop(box) if box else None
        return image if image is not None and colour_counts(image)[colour] > 20 else None

    return wait_for(drawn, f"the icon docked in trayer and drawn {colour}", timeout)


def test_the_win32_icon_docks_and_turns_amber_on_an_alert(desktop_rig: tuple[WineRig, str, WslStandIn],
                                                          tmp_path: Path) -> None:  # fmt: skip
    rig, display, wsl = desktop_rig
    wsl.reply("--list --running --quiet", "Ubuntu\n")
    for read in (READ, PLAIN_READ):
        wsl.reply(read, grep_output(), mode="raw")
    config = tmp_path / "wslwatch.toml"
    config.write_text(CONFIG)
    argv = [rig.script("wslwatchw"), "run", "--port", "0", "--config", rig.windows_path(config)]
    daemon = rig.start_like_explorer(subprocess.list2cmdline(argv))
    try:
        calm = icon_in(display, "green", timeout=120)  # a loaded machine starts Explorer slowly
        calm.save(tmp_path / "calm.png")
        assert colour_counts(calm)["amber"] == 0

        # The next guest read (30 s apart at the least) finds the guest nearly out of memory.
        wsl.forget_replies()
        wsl.reply("--list --running --quiet", "Ubuntu\n")
        for read in (READ, PLAIN_READ):  # the holders ride in every other read
            wsl.reply(read, low_memory_grep_output(), mode="raw")
        try:
            alarmed = icon_in(display, "amber", timeout=90)
        finally:
            screenshot(display).save(tmp_path / "desktop.png")
        alarmed.save(tmp_path / "alarmed.png")
        assert colour_counts(alarmed)["green"] == 0
        stop(rig, daemon)
    finally:
        if daemon.poll() is None:
            rig.end_windows_processes()
            daemon.kill()
    log = (rig.local_appdata / "wslwatch" / "Logs" / "wslwatch.log").read_text(encoding="utf-8")
    assert "tray icon shown (pystray win32 backend)" in log
    assert "guest_memory_low" in log
    assert "could not show a notification" not in log
