"""`wslwatch config export-prometheus DIR`: a folder a real Prometheus and Alertmanager accept."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest
import yaml

from daemon_process import start_daemon
from readme import readme_command
from rigs import need
from rigs.prometheus import PROMETHEUS, PROMTOOL, start_prometheus
from rigs.tls import self_signed
from wslwatch.daemon.cli import main
from wslwatch.exporters.auth import MIN_ITERATIONS, hash_password
from wslwatch.exporters.bundle import RULES_FILE, ScrapeSecurity, bundle, check_address

AMTOOL = shutil.which("amtool")
PACKAGE = resources.files("wslwatch.exporters")


def export(folder: Path, *options: str) -> int:
    return main(["config", "export-prometheus", str(folder), *options])


def targets_in(folder: Path, name: str) -> list[str]:
    groups = json.loads((folder / name).read_text())
    return [target for group in groups for target in group["targets"]]


def test_export_writes_the_shipped_files_and_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "prom"
    assert export(folder, "--target", "ws1:9477", "--target", "192.168.1.20:9477", "--alertmanager", "am:9093") == 0
    assert (folder / RULES_FILE).read_text() == PACKAGE.joinpath("prometheus/rules.yml").read_text()
    assert (folder / "grafana/wslwatch.json").read_text() == PACKAGE.joinpath("grafana/wslwatch.json").read_text()
    assert targets_in(folder, "targets/wslwatch.json") == ["ws1:9477", "192.168.1.20:9477"]
    assert targets_in(folder, "alertmanagers/alertmanagers.json") == ["am:9093"]
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    assert config["rule_files"] == [RULES_FILE]
    assert f"wrote {folder / 'prometheus.yml'}" in capsys.readouterr().out


def test_the_readmes_export_command(tmp_path: Path) -> None:
    done = subprocess.run(
        shlex.split(readme_command("wslwatch config export-prometheus")), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert targets_in(tmp_path / "DIR", "targets/wslwatch.json") == ["ws01:9477", "ws02:9477"]
    assert targets_in(tmp_path / "DIR", "alertmanagers/alertmanagers.json") == ["localhost:9093"]


def test_default_target_is_this_machine_on_the_configured_port(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[exporter]\nport = 9600\n")
    assert export(tmp_path / "prom", "--config", str(config)) == 0
    assert targets_in(tmp_path / "prom", "targets/wslwatch.json") == ["localhost:9600"]
    assert targets_in(tmp_path / "prom", "alertmanagers/alertmanagers.json") == []


def test_existing_files_are_kept_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "prom"
    assert export(folder, "--target", "a:1") == 0
    assert export(folder, "--target", "b:2") == 2
    assert "use --force" in capsys.readouterr().err
    assert targets_in(folder, "targets/wslwatch.json") == ["a:1"]
    assert export(folder, "--target", "b:2", "--force") == 0
    assert targets_in(folder, "targets/wslwatch.json") == ["b:2"]


@pytest.mark.parametrize("address", ["ws1", "ws1:", "http://ws1:9477", "ws1:99999", "ws 1:9477", ":9477"])
def test_a_bad_address_writes_nothing(tmp_path: Path, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(tmp_path / "prom", "--target", address) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not (tmp_path / "prom").exists()


@pytest.mark.parametrize("address", ["localhost:9477", "10.0.0.7:1", "[::1]:9477", "host.docker.internal:9477"])
def test_good_addresses(address: str) -> None:
    assert check_address(address) is None


@pytest.mark.rig
def test_promtool_and_amtool_accept_the_folder(tmp_path: Path) -> None:
    need(PROMTOOL is not None and AMTOOL is not None, "promtool, amtool (Debian prometheus, prometheus-alertmanager)")
    assert PROMTOOL is not None and AMTOOL is not None
    assert export(tmp_path, "--alertmanager", "localhost:9093") == 0
    checked = subprocess.run(
        [PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout
    checked = subprocess.run(
        [AMTOOL, "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.rig
def test_prometheus_started_on_the_folder_scrapes_the_targets_and_alerts_the_alertmanager(tmp_path: Path) -> None:
    need(PROMETHEUS is not None, "prometheus (Debian package prometheus)")
    files = bundle(["127.0.0.1:1"], ["127.0.0.1:2"])
    write_folder(tmp_path, files)
    config = yaml.safe_load(files["prometheus.yml"])
    assert {"scheme", "tls_config", "basic_auth"}.isdisjoint(config["scrape_configs"][0]), "no login unless asked"
    with start_prometheus(tmp_path, config) as prometheus:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            targets = prometheus.api("targets")["activeTargets"]
            managers = prometheus.api("alertmanagers")["activeAlertmanagers"]
            if targets and managers:
                break
            time.sleep(0.2)
        assert [t["scrapeUrl"] for t in targets] == ["http://127.0.0.1:1/metrics"]
        assert targets[0]["labels"]["job"] == "wslwatch"
        assert [m["url"] for m in managers] == ["http://127.0.0.1:2/api/v2/alerts"]
        groups = prometheus.api("rules")["groups"]
        shipped = yaml.safe_load(files[RULES_FILE])["groups"]
        assert sorted(g["name"] for g in groups) == sorted(g["name"] for g in shipped)


def test_a_config_with_changed_rules_is_told_the_rules_are_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[rules.vram_high]\nwarning = 0.8\nclear = 0.75\n[rules.path_slow]\nenabled = false\n")
    assert export(tmp_path / "prom", "--config", str(config)) == 0
    err = capsys.readouterr().err
    assert "[rules.vram_high], [rules.path_slow]" in err and RULES_FILE in err


def test_default_rules_are_not_mentioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("[rules.vram_high]\nwarning = 0.90\n")
    assert export(tmp_path / "prom", "--config", str(config)) == 0
    assert capsys.readouterr().err == ""


def write_folder(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_half_a_login_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(tmp_path / "prom", "--username", "prometheus") == 2
    assert "needs both a username and a password file" in capsys.readouterr().err
    assert not (tmp_path / "prom").exists()


@pytest.mark.rig
def test_prometheus_scrapes_a_workstation_over_https_with_basic_auth(tmp_path: Path) -> None:
    """The lab recipe: the workstation sets a certificate and a user, the export logs in."""
    need(PROMETHEUS is not None, "prometheus (Debian package prometheus)")
    certfile, keyfile = self_signed(tmp_path)
    config = tmp_path / "wslwatch.toml"
    config.write_text(
        f'[exporter]\ncertfile = "{certfile}"\nkeyfile = "{keyfile}"\n'
        f'[exporter.basic_auth_users]\nprometheus = "{hash_password("s3cret", MIN_ITERATIONS)}"\n'
    )
    daemon = start_daemon(config)
    try:
        assert daemon.url.startswith("https://")
        folder = tmp_path / "prom"
        files = bundle([daemon.url.split("/")[2]], [], ScrapeSecurity("ca.pem", "prometheus", "password"))
        write_folder(folder, files)
        (folder / "ca.pem").write_bytes(certfile.read_bytes())
        (folder / "password").write_text("s3cret")
        prometheus_config = yaml.safe_load(files["prometheus.yml"])
        prometheus_config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        with start_prometheus(folder, prometheus_config) as prometheus:
            scraped = prometheus.query_until('wslwatch_build_info{job="wslwatch"}', 20)
            (target,) = prometheus.api("targets")["activeTargets"]
            assert scraped, f"not scraped: {target.get('lastError')}"
            assert target["scrapeUrl"].startswith("https://")
    finally:
        daemon.stop()
