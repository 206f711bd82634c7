"""A copy of this checkout (what `git clone` would give, plus uncommitted work), for tests
that install from "a clone of this repository" without writing into the working tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_checkout(dest: Path) -> Path:
    """Copy the tracked and the not-ignored untracked files of this checkout to `dest`."""
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{ROOT} must be a git checkout (git clone) to be copied: {done.stderr.decode().strip()}")
    listed = done.stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest
