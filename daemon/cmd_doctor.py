"""`wslwatch doctor [--json]`: one report to read, or to paste into a bug report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Sequence

from wslwatch.daemon.cmd_common import add_config_option

if TYPE_CHECKING:  # the checks import most of wslwatch (and Pillow): only when doctor runs
    from wslwatch.daemon.doctor import Finding

__all__ = ["as_json", "as_text", "register"]

#: Text output is wrapped at this width so that a report pastes cleanly into an issue.
WIDTH = 100
_SHOWN_STATUS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "info": "info"}
#: The check names' column is at most this wide; a longer name (a path) pushes its own line only.
_NAME_COLUMN = 20


def register(commands: Any) -> None:
    parser = commands.add_parser("doctor", help="check this machine and print what to fix (for bug reports)")
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help='print {"findings": [{"check","status","detail","fix"}]}')
    parser.set_defaults(handler=doctor)


def doctor(args: argparse.Namespace) -> int:
    """Always 0 once the report is printed: warnings and failures are its content, not doctor's."""
    from wslwatch.daemon.doctor import gather

    if args.log_level != "DEBUG":  # what the collectors would log is in the report already
        logging.getLogger().setLevel(logging.ERROR)
    findings = gather(args.config)
    sys.stdout.write(as_json(findings) if args.json else as_text(findings))
    return 0


def as_json(findings: Sequence[Finding]) -> str:
    doc = {"findings": [{"check": f.check, "status": f.status, "detail": f.detail, "fix": f.fix} for f in findings]}
    return json.dumps(doc, indent=2) + "\n"


def as_text(findings: Sequence[Finding]) -> str:
    """Findings grouped under their group's name; every detail line and fix wrapped under its check."""
    name_width = min(max(len(f.check.split(".", 1)[-1]) for f in findings), _NAME_COLUMN)
    indent = " " * (2 + 4 + 2 + name_width + 2)
    lines: list[str] = []
    group = None
    for finding in findings:
        if finding.group != group:
            group = finding.group
            lines += ["", group] if lines else [group]
        head = f"  {_SHOWN_STATUS[finding.status]:<4}  {finding.check.split('.', 1)[-1]:<{name_width}}  "
        body = finding.detail.splitlines() or [""]
        body += [f"fix: {finding.fix}"] if finding.fix else []
        for number, text in enumerate(body):
            first = head if number == 0 else indent
            wrapped = textwrap.wrap(
                text, WIDTH, initial_indent=first, subsequent_indent=indent + "  ",
                break_long_words=False, break_on_hyphens=False,
            )  # fmt: skip
            lines += wrapped or [first.rstrip()]
    counts = {status: sum(f.status == status for f in findings) for status in _SHOWN_STATUS}
    lines += ["", "summary: " + ", ".join(f"{n} {status}" for status, n in counts.items())]
    return "\n".join(lines) + "\n"
