"""/metrics over HTTPS and behind basic auth: real servers, real TLS clients, certificates made here."""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge

from rigs import need
from rigs.tls import self_signed
from wslwatch.exporters.auth import BasicAuth, PasswordHash, hash_password, hash_problem
from wslwatch.exporters.http import MetricsServer, TlsError, exposure_warning, serve

FAST = 1_000  # PBKDF2 rounds for tests; the default (600 000) is checked once, below


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    Gauge("wslwatch_test_value", "A value for the HTTP tests.", registry=registry).set(42)
    return registry


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def servers() -> Iterator[list[MetricsServer]]:
    started: list[MetricsServer] = []
    yield started
    for server in started:
        server.close()


def _get(url: str, *, user: str | None = None, password: str = "", cafile: Path | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url)
    if user is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read(), ""
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("WWW-Authenticate", "")


# --- HTTPS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https(registry: CollectorRegistry, certificate: tuple[Path, Path]) -> Iterator[MetricsServer]:
    """One HTTPS server for the tests that only scrape it."""
    certfile, keyfile = certificate
    server = serve(registry, "127.0.0.1", 0, certfile=str(certfile), keyfile=str(keyfile))
    yield server
    server.close()


def test_https_scrape_with_a_verified_self_signed_certificate(https: MetricsServer, certificate: tuple[Path, Path]) -> None:
    status, body, _ = _get(https.url, cafile=certificate[0])

    assert https.url.startswith("https://127.0.0.1:")
    assert status == 200
    assert b"wslwatch_test_value 42.0" in body


def test_plain_http_to_the_https_port_gets_no_metrics(https: MetricsServer, certificate: tuple[Path, Path]) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(https.url.replace("https://", "http://"))
    assert _get(https.url, cafile=certificate[0])[0] == 200  # and the server still serves


def test_a_silent_client_does_not_stall_other_scrapes(https: MetricsServer, certificate: tuple[Path, Path]) -> None:
    with socket.create_connection(("127.0.0.1", https.port)):  # connects, never says hello
        started = time.monotonic()
        status, _, _ = _get(https.url, cafile=certificate[0])
        waited = time.monotonic() - started

    assert status == 200
    assert waited < 5  # not the 10 s handshake timeout of the silent one


