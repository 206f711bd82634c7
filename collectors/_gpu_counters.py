"""Windows' GPU performance counters, parsed: who holds how much of each adapter's memory.

Pure functions of what PDH returns for `\\GPU Process Memory(*)\\Dedicated Usage` and
`...\\Shared Usage`: one value per instance, the instance named
`pid_<pid>_luid_<high>_<low>_phys_<index>` (the `GPU Engine` set adds `_eng_<n>_engtype_<type>`).
The memory is summed per (adapter LUID, pid) and bounded to the top N holders plus a `rest`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from wslwatch.collectors._guest_holders import Holder

__all__ = ["KINDS", "VM_PROCESSES", "WSL_VM", "CounterInstance", "adapter_holders", "holders", "nvidia_adapter", "parse_instance"]

#: The label `kind` of each counter of the `GPU Process Memory` set, next to the counter's name.
KINDS = {"dedicated": "Dedicated Usage", "shared": "Shared Usage"}
#: The process name shown for WSL's VM process, and the names it has (Windows 11, Windows 10).
WSL_VM = "the WSL VM"
VM_PROCESSES = frozenset({"vmmemwsl", "vmmem"})

_INSTANCE = re.compile(
    r"^pid_(?P<pid>\d+)_luid_(?P<high>0x[0-9A-Fa-f]{8})_(?P<low>0x[0-9A-Fa-f]{8})_phys_(?P<phys>\d+)(?:_|$)"
)


class CounterInstance(NamedTuple):
    """One instance of a GPU counter set: the process, the adapter (`0x00000000_0x000095CA`) and
    the physical GPU index within that adapter."""

    pid: int
    luid: str
    phys: int


def parse_instance(name: str) -> CounterInstance | None:
    """The instance name as a record, or None when it is not `pid_…_luid_…_phys_…`."""
    match = _INSTANCE.match(name)
    if match is None:
        return None
    return CounterInstance(int(match["pid"]), f"{match['high']}_{match['low']}", int(match["phys"]))


def adapter_holders(values: Mapping[str, Mapping[str, float]]) -> dict[str, dict[int, dict[str, float]]]:
    """{kind: {instance: bytes}} as {adapter LUID: {pid: {kind: bytes}}}, summed over the
    instances of a pid on one adapter (one per physical GPU); unparsable instances skipped."""
    adapters: dict[str, dict[int, dict[str, float]]] = {}
    for kind, by_instance in values.items():
        for name, value in by_instance.items():
            instance = parse_instance(name)
            if instance is None:
                continue
            amounts = adapters.setdefault(instance.luid, {}).setdefault(instance.pid, {})
            amounts[kind] = amounts.get(kind, 0.0) + value
    return adapters


def holders(by_pid: Mapping[int, Mapping[str, float]], names: Mapping[int, str]) -> list[Holder]:
    """The processes of one adapter as holders labelled `pid` and `process`; a pid missing from
    `names` (it exited since the read) is left out, WSL's VM process is named `the WSL VM`."""
    return [
        Holder({"pid": str(pid), "process": _shown(names[pid])}, {k: int(v) for k, v in amounts.items()})
        for pid, amounts in sorted(by_pid.items())
        if pid in names
    ]


def _shown(name: str) -> str:
    stem = name.lower().removesuffix(".exe")
    return WSL_VM if stem in VM_PROCESSES else name


def nvidia_adapter(adapters: Mapping[str, Mapping[int, Mapping[str, float]]], gpus: int) -> str | None:
    """The LUID of the NVIDIA GPU, when it can be told: one GPU seen by NVML and one adapter on
    which processes hold dedicated memory. Otherwise None (no attribution is better than a wrong
    one: a second adapter with dedicated memory may be an integrated GPU or another NVIDIA GPU)."""
    holding = [luid for luid, by_pid in adapters.items() if any(a.get("dedicated", 0) > 0 for a in by_pid.values())]
    return holding[0] if gpus == 1 and len(holding) == 1 else None
