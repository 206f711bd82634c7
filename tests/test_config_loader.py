"""The loader's limits and messages: files too large or missing, TOML too deep or with a number
too long, many problems at once, tables of users, and control characters in what it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from wslwatch.config import Config, ConfigError, load, load_text
from wslwatch.exporters.auth import hash_password


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "x.toml")
    return caught.value.problems


def test_a_file_of_one_mib_is_read_and_a_larger_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"#" * (2**20 - 1) + b"\n")  # a comment of exactly 1 MiB
    assert load(path) == Config()
    path.write_bytes(b"#" * 2**20 + b"\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.problems == [f"{path}: larger than 1 MiB, which no wslwatch config is: is it the right file?"]


def test_a_missing_file_is_named_with_why(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(ConfigError) as caught:
        load(missing)
    assert caught.value.problems == [f"{missing}: cannot read the config file: No such file or directory"]


def test_a_number_too_long_to_read_is_named_with_its_line() -> None:
    assert problems_of("[exporter]\n\nport = " + "9" * 5000 + "\n") == [
        "x.toml:3: invalid TOML: a number too long to read; no wslwatch setting needs more than a few digits"
    ]


def test_toml_nested_too_deep_is_named_at_its_deepest_line() -> None:
    text = "[exporter]\n# a [ in a comment counts too: a rough guide\nport = " + "[" * 5000 + "\n" + "]" * 5000 + "\n"
    (problem,) = problems_of(text)
    assert problem.startswith("x.toml:3: invalid TOML: arrays or tables nested too deep to read")


def test_after_twenty_problems_the_rest_are_counted() -> None:
    assert len(problems_of("".join(f"unknown_{i} = 1\n" for i in range(20)))) == 20  # no count of none
    problems = problems_of("".join(f"unknown_{i} = 1\n" for i in range(25)))
    assert len(problems) == 21 and problems[19].startswith("x.toml:20: unknown_19: unknown key")
    assert problems[20] == "x.toml: 5 more problems; is this a wslwatch config?"


def test_a_table_of_users_is_read_entry_by_entry() -> None:
    hashed = hash_password("pw", 1000)
    config = load_text(f'[exporter.basic_auth_users]\nprometheus = "{hashed}"\n')
    assert config.exporter.basic_auth_users == {"prometheus": hashed}
    assert problems_of("[exporter.basic_auth_users]\nprometheus = 7\n") == [
        "x.toml:2: exporter.basic_auth_users.prometheus: must be a string, got 7"
    ]


def test_control_characters_are_shown_escaped() -> None:
    assert problems_of('[tray]\ngrafana_url = "x\\u0001y"\n') == [
        'x.toml:2: tray.grafana_url: must be empty or an http:// or https:// address, e.g. '
        'http://localhost:3000/d/wslwatch, got "x\\x01y"'
    ]


def test_bind_takes_an_address_or_localhost_never_nothing() -> None:
    assert load_text('[exporter]\nbind = "localhost"\n').exporter.bind == "localhost"
    assert problems_of('[exporter]\nbind = ""\n') == [
        'x.toml:2: exporter.bind: must be an IP address to bind, e.g. 127.0.0.1, got ""'
    ]


def test_a_directory_listed_twice_is_found_past_an_entry_without_a_path() -> None:
    text = '[[paths]]\nname = "a"\n\n[[paths]]\npath = "/data"\n\n[[paths]]\npath = "/data/"\nname = "b"\n'
    assert problems_of(text) == [
        "x.toml:1: paths[0].path: is required",
        "x.toml:1: paths: two entries name the directory '/data/'; list each directory once",
    ]
