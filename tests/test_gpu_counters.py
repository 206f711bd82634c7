"""Windows' GPU counters: the instance-name parser, the attribution and the bounded holder series,
on recorded real instance names and values (sources: tests/fixtures/gpu-counters/README.md).

The PDH read itself exists only on Windows; the collector's reader is replaced by the recorded
counter arrays (the narrowest seam), NVML is the fake library (real pynvml code)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from rigs.fake_nvml import FakeNvml, fake_uuid
from wslwatch.collectors._gpu_counters import (
    CounterInstance,
    adapter_holders,
    holders,
    nvidia_adapter,
    parse_instance,
)
from wslwatch.collectors.gpu_holders import SERIES, GpuHoldersCollector
from wslwatch.core import NoData

TITAN = "0x00000000_0x000095CA"  # the NVIDIA adapter of the Rainmeter post
INTEL = "0x00000000_0x0000A18D"  # its Intel HD 630


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("pid_10232_luid_0x00000000_0x0001136A_phys_0", CounterInstance(10232, "0x00000000_0x0001136A", 0)),
        ("pid_9524_luid_0x00000000_0x000095CA_phys_0_eng_0_engtype_3D", CounterInstance(9524, TITAN, 0)),
        ("pid_14904_luid_0x00000000_0x0000A18D_phys_0_eng_4_engtype_VideoDecode", CounterInstance(14904, INTEL, 0)),
        ("pid_42_luid_0x00000000_0x00012394_phys_1_eng_12_engtype_Compute_0", CounterInstance(42, "0x00000000_0x00012394", 1)),
    ],
)
def test_a_recorded_instance_name_parses_to_its_pid_adapter_and_physical_index(name: str, want: CounterInstance) -> None:
    assert parse_instance(name) == want


@pytest.mark.parametrize(
    "name",
    ["luid_0x00000000_0x0001136A_phys_0", "luid_0x00000000", "", "_Total", "pid_x_luid_0x00000000_0x0001136A_phys_0",
     "pid_1_luid_0x00000000_0x0001136A_phys_0extra"],
)
def test_an_adapter_instance_or_garbage_is_no_process(name: str) -> None:
    assert parse_instance(name) is None


def recorded(**extra: float) -> dict[str, dict[str, float]]:
    """casparcg (pid 36924) on the TITAN V and the Intel GPU, as windows_exporter#725 recorded it,
    plus `extra` dedicated bytes on the TITAN for pids named `p<pid>`."""
    dedicated = {f"pid_36924_luid_{TITAN}_phys_0": 333795328.0, f"pid_36924_luid_{INTEL}_phys_0": 0.0}
    shared = {f"pid_36924_luid_{TITAN}_phys_0": 146309120.0, f"pid_36924_luid_{INTEL}_phys_0": 80207872.0}
    for key, value in extra.items():
        dedicated[f"pid_{key[1:]}_luid_{TITAN}_phys_0"] = value
        shared[f"pid_{key[1:]}_luid_{TITAN}_phys_0"] = 0.0
    return {"dedicated": dedicated, "shared": shared}


def test_memory_is_grouped_per_adapter_and_pid_and_the_nvidia_adapter_is_the_one_holding_dedicated() -> None:
    adapters = adapter_holders(recorded())
    assert adapters == {
        TITAN: {36924: {"dedicated": 333795328.0, "shared": 146309120.0}},
        INTEL: {36924: {"dedicated": 0.0, "shared": 80207872.0}},
    }
    assert nvidia_adapter(adapters, gpus=1) == TITAN


def test_two_physical_gpus_of_one_adapter_add_up_for_the_process() -> None:
    values = {"dedicated": {f"pid_7_luid_{TITAN}_phys_0": 1.0, f"pid_7_luid_{TITAN}_phys_1": 2.0}}
    assert adapter_holders(values) == {TITAN: {7: {"dedicated": 3.0}}}


def test_no_guess_with_two_nvidia_gpus_or_two_adapters_holding_dedicated_memory() -> None:
    # windows_exporter#2385: two RTX 4000 Ada, both phys 0, told apart only by LUID
    two = {"dedicated": {"pid_1_luid_0x00000000_0x00019BC9_phys_0": 5.0, "pid_1_luid_0x00000000_0x00018BFE_phys_0": 7.0}}
    assert nvidia_adapter(adapter_holders(two), gpus=2) is None
    assert nvidia_adapter(adapter_holders(two), gpus=1) is None


class Recorded:
    """The PDH seam answering recorded counter arrays, with the pids of this test's own processes."""

    def __init__(self, values: dict[str, dict[str, float]]) -> None:
        self.values = values

    def read(self) -> dict[str, dict[str, float]]:
        return self.values

    def close(self) -> None:
        pass


