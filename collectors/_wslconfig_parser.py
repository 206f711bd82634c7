"""Read `.wslconfig` the way WSL reads it, and say what in it WSL ignores or misreads.

The rules follow WSL's own parser (microsoft/WSL: `src/shared/configfile/configfile.cpp`,
`ParseMemorySize` in `src/shared/inc/stringshared.h`, the key list in
`src/windows/common/WslCoreConfig.h`), so the values here are the ones the VM gets:

- a line is `[section]`, `key = value`, a `#` comment or blank; leading spaces and tabs
  are skipped. Section and key names are a letter then letters/digits, matched
  case-insensitively as `section.key`.
- `;` is NOT a comment: WSL skips a line starting with `;` with a warning, and a `;` after
  a value is part of the value.
- a value ends at the line end or an unquoted `#`; `"` toggles quoting and is removed;
  `\\`, `\\"`, `\\b`, `\\n`, `\\t` are escapes; a `\\` at the line end continues the value;
  any other escape, an unclosed quote, a bad name or a missing `=` makes WSL skip the line.
- a key set twice keeps its first value.
- sizes are decimal digits and an optional unit, upper case only: `B`, `K`/`KB`, `M`/`MB`,
  `G`/`GB`, `T`/`TB`, each a power of 1024 (`8GB` = 8 GiB). `8gb`, `8 GB` and `8GiB` are
  rejected, and then WSL uses its default.
- `autoMemoryReclaim` is read only under `[experimental]`: `gradual`, `dropCache` or
  `disabled` in any case; anything else leaves the default, `dropCache`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MIN_MEMORY_BYTES",
    "Problem",
    "ReclaimMode",
    "Setting",
    "Sizes",
    "WslConfig",
    "decode_wslconfig",
    "effective_sizes",
    "parse_size",
    "parse_wslconfig",
]

ReclaimMode = Literal["gradual", "dropcache", "disabled"]

#: WSL raises a smaller `memory` to this (WslCoreConfig.cpp `Initialize`).
MIN_MEMORY_BYTES = 256 << 20
_GIB = 1 << 30
_DEFAULT_RECLAIM: ReclaimMode = "dropcache"
_RECLAIM_MODES: dict[str, ReclaimMode] = {"gradual": "gradual", "dropcache": "dropcache", "disabled": "disabled"}

# Every key WSL knows (WslCoreConfig.h, microsoft/WSL HEAD 2026-08), by section.
_KNOWN: dict[str, tuple[str, ...]] = {
    "wsl2": (
        "kernel", "kernelCommandLine", "kernelModules", "memory", "processors", "debugConsole",
        "earlyBootLogging", "swap", "swapFile", "localhostForwarding", "nestedVirtualization",
        "virtio9p", "virtiofs", "kernelDebugPort", "gpuSupport", "guiApplications", "systemDistro",
        "telemetry", "vmIdleTimeout", "debugConsoleLogFile", "kernelBootTimeout",
        "distributionStartTimeout", "virtio", "hostFileSystemAccess", "mountDeviceTimeout",
        "hardwarePerformanceCounters", "networkingMode", "vmSwitch", "macAddress", "dhcp",
        "dhcpTimeout", "ipv6", "dnsProxy", "safeMode", "defaultVhdSize", "crashDumpFolder",
        "maxCrashDumpCount", "dnsTunneling", "firewall", "autoProxy", "loadKernelModules",
        "loadDefaultKernelModules", "isolateDistroCgroup",
    ),
    "general": ("distributionInstallPath", "instanceIdleTimeout"),
    "experimental": (
        "networkingMode", "autoMemoryReclaim", "sparseVhd", "dnsTunneling", "bestEffortDnsParsing",
        "dnsTunnelingIpAddress", "firewall", "autoProxy", "initialAutoProxyTimeout", "ignoredPorts",
        "hostAddressLoopback", "setVersionDebug", "swiotlb", "virtioFsAggregateShares",
    ),
}  # fmt: skip
# Keys that left [experimental] and are read under both headers, as ONE setting.
_BOTH_HEADERS = ("networkingMode", "dnsTunneling", "firewall", "autoProxy")
_SIZE_KEYS = frozenset({"wsl2.memory", "wsl2.swap", "wsl2.defaultvhdsize"})
_RECLAIM_KEY = "experimental.automemoryreclaim"
_REMOVED = {"idlethreshold": "idleThreshold was removed from WSL together with pageReporting"}

_SECTION_LINE = re.compile(r"\[([A-Za-z][A-Za-z0-9]*)\][ \t]*(?:#.*)?")
_KEY_START = re.compile(r"([A-Za-z][A-Za-z0-9]*)[ \t]*=[ \t]*")
_SIZE = re.compile(r"([ \t\n\v\f\r]*)([+-]?)([0-9]+)(.*)", re.DOTALL)
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20}
_UNITS |= {"G": 1 << 30, "GB": 1 << 30, "T": 1 << 40, "TB": 1 << 40}
_ESCAPES = {"\\": "\\", '"': '"', "b": "\b", "n": "\n", "t": "\t"}
_MAX_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class Problem:
    """One thing in the file that WSL ignores, misreads or warns about, and its fix."""

    code: str
    line: int | None  # 1-based; None for the file as a whole
    key: str  # `section.key` as written, or "" when no key is involved
    message: str  # what happened and what to do

    def where(self) -> str:
        """`LINE: key` (the parts that apply), for a log line after the file name."""
        return ": ".join(part for part in (str(self.line or ""), self.key) if part)


@dataclass(frozen=True)
class Setting:
    """A key WSL takes from the file: its name as written, its value after unquoting."""

    key: str
    value: str
    line: int


@dataclass(frozen=True)
class WslConfig:
    """What WSL takes from one `.wslconfig`; `None` sizes mean "not set, WSL's default"."""

    settings: tuple[Setting, ...]
    memory_bytes: int | None  # as written; 0 also means "the default" to WSL
    swap_bytes: int | None  # 0 means no swap
    auto_memory_reclaim: ReclaimMode  # the effective mode
    reclaim_section: Literal["experimental", "default"]
    problems: tuple[Problem, ...]

    def instance_idle_timeout_s(self) -> float | None:
        """`[general] instanceIdleTimeout` in seconds (WSL reads whole milliseconds; below zero a
        distro is never stopped for being idle); None when unset or not a whole number."""
        wanted = "general.instanceidletimeout"
        value = next((s.value for s in self.settings if s.key.lower() == wanted), None)
        try:
            return int(value) / 1000 if value is not None else None
        except ValueError:
            return None

    def line_of(self, key: str) -> int | None:
        """The line a known key (`section.key`, any case) was taken from."""
        wanted = key.lower()
        return next((s.line for s in self.settings if s.key.lower() == wanted), None)


@dataclass(frozen=True)
class Sizes:
    """The VM's memory and swap as WSL will size them; `None` where the basis is unknown."""

    memory_bytes: int | None
    swap_bytes: int | None
    problems: tuple[Problem, ...]


