"""PyPI-ready: `python -m build` gives an sdist and a wheel that `twine check` accepts; the wheel
installs with no build step under the one `wslwatch` namespace, with its data files, and says
the version written in one place (`wslwatch.__version__`)."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import wslwatch
from checkout import copy_checkout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` of a clone: the sdist, then the wheel built from that sdist."""
    root = tmp_path_factory.mktemp("build")
    clone = copy_checkout(root / "wslwatch")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"), str(clone)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root / "dist"


def test_the_sdist_and_the_wheel_carry_the_one_version_and_pass_twine_check(dist: Path) -> None:
    names = sorted(path.name for path in dist.iterdir())
    version = wslwatch.__version__
    assert names == [f"wslwatch-{version}-py3-none-any.whl", f"wslwatch-{version}.tar.gz"]
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_puts_nothing_generic_into_site_packages(dist: Path) -> None:
    (wheel,) = dist.glob("wslwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"wslwatch", wheel.name.split("-py3")[0] + ".dist-info"}, top
    for package in ("daemon", "collectors", "exporters", "tray", "config", "reclaim"):
        assert f"wslwatch/{package}/__init__.py" in names
    assert "wslwatch/config/wslwatch.toml" in names
    assert "wslwatch/py.typed" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "wslwatch = wslwatch.daemon.cli:main" in entry_points


def test_the_wheel_installs_without_building_anything(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("wslwatch-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv/bin/python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--only-binary", ":all:", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    done = subprocess.run(
        [str(tmp_path / "venv/bin/wslwatch"), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.stdout == f"wslwatch {wslwatch.__version__}\n", done.stdout + done.stderr


def test_python_dash_m_wslwatch_works() -> None:
    done = subprocess.run([sys.executable, "-m", "wslwatch", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("wslwatch ")