def test_unusable_certificate_files_name_the_file(
    registry: CollectorRegistry, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(TlsError, match="bogus.pem"):
        serve(registry, "127.0.0.1", 0, certfile=str(bogus))
    with pytest.raises(TlsError, match="missing.pem"):
        serve(registry, "127.0.0.1", 0, certfile=str(tmp_path / "missing.pem"))
    with pytest.raises(TlsError, match="keyfile is set but exporter.certfile is not"):
        serve(registry, "127.0.0.1", 0, keyfile=str(certificate[1]))


# --- basic auth ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(registry: CollectorRegistry) -> Iterator[MetricsServer]:
    """One server for the basic-auth tests (closing one waits for its 0.5 s poll)."""
    users = {"prometheus": hash_password("correct horse", FAST), "grafana": hash_password("battery", FAST)}
    server = serve(registry, "127.0.0.1", 0, users=users)
    yield server
    server.close()


def test_basic_auth_refuses_without_credentials(guarded: MetricsServer) -> None:
    status, body, challenge = _get(guarded.url)
    assert status == 401
    assert challenge == 'Basic realm="wslwatch", charset="UTF-8"'
    assert b"wslwatch_test_value" not in body


@pytest.mark.parametrize(
    ("user", "password"),
    [("prometheus", "wrong"), ("prometheus", "battery"), ("nobody", "correct horse"), ("prometheus", "")],
)
def test_basic_auth_refuses_wrong_credentials(guarded: MetricsServer, user: str, password: str) -> None:
    status, body, _ = _get(guarded.url, user=user, password=password)
    assert status == 401
    assert b"wslwatch_test_value" not in body


def test_basic_auth_admits_each_user_with_their_password(guarded: MetricsServer) -> None:
    for user, password in (("prometheus", "correct horse"), ("grafana", "battery"), ("prometheus", "correct horse")):
        status, body, _ = _get(guarded.url, user=user, password=password)
        assert status == 200
        assert b"wslwatch_test_value 42.0" in body


def test_malformed_authorization_headers_are_refused(guarded: MetricsServer) -> None:
    for header in ("Basic !!!notbase64", "Bearer abc", "Basic " + base64.b64encode(b"no-colon").decode()):
        request = urllib.request.Request(guarded.url, headers={"Authorization": header})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401


def test_https_and_basic_auth_together(
    registry: CollectorRegistry, certificate: tuple[Path, Path], servers: list[MetricsServer]
) -> None:
    certfile, keyfile = certificate
    server = serve(
        registry, "127.0.0.1", 0, certfile=str(certfile), keyfile=str(keyfile), users={"p": hash_password("pw", FAST)}
    )
    servers.append(server)
    assert _get(server.url, cafile=certfile)[0] == 401
    assert _get(server.url, user="p", password="pw", cafile=certfile)[0] == 200


# --- the hash format ------------------------------------------------------------------------------


def test_hash_format_round_trips_and_uses_the_documented_layout() -> None:
    salt = bytes(range(16))
    text = hash_password("pässword", iterations=FAST, salt=salt)
    scheme, iterations, salt_b64, digest_b64 = text.split("$")

    assert (scheme, iterations, salt_b64) == ("pbkdf2_sha256", "1000", base64.b64encode(salt).decode())
    parsed = PasswordHash.parse(text)
    assert parsed.matches("pässword") and not parsed.matches("password")
    assert str(parsed) == text
    # the documented construction, computed independently with the standard library
    import hashlib

    assert base64.b64decode(digest_b64) == hashlib.pbkdf2_hmac("sha256", "pässword".encode(), salt, 1000)


def test_default_iterations_are_the_owasp_figure() -> None:
    assert PasswordHash.parse(hash_password("x")).iterations == 600_000


@pytest.mark.parametrize(
    ("users", "problem"),
    [
        ({"a": "plain-text-password"}, "must look like pbkdf2_sha256$"),
        ({"a": "pbkdf2_sha256$10$AAAA$" + base64.b64encode(bytes(32)).decode()}, "from 1000 to 10000000"),
        ({"a": "pbkdf2_sha256$1000$@@@$xyz"}, "must be base64"),
        ({"a": "pbkdf2_sha256$1000$AAAA$AAAA"}, "must be 32 bytes"),
        ({"a:b": hash_password("x", FAST)}, "without ':'"),
    ],
)
def test_bad_hashes_are_explained(users: dict[str, str], problem: str) -> None:
    found = hash_problem(users)
    assert found is not None and problem in found


def test_basic_auth_refuses_to_start_with_a_bad_hash() -> None:
    with pytest.raises(ValueError, match="must look like"):
        BasicAuth(lambda environ, start: [b""], {"a": "secret"})


# --- exposure warning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bind", "users", "tls", "warning"),
    [
        ("127.0.0.1", False, False, None),
        ("::1", False, False, None),
        ("localhost", False, False, None),
        ("0.0.0.0", False, False, "can be read by anyone"),
        ("192.168.1.20", True, False, "sends it unencrypted"),
        ("::", True, True, None),
        ("myhost.lan", False, False, "can be read by anyone"),
    ],
)
def test_exposure_warning(bind: str, users: bool, tls: bool, warning: str | None) -> None:
    found = exposure_warning(bind, users, tls)
    assert (found is None) if warning is None else (found is not None and warning in found)


def test_serving_on_loopback_logs_no_warning(
    registry: CollectorRegistry, servers: list[MetricsServer], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="wslwatch.exporters.http"):
        servers.append(serve(registry, "127.0.0.1", 0))
    assert not caplog.records


# --- a real Prometheus scrapes it ---------------------------------------------------------------


