"""Forecast rules: when will the guest's memory, or a GPU's VRAM, run out at the current trend.

The trend is the least-squares line through what is left (MemAvailable, free VRAM) over the
last `window_s`, as PromQL's `predict_linear`/`deriv` fit it (every point at or after
`now - window_s`, the line's value taken at `now`), so the shipped PromQL rules give the same
forecast. No forecast — no series, no alert — when the history does not cover the window, when
the line falls by less than `min_fall_ratio` of the total over the window (flat, or rising),
or when the line does not fit: it explains less than `min_r_squared` of the values' variance (R²; a
step fits a line with R² = 3p(1-p) ≤ 0.75, p the share of the window after it; a steady leak
near 1), or the latest value lies further than `max_residual_ratio` of the total from it (a
ramp that has stopped: the line overshoots the plateau).
"""

from __future__ import annotations

import math
from typing import Iterator, Mapping, NamedTuple

from wslwatch.config.schema import FillingConfig, GuestMemoryFillingConfig, RulesConfig, VramFillingConfig
from wslwatch.core import Sample
from wslwatch.daemon.alerting import Active, Finding, format_duration
from wslwatch.daemon.rules._base import ConfiguredRule
from wslwatch.daemon.rules._text import gb, largest
from wslwatch.daemon.rules._wsl import vm_running
from wslwatch.daemon.view import Points, View
from wslwatch.holders import largest_gpu_holder, largest_guest_holder

__all__ = ["GuestMemoryFilling", "Trend", "VramFilling", "forecast_samples", "linear_trend", "seconds_left"]

GUEST_AVAILABLE = "wslwatch_guest_memory_available_bytes"
GUEST_TOTAL = "wslwatch_guest_memory_total_bytes"
GPU_FREE = "wslwatch_gpu_memory_free_bytes"
GPU_TOTAL = "wslwatch_gpu_memory_total_bytes"
_NO_LABELS: dict[str, str] = {}


class Trend(NamedTuple):
    slope: float  # per second
    level: float  # the line's value at the time it was fitted for
    r2: float  # the share of the values' variance the line explains (1: a straight line)


def linear_trend(points: Points, at: float) -> Trend | None:
    """The least-squares line through `points`, its level taken at `at`; None under 2 points.

    Prometheus' linearRegression, with times in seconds from `at`; equal values give slope 0.
    """
    n = len(points)
    if n < 2:
        return None
    if all(value == points[0][1] for _, value in points):
        return Trend(0.0, points[0][1], 0.0)
    xs = [t - at for t, _ in points]
    ys = [value for _, value in points]
    sum_x, sum_y = math.fsum(xs), math.fsum(ys)
    cov = math.fsum(x * y for x, y in zip(xs, ys)) - sum_x * sum_y / n
    var_x = math.fsum(x * x for x in xs) - sum_x * sum_x / n
    var_y = math.fsum(y * y for y in ys) - sum_y * sum_y / n
    if var_x <= 0 or var_y <= 0:
        return None
    slope = cov / var_x
    return Trend(slope, sum_y / n - slope * sum_x / n, cov * cov / (var_x * var_y))


def seconds_left(view: View, name: str, labels: Mapping[str, str], total: float, config: FillingConfig) -> float | None:
    """Seconds until series `name` (what is left of `total`) reaches 0 at its trend, or None."""
    start = view.now - config.window_s
    if view.value_at(name, labels, start) is None:
        return None  # the history does not cover the window yet
    points = [(t, value) for t, value in view.points(name, labels) if start <= t <= view.now]
    trend = linear_trend(points, view.now)
    if trend is None or -trend.slope * config.window_s < config.min_fall_ratio * total:
        return None
    if trend.r2 < config.min_r_squared or abs(trend.level - points[-1][1]) > config.max_residual_ratio * total:
        return None
    return max(trend.level, 0.0) / -trend.slope


def _guest(view: View, config: FillingConfig) -> tuple[float, float, float] | None:
    """(seconds left, available, total) of the guest, or None."""
    total = view.value(GUEST_TOTAL)
    available = view.value(GUEST_AVAILABLE)
    if not total or available is None:
        return None
    left = seconds_left(view, GUEST_AVAILABLE, _NO_LABELS, total, config)
    return None if left is None else (left, available, total)


def _gpus(view: View, config: FillingConfig) -> Iterator[tuple[dict[str, str], float, float, float]]:
    """({gpu, uuid}, seconds left, free, total) of each GPU with a forecast."""
    for sample in view.series(GPU_TOTAL):
        labels = {"gpu": sample.labels.get("gpu", ""), "uuid": sample.labels.get("uuid", "")}
        free = view.value(GPU_FREE, **labels)
        if sample.value <= 0 or free is None:
            continue
        left = seconds_left(view, GPU_FREE, labels, sample.value, config)
        if left is not None:
            yield labels, left, free, sample.value


def forecast_samples(view: View, rules: RulesConfig) -> list[Sample]:
    """`wslwatch_guest_memory_exhausted_in_seconds` and `wslwatch_gpu_memory_exhausted_in_seconds`,
    where there is a forecast, with the rules' settings (the exporter serves them)."""
    samples = []
    guest = _guest(view, rules.guest_memory_filling)
    if guest is not None:
        samples.append(Sample("wslwatch_guest_memory_exhausted_in_seconds", {}, guest[0], view.now))
    for labels, left, _, _ in _gpus(view, rules.vram_filling):
        samples.append(Sample("wslwatch_gpu_memory_exhausted_in_seconds", labels, left, view.now))
    return samples


def _rate(left: float, level: float) -> str:
    return f"{gb(level / left * 60)}/min" if left > 0 else "fast"


class GuestMemoryFilling(ConfiguredRule[GuestMemoryFillingConfig]):
    """The guest will run out of memory within `threshold_s` at the current trend."""

    name = "guest_memory_filling"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        guest = _guest(view, self.config)
        if guest is None or guest[0] >= self.config.threshold_s or not vm_running(view):
            return
        left, available, total = guest
        holder = largest_guest_holder(view.snapshot)
        yield Finding(
            _NO_LABELS,
            f"At this rate the guest runs out of memory in {format_duration(left)} "
            f"({gb(available)} of {gb(total)} available, falling {_rate(left, available)}){largest(holder)}",
            "a training run will be OOM-killed. Try: stop or shrink the largest holder "
            "(a smaller batch size, fewer data-loader workers), or a larger memory= under [wsl2] in .wslconfig",
            holder=holder.name if holder else "",
        )


class VramFilling(ConfiguredRule[VramFillingConfig]):
    """A GPU's VRAM will be full within `threshold_s` at the current trend."""

    name = "vram_filling"

    def evaluate(self, view: View, active: Active) -> Iterator[Finding]:
        for labels, left, free, total in _gpus(view, self.config):
            if left >= self.config.threshold_s:
                continue
            holder = largest_gpu_holder(view.snapshot, labels["uuid"])
            yield Finding(
                labels,
                f"At this rate GPU {labels['gpu']} runs out of VRAM in {format_duration(left)} "
                f"({gb(free)} of {gb(total)} free, falling {_rate(left, free)}){largest(holder)}",
                "the next allocation will fail (CUDA out of memory). Try: a smaller batch size, "
                "or end the process that keeps allocating",
                holder=holder.name if holder else "",
            )
