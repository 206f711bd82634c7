"""The GPU collector: the real pynvml ctypes code against the fake NVML library."""

from __future__ import annotations

import ctypes.util
import subprocess
import time
from collections.abc import Callable, Iterator

import pynvml
import pytest

from rigs.fake_nvml import FakeNvml, fake_uuid
from wslwatch.collectors.gpu import GpuCollector
from wslwatch.core import CollectorError, NoData, Sample
from wslwatch.daemon.runner import CollectorRunner
from wslwatch.store import Store
from wslwatch.exporters.catalogue import CATALOGUE

pytestmark = pytest.mark.rig  # the fake NVML library, built with gcc

MiB = 2**20
#: Above Linux's PID_MAX_LIMIT (2**22): no process can have it.
NO_SUCH_PID = 2**22 + 1


@pytest.fixture
def nvml(fake_nvml: FakeNvml) -> Iterator[FakeNvml]:
    """The fake library, loaded into this process's pynvml for the test."""
    with fake_nvml.loaded():
        yield fake_nvml


@pytest.fixture
def make_collector(nvml: FakeNvml) -> Iterator[Callable[..., GpuCollector]]:
    """Builds collectors and closes them before the fake is unloaded."""
    made: list[GpuCollector] = []

    def make(per_process: bool = False) -> GpuCollector:
        made.append(GpuCollector(15.0, per_process))
        return made[-1]

    yield make
    for collector in made:
        collector.close()


def series(samples: list[Sample], name: str) -> dict[str, float]:
    """`name`'s values by GPU index."""
    return {s.labels["gpu"]: s.value for s in samples if s.name == name}


def names(samples: list[Sample]) -> set[str]:
    return {s.name for s in samples}


