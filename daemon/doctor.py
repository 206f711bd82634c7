"""What `wslwatch doctor` finds: one finding per question a bug report needs answered.

Every enabled collector runs once through its real runner (as `wslwatch once` does), so the
report says what the daemon itself would see; the findings are read from that snapshot.
`.wslconfig` is also parsed here with the collector's own parser, for the line of each
problem, and each configured path is probed once with the I/O collector's own prober and
place finder (as `wslwatch probe` does), for the reason a probe fails. The exporter's port and the tray backend are asked about without disturbing
anything (`doctor_probes`). Nothing here prints or exits: `cmd_doctor` formats the findings.
"""

from __future__ import annotations

import dataclasses
import os
import platform as platform_info
import re
import statistics
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Literal, Mapping

import psutil

import wslwatch
from wslwatch.collectors._wslconfig_hosts import Host, WindowsHost, WslHost, choose_host
from wslwatch.collectors._wslconfig_parser import Problem, decode_wslconfig, effective_sizes, parse_wslconfig
from wslwatch.collectors.places import Place, PlaceFinder, default_place_finder
from wslwatch.collectors.probe import PathProber, ProbeResult, plan_samples
from wslwatch.collectors.wslconfig import MAX_BYTES as WSLCONFIG_MAX_BYTES
from wslwatch.config import Config, ConfigError, default_config_path, load
from wslwatch.core import CollectorError
from wslwatch.daemon.app import collect_once
from wslwatch.daemon.autostart import STORE_PYTHON_ADVICE, store_python
from wslwatch.daemon.cmd_where import advice
from wslwatch.daemon.doctor_probes import tray_backend, who_serves
from wslwatch.daemon.instance import read_info
from wslwatch.daemon.logs import log_path
from wslwatch.daemon.reclaiming import this_guest
from wslwatch.daemon.rules._wsl import model_for
from wslwatch.store import Health, Snapshot

__all__ = ["Finding", "Status", "gather"]

Status = Literal["ok", "warn", "fail", "info"]
System = Literal["windows", "wsl", "linux"]

#: Problems listed one by one in a finding; the rest are counted (a garbage file has thousands).
MAX_LISTED = 5
_GIB = float(1 << 30)
_RETRY_NOTE = re.compile(r" \(NVML init is tried again in \d+ collections?\)$")
_PACKAGES = ("psutil", "nvidia-ml-py", "prometheus-client", "apscheduler", "pystray", "pillow")
_PSI_FIX = {
    "wsl": "add `kernelCommandLine = psi=1` under [wsl2] in .wslconfig, then `wsl --shutdown` "
    "(current WSL kernels build PSI in but switch it off; older ones lack it)",
    "linux": "boot the kernel with `psi=1` (it needs CONFIG_PSI)",
}
_PSI_FIX["windows"] = _PSI_FIX["wsl"]
#: The VM process runs as `NT VIRTUAL MACHINE\<VM id>`, not as the user who started WSL, and
#: any user may read its memory (psutil falls back to the system's process list without
#: rights), so which user runs wslwatch is not the cause.
_VM_DENIED_FIX = (
    "the VM process runs as NT VIRTUAL MACHINE, not as you, and any user may normally read its memory, so "
    "which user runs wslwatch does not matter: security software or a policy that hides other processes' "
    "details is the usual cause (Task Manager's Details tab shows whether it can read the Memory column); "
    "allow wslwatch's Python there, or run `wslwatch run --log-level DEBUG` and attach the log to a bug report"
)


