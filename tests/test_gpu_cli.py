"""`wslwatch once --json` in a child process: the fake NVML library through LD_LIBRARY_PATH."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rigs.fake_nvml import FakeNvml, fake_uuid

#: Only the GPU collector runs; the others are another module's tests.
GPU_ONLY = """
[collectors.host_memory]
enabled = false
[collectors.vmmem]
enabled = false
[collectors.wsl_guest]
enabled = false
[collectors.wslconfig]
enabled = false
[collectors.wsl_version]
enabled = false
[collectors.process]
enabled = false
[collectors.gpu]
per_process = true
"""


def once_json(config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "wslwatch", "once", "--json", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "wslwatch.toml"
    path.write_text(GPU_ONLY)
    return path


def without_nvml_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "FAKE_NVML_STATE")}


@pytest.mark.rig
def test_once_shows_the_fake_gpu(fake_nvml: FakeNvml, config: Path) -> None:
    fake_nvml.set(count=2, used_mib=[2048, 4096], no_v2=1, procs="4194305:512@1", proc_mem_na=0)
    document = once_json(config, {**without_nvml_env(), **fake_nvml.env()})
    assert document["errors"] == {}
    used = {s["labels"]["gpu"]: s["value"] for s in document["samples"] if s["name"] == "wslwatch_gpu_memory_used_bytes"}
    assert used == {"0": 2048 * 2**20, "1": 4096 * 2**20}
    processes = [s for s in document["samples"] if s["name"] == "wslwatch_gpu_process_memory_bytes"]
    assert processes == [
        {
            "name": "wslwatch_gpu_process_memory_bytes",
            "labels": {"gpu": "1", "uuid": fake_uuid(1), "pid": "4194305", "process": "", "kind": "dedicated"},
            "value": 512 * 2**20,
        }
    ]


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has a real NVML library")
def test_once_without_a_library_reports_why(config: Path) -> None:
    document = once_json(config, without_nvml_env())
    assert not [s for s in document["samples"] if s["name"].startswith("wslwatch_gpu_")]
    assert document["errors"]["gpu"].startswith("NVML library not found")
