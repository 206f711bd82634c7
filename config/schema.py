"""The configuration's shape and defaults: every setting has a built-in default.

Each dataclass field is one TOML key. `metadata["check"]` validates a value and returns
what is wrong (or None); `metadata["doc"]` is the one-line meaning shown by `config show`.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from wslwatch.histogram import BUCKETED_OPS
from wslwatch.password_hash import hash_problem

__all__ = [
    "bind_problem",
    "AlertsConfig",
    "CollectorConfig",
    "CollectorsConfig",
    "Config",
    "ExporterConfig",
    "GpuConfig",
    "GpuHoldersConfig",
    "FillingConfig",
    "GuestMemoryFillingConfig",
    "GuestMemoryLowConfig",
    "GuestSwapThrashConfig",
    "HistoryConfig",
    "HostMemoryConfig",
    "HostMemoryLowConfig",
    "IoLatencyConfig",
    "PathConfig",
    "PathCrossOsConfig",
    "PathSlowConfig",
    "PathStalledConfig",
    "ReclaimConfig",
    "ReclaimDisabledBloatConfig",
    "ReclaimGateBlockedConfig",
    "ReclaimStalledConfig",
    "RuleConfig",
    "RuleTiming",
    "RulesConfig",
    "TrayConfig",
    "VmNotReleasingConfig",
    "VramFillingConfig",
    "VmmemConfig",
    "VramHeldIdleConfig",
    "VramHighConfig",
    "WslGuestConfig",
    "WslVersionConfig",
    "WslconfigConfig",
    "WslconfigProblemConfig",
]

Check = Callable[[Any], "str | None"]


def _between(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be from {low:g} to {high:g}"

    return check


def bind_problem(value: Any) -> str | None:
    """What is wrong with `value` as an address to listen on, or None."""
    if value in ("localhost", ""):
        return None if value else "must be an IP address to bind, e.g. 127.0.0.1"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IP address to bind, e.g. 127.0.0.1 (loopback) or 0.0.0.0 (all)"
    return None


def _non_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def _web_url(value: Any) -> str | None:
    if value == "" or str(value).startswith(("http://", "https://")):
        return None
    return "must be empty or an http:// or https:// address, e.g. http://localhost:3000/d/wslwatch"


def _distinct_paths(value: Any) -> str | None:
    seen: set[str] = set()
    directories: set[str] = set()
    for entry in value:
        if entry is None:  # an entry with its own problem, reported already
            continue
        label = entry.name or entry.path
        if label in seen:
            return f"two entries are both called {label!r}; give each path its own name"
        seen.add(label)
        directory = os.path.normcase(os.path.normpath(os.path.expanduser(entry.path)))
        if directory in directories:  # `/tmp` and `/tmp/`: one series, one probe area, for two names
            return f"two entries name the directory {entry.path!r}; list each directory once"
        directories.add(directory)
    return None


def _probe_path(value: Any) -> str | None:
    if not value:
        return "must not be empty"
    if "\0" in value:
        return "must not contain a NUL character"
    if not os.path.isabs(os.path.expanduser(value)):
        return "must be an absolute path (or start with ~), e.g. /mnt/data"
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


_FROM_WINDOWS = "inside WSL: read it from Windows through interop (one powershell.exe run per minute, shared)"


@dataclass(frozen=True)
class HostMemoryConfig(CollectorConfig):
    from_windows: bool = field(default=False, metadata=_key(_FROM_WINDOWS))


@dataclass(frozen=True)
class VmmemConfig(CollectorConfig):
    process_names: tuple[str, ...] = field(
        default=("vmmemWSL", "vmmem"),
        metadata=_key("names of the WSL VM process, first match wins (case-insensitive)", _non_empty),
    )
    from_windows: bool = field(default=False, metadata=_key(_FROM_WINDOWS))


@dataclass(frozen=True)
class WslGuestConfig(CollectorConfig):
    interval_s: float = field(
        default=30.0, metadata=_key("seconds between two collections", _between(0.1, 86400))
    )
    proc_root: str = field(default="/proc", metadata=_key("where the guest's /proc is read", _non_empty))
    distro: str = field(default="", metadata=_key("WSL distro read through from Windows while it runs; empty or stopped: the first running one"))
    holders_top_n: int = field(
        default=5,
        metadata=_key("largest holders exported per kind (processes, cgroups), plus a rest; 0: none", _between(0, 100)),
    )
    holders_interval_s: float = field(
        default=120.0,
        metadata=_key("seconds between two reads of the holders (on the collection nearest each turn; the last "
                      "ones are exported in between); 0: every collection", _between(0, 86400)),
    )  # fmt: skip
    cgroup_root: str = field(
        default="/sys/fs/cgroup", metadata=_key("where the guest's cgroups are mounted", _non_empty)
    )


@dataclass(frozen=True)
class GpuConfig(CollectorConfig):
    per_process: bool = field(
        default=False, metadata=_key("export per-process VRAM where NVML reports it (not under WDDM)")
    )


@dataclass(frozen=True)
class GpuHoldersConfig(CollectorConfig):
    enabled: bool = field(
        default=False, metadata=_key("Windows only: read who holds each GPU's memory from the GPU performance counters")
    )
    top_n: int = field(
        default=5,
        metadata=_key("largest VRAM holders exported per GPU and kind (dedicated, shared), plus a rest", _between(0, 100)),
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
class WslVersionConfig(CollectorConfig):
    interval_s: float = field(
        default=600.0, metadata=_key("seconds between two collections", _between(0.1, 86400))
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
    host_memory: HostMemoryConfig = field(default_factory=HostMemoryConfig)
    vmmem: VmmemConfig = field(default_factory=VmmemConfig)
    wsl_guest: WslGuestConfig = field(default_factory=WslGuestConfig)
    gpu: GpuConfig = field(default_factory=GpuConfig)
    gpu_holders: GpuHoldersConfig = field(default_factory=GpuHoldersConfig)
    wslconfig: WslconfigConfig = field(default_factory=WslconfigConfig)
    wsl_version: WslVersionConfig = field(default_factory=WslVersionConfig)
    process: CollectorConfig = field(default_factory=CollectorConfig)
    io_latency: IoLatencyConfig = field(default_factory=IoLatencyConfig)


@dataclass(frozen=True)
class ExporterConfig:
    bind: str = field(default="127.0.0.1", metadata=_key("address /metrics listens on", bind_problem))
    port: int = field(default=9477, metadata=_key("port /metrics listens on (0: any free port)", _between(0, 65535)))
    certfile: str = field(default="", metadata=_key("PEM certificate (chain) for HTTPS; empty: plain HTTP"))
    keyfile: str = field(default="", metadata=_key("PEM private key of certfile; empty: the key is inside certfile"))
    basic_auth_users: Mapping[str, str] = field(
        default_factory=dict,
        metadata=_key("user = password hash (`wslwatch config hash-password`); empty: no password", hash_problem),
    )


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool = field(default=True, metadata=_key("keep a rolling record of samples for `wslwatch report`"))
    interval_s: float = field(default=15.0, metadata=_key("seconds between two recorded moments", _between(1, 3600)))
    max_mb: float = field(default=32.0, metadata=_key("MiB per history file; two files are kept", _between(1, 4096)))


@dataclass(frozen=True)
class PathConfig:
    path: str = field(metadata=_key("directory whose I/O latency is probed", _probe_path))
    name: str = field(default="", metadata=_key("short name shown in the tray and alerts"))
    interval_s: float = field(
        default=60.0, metadata=_key("seconds between two probes of this path", _between(1, 86400))
    )
    data: bool = field(default=False, metadata=_key("training data lives here (cross-OS advice applies)"))


@dataclass(frozen=True)
class TrayConfig:
    grafana_url: str = field(
        default="", metadata=_key("dashboard the tray menu opens; empty: no Grafana item", _web_url)
    )
    update_s: float = field(
        default=5.0, metadata=_key("seconds between two redraws of the tray icon and menu", _between(0.1, 3600))
    )


@dataclass(frozen=True)
class AlertsConfig:
    renotify_s: float = field(
        default=1800.0,
        metadata=_key("repeat the notification of a still-firing alert this often; 0: never", _between(0, 604800)),
    )


def _severity(value: Any) -> str | None:
    return None if value in ("info", "warning", "critical") else 'must be "info", "warning" or "critical"'


def _seconds(default: float, doc: str) -> Any:
    return field(default=default, metadata=_key(doc, _between(0, 86400)))


def _share(default: float, doc: str) -> Any:
    return field(default=default, metadata=_key(doc, _between(0, 1)))


def _amount(default: float, doc: str) -> Any:
    return field(default=default, metadata=_key(doc, _between(0, 1e6)))


def _below(config: Any, low: str, high: str) -> list[tuple[str, str]]:
    """`low` must stay below `high` (a hysteresis band)."""
    a, b = getattr(config, low), getattr(config, high)
    return [] if a < b else [(low, f"must be below {high} ({b:g}), got {a:g}")]


def _severity_key(default: str) -> Any:
    return field(default=default, metadata=_key("info, warning or critical", _severity))


@dataclass(frozen=True)
class RuleTiming:
    """Settings every alert rule has."""

    enabled: bool = field(default=True, metadata=_key("evaluate this rule"))
    for_s: float = _seconds(0.0, "seconds the condition must hold before the alert fires")
    clear_for_s: float = _seconds(300.0, "seconds the condition must be gone before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        """Problems between keys (e.g. a clear line above its firing line): `(key, what)`."""
        return []


@dataclass(frozen=True)
class RuleConfig(RuleTiming):
    """A rule with one severity."""

    severity: str = _severity_key("warning")


@dataclass(frozen=True)
class VramHighConfig(RuleTiming):
    """Two severities, each with its own line and time."""

    warning: float = _share(0.90, "share of VRAM in use (1 - free/total) that raises a warning")
    for_s: float = _seconds(60.0, "seconds at or above `warning` before the warning fires")
    critical: float = _share(0.97, "share of VRAM in use that raises a critical alert")
    critical_for_s: float = _seconds(30.0, "seconds at or above `critical` before it fires")
    clear: float = _share(0.85, "the warning clears below this share; the critical alert below `warning`")
    clear_for_s: float = _seconds(120.0, "seconds below the clear line before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "clear", "warning") + _below(self, "warning", "critical")


@dataclass(frozen=True)
class VramHeldIdleConfig(RuleConfig):
    min_held_gib: float = _amount(1.0, "GiB above the GPU's idle baseline (lowest use in 24 h) that counts as held")
    min_held_ratio: float = _share(0.15, "share of total VRAM above the idle baseline that counts as held")
    flat_mib: float = _amount(256.0, "MiB the held memory may move and still count as unchanged")
    flat_window_s: float = _seconds(120.0, "seconds over which the held memory must be unchanged")
    max_utilization: float = _share(0.05, "GPU utilization at or below which the GPU counts as idle")
    for_s: float = _seconds(600.0, "seconds held while idle before the alert fires")
    clear_for_s: float = _seconds(120.0, "seconds released before the alert resolves")


@dataclass(frozen=True)
class ReclaimStalledConfig(RuleConfig):
    min_cache_gib: float = _amount(1.0, "guest reclaimable cache (GiB) below which nothing is left to reclaim")
    dropcache_min_drop: float = _share(0.5, "share of the cache dropCache mode must have freed after its delay")
    gradual_min_drop: float = _share(0.1, "share of the cache gradual mode must have freed after its delay")
    for_s: float = _seconds(
        180.0, "seconds beyond WSL's own idle delay (dropCache 600 s, gradual 180 s) before the alert fires"
    )


@dataclass(frozen=True)
class VmNotReleasingConfig(RuleConfig):
    min_gap_gib: float = _amount(1.5, "GiB the VM process holds beyond the guest's used memory (MemTotal - MemFree)")
    min_gap_ratio: float = _share(0.20, "that gap as a share of the VM's working set (the larger line applies)")
    clear_gap_gib: float = _amount(1.0, "the alert clears when the gap is below this many GiB")
    clear_gap_ratio: float = _share(0.15, "and below this share of the working set")
    for_s: float = _seconds(600.0, "seconds the gap must last before the alert fires")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "clear_gap_gib", "min_gap_gib") + _below(self, "clear_gap_ratio", "min_gap_ratio")


@dataclass(frozen=True)
class ReclaimGateBlockedConfig(RuleConfig):
    min_cache_gib: float = _amount(2.0, "guest reclaimable cache (GiB) worth reclaiming")
    min_cache_ratio: float = _share(0.25, "or this share of guest MemTotal, whichever is larger")
    max_cpu: float = _share(0.05, "guest CPU busy share up to which the guest still looks idle to a person")
    for_s: float = _seconds(1800.0, "seconds the guest must stay just above WSL's idle gate before the alert fires")


@dataclass(frozen=True)
class ReclaimDisabledBloatConfig(RuleConfig):
    severity: str = _severity_key("info")
    min_vm_ratio: float = _share(0.40, "share of host RAM held by the WSL VM that raises the advice")
    clear_vm_ratio: float = _share(0.35, "share of host RAM below which the advice clears")
    for_s: float = _seconds(1800.0, "seconds the VM must hold that much before the advice fires")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "clear_vm_ratio", "min_vm_ratio")


@dataclass(frozen=True)
class HostMemoryLowConfig(RuleConfig):
    severity: str = _severity_key("critical")
    available_ratio: float = _share(0.10, "share of host RAM available at or below which the alert starts")
    clear_available_ratio: float = _share(0.15, "share of host RAM available above which it clears")
    min_vm_ratio: float = _share(0.25, "only while the WSL VM holds at least this share of host RAM")
    for_s: float = _seconds(120.0, "seconds low before the alert fires")
    clear_for_s: float = _seconds(120.0, "seconds above the clear line before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "available_ratio", "clear_available_ratio")


@dataclass(frozen=True)
class GuestMemoryLowConfig(RuleConfig):
    available_ratio: float = _share(0.10, "guest MemAvailable/MemTotal below which the alert starts")
    clear_available_ratio: float = _share(0.15, "guest MemAvailable/MemTotal at or above which it clears")
    for_s: float = _seconds(120.0, "seconds low before the alert fires")
    clear_for_s: float = _seconds(120.0, "seconds above the clear line before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "available_ratio", "clear_available_ratio")


@dataclass(frozen=True)
class FillingConfig(RuleConfig):
    """A forecast rule: the least-squares trend of what is left, like PromQL's predict_linear."""

    threshold_s: float = _seconds(600.0, "forecast seconds until full under which the alert starts")
    window_s: float = _seconds(600.0, "seconds of history the trend is fitted over (least squares)")
    min_fall_ratio: float = _share(
        0.02, "least fall over the window, as a share of the total, that is a trend (less: flat, no forecast)"
    )
    min_r_squared: float = _share(
        0.8, "least share of the variance the trend line explains (R²; less: a step or noise, no forecast)"
    )
    max_residual_ratio: float = _share(
        0.05, "largest gap between the trend line and the latest value, as a share of the total (more: no forecast)"
    )
    for_s: float = _seconds(120.0, "seconds the forecast stays under the threshold before the alert fires")
    clear_for_s: float = _seconds(120.0, "seconds without such a forecast before the alert resolves")


