"""Snapshots and alerts for the tray tests, built from the catalogue's metric names."""

from __future__ import annotations

from wslwatch.core import Alert, Sample
from wslwatch.store import Snapshot

GIB = 1024**3


def snapshot(
    host: tuple[float, float] | None = None,
    vm_gib: float | None = None,
    vm_up: bool | None = None,
    gpus: tuple[tuple[float, float], ...] = (),
) -> Snapshot:
    """`host` is (used GiB, total GiB); `gpus` holds (used GiB, total GiB) per GPU, index order."""
    samples = []
    if host is not None:
        used, total = host
        samples.append(Sample("wslwatch_host_memory_total_bytes", {}, total * GIB, 0))
        samples.append(Sample("wslwatch_host_memory_available_bytes", {}, (total - used) * GIB, 0))
    if vm_up is not None:
        samples.append(Sample("wslwatch_vmmem_up", {}, 1.0 if vm_up else 0.0, 0))
    if vm_gib is not None:
        samples.append(Sample("wslwatch_vmmem_working_set_bytes", {"process": "vmmemWSL"}, vm_gib * GIB, 0))
    for index, (used, total) in enumerate(gpus):
        labels = {"gpu": str(index), "uuid": f"GPU-{index:04d}"}
        samples.append(Sample("wslwatch_gpu_memory_used_bytes", labels, used * GIB, 0))
        samples.append(Sample("wslwatch_gpu_memory_total_bytes", labels, total * GIB, 0))
    return Snapshot.build(1.0, samples, ())


def alert(
    rule: str = "vram_high", severity: str = "warning", state: str = "firing", summary: str = "", since: float = 0.0
) -> Alert:
    return Alert(rule, severity, state, {"gpu": "0"}, summary or f"{rule} is {state}", since)
