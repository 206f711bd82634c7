"""The commands the README shows, for the tests that run them verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

_BLOCK = re.compile(r"^```(?:sh|bat)\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: Every command line of the README's shell (`sh`) and Windows (`bat`) blocks, in order.
COMMANDS = [line.strip() for block in _BLOCK.findall(README) for line in block.splitlines() if line.strip()]


def readme_command(prefix: str) -> str:
    """The one README command that starts with `prefix`, exactly as the README writes it."""
    found = [command for command in COMMANDS if command.startswith(prefix)]
    if len(found) != 1:
        raise LookupError(f"the README has {len(found)} commands starting {prefix!r}, not one: {COMMANDS}")
    return found[0]
