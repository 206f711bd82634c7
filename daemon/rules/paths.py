"""Path rules: training data on a cross-OS filesystem, slow metadata operations, stalled probes."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Mapping, Sequence

from wslwatch.config.schema import PathConfig, PathCrossOsConfig, PathSlowConfig, PathStalledConfig
from wslwatch.daemon.alerting import Active, Finding, format_duration
from wslwatch.daemon.rules._base import C, ConfiguredRule
from wslwatch.daemon.view import View, histogram_quantile

__all__ = ["PathCrossOs", "PathSlow", "PathStalled"]

_TRUE = frozenset({"true", "1", "yes"})
_BUCKETS = "wslwatch_path_io_latency_seconds_bucket"
_COUNTS = "wslwatch_path_io_latency_seconds_count"
_DEFAULT_INTERVAL_S = PathConfig(path="-").interval_s
_MOVE = "Try: keep the data on the side where training runs (in WSL: the Linux filesystem, e.g. under ~)"


class _PathRule(ConfiguredRule[C]):
    """A rule that knows the configured paths: their names, intervals and which hold data."""

    def __init__(self, config: C, paths: Sequence[PathConfig]) -> None:
        super().__init__(config)
        self._paths = {p.path: p for p in paths}

    def _title(self, path: str) -> str:
        configured = self._paths.get(path)
        return f"'{configured.name}' ({path})" if configured and configured.name else path

    def _interval_s(self, path: str) -> float:
        configured = self._paths.get(path)
        return configured.interval_s if configured else _DEFAULT_INTERVAL_S


class PathCrossOs(_PathRule[PathCrossOsConfig]):
    """A path configured as training data (`data="true"` on its path_info) is on a cross-OS filesystem."""

    name = "path_cross_os"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        for sample in view.series("wslwatch_path_info"):
            path = sample.labels.get("path", "")
            if sample.labels.get("data") not in _TRUE or sample.labels.get("cross_os") not in _TRUE:
                continue
            fstype, kind = sample.labels.get("fstype", "?"), sample.labels.get("kind", "?")
            yield Finding(
                {"path": path},
                f"Training data {self._title(path)} is on {fstype} ({kind}), shared between Windows and WSL",
                f"every file operation crosses the VM boundary, many times slower than a local disk. {_MOVE}",
            )


class PathSlow(_PathRule[PathSlowConfig]):
    """The pooled median of a path's metadata operations in its last probe cycle is slow.

    The last cycle is the last rise of each operation's observation count; a cycle two probe
    intervals old no longer counts, as in the PromQL rule's two 1 min windows (a stalled probe
    is `path_stalled`'s business).
    """

    name = "path_slow"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        c = self.config
        cycles = {
            (s.labels.get("path", ""), s.labels.get("op", "")): self._last_cycle(view, s.labels)
            for s in view.series(_COUNTS)
            if s.labels.get("op") in c.ops
        }
        pooled: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
        for sample in view.series(_BUCKETS):
            path = sample.labels.get("path", "")
            cycle = cycles.get((path, sample.labels.get("op", "")))
            if cycle is None or "le" not in sample.labels:
                continue
            before = view.value_at(_BUCKETS, sample.labels, cycle[0]) or 0.0
            after = view.value_at(_BUCKETS, sample.labels, cycle[1]) or 0.0
            pooled[path][float(sample.labels["le"])] += after - before if after >= before else after
        for path, buckets in pooled.items():
            median = histogram_quantile(0.5, list(buckets.items()))
            line = c.clear_threshold_s if active({"path": path}, self.severity) else c.threshold_s
            if median is None or median <= line:
                continue
            yield Finding(
                {"path": path},
                f"Path {self._title(path)}: file operations (open, stat, create) take {median * 1000:.1f} ms "
                f"(median of the last probe; slow above {c.threshold_s * 1000:g} ms)",
                f"reading many small files from it will be slow. {_MOVE}",
            )

    def _last_cycle(self, view: View, labels: Mapping[str, str]) -> tuple[float, float] | None:
        """`(before, after)`: the times around the last rise of an op's observation count."""
        counts = view.points(_COUNTS, labels)
        for i in range(len(counts) - 1, 0, -1):
            if counts[i][1] != counts[i - 1][1]:
                fresh = view.now - counts[i][0] < 2 * self._interval_s(labels.get("path", ""))
                return (counts[i - 1][0], counts[i][0]) if fresh else None
        return None


class PathStalled(_PathRule[PathStalledConfig]):
    """A path's probe does not finish: the filesystem behind it does not answer."""

    name = "path_stalled"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        for sample in view.series("wslwatch_path_probe_status"):
            if sample.labels.get("status") != "stalled" or sample.value != 1:
                continue
            path = sample.labels.get("path", "")
            last = view.value("wslwatch_path_probe_last_success_timestamp_seconds", path=path)
            since = f" for {format_duration(view.now - last)}" if last else ""
            yield Finding(
                {"path": path},
                f"The probe of path {self._title(path)} has stalled{since}: the filesystem does not answer",
                "anything that reads it hangs. Try: check the disk or share behind it "
                "(a dead /mnt drive in WSL clears with wsl --shutdown)",
            )
