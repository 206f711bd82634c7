"""The one boundary to NVML (nvidia-ml-py's `pynvml`): typed values out, our errors out.

Every NVML call goes through `_query`, the one place an `NVMLError` becomes a value
(`None`: this driver or GPU cannot give it) or one of our two errors. `gpu.py`
imports this module lazily: importing pynvml costs about 20 ms.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import pynvml

__all__ = ["GpuDevice", "Memory", "NvmlError", "NvmlLost", "NvmlSession"]

T = TypeVar("T")

#: The value is not available here: absent, not a fault. ARGUMENT_VERSION_MISMATCH is a
#: struct version (e.g. memory v2) the driver does not know.
_ABSENT = frozenset(
    {
        pynvml.NVML_ERROR_NOT_SUPPORTED,
        pynvml.NVML_ERROR_FUNCTION_NOT_FOUND,
        pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
    }
)
#: The session is gone: the GPU fell off, NVML was shut down, or the driver went away or
#: was replaced. Shut down and initialise again later.
_LOST = frozenset(
    {
        pynvml.NVML_ERROR_UNINITIALIZED,
        pynvml.NVML_ERROR_DRIVER_NOT_LOADED,
        pynvml.NVML_ERROR_GPU_IS_LOST,
        pynvml.NVML_ERROR_RESET_REQUIRED,
        pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH,
    }
)
#: Why `nvmlInit` failed, and what to do, by NVML error code.
_INIT_REASONS = {
    pynvml.NVML_ERROR_LIBRARY_NOT_FOUND: (
        "NVML library not found: is the NVIDIA driver installed? On Linux it ships "
        "libnvidia-ml.so.1; inside WSL the library is /usr/lib/wsl/lib/libnvidia-ml.so.1, "
        "provided by the Windows NVIDIA driver (install or update it, then `wsl --shutdown`); "
        "on Windows it is nvml.dll from the driver. Without a GPU, set "
        "[collectors.gpu] enabled = false"
    ),
    pynvml.NVML_ERROR_DRIVER_NOT_LOADED: (
        "NVIDIA driver not loaded (NVML error 9): the library exists but the kernel driver is "
        "not running; check `nvidia-smi`, reinstall the driver or reboot (inside WSL: update "
        "the Windows driver, then `wsl --shutdown`)"
    ),
    pynvml.NVML_ERROR_NO_PERMISSION: (
        "no permission to use the NVIDIA driver (NVML error 4): give this user access to "
        "/dev/nvidia* (e.g. the group that owns them) or run wslwatch as a user that may use the GPU"
    ),
    pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH: (
        "NVML library and NVIDIA kernel driver differ in version (NVML error 18), usually a "
        "driver update without a reboot: reboot (inside WSL: `wsl --shutdown`)"
    ),
}


#: What a lost session means, and what to do, by NVML error code.
_LOST_ADVICE = {
    pynvml.NVML_ERROR_UNINITIALIZED: "NVML was shut down under wslwatch",
    pynvml.NVML_ERROR_DRIVER_NOT_LOADED: "the NVIDIA driver was unloaded; reload it or reboot",
    pynvml.NVML_ERROR_GPU_IS_LOST: (
        "the GPU stopped answering (off the bus, crashed or reset); check `nvidia-smi` and the "
        "system log (Windows: Event Viewer), a reboot may be needed"
    ),
    pynvml.NVML_ERROR_RESET_REQUIRED: "the GPU needs a reset or a reboot",
    pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH: (
        "the NVIDIA driver was replaced while running; reboot (inside WSL: `wsl --shutdown`)"
    ),
}


class NvmlError(Exception):
    """NVML cannot be used; the message says why and what to do."""


class NvmlLost(NvmlError):
    """The session died under us (GPU lost, NVML uninitialised, driver gone or reloaded)."""


def _query(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """`fn(*args)`, or None where NVML cannot give the value; other failures raise ours."""
    try:
        return fn(*args, **kwargs)
    except pynvml.NVMLError as exc:
        if exc.value in _ABSENT:
            return None
        what = f"{fn.__name__}: {exc} (NVML error {exc.value})"
        if exc.value in _LOST:
            raise NvmlLost(f"{what}: {_LOST_ADVICE[exc.value]}") from exc
        raise NvmlError(what) from exc


@dataclass(frozen=True, slots=True)
class Memory:
    total: int
    free: int
    used: int


class GpuDevice:
    """One GPU of a session: identity read once, values read on every call."""

    def __init__(self, index: int, handle: object, uuid: str, name: str) -> None:
        self.index = index
        self.uuid = uuid
        self.name = name
        self._handle = handle

    def _query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """`_query` on this GPU, its failures naming it."""
        try:
            return _query(fn, self._handle, *args, **kwargs)
        except NvmlError as exc:
            raise type(exc)(f"GPU {self.index}: {exc}") from exc

    def memory(self) -> Memory | None:
        """VRAM (`nvidia-smi --query-gpu=memory.total,memory.free,memory.used`).

        v2 where the driver has it (its `used` leaves out system-reserved memory, as
        nvidia-smi does), else v1; `1 - free/total` is the same under both.
        """
        v2 = self._query(pynvml.nvmlDeviceGetMemoryInfo, version=pynvml.nvmlMemory_v2)
        if v2 is not None:
            return Memory(int(v2.total), int(v2.free), int(v2.used))
        v1 = self._query(pynvml.nvmlDeviceGetMemoryInfo)
        return None if v1 is None else Memory(int(v1.total), int(v1.free), int(v1.used))

    def utilization_percent(self) -> int | None:
        """Percent of time a kernel ran (`utilization.gpu`); NotSupported on old WSL drivers."""
        rates = self._query(pynvml.nvmlDeviceGetUtilizationRates)
        return None if rates is None else int(rates.gpu)

    def temperature_c(self) -> int | None:
        """Core temperature (`temperature.gpu`)."""
        value = self._query(pynvml.nvmlDeviceGetTemperature, pynvml.NVML_TEMPERATURE_GPU)
        return None if value is None else int(value)

    def power_mw(self) -> int | None:
        """Power draw in milliwatts (`power.draw`)."""
        value = self._query(pynvml.nvmlDeviceGetPowerUsage)
        return None if value is None else int(value)

    def process_memory(self) -> dict[int, int]:
        """Bytes of VRAM per pid, only for processes whose memory NVML reports.

        Under WDDM (Windows, WSL) NVML reports NVML_VALUE_NOT_AVAILABLE, which pynvml
        turns into None: those processes are left out, so there the result is empty.
        A pid in both the compute and the graphics list counts once (the larger figure).
        """
        used: dict[int, int] = {}
        for listing in (
            pynvml.nvmlDeviceGetComputeRunningProcesses_v3,
            pynvml.nvmlDeviceGetGraphicsRunningProcesses_v3,
        ):
            for process in self._query(listing) or ():
                if process.usedGpuMemory is not None:
                    pid = int(process.pid)
                    used[pid] = max(used.get(pid, 0), int(process.usedGpuMemory))
        return used


class NvmlSession:
    """NVML initialised once, with its GPUs; `close()` shuts NVML down again."""

    def __init__(self, driver_version: str, devices: tuple[GpuDevice, ...]) -> None:
        self.driver_version = driver_version
        self.devices = devices

    @classmethod
    def open(cls) -> NvmlSession:
        """Initialise NVML and enumerate the GPUs; raises `NvmlError` with a reason."""
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            reason = _INIT_REASONS.get(exc.value, f"NVML could not be initialised: {exc} (NVML error {exc.value})")
            raise NvmlError(reason) from exc
        try:
            return cls(_query(pynvml.nvmlSystemGetDriverVersion) or "", _enumerate())
        except BaseException:
            _shutdown()
            raise

    def close(self) -> None:
        _shutdown()


def _enumerate() -> tuple[GpuDevice, ...]:
    devices = []
    for index in range(_query(pynvml.nvmlDeviceGetCount) or 0):
        handle = _query(pynvml.nvmlDeviceGetHandleByIndex, index)
        if handle is not None:
            uuid = _query(pynvml.nvmlDeviceGetUUID, handle) or ""
            name = _query(pynvml.nvmlDeviceGetName, handle) or ""
            devices.append(GpuDevice(index, handle, uuid, name))
    return tuple(devices)


def _shutdown() -> None:
    """nvmlShutdown; an already dead session (Uninitialized, GPU lost) needs nothing more."""
    with contextlib.suppress(pynvml.NVMLError):
        pynvml.nvmlShutdown()
