"""A lab in miniature: a real Prometheus scrapes a real `wslwatch run`, a real Alertmanager
delivers its alerts to a webhook, all on loopback.

Prometheus runs on the folder `config export-prometheus` writes (scrape and evaluation every
second instead of 15 s), the Alertmanager on the shipped route (receivers pointed at the
test's webhook, group_wait shortened). The GPU is the fake NVML library reporting 98 % VRAM
in use; the WSL VM process is a stand-in process named vmmemWSL.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from daemon_process import start_daemon
from shipped import dashboard_targets

from rigs import need
from rigs.fake_nvml import FakeNvml, fake_uuid
from rigs.prometheus import (
    ALERTMANAGER,
    PROMETHEUS,
    Alertmanager,
    Prometheus,
    WebhookReceiver,
    start_alertmanager,
    start_prometheus,
)
from wslwatch.exporters.bundle import bundle

pytestmark = pytest.mark.rig  # Prometheus, Alertmanager, the fake NVML library

#: Grafana's `$__rate_interval` for a 1 s scrape is 4 s; a little more leaves room for slow probes.
RATE_INTERVAL = "10s"
VRAM_TOTAL_MIB = 16384
VRAM_USED_MIB = 16056  # 98 %


@dataclass
class Lab:
    prometheus: Prometheus
    alertmanager: Alertmanager
    webhook: WebhookReceiver
    instance: str
    path: str


def _daemon_config(folder: Path, wslconfig: Path, data: Path) -> Path:
    fast = "".join(
        f"[collectors.{name}]\ninterval_s = 1\n" for name in ("host_memory", "vmmem", "wsl_guest", "gpu", "process")
    )
    text = (
        fast
        + f'[collectors.wslconfig]\ninterval_s = 1\npath = "{wslconfig}"\n'
        + f'[[paths]]\npath = "{data}"\nname = "data"\ninterval_s = 1\n'
    )
    config = folder / "wslwatch.toml"
    config.write_text(text)
    return config


def _vm_stand_in(folder: Path) -> subprocess.Popen[bytes]:
    """A process named like the WSL VM process (the interpreter through a `vmmemWSL` symlink)."""
    (folder / "bin").mkdir()
    (folder / "bin" / "vmmemWSL").symlink_to(os.path.realpath(sys.executable))
    program = folder / "bin" / "vmmemWSL"
    return subprocess.Popen([str(program), "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)


def _alertmanager_config(webhook: str) -> dict[str, Any]:
    """The shipped route, delivering to `webhook` and without the 30 s wait before the first notification."""
    config: dict[str, Any] = yaml.safe_load(bundle([], [])["alertmanager.yml"])
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = webhook
    config["route"]["group_wait"] = "1s"
    return config


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, fake_nvml_dir: Path) -> Iterator[Lab]:
    need(PROMETHEUS is not None and ALERTMANAGER is not None, "prometheus and prometheus-alertmanager (Debian)")
    base = tmp_path_factory.mktemp("lab")
    nvml = FakeNvml(fake_nvml_dir, base / "nvml-state")
    nvml.set(total_mib=VRAM_TOTAL_MIB, used_mib=VRAM_USED_MIB, util_gpu=80, temp_c=71)
    wslconfig = base / ".wslconfig"
    wslconfig.write_text("[experimental]\nautoMemoryReclaim=gradual\n[wsl2]\nmemory=8GB\n")
    (base / "data").mkdir()
    with ExitStack() as stack:
        vm = stack.enter_context(_vm_stand_in(base))
        stack.callback(vm.kill)
        daemon = start_daemon(_daemon_config(base, wslconfig, base / "data"), env=nvml.env())
        stack.callback(daemon.stop)
        instance = re.sub(r"^http://|/metrics$", "", daemon.url)
        webhook = stack.enter_context(WebhookReceiver())
        alertmanager = stack.enter_context(start_alertmanager(base / "alertmanager", _alertmanager_config(webhook.url)))
        folder = base / "prometheus"
        files = bundle([instance], [alertmanager.url.removeprefix("http://")])
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        config = yaml.safe_load(files["prometheus.yml"])
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        prometheus = stack.enter_context(start_prometheus(folder, config))
        yield Lab(prometheus, alertmanager, webhook, instance, str(base / "data"))


def _regex(value: str) -> str:
    """A value as Grafana puts it into `label=~"$var"`: regex-escaped, inside a PromQL string."""
    return re.escape(value).replace("\\", "\\\\")


def dashboard_query(expr: str, lab: Lab) -> str:
    """A dashboard query with its variables set as Grafana would for this lab."""
    return (
        expr.replace("$__rate_interval", RATE_INTERVAL)
        .replace("$instance", _regex(lab.instance))
        .replace("$path", _regex(lab.path))
    )


def _has_number(result: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(item["value"][1])) for item in result)


def test_prometheus_scrapes_wslwatch(lab: Lab) -> None:
    up = lab.prometheus.query_until(f'up{{instance="{lab.instance}"}} == 1', 20)
    assert up and up[0]["metric"]["job"] == "wslwatch"


def test_every_dashboard_query_returns_data(lab: Lab) -> None:
    queries = {f"{title} [{t['refId']}]": dashboard_query(t["expr"], lab) for title, t in dashboard_targets()}
    missing = dict(queries)
    deadline = time.monotonic() + 90
    while missing and time.monotonic() < deadline:
        for name, query in list(missing.items()):
            if _has_number(lab.prometheus.query(query)):
                del missing[name]
        time.sleep(0.5)
    assert not missing, "dashboard queries without data:\n" + "\n".join(f"{k}: {v}" for k, v in missing.items())


def test_every_rule_evaluates_without_error(lab: Lab) -> None:
    lab.prometheus.query_until("wslwatch:gpu_memory_used:ratio", 20)
    time.sleep(2)  # a few evaluations with every series present
    rules = [rule for group in lab.prometheus.api("rules")["groups"] for rule in group["rules"]]
    assert rules
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert not broken


def test_alertmanager_delivers_the_vram_alert_with_its_summary(lab: Lab) -> None:
    def vram_critical(payload: dict[str, Any]) -> bool:
        return any(
            alert["status"] == "firing"
            and alert["labels"].get("alertname") == "WslwatchVramHigh"
            and alert["labels"].get("severity") == "critical"
            for alert in payload["alerts"]
        )

    payload = lab.webhook.wait_for(vram_critical, timeout_s=120)
    held = json.dumps(lab.alertmanager.alerts())
    assert payload is not None, f"no VRAM alert reached the webhook; Alertmanager holds {held}"
    (alert,) = [a for a in payload["alerts"] if a["labels"].get("alertname") == "WslwatchVramHigh"]
    assert alert["labels"]["instance"] == lab.instance
    assert alert["labels"]["gpu"] == "0" and alert["labels"]["uuid"] == fake_uuid(0)
    assert alert["labels"]["rule"] == "vram_high"
    summary = alert["annotations"]["summary"]
    assert "GPU 0" in summary and "98" in summary and lab.instance in summary, summary
    assert "out of memory" in alert["annotations"]["description"]
