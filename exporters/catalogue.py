"""The metric catalogue: every series wslwatch exports, its type, help and labels.

Names are contracts (dashboards and alert rules depend on them): DESIGN.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wslwatch.histogram import LATENCY_BUCKETS_S

__all__ = ["CATALOGUE", "Family", "HISTOGRAM_BUCKETS"]

Kind = Literal["gauge", "counter", "histogram"]

#: Latency histogram buckets, 1 µs to 10 s (1-2.5-5 per decade); defined where collectors can share them.
HISTOGRAM_BUCKETS: tuple[float, ...] = LATENCY_BUCKETS_S


@dataclass(frozen=True)
class Family:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()


def _families(*families: Family) -> dict[str, Family]:
    return {f.name: f for f in families}


_GPU = ("gpu", "uuid")

CATALOGUE: dict[str, Family] = _families(
    # host (Windows: the host; elsewhere: this machine)
    Family("wslwatch_host_memory_total_bytes", "gauge", "Physical memory of the host."),
    Family("wslwatch_host_memory_available_bytes", "gauge", "Memory available to new work on the host."),
    Family("wslwatch_host_swap_total_bytes", "gauge", "Swap (the pagefile on Windows) of the host."),
    Family("wslwatch_host_swap_used_bytes", "gauge", "Swap in use on the host."),
    # the WSL VM process
    Family("wslwatch_vmmem_up", "gauge", "1 while the WSL VM process (vmmemWSL/vmmem) exists."),
    Family("wslwatch_vmmem_working_set_bytes", "gauge", "Working set of the WSL VM process.", ("process",)),
    Family("wslwatch_vmmem_private_bytes", "gauge", "Private (committed) bytes of the WSL VM process.", ("process",)),
    # the WSL guest
    Family("wslwatch_guest_memory_total_bytes", "gauge", "Guest MemTotal."),
    Family("wslwatch_guest_memory_available_bytes", "gauge", "Guest MemAvailable."),
    Family("wslwatch_guest_memory_free_bytes", "gauge", "Guest MemFree."),
    Family("wslwatch_guest_memory_cached_bytes", "gauge", "Guest page cache (Cached)."),
    Family(
        "wslwatch_guest_memory_reclaimable_bytes",
        "gauge",
        "Guest cache WSL can reclaim: Active(file)+Inactive(file)+SReclaimable.",
    ),
    Family("wslwatch_guest_swap_total_bytes", "gauge", "Guest SwapTotal."),
    Family("wslwatch_guest_swap_free_bytes", "gauge", "Guest SwapFree."),
    Family("wslwatch_guest_swap_in_pages_total", "counter", "Pages swapped in by the guest (pswpin)."),
    Family("wslwatch_guest_swap_out_pages_total", "counter", "Pages swapped out by the guest (pswpout)."),
    Family("wslwatch_guest_cpu_seconds_total", "counter", "Guest CPU time by mode, all CPUs (/proc/stat).", ("mode",)),
    Family(
        "wslwatch_guest_process_memory_bytes",
        "gauge",
        "Largest guest processes by anonymous memory and by swap; process=\"rest\" sums the others.",
        ("pid", "process", "kind"),
    ),
    Family(
        "wslwatch_guest_process_cpu_user_ratio",
        "gauge",
        "Busiest guest processes: user CPU since the previous read as a share of all guest CPUs; process=\"rest\" sums the others.",
        ("pid", "process"),
    ),
    Family(
        "wslwatch_guest_cgroup_memory_bytes",
        "gauge",
        "Largest guest leaf cgroups (containers, services) by anon, file and swap; name=\"rest\" sums the others.",
        ("cgroup", "name", "kind"),
    ),
    Family(
        "wslwatch_guest_memory_pressure_some_ratio",
        "gauge",
        "Share of time some guest task stalled on memory, 60 s average (PSI; only where PSI is enabled).",
    ),
    Family(
        "wslwatch_guest_memory_exhausted_in_seconds",
        "gauge",
        "Forecast seconds until guest MemAvailable reaches 0 at its least-squares trend; absent unless falling steadily.",
    ),
    # .wslconfig
    Family(
        "wslwatch_wsl_config_info",
        "gauge",
        "Effective autoMemoryReclaim mode, the section it was read from, and the file.",
        ("auto_memory_reclaim", "section", "path"),
    ),
    Family("wslwatch_wsl_config_memory_limit_bytes", "gauge", "Memory the WSL VM may use (.wslconfig memory)."),
    Family("wslwatch_wsl_config_swap_bytes", "gauge", "Swap size of the WSL VM (.wslconfig swap)."),
    Family("wslwatch_wsl_config_problem", "gauge", "1 for each problem found in .wslconfig.", ("code",)),
    # WSL itself and the reclaim controller (docs/reclaim.md)
    Family("wslwatch_wsl_info", "gauge", "The running WSL's version and its kernel.", ("version", "kernel")),
    Family(
        "wslwatch_reclaim_actions_total",
        "counter",
        "Give-backs by the reclaim controller, by method (memory.reclaim, drop_caches) and result (ok, partial, failed).",
        ("method", "result"),
    ),
    Family("wslwatch_reclaim_freed_bytes_total", "counter", "Guest page cache freed by the reclaim controller."),
    # GPU (NVML)
    Family("wslwatch_gpu_info", "gauge", "GPU identity.", ("gpu", "uuid", "name", "driver_version")),
    Family("wslwatch_gpu_memory_total_bytes", "gauge", "Total VRAM.", _GPU),
    Family("wslwatch_gpu_memory_used_bytes", "gauge", "VRAM in use.", _GPU),
    Family("wslwatch_gpu_memory_free_bytes", "gauge", "VRAM free.", _GPU),
    Family("wslwatch_gpu_utilization_ratio", "gauge", "Share of time a kernel ran on the GPU (0-1).", _GPU),
    Family("wslwatch_gpu_temperature_celsius", "gauge", "GPU core temperature.", _GPU),
    Family("wslwatch_gpu_power_watts", "gauge", "GPU power draw.", _GPU),
    Family(
        "wslwatch_gpu_memory_exhausted_in_seconds",
        "gauge",
        "Forecast seconds until free VRAM reaches 0 at its least-squares trend; absent unless falling steadily.",
        _GPU,
    ),
    Family(
        "wslwatch_gpu_process_memory_bytes",
        "gauge",
        "GPU memory held by one process: from NVML where it reports it (dedicated); on Windows from the GPU "
        "performance counters, top N plus pid=\"\" process=\"rest\", kind dedicated (VRAM) or shared (system RAM).",
        _GPU + ("pid", "process", "kind"),
    ),
    # per-path I/O
    Family(
        "wslwatch_path_info",
        "gauge",
        "Where a probed path lives.",
        ("path", "mountpoint", "fstype", "source", "kind", "cross_os", "readonly", "data"),
    ),
    Family("wslwatch_path_io_latency_seconds", "histogram", "Latency of one probe operation.", ("path", "op")),
    Family("wslwatch_path_probe_status", "gauge", "1 for the current probe status of a path.", ("path", "status")),
    Family(
        "wslwatch_path_probe_last_success_timestamp_seconds",
        "gauge",
        "When a probe of the path last completed.",
        ("path",),
    ),
    # wslwatch itself
    Family("wslwatch_collector_up", "gauge", "1 if the collector's last run succeeded.", ("collector",)),
    Family("wslwatch_collector_duration_seconds", "gauge", "How long the collector's last run took.", ("collector",)),
    Family("wslwatch_collector_errors_total", "counter", "Failed runs of the collector.", ("collector",)),
    Family(
        "wslwatch_collector_skipped_total",
        "counter",
        "Turns of the collector that did not run: missed (too late) or still_running (the last one had not ended).",
        ("collector", "reason"),
    ),
    Family("wslwatch_probes_paused", "gauge", "1 while the I/O probes are paused (from the tray)."),
    Family(
        "wslwatch_collector_last_success_timestamp_seconds",
        "gauge",
        "When the collector last succeeded.",
        ("collector",),
    ),
    Family(
        "wslwatch_alert_firing",
        "gauge",
        "1 for each firing alert; gpu/uuid/path/code identify what it is about, holder who holds it "
        "(empty when not applicable or not known).",
        ("rule", "severity", "gpu", "uuid", "path", "code", "holder"),
    ),
    Family("wslwatch_build_info", "gauge", "wslwatch version.", ("version",)),
    Family("wslwatch_process_resident_memory_bytes", "gauge", "Resident memory of the wslwatch daemon."),
    Family("wslwatch_process_cpu_seconds_total", "counter", "CPU time used by the wslwatch daemon."),
)