@dataclass(frozen=True)
class Finding:
    """One answer: `check` is `group.name` (e.g. `gpu.nvml`), `fix` is "" when nothing is to be done."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def group(self) -> str:
        return self.check.split(".", 1)[0]


@dataclass(frozen=True)
class _Context:
    """What every check may look at."""

    config: Config
    snapshot: Snapshot
    system: System
    host: Host
    places: PlaceFinder


def gather(
    config_path: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    python: str = sys.executable,
    places: PlaceFinder | None = None,
) -> list[Finding]:
    """Every finding, in report order; never raises for what it finds (a broken part is a finding).

    `places` tells where a path lives (default: this machine's mount table or volumes)."""
    env = os.environ if environ is None else environ
    host = choose_host(platform, env, "/proc")
    system: System = "windows" if isinstance(host, WindowsHost) else "wsl" if isinstance(host, WslHost) else "linux"
    config, config_findings = _load_config(config_path)
    snapshot = collect_once(_without_probes(config))
    context = _Context(config, snapshot, system, host, places or default_place_finder())
    checks: tuple[Callable[[_Context], list[Finding]], ...] = (
        _vm_process, _guest, _wslconfig, _wsl_version, _reclaim, _gpu, _paths, _exporter,
    )  # fmt: skip
    findings = _about(system) + [_instance(), _log()] + config_findings
    for check in checks:
        findings += check(context)
    return findings + _tray(platform, env, python)


def _without_probes(config: Config) -> Config:
    """`config` with the I/O collectors off: `_paths` probes each path once itself."""
    io = dataclasses.replace(config.collectors.io_latency, enabled=False)
    return dataclasses.replace(config, collectors=dataclasses.replace(config.collectors, io_latency=io))


def _about(system: System) -> list[Finding]:
    packages = ", ".join(f"{name} {_version_of(name)}" for name in _PACKAGES)
    where = {"windows": "Windows", "wsl": "inside WSL", "linux": "Linux (not WSL)"}[system]
    return [
        Finding("wslwatch.version", "info", f"wslwatch {wslwatch.__version__}"),
        Finding(
            "wslwatch.python",
            "info",
            f"Python {platform_info.python_version()} ({platform_info.python_implementation()}) at {sys.executable}; "
            + packages,
        ),
        Finding("wslwatch.os", "info", f"{where}: {platform_info.platform()}"),
    ] + _store_python(system, sys.base_prefix)


def _store_python(system: System, base_prefix: str) -> list[Finding]:
    """A warning on Windows when this is the Microsoft Store's Python (see `autostart.store_python`)."""
    if system != "windows" or not store_python(base_prefix):
        return []
    return [Finding("wslwatch.store_python", "warn", f"Python from the Microsoft Store ({base_prefix})",
                    STORE_PYTHON_ADVICE[0].upper() + STORE_PYTHON_ADVICE[1:])]  # fmt: skip


def _instance() -> Finding:
    """Whether this user's daemon runs, from what it recorded (the lock itself is not touched)."""
    check = "wslwatch.daemon"
    info = read_info()
    if info is None:
        return Finding(check, "info", "no wslwatch daemon runs for this user")
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started))
    if _alive_since(info.pid, info.started):
        return Finding(check, "info", f"runs as pid {info.pid} since {started}, serving {info.url or '(not yet)'}")
    return Finding(
        check, "warn", f"the daemon started {started} (pid {info.pid}) did not exit cleanly: it crashed or was killed",
        f"look at the end of {log_path()}; `wslwatch run` starts a new one",
    )  # fmt: skip


def _alive_since(pid: int, started: float) -> bool:
    """Whether `pid` runs and was started by then (not a later process that reuses the number)."""
    try:
        return bool(psutil.Process(pid).create_time() <= started + 1.0)
    except psutil.Error:
        return False


def _log() -> Finding:
    path = log_path()
    detail = f"{path} ({path.stat().st_size // 1024} KiB)" if path.exists() else f"{path} (not written yet)"
    return Finding("wslwatch.log", "info", detail, "attach its last lines to a bug report" if path.exists() else "")


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _load_config(path: Path | None) -> tuple[Config, list[Finding]]:
    """The config in use and a finding about it; an invalid file is reported and the defaults used."""
    if path is None and not default_config_path().exists():
        detail = f"none: the built-in defaults (no file at {default_config_path()})"
        return Config(), [Finding("config.file", "info", detail, "`wslwatch config init` writes a commented one")]
    shown = path or default_config_path()
    try:
        config = load(path)
    except ConfigError as exc:
        detail = f"{shown} is invalid, so this report uses the built-in defaults:\n" + _listed(exc.problems)
        fix = f"fix the lines above (`wslwatch config check {shown}`); `wslwatch run` refuses to start until then"
        return Config(), [Finding("config.file", "fail", detail, fix)]
    return config, [Finding("config.file", "ok", f"{shown}: valid")]


