#!/usr/bin/env python3
"""Type-check the whole package with `mypy --strict`, once for Windows and once for Linux.

The repository maps its top-level folders into one import namespace (pyproject.toml
`[tool.setuptools] package-dir`), a mapping mypy cannot read: run on `daemon/` it would see
a module `daemon`, not `wslwatch.daemon`. So this builds a staging tree with the installed
layout (real folders, each file a symlink to the repository's file) under `.mypy_cache/`,
runs `mypy -p <package>` there with the repository's mypy settings (`strict = true` there), and prints every error
with the repository path of the file. Exit status 0 only when every platform is clean.

    scripts/typecheck.py [--root DIR] [--platform win32 --platform linux]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_SOURCE_SUFFIXES = {".py", ".pyi", ".typed"}


def package_dirs(root: Path) -> dict[str, Path]:
    """`{dotted package: repository folder}` from pyproject.toml's setuptools `package-dir`."""
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools.get("package-dir", {})
    return {package: root / _folder(package, mapping) for package in setuptools["packages"]}


def _folder(package: str, mapping: dict[str, str]) -> str:
    """Setuptools' rule: the longest mapped parent's folder, then the rest of the name as folders."""
    parts = package.split(".")
    for cut in range(len(parts), -1, -1):
        parent = ".".join(parts[:cut])
        if parent in mapping:
            return "/".join([mapping[parent], *parts[cut:]]).lstrip("/")
    return "/".join(parts)


def stage(root: Path, staging: Path) -> str:
    """Build the installed layout under `staging`; returns the top-level package name."""
    if staging.exists():
        shutil.rmtree(staging)
    packages = package_dirs(root)
    for package, folder in packages.items():
        target = staging.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in folder.iterdir():
            if source.is_file() and (source.suffix in _SOURCE_SUFFIXES):
                (target / source.name).symlink_to(source.resolve())
    return min(packages, key=len).split(".")[0]


def check(root: Path, platform: str) -> tuple[int, str]:
    """Run mypy for `platform`; its exit status and its output with repository paths."""
    cache = root / ".mypy_cache"
    staging = cache / f"staging-{platform}"
    package = stage(root, staging)
    command = [
        sys.executable, "-m", "mypy",
        "--config-file", str(root / "pyproject.toml"),
        "--platform", platform,
        "--cache-dir", str(cache / f"typecheck-{platform}"),
        "--no-error-summary",
        "-p", package,
    ]  # fmt: skip
    env = {**os.environ, "MYPYPATH": str(staging)}
    result = subprocess.run(command, cwd=staging, env=env, capture_output=True, text=True)
    return result.returncode, _repository_paths(result.stdout + result.stderr, staging, root)


def _repository_paths(output: str, staging: Path, root: Path) -> str:
    """`wslwatch/daemon/x.py:3: error` -> `daemon/x.py:3: error` (the file the symlink points at)."""

    def real(match: re.Match[str]) -> str:
        path = staging / match[1]
        if not path.is_symlink():
            return match[0]
        return os.path.relpath(path.resolve(), root) + ":"

    return re.sub(r"^([^\s:]+\.pyi?):", real, output, flags=re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--platform", action="append", help="mypy --platform (default: win32 and linux)")
    args = parser.parse_args(argv)
    worst = 0
    for platform in args.platform or ["win32", "linux"]:
        code, output = check(args.root.resolve(), platform)
        print(f"== mypy --strict --platform {platform}: {'clean' if code == 0 else 'ERRORS'}")
        if output.strip():
            print(output.rstrip())
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
