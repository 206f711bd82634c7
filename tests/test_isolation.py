"""A test run never touches the user's own wslwatch: the guard in conftest.py can see it if one does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from home_guard import ISOLATED, changes, snapshot, user_places


def test_the_run_has_its_own_config_and_state_folders(tmp_path_factory: pytest.TempPathFactory) -> None:
    for variable in ISOLATED:
        assert Path(os.environ[variable]).is_relative_to(tmp_path_factory.getbasetemp()), variable


def test_the_guard_sees_what_a_command_writes_into_a_users_folders(tmp_path: Path) -> None:
    """`wslwatch install` and `config init` run for a user with nothing set but HOME."""
    home = tmp_path / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(home)}
    places = user_places(environ)
    before = snapshot(places)
    assert changes(before, snapshot(places)) == []
    for command in (["install", "--headless"], ["config", "init"]):
        done = subprocess.run([sys.executable, "-m", "wslwatch", *command], env=environ, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    changed = changes(before, snapshot(places))
    assert any(line.startswith(f"{home}/.config/wslwatch/wslwatch.toml: None -> ('file',") for line in changed), changed
    assert any(line.startswith(f"{home}/.config/systemd/user/wslwatch.service: None -> ") for line in changed), changed


def test_the_guard_sees_a_file_written_and_removed_again(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "wslwatch" / "log").mkdir(parents=True)
    places = user_places({"HOME": str(tmp_path), "XDG_STATE_HOME": str(state)})
    os.utime(state / "wslwatch" / "log", ns=(0, 0))  # as if written a while ago, then:
    before = snapshot(places)
    (state / "wslwatch" / "log" / "wslwatch.log").write_text("alert\n")
    (state / "wslwatch" / "log" / "wslwatch.log").unlink()
    assert [line.split(":")[0] for line in changes(before, snapshot(places))] == [f"{state}/wslwatch/log"]