def _listed(lines: list[str]) -> str:
    shown = lines[:MAX_LISTED]
    more = len(lines) - len(shown)
    return "\n".join(shown + ([f"... and {more} more"] if more else []))


def _size(value: float) -> str:
    """Bytes in GiB, or in MiB below 1 GiB (0 is `0 GiB`)."""
    if 0 < value < _GIB:
        return f"{value / (1 << 20):.0f} MiB"
    return f"{value / _GIB:.1f} GiB"


def _health(snapshot: Snapshot, collector: str) -> Health | None:
    return next((h for h in snapshot.health if h.collector == collector), None)


def _disabled(check: str, collector: str) -> Finding:
    return Finding(check, "info", f"not checked: [collectors.{collector}] enabled = false in the config")


def _failed(check: str, health: Health, fix: str) -> Finding:
    """A collector that could not report: a fault is `fail`, "no data now" is `info`."""
    status: Status = "fail" if health.errors_total else "info"
    return Finding(check, status, health.reason or "no reason given", fix if health.errors_total else "")


def _unhealthy(ctx: _Context, check: str, collector: str, fix: str) -> list[Finding] | None:
    """The findings of a collector that is off or could not report; None when it reported."""
    health = _health(ctx.snapshot, collector)
    if health is None:
        return [_disabled(check, collector)]
    return None if health.up else [_failed(check, health, fix)]


def _vm_process(ctx: _Context) -> list[Finding]:
    check = "wsl.vm_process"
    health = _health(ctx.snapshot, "vmmem")
    if health is None:
        return [_disabled(check, "vmmem")]
    names = ", ".join(ctx.config.collectors.vmmem.process_names)
    if not health.up:
        return [_failed(check, health, "see the log of `wslwatch run --log-level DEBUG`")]
    if ctx.snapshot.value("wslwatch_vmmem_up") == 1.0:
        working_set = ctx.snapshot.series("wslwatch_vmmem_working_set_bytes")
        if not working_set:
            return [Finding(check, "warn", f"a process named one of {names} runs, but its memory cannot be read "
                            "(access denied)", _VM_DENIED_FIX)]  # fmt: skip
        process = working_set[0]
        detail = f"{process.labels['process']} runs; working set {_size(process.value)}"
        return [Finding(check, "ok", detail)]
    if ctx.system == "windows":
        return [Finding(check, "warn", f"no process named {names}: the WSL VM is not running",
                        "start a WSL distro (open a WSL terminal); if WSL runs under another name, "
                        "set collectors.vmmem.process_names")]  # fmt: skip
    if ctx.system == "wsl":
        return [Finding(check, "info", "the VM process (vmmemWSL) lives on Windows and cannot be seen from inside WSL",
                        "run wslwatch on Windows too, to see the VM's memory as Windows counts it")]  # fmt: skip
    return [Finding(check, "info", f"not on Windows: there is no WSL VM here (no process named {names})")]


