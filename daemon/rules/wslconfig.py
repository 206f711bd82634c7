"""The .wslconfig rule: settings that do not do what their author meant."""

from __future__ import annotations

from typing import Iterator

from wslwatch.config.schema import WslconfigProblemConfig
from wslwatch.daemon.alerting import Active, Finding
from wslwatch.daemon.rules._base import ConfiguredRule
from wslwatch.daemon.view import View

__all__ = ["WslconfigProblem"]

_RESTART = "then run wsl --shutdown so WSL reads it again"

#: What each problem code of the wslconfig collector means, and its fix.
_PROBLEMS = {
    "reclaim_in_wsl2_section": (
        "autoMemoryReclaim is under [wsl2] in {file}, where WSL ignores it",
        f"Try: move it under [experimental], {_RESTART}",
    ),
    "unknown_reclaim_value": (
        "autoMemoryReclaim in {file} has a value WSL does not know, so WSL uses dropCache",
        f"Try: gradual, dropCache or disabled, {_RESTART}",
    ),
    "bad_size": (
        "a size in {file} is not one WSL accepts, so WSL uses its default",
        f"Try: whole numbers with upper-case units such as 8GB or 512MB, {_RESTART}",
    ),
    "unknown_key": (
        "{file} sets a key WSL does not know, or under the wrong section; WSL ignores it",
        f"Try: the key and its line are in wslwatch's log; fix or remove it, {_RESTART}",
    ),
    "page_reporting_deprecated": (
        "{file} sets pageReporting, which WSL no longer reads",
        f"Try: remove it; use autoMemoryReclaim under [experimental], {_RESTART}",
    ),
    "changed_after_vm_start": (
        "{file} changed after the WSL VM started, so the VM still runs with the old settings",
        "Try: wsl --shutdown (the next WSL command starts the VM with the new file)",
    ),
}


class WslconfigProblem(ConfiguredRule[WslconfigProblemConfig]):
    """One alert per problem the wslconfig collector reports in `.wslconfig`."""

    name = "wslconfig_problem"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        file = next((s.labels.get("path", "") for s in view.series("wslwatch_wsl_config_info")), "") or ".wslconfig"
        for sample in view.series("wslwatch_wsl_config_problem"):
            if sample.value != 1:
                continue
            code = sample.labels.get("code", "")
            what, advice = _PROBLEMS.get(
                code, (f"{{file}} has a problem ({code})", f"Try: wslwatch once shows what was read; fix it, {_RESTART}")
            )
            yield Finding({"code": code}, what.format(file=file), advice)
