"""The README stays true: every exported metric and every command is documented."""

from __future__ import annotations

from pathlib import Path

from wslwatch.daemon.cli import build_parser
from wslwatch.exporters.catalogue import CATALOGUE

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_metric_is_in_the_readme() -> None:
    missing = [name for name in CATALOGUE if f"`{name}`" not in README]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if f"`wslwatch {name}" not in README]
    assert missing == []
