"""Path rules: training data on a cross-OS filesystem, slow metadata operations, stalled probes."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

from wslwatch.config.schema import PathConfig, PathCrossOsConfig, PathSlowConfig, PathStalledConfig
from wslwatch.daemon.alerting import Active, Finding
from wslwatch.daemon.rules._base import C, ConfiguredRule
from wslwatch.daemon.view import View, histogram_quantile

__all__ = ["PathCrossOs", "PathSlow", "PathStalled"]

_TRUE = ("true", "1", "yes")
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
    """A path configured as training data lives on a filesystem shared across Windows and WSL."""

    name = "path_cross_os"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        for sample in view.series("wslwatch_path_info"):
            path = sample.labels.get("path", "")
            configured = self._paths.get(path)
            if not configured or not configured.data or sample.labels.get("cross_os", "").lower() not in _TRUE:
                continue
            fstype, kind = sample.labels.get("fstype", "?"), sample.labels.get("kind", "?")
            yield Finding(
                {"path": path},
                f"Training data {self._title(path)} is on {fstype} ({kind}), shared between Windows and WSL",
                f"every file operation crosses the VM boundary, many times slower than a local disk. {_MOVE}",
            )


class PathSlow(_PathRule[PathSlowConfig]):
    """The pooled median of a path's metadata operations over its last probe cycle is slow."""

    name = "path_slow"
    _BUCKETS = "wslwatch_path_io_latency_seconds_bucket"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        c = self.config
        pooled: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
        for sample in view.series(self._BUCKETS):
            path, op = sample.labels.get("path", ""), sample.labels.get("op", "")
            if op not in c.ops or "le" not in sample.labels:
                continue
            found = view.increase(self._BUCKETS, sample.labels, 1.5 * self._interval_s(path))
            if found is not None:
                pooled[path][float(sample.labels["le"])] += found[0]
        for path, buckets in pooled.items():
            median = histogram_quantile(0.5, list(buckets.items()))
            line = c.clear_threshold_s if active({"path": path}, self.severity) else c.threshold_s
            if median is None or median <= line:
                continue
            yield Finding(
                {"path": path},
                f"Path {self._title(path)}: median {', '.join(c.ops)} latency {median * 1000:.1f} ms "
                f"in the last probe (slow above {c.threshold_s * 1000:g} ms)",
                f"reading many small files from it will be slow. {_MOVE}",
            )


class PathStalled(_PathRule[PathStalledConfig]):
    """A path's probe does not finish: the filesystem behind it does not answer."""

    name = "path_stalled"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        for sample in view.series("wslwatch_path_probe_status"):
            if sample.labels.get("status") != "stalled" or sample.value != 1:
                continue
            path = sample.labels.get("path", "")
            yield Finding(
                {"path": path},
                f"The probe of path {self._title(path)} has stalled: the filesystem does not answer",
                "anything that reads it hangs. Try: check the disk or share behind it "
                "(a dead /mnt drive in WSL clears with wsl --shutdown)",
            )
