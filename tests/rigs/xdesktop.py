"""A throwaway desktop for tray tests: Xvfb, a tray host (trayer), a private D-Bus session bus
and a notification server (dunst), each a real process that is killed when the test ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from PIL import Image, ImageGrab

from rigs import need

__all__ = ["bus_name_owned", "close_window", "dunst", "screenshot", "session_bus", "trayer", "window_box",
           "window_titled", "xvfb"]

# A session bus that starts no services by itself: the test decides what runs on it.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _need_programs(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    need(not missing, f"{', '.join(missing)} not installed (Debian packages in tests/debian-packages.txt)")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


@contextmanager
def xvfb(width: int = 320, height: int = 120) -> Iterator[str]:
    """A fresh X display (Xvfb picks a free number); yields its name, e.g. `:93`.

    `-noreset`: by default the server resets when its last client leaves, and a client that
    connects meanwhile (trayer starting while a readiness probe disconnects) is refused.
    """
    _need_programs("Xvfb")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit {proc.poll()})")
        yield f":{number}"
    finally:
        _stop(proc)


def _tray_owned(display_name: str) -> bool:
    from Xlib import display as xdisplay

    display = xdisplay.Display(display_name)
    try:
        atom = display.intern_atom(f"_NET_SYSTEM_TRAY_S{display.get_default_screen()}")
        return bool(display.get_selection_owner(atom))
    finally:
        display.close()


@contextmanager
def trayer(display: str, height: int = 26) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's trayer as the XEmbed tray host at the top left; icons are (height-2) px square."""
    _need_programs("trayer")
    argv = ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request", "--height", str(height)]
    argv += ["--SetDockType", "true", "--transparent", "false", "--expand", "true"]
    proc = subprocess.Popen(
        argv, env={**os.environ, "DISPLAY": display}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(lambda: _tray_owned(display) or proc.poll() is not None, "trayer taking the tray selection")
        if proc.poll() is not None:
            raise RuntimeError(f"trayer exited with {proc.returncode}")
        yield proc
    finally:
        _stop(proc)


@contextmanager
def session_bus(workdir: Path) -> Iterator[str]:
    """A private D-Bus session bus with no service activation; yields its address."""
    _need_programs("dbus-daemon", "gdbus")
    config = workdir / "bus.conf"
    config.write_text(_BUS_CONFIG.format(dir=workdir))
    proc = subprocess.Popen(
        ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={config}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError(f"dbus-daemon did not start (exit {proc.poll()})")
        yield address
    finally:
        _stop(proc)


def bus_name_owned(address: str, name: str) -> bool:
    done = subprocess.run(
        ["gdbus", "call", "--address", address, "--dest", "org.freedesktop.DBus", "--object-path",
         "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.NameHasOwner", f'"{name}"'],
        capture_output=True, text=True, timeout=10,
    )
    return done.stdout.strip() == "(true,)"


@contextmanager
def dunst(display: str, bus: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's dunst as the notification server; every notification it gets is printed to `log`."""
    _need_programs("dunst")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["dunst", "-print"],
            env={**os.environ, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": bus},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: bus_name_owned(bus, "org.freedesktop.Notifications"), "dunst owning org.freedesktop.Notifications")
        yield proc
    finally:
        _stop(proc)


def _mapped_windows(display: Any) -> Iterator[Any]:
    """Every mapped window under the root, top-level first."""
    from Xlib import X, error

    pending = [display.screen().root]
    while pending:
        window = pending.pop()
        try:
            if window.get_attributes().map_state == X.IsViewable:
                yield window
            pending.extend(window.query_tree().children)
        except error.XError:
            continue  # a window that went away meanwhile


def window_titled(display_name: str, title: str) -> int | None:
    """The id of a mapped window whose title (WM_NAME) is `title`."""
    from Xlib import error
    from Xlib import display as xdisplay

    display = xdisplay.Display(display_name)
    try:
        for window in _mapped_windows(display):
            try:
                if window.get_wm_name() == title:
                    return int(window.id)
            except error.XError:
                continue
        return None
    finally:
        display.close()


def close_window(display_name: str, window_id: int) -> None:
    """Ask a window to close, as a window manager's close button does (WM_DELETE_WINDOW)."""
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.protocol import event

    display = xdisplay.Display(display_name)
    try:
        window = display.create_resource_object("window", window_id)
        protocols, delete = display.intern_atom("WM_PROTOCOLS"), display.intern_atom("WM_DELETE_WINDOW")
        message = event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(message, event_mask=X.NoEventMask)
        display.flush()
    finally:
        display.close()


def window_box(display_name: str, wm_class: str) -> tuple[int, int, int, int] | None:
    """`(left, top, right, bottom)` on the screen of the mapped window whose WM_CLASS is `wm_class`."""
    from Xlib import error
    from Xlib import display as xdisplay

    display = xdisplay.Display(display_name)
    try:
        root = display.screen().root
        for window in _mapped_windows(display):
            try:
                found = window.get_wm_class()
                if found and found[0] == wm_class:
                    geometry = window.get_geometry()
                    origin = root.translate_coords(window, 0, 0)
                    return origin.x, origin.y, origin.x + geometry.width, origin.y + geometry.height
            except error.XError:
                continue  # a window that went away meanwhile
        return None
    finally:
        display.close()


def screenshot(display: str) -> Image.Image:
    """The whole X screen."""
    return ImageGrab.grab(xdisplay=display).convert("RGB")
