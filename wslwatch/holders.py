"""Who holds the memory, read from a snapshot: the guest's and the GPUs' largest holders.

The `wsl_guest` collector exports the largest processes and leaf cgroups of the guest, the GPU
collectors the processes holding VRAM; the rules name the largest one in their summaries, the
tray, `doctor` and `report` list them. This module picks them; each of those writes them its way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from wslwatch.core import Sample
from wslwatch.store import Snapshot

__all__ = [
    "HOLDER_SERIES",
    "Held",
    "HolderList",
    "busiest_guest_processes",
    "holder_lists",
    "largest_gpu_holder",
    "largest_guest_holder",
]

GUEST_PROCESS = "wslwatch_guest_process_memory_bytes"
GUEST_CGROUP = "wslwatch_guest_cgroup_memory_bytes"
GPU_PROCESS = "wslwatch_gpu_process_memory_bytes"
GUEST_CPU_USER = "wslwatch_guest_process_cpu_user_ratio"
#: Every series that says who holds memory.
HOLDER_SERIES = (GUEST_PROCESS, GUEST_CGROUP, GPU_PROCESS)


class Held(NamedTuple):
    """Who holds it (`container qdrant`, `python (pid 4242)`) and how many bytes."""

    name: str
    size: float


class HolderList(NamedTuple):
    """What is held (`guest memory`, `guest page cache`, `GPU 0 VRAM`) and its holders, largest first."""

    title: str
    holders: tuple[Held, ...]


def _named(samples: tuple[Sample, ...], identity: str, **labels: str) -> list[Sample]:
    """The samples (not the `rest`) whose labels include `labels`, largest first."""
    found = [s for s in samples if s.labels.get(identity) and all(s.labels.get(k) == v for k, v in labels.items())]
    return sorted(found, key=lambda s: -s.value)


def _process(labels: Mapping[str, str]) -> str:
    return f"{labels.get('process') or 'a process'} (pid {labels['pid']})"


def _cgroup(labels: Mapping[str, str]) -> str:
    return labels.get("name") or labels["cgroup"]


def largest_guest_holder(snapshot: Snapshot, kind: str = "anon") -> Held | None:
    """Who holds the most guest memory of `kind`. A container is named when it holds at least as
    much as the largest process (its processes are in it); another cgroup (a login session, a
    service) only when no process is known for the kind (page cache is charged to cgroups, not
    to processes), since the process inside says more."""
    cgroups = _named(snapshot.series(GUEST_CGROUP), "cgroup", kind=kind)
    processes = _named(snapshot.series(GUEST_PROCESS), "pid", kind=kind)
    process = processes[0] if processes else None
    cgroup = cgroups[0] if cgroups else None
    if cgroup is not None and (process is None or _cgroup(cgroup.labels).startswith("container ")):
        if process is None or cgroup.value >= process.value:
            return Held(_cgroup(cgroup.labels), cgroup.value)
    return None if process is None else Held(_process(process.labels), process.value)


def largest_gpu_holder(snapshot: Snapshot, uuid: str) -> Held | None:
    """The process holding the most of GPU `uuid`'s VRAM (dedicated, not shared system RAM)."""
    held = _vram(_named(snapshot.series(GPU_PROCESS), "pid", uuid=uuid))
    return Held(_process(held[0].labels), held[0].value) if held else None


def _vram(samples: list[Sample]) -> list[Sample]:
    """The VRAM samples: NVML's (no `kind`) and the counters' `dedicated`, not `shared` system RAM."""
    return [s for s in samples if s.labels.get("kind", "dedicated") == "dedicated"]


def busiest_guest_processes(snapshot: Snapshot, most: int = 3) -> list[tuple[str, float]]:
    """The `most` guest processes with the most user CPU (what WSL's idle gate counts) as
    (`python (pid 4242)`, share of all CPUs), busiest first; none that used none."""
    busy = _named(snapshot.series(GUEST_CPU_USER), "pid")
    return [(_process(s.labels), s.value) for s in busy[:most] if s.value > 0]


def holder_lists(snapshot: Snapshot) -> list[HolderList]:
    """Every list of holders the snapshot has: guest processes by anon and swap, guest cgroups by
    anon, file (page cache) and swap, each GPU's processes; empty lists left out."""
    lists = [
        HolderList("guest memory, by process", _held(snapshot.series(GUEST_PROCESS), "pid", _process, kind="anon")),
        HolderList("guest memory, by cgroup", _held(snapshot.series(GUEST_CGROUP), "cgroup", _cgroup, kind="anon")),
        HolderList("guest page cache, by cgroup", _held(snapshot.series(GUEST_CGROUP), "cgroup", _cgroup, kind="file")),
        HolderList("guest swap, by process", _held(snapshot.series(GUEST_PROCESS), "pid", _process, kind="swap")),
    ]
    gpus = sorted({(s.labels.get("gpu", ""), s.labels.get("uuid", "")) for s in snapshot.series(GPU_PROCESS)})
    for gpu, uuid in gpus:
        vram = _vram(list(snapshot.series(GPU_PROCESS)))
        lists.append(HolderList(f"GPU {gpu} VRAM", _held(tuple(vram), "pid", _process, uuid=uuid)))
    return [found for found in lists if found.holders]


def _held(
    samples: tuple[Sample, ...], identity: str, name: Callable[[Mapping[str, str]], str], **labels: str
) -> tuple[Held, ...]:
    return tuple(Held(name(s.labels), s.value) for s in _named(samples, identity, **labels) if s.value > 0)