@dataclass(frozen=True)
class GuestMemoryFillingConfig(FillingConfig):
    """The guest's MemAvailable trending to 0."""


@dataclass(frozen=True)
class VramFillingConfig(FillingConfig):
    """A GPU's free VRAM trending to 0."""


@dataclass(frozen=True)
class GuestSwapThrashConfig(RuleConfig):
    rate_mib_per_min: float = _amount(64.0, "guest swap-in + swap-out (MiB per minute) that counts as thrashing")
    clear_rate_mib_per_min: float = _amount(32.0, "swap traffic (MiB per minute) below which it clears")
    window_s: float = _seconds(60.0, "seconds over which the swap rate is measured")
    for_s: float = _seconds(120.0, "seconds of thrashing before the alert fires")
    clear_for_s: float = _seconds(120.0, "seconds below the clear line before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "clear_rate_mib_per_min", "rate_mib_per_min")


@dataclass(frozen=True)
class PathCrossOsConfig(RuleConfig):
    severity: str = _severity_key("info")
    clear_for_s: float = _seconds(0.0, "seconds the condition must be gone before the alert resolves")


def _bucketed_ops(value: Any) -> str | None:
    if not value:
        return "must not be empty"
    other = [op for op in value if op not in BUCKETED_OPS]
    return f"has no latency buckets for {', '.join(map(str, other))}; choose from {', '.join(BUCKETED_OPS)}" if other else None


@dataclass(frozen=True)
class PathSlowConfig(RuleConfig):
    ops: tuple[str, ...] = field(
        default=BUCKETED_OPS, metadata=_key("probe operations whose pooled median is judged", _bucketed_ops)
    )
    threshold_s: float = field(
        default=0.010, metadata=_key("median latency (seconds) of those operations that counts as slow", _between(0, 60))
    )
    clear_threshold_s: float = field(
        default=0.005, metadata=_key("median latency (seconds) below which it clears", _between(0, 60))
    )
    for_s: float = _seconds(120.0, "seconds slow before the alert fires (3 probe cycles at 60 s)")
    clear_for_s: float = _seconds(120.0, "seconds fast again before the alert resolves")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "clear_threshold_s", "threshold_s")


