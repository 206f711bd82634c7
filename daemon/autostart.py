"""Start wslwatch at login, per user and without admin rights.

Windows: a `REG_SZ` value `wslwatch` under `HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`.
Chosen over the alternatives because it is one registry write that needs no admin, it is
listed in Settings > Apps > Startup where the user can switch it off (we read that switch,
`...\\Explorer\\StartupApproved\\Run`, and never overwrite it), and it has none of Task
Scheduler's traps (an at-logon trigger needs admin unless scoped to the user, a default
72 h run limit, no start on battery, below-normal priority). The Startup folder would need
a `.lnk` written through PowerShell/COM for the same effect. A tray icon cannot come from a
Windows service (session 0 has no desktop), so this is a per-user process by necessity.
The value starts `pythonw.exe -m wslwatch run` from the running interpreter's folder: one
windowless process (the gui-script launcher `wslwatchw.exe` would add a second one and
a "Fatal Error in Launcher" box if the environment moves), and a venv's `pythonw.exe`
keeps the venv.

Linux (WSL with systemd included): an XDG autostart entry for desktop sessions (the tray
needs one), or a systemd user unit for headless use, where no desktop session exists.

Every file written carries `MARKER`; `uninstall` removes only what carries it.
"""

from __future__ import annotations

import ntpath
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol, Sequence

__all__ = [
    "APPROVED_KEY",
    "MARKER",
    "RUN_KEY",
    "Approval",
    "Autostart",
    "AutostartError",
    "Registry",
    "RunKey",
    "SystemdUserUnit",
    "XdgAutostart",
    "available",
    "desktop_exec",
    "launch_argv",
    "parse_startup_approved",
    "systemd_exec",
    "windowless_python",
]

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = "wslwatch"
MARKER = "Created by `wslwatch install`; `wslwatch uninstall` removes it."


class AutostartError(Exception):
    """Installing or removing cannot go on; the message says why and what to do."""


class Autostart(Protocol):
    """One way to start at login."""

    name: str

    def install(self, argv: Sequence[str]) -> list[str]:
        """Make `argv` start at login (idempotent); what was done, one line each."""
        ...

    def uninstall(self) -> list[str]:
        """Remove what `install` created, and nothing else; what was done, one line each."""
        ...


def launch_argv(python: str, *, headless: bool, config: str | None = None) -> list[str]:
    """The command that starts the daemon with `python`."""
    argv = [python, "-m", "wslwatch", "run"]
    if headless:
        argv.append("--headless")
    if config:
        argv += ["--config", config]
    return argv


def windowless_python(executable: str) -> str:
    """`pythonw.exe` beside the Windows interpreter `executable` (`python3.11.exe` -> `pythonw3.11.exe`)."""
    folder, name = ntpath.split(executable)
    match = re.fullmatch(r"python(w?)(.*)\.exe", name, flags=re.IGNORECASE)
    if match is None:
        raise AutostartError(f"{executable} is not a python.exe; run `wslwatch install` with the Python wslwatch is installed in")
    return ntpath.join(folder, f"pythonw{match[2]}.exe")


def store_python(base_prefix: str) -> bool:
    """Whether `base_prefix` (`sys.base_prefix`: a venv's too) is the Microsoft Store's Python,
    e.g. `C:\\Program Files\\WindowsApps\\PythonSoftwareFoundation.Python.3.11_3.11.2544.0_x64__qbz5n2kfra8p0`."""
    return "\\windowsapps\\pythonsoftwarefoundation.python." in base_prefix.replace("/", "\\").lower()


#: What to do about the Store's Python, which redirects writes to HKCU and %LOCALAPPDATA% into a
#: private copy inside its package (CPython docs, "Using Python on Windows", Known issues).
STORE_PYTHON_ADVICE = (
    "this is the Microsoft Store's Python, which keeps its writes to HKCU and %LOCALAPPDATA% in a private "
    "copy inside its package: Windows would never see the Run value, and wslwatch's config and logs would "
    "not be where Explorer shows them. Install Python from python.org (or `winget install Python.Python.3.12`), "
    "`pip install wslwatch` into it, and run `wslwatch install` with that Python"
)


