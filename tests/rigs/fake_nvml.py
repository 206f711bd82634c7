"""A fake NVML library (`fake_nvml.c`) built with the machine's gcc, and its controls.

The real pynvml ctypes code runs against it, so struct layouts, the two-call
process-list protocol and the NVML error codes are exercised without a GPU.

State keys (written with `FakeNvml.set`, re-read by the library on every call):

| key | meaning (default) |
|---|---|
| `count` | number of GPUs (1; at most 8) |
| `name` | every GPU's name ("Fake NVIDIA GPU") |
| `driver_version` | `nvmlSystemGetDriverVersion` ("999.99") |
| `total_mib` | VRAM per GPU (16384) |
| `used_mib` | used VRAM per GPU, a list; the last value holds for the rest (0) |
| `util_gpu`, `util_mem` | utilization percent (0, 0) |
| `temp_c` | temperature (40) |
| `power_mw` | power in milliwatts (50000) |
| `procs` | compute processes, `{pid: mib}` or `"pid:mib,..."`; `"pid:mib@1"` is on GPU 1 (none) |
| `graphics_procs` | graphics processes, same form (none) |
| `init_error` | NVML error code `nvmlInit` returns, e.g. 9 DriverNotLoaded (0) |
| `query_error` | error code every device query returns, e.g. 15 GPU_IS_LOST (0) |
| `util_error` | error code of the utilization query only, e.g. 3 NotSupported (0) |
| `delay_ms` | every call sleeps this long first: a hung driver (0) |
| `no_v2` | 1: `nvmlDeviceGetMemoryInfo_v2` returns FUNCTION_NOT_FOUND (13), which pynvml raises as the same `NVMLError_FunctionNotFound` an old driver's missing symbol gives; another code: returns that code, e.g. 3 NotSupported, 25 ARGUMENT_VERSION_MISMATCH (0) |
| `proc_mem_na` | 1: per-process memory is NVML_VALUE_NOT_AVAILABLE, the WDDM behaviour (0) |

Memory v1 reports `used = used_mib`; v2 reports 256 MiB `reserved` and
`used = used_mib - 256 MiB`, so `total = reserved + free + used` as on real drivers.
UUIDs are `GPU-fa4e0000-0000-4000-8000-<index as 12 digits>`.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LIBRARY_NAME", "FakeNvml", "StateValue", "build", "fake_uuid"]

LIBRARY_NAME = "libnvidia-ml.so.1"
_SOURCE = Path(__file__).with_name("fake_nvml.c")

StateValue = int | str | Sequence[int] | Mapping[int, int] | None


def fake_uuid(index: int) -> str:
    """The UUID the fake library gives GPU `index`."""
    return f"GPU-fa4e0000-0000-4000-8000-{index:012d}"


def build(dest_dir: Path) -> Path:
    """Compile the fake into `dest_dir/libnvidia-ml.so.1`; returns `dest_dir` (for LD_LIBRARY_PATH)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc not found: install it (Debian: apt-get install gcc libc6-dev) to build the fake NVML library")
    dest_dir.mkdir(parents=True, exist_ok=True)
    command = [gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(dest_dir / LIBRARY_NAME), str(_SOURCE)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building the fake NVML library failed ({' '.join(command)}):\n{result.stderr}")
    return dest_dir


def _encode(value: int | str | Sequence[int] | Mapping[int, int]) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{pid}:{mib}" for pid, mib in value.items())
    if isinstance(value, (int, str)):
        return str(value)
    return ",".join(str(v) for v in value)


class FakeNvml:
    """One test's view of the fake library: its directory and its own state file."""

    def __init__(self, lib_dir: Path, state_file: Path) -> None:
        self.lib_dir = lib_dir
        self.state_file = state_file
        self._keys: dict[str, str] = {}
        self._write()

    @property
    def library(self) -> Path:
        return self.lib_dir / LIBRARY_NAME

    def set(self, **keys: StateValue) -> None:
        """Merge `keys` into the state set so far (None removes a key) and rewrite the file."""
        for key, value in keys.items():
            if value is None:
                self._keys.pop(key, None)
            else:
                self._keys[key] = _encode(value)
        self._write()

    def env(self) -> dict[str, str]:
        """Environment for a child process that should load the fake (merge into `os.environ`)."""
        search = [str(self.lib_dir)] + [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
        return {"LD_LIBRARY_PATH": os.pathsep.join(search), "FAKE_NVML_STATE": str(self.state_file)}

    @contextmanager
    def loaded(self) -> Iterator[ctypes.CDLL]:
        """Make pynvml in this process use the fake (setting LD_LIBRARY_PATH now would not work).

        Restores pynvml's library, its function cache and FAKE_NVML_STATE afterwards.
        """
        import pynvml

        lib = ctypes.CDLL(str(self.library))
        lib.fake_nvml_reset()
        saved = pynvml.nvmlLib, dict(pynvml._nvmlGetFunctionPointer_cache), os.environ.get("FAKE_NVML_STATE")
        pynvml.nvmlLib = lib
        pynvml._nvmlGetFunctionPointer_cache.clear()
        os.environ["FAKE_NVML_STATE"] = str(self.state_file)
        try:
            yield lib
        finally:
            lib.fake_nvml_reset()
            pynvml.nvmlLib = saved[0]
            pynvml._nvmlGetFunctionPointer_cache.clear()
            pynvml._nvmlGetFunctionPointer_cache.update(saved[1])
            if saved[2] is None:
                os.environ.pop("FAKE_NVML_STATE", None)
            else:
                os.environ["FAKE_NVML_STATE"] = saved[2]

    def _write(self) -> None:
        """Replace the file atomically, so the library never reads half of it."""
        text = "".join(f"{key}={value}\n" for key, value in self._keys.items())
        partial = self.state_file.with_name(self.state_file.name + ".new")
        partial.write_text(text)
        os.replace(partial, self.state_file)
