"""Who holds it, in words for a summary: the largest guest and GPU holders in the latest snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from wslwatch.core import Sample
from wslwatch.daemon.rules._text import gb
from wslwatch.daemon.view import View

__all__ = ["Held", "largest", "largest_gpu_holder", "largest_guest_holder"]


class Held(NamedTuple):
    """Who holds it (`container qdrant`, `python (pid 4242)`) and how many bytes."""

    name: str
    size: float

    def __str__(self) -> str:
        return f"{self.name}, {gb(self.size)}"


def _largest(samples: tuple[Sample, ...], identity: str, **labels: str) -> Sample | None:
    """The largest named (not `rest`) sample whose labels include `labels`."""
    named = [s for s in samples if s.labels.get(identity) and all(s.labels.get(k) == v for k, v in labels.items())]
    return max(named, key=lambda s: s.value, default=None)


def _process(labels: Mapping[str, str]) -> str:
    return f"{labels.get('process') or 'a process'} (pid {labels['pid']})"


def largest_guest_holder(view: View, kind: str = "anon") -> Held | None:
    """Who holds the most guest memory of `kind` (`str()`: `container qdrant, 11.0 GB`). A container
    is named when it holds at least as much as the largest process (its processes are in it);
    another cgroup (a login session, a service) only when no process is known for the kind (file:
    page cache is charged to cgroups, not to processes), since the process inside says more."""
    cgroup = _largest(view.series("wslwatch_guest_cgroup_memory_bytes"), "cgroup", kind=kind)
    process = _largest(view.series("wslwatch_guest_process_memory_bytes"), "pid", kind=kind)
    if cgroup is not None and (process is None or cgroup.labels.get("name", "").startswith("container ")):
        if process is None or cgroup.value >= process.value:
            return Held(cgroup.labels.get("name") or cgroup.labels["cgroup"], cgroup.value)
    return None if process is None else Held(_process(process.labels), process.value)


def largest_gpu_holder(view: View, uuid: str) -> Held | None:
    """The process holding the most of GPU `uuid`'s VRAM."""
    held = _largest(view.series("wslwatch_gpu_process_memory_bytes"), "pid", uuid=uuid)
    return None if held is None else Held(_process(held.labels), held.value)


def largest(held: Held | None) -> str:
    """`; largest: container qdrant, 11.0 GB` for a summary, or nothing."""
    return "" if held is None else f"; largest: {held}"