# --- Windows: the HKCU Run value ---------------------------------------------------------


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations the Run key needs (`winreg` on Windows)."""

    def read(self, key: str, name: str) -> str | bytes | None:
        """A `REG_SZ` value as str, a `REG_BINARY` as bytes; None when the key or value is absent."""
        ...

    def write_string(self, key: str, name: str, data: str) -> None: ...

    def delete(self, key: str, name: str) -> None:
        """Remove the value; no error when it is absent."""
        ...


@dataclass(frozen=True)
class Approval:
    """The Settings > Apps > Startup switch for one Run value, as Explorer records it."""

    enabled: bool
    changed: datetime | None  # when the user switched it off, if recorded


_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


def parse_startup_approved(data: bytes) -> Approval:
    """Decode a `StartupApproved\\Run` value: 12 bytes, the low bit of the first one set when the
    user switched the entry off (`02`/`06` on, `03`/`07` off), then the FILETIME of that change."""
    if not data:
        return Approval(True, None)
    filetime = int.from_bytes(data[4:12], "little") if len(data) >= 12 else 0
    changed = _FILETIME_EPOCH + timedelta(microseconds=filetime // 10) if filetime else None
    return Approval(data[0] & 1 == 0, changed)


class RunKey:
    """The `wslwatch` value under HKCU `...\\CurrentVersion\\Run`."""

    name = "run-key"

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._where = f"HKCU\\{RUN_KEY}\\{VALUE_NAME}"

    def install(self, argv: Sequence[str]) -> list[str]:
        command = subprocess.list2cmdline(argv)
        current = self._registry.read(RUN_KEY, VALUE_NAME)
        if current == command:
            lines = [f"already installed: {self._where} = {command}"]
        else:
            self._registry.write_string(RUN_KEY, VALUE_NAME, command)
            lines = [f"{'updated' if current is not None else 'added'} {self._where} = {command}"]
        approved = self._registry.read(APPROVED_KEY, VALUE_NAME)
        if isinstance(approved, bytes) and not parse_startup_approved(approved).enabled:
            lines.append(self._disabled_note(parse_startup_approved(approved)))
        return lines

    def uninstall(self) -> list[str]:
        current = self._registry.read(RUN_KEY, VALUE_NAME)
        if current is None:
            return [f"nothing to remove: {self._where} does not exist"]
        if not isinstance(current, str) or "wslwatch" not in current.lower():
            return [f"left {self._where} alone: {current!r} does not start wslwatch, so wslwatch did not write it"]
        self._registry.delete(RUN_KEY, VALUE_NAME)
        return [f"removed {self._where} (was {current})"]

    @staticmethod
    def _disabled_note(approval: Approval) -> str:
        since = f" since {approval.changed:%Y-%m-%d}" if approval.changed else ""
        return (
            f"note: wslwatch is switched off in Settings > Apps > Startup{since}, so it will not start at "
            "login; switch it on there (wslwatch leaves that switch to you)"
        )


# --- Linux: XDG autostart entry and systemd user unit -------------------------------------

_DESKTOP_RESERVED = re.compile(r"""[\s"'\\><~|&;$*?#()`]""")


def desktop_exec(argv: Sequence[str]) -> str:
    """`argv` as a Desktop Entry `Exec=` value: quoted where the spec reserves a character,
    `%` doubled, then the string-value escape that doubles every backslash."""
    words = []
    for arg in _single_line(argv):
        if _DESKTOP_RESERVED.search(arg) or not arg:
            arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
        words.append(arg.replace("%", "%%"))
    return " ".join(words).replace("\\", "\\\\")


def systemd_exec(argv: Sequence[str]) -> str:
    """`argv` as a systemd `ExecStart=` value: each word double-quoted, `%` and `$` doubled."""
    quoted = ('"' + re.sub(r'(["\\])', r"\\\1", arg) + '"' for arg in _single_line(argv))
    return " ".join(word.replace("%", "%%").replace("$", "$$") for word in quoted)


def _single_line(argv: Sequence[str]) -> Sequence[str]:
    if any("\n" in arg or "\r" in arg for arg in argv):
        raise AutostartError("a path in the start command contains a line break; it cannot go into a unit file")
    return argv


