"""The folder a Prometheus + Alertmanager + Grafana set-up mounts to monitor wslwatch machines.

Everything in it is shipped package data (rules, dashboard, example configs) except the two
target lists, which name the machines to scrape and the Alertmanagers to alert, and, for a lab
whose workstations serve /metrics over HTTPS with basic auth, how Prometheus logs in.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

from wslwatch.config.schema import RulesConfig

__all__ = ["RULES_FILE", "ScrapeSecurity", "bundle", "check_address", "customised_rules", "write_bundle"]

#: The rules' file name in the folder (the name `prometheus.yml` loads).
RULES_FILE = "wslwatch-rules.yml"

_PACKAGED = {
    "prometheus.yml": "prometheus/prometheus.yml",
    RULES_FILE: "prometheus/rules.yml",
    "alertmanager.yml": "prometheus/alertmanager.yml",
    "grafana/wslwatch.json": "grafana/wslwatch.json",
}
_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})$")


@dataclass(frozen=True)
class ScrapeSecurity:
    """How Prometheus reaches workstations that set exporter.certfile and basic_auth_users.

    File paths are written as given: Prometheus reads them relative to the folder, or absolute
    as Prometheus sees them (inside its container, for Docker).
    """

    ca_file: str = ""  # PEM of the CA (or the self-signed certificates) to trust; HTTPS when set
    username: str = ""  # a user of exporter.basic_auth_users ...
    password_file: str = ""  # ... and a file holding that user's password

    def problem(self) -> str | None:
        if bool(self.username) != bool(self.password_file):
            return "basic auth needs both a username and a password file"
        return None

    def scrape_lines(self) -> str:
        """The lines to add to the wslwatch scrape job (JSON strings are valid YAML strings)."""
        lines = []
        if self.ca_file:
            lines += ["    scheme: https", "    tls_config:", f"      ca_file: {json.dumps(self.ca_file)}"]
        if self.username:
            lines += [
                "    basic_auth:",
                f"      username: {json.dumps(self.username)}",
                f"      password_file: {json.dumps(self.password_file)}",
            ]
        return "".join(line + "\n" for line in lines)


def check_address(address: str) -> str | None:
    """What is wrong with a `HOST:PORT` scrape or Alertmanager address, or None."""
    match = _ADDRESS.match(address)
    if match is None:
        return f"{address!r} is not HOST:PORT (e.g. localhost:9477, 192.168.1.20:9477, [::1]:9477)"
    if not 1 <= int(match[2]) <= 65535:
        return f"{address!r}: the port must be from 1 to 65535"
    return None


def customised_rules(rules: RulesConfig) -> list[str]:
    """Rules whose settings differ from the defaults the shipped PromQL rules are written for."""
    defaults = RulesConfig()
    return [f.name for f in dataclasses.fields(rules) if getattr(rules, f.name) != getattr(defaults, f.name)]


def _target_list(addresses: Sequence[str]) -> str:
    """A Prometheus file_sd list: one group with every address, or none."""
    groups = [{"targets": list(addresses), "labels": {}}] if addresses else []
    return json.dumps(groups, indent=2) + "\n"


def bundle(
    targets: Sequence[str], alertmanagers: Sequence[str], security: ScrapeSecurity = ScrapeSecurity()
) -> dict[str, str]:
    """Relative path -> text of every file in the folder; raises ValueError for a bad address
    or half a login."""
    problems = [p for p in map(check_address, [*targets, *alertmanagers]) if p is not None]
    problems += [p for p in [security.problem()] if p is not None]
    if problems:
        raise ValueError("; ".join(problems))
    data = resources.files("wslwatch.exporters")
    files = {name: data.joinpath(source).read_text(encoding="utf-8") for name, source in _PACKAGED.items()}
    files["prometheus.yml"] += security.scrape_lines()
    files["targets/wslwatch.json"] = _target_list(targets)
    files["alertmanagers/alertmanagers.json"] = _target_list(alertmanagers)
    return files


def write_bundle(folder: Path, files: Mapping[str, str], overwrite: bool = False) -> list[Path]:
    """Write `files` under `folder` and return their paths; without `overwrite`, an existing
    file raises FileExistsError naming every one, before anything is written."""
    paths = {folder / name: text for name, text in files.items()}
    existing = [str(path) for path in paths if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(", ".join(existing))
    for path, text in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(paths)
