"""What every built-in rule shares: its name, its configured timing and severity."""

from __future__ import annotations

from typing import Generic, TypeVar

from wslwatch.config.schema import RuleConfig

__all__ = ["ConfiguredRule"]

C = TypeVar("C", bound=RuleConfig)


class ConfiguredRule(Generic[C]):
    """A rule with one severity, timed by its `[rules.<name>]` table."""

    name = ""

    def __init__(self, config: C) -> None:
        self.config = config
        self.severity = config.severity
        self.for_s = config.for_s
        self.clear_for_s = config.clear_for_s