@pytest.fixture
def one_gpu(fake_nvml: FakeNvml) -> Iterator[FakeNvml]:
    fake_nvml.set(count=1)
    with fake_nvml.loaded():
        yield fake_nvml


@pytest.mark.rig
def test_top_holders_plus_a_rest_add_up_and_a_gone_pid_is_left_out(one_gpu: FakeNvml) -> None:
    me = os.getpid()
    parent = os.getppid()
    gone = subprocess.Popen(["true"])
    gone.wait()  # a real process that has exited: its pid names no process now
    values = recorded(**{f"p{me}": 17.8e9, f"p{parent}": 1e9, f"p{gone.pid}": 5e8})
    for kind in values.values():  # casparcg (pid 36924) of the recording stands for the gone pid
        for name in [n for n in kind if n.startswith("pid_36924_")]:
            del kind[name]
    collector = GpuHoldersCollector(15.0, top_n=1, reader=Recorded(values))
    samples = collector.collect(1.0)
    ids = {"gpu": "0", "uuid": fake_uuid(0)}
    got = {(s.labels["pid"], s.labels["process"], s.labels["kind"]): s.value for s in samples}
    import psutil

    assert got == {
        (str(me), psutil.Process(me).name(), "dedicated"): 17.8e9,
        ("", "rest", "dedicated"): 1e9,
        ("", "rest", "shared"): 0.0,
    }
    assert all({k: s.labels[k] for k in ids} == ids for s in samples)
    assert {s.name for s in samples} == {"wslwatch_gpu_process_memory_bytes"}


def test_the_wsl_vm_process_is_named_the_wsl_vm() -> None:
    found = holders({4242: {"dedicated": 2.0}, 77: {"dedicated": 1.0}}, {4242: "vmmemWSL", 77: "python.exe"})
    assert [h.labels["process"] for h in found] == ["python.exe", "the WSL VM"]


def test_off_windows_there_is_no_data_and_a_reason() -> None:
    with pytest.raises(NoData, match="only on Windows"):
        GpuHoldersCollector(15.0, top_n=5, reader=None).collect(1.0)


def test_vram_high_names_the_largest_dedicated_holder_not_shared_memory_or_the_rest() -> None:
    """The counters' series as `gpu_holders` exports them: a browser maps more shared system RAM
    than python.exe holds VRAM, and the rest is larger still; the summary names python.exe."""
    from wslwatch.config.schema import RulesConfig
    from wslwatch.core import Sample
    from wslwatch.daemon.rules.gpu import VramHigh
    from wslwatch.daemon.view import View
    from wslwatch.store import Store

    gib = 2**30
    gpu = {"gpu": "0", "uuid": "GPU-1"}

    def held(pid: str, process: str, kind: str, size: float) -> Sample:
        return Sample(SERIES, {**gpu, "pid": pid, "process": process, "kind": kind}, size * gib, 0.0)

    store = Store()
    store.record("gpu", [
        Sample("wslwatch_gpu_memory_total_bytes", gpu, 24 * gib, 0.0),
        Sample("wslwatch_gpu_memory_free_bytes", gpu, 1 * gib, 0.0),
    ], 0.0, 0.0)
    store.record("gpu_holders", [
        held("4242", "python.exe", "dedicated", 17.8),
        held("7", "msedge.exe", "shared", 20.0),
        held("", "rest", "dedicated", 19.0),
    ], 0.0, 0.0)
    findings = list(VramHigh(RulesConfig().vram_high).evaluate(View(store.snapshot(), store.history), lambda *_: False))
    assert findings and all(f.what.endswith("; largest: python.exe (pid 4242), 17.8 GB") for f in findings)
