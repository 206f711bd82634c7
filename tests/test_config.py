"""Config: defaults, the shipped commented file, and `FILE:LINE: key: problem` errors."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from wslwatch.config import Config, ConfigError, load, load_text
from wslwatch.config.loader import locate
from wslwatch.config.schema import PathConfig
from wslwatch.daemon.cli import main
from wslwatch.daemon.cmd_config import default_file_text


def leaf_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    for f in dataclasses.fields(cls):
        hint = f.type if isinstance(f.type, type) else None
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            keys += leaf_keys(type(default), f"{prefix}{f.name}.")
        elif hint is None or not dataclasses.is_dataclass(hint):
            keys.append(f"{prefix}{f.name}")
    return keys


def test_no_file_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load(None)
    assert config == Config()
    assert config.exporter.bind == "127.0.0.1" and config.exporter.port == 9477


def test_the_shipped_file_is_exactly_the_defaults() -> None:
    assert load_text(default_file_text(), "wslwatch.toml") == Config()


def documented_keys(text: str) -> set[str]:
    """`table.key` for every key line, set or commented out (`# key = ...`), under its table."""
    keys, table = set(), ""
    for line in text.splitlines():
        header = re.match(r"#?\s*\[\[?([a-z_.]+)\]\]?\s*(#.*)?$", line)
        if header:
            table = header.group(1)
            continue
        key = re.match(r"#?\s*([a-z_]+)\s*=", line)
        if key and table:
            keys.add(f"{table}.{key.group(1)}")
    return keys


def test_the_shipped_file_documents_every_key_in_its_table_and_no_other() -> None:
    wanted = set(leaf_keys(Config)) - {"paths"} | {f"paths.{f.name}" for f in dataclasses.fields(PathConfig)}
    assert documented_keys(default_file_text()) == wanted


def test_the_key_check_sees_a_key_missing_from_one_table() -> None:
    text = default_file_text()
    vmmem = text.index("[collectors.vmmem]")
    without = text[:vmmem] + text[vmmem:].replace("timeout_s = 10.0\n", "", 1)
    assert documented_keys(text) - documented_keys(without) == {"collectors.vmmem.timeout_s"}


def test_every_problem_is_reported_with_file_line_and_key() -> None:
    text = (
        "[exporter]\n"
        "port = 99999\n"
        'bind = "not-an-ip"\n'
        "[collectors.gpu]\n"
        'interval_s = "fast"\n'
        "bogus = 1\n"
        "[[paths]]\n"
        'name = "data"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_text(text, "my.toml")
    assert err.value.problems == [
        "my.toml:2: exporter.port: must be from 0 to 65535, got 99999",
        'my.toml:3: exporter.bind: must be an IP address to bind, e.g. 127.0.0.1 (loopback) or 0.0.0.0 (all), got "not-an-ip"',
        'my.toml:5: collectors.gpu.interval_s: must be a number, got "fast"',
        "my.toml:6: collectors.gpu.bogus: unknown key; allowed here: enabled, interval_s, per_process, timeout_s",
        "my.toml:7: paths[0].path: is required",
    ]


def test_type_errors_name_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as err:
        load_text('[collectors.vmmem]\nprocess_names = "vmmemWSL"\nenabled = 1\n', "c.toml")
    assert err.value.problems == [
        'c.toml:2: collectors.vmmem.process_names: must be a list, got "vmmemWSL"',
        "c.toml:3: collectors.vmmem.enabled: must be true or false, got 1",
    ]


def test_invalid_toml_points_at_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        load_text("[exporter]\nport = = 3\n", "x.toml")
    assert err.value.problems[0].startswith("x.toml:2: invalid TOML: ")


def test_a_file_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[exporter]\nbind = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems == [f"{path}:2: not UTF-8 text; save the file as UTF-8"]


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[exporter]\nport = 9500\n".encode())
    assert load(path).exporter.port == 9500


def test_paths_and_integers_for_floats() -> None:
    config = load_text('[collectors.gpu]\ninterval_s = 5\n[[paths]]\npath = "/data"\ndata = true\n')
    assert config.collectors.gpu.interval_s == 5.0
    assert config.paths[0].path == "/data" and config.paths[0].data is True


def test_locate_finds_dotted_and_array_keys() -> None:
    text = '[[paths]]\npath = "/a"\n\n[[paths]]\npath = "/b"\ninterval_s = 0\n'
    assert locate(text, "paths[1].interval_s") == 6
    assert locate(text, "paths[1].name") == 4  # an absent key points at its table


def test_config_check_exits_non_zero_with_the_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[exporter]\nport = -1\n")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: exporter.port: must be from 0 to 65535, got -1" in err
    assert "1 problem(s)" in err


@pytest.mark.parametrize(
    ("value", "problem"),
    [("-1", "must be from 0 to 86400, got -1"), ("90000", "must be from 0 to 86400, got 90000"),
     ('"1m"', 'must be a number, got "1m"')],
)  # fmt: skip
def test_a_bad_holders_interval_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f"[collectors.wsl_guest]\nholders_top_n = 5\nholders_interval_s = {value}\n")
    assert main(["config", "check", str(bad)]) == 2
    assert f"{bad}:3: collectors.wsl_guest.holders_interval_s: {problem}" in capsys.readouterr().err


def test_config_init_writes_then_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sub" / "wslwatch.toml"
    assert main(["config", "init", str(target)]) == 0
    assert target.read_text() == default_file_text()
    target.write_text("# mine\n")
    assert main(["config", "init", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "# mine\n"  # nothing lost
    assert main(["config", "check", str(target)]) == 0


def test_config_show_prints_the_effective_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[exporter]\nport = 9999\n")
    assert main(["config", "show", "--config", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["exporter"] == {
        "bind": "127.0.0.1",
        "port": 9999,
        "certfile": "",
        "keyfile": "",
        "basic_auth_users": {},
    }
    assert shown["collectors"]["vmmem"]["process_names"] == ["vmmemWSL", "vmmem"]