def test_one_gpu_gives_exactly_the_values_nvml_reports(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    nvml.set(name="NVIDIA GeForce RTX 4090", driver_version="572.16", total_mib=24564, used_mib=[3072])
    nvml.set(util_gpu=55, temp_c=61, power_mw=123456)
    ids = {"gpu": "0", "uuid": fake_uuid(0)}
    # memory v2: the fake holds 256 MiB reserved, outside `used` (as real drivers do)
    assert make_collector().collect(100.0) == [
        Sample("wslwatch_gpu_info", {**ids, "name": "NVIDIA GeForce RTX 4090", "driver_version": "572.16"}, 1.0, 100.0),
        Sample("wslwatch_gpu_memory_total_bytes", ids, 24564 * MiB, 100.0),
        Sample("wslwatch_gpu_memory_used_bytes", ids, (3072 - 256) * MiB, 100.0),
        Sample("wslwatch_gpu_memory_free_bytes", ids, (24564 - 3072) * MiB, 100.0),
        Sample("wslwatch_gpu_utilization_ratio", ids, 0.55, 100.0),
        Sample("wslwatch_gpu_temperature_celsius", ids, 61.0, 100.0),
        Sample("wslwatch_gpu_power_watts", ids, 123.456, 100.0),
    ]


def test_two_gpus_are_told_apart_by_index_and_uuid(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    nvml.set(count=2, used_mib=[1000, 15000], no_v2=1)
    samples = make_collector().collect(1.0)
    assert series(samples, "wslwatch_gpu_memory_used_bytes") == {"0": 1000 * MiB, "1": 15000 * MiB}
    assert series(samples, "wslwatch_gpu_memory_free_bytes") == {"0": 15384 * MiB, "1": 1384 * MiB}
    assert {(s.labels["gpu"], s.labels["uuid"]) for s in samples} == {("0", fake_uuid(0)), ("1", fake_uuid(1))}


def test_values_follow_the_device_between_collections(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    collector = make_collector()
    nvml.set(temp_c=50)
    assert series(collector.collect(1.0), "wslwatch_gpu_temperature_celsius") == {"0": 50.0}
    nvml.set(temp_c=83)
    assert series(collector.collect(2.0), "wslwatch_gpu_temperature_celsius") == {"0": 83.0}


@pytest.mark.parametrize(
    "no_v2",
    [1, pynvml.NVML_ERROR_NOT_SUPPORTED, pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH],
    ids=["function-not-found", "not-supported", "version-mismatch"],
)
def test_memory_falls_back_to_v1_where_the_driver_has_no_v2(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector], no_v2: int
) -> None:
    nvml.set(total_mib=12288, used_mib=[4096], no_v2=no_v2)
    samples = make_collector().collect(1.0)
    assert series(samples, "wslwatch_gpu_memory_total_bytes") == {"0": 12288 * MiB}
    assert series(samples, "wslwatch_gpu_memory_used_bytes") == {"0": 4096 * MiB}  # v1 counts reserved as used
    assert series(samples, "wslwatch_gpu_memory_free_bytes") == {"0": 8192 * MiB}


def test_unsupported_utilization_is_absent_and_the_rest_present(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector]
) -> None:
    nvml.set(util_error=pynvml.NVML_ERROR_NOT_SUPPORTED, util_gpu=40)
    assert names(make_collector().collect(1.0)) == {
        "wslwatch_gpu_info",
        "wslwatch_gpu_memory_total_bytes",
        "wslwatch_gpu_memory_used_bytes",
        "wslwatch_gpu_memory_free_bytes",
        "wslwatch_gpu_temperature_celsius",
        "wslwatch_gpu_power_watts",
    }


def test_every_sample_has_the_catalogue_labels(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    nvml.set(count=2, procs=f"{NO_SUCH_PID}:512@1")
    samples = make_collector(per_process=True).collect(1.0)
    assert "wslwatch_gpu_process_memory_bytes" in names(samples)
    for sample in samples:
        assert tuple(sample.labels) == CATALOGUE[sample.name].labels


def test_per_process_memory_with_names_when_asked(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        # the sleeper runs compute and graphics work: counted once, the larger figure
        nvml.set(count=2, procs=f"{sleeper.pid}:2048,{NO_SUCH_PID}:300@1", graphics_procs=f"{sleeper.pid}:1024")
        samples = make_collector(per_process=True).collect(1.0)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [(s.labels, s.value) for s in samples if s.name == "wslwatch_gpu_process_memory_bytes"] == [
        ({"gpu": "0", "uuid": fake_uuid(0), "pid": str(sleeper.pid), "process": "sleep", "kind": "dedicated"}, 2048 * MiB),
        ({"gpu": "1", "uuid": fake_uuid(1), "pid": str(NO_SUCH_PID), "process": "", "kind": "dedicated"}, 300 * MiB),
    ]


def test_no_per_process_series_unless_asked(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    nvml.set(procs=f"{NO_SUCH_PID}:1024")
    assert "wslwatch_gpu_process_memory_bytes" not in names(make_collector(per_process=False).collect(1.0))


def test_wddm_per_process_memory_gives_no_series_not_zeros(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector]
) -> None:
    nvml.set(procs=f"{NO_SUCH_PID}:1024,{NO_SUCH_PID + 1}:2048", proc_mem_na=1)
    samples = make_collector(per_process=True).collect(1.0)
    assert "wslwatch_gpu_process_memory_bytes" not in names(samples)
    assert series(samples, "wslwatch_gpu_memory_total_bytes") == {"0": 16384 * MiB}


@pytest.mark.parametrize(
    ("code", "start"),
    [
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "NVIDIA driver not loaded"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no permission to use the NVIDIA driver"),
        (pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "NVML library and NVIDIA kernel driver differ"),
        (pynvml.NVML_ERROR_UNKNOWN, "NVML could not be initialised: Unknown Error (NVML error 999)"),
    ],
)
def test_init_errors_give_a_clear_reason(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector], code: int, start: str
) -> None:
    nvml.set(init_error=code)
    with pytest.raises(CollectorError) as caught:
        make_collector().collect(1.0)
    assert str(caught.value).startswith(start)


def test_a_driver_that_appears_later_is_picked_up(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    collector = make_collector()
    nvml.set(init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(CollectorError, match="tried again in 1 collection"):
        collector.collect(1.0)
    nvml.set(init_error=None)
    assert series(collector.collect(2.0), "wslwatch_gpu_memory_total_bytes") == {"0": 16384 * MiB}


@pytest.mark.parametrize(
    "code",
    [pynvml.NVML_ERROR_GPU_IS_LOST, pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, pynvml.NVML_ERROR_DRIVER_NOT_LOADED],
)
def test_a_lost_session_is_shut_down_and_opened_again(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector], code: int
) -> None:
    collector = make_collector()
    collector.collect(1.0)
    nvml.set(query_error=code)
    with pytest.raises(CollectorError, match=rf"^NVML session lost: GPU 0: .*\(NVML error {code}\): "):
        collector.collect(2.0)
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlShutdown()  # the collector already shut NVML down
    nvml.set(query_error=None)
    assert "wslwatch_gpu_info" in names(collector.collect(3.0))


def test_nvml_shut_down_by_someone_else_is_initialised_again(
    nvml: FakeNvml, make_collector: Callable[..., GpuCollector]
) -> None:
    collector = make_collector()
    collector.collect(1.0)
    pynvml.nvmlShutdown()
    with pytest.raises(CollectorError, match="Uninitialized"):
        collector.collect(2.0)
    assert "wslwatch_gpu_info" in names(collector.collect(3.0))


def test_init_retries_back_off_exponentially(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    collector = make_collector()
    collector.collect(1.0)
    nvml.set(query_error=pynvml.NVML_ERROR_GPU_IS_LOST)

    def failure(now: float) -> str:
        with pytest.raises(CollectorError) as caught:
            collector.collect(now)
        return str(caught.value)

    # collection 2 loses the GPU; tries at 3 (fails: wait 2), at 5 (fails: wait 4), at 9
    reasons = [failure(now) for now in range(2, 6)]
    assert [r.rsplit("(", 1)[1] for r in reasons] == [
        "NVML init is tried again in 1 collection)",
        "NVML init is tried again in 2 collections)",
        "NVML init is tried again in 2 collections)",
        "NVML init is tried again in 4 collections)",
    ]
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlShutdown()  # each failed try shut NVML down again
    nvml.set(query_error=None)
    assert [failure(now) for now in (6, 7, 8)] == [reasons[-1]] * 3  # healthy, but not tried yet
    assert "wslwatch_gpu_info" in names(collector.collect(9.0))
    nvml.set(query_error=pynvml.NVML_ERROR_GPU_IS_LOST)
    assert failure(10).endswith("tried again in 1 collection)")  # success reset the delay


def test_other_query_errors_keep_the_session(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    collector = make_collector()
    collector.collect(1.0)
    nvml.set(query_error=pynvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(CollectorError, match=r"Unknown Error \(NVML error 999\)$"):
        collector.collect(2.0)
    nvml.set(query_error=None)
    assert "wslwatch_gpu_info" in names(collector.collect(3.0))
    collector.close()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlShutdown()  # init once, shut down once: the error did not re-init


def test_close_shuts_nvml_down_only_if_it_was_initialised(nvml: FakeNvml) -> None:
    pynvml.nvmlInit()  # someone else's session
    nvml.set(init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    collector = GpuCollector(15.0, False)
    with pytest.raises(CollectorError):
        collector.collect(1.0)
    collector.close()
    pynvml.nvmlShutdown()  # still initialised: close() left it alone


def test_no_gpu_is_no_data_not_a_fault(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    nvml.set(count=0)
    with pytest.raises(NoData, match="NVML found no NVIDIA GPU"):
        make_collector().collect(1.0)


def test_a_gpu_that_appears_later_is_found(nvml: FakeNvml, make_collector: Callable[..., GpuCollector]) -> None:
    """No GPU at the first init (an eGPU not yet plugged in, a driver being installed): NVML is
    asked again, backing off like a failed init, and never counts it as a fault meanwhile."""
    collector = make_collector()
    nvml.set(count=0)
    with pytest.raises(NoData, match="NVML found no NVIDIA GPU .NVML init is tried again in 1 collection."):
        collector.collect(1.0)
    with pytest.raises(NoData, match="tried again in 2 collections"):
        collector.collect(2.0)
    with pytest.raises(NoData, match="tried again in 2 collections"):
        collector.collect(3.0)  # waiting: still no data, not a fault
    nvml.set(count=1)
    assert series(collector.collect(4.0), "wslwatch_gpu_memory_total_bytes") == {"0": 16384 * MiB}


def test_a_hung_driver_is_abandoned_by_the_runner_and_recovers(nvml: FakeNvml) -> None:
    store = Store()
    runner = CollectorRunner(GpuCollector(15.0, False), store, timeout_s=0.1, clock=lambda: 1.0)
    nvml.set(delay_ms=500)
    runner.run()
    health = store.health("gpu")
    assert health is not None and not health.up and "timed out" in (health.reason or "")
    nvml.set(delay_ms=0)
    deadline = time.monotonic() + 10
    while not (store.health("gpu") or health).up and time.monotonic() < deadline:
        time.sleep(0.05)
        runner.run()
    runner.collector.close()
    assert store.snapshot().value("wslwatch_gpu_memory_total_bytes", gpu="0") == 16384 * MiB


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has a real NVML library")
def test_no_library_says_so_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pynvml, "nvmlLib", None)  # let pynvml's own loader look for the library
    collector = GpuCollector(15.0, False)
    with pytest.raises(CollectorError) as caught:
        collector.collect(1.0)
    collector.close()
    reason = str(caught.value)
    assert reason.startswith("NVML library not found")
    assert "/usr/lib/wsl/lib/libnvidia-ml.so.1" in reason