@dataclass(frozen=True)
class PathStalledConfig(RuleConfig):
    severity: str = _severity_key("critical")
    for_s: float = _seconds(60.0, "seconds stalled before the alert fires (2 probe cycles at 60 s)")
    clear_for_s: float = _seconds(60.0, "seconds answering again before the alert resolves")


@dataclass(frozen=True)
class WslconfigProblemConfig(RuleConfig):
    clear_for_s: float = _seconds(0.0, "seconds the problem must be gone before the alert resolves")


@dataclass(frozen=True)
class RulesConfig:
    """One table per alert rule (docs/alerts.md)."""

    vram_high: VramHighConfig = field(default_factory=VramHighConfig)
    vram_held_idle: VramHeldIdleConfig = field(default_factory=VramHeldIdleConfig)
    reclaim_stalled: ReclaimStalledConfig = field(default_factory=ReclaimStalledConfig)
    vm_not_releasing: VmNotReleasingConfig = field(default_factory=VmNotReleasingConfig)
    reclaim_gate_blocked: ReclaimGateBlockedConfig = field(default_factory=ReclaimGateBlockedConfig)
    reclaim_disabled_bloat: ReclaimDisabledBloatConfig = field(default_factory=ReclaimDisabledBloatConfig)
    host_memory_low: HostMemoryLowConfig = field(default_factory=HostMemoryLowConfig)
    guest_memory_low: GuestMemoryLowConfig = field(default_factory=GuestMemoryLowConfig)
    guest_swap_thrash: GuestSwapThrashConfig = field(default_factory=GuestSwapThrashConfig)
    guest_memory_filling: GuestMemoryFillingConfig = field(default_factory=GuestMemoryFillingConfig)
    vram_filling: VramFillingConfig = field(default_factory=VramFillingConfig)
    path_cross_os: PathCrossOsConfig = field(default_factory=PathCrossOsConfig)
    path_slow: PathSlowConfig = field(default_factory=PathSlowConfig)
    path_stalled: PathStalledConfig = field(default_factory=PathStalledConfig)
    wslconfig_problem: WslconfigProblemConfig = field(default_factory=WslconfigProblemConfig)


