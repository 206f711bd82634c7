"""Who holds each NVIDIA GPU's memory on Windows, from the GPU performance counters.

Under WDDM (every Windows driver, and WSL) NVML reports no per-process memory; Windows itself
counts it per process and adapter (`GPU Process Memory`, what Task Manager shows). This collector
reads that set through PDH, attributes the adapter to the NVML GPU (see `nvidia_adapter`) and
exports the top N holders plus a `rest`, dedicated and shared:
`wslwatch_gpu_process_memory_bytes{gpu,uuid,pid,process,kind}`. Elsewhere it has no data.
"""

from __future__ import annotations

import sys
from typing import Protocol

from wslwatch.collectors._gpu_counters import KINDS, adapter_holders, holders, nvidia_adapter
from wslwatch.collectors._guest_holders import REST_PROCESS, top_samples
from wslwatch.core import CollectorError, NoData, Sample

__all__ = ["GpuHoldersCollector", "counter_reader"]

SERIES = "wslwatch_gpu_process_memory_bytes"


class CounterReader(Protocol):
    def read(self) -> dict[str, dict[str, float]]: ...

    def close(self) -> None: ...


def counter_reader() -> CounterReader | None:
    """PDH on Windows; None elsewhere (the counters exist only there)."""
    if sys.platform == "win32":
        from wslwatch.collectors._pdh_gpu import PdhGpuMemory

        return PdhGpuMemory()
    return None


class GpuHoldersCollector:
    """The top `top_n` processes per NVIDIA GPU by dedicated and by shared GPU memory, plus a rest."""

    name = "gpu_holders"

    def __init__(self, interval_s: float, top_n: int, reader: CounterReader | None) -> None:
        self.interval_s = interval_s
        self._top_n = top_n
        self._reader = reader
        self._gpus: list[tuple[str, str]] | None = None  # (index, uuid) from NVML, read once

    def collect(self, now: float) -> list[Sample]:
        from wslwatch.collectors._pdh_gpu import CountersUnavailable

        if self._reader is None:
            raise NoData("the GPU performance counters exist only on Windows (run wslwatch there to see who holds VRAM)")
        try:
            adapters = adapter_holders(self._reader.read())
        except CountersUnavailable as exc:
            raise NoData(str(exc)) from exc
        gpus = self._nvml_gpus()
        luid = nvidia_adapter(adapters, len(gpus))
        if luid is None:
            raise NoData(
                f"cannot tell which of the {len(adapters)} adapters holding memory is the NVIDIA GPU "
                f"({len(gpus)} seen by NVML); per-process VRAM is attributed only with one NVIDIA GPU"
            )
        ids = {"gpu": gpus[0][0], "uuid": gpus[0][1]}
        found = holders(adapters[luid], _process_names(adapters[luid]))
        return [
            Sample(SERIES, {**ids, **labels}, value, now)
            for labels, value in top_samples(found, KINDS, self._top_n, REST_PROCESS)
        ]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def _nvml_gpus(self) -> list[tuple[str, str]]:
        """The NVML GPUs' (index, uuid), read once: NVML is opened for it and shut again."""
        if self._gpus is None:
            from wslwatch.collectors._nvml import NvmlError, NvmlSession

            try:
                session = NvmlSession.open()
            except NvmlError as exc:
                raise CollectorError(f"{exc} (needed to name the GPU the counters belong to)") from exc
            self._gpus = [(str(d.index), d.uuid) for d in session.devices]
            session.close()
        return self._gpus


def _process_names(by_pid: dict[int, dict[str, float]]) -> dict[int, str]:
    """pid → name for the pids still running ("" when access is denied); gone ones left out."""
    import psutil

    names = {}
    for pid in by_pid:
        try:
            names[pid] = psutil.Process(pid).name()
        except psutil.AccessDenied:
            names[pid] = ""
        except psutil.NoSuchProcess:
            pass
    return names
