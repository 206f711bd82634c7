"""Hostile inputs: every bad input gets exit 2 and a message naming `FILE:LINE` or the argument,
and no command prints a Python traceback, whatever a file or the command line holds.

Each case is a real `python -m wslwatch` process, as a user (or a script) would run it. The
faults of a running recorder (full disk, SIGKILL, a clock set back) are in test_faults_recording.py.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest

from test_reload import Seen

from wslwatch.config import Config, ConfigError, load_text
from wslwatch.daemon.reload import ConfigWatcher

DEEP = "x = " + "[" * 600 + "]" * 600 + "\n"
LONG_NUMBER = "[exporter]\nport = " + "9" * 5000 + "\n"
HUGE_ROUNDS = "pbkdf2_sha256$99999999999$c2FsdHNhbHQ=$" + base64.b64encode(b"h" * 32).decode()
ADDRESS_NOT_HERE = "192.0.2.1"  # TEST-NET-1 (RFC 5737): on no machine's interface


def wslwatch(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wslwatch", *argv], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for name, text in {
        "deep.toml": DEEP,
        "long.toml": LONG_NUMBER,
        "bind.toml": f'[exporter]\nbind = "{ADDRESS_NOT_HERE}"\n',
        "rounds.toml": f'[exporter.basic_auth_users]\nprometheus = "{HUGE_ROUNDS}"\n',
        "port.toml": "[exporter]\nport = true\n",
        "slash.toml": f'[[paths]]\npath = "{tmp_path}"\n[[paths]]\npath = "{tmp_path}/"\nname = "again"\n',
        "alias.toml": f'[[paths]]\npath = "{tmp_path}"\n[[paths]]\npath = "{tmp_path}/link"\nname = "again"\n',
        "nul.toml": '[[paths]]\npath = "/tmp/a\\u0000b"\n',
        "relative.toml": '[[paths]]\npath = "data/set"\n',
        "loop.toml": f'[[paths]]\npath = "{tmp_path}/loop-a"\n',
        "header.toml": "[exporter]\nport = 9477\n\n[colectors.gpu]\nenabled = false\n",
        "tls.toml": f'[exporter]\ncertfile = "{tmp_path}/missing.pem"\n',
    }.items():
        (tmp_path / name).write_text(text)
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "link").symlink_to(tmp_path)
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    return tmp_path


CASES = [
    (["config", "check", "{d}/deep.toml"], "{d}/deep.toml:1: invalid TOML: arrays or tables nested too deep"),
    (["config", "check", "{d}/long.toml"], "{d}/long.toml:2: invalid TOML: a number too long to read"),
    (["run", "--headless", "--config", "{d}/deep.toml"], "{d}/deep.toml:1: invalid TOML"),
    (["record", "{d}/r.jsonl", "--config", "{d}/long.toml"], "{d}/long.toml:2: invalid TOML"),
    (["replay", "{d}/r.jsonl", "--config", "{d}/deep.toml"], "{d}/deep.toml:1: invalid TOML"),
    (["config", "check", "{d}/fifo.toml"], "{d}/fifo.toml: not a regular file"),
    (["config", "check", "{d}/slash.toml"], "{d}/slash.toml:1: paths: two entries name the directory '{d}/'; list each directory once\n"),
    (["config", "check", "{d}/alias.toml"], "{d}/alias.toml:4: paths[1].path: '{d}/link' is the directory of paths[0] ('{d}'); probe it once"),
    (["config", "check", "{d}/nul.toml"], '{d}/nul.toml:2: paths[0].path: must not contain a NUL character, got "/tmp/a\\x00b"\nwslwatch'),
    (["config", "check", "{d}/relative.toml"], "{d}/relative.toml:2: paths[0].path: must be an absolute path"),
    (["config", "check", "{d}/loop.toml"], "{d}/loop.toml:2: paths[0].path: '{d}/loop-a' is a loop of symbolic links"),
    (["config", "check", "{d}/header.toml"], "{d}/header.toml:4: colectors: unknown key"),
    (["config", "check", "{d}/tls.toml"], "{d}/tls.toml:2: exporter.certfile: cannot use {d}/missing.pem for HTTPS: No such file"),
    (["config", "check", "{d}/port.toml"], "{d}/port.toml:2: exporter.port: must be a whole number, got true"),
    (["run", "--headless", "--port", "70000"], "argument --port: must be from 0 to 65535, got 70000"),
    (["run", "--headless", "--port", "-1"], "argument --port: must be from 0 to 65535, got -1"),
    (["record", "{d}/r.jsonl", "--port", "http"], "argument --port: must be a whole number from 0 to 65535"),
    (["run", "--headless", "--bind", "myhost.invalid"], "argument --bind: must be an IP address to bind"),
    (["config", "check", "{d}/bind.toml"], f"{{d}}/bind.toml:2: exporter.bind: '{ADDRESS_NOT_HERE}' is not an address of this machine"),
    (["config", "hash-password", "--iterations", "99999999999"], "--iterations must be a whole number from 1000 to 10000000"),
    (["config", "check", "{d}/rounds.toml"], "{d}/rounds.toml:1: exporter.basic_auth_users: prometheus: iterations must be a whole number from 1000 to 10000000"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(argv[:2]) + ":" + m[:30] for argv, m in CASES])
def test_a_bad_input_is_refused_with_exit_2_and_named(files: Path, argv: list[str], message: str) -> None:
    refused(wslwatch(*(a.format(d=files) for a in argv), stdin="pw\n"), message.format(d=files))


def test_an_address_not_on_this_machine_stops_run_with_exit_2_and_a_line_in_the_log(own_state_dir: Path) -> None:
    done = wslwatch("run", "--headless", "--bind", ADDRESS_NOT_HERE, "--port", "0")
    refused(done, f"cannot serve /metrics: {ADDRESS_NOT_HERE} is not an address of this machine")
    log = (own_state_dir / "wslwatch" / "log" / "wslwatch.log").read_text()
    assert f"not started: cannot serve /metrics: {ADDRESS_NOT_HERE} is not an address" in log


def interval_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every `interval_s` the schema has, as dotted keys (`[[paths]]` as `paths[0]`)."""
    keys = []
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            keys += interval_keys(typing.cast(type, hint), f"{prefix}{f.name}.")
        elif typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
            keys += interval_keys(typing.get_args(hint)[0], f"{prefix}{f.name}[0].")
        elif f.name == "interval_s":
            keys.append(prefix + f.name)
    return keys


