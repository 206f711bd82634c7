"""Logs: the rotating file, stderr only with a console, and a windowless start (pythonw) that
has no stdout/stderr at all."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from wslwatch.daemon import logs


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """Leave the root logger as the test found it."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in before:
            handler.close()
    root.handlers[:] = before
    root.setLevel(level)


def test_log_dir_is_the_platforms_user_log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert logs.log_path() == tmp_path / "wslwatch" / "log" / "wslwatch.log"


def test_the_file_rotates_and_keeps_a_bounded_number(tmp_path: Path, root_handlers: None) -> None:
    path = logs.log_to_file(tmp_path / "wslwatch.log", max_bytes=2000, backups=2)
    logging.getLogger().setLevel("INFO")
    for i in range(200):
        logging.getLogger("wslwatch.test").info("line %d of the rotation test", i)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["wslwatch.log", "wslwatch.log.1", "wslwatch.log.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    assert "line 199 of the rotation test" in path.read_text()


def test_configure_twice_keeps_one_console_handler(root_handlers: None) -> None:
    logs.configure("DEBUG", console=True)
    logs.configure("WARNING", console=True)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "wslwatch-console"]
    assert len(ours) == 1
    assert logging.getLogger().level == logging.WARNING
    logs.configure("WARNING", console=False)
    assert not [h for h in logging.getLogger().handlers if h.get_name() == "wslwatch-console"]


_WINDOWLESS = textwrap.dedent(
    """
    import sys
    sys.stdout = sys.stderr = None  # what pythonw gives a GUI process
    from wslwatch.daemon.cli import main
    code = main(sys.argv[1:])
    import logging
    logging.getLogger("wslwatch.test").warning("a warning with no console")
    sys.exit(code)
    """
)


def test_windowless_start_sends_output_and_errors_to_console_log(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    bad = subprocess.run([sys.executable, "-c", _WINDOWLESS, "no-such-command"], env=env, capture_output=True)
    good = subprocess.run([sys.executable, "-c", _WINDOWLESS, "config", "show"], env=env, capture_output=True)

    console = (tmp_path / "wslwatch" / "log" / "console.log").read_text()
    assert (bad.returncode, good.returncode) == (2, 0)
    assert bad.stdout == bad.stderr == good.stdout == good.stderr == b""
    assert "invalid choice: 'no-such-command'" in console  # argparse's error, not lost
    assert '"exporter": {' in console  # print() output, not lost
    assert "WARNING wslwatch.test: a warning with no console" not in console  # no stderr handler...
    assert "a warning with no console" in console  # ...but logging's last resort still reaches the file