def _quote(text: str, limit: int = 60) -> str:
    """`text` in quotes for a message, shortened (a binary line can be long)."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _canonical_keys() -> dict[str, str]:
    canonical = {f"{section}.{key}".lower(): f"{section}.{key}" for section, keys in _KNOWN.items() for key in keys}
    for key in _BOTH_HEADERS:
        canonical[f"experimental.{key}".lower()] = f"wsl2.{key}"
    return canonical


_CANONICAL = _canonical_keys()


def parse_size(text: str) -> int | str:
    """Bytes for a WSL size string, or the reason WSL rejects it (ParseMemorySize rules)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        return f"'{text}' is not a size: write a whole number and a unit, e.g. 8GB or 512MB"
    space, sign, digits, unit = match.groups()
    if int(digits) == 0 and (space or sign or len(digits) > 1):
        return f"'{text}' is not a size WSL reads: write 0"
    if sign == "-":
        return f"'{text}' is negative: write a size such as 8GB"
    if unit not in _UNITS:
        return f"'{text}' is not a size WSL reads: {_unit_advice(digits, unit)}"
    value = int(digits) * _UNITS[unit]
    if value > _MAX_U64:
        return f"'{text}' is too large"
    return value


def _unit_advice(digits: str, unit: str) -> str:
    bare = unit.strip(" \t")
    if bare.upper() in _UNITS and bare.upper():
        fix = f"{int(digits)}{bare.upper()}"
        if bare != unit:
            return f"no spaces around the unit: write {fix}"
        return f"units are upper case only: write {fix}"
    fraction = re.fullmatch(r"\.([0-9]+)([KMGT])B?", bare.upper())
    if fraction is not None:
        amount = float(f"{digits}.{fraction.group(1)}") * 1024
        smaller = {"K": "B", "M": "KB", "G": "MB", "T": "GB"}[fraction.group(2)]
        return f"whole numbers only: use a smaller unit, e.g. {amount:.0f}{smaller}"
    if bare.upper().endswith("IB") and bare.upper()[:-2] + "B" in _UNITS:
        return f"WSL has no {bare}; its {bare.upper()[:-2]}B already means 1024-based: write {int(digits)}{bare.upper()[:-2]}B"
    return "the unit must be B, K or KB, M or MB, G or GB, T or TB (upper case, no space)"


