"""A real Windows `wsl.exe` stand-in (tests/rigs/fake_wsl_exe.c, built with mingw-w64) placed where
Windows keeps the real one, `C:\\windows\\system32\\wsl.exe`, in a Wine prefix of the rig.

It replays outputs a test sets (recorded from real machines) in the encoding the real wsl.exe
uses, and records each start: its arguments, its `WSL_UTF8`, and whether it got a console window
(with a display, a console program started from a windowless parent without `CREATE_NO_WINDOW`
gets one, under Wine as on Windows).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rigs.wine import WineRig, build_exe

__all__ = ["Call", "WslStandIn", "build"]

SOURCE = Path(__file__).with_name("fake_wsl_exe.c")
Mode = Literal["wsl", "utf16", "raw"]


def build(out_dir: Path) -> Path:
    """Compile the stand-in with mingw-w64; its path."""
    return build_exe(SOURCE, out_dir / "wsl.exe", "shell32")


@dataclass(frozen=True)
class Call:
    args: str  # the arguments, joined by single spaces
    wsl_utf8: str | None
    console_window: bool


class WslStandIn:
    """The stand-in installed as the rig's `%SystemRoot%\\System32\\wsl.exe` (removed by `remove`)."""

    def __init__(self, rig: WineRig, exe: Path) -> None:
        self.system32 = rig.linux_path(r"C:\windows\system32")
        self.folder = self.system32 / "wsl-standin"
        self.folder.mkdir()
        shutil.copy(exe, self.system32 / "wsl.exe")
        self._replies: list[str] = []

    def reply(self, args: str, output: str | bytes = b"", exit_code: int = 0, mode: Mode = "wsl",
              sleep_ms: int = 0) -> None:  # fmt: skip
        """Answer a start whose arguments begin with `args`; earlier replies win."""
        name = f"reply-{len(self._replies)}"
        (self.folder / name).write_bytes(output.encode() if isinstance(output, str) else output)
        self._replies.append("\t".join([args, str(exit_code), mode, name, str(sleep_ms)]))
        (self.folder / "replies.txt").write_text("\n".join(self._replies) + "\n")

    def forget_replies(self) -> None:
        """Drop every reply set so far (a start then finds none until the next `reply`)."""
        self._replies = []
        (self.folder / "replies.txt").write_text("")

    def calls(self) -> list[Call]:
        log = self.folder / "calls.log"
        rows = [line.split("\t", 2) for line in log.read_text().splitlines()] if log.exists() else []
        return [Call(args, None if utf8 == "-" else utf8, window == "1") for utf8, window, args in rows]

    def remove(self) -> None:
        (self.system32 / "wsl.exe").unlink()
        shutil.rmtree(self.folder)