def toml_setting(key: str, value: str) -> str:
    table, _, name = key.rpartition(".")
    if table.endswith("[0]"):
        return f'[[{table[:-3]}]]\npath = "/tmp"\n{name} = {value}\n'
    return f"[{table}]\n{name} = {value}\n"


def test_every_interval_is_found() -> None:
    """The walk below sees the intervals a user sets most (so a rename cannot empty the test)."""
    keys = interval_keys()
    assert {"collectors.gpu.interval_s", "history.interval_s", "paths[0].interval_s"} <= set(keys)
    assert len(keys) >= 8


@pytest.mark.parametrize("value", ["0", "-1", "0.0", "nan", "-inf"])
@pytest.mark.parametrize("key", interval_keys())
def test_no_interval_may_be_zero_or_negative(key: str, value: str) -> None:
    """A zero interval would make the scheduler divide by zero or spin."""
    text = toml_setting(key, value)
    with pytest.raises(ConfigError) as caught:
        load_text(text, "c.toml")
    (problem,) = caught.value.problems
    line = text.splitlines().index(f"{key.rpartition('.')[2]} = {value}") + 1
    assert problem.startswith(f"c.toml:{line}: {key}: must be from "), problem


@pytest.mark.parametrize("value", ["true", "false", '"9477"', "9477.0"])
def test_a_port_must_be_a_whole_number_not_a_boolean(value: str) -> None:
    """In Python `True == 1`: a bool must not pass as a port (nor as any whole number)."""
    with pytest.raises(ConfigError) as caught:
        load_text(f"[exporter]\nport = {value}\n", "c.toml")
    assert caught.value.problems == [f"c.toml:2: exporter.port: must be a whole number, got {value}"]


@pytest.mark.parametrize(("text", "message"), [(DEEP, ":1: invalid TOML: arrays or tables nested too deep"),
                                               (LONG_NUMBER, ":2: invalid TOML: a number too long")])  # fmt: skip
def test_live_reload_survives_a_pathological_edit(tmp_path: Path, text: str, message: str) -> None:
    """An edit that crashed the parser once ended the watching thread: every later edit was lost."""
    path = tmp_path / "c.toml"
    path.write_text("")
    seen = Seen()
    watcher = ConfigWatcher(path, seen.apply, seen.reject, interval_s=0.05)
    watcher.start()
    try:
        path.write_text(text)
        seen.wait()
        ((problem,),) = seen.rejected
        assert problem.startswith(f"{path}{message}"), problem
        path.write_text("[collectors.gpu]\nenabled = false\n")
        seen.wait()
        assert [config.collectors.gpu.enabled for config in seen.applied] == [False]
    finally:
        watcher.stop()


def test_a_config_written_slowly_is_read_once_complete(tmp_path: Path) -> None:
    """An editor that truncates, then writes a line at a time: no half-written file is applied
    (paths dropped for one poll) or rejected; the complete one is applied, once."""
    path = tmp_path / "c.toml"
    path.write_text("")
    lines = [f'[[paths]]\npath = "/tmp/p{i}"\nname = "p{i}"\n' for i in range(40)]
    seen = Seen()
    watcher = ConfigWatcher(path, seen.apply, seen.reject, interval_s=0.25)
    watcher.start()
    try:
        with path.open("w") as file:
            for line in lines:
                file.write(line)
                file.flush()
                time.sleep(0.02)
        seen.wait()
        time.sleep(0.6)  # two more polls: nothing else is reported
    finally:
        watcher.stop()
    assert seen.rejected == []
    assert [len(config.paths) for config in seen.applied] == [40]
