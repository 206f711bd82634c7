"""Reading and validating the TOML configuration, with `FILE:LINE: key: problem` errors."""

from __future__ import annotations

import collections.abc
import dataclasses
import re
import stat
import sys
import typing
from pathlib import Path
from typing import Any

import platformdirs

from wslwatch.config.schema import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ConfigError", "default_config_path", "load", "load_text", "locate"]

#: A wslwatch config is a few KiB: a larger file is the wrong file (or a device such as /dev/zero).
MAX_BYTES = 1 << 20
#: Problems reported one by one; the rest are counted (each is located by a scan of the text).
MAX_PROBLEMS = 20

_TOML_ERROR_AT = re.compile(r"^(?P<what>.*?) \(at line (?P<line>\d+), column \d+\)$")
_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_LONG_NUMBER = re.compile(r"[0-9_]{1000,}")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one `FILE:LINE: key: what` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def default_config_path() -> Path:
    """The per-user config file: e.g. `~/.config/wslwatch/wslwatch.toml` or `%LOCALAPPDATA%\\wslwatch\\`."""
    return Path(platformdirs.user_config_dir("wslwatch", appauthor=False)) / "wslwatch.toml"


def load(path: Path | None) -> Config:
    """Load `path`; with None, the per-user file if it exists, else the built-in defaults."""
    if path is None:
        path = default_config_path()
        if not path.exists():
            return Config()
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read; a directory cannot be read
            raise ConfigError([f"{path}: not a regular file; give the path of a TOML file"])
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_BYTES >> 20} MiB, which no wslwatch config is: is it the right file?"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{path}:{line}: not UTF-8 text; save the file as UTF-8"]) from None
    return load_text(text, str(path))


def load_text(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML `text`; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR_AT.match(str(exc))
        if match:
            raise ConfigError([f"{source}:{match['line']}: invalid TOML: {match['what']}"]) from None
        raise ConfigError([f"{source}: invalid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([_where_line(source, _deepest_line(text)) + " invalid TOML: arrays or tables nested too "
                           "deep to read; no wslwatch key nests more than two levels"]) from None
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        line = next((n for n, t in enumerate(text.splitlines(), start=1) if _LONG_NUMBER.search(t)), None)
        raise ConfigError([_where_line(source, line) + " invalid TOML: a number too long to read; no wslwatch "
                           "setting needs more than a few digits"]) from None
    problems: list[tuple[str, str]] = []
    config: Config = _build(Config, data, "", problems)
    if problems:
        shown = [_where(source, text, key) + f" {key}: {what}" for key, what in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"{source}: {len(problems) - MAX_PROBLEMS} more problems; is this a wslwatch config?")
        raise ConfigError(shown)
    return config


def _where(source: str, text: str, key: str) -> str:
    return _where_line(source, locate(text, key))


def _where_line(source: str, line: int | None) -> str:
    return f"{source}:{line}:" if line else f"{source}:"


def _deepest_line(text: str) -> int | None:
    """The line where `[`/`{` nesting (strings not told apart: a rough guide) is deepest."""
    depth, deepest, where = 0, 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            depth += (char in "[{") - (char in "]}")
            if depth > deepest:
                deepest, where = depth, number
    return where


def locate(text: str, dotted: str) -> int | None:
    """The 1-based line where `dotted` (e.g. `paths[1].interval_s`) is set, or its nearest parent."""
    wanted = dotted
    while wanted:
        line = _find_line(text, wanted)
        if line:
            return line
        parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", wanted)
        if parent == wanted:  # a top-level key that is on no line of its own
            return None
        wanted = parent
    return None


def _find_line(text: str, wanted: str) -> int | None:
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        head = _TABLE.match(line)
        if head:
            name = _normalise(head.group(2))
            if head.group(1) == "[[":
                if name == wanted:  # the array of tables itself: its first table
                    return number
                counts[name] = counts.get(name, -1) + 1
                name = f"{name}[{counts[name]}]"
            table = name
            if table == wanted or table.startswith(wanted + "."):  # (`[colectors.gpu]` for `colectors`)
                return number
            continue
        key = _KEY.match(line)
        if key:
            full = f"{table}.{_normalise(key.group(1))}" if table else _normalise(key.group(1))
            if full == wanted:
                return number
    return None


def _normalise(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def _build(cls: type[Any], data: Any, prefix: str, problems: list[tuple[str, str]]) -> Any:
    """Build dataclass `cls` from a TOML table, appending `(key, what)` for each problem."""
    if not isinstance(data, dict):
        problems.append((prefix.rstrip("."), "must be a table"))
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    known_problems = len(problems)
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in fields:
            allowed = ", ".join(sorted(fields))
            problems.append((name, f"unknown key; allowed here: {allowed}"))
            continue
        converted = _convert(hints[key], value, name, problems)
        if converted is _INVALID:
            continue
        check = fields[key].metadata.get("check")
        wrong = check(converted) if check else None
        if wrong:
            shown = "" if isinstance(value, (dict, list)) else f", got {_show(value)}"  # a table's check names the entry
            problems.append((name, f"{wrong}{shown}"))
            continue
        values[key] = converted
    missing = [k for k, f in fields.items() if k not in values and _required(f)]
    problems.extend((f"{prefix}{key}", "is required") for key in missing if key not in data)  # (else: told why)
    if missing:
        return None
    built = cls(**values)
    cross_check = getattr(built, "cross_check", None)
    if cross_check is not None and len(problems) == known_problems:
        problems.extend((f"{prefix}{key}", what) for key, what in cross_check())
    return built


_INVALID = object()


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _convert(hint: Any, value: Any, name: str, problems: list[tuple[str, str]]) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type[Any], hint), value, name + ".", problems)
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            problems.append((name, f"must be a table, got {_show(value)}"))
            return _INVALID
        item = typing.get_args(hint)[1]
        entries = {key: _convert(item, v, f"{name}.{key}", problems) for key, v in value.items()}
        return _INVALID if any(v is _INVALID for v in entries.values()) else entries
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            problems.append((name, f"must be a list, got {_show(value)}"))
            return _INVALID
        items = [_convert(item, v, f"{name}[{i}]", problems) for i, v in enumerate(value)]
        return _INVALID if any(i is _INVALID for i in items) else tuple(items)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    problems.append((name, f"must be {_TYPE_WORDS[hint]}, got {_show(value)}"))
    return _INVALID


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # (a control character shown as its escape, never raw)
        return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in value) + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)
