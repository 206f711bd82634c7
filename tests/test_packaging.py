"""The wheel installs under the one `wslwatch` namespace, with its data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_puts_nothing_generic_into_site_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("wslwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"wslwatch", wheel.name.split("-py3")[0] + ".dist-info"}, top
    for package in ("daemon", "collectors", "exporters", "tray", "config", "reclaim"):
        assert f"wslwatch/{package}/__init__.py" in names
    assert "wslwatch/config/wslwatch.toml" in names
    assert "wslwatch/py.typed" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "wslwatch = wslwatch.daemon.cli:main" in entry_points


def test_python_dash_m_wslwatch_works() -> None:
    done = subprocess.run([sys.executable, "-m", "wslwatch", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("wslwatch ")