class _MarkedFile:
    """A file wslwatch writes and may remove only while it still carries `MARKER`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def refuse_foreign(self, text: str | None) -> None:
        if text is not None and MARKER not in text:
            raise AutostartError(
                f"{self.path} exists and was not written by `wslwatch install`; nothing was changed. "
                "Remove or rename it, then install again."
            )

    def write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)

    def remove(self) -> list[str]:
        text = self.read()
        if text is None:
            return [f"nothing to remove: {self.path} does not exist"]
        if MARKER not in text:
            return [f"left {self.path} alone: `wslwatch install` did not write it"]
        self.path.unlink()
        return [f"removed {self.path}"]


class XdgAutostart:
    """`$XDG_CONFIG_HOME/autostart/wslwatch.desktop`, started by the desktop session at login."""

    name = "xdg"

    def __init__(self, config_home: Path) -> None:
        self._file = _MarkedFile(config_home / "autostart" / "wslwatch.desktop")

    def install(self, argv: Sequence[str]) -> list[str]:
        current = self._file.read()
        self._file.refuse_foreign(current)
        if current is not None and _desktop_switched_off(current):
            return [
                f"left {self._file.path} as it is: you switched it off (Hidden=true or "
                "X-GNOME-Autostart-enabled=false); switch it on in your desktop's startup settings"
            ]
        text = _desktop_entry(argv)
        if current == text:
            return [f"already installed: {self._file.path}"]
        self._file.write(text)
        return [f"{'updated' if current is not None else 'wrote'} {self._file.path}; it starts at your next desktop login"]

    def uninstall(self) -> list[str]:
        return self._file.remove()


def _desktop_entry(argv: Sequence[str]) -> str:
    return (
        f"# {MARKER}\n"
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=wslwatch\n"
        "Comment=Resource monitor for WSL2 training machines: memory, VRAM, I/O latency\n"
        f"Exec={desktop_exec(argv)}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _desktop_switched_off(text: str) -> bool:
    lines = {line.strip().replace(" ", "") for line in text.splitlines()}
    return "Hidden=true" in lines or "X-GNOME-Autostart-enabled=false" in lines


class SystemdUserUnit:
    """`$XDG_CONFIG_HOME/systemd/user/wslwatch.service`, enabled into `default.target` as
    `systemctl --user enable` would, so it needs no running systemd to be installed."""

    name = "systemd"

    def __init__(self, config_home: Path) -> None:
        folder = config_home / "systemd" / "user"
        self._file = _MarkedFile(folder / "wslwatch.service")
        self._wants = folder / "default.target.wants" / "wslwatch.service"

    def install(self, argv: Sequence[str]) -> list[str]:
        current = self._file.read()
        self._file.refuse_foreign(current)
        text = _unit(argv)
        if current == text:
            lines = [f"already installed: {self._file.path}"]
        else:
            self._file.write(text)
            lines = [f"{'updated' if current is not None else 'wrote'} {self._file.path}"]
        if current is None and not self._wants.is_symlink():
            self._wants.parent.mkdir(parents=True, exist_ok=True)
            self._wants.symlink_to(self._file.path)
            lines.append(f"enabled it: {self._wants} -> {self._file.path}")
        elif not self._wants.is_symlink():
            lines.append("note: it is disabled (systemctl --user disable); enable it: systemctl --user enable wslwatch")
        lines.append("start it now: systemctl --user daemon-reload && systemctl --user start wslwatch")
        return lines

    def uninstall(self) -> list[str]:
        lines = []
        if self._wants.is_symlink() and Path(os.readlink(self._wants)) == self._file.path:
            self._wants.unlink()
            lines.append(f"removed {self._wants}")
        removed = self._file.remove()
        if removed[0].startswith("removed"):
            removed.append("stop a running one: systemctl --user stop wslwatch && systemctl --user daemon-reload")
        return lines + removed


def _unit(argv: Sequence[str]) -> str:
    return (
        f"# {MARKER}\n"
        "[Unit]\n"
        "Description=wslwatch resource monitor (/metrics, alerts)\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={systemd_exec(argv)}\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "# exit 3: another wslwatch of this user already runs; restarting would not help\n"
        "RestartPreventExitStatus=3\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


# --- choosing, once ------------------------------------------------------------------------


def available() -> dict[str, Autostart]:
    """The ways to start at login on this platform, the default first."""
    if sys.platform == "win32":
        from wslwatch.daemon._winreg import WinRegistry

        return {"run-key": RunKey(WinRegistry())}
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return {"xdg": XdgAutostart(config_home), "systemd": SystemdUserUnit(config_home)}
