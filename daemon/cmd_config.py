"""`wslwatch config init|check|show|export-prometheus`."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import getpass
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from wslwatch.config import Config, ConfigError, default_config_path, load
from wslwatch.config.loader import locate
from wslwatch.config.schema import PathConfig
from wslwatch.daemon.cmd_common import add_config_option, fail, load_config
from wslwatch.exporters import auth
from wslwatch.exporters.bundle import RULES_FILE, ScrapeSecurity, bundle, customised_rules, write_bundle
from wslwatch.exporters.http import address_problem, tls_problem
from wslwatch.password_hash import iterations_problem

__all__ = ["default_file_text", "register"]


def default_file_text() -> str:
    """The commented default configuration that `config init` writes."""
    return resources.files("wslwatch.config").joinpath("wslwatch.toml").read_text(encoding="utf-8")


def register(commands: Any) -> None:
    parser = commands.add_parser("config", help="write, check or show the configuration")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    init = actions.add_parser("init", help="write the commented default config file")
    init.add_argument("file", nargs="?", type=Path, help=f"where (default: {default_config_path()})")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)

    check = actions.add_parser("check", help="validate a config file")
    check.add_argument("file", nargs="?", type=Path, help=f"the file (default: {default_config_path()})")
    check.set_defaults(handler=_check)

    show = actions.add_parser("show", help="print the configuration in force, as JSON")
    add_config_option(show)
    show.set_defaults(handler=_show)

    export = actions.add_parser(
        "export-prometheus",
        help="write Prometheus rules and scrape config, an Alertmanager route and the Grafana dashboard",
    )
    export.add_argument("folder", type=Path, help="where (created if missing); mount it into Prometheus")
    export.add_argument(
        "--target",
        action="append",
        metavar="HOST:PORT",
        help="a wslwatch to scrape; repeat for a lab (default: localhost and exporter.port of the config)",
    )
    export.add_argument(
        "--alertmanager", action="append", default=[], metavar="HOST:PORT", help="an Alertmanager to send alerts to"
    )
    export.add_argument(
        "--ca-file", default="", metavar="PEM", help="scrape over HTTPS, trusting this CA or certificate bundle"
    )
    export.add_argument("--username", default="", metavar="USER", help="basic-auth user Prometheus scrapes as")
    export.add_argument("--password-file", default="", metavar="FILE", help="file holding that user's password")
    export.add_argument("--force", action="store_true", help="overwrite files already in the folder")
    add_config_option(export)
    export.set_defaults(handler=_export_prometheus)

    hasher = actions.add_parser("hash-password", help="hash a password for exporter.basic_auth_users")
    hasher.add_argument("--iterations", type=int, default=auth.ITERATIONS, help="PBKDF2 rounds (default: %(default)s)")
    hasher.set_defaults(handler=_hash_password)


def _init(args: argparse.Namespace) -> int:
    path: Path = args.file or default_config_path()
    if path.exists() and not args.force:
        return fail(f"{path} already exists; nothing was written (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(default_file_text(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    path: Path = args.file or default_config_path()
    if not path.exists():
        return fail(f"{path} does not exist (create it with `wslwatch config init`)")
    try:
        config = load(path)
        problems = _machine_problems(path, config)
    except ConfigError as exc:
        problems = exc.problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return fail(f"{path} is invalid: {len(problems)} problem(s)")
    print(f"{path}: ok")
    return 0


def _machine_problems(path: Path, config: Config) -> list[str]:
    """What the file asks of this machine that it cannot give (valid TOML, wrong here)."""
    found: list[tuple[str, str | None]] = _path_problems(config.paths)
    exporter = config.exporter
    if exporter.bind not in ("", "localhost"):
        found.append(("exporter.bind", address_problem(exporter.bind)))
    if exporter.certfile or exporter.keyfile:
        found.append(("exporter.certfile" if exporter.certfile else "exporter.keyfile",
                      tls_problem(exporter.certfile, exporter.keyfile)))
    text = path.read_text(encoding="utf-8-sig")
    return [f"{path}:{locate(text, key) or 1}: {key}: {what}" for key, what in found if what]


def _path_problems(paths: tuple[PathConfig, ...]) -> list[tuple[str, str | None]]:
    """A path that is a loop of symbolic links, or the same directory as an earlier entry (one
    series and one probe area for two names)."""
    found: list[tuple[str, str | None]] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(paths):
        given = os.path.expanduser(entry.path)
        try:
            os.stat(given)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                found.append((f"paths[{i}].path", f"{entry.path!r} is a loop of symbolic links; point it at a directory"))
            continue
        real = os.path.normcase(os.path.realpath(given))
        if real in seen:
            first = paths[seen[real]].path
            found.append((f"paths[{i}].path", f"{entry.path!r} is the directory of paths[{seen[real]}] ({first!r}); probe it once"))
        seen.setdefault(real, i)
    return found


def _export_prometheus(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    targets: list[str] = args.target or [f"localhost:{config.exporter.port}"]
    try:
        security = ScrapeSecurity(args.ca_file, args.username, args.password_file)
        files = bundle(targets, args.alertmanager, security)
        written = write_bundle(args.folder, files, overwrite=args.force)
    except ValueError as exc:
        return fail(f"{exc}; nothing was written")
    except FileExistsError as exc:
        return fail(f"already there: {exc}; nothing was written (use --force to overwrite)")
    except OSError as exc:
        return fail(f"cannot write to {args.folder}: {exc.strerror or exc}")
    for path in written:
        print(f"wrote {path}")
    changed = customised_rules(config.rules)
    if changed:
        tables = ", ".join(f"[rules.{name}]" for name in changed)
        print(
            f"wslwatch: note: your config changes {tables}; {RULES_FILE} holds the built-in defaults. "
            "Edit it to match, or the lab's alerts will differ from the tray's.",
            file=sys.stderr,
        )
    print(f"start Prometheus with --config.file={args.folder / 'prometheus.yml'} (see docs/prometheus-grafana.md)")
    return 0


def _show(args: argparse.Namespace) -> int:
    config = load_config(args)
    if isinstance(config, int):
        return config
    print(json.dumps(dataclasses.asdict(config), indent=2))
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    """Read a password (hidden prompt on a terminal, else one line of stdin) and print its hash."""
    wrong = iterations_problem(str(args.iterations))
    if wrong:
        return fail(f"--iterations {wrong}, got {args.iterations}")
    if sys.stdin is None:  # started windowless (pythonw): nowhere to read a password from
        return fail("no console to read the password from; run `wslwatch config hash-password` in a terminal")
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            return fail("the two passwords differ; nothing was printed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        return fail("empty password; nothing was printed")
    print(auth.hash_password(password, args.iterations))
    return 0
