"""Who holds it, in words for a summary: the largest guest and GPU holders in the latest snapshot."""

from __future__ import annotations

from collections.abc import Mapping

from wslwatch.core import Sample
from wslwatch.daemon.rules._text import gb
from wslwatch.daemon.view import View

__all__ = ["largest_gpu_holder", "largest_guest_holder"]


def _largest(samples: tuple[Sample, ...], identity: str, **labels: str) -> Sample | None:
    """The largest named (not `rest`) sample whose labels include `labels`."""
    named = [s for s in samples if s.labels.get(identity) and all(s.labels.get(k) == v for k, v in labels.items())]
    return max(named, key=lambda s: s.value, default=None)


def _process(labels: Mapping[str, str]) -> str:
    return f"{labels.get('process') or 'a process'} (pid {labels['pid']})"


def largest_guest_holder(view: View, kind: str = "anon") -> str | None:
    """`container qdrant, 11.0 GB` or `python (pid 4242), 9.3 GB`: who holds the most guest memory
    of `kind`. A container is named when it holds at least as much as the largest process (its
    processes are in it); other cgroups (a login session, a service) only when no process is
    known, since the process inside them says more."""
    cgroup = _largest(view.series("wslwatch_guest_cgroup_memory_bytes"), "cgroup", kind=kind)
    process = _largest(view.series("wslwatch_guest_process_memory_bytes"), "pid", kind=kind)
    if cgroup is not None and (process is None or cgroup.labels.get("name", "").startswith("container ")):
        if process is None or cgroup.value >= process.value:
            return f"{cgroup.labels.get('name') or cgroup.labels['cgroup']}, {gb(cgroup.value)}"
    return None if process is None else f"{_process(process.labels)}, {gb(process.value)}"


def largest_gpu_holder(view: View, uuid: str) -> str | None:
    """`python.exe (pid 4242) holds 17.8 GB`: the process holding the most of GPU `uuid`'s VRAM."""
    held = _largest(view.series("wslwatch_gpu_process_memory_bytes"), "pid", uuid=uuid)
    return None if held is None else f"{_process(held.labels)} holds {gb(held.value)}"