def _guest(ctx: _Context) -> list[Finding]:
    health = _health(ctx.snapshot, "wsl_guest")
    if health is None:
        return [_disabled("wsl.guest", "wsl_guest")]
    if not health.up:
        fix = "check [collectors.wsl_guest] proc_root and distro in the config"
        return [_failed("wsl.guest", health, fix), Finding("wsl.psi", "info", "unknown: the guest could not be read")]
    total = ctx.snapshot.value("wslwatch_guest_memory_total_bytes") or 0.0
    available = ctx.snapshot.value("wslwatch_guest_memory_available_bytes")
    swap = ctx.snapshot.value("wslwatch_guest_swap_total_bytes")
    parts = [f"MemTotal {_size(total)}"]
    if available is not None:
        parts.append(f"MemAvailable {_size(available)}")
    if swap is not None:
        parts.append(f"swap {_size(swap)}")
    guest = Finding("wsl.guest", "ok", "guest memory readable: " + ", ".join(parts))
    pressure = ctx.snapshot.value("wslwatch_guest_memory_pressure_some_ratio")
    if pressure is not None:
        psi = Finding("wsl.psi", "ok", f"PSI is on: memory pressure (some, avg60) {pressure * 100:.1f} %")
    else:
        psi = Finding(
            "wsl.psi", "info", "PSI is off (no /proc/pressure/memory): no memory-pressure metric", _PSI_FIX[ctx.system]
        )
    return [guest, psi]


def _wslconfig(ctx: _Context) -> list[Finding]:
    check = "wsl.wslconfig"
    fix = 'set collectors.wslconfig.path (e.g. "/mnt/c/Users/<you>/.wslconfig")'
    if (unhealthy := _unhealthy(ctx, check, "wslconfig", fix)) is not None:
        return unhealthy
    snap = ctx.snapshot
    info = snap.series("wslwatch_wsl_config_info")[0].labels
    codes = sorted(s.labels["code"] for s in snap.series("wslwatch_wsl_config_problem"))
    memory = snap.value("wslwatch_wsl_config_memory_limit_bytes")
    swap = snap.value("wslwatch_wsl_config_swap_bytes")
    source = "[experimental]" if info["section"] == "experimental" else "WSL's default"
    effective = [f"autoMemoryReclaim {info['auto_memory_reclaim']} ({source})"]
    effective += [f"memory {_size(memory)}"] if memory is not None else []
    effective += [f"swap {_size(swap)}"] if swap is not None else []
    path = info["path"]
    where = path if path else "no .wslconfig (WSL's defaults apply)"
    summary = Finding(check, "warn" if codes else "ok", f"{where}: " + ", ".join(effective))
    if not codes:
        return [summary]
    problems = _wslconfig_problems(path, ctx.host) if path else []
    lines = [f"line {p.where()}: {p.message}" if p.line else p.message for p in problems]
    explained = {p.code for p in problems}
    lines += [f"{code} (see docs/wslconfig.md)" for code in codes if code not in explained]
    fix = f"edit {path}, then `wsl --shutdown` so the VM starts with the new settings" if path else ""
    return [summary, Finding("wsl.wslconfig_problems", "warn", _listed(lines), fix)]


def _wslconfig_problems(path: str, host: Host) -> list[Problem]:
    """The file's problems with their lines, by the collector's own parser (empty if it cannot be read)."""
    try:
        with open(path, "rb") as file:
            data = file.read(WSLCONFIG_MAX_BYTES + 1)
    except OSError:
        return []
    truncated = len(data) > WSLCONFIG_MAX_BYTES
    text, decoding = decode_wslconfig(data[:WSLCONFIG_MAX_BYTES], truncated)
    parsed = parse_wslconfig(text)
    try:
        basis = host.memory_basis()
    except CollectorError:
        return list(decoding + parsed.problems)
    sizes = effective_sizes(parsed, basis.host_total_bytes, basis.default_memory_bytes)
    return list(decoding + parsed.problems + sizes.problems)


#: What a GPU line says this driver does not report, and the series that tells.
_GPU_VALUES = (
    ("memory", "wslwatch_gpu_memory_total_bytes"),
    ("utilization", "wslwatch_gpu_utilization_ratio"),
    ("temperature", "wslwatch_gpu_temperature_celsius"),
    ("power", "wslwatch_gpu_power_watts"),
)


