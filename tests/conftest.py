"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from home_guard import ISOLATED, changes, snapshot, user_places

from rigs import need
from rigs import wine, wsl_standin
from rigs.fake_nvml import FakeNvml, build
from rigs.slowfs_rig import SlowFsMount, slowfs_available
from rigs.wine import WineRig
from rigs.wsl_standin import WslStandIn


@pytest.fixture(scope="session", autouse=True)
def users_own_wslwatch_untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The whole run, module and session fixtures included, gets its own config and state
    folders; at the end the user's own wslwatch folders must be exactly as they were."""
    places = user_places(os.environ)
    before = snapshot(places)
    isolated = tmp_path_factory.mktemp("user-folders")
    with pytest.MonkeyPatch.context() as patch:
        for variable in ISOLATED:
            patch.setenv(variable, str(isolated / variable.lower()))
        yield
    changed = changes(before, snapshot(places))
    assert not changed, "the test run changed the user's own wslwatch folders:\n" + "\n".join(changed)


@pytest.fixture(scope="session")
def fake_nvml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake `libnvidia-ml.so.1`, built once per test session; its directory."""
    need(shutil.which("gcc") is not None, "gcc to build the fake NVML library")
    return build(tmp_path_factory.mktemp("fake-nvml"))


@pytest.fixture
def fake_nvml(fake_nvml_dir: Path, tmp_path: Path) -> FakeNvml:
    """The fake NVML library with a fresh state file (all defaults) for this test."""
    return FakeNvml(fake_nvml_dir, tmp_path / "fake-nvml-state")


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own per-user state folder (the instance lock, the log, the daemon's history),
    so no test meets another's daemon, or the developer's own, and nothing lands in ~/.local/state."""
    state = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture
def slowfs(tmp_path: Path) -> Iterator[SlowFsMount]:
    """A slowfs (tests/rigs/slowfs.py) mounted under `tmp_path`; no delay until the test calls `set()`."""
    available, missing = slowfs_available()
    need(available, f"FUSE rig: {missing}")
    mount = SlowFsMount(tmp_path / "slowfs")
    try:
        mount.start()
        yield mount
    finally:
        mount.stop()


@pytest.fixture(scope="session")
def wine_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WineRig]:
    """Windows CPython under Wine with this checkout's wheel installed by Windows pip (tests/rigs/wine.py):
    one private prefix and one wineserver for the test session."""
    missing = wine.available()
    need(missing is None, missing or "")
    with wine.rig_session(wine.build_own_wheel(tmp_path_factory.mktemp("wheel"))) as rig:
        yield rig


@pytest.fixture(scope="session")
def wsl_exe_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mingw-built stand-in `wsl.exe` (tests/rigs/fake_wsl_exe.c), built once per session."""
    return wsl_standin.build(tmp_path_factory.mktemp("wsl-exe"))


@pytest.fixture
def wsl_exe(wine_rig: WineRig, wsl_exe_build: Path) -> Iterator[WslStandIn]:
    """The stand-in as the rig's `C:\\windows\\system32\\wsl.exe`, with no replies yet; gone after the test."""
    standin = WslStandIn(wine_rig, wsl_exe_build)
    yield standin
    standin.remove()
