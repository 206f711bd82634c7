"""GPU rules: VRAM nearly full, and VRAM held by a run that no longer computes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from wslwatch.config.schema import VramHeldIdleConfig, VramHighConfig
from wslwatch.daemon.alerting import Active, Finding
from wslwatch.daemon.rules._base import ConfiguredRule
from wslwatch.daemon.rules._text import GIB, MIB, gb, largest, pct
from wslwatch.daemon.view import View
from wslwatch.holders import largest_gpu_holder

__all__ = ["VramHeldIdle", "VramHigh"]

_FIT = "Try: a smaller batch size, or end other programs that use the GPU"


@dataclass(frozen=True)
class _Gpu:
    labels: Mapping[str, str]  # {gpu, uuid}
    title: str  # "GPU 0 (NVIDIA GeForce RTX 4090)"
    total: float


def _gpus(view: View) -> Iterator[_Gpu]:
    names = {s.labels.get("uuid", ""): s.labels.get("name", "") for s in view.series("wslwatch_gpu_info")}
    for sample in view.series("wslwatch_gpu_memory_total_bytes"):
        if sample.value <= 0:
            continue
        labels = {"gpu": sample.labels.get("gpu", ""), "uuid": sample.labels.get("uuid", "")}
        name = names.get(labels["uuid"])
        title = f"GPU {labels['gpu']}" + (f" ({name})" if name else "")
        yield _Gpu(labels, title, sample.value)


class VramHigh:
    """VRAM nearly full: a warning line and a critical line, each with its own time."""

    name = "vram_high"
    severity = "warning"

    def __init__(self, config: VramHighConfig) -> None:
        self.config = config
        self.for_s = config.for_s
        self.clear_for_s = config.clear_for_s

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        c = self.config
        for gpu in _gpus(view):
            free = view.value("wslwatch_gpu_memory_free_bytes", **gpu.labels)
            if free is None:
                continue
            share = 1 - free / gpu.total
            holder = largest_gpu_holder(view.snapshot, gpu.labels["uuid"])
            what = f"{gpu.title} VRAM is {pct(share)} full: {gb(gpu.total - free)} of {gb(gpu.total)}{largest(holder)}"
            name = holder.name if holder else ""
            if share >= (c.clear if active(gpu.labels, "warning") else c.warning):
                yield Finding(gpu.labels, what, f"new allocations may fail (CUDA out of memory). {_FIT}", holder=name)
            if share >= (c.warning if active(gpu.labels, "critical") else c.critical):
                yield Finding(
                    gpu.labels,
                    what,
                    f"the next allocation will likely fail (CUDA out of memory). {_FIT}",
                    severity="critical",
                    for_s=c.critical_for_s,
                    holder=name,
                )


_BASELINE_HOURS = 24


class _Floor:
    """The lowest value seen in the last 24 hours, kept as one minimum per hour."""

    def __init__(self) -> None:
        self._hourly: dict[int, float] = {}

    def add(self, ts: float, value: float) -> float:
        """Record `value` at `ts`; the floor afterwards."""
        hour = int(ts // 3600)
        self._hourly[hour] = min(value, self._hourly.get(hour, value))
        for old in [h for h in self._hourly if h <= hour - _BASELINE_HOURS]:
            del self._hourly[old]
        return min(self._hourly.values())


class VramHeldIdle(ConfiguredRule[VramHeldIdleConfig]):
    """VRAM held well above the GPU's idle baseline, unchanged, while the GPU computes nothing.

    The baseline is the lowest use seen in the last 24 h (the desktop's own share), learnt
    from the data, so a run that crashed before wslwatch started is seen once it is freed.
    """

    name = "vram_held_idle"

    def __init__(self, config: VramHeldIdleConfig) -> None:
        super().__init__(config)
        self._floors: dict[str, _Floor] = {}

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        c = self.config
        for gpu in _gpus(view):
            used = view.value("wslwatch_gpu_memory_used_bytes", **gpu.labels)
            if used is None:
                continue
            baseline = self._floors.setdefault(gpu.labels["uuid"], _Floor()).add(view.now, used)
            utilization = view.value("wslwatch_gpu_utilization_ratio", **gpu.labels)
            recent = view.window("wslwatch_gpu_memory_used_bytes", gpu.labels, c.flat_window_s)
            if utilization is None or recent is None or utilization > c.max_utilization:
                continue
            values = [value for _, value in recent]
            held = used - baseline
            if held < max(c.min_held_gib * GIB, c.min_held_ratio * gpu.total):
                continue
            if max(values) - min(values) > c.flat_mib * MIB:
                continue
            holder = largest_gpu_holder(view.snapshot, gpu.labels["uuid"])
            yield Finding(
                gpu.labels,
                f"{gpu.title} holds {gb(used)} of VRAM ({gb(held)} above its idle {gb(baseline)}) "
                f"at {pct(utilization)} utilization{largest(holder)}",
                "a finished or crashed run still holds it. Try: end the process that holds it "
                "(nvidia-smi lists GPU processes); in a notebook, restart the kernel",
                holder=holder.name if holder else "",
            )