@pytest.mark.rig
def test_prometheus_scrapes_over_https_with_basic_auth(
    registry: CollectorRegistry, certificate: tuple[Path, Path], servers: list[MetricsServer], tmp_path: Path
) -> None:
    """The config documented in docs/windows.md, in Debian's real Prometheus: right password up, wrong down."""
    try:
        from rigs.prometheus import PROMETHEUS, start_prometheus
    except ImportError:  # the Prometheus rig comes with the `prom` branch
        need(False, "tests/rigs/prometheus.py (the Prometheus rig)")
        return
    need(PROMETHEUS is not None, "prometheus (Debian package)")
    certfile, keyfile = certificate
    server = serve(
        registry,
        "127.0.0.1",
        0,
        certfile=str(certfile),
        keyfile=str(keyfile),
        users={"prometheus": hash_password("correct horse", FAST)},
    )
    servers.append(server)
    password_file = tmp_path / "wslwatch.pw"
    password_file.write_text("correct horse")

    def job(name: str, basic_auth: dict[str, str]) -> dict[str, object]:
        return {
            "job_name": name,
            "scheme": "https",
            "tls_config": {"ca_file": str(certfile)},
            "basic_auth": basic_auth,
            "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
        }

    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            job("right", {"username": "prometheus", "password_file": str(password_file)}),
            job("wrong", {"username": "prometheus", "password": "battery"}),
        ],
    }
    with start_prometheus(tmp_path / "prometheus", config) as prometheus:
        up = prometheus.query_until("up", 20, accept=lambda result: len(result) == 2)
        value = prometheus.query_until('wslwatch_test_value{job="right"}', 20)
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {"right": "1", "wrong": "0"}
    assert value[0]["value"][1] == "42"


# --- `wslwatch config hash-password` -------------------------------------------------------------


def test_hash_password_reads_stdin_and_prints_a_hash_that_verifies() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "wslwatch", "config", "hash-password", "--iterations", "1000"],
        input="correct horse\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = PasswordHash.parse(done.stdout.strip())
    assert printed.iterations == 1000 and printed.matches("correct horse")
    assert hash_problem({"prometheus": done.stdout.strip()}) is None


def test_hash_password_refuses_an_empty_password_and_too_few_iterations() -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "wslwatch", "config", "hash-password"]
    empty = subprocess.run(argv, input="\n", capture_output=True, text=True, timeout=60)
    few = subprocess.run([*argv, "--iterations", "10"], input="x\n", capture_output=True, text=True, timeout=60)
    assert (empty.returncode, empty.stdout) == (2, "")
    assert "empty password" in empty.stderr
    assert (few.returncode, few.stdout) == (2, "")
    assert "from 1000 to 10000000" in few.stderr


def test_a_bad_hash_in_the_config_is_refused_with_its_line(tmp_path: Path) -> None:
    from wslwatch.config import ConfigError, load

    path = tmp_path / "c.toml"
    path.write_text('[exporter]\nbind = "0.0.0.0"\n\n[exporter.basic_auth_users]\nalice = "hunter2"\n')
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert refused.value.problems == [
        f"{path}:4: exporter.basic_auth_users: alice: must look like pbkdf2_sha256$<iterations>$<salt>$<hash> "
        "(make one with `wslwatch config hash-password`)"
    ]
    good = hash_password("pw", FAST)
    path.write_text(f'[exporter]\nbasic_auth_users = {{ alice = "{good}" }}\n')
    assert dict(load(path).exporter.basic_auth_users) == {"alice": good}


def test_failed_logins_are_logged_without_flooding_the_log(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """The first failure is logged at once, naming the user tried and the client; the next ones
    within the minute are counted, not logged one by one. No credentials at all is no failure."""
    server = serve(registry, "127.0.0.1", 0, users={"prometheus": hash_password("correct horse", FAST)})
    try:
        with caplog.at_level(logging.WARNING, logger="wslwatch.exporters.auth"):
            _get(server.url)
            for attempt in ("wrong", "guess", "123456"):
                assert _get(server.url, user="admin", password=attempt)[0] == 401
            assert _get(server.url, user="prometheus", password="correct horse")[0] == 200
    finally:
        server.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "wslwatch.exporters.auth"]
    assert lines == [
        "1 failed login(s) to /metrics, the latest from 127.0.0.1 as 'admin'; if that is your scraper, "
        "check its user and password against exporter.basic_auth_users"
    ]
