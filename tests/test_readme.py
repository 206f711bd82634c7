"""The README stays true: every exported metric and every command is documented, and every
command it shows is run, verbatim, by a test or by CI."""

from __future__ import annotations

import re

from readme import COMMANDS, README, ROOT, readme_command
from wslwatch.daemon.cli import build_parser
from wslwatch.exporters.catalogue import CATALOGUE


def test_every_metric_is_in_the_readme() -> None:
    missing = [name for name in CATALOGUE if f"`{name}`" not in README]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if f"`wslwatch {name}" not in README]
    assert missing == []


def _run_by_ci() -> set[str]:
    """The command lines of `.ci/run` (an `exec` runs its command)."""
    lines = (ROOT / ".ci/run").read_text().splitlines()
    return {line.strip().removeprefix("exec ") for line in lines if line.strip() and not line.startswith("#")}


def _run_by_tests() -> list[str]:
    """The README commands that tests look up (and run) with `readme_command(prefix)`."""
    claimed = re.compile(r'readme_command\(\s*"([^"]+)"')
    prefixes = {prefix for test in (ROOT / "tests").rglob("*.py") for prefix in claimed.findall(test.read_text())}
    return [readme_command(prefix) for prefix in prefixes]


#: README commands too long for CI, each with the test that runs it another way.
NOT_RUN_VERBATIM = {
    "python benchmarks/run.py          # ~27 min; --quick for a smoke run": "test_benchmarks runs --quick",
    # The Wine rig's embeddable CPython has no `py` launcher: it runs the same install with
    # Windows pip, and `python -m wslwatch`, in tests/rigs/wine.py and tests/test_windows_*.py.
    "py -m pip install --user .": "tests/rigs/wine.py: Windows pip installs the wheel",
    "py -m wslwatch run": "tests/test_windows_cli.py runs the daemon on Windows CPython",
}


def test_every_readme_command_is_run_verbatim_by_a_test_or_by_ci() -> None:
    assert COMMANDS, "the README shows no commands in ```sh or ```bat blocks"
    run = set(_run_by_tests()) | _run_by_ci() | set(NOT_RUN_VERBATIM)
    assert [command for command in COMMANDS if command not in run] == []


def test_ci_runs_the_readmes_test_command() -> None:
    assert readme_command("scripts/test") in _run_by_ci()