def _read_value(lines: list[str], index: int, start: int) -> tuple[str | None, int, str, bool]:
    """The value on `lines[index]` from `start`: (value or None, lines used, error, has `;` comment)."""
    text, pos, used = lines[index], start, 1
    chars: list[str] = []
    kept = 0  # length without trailing unquoted space
    quoted = semicolon = False
    while pos < len(text):
        ch = text[pos]
        pos += 1
        if ch == '"':
            quoted = not quoted
        elif ch == "\\":
            if pos == len(text):  # a continuation line
                if index + used >= len(lines):
                    return None, used, "the value ends with a lone backslash: remove it", semicolon
                text, pos, used = lines[index + used], 0, used + 1
            else:
                escaped = _ESCAPES.get(text[pos])
                if escaped is None:
                    return None, used, (
                        f"'\\{text[pos]}' is not an escape WSL knows, so WSL skips the line: "
                        "write a Windows path with double backslashes (C:\\\\temp) or forward slashes"
                    ), semicolon
                chars.append(escaped)
                pos += 1
        elif ch == "#" and not quoted:
            break
        else:
            semicolon |= ch == ";" and not quoted and bool(chars) and chars[-1] in " \t"
            chars.append(ch)
        if ch not in " \t":
            kept = len(chars)
    if quoted:
        return None, used, 'a quote (") is not closed, so WSL skips the line: close it', semicolon
    return "".join(chars[:kept]), used, "", semicolon


def _misplaced(section: str, name: str, line: int) -> Problem:
    """The problem for a key WSL does not know where it stands."""
    full = f"{section}.{name}" if section else name
    lower = name.lower()
    homes = [s for s, keys in _KNOWN.items() if lower in (k.lower() for k in keys)]
    if lower == "automemoryreclaim" and section.lower() == "wsl2":
        return Problem("reclaim_in_wsl2_section", line, full, (
            "WSL reads autoMemoryReclaim only under [experimental]; under [wsl2] it is ignored and the "
            "default (dropCache) applies: move the line under an [experimental] header"
        ))  # fmt: skip
    if lower == "pagereporting":
        return Problem("page_reporting_deprecated", line, full, (
            "WSL no longer reads pageReporting (removed from WSL's settings; WSL warns 'Unknown key'): "
            "delete the line; to give cached memory back to Windows use autoMemoryReclaim under [experimental]"
        ))  # fmt: skip
    if lower in _REMOVED:
        advice = f"{_REMOVED[lower]}: delete the line"
    elif not section:
        home = homes[0] if homes else "wsl2"
        advice = f"it stands before any [section] header, so WSL ignores it: put it under [{home}]"
    elif section.lower() not in _KNOWN:
        guess = difflib.get_close_matches(section.lower(), list(_KNOWN), n=1)
        hint = f" (did you mean [{guess[0]}]?)" if guess else ""
        advice = f"[{section}] is not a section WSL knows{hint}, so WSL ignores {name}: fix the header"
    elif homes:
        advice = f"it belongs under [{homes[0]}], not [{section}]; WSL ignores it here: move it"
    else:
        names = list(_KNOWN[section.lower()])
        guess = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        hint = f": did you mean {guess[0]}?" if guess else ": check the spelling or delete the line"
        advice = f"WSL has no setting {name} under [{section}] and ignores it{hint}"
    return Problem("unknown_key", line, full, advice)


