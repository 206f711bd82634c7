"""`wslwatch install` / `wslwatch uninstall`: start the daemon at login, or stop doing so."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wslwatch.daemon import autostart
from wslwatch.daemon.cmd_common import fail

__all__ = ["register"]


def register(commands: Any) -> None:
    methods = list(autostart.available())
    install = commands.add_parser("install", help="start wslwatch at login (per user, no admin)")
    install.add_argument("--headless", action="store_true", help="start it without the tray icon")
    install.add_argument(
        "--method",
        choices=methods,
        help=f"how: {', '.join(methods)} (default: {_default_method(methods, headless=False)}; "
        f"with --headless: {_default_method(methods, headless=True)})",
    )
    install.add_argument("--config", type=Path, metavar="FILE", help="config file the started daemon reads")
    install.set_defaults(handler=_install)
    uninstall = commands.add_parser("uninstall", help="stop starting wslwatch at login")
    uninstall.set_defaults(handler=_uninstall)


def _default_method(methods: list[str], *, headless: bool) -> str:
    """The Run key on Windows; on Linux XDG autostart for a desktop, the systemd unit when headless."""
    return "systemd" if headless and "systemd" in methods else methods[0]


def _install(args: argparse.Namespace) -> int:
    methods = autostart.available()
    method = methods[args.method or _default_method(list(methods), headless=args.headless)]
    config = str(args.config.resolve()) if args.config else None
    if method.name == "run-key" and autostart.store_python(sys.base_prefix):
        return fail(f"not installed: {autostart.STORE_PYTHON_ADVICE}.")
    try:
        python = autostart.windowless_python(sys.executable) if method.name == "run-key" else sys.executable
        if not Path(python).is_file():
            return fail(f"{python} does not exist; install wslwatch into a Python that has it")
        lines = method.install(autostart.launch_argv(python, headless=args.headless, config=config))
    except autostart.AutostartError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"could not install ({method.name}): {exc}")
    print("\n".join(lines))
    print("undo: wslwatch uninstall")
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    lines: list[str] = []
    try:
        for method in autostart.available().values():
            lines += method.uninstall()
    except OSError as exc:
        return fail(f"could not uninstall: {exc}")
    print("\n".join(lines))
    return 0