def _wsl_version(ctx: _Context) -> list[Finding]:
    check = "wsl.version"
    if (unhealthy := _unhealthy(ctx, check, "wsl_version", "update WSL: `wsl --update` in a Windows terminal")) is not None:
        return unhealthy
    info = ctx.snapshot.series("wslwatch_wsl_info")[0].labels
    model = model_for(info["version"])
    judged = (
        "user CPU, 10 min (dropCache) / 3 min (gradual)" if model.name == "released" else "all non-idle CPU, 2 min"
    )
    if not model.version:
        return [Finding(check, "warn", f"WSL version unknown (kernel {info['kernel']}): the reclaim rules judge the guest "
                        f"as released WSL (≤ 2.9.x) does: {judged}",
                        "update WSL (`wsl --update`); inside WSL, `wslinfo --wsl-version` tells the version")]  # fmt: skip
    return [Finding(check, "ok", f"WSL {model.version}, kernel {info['kernel']}: its reclaim thread judges {judged}")]


def _reclaim(ctx: _Context) -> list[Finding]:
    check = "reclaim.controller"
    if not ctx.config.reclaim.enabled:
        return [Finding(check, "info", "the reclaim controller is off ([reclaim] enabled = false; docs/reclaim.md)")]
    guest = this_guest(ctx.config)()
    if isinstance(guest, str):
        return [Finding(check, "warn", f"the reclaim controller is on but cannot act now: {guest}")]
    return [Finding(check, "ok", "the reclaim controller is on and can reach the guest as root")]


def _gpu(ctx: _Context) -> list[Finding]:
    check = "gpu.nvml"
    health = _health(ctx.snapshot, "gpu")
    if health is None:
        return [_disabled(check, "gpu")]
    if not health.up:
        reason = _RETRY_NOTE.sub("", health.reason or "NVML gave no reason")  # the daemon's retry plan
        fix = "as the detail says; on a machine without an NVIDIA GPU, set [collectors.gpu] enabled = false"
        return [Finding(check, "warn", reason, fix)]
    snap = ctx.snapshot
    gpus = snap.series("wslwatch_gpu_info")
    driver = gpus[0].labels["driver_version"] if gpus else "?"
    lines = [f"NVML works: driver {driver}, {len(gpus)} GPU{'s' * (len(gpus) != 1)}"]
    for info in gpus:
        ids = {"gpu": info.labels["gpu"]}
        total = snap.value("wslwatch_gpu_memory_total_bytes", **ids)
        vram = f", {_size(total)} VRAM" if total is not None else ""
        missing = [what for what, name in _GPU_VALUES if snap.value(name, **ids) is None]
        absent = f"; not reported by this driver: {', '.join(missing)}" if missing else ""
        lines.append(f"GPU {info.labels['gpu']}: {info.labels['name']}{vram}{absent}")
    return [Finding(check, "ok", "\n".join(lines))]



def _paths(ctx: _Context) -> list[Finding]:
    """Each configured path: where it lives (cross-OS flagged) and whether one probe works there."""
    io = ctx.config.collectors.io_latency
    finder = ctx.places
    findings = []
    for path in ctx.config.paths:
        absolute = os.path.abspath(os.path.expanduser(path.path))
        before = finder.place(absolute, None)  # by the mount table alone: no I/O on the path
        result = _probe_once(absolute, io.deadline_s, bool(before and before.readonly)) if io.enabled else None
        place = (finder.place(absolute, result.facts) if result else None) or before
        findings.append(_path_finding(path.name, absolute, path.data, place, result))
    return findings


def _probe_once(path: str, deadline_s: float, readonly: bool) -> ProbeResult:
    """One sample of each operation, its probe area removed afterwards (as `wslwatch probe` does)."""
    prober = PathProber(path)
    result = prober.probe(plan_samples(1), gap_s=0.0, deadline_s=deadline_s, readonly=readonly, keep_area=False)
    prober.close()
    return result