@dataclass(frozen=True)
class ReclaimConfig:
    """The reclaim controller (docs/reclaim.md): off unless enabled."""

    enabled: bool = field(default=False, metadata=_key("give the WSL VM's page cache back to Windows when Windows is short"))
    available_ratio: float = _share(0.15, "act while host RAM available is below this share")
    critical_ratio: float = _share(0.05, "below this share, act even while the guest is busy")
    for_s: float = _seconds(60.0, "seconds Windows must be short before the controller acts")
    min_cache_gib: float = _amount(1.0, "guest page cache (GiB) never given back: the floor")
    step_gib: float = _amount(1.0, "GiB asked of memory.reclaim per step (memory.stat is re-read between steps)")
    max_steps: int = field(default=32, metadata=_key("steps per action at most", _between(1, 1024)))
    min_interval_s: float = _seconds(600.0, "seconds between two actions at least")
    busy_cpu: float = _share(0.25, "guest non-idle CPU share (of all vCPUs) above which it counts as busy")

    def cross_check(self) -> list[tuple[str, str]]:
        return _below(self, "critical_ratio", "available_ratio")


@dataclass(frozen=True)
class Config:
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    tray: TrayConfig = field(default_factory=TrayConfig)
    collectors: CollectorsConfig = field(default_factory=CollectorsConfig)
    paths: tuple[PathConfig, ...] = field(default=(), metadata=_key("directories to probe", _distinct_paths))
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    reclaim: ReclaimConfig = field(default_factory=ReclaimConfig)
