"""GPU VRAM, utilization, temperature and power through NVML (nvidia-ml-py).

NVML is initialised on the first collection and kept. When the session dies (GPU
lost, NVML uninitialised, driver reloaded) the collector shuts NVML down, reports
why, and initialises it again on a later collection, waiting 1, 2, 4 ... up to 32
collections between tries. A missing library or driver is retried the same way, so a
driver installed later is picked up without a restart. Importing this module is
cheap: pynvml is imported on the first collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

from wslwatch.core import CollectorError, NoData, Sample

if TYPE_CHECKING:
    from wslwatch.collectors._nvml import NvmlSession

__all__ = ["GpuCollector"]

#: The most collections to wait between two NVML init tries.
MAX_RETRY_DELAY = 32


class GpuCollector:
    """`wslwatch_gpu_*` for every GPU NVML sees; per-process VRAM only when asked and reported."""

    name = "gpu"

    def __init__(self, interval_s: float, per_process: bool) -> None:
        self.interval_s = interval_s
        self._per_process = per_process
        self._session: NvmlSession | None = None
        self._retry_delay = 1  # collections from one failed init (or loss) to the next try
        self._skip = 0  # collections still to wait before the next try
        self._reason = ""  # why NVML is not in use, while waiting
        self._waiting: type[CollectorError | NoData] = CollectorError  # a fault, or no GPU (no data)

    def collect(self, now: float) -> list[Sample]:
        from wslwatch.collectors._nvml import NvmlError, NvmlLost

        session = self._open()
        if not session.devices:  # looked for again at a later init: an eGPU plugged in, a driver installed
            self.close()
            self._wait("NVML found no NVIDIA GPU", NoData)
        try:
            samples = list(self._samples(session, now))
        except NvmlLost as exc:
            self.close()
            self._wait(f"NVML session lost: {exc}")
        except NvmlError as exc:
            raise CollectorError(str(exc)) from exc
        self._retry_delay = 1
        return samples

    def close(self) -> None:
        """Shut NVML down, if it was initialised."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _open(self) -> NvmlSession:
        if self._session is not None:
            return self._session
        if self._skip > 0:
            self._skip -= 1
            raise self._waiting(self._reason)
        from wslwatch.collectors._nvml import NvmlError, NvmlSession

        try:
            self._session = NvmlSession.open()
        except NvmlError as exc:
            self._wait(str(exc))
        return self._session

    def _wait(self, reason: str, error: type[CollectorError | NoData] = CollectorError) -> NoReturn:
        """Raise `error(reason)` now and for the next collections until the next init try."""
        delay = self._retry_delay
        self._reason = f"{reason} (NVML init is tried again in {delay} collection{'s' * (delay > 1)})"
        self._waiting = error
        self._skip = delay - 1
        self._retry_delay = min(2 * delay, MAX_RETRY_DELAY)
        raise error(self._reason)

    def _samples(self, session: NvmlSession, now: float) -> Iterator[Sample]:
        for device in session.devices:
            ids = {"gpu": str(device.index), "uuid": device.uuid}
            info = {**ids, "name": device.name, "driver_version": session.driver_version}
            yield Sample("wslwatch_gpu_info", info, 1.0, now)
            memory = device.memory()
            if memory is not None:
                yield Sample("wslwatch_gpu_memory_total_bytes", ids, float(memory.total), now)
                yield Sample("wslwatch_gpu_memory_used_bytes", ids, float(memory.used), now)
                yield Sample("wslwatch_gpu_memory_free_bytes", ids, float(memory.free), now)
            utilization = device.utilization_percent()
            if utilization is not None:
                yield Sample("wslwatch_gpu_utilization_ratio", ids, utilization / 100, now)
            temperature = device.temperature_c()
            if temperature is not None:
                yield Sample("wslwatch_gpu_temperature_celsius", ids, float(temperature), now)
            power = device.power_mw()
            if power is not None:
                yield Sample("wslwatch_gpu_power_watts", ids, power / 1000, now)
            if self._per_process:
                for pid, used in sorted(device.process_memory().items()):
                    labels = {**ids, "pid": str(pid), "process": _process_name(pid), "kind": "dedicated"}
                    yield Sample("wslwatch_gpu_process_memory_bytes", labels, float(used), now)


def _process_name(pid: int) -> str:
    """The name of `pid`, or "" when it cannot be resolved (the process is gone or access is denied).

    NVML reports pids of the driver's pid namespace: seen from a container, or a pid of
    WSLg's system distro, the pid may name no process here, or a different one.
    """
    import psutil

    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return ""
