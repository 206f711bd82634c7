"""`mypy --strict` over the whole package, for Windows and for Linux (scripts/typecheck.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "typecheck.py"


def _typecheck(root: Path, *platforms: str) -> subprocess.CompletedProcess[str]:
    flags = [arg for platform in platforms for arg in ("--platform", platform)]
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *flags], capture_output=True, text=True, timeout=300
    )


def test_the_package_is_clean_for_windows_and_for_linux() -> None:
    result = _typecheck(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--platform win32: clean" in result.stdout
    assert "--platform linux: clean" in result.stdout


def test_a_windows_only_type_error_in_a_mapped_folder_fails_and_names_the_file(tmp_path: Path) -> None:
    """A miniature repository with the same folder mapping (a subpackage under a mapped folder too)
    and one error, only on Windows."""
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.setuptools]
            package-dir = { "pkg" = "pkg", "pkg.daemon" = "daemon" }
            packages = ["pkg", "pkg.daemon", "pkg.daemon.rules"]

            [tool.mypy]
            strict = true
            """
        )
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from pkg.daemon.rules.lock import held\n\n__all__ = ['held']\n")
    (tmp_path / "daemon" / "rules").mkdir(parents=True)
    (tmp_path / "daemon" / "__init__.py").write_text("")
    (tmp_path / "daemon" / "rules" / "__init__.py").write_text("")
    (tmp_path / "daemon" / "rules" / "lock.py").write_text(
        textwrap.dedent(
            """
            import sys

            if sys.platform == "win32":
                held: int = "a mutex handle"
            else:
                held: int = 0
            """
        )
    )

    windows = _typecheck(tmp_path, "win32")
    linux = _typecheck(tmp_path, "linux")

    assert windows.returncode == 1
    assert 'daemon/rules/lock.py:5: error: Incompatible types in assignment (expression has type "str"' in windows.stdout
    assert linux.returncode == 0, linux.stdout
