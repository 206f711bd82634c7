"""The few numbers the tray shows, read from a Store snapshot, and the order of alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from wslwatch.core import Alert
from wslwatch.holders import HolderList, holder_lists
from wslwatch.store import Snapshot

__all__ = ["GpuUsage", "Readings", "Usage", "firing", "worst_severity"]

HOST_TOTAL = "wslwatch_host_memory_total_bytes"
HOST_AVAILABLE = "wslwatch_host_memory_available_bytes"
VM_UP = "wslwatch_vmmem_up"
VM_WORKING_SET = "wslwatch_vmmem_working_set_bytes"
GPU_USED = "wslwatch_gpu_memory_used_bytes"
GPU_TOTAL = "wslwatch_gpu_memory_total_bytes"

_SEVERITY_RANK = {"critical": 2, "warning": 1, "info": 0}


@dataclass(frozen=True)
class Usage:
    """An amount in use out of a positive total, in bytes."""

    used: float
    total: float

    @property
    def fraction(self) -> float:
        """`used / total`, held to 0..1."""
        return min(1.0, max(0.0, self.used / self.total))


@dataclass(frozen=True)
class GpuUsage:
    """VRAM in use on one GPU (`gpu` is NVML's index label)."""

    gpu: str
    usage: Usage


@dataclass(frozen=True)
class Readings:
    """What the icon and the status lines show; None where the snapshot has no such value."""

    host: Usage | None
    vm_working_set: float | None
    vm_up: bool | None
    gpus: tuple[GpuUsage, ...]
    holders: tuple[HolderList, ...] = ()  # who holds the guest's memory and the VRAM, where known

    @classmethod
    def of(cls, snapshot: Snapshot) -> Readings:
        total = snapshot.value(HOST_TOTAL)
        available = snapshot.value(HOST_AVAILABLE)
        host = Usage(total - available, total) if total and available is not None else None
        working_sets = [s.value for s in snapshot.series(VM_WORKING_SET)]
        up = snapshot.value(VM_UP)
        gpus = []
        for used in snapshot.series(GPU_USED):
            gpu_total = snapshot.value(GPU_TOTAL, **used.labels)
            if gpu_total:
                gpus.append(GpuUsage(used.labels.get("gpu", "?"), Usage(used.value, gpu_total)))
        return cls(
            host=host,
            vm_working_set=sum(working_sets) if working_sets else None,
            vm_up=None if up is None else up >= 1,
            gpus=tuple(sorted(gpus, key=lambda g: g.gpu)),
            holders=tuple(holder_lists(snapshot)),
        )

    @property
    def vm(self) -> Usage | None:
        """The WSL VM's working set as a share of host RAM."""
        if self.vm_working_set is None or self.host is None:
            return None
        return Usage(self.vm_working_set, self.host.total)

    @property
    def vram(self) -> Usage | None:
        """The fullest GPU's VRAM."""
        return max((g.usage for g in self.gpus), key=lambda u: u.fraction, default=None)


def firing(alerts: Iterable[Alert]) -> list[Alert]:
    """The firing alerts, worst severity first, then oldest first."""
    lit = [a for a in alerts if a.state == "firing"]
    return sorted(lit, key=lambda a: (-_SEVERITY_RANK.get(a.severity, 0), a.since))


def worst_severity(alerts: Iterable[Alert]) -> str | None:
    """The severity of the worst firing alert, or None when none fires."""
    lit = firing(alerts)
    return lit[0].severity if lit else None