def _path_finding(name: str, path: str, data: bool, place: Place | None, result: ProbeResult | None) -> Finding:
    """`paths.NAME` (the path itself when it has no name, and then not repeated in the detail)."""
    check = f"paths.{name or path}"
    where = "no mount holds it" if place is None else (
        f"{place.kind} ({place.fstype} at {place.mountpoint}{', read-only' if place.readonly else ''})"
    )  # fmt: skip
    lines = [f"{path}: {where}" if name else where]
    if result is None:
        lines.append("not probed: [collectors.io_latency] enabled = false")
    elif result.status != "ok":
        lines.append(f"probe {result.status}: {result.reason}")
        fix = "check that the directory exists and that this user may read and write it; a stalled probe "
        fix += "means the filesystem does not answer (a dead network share or drive)"
        return Finding(check, "fail", "\n".join(lines), fix)
    else:
        timed = [(statistics.median(seconds), op) for op, seconds in result.latencies.items() if seconds]
        if timed:
            seconds, op = max(timed)
            lines.append(f"probe ok; slowest operation {op} {seconds * 1000:.2f} ms")
        lines += result.notes + [f"not measured here: {op} ({why})" for op, why in sorted(result.skipped.items())]
    degraded = result is not None and bool(result.notes or result.skipped)
    if place is not None and place.cross_os:
        return Finding(check, "warn" if data or degraded else "info", "\n".join(lines), advice(place) or "")
    if place is None:
        return Finding(check, "warn", "\n".join(lines), "check the path in [[paths]]")
    if degraded:
        fix = f"let this user write in {path} (the probe works in its .wslwatch-probe/ folder) and check free space"
        return Finding(check, "warn", "\n".join(lines), fix)
    return Finding(check, "ok", "\n".join(lines))


def _exporter(ctx: _Context) -> list[Finding]:
    exporter = ctx.config.exporter
    findings = []
    if exporter.bind not in ("127.0.0.1", "::1", "localhost"):
        findings.append(Finding("exporter.bind", "warn",
                                f"/metrics would listen on {exporter.bind}: other machines can read it",
                                'set exporter.bind = "127.0.0.1" unless a Prometheus on another machine scrapes it'))  # fmt: skip
    if exporter.port == 0:
        findings.append(Finding("exporter.port", "info", "exporter.port = 0: `wslwatch run` takes any free port"))
        return findings
    answer = who_serves(exporter.bind, exporter.port, tls=bool(exporter.certfile))
    fix_other = "stop that program, or choose another exporter.port (or `wslwatch run --port N`)"
    found = {
        "free": Finding("exporter.port", "ok", f"{answer.address} is free ({answer.detail})"),
        "wslwatch": Finding("exporter.port", "info", f"{answer.address}: {answer.detail}: the daemon is running"),
        "other": Finding("exporter.port", "fail", f"{answer.address} is taken: {answer.detail}", fix_other),
        "unknown": Finding("exporter.port", "warn", f"{answer.address}: {answer.detail}", fix_other),
    }  # fmt: skip
    return findings + [found[answer.state]]


def _tray(platform: str, environ: Mapping[str, str], python: str) -> list[Finding]:
    answer = tray_backend(platform, environ, python)
    if answer.state != "backend":
        fix = (
            "nothing, if no icon is wanted (`wslwatch run --headless`); otherwise run it in a desktop session "
            "(WSLg sets DISPLAY inside WSL)"
        )
        return [
            Finding("tray.backend", "info", f"{answer.detail}: alerts still reach /metrics and the log", fix),
            Finding("tray.notifications", "info", "none without a tray: alerts go to the log and to /metrics"),
        ]
    backend = Finding("tray.backend", "ok", f"`wslwatch run` would show its icon through {answer.detail}")
    if answer.notifies:
        return [backend, Finding("tray.notifications", "ok", f"through the tray ({answer.backend} backend)")]
    from wslwatch.tray.notifiers import DbusNotifier  # only here: the tray package loads Pillow

    found = DbusNotifier.find()
    if isinstance(found, str):
        detail = f"the {answer.backend} tray shows none and there is no D-Bus fallback: {found}"
        return [backend, Finding("tray.notifications", "warn", detail,
                                 "alerts still go to the log and /metrics; for pop-ups run a notification server "
                                 "(any desktop has one)")]  # fmt: skip
    return [backend, Finding("tray.notifications", "ok", "through D-Bus (the desktop's notification server)")]
