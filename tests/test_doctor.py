"""`wslwatch doctor`: the real command in a child process, on this machine, with real rigs.

The fake NVML library stands in for a GPU, fixture trees for a guest's /proc, real sockets
and a real daemon for the exporter's port, a real X server for the tray.
"""

from __future__ import annotations

import ctypes.util
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wslwatch
from prometheus_client import CollectorRegistry

from daemon_process import scrape, start_daemon
from rigs.fake_nvml import FakeNvml
from rigs.tls import self_signed
from rigs.slowfs_rig import SlowFsMount, slowfs  # noqa: F401 - the fixture
from rigs.xdesktop import dunst, session_bus, xvfb
from wslwatch.collectors.places import MountinfoPlaces
from wslwatch.collectors._wslconfig_hosts import choose_host
from wslwatch.config.schema import Config
from wslwatch.core import Sample
from wslwatch.daemon.doctor import _Context, _vm_process, gather
from wslwatch.daemon.doctor_probes import who_serves
from wslwatch.store import Store
from wslwatch.exporters.auth import hash_password
from wslwatch.exporters.http import serve
from wslwatch.exporters.prometheus import StoreCollector

FIXTURES = Path(__file__).parent / "fixtures"
STATUSES = {"ok", "warn", "fail", "info"}
#: Variables of the test machine that would change what doctor finds.
_SCRUBBED = (
    "DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND", "LD_LIBRARY_PATH", "FAKE_NVML_STATE",
    "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR",
)  # fmt: skip
NO_REAL_NVML = pytest.mark.skipif(
    ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has a real NVML library"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in _SCRUBBED}, **extra}


#: Other tests on this machine run processes named vmmemWSL; doctor's tests look for this name.
VM_NAME = f"vmdoc{os.getpid()}"


def write_config(tmp_path: Path, text: str = "", port: int | None = None) -> Path:
    """A config on a free port, looking for a VM process no other test starts, plus `text`."""
    config = tmp_path / "wslwatch.toml"
    head = f'[exporter]\nport = {free_port() if port is None else port}\n[collectors.vmmem]\nprocess_names = ["{VM_NAME}"]\n'
    config.write_text(head + text)
    return config


def doctor(config: Path | None, env: dict[str, str] | None = None, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "wslwatch", "doctor", *extra]
    argv += ["--config", str(config)] if config is not None else []
    return subprocess.run(argv, env=env or clean_env(), capture_output=True, text=True, timeout=60, check=False)


def findings(config: Path | None, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """`doctor --json`, by check; asserts the document's shape on the way."""
    done = doctor(config, env, "--json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    listed: list[dict[str, str]] = document["findings"]
    assert all(set(f) == {"check", "status", "detail", "fix"} for f in listed)
    assert all(f["status"] in STATUSES for f in listed)
    by_check = {f["check"]: f for f in listed}
    assert len(by_check) == len(listed), "each check appears once"
    return by_check


@NO_REAL_NVML
def test_this_machine_in_json(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    found = findings(config)
    assert found["wslwatch.version"]["detail"] == f"wslwatch {wslwatch.__version__}"
    assert f"Python {sys.version.split()[0]}" in found["wslwatch.python"]["detail"]
    assert "psutil " in found["wslwatch.python"]["detail"]
    assert found["config.file"] == {"check": "config.file", "status": "ok", "detail": f"{config}: valid", "fix": ""}
    assert found["wsl.vm_process"]["status"] == "info" and "no WSL VM here" in found["wsl.vm_process"]["detail"]
    assert found["wsl.guest"]["status"] == "ok" and "MemTotal" in found["wsl.guest"]["detail"]
    assert found["wsl.wslconfig"]["status"] == "info", "plain Linux: no .wslconfig to find, no fault"
    gpu = found["gpu.nvml"]
    assert gpu["status"] == "warn" and gpu["detail"].startswith("NVML library not found")
    assert "tried again" not in gpu["detail"], "the daemon's retry plan means nothing in a one-off report"
    assert "[collectors.gpu] enabled = false" in gpu["fix"]
    assert found["exporter.port"]["status"] == "ok" and "is free" in found["exporter.port"]["detail"]
    tray = found["tray.backend"]
    assert tray["status"] == "info" and tray["detail"].startswith("no display")
    assert found["tray.notifications"]["detail"] == "none without a tray: alerts go to the log and to /metrics"
    groups = list(dict.fromkeys(check.split(".")[0] for check in found))
    assert groups == ["wslwatch", "config", "wsl", "reclaim", "gpu", "exporter", "tray"]


def test_text_report_is_grouped_and_fits_a_screen(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = doctor(config)
    assert done.returncode == 0
    assert done.stderr == "", "the collectors' log lines would repeat the report"
    lines = done.stdout.splitlines()
    assert lines[0] == "wslwatch"
    for group in ("config", "wsl", "gpu", "exporter", "tray"):
        assert group in lines and lines[lines.index(group) - 1] == "", f"{group} heading after a blank line"
    assert any(line.startswith("  ok    guest ") for line in lines)
    too_long = [line for line in lines if len(line) > 100]
    assert all(len(line.split()[-1]) > 40 for line in too_long), "wrapped at 100 columns, but for one long word"
    assert len(lines) <= 60
    summary = json.loads(doctor(config, None, "--json").stdout)["findings"]
    counts = {s: sum(f["status"] == s for f in summary) for s in ("ok", "warn", "fail", "info")}
    assert lines[-1] == f"summary: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail, {counts['info']} info"


@pytest.mark.rig
def test_gpus_through_the_fake_library(tmp_path: Path, fake_nvml: FakeNvml) -> None:
    fake_nvml.set(count=2, util_error=3, driver_version="555.85")
    gpu = findings(write_config(tmp_path), clean_env(**fake_nvml.env()))["gpu.nvml"]
    assert gpu["status"] == "ok"
    assert gpu["detail"].splitlines() == [
        "NVML works: driver 555.85, 2 GPUs",
        "GPU 0: Fake NVIDIA GPU, 16.0 GiB VRAM; not reported by this driver: utilization",
        "GPU 1: Fake NVIDIA GPU, 16.0 GiB VRAM; not reported by this driver: utilization",
    ]


@pytest.mark.rig
def test_a_driver_that_is_not_loaded(tmp_path: Path, fake_nvml: FakeNvml) -> None:
    fake_nvml.set(init_error=9)
    gpu = findings(write_config(tmp_path), clean_env(**fake_nvml.env()))["gpu.nvml"]
    assert gpu["status"] == "warn" and gpu["detail"].startswith("NVIDIA driver not loaded (NVML error 9)")


def test_an_invalid_config_is_a_finding_and_the_report_goes_on(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[exporter]\nport = "nine"\n[collectors.gpu]\nenabeld = true\n')
    found = findings(config)
    problem = found["config.file"]
    assert problem["status"] == "fail"
    assert f'{config}:2: exporter.port: must be a whole number, got "nine"' in problem["detail"]
    assert f"{config}:4: collectors.gpu.enabeld: unknown key" in problem["detail"]
    assert "built-in defaults" in problem["detail"] and "config check" in problem["fix"]
    assert {"wsl.guest", "gpu.nvml", "exporter.port", "tray.backend"} <= set(found), "the rest is still reported"


def test_without_a_config_file_the_defaults_are_named(tmp_path: Path) -> None:
    found = findings(None, clean_env(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg")))
    assert found["config.file"]["status"] == "info"
    assert found["config.file"]["detail"] == f"none: the built-in defaults (no file at {tmp_path}/cfg/wslwatch/wslwatch.toml)"


def test_disabled_collectors_are_not_checked(tmp_path: Path) -> None:
    config = tmp_path / "disabled.toml"
    names = ("vmmem", "wsl_guest", "gpu", "wslconfig")
    config.write_text(f"[exporter]\nport = {free_port()}\n" + "".join(f"[collectors.{n}]\nenabled = false\n" for n in names))
    found = findings(config)
    for check, name in (("wsl.vm_process", "vmmem"), ("wsl.guest", "wsl_guest"), ("gpu.nvml", "gpu")):
        assert found[check] == {
            "check": check, "status": "info", "fix": "",
            "detail": f"not checked: [collectors.{name}] enabled = false in the config",
        }  # fmt: skip
    assert "wsl.psi" not in found


def test_the_vm_process_is_found_by_its_name(tmp_path: Path) -> None:
    stand_in = tmp_path / VM_NAME
    stand_in.symlink_to(shutil.which("sleep") or "/bin/sleep")
    vm = subprocess.Popen([str(stand_in), "30"])
    try:
        found = findings(write_config(tmp_path))["wsl.vm_process"]
    finally:
        vm.kill()
        vm.wait()
    assert found["status"] == "ok"
    assert found["detail"].startswith(f"{VM_NAME} runs; working set ") and found["detail"].endswith(" MiB")


def guest_tree(tmp_path: Path, pressure: bool) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(FIXTURES / "proc-debian-vm", root)
    if not pressure:
        shutil.rmtree(root / "pressure")
    return root


def test_psi_off_says_how_to_turn_it_on(tmp_path: Path) -> None:
    root = guest_tree(tmp_path, pressure=False)
    found = findings(write_config(tmp_path, f'[collectors.wsl_guest]\nproc_root = "{root}"\n'))
    assert found["wsl.guest"]["status"] == "ok"
    psi = found["wsl.psi"]
    assert psi["status"] == "info" and "PSI is off" in psi["detail"]
    assert "psi=1" in psi["fix"]


def test_psi_on_reports_the_pressure(tmp_path: Path) -> None:
    root = guest_tree(tmp_path, pressure=True)
    found = findings(write_config(tmp_path, f'[collectors.wsl_guest]\nproc_root = "{root}"\n'))
    assert found["wsl.psi"]["status"] == "ok" and found["wsl.psi"]["detail"].startswith("PSI is on")


def test_an_unreadable_guest_is_a_failure_with_its_reason(tmp_path: Path) -> None:
    found = findings(write_config(tmp_path, f'[collectors.wsl_guest]\nproc_root = "{tmp_path}/nowhere"\n'))
    guest = found["wsl.guest"]
    assert guest["status"] == "fail"
    assert guest["detail"].startswith(f"{tmp_path}/nowhere/meminfo does not exist")
    assert "proc_root" in guest["fix"]
    assert found["wsl.psi"]["detail"].startswith("unknown")


def wslconfig_config(tmp_path: Path, data: bytes) -> Path:
    wslconfig = tmp_path / ".wslconfig"
    wslconfig.write_bytes(data)
    return write_config(tmp_path, f'[collectors.wslconfig]\npath = "{wslconfig}"\n')


def test_wslconfig_problems_name_their_lines(tmp_path: Path) -> None:
    data = (FIXTURES / "wslconfig" / "wsl-issue10759-reclaim-under-wsl2.wslconfig").read_bytes()
    data = data.replace(b"memory=24GB", b"memory=8GB")  # below this machine's RAM: one problem only
    found = findings(wslconfig_config(tmp_path, data))
    summary = found["wsl.wslconfig"]
    assert summary["status"] == "warn"
    assert summary["detail"] == (
        f"{tmp_path}/.wslconfig: autoMemoryReclaim dropcache (WSL's default), memory 8.0 GiB, swap 2.0 GiB"
    )
    problems = found["wsl.wslconfig_problems"]
    assert problems["detail"].startswith("line 3: wsl2.autoMemoryReclaim: WSL reads autoMemoryReclaim only under")
    assert problems["fix"] == f"edit {tmp_path}/.wslconfig, then `wsl --shutdown` so the VM starts with the new settings"


def test_a_clean_wslconfig_is_ok(tmp_path: Path) -> None:
    found = findings(wslconfig_config(tmp_path, b"[wsl2]\nmemory=8GB\nswap=0\n[experimental]\nautoMemoryReclaim=gradual\n"))
    assert found["wsl.wslconfig"]["status"] == "ok"
    assert found["wsl.wslconfig"]["detail"].endswith("autoMemoryReclaim gradual ([experimental]), memory 8.0 GiB, swap 0.0 GiB")
    assert "wsl.wslconfig_problems" not in found


def test_a_garbage_wslconfig_lists_five_problems_and_counts_the_rest(tmp_path: Path) -> None:
    garbage = b"".join(b"?garbage line %d\n" % n for n in range(300))
    problems = findings(wslconfig_config(tmp_path, garbage))["wsl.wslconfig_problems"]["detail"].splitlines()
    assert len(problems) == 6 and problems[-1] == "... and 295 more"
    assert problems[0].startswith("line 1: ")


@pytest.fixture
def daemon_port(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A real daemon; yields its port and /metrics URL, and checks it exits cleanly."""
    config = tmp_path / "daemon.toml"
    config.write_text("")
    daemon = start_daemon(config)
    try:
        yield int(daemon.url.rsplit(":", 1)[1].split("/")[0]), daemon.url
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)


def test_a_running_daemon_is_recognised_and_left_alone(tmp_path: Path, daemon_port: tuple[int, str]) -> None:
    port, url = daemon_port
    found = findings(write_config(tmp_path, port=port))
    assert found["exporter.port"]["status"] == "info"
    assert found["exporter.port"]["detail"] == (
        f"127.0.0.1:{port}: wslwatch {wslwatch.__version__} serves /metrics: the daemon is running"
    )
    running = found["wslwatch.daemon"]
    assert running["status"] == "info" and running["detail"].endswith(f", serving {url}")
    assert running["detail"].startswith("runs as pid ")
    assert scrape(url)["wslwatch_build_info"], "the daemon still serves after doctor looked"


def test_a_daemon_that_died_is_reported(tmp_path: Path, own_state_dir: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (own_state_dir / "wslwatch").mkdir(parents=True)
    info = {"pid": int(gone.stdout), "url": "http://127.0.0.1:9477/metrics", "started": time.time() - 60}
    (own_state_dir / "wslwatch" / "instance.json").write_text(json.dumps(info))
    found = findings(write_config(tmp_path))
    died = found["wslwatch.daemon"]
    assert died["status"] == "warn" and "did not exit cleanly" in died["detail"]
    assert str(own_state_dir / "wslwatch" / "log" / "wslwatch.log") in died["fix"]
    assert found["wslwatch.log"]["detail"] == f"{own_state_dir}/wslwatch/log/wslwatch.log (not written yet)"


def test_no_daemon_is_said(tmp_path: Path) -> None:
    assert findings(write_config(tmp_path))["wslwatch.daemon"]["detail"] == "no wslwatch daemon runs for this user"


@pytest.fixture
def https_wslwatch(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """wslwatch's own exporter over HTTPS with basic auth, in this process: port, cert, key."""
    certfile, keyfile = self_signed(tmp_path)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(Store().snapshot, "9.9.9"))
    users = {"prometheus": hash_password("secret", iterations=1000)}
    server = serve(registry, "127.0.0.1", 0, certfile=str(certfile), keyfile=str(keyfile), users=users)
    try:
        yield server.port, certfile, keyfile
    finally:
        server.close()


def test_https_with_basic_auth_is_recognised_as_wslwatch(tmp_path: Path, https_wslwatch: tuple[int, Path, Path]) -> None:
    port, certfile, keyfile = https_wslwatch
    tls = f'certfile = "{certfile}"\nkeyfile = "{keyfile}"\n'
    config = tmp_path / "https.toml"
    config.write_text(f"[exporter]\nport = {port}\n{tls}")
    answer = findings(config)["exporter.port"]
    assert answer["status"] == "info"
    assert answer["detail"].startswith(f"127.0.0.1:{port}: wslwatch serves /metrics (it asks for a password)")
    plain = who_serves("127.0.0.1", port)  # plain HTTP to an HTTPS port
    assert plain.state == "other" and "does not speak plain HTTP" in plain.detail


class _NotWslwatch(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"# just another exporter\nnode_load1 0.5\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def other_http_server() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotWslwatch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_held_by_another_program_is_a_failure(tmp_path: Path, other_http_server: int) -> None:
    port = other_http_server
    taken = findings(write_config(tmp_path, port=port))["exporter.port"]
    assert taken["status"] == "fail"
    assert taken["detail"].startswith(f"127.0.0.1:{port} is taken: an HTTP server (BaseHTTP/")
    assert "another exporter.port" in taken["fix"]


def test_who_serves_tells_the_cases_apart(other_http_server: int) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts (the kernel does) but never answers
    hangs_up = socket.socket()
    hangs_up.bind(("127.0.0.1", 0))
    hangs_up.listen()

    def hang_up() -> None:
        connection, _ = hangs_up.accept()
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        free = free_port()
        assert who_serves("127.0.0.1", free).state == "free"
        assert who_serves("0.0.0.0", free).address == f"127.0.0.1:{free}", "a wildcard bind is probed on loopback"
        started = time.monotonic()
        answer = who_serves("127.0.0.1", silent.getsockname()[1], timeout_s=0.5)
        assert (answer.state, answer.detail) == ("other", "something accepts connections but sent no HTTP answer within 0.5s")
        assert time.monotonic() - started < 5
        answer = who_serves("127.0.0.1", hangs_up.getsockname()[1])
        assert answer.state == "other"
        assert answer.detail.startswith("something accepts connections but does not speak plain HTTP (")
        assert who_serves("127.0.0.1", other_http_server).state == "other"
    finally:
        silent.close()
        hangs_up.close()


def test_a_wildcard_bind_is_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "wildcard.toml"
    config.write_text(f'[exporter]\nbind = "0.0.0.0"\nport = {free_port()}\n')
    found = findings(config)
    assert found["exporter.bind"]["status"] == "warn"
    assert "other machines can read it" in found["exporter.bind"]["detail"]


def test_a_display_that_does_not_answer_means_headless(tmp_path: Path) -> None:
    tray = findings(write_config(tmp_path), clean_env(DISPLAY=":97"))["tray.backend"]
    assert tray["status"] == "info"
    assert tray["detail"].startswith("pystray cannot load a backend here (Xlib.error.DisplayConnectionError")


def test_the_dummy_backend_is_no_tray(tmp_path: Path) -> None:
    tray = findings(write_config(tmp_path), clean_env(DISPLAY=":97", PYSTRAY_BACKEND="dummy"))["tray.backend"]
    assert tray["detail"].startswith("pystray's dummy backend is forced")


@pytest.mark.rig
def test_a_real_display_gets_the_xorg_backend(tmp_path: Path) -> None:
    with xvfb() as x_display:
        found = findings(write_config(tmp_path), clean_env(DISPLAY=x_display))
    assert found["tray.backend"] == {
        "check": "tray.backend", "status": "ok", "fix": "",
        "detail": f"`wslwatch run` would show its icon through pystray's xorg backend on display {x_display}",
    }  # fmt: skip
    notifications = found["tray.notifications"]
    assert notifications["status"] == "warn"
    assert notifications["detail"].startswith("the xorg tray shows none and there is no D-Bus fallback: ")


@pytest.mark.rig
def test_notifications_through_the_desktops_notification_server(tmp_path: Path) -> None:
    with xvfb() as display, session_bus(tmp_path) as bus, dunst(display, bus, tmp_path / "dunst.log"):
        found = findings(write_config(tmp_path), clean_env(DISPLAY=display, DBUS_SESSION_BUS_ADDRESS=bus))
    assert found["tray.notifications"] == {
        "check": "tray.notifications", "status": "ok", "fix": "",
        "detail": "through D-Bus (the desktop's notification server)",
    }  # fmt: skip
    assert (tmp_path / "dunst.log").read_text().count("appname") == 0, "doctor asked, it showed nothing"


def paths_config(tmp_path: Path, *entries: str) -> Path:
    return write_config(tmp_path, "".join(f"[[paths]]\n{entry}\n" for entry in entries))


def test_each_path_is_located_and_probed_once_leaving_nothing(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    config = paths_config(tmp_path, f'path = "{scratch}"\nname = "scratch"', f'path = "{tmp_path}/gone"')
    found = findings(config)
    ok = found["paths.scratch"]
    assert ok["status"] == "ok"
    first, probed = ok["detail"].splitlines()
    assert first.startswith(f"{scratch}: ") and probed.startswith("probe ok; slowest operation ")
    assert list(scratch.iterdir()) == [], "the probe's area is removed"
    gone = found[f"paths.{tmp_path}/gone"]
    assert gone["status"] == "fail"
    assert f"probe error: {tmp_path}/gone: No such file or directory" in gone["detail"]
    assert "exists" in gone["fix"]


def test_paths_are_located_without_probing_when_probes_are_off(tmp_path: Path) -> None:
    config = paths_config(tmp_path, f'path = "{tmp_path}"\nname = "here"')
    config.write_text(config.read_text() + "[collectors.io_latency]\nenabled = false\n")
    here = findings(config)["paths.here"]
    assert here["status"] == "ok" and here["detail"].endswith("\nnot probed: [collectors.io_latency] enabled = false")
    assert not (tmp_path / ".wslwatch-probe").exists()


@pytest.mark.rig
def test_a_path_this_user_may_not_write(tmp_path: Path, slowfs: SlowFsMount) -> None:  # noqa: F811
    slowfs.set(fail={"mkdir": "EACCES", "create": "EACCES"})
    found = findings(paths_config(tmp_path, f'path = "{slowfs.mountpoint}"\nname = "fuse"'))["paths.fuse"]
    assert found["status"] == "warn"
    assert found["detail"].startswith(f"{slowfs.mountpoint}: fuse (fuse.slowfs at {slowfs.mountpoint})")
    assert "cannot write here (Permission denied): timing metadata operations only" in found["detail"]
    assert found["fix"].startswith(f"let this user write in {slowfs.mountpoint}")


def test_a_cross_os_data_path_gets_the_advice(tmp_path: Path) -> None:
    """The place finder reads a mount table in which tmp_path/c is WSL's drvfs over 9P (as /mnt/c is)."""
    data, other = tmp_path / "c" / "datasets", tmp_path / "c" / "other"
    data.mkdir(parents=True)
    other.mkdir()
    table = tmp_path / "mountinfo"
    drvfs = f"999 1 0:99 / {tmp_path}/c rw,noatime - 9p C:\\134 rw,aname=drvfs;path=C:\\;uid=1000;gid=1000\n"
    table.write_text(Path("/proc/self/mountinfo").read_text() + drvfs)
    config = paths_config(tmp_path, f'path = "{data}"\nname = "data"\ndata = true', f'path = "{other}"\nname = "other"')
    found = {f.check: f for f in gather(config, environ=clean_env(), places=MountinfoPlaces(str(table)))}
    for name, path, status in (("data", data, "warn"), ("other", other, "info")):
        finding = found[f"paths.{name}"]
        assert finding.status == status, "cross-OS is a warning for training data, a note otherwise"
        assert finding.detail.startswith(f"{path}: wsl-drvfs-9p (9p at {tmp_path}/c)")
        assert finding.fix.startswith(f"{path} is on a Windows drive reached through WSL's drvfs over 9P")


def test_inside_wsl_without_interop(tmp_path: Path) -> None:
    """WSL_DISTRO_NAME marks a WSL guest; this machine has no cmd.exe, as a guest with interop off."""
    found = findings(write_config(tmp_path), clean_env(WSL_DISTRO_NAME="Ubuntu"))
    assert found["wslwatch.os"]["detail"].startswith("inside WSL: ")
    vm = found["wsl.vm_process"]
    assert vm["status"] == "info" and "cannot be seen from inside WSL" in vm["detail"]
    wslconfig = found["wsl.wslconfig"]
    assert wslconfig["status"] == "fail" and "cmd.exe is not on PATH" in wslconfig["detail"]
    assert "collectors.wslconfig.path" in wslconfig["fix"]


def test_an_unknown_wsl_version_is_judged_as_released_wsl_and_said(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # inside WSL without wslinfo (WSL before 2.0)
    bin_dir.mkdir()
    env = clean_env(WSL_DISTRO_NAME="Ubuntu", PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}:/usr/bin:/bin")
    found = findings(write_config(tmp_path), env)
    assert found["wsl.version"]["status"] == "warn"
    assert "WSL version unknown" in found["wsl.version"]["detail"]
    assert "as released WSL (≤ 2.9.x) does: user CPU, 10 min (dropCache) / 3 min (gradual)" in found["wsl.version"]["detail"]
    assert found["reclaim.controller"]["status"] == "info"


def test_a_known_wsl_version_names_its_reclaim_model_and_the_controller_can_act_as_root(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "wslinfo").write_text("#!/bin/sh\necho 2.10.1\n")  # a stand-in for WSL's wslinfo
    (bin_dir / "wslinfo").chmod(0o755)
    env = clean_env(WSL_DISTRO_NAME="Ubuntu", PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}:/usr/bin:/bin")
    found = findings(write_config(tmp_path, "[reclaim]\nenabled = true\n"), env)
    assert found["wsl.version"]["status"] == "ok"
    assert found["wsl.version"]["detail"].startswith("WSL 2.10.1, kernel ")
    assert found["wsl.version"]["detail"].endswith("its reclaim thread judges all non-idle CPU, 2 min")
    expected = "ok" if os.geteuid() == 0 else "warn"
    assert found["reclaim.controller"]["status"] == expected


def test_an_unreadable_vm_process_gets_advice_that_does_not_blame_the_user() -> None:
    """The VM process runs as `NT VIRTUAL MACHINE`, never as the user who started WSL, and psutil
    reads its memory without rights: "run as that user" cannot help. (Access denied cannot be
    provoked here, where root reads every process: the check is fed the snapshot such a
    collection leaves, `vmmem_up 1` and no memory series.)"""
    store = Store()
    store.record("vmmem", [Sample("wslwatch_vmmem_up", {}, 1.0, 1.0)], 1.0, 0.001)
    context = _Context(Config(), store.snapshot(), "windows", choose_host("win32", {}, "/proc"), MountinfoPlaces())
    (finding,) = _vm_process(context)
    assert (finding.status, finding.detail) == (
        "warn",
        "a process named one of vmmemWSL, vmmem runs, but its memory cannot be read (access denied)",
    )
    assert "as the Windows user who started WSL" not in finding.fix
    assert finding.fix.startswith("the VM process runs as NT VIRTUAL MACHINE, not as you")
