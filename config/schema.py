"""The configuration's shape and defaults: every setting has a built-in default.

Each dataclass field is one TOML key. `metadata["check"]` validates a value and returns
what is wrong (or None); `metadata["doc"]` is the one-line meaning shown by `config show`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "CollectorConfig",
    "CollectorsConfig",
    "Config",
    "ExporterConfig",
    "GpuConfig",
    "IoLatencyConfig",
    "PathConfig",
    "VmmemConfig",
    "WslGuestConfig",
    "WslconfigConfig",
]

Check = Callable[[Any], "str | None"]


def _between(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be from {low:g} to {high:g}"

    return check


def _host(value: Any) -> str | None:
    if value in ("localhost", ""):
        return None if value else "must be an IP address to bind, e.g. 127.0.0.1"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IP address to bind, e.g. 127.0.0.1 (loopback) or 0.0.0.0 (all)"
    return None


def _non_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def _distinct_paths(value: Any) -> str | None:
    seen: set[str] = set()
    for entry in value:
        if entry is None:  # an entry with its own problem, reported already
            continue
        label = entry.name or entry.path
        if label in seen:
            return f"two entries are both called {label!r}; give each path its own name"
        seen.add(label)
    return None


def _key(doc: str, check: Check | None = None) -> dict[str, Any]:
    return {"doc": doc, "check": check}


@dataclass(frozen=True)
class CollectorConfig:
    """Settings every collector has."""

    enabled: bool = field(default=True, metadata=_key("run this collector"))
    interval_s: float = field(
        default=15.0, metadata=_key("seconds between two collections", _between(0.1, 86400))
    )
    timeout_s: float = field(
        default=10.0,
        metadata=_key("a collection still running after this many seconds is abandoned", _between(0.1, 3600)),
    )


@dataclass(frozen=True)
class VmmemConfig(CollectorConfig):
    process_names: tuple[str, ...] = field(
        default=("vmmemWSL", "vmmem"),
        metadata=_key("names of the WSL VM process, first match wins (case-insensitive)", _non_empty),
    )


@dataclass(frozen=True)
class WslGuestConfig(CollectorConfig):
    interval_s: float = field(
        default=30.0, metadata=_key("seconds between two collections", _between(0.1, 86400))
    )
    proc_root: str = field(default="/proc", metadata=_key("where the guest's /proc is read", _non_empty))
    distro: str = field(default="", metadata=_key("WSL distro read from Windows; empty: the default distro"))


@dataclass(frozen=True)
class GpuConfig(CollectorConfig):
    per_process: bool = field(
        default=False, metadata=_key("export per-process VRAM where NVML reports it (not under WDDM)")
    )


@dataclass(frozen=True)
class WslconfigConfig(CollectorConfig):
    interval_s: float = field(
        default=60.0, metadata=_key("seconds between two collections", _between(0.1, 86400))
    )
    path: str = field(
        default="",
        metadata=_key(".wslconfig to read; empty: %USERPROFILE%\\.wslconfig (found through interop inside WSL)"),
    )


@dataclass(frozen=True)
class IoLatencyConfig:
    """How the directories under [[paths]] are probed (each on its own interval_s)."""

    enabled: bool = field(default=True, metadata=_key("probe the directories listed under [[paths]]"))
    samples: int = field(
        default=5, metadata=_key("timed samples of each operation per probe, after one warmup", _between(1, 100))
    )
    sample_gap_s: float = field(
        default=0.02, metadata=_key("pause between two timed operations, in seconds", _between(0, 5))
    )
    deadline_s: float = field(
        default=20.0,
        metadata=_key(
            "a probe still running after this many seconds (at most 80 % of the path's interval_s) "
            "marks its path stalled and its process is killed",
            _between(0.5, 3600),
        ),
    )
    max_bytes_per_s: int = field(
        default=2048,
        metadata=_key(
            "file data one path's probes may move, averaged over its interval_s (0: no cap)", _between(0, 1 << 30)
        ),
    )


@dataclass(frozen=True)
class CollectorsConfig:
    host_memory: CollectorConfig = field(default_factory=CollectorConfig)
    vmmem: VmmemConfig = field(default_factory=VmmemConfig)
    wsl_guest: WslGuestConfig = field(default_factory=WslGuestConfig)
    gpu: GpuConfig = field(default_factory=GpuConfig)
    wslconfig: WslconfigConfig = field(default_factory=WslconfigConfig)
    process: CollectorConfig = field(default_factory=CollectorConfig)
    io_latency: IoLatencyConfig = field(default_factory=IoLatencyConfig)


@dataclass(frozen=True)
class ExporterConfig:
    bind: str = field(default="127.0.0.1", metadata=_key("address /metrics listens on", _host))
    port: int = field(default=9477, metadata=_key("port /metrics listens on (0: any free port)", _between(0, 65535)))


@dataclass(frozen=True)
class PathConfig:
    path: str = field(metadata=_key("directory whose I/O latency is probed", _non_empty))
    name: str = field(default="", metadata=_key("short name shown in the tray and alerts"))
    interval_s: float = field(
        default=60.0, metadata=_key("seconds between two probes of this path", _between(1, 86400))
    )
    data: bool = field(default=False, metadata=_key("training data lives here (cross-OS advice applies)"))


@dataclass(frozen=True)
class Config:
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    collectors: CollectorsConfig = field(default_factory=CollectorsConfig)
    paths: tuple[PathConfig, ...] = field(default=(), metadata=_key("directories to probe", _distinct_paths))
