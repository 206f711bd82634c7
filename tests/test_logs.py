"""Logs: the rotating file, stderr only with a console, and a windowless start (pythonw) that
has no stdout/stderr at all."""

from __future__ import annotations

import json
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
    logs.configure("INFO", console=False)  # windowless: warnings and errors only (into console.log)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "wslwatch-console"]
    assert [h.level for h in ours] == [logging.WARNING]


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
    assert "WARNING wslwatch.test: a warning with no console" in console  # warnings reach the file, formatted


_WINDOWLESS_NOTICE = textwrap.dedent(
    """
    import json, sys
    sys.stdout = sys.stderr = None  # what pythonw gives a GUI process
    from wslwatch.daemon import cli, startup_notice
    told = []
    startup_notice._show = told.append  # the one Windows call (MessageBoxW), which Linux has not
    code = cli.main(sys.argv[2:])
    with open(sys.argv[1], "w") as f:
        json.dump({"code": code, "told": told}, f)
    """
)


def test_a_windowless_start_that_fails_is_told_once_with_what_it_printed(tmp_path: Path) -> None:
    """The message box itself is Windows' (run under Wine); here: that it is asked for once,
    with the lines the failed start printed, and not for a start that works."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    config = tmp_path / "bad.toml"
    config.write_text('[exporter]\nport = "9477"\n')
    out = tmp_path / "told.json"
    subprocess.run([sys.executable, "-c", _WINDOWLESS_NOTICE, str(out), "run", "--config", str(config)], env=env)
    result = json.loads(out.read_text())
    assert result["code"] == 2
    (told,) = result["told"]
    assert f'{config}:2: exporter.port: must be a whole number, got "9477"' in told
    assert "wslwatch: invalid configuration; nothing was started." in told
    assert told.endswith(f"Exit status 2. Everything it printed is in {tmp_path / 'wslwatch' / 'log' / 'console.log'}.")

    subprocess.run([sys.executable, "-c", _WINDOWLESS_NOTICE, str(out), "config", "show"], env=env)
    assert json.loads(out.read_text()) == {"code": 0, "told": []}
