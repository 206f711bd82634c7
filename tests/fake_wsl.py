"""A stand-in `wsl.exe` (a script with that name) for the Windows code paths that run it.

Windows cannot run here, so the seam is the `wsl.exe` program itself. The stand-in answers
`--list [--running] --quiet` from state recorded on real machines (`wsl-list-verbose.txt`,
`wsl-list-utf16-as-spaces.txt`), in UTF-16LE like wsl.exe, or in UTF-8 when asked through
`WSL_UTF8=1` (as WSL 0.64+ does). For `-d DISTRO [-u USER] --exec CMD...` it runs CMD for real
on this machine, as WSL runs it in the guest (as root: recorded only, never run). It logs every
argument list and its WSL_UTF8, so a test can prove what was and was not run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

FAKE_WSL = """\
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "state.json")) as f:
    state = json.load(f)
args = sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"args": args, "WSL_UTF8": os.environ.get("WSL_UTF8")}) + "\\n")
time.sleep(state.get("sleep", 0))

def say(text, status=0):
    utf8 = state["honours_wsl_utf8"] and os.environ.get("WSL_UTF8") == "1"
    sys.stdout.buffer.write(text.replace("\\n", "\\r\\n").encode("utf-8" if utf8 else "utf-16-le"))
    sys.exit(status)

if args[:1] == ["--list"] and args[-1:] == ["--quiet"]:
    if "list_error" in state:
        text, status = state["list_error"]
        if status < 0:  # killed by a signal, as a POSIX process can be
            os.kill(os.getpid(), -status)
        say(text, status)
    say("".join(name + "\\n" for name in state["running" if "--running" in args else "installed"]))
options = {}
while len(args) >= 2 and args[0] in ("-d", "-u"):
    options[args[0]] = args[1]
    args = args[2:]
if "-d" in options and args[:1] == ["--exec"]:
    if options["-d"] not in state["installed"]:
        say("There is no distribution with the supplied name.\\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\\n", 255)
    if options.get("-u") == "root":
        say("", state.get("root_status", 0))  # as root: recorded, never run on this machine
    os.execvp(args[1], args[1:])
say("stand-in wsl.exe: unexpected arguments\\n", 1)
"""


def recorded_verbose_list() -> tuple[list[str], list[str]]:
    """(installed with the default first, running) from the recorded `wsl -l -v`."""
    rows = [line for line in (FIXTURES / "wsl-list-verbose.txt").read_text().splitlines()[2:] if line.strip()]
    default = [row[1:].split()[0] for row in rows if row.startswith("*")]
    names = default + [row.split()[0] for row in rows if not row.startswith("*")]
    running = [row.lstrip("* ").split()[0] for row in rows if row.split()[-2] == "Running"]
    return names, running


def recorded_utf16_list() -> list[str]:
    """Distro names from the recorded `wsl -l` whose UTF-16 NULs were shown as spaces.

    Undoing that rendering (every other character of a line) must give back wsl.exe's header
    exactly; the `(Default)` marker is what plain `-l` adds and `-q` leaves out.
    """
    lines = [line.strip() for line in (FIXTURES / "wsl-list-utf16-as-spaces.txt").read_text().split("\n")]
    text = [line[::2] for line in lines if line]
    assert text[0] == "Windows Subsystem for Linux Distributions:"
    return [name.removesuffix(" (Default)") for name in text[1:]]


@dataclass
class FakeWsl:
    folder: Path

    @property
    def path(self) -> str:
        return str(self.folder / "wsl.exe")

    def change(self, **state: Any) -> None:
        current = json.loads((self.folder / "state.json").read_text())
        (self.folder / "state.json").write_text(json.dumps({**current, **state}))

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line)["args"] for line in lines]

    def utf8_requests(self) -> set[str | None]:
        return {json.loads(line)["WSL_UTF8"] for line in (self.folder / "calls.jsonl").read_text().splitlines()}

    def execs(self) -> list[list[str]]:
        return [call for call in self.calls() if "--exec" in call]


@pytest.fixture
def fake_wsl(tmp_path: Path) -> FakeWsl:
    folder = tmp_path / "windows"
    folder.mkdir()
    script = folder / "wsl.exe"
    script.write_text(f"#!{sys.executable} -IS\n{FAKE_WSL}")  # -IS: no site, quick start
    script.chmod(0o755)
    installed, running = recorded_verbose_list()
    state = {"installed": installed, "running": running, "honours_wsl_utf8": True}
    (folder / "state.json").write_text(json.dumps(state))
    return FakeWsl(folder)