def parse_wslconfig(text: str) -> WslConfig:
    """Everything WSL takes from `text` (a decoded `.wslconfig`), and every problem, by line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: list[Problem] = []
    taken: dict[str, Setting] = {}
    section = ""
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].lstrip(" \t")
        index += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            match = _SECTION_LINE.fullmatch(line)
            if match is None:
                problems.append(Problem("invalid_line", number, "", (
                    f"{_quote(line)} is not a section header WSL reads, so WSL skips it and the keys below stay in "
                    f"[{section or 'no section'}]: write [name], letters and digits only, e.g. [wsl2]"
                )))  # fmt: skip
            else:
                section = match.group(1)
            continue
        if line.startswith(";"):
            problems.append(Problem("semicolon_comment", number, "", (
                "WSL comments start with #, not ;: WSL skips this line with an 'invalid key' warning: "
                "use # instead"
            )))  # fmt: skip
            continue
        match = _KEY_START.match(line)
        if match is None:
            problems.append(Problem("invalid_line", number, "", (
                f"{_quote(line)} is not 'key = value' with a name of letters and digits, so WSL skips it: "
                "fix or delete the line"
            )))  # fmt: skip
            continue
        name = match.group(1)
        full = f"{section}.{name}" if section else name
        indent = len(lines[number - 1]) - len(line)
        value, used, error, semicolon = _read_value(lines, number - 1, indent + match.end())
        index += used - 1
        if semicolon:
            problems.append(Problem("semicolon_comment", number, full, (
                "; does not start a comment in .wslconfig, so WSL reads it as part of the value: "
                "use # for the comment"
            )))  # fmt: skip
        if value is None:
            problems.append(Problem("invalid_line", number, full, error))
            continue
        canonical = _CANONICAL.get(full.lower())
        if canonical is None:
            problems.append(_misplaced(section, name, number))
            continue
        first = taken.get(canonical.lower())
        if first is not None:
            problems.append(Problem("duplicate_key", number, full, (
                f"set again; WSL keeps the first value (line {first.line}) and ignores this one: delete one of them"
            )))  # fmt: skip
            continue
        taken[canonical.lower()] = Setting(full, value, number)
    return _interpret(tuple(taken.values()), problems)


def _interpret(settings: tuple[Setting, ...], problems: list[Problem]) -> WslConfig:
    sizes: dict[str, int] = {}
    mode = _DEFAULT_RECLAIM
    section: Literal["experimental", "default"] = "default"
    for setting in settings:
        key = setting.key.lower()
        if key == _RECLAIM_KEY:
            section = "experimental"
            known = _RECLAIM_MODES.get(setting.value.lower())
            if known is None:
                problems.append(Problem("unknown_reclaim_value", setting.line, setting.key, (
                    f"'{setting.value}' is not a mode, so WSL uses its default, dropCache: "
                    "write gradual, dropCache or disabled"
                )))  # fmt: skip
            else:
                mode = known
        elif key in _SIZE_KEYS:
            parsed = parse_size(setting.value)
            if isinstance(parsed, str):
                problems.append(Problem("bad_size", setting.line, setting.key, f"{parsed}; until then WSL uses its default"))
            else:
                sizes[key] = parsed
    return WslConfig(
        settings=settings,
        memory_bytes=sizes.get("wsl2.memory"),
        swap_bytes=sizes.get("wsl2.swap"),
        auto_memory_reclaim=mode,
        reclaim_section=section,
        problems=tuple(sorted(problems, key=lambda p: (p.line or 0, p.code))),
    )


def effective_sizes(config: WslConfig, host_total_bytes: int | None, default_memory_bytes: int | None) -> Sizes:
    """The VM's memory and swap as WSL sizes them (WslCoreConfig.cpp `Initialize`).

    Memory: the file's value raised to 256 MB and capped at `host_total_bytes` (when known);
    absent or 0 means `default_memory_bytes`. Swap: the file's value (0 = none), else a
    quarter of that memory rounded up to a whole GiB.
    """
    problems: list[Problem] = []
    memory = config.memory_bytes or default_memory_bytes
    if config.memory_bytes:
        line, key = config.line_of("wsl2.memory"), "wsl2.memory"
        if config.memory_bytes < MIN_MEMORY_BYTES:
            memory = MIN_MEMORY_BYTES
            problems.append(Problem("memory_out_of_range", line, key, (
                f"{config.memory_bytes} bytes is below WSL's minimum, so the VM gets 256MB: write 256MB or more"
            )))  # fmt: skip
        elif host_total_bytes is not None and config.memory_bytes > host_total_bytes:
            memory = host_total_bytes
            problems.append(Problem("memory_out_of_range", line, key, (
                f"more than this machine's {host_total_bytes / _GIB:.1f} GiB of RAM, so WSL caps the VM at "
                "all of it and Windows can be starved: write a smaller memory"
            )))  # fmt: skip
    swap = config.swap_bytes
    if swap is None and memory is not None:
        swap = (memory // 4 + _GIB - 1) // _GIB * _GIB
    return Sizes(memory, swap, tuple(problems))


def decode_wslconfig(data: bytes, truncated: bool = False) -> tuple[str, tuple[Problem, ...]]:
    """Text of a `.wslconfig` as WSL decodes it (UTF-8; a UTF-8 or UTF-16LE BOM wins), and problems.

    `truncated` says `data` is only the start of a larger file: its last, partial line is
    dropped and a `file_too_large` problem added.
    """
    problems: list[Problem] = []
    if truncated:
        problems.append(Problem("file_too_large", None, "", (
            f"the file is larger than {len(data)} bytes, far beyond any real .wslconfig, and wslwatch read only "
            "its start: check that the path points at your .wslconfig"
        )))  # fmt: skip
    if data.startswith(b"\xff\xfe"):  # Notepad's "Unicode"; WSL reads it (ccs=UTF-8 honours the BOM)
        text = data[2 : len(data) - len(data) % 2].decode("utf-16-le", errors="replace")
        return (text[: text.rfind("\n") + 1] if truncated else text), tuple(problems)
    if data.startswith(b"\xfe\xff"):
        problems.append(Problem("bad_encoding", None, "", (
            "the file is UTF-16 big-endian, which WSL cannot read, so WSL uses its defaults: save it as UTF-8"
        )))  # fmt: skip
        return "", tuple(problems)
    if b"\x00" in data:
        problems.append(Problem("bad_encoding", None, "", (
            "the file holds NUL bytes (UTF-16 without a byte-order mark, or not text at all), so WSL reads "
            "nothing from it and uses its defaults: save it as UTF-8"
        )))  # fmt: skip
        return "", tuple(problems)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if truncated:
        body = body[: body.rfind(b"\n") + 1]
    try:
        return body.decode("utf-8"), tuple(problems)
    except UnicodeDecodeError as exc:
        problems.append(Problem("bad_encoding", body.count(b"\n", 0, exc.start) + 1, "", (
            "the file is not UTF-8 (e.g. saved as ANSI), so WSL may misread its non-ASCII text: save it as UTF-8"
        )))  # fmt: skip
        return body.decode("utf-8", errors="replace"), tuple(problems)
