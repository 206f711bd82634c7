"""What PromQL in the shipped rules and dashboard refers to: wslwatch series and their labels.

Good enough for our own expressions (every series of ours starts with `wslwatch`), not a
PromQL parser: string literals are removed first, so label values never look like names.
"""

from __future__ import annotations

import re
from typing import Iterator

from wslwatch.exporters.catalogue import CATALOGUE

__all__ = ["TARGET_LABELS", "known_labels", "selectors", "unknown_names"]

#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"instance", "job"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_NAME = re.compile(r"\bwslwatch[_:][A-Za-z0-9_:]*")
_SELECTOR = re.compile(r"\b(wslwatch[_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def _without_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def _family(name: str) -> str | None:
    """The catalogue family a series name belongs to (histogram parts included)."""
    if name in CATALOGUE:
        return name
    for part in _HISTOGRAM_PARTS:
        base = name.removesuffix(part)
        if base != name and CATALOGUE.get(base) is not None and CATALOGUE[base].kind == "histogram":
            return base
    return None


def unknown_names(expr: str, recorded: set[str]) -> set[str]:
    """wslwatch series in `expr` that are neither in the catalogue nor in `recorded`."""
    names = set(_NAME.findall(_without_strings(expr)))
    return {name for name in names if _family(name) is None and name not in recorded}


def selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """Each `wslwatch...{matchers}` in `expr`: the series name and the labels it matches on."""
    for match in _SELECTOR.finditer(expr):
        yield match[1], set(_MATCHER.findall(_without_strings(match[2])))


def known_labels(name: str) -> set[str] | None:
    """Labels a catalogue series can carry once scraped (`le` for buckets); None if not ours."""
    family = _family(name)
    if family is None:
        return None
    labels = set(CATALOGUE[family].labels) | TARGET_LABELS
    return labels | {"le"} if name.endswith("_bucket") else labels
