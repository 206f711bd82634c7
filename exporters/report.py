"""A picture of a training session from recorded samples, drawn with Pillow alone.

Three panels on one time axis: memory (host RAM used and total, the WSL VM's working set,
the guest's used memory with its page cache stacked on top, so the gap between the VM
line and the stack is memory Windows still counts for the VM), VRAM per GPU, and the
guest's swap traffic; alerts that fired are marked in a strip above and shaded across the
panels. Missing data stays a gap, never a zero.

Pillow is already a dependency (the tray icon); matplotlib would add tens of MB (numpy
and friends) to a tray app for three line charts. Everything is drawn at twice the size
and reduced by box averaging, which smooths the lines and keeps flat colours exact.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from PIL import Image, ImageDraw, ImageFont

from wslwatch.exporters.recording import AlertSpan, Recording

__all__ = ["NAMES", "SEVERITY_COLOURS", "Layout", "Panel", "panels_of", "render"]

RGB = tuple[int, int, int]

GIB = float(2**30)
MIB = float(2**20)
PAGE_BYTES = 4096  # guest swap counters count 4 KiB pages (x86-64 Linux)

NAMES = (
    "wslwatch_host_memory_total_bytes",
    "wslwatch_host_memory_available_bytes",
    "wslwatch_vmmem_working_set_bytes",
    "wslwatch_guest_memory_total_bytes",
    "wslwatch_guest_memory_free_bytes",
    "wslwatch_guest_memory_cached_bytes",
    "wslwatch_gpu_memory_used_bytes",
    "wslwatch_gpu_memory_total_bytes",
    "wslwatch_guest_swap_in_pages_total",
    "wslwatch_guest_swap_out_pages_total",
)

SEVERITY_COLOURS: dict[str, RGB] = {"critical": (220, 38, 38), "warning": (234, 140, 0), "info": (37, 99, 235)}
BACKGROUND: RGB = (255, 255, 255)
_INK: RGB = (40, 40, 40)
_MUTED: RGB = (120, 120, 120)
_GRID: RGB = (232, 232, 232)
_FRAME: RGB = (190, 190, 190)
_GPU_COLOURS: tuple[RGB, ...] = ((118, 72, 199), (0, 150, 136), (200, 60, 140), (90, 90, 90))
_SCALE = 2  # drawn at twice the size, then reduced


@dataclass(frozen=True)
class Line:
    label: str
    colour: RGB
    points: dict[float, float]
    dashed: bool = False


@dataclass(frozen=True)
class Area:
    """A band between `lower` (or 0) and `upper`, filled."""

    label: str
    colour: RGB
    upper: dict[float, float]
    lower: dict[float, float] | None = None


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    lines: list[Line] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    empty: str = "no data recorded"

    def has_data(self) -> bool:
        return any(line.points for line in self.lines) or any(area.upper for area in self.areas)


@dataclass(frozen=True)
class Layout:
    """Where things were drawn, in output pixels."""

    width: int
    height: int
    start: float
    end: float
    left: int
    right: int
    strip: tuple[int, int]  # top and bottom of the alert strip
    alert_rows: tuple[tuple[int, int], ...]  # top and bottom of each alert's row, in `Recording.alerts` order
    panels: tuple[tuple[int, int], ...]  # top and bottom of each plot area

    def x_of(self, t: float) -> float:
        span = max(self.end - self.start, 1e-9)
        return self.left + (t - self.start) / span * (self.right - self.left)


def panels_of(recording: Recording) -> list[Panel]:
    """The three panels, in display units (GiB, MiB/min), from the recorded series."""
    return [_memory_panel(recording), _vram_panel(recording), _swap_panel(recording)]


def _memory_panel(rec: Recording) -> Panel:
    host_total = rec.one("wslwatch_host_memory_total_bytes")
    host_used = _combine(host_total, rec.one("wslwatch_host_memory_available_bytes"), lambda a, b: a - b)
    guest_total, guest_free = rec.one("wslwatch_guest_memory_total_bytes"), rec.one("wslwatch_guest_memory_free_bytes")
    guest_taken = _combine(guest_total, guest_free, lambda a, b: a - b)
    guest_used = _combine(guest_taken, rec.one("wslwatch_guest_memory_cached_bytes"), lambda a, b: a - b)
    return Panel(
        "Memory (GiB)",
        "GiB",
        lines=[
            Line("host RAM", (150, 150, 150), _scaled(host_total, GIB), dashed=True),
            Line("host used", (37, 99, 235), _scaled(host_used, GIB)),
            Line("WSL VM working set", (234, 88, 12), _scaled(rec.one("wslwatch_vmmem_working_set_bytes"), GIB)),
        ],
        areas=[
            Area("guest used", (22, 163, 74), _scaled(guest_used, GIB)),
            Area("guest page cache", (163, 230, 53), _scaled(guest_taken, GIB), lower=_scaled(guest_used, GIB)),
        ],
    )


def _vram_panel(rec: Recording) -> Panel:
    totals = {dict(labels).get("gpu", "?"): points for labels, points in rec.series("wslwatch_gpu_memory_total_bytes").items()}
    lines = []
    used = sorted(rec.series("wslwatch_gpu_memory_used_bytes").items())
    for index, (labels, points) in enumerate(used):
        gpu = dict(labels).get("gpu", "?")
        colour = _GPU_COLOURS[index % len(_GPU_COLOURS)]
        lines.append(Line(f"GPU {gpu} used", colour, _scaled(points, GIB)))
        if gpu in totals:
            lines.append(Line(f"GPU {gpu} total", colour, _scaled(totals[gpu], GIB), dashed=True))
    return Panel("VRAM (GiB)", "GiB", lines=lines, empty="no GPU data recorded")


def _swap_panel(rec: Recording) -> Panel:
    rates = [
        Line(f"swap {way}", colour, _rate(rec.one(f"wslwatch_guest_swap_{way}_pages_total"), PAGE_BYTES * 60 / MIB))
        for way, colour in (("in", (147, 51, 234)), ("out", (219, 39, 119)))
    ]
    return Panel("Guest swap (MiB/min)", "MiB/min", lines=rates, empty="no guest swap data recorded")


def _combine(a: dict[float, float], b: dict[float, float], how: Callable[[float, float], float]) -> dict[float, float]:
    return {t: how(a[t], b[t]) for t in a if t in b}


def _scaled(points: dict[float, float], unit: float) -> dict[float, float]:
    return {t: value / unit for t, value in points.items()}


def _rate(counter: dict[float, float], factor: float) -> dict[float, float]:
    """Per-minute rate between consecutive counter readings; a counter that went down was reset."""
    ordered = sorted(counter.items())
    return {
        t1: (v1 - v0) / (t1 - t0) * factor
        for (t0, v0), (t1, v1) in zip(ordered, ordered[1:])
        if t1 > t0 and v1 >= v0
    }


# --- drawing -----------------------------------------------------------------------------


def render(recording: Recording, size: tuple[int, int] = (1200, 900)) -> tuple[Image.Image, Layout]:
    """The report picture and where its parts are; `recording` must hold at least one moment."""
    if recording.start is None or recording.end is None:
        raise ValueError("the recording holds no samples")
    width, height = size
    start, end = recording.start, max(recording.end, recording.start + 60)
    layout = _layout(width, height, start, end, _rows(recording.alerts))
    canvas = _Canvas(width, height)
    panels = panels_of(recording)
    gap = _gap_seconds(recording.times)
    canvas.text((layout.left, 10), _title(start, end), size=17, fill=_INK)
    ticks = _time_ticks(start, end)
    alerts = sorted(zip(recording.alerts, layout.alert_rows), key=lambda pair: _severity_rank(pair[0]))
    _draw_alert_bands(canvas, layout, [alert for alert, _ in alerts])
    for panel, (top, bottom) in zip(panels, layout.panels):
        _draw_panel(canvas, layout, panel, top, bottom, ticks, gap)
    _draw_alert_strip(canvas, layout, alerts)
    _draw_time_axis(canvas, layout, ticks, start, end)
    return canvas.finish(), layout


_MAX_ROWS = 4
_ROW = 16


def _rows(alerts: list[AlertSpan]) -> list[int]:
    """A strip row per alert, so that alerts firing at the same time sit one above the other."""
    ends: list[float] = []
    rows = []
    for alert in alerts:
        free = next((row for row, end in enumerate(ends) if end <= alert.start), None)
        if free is None:
            free = len(ends) if len(ends) < _MAX_ROWS else min(range(len(ends)), key=ends.__getitem__)
            if free == len(ends):
                ends.append(alert.end)
        ends[free] = alert.end
        rows.append(free)
    return rows


def _layout(width: int, height: int, start: float, end: float, rows: list[int]) -> Layout:
    left, right = 64, width - 16
    count = max(rows, default=0) + 1
    strip = (44, 44 + count * _ROW + 2)
    alert_rows = tuple((strip[0] + 1 + row * _ROW, strip[0] + 1 + (row + 1) * _ROW - 1) for row in rows)
    top, bottom = strip[1] + 16, height - 34
    shares, gap = (0.44, 0.30, 0.26), 30
    usable = bottom - top - gap * (len(shares) - 1)
    panels, y = [], top
    for share in shares:
        h = int(usable * share)
        panels.append((y + 18, y + h))  # 18 px for the panel title
        y += h + gap
    return Layout(width, height, start, end, left, right, strip, alert_rows, tuple(panels))


class _Canvas:
    """Drawing in output pixels on a twice-as-large image, with an overlay for translucent shading."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (width * _SCALE, height * _SCALE), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        self._fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in self._fonts:
            self._fonts[size] = ImageFont.load_default(size=size * _SCALE)
        return self._fonts[size]

    def text(self, xy: tuple[float, float], text: str, *, size: int = 11, fill: RGB = _INK, anchor: str = "la") -> None:
        self.draw.text((xy[0] * _SCALE, xy[1] * _SCALE), text, fill=fill, font=self.font(size), anchor=anchor)

    def text_width(self, text: str, size: int = 11) -> float:
        return self.draw.textlength(text, font=self.font(size)) / _SCALE

    def rect(self, box: tuple[float, float, float, float], *, fill: RGB | None = None, outline: RGB | None = None) -> None:
        self.draw.rectangle([v * _SCALE for v in box], fill=fill, outline=outline, width=_SCALE if outline else 0)

    def line(self, points: Sequence[tuple[float, float]], fill: RGB, width: float = 1.0) -> None:
        if len(points) == 1:
            x, y = points[0]
            self.rect((x - width, y - width, x + width, y + width), fill=fill)
            return
        self.draw.line([(x * _SCALE, y * _SCALE) for x, y in points], fill=fill, width=round(width * _SCALE), joint="curve")

    def polygon(self, points: Sequence[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([(x * _SCALE, y * _SCALE) for x, y in points], fill=fill)

    def finish(self) -> Image.Image:
        return self.image.reduce(_SCALE)


def _draw_panel(
    canvas: _Canvas, layout: Layout, panel: Panel, top: int, bottom: int, ticks: list[float], gap: float
) -> None:
    canvas.text((layout.left, top - 16), panel.title, size=12, fill=_INK)
    for t in ticks:
        x = layout.x_of(t)
        canvas.line([(x, top), (x, bottom)], _GRID)
    if not panel.has_data():
        canvas.rect((layout.left, top, layout.right, bottom), outline=_FRAME)
        canvas.text(((layout.left + layout.right) / 2, (top + bottom) / 2), panel.empty, size=12, fill=_MUTED, anchor="mm")
        return
    values = [v for line in panel.lines for v in line.points.values()] + [v for a in panel.areas for v in a.upper.values()]
    y_max, step = _y_scale(max(values))

    def y_of(value: float) -> float:
        return bottom - max(0.0, value) / y_max * (bottom - top)

    level = 0.0
    while level <= y_max + step / 2:
        y = y_of(level)
        canvas.line([(layout.left, y), (layout.right, y)], _GRID)
        canvas.text((layout.left - 6, y), _number(level), size=10, fill=_MUTED, anchor="rm")
        level += step
    for area in panel.areas:
        for run in _runs(sorted(area.upper), gap):
            lower = area.lower or {}
            upper = [(layout.x_of(t), y_of(area.upper[t])) for t in run]
            under = [(layout.x_of(t), y_of(lower.get(t, 0.0))) for t in reversed(run)]
            canvas.polygon(upper + under if len(run) > 1 else _sliver(upper[0], under[0]), area.colour)
    for line in panel.lines:
        for run in _runs(sorted(line.points), gap):
            points = [(layout.x_of(t), y_of(line.points[t])) for t in run]
            if line.dashed:
                _dashed(canvas, points, line.colour)
            else:
                canvas.line(points, line.colour, 1.6)
    canvas.rect((layout.left, top, layout.right, bottom), outline=_FRAME)
    entries = [(a.label, a.colour, False) for a in panel.areas if a.upper]
    entries += [(line.label, line.colour, line.dashed) for line in panel.lines if line.points]
    _legend(canvas, layout.left + 8, top + 6, entries)


def _sliver(upper: tuple[float, float], lower: tuple[float, float]) -> list[tuple[float, float]]:
    """A lone point of an area: a 2 px wide bar."""
    (x, y1), (_, y0) = upper, lower
    return [(x - 1, y1), (x + 1, y1), (x + 1, y0), (x - 1, y0)]


def _legend(canvas: _Canvas, x: float, y: float, entries: list[tuple[str, RGB, bool]]) -> None:
    """Swatches and labels in a row; a dashed line's swatch is a dash."""
    widths = [18 + canvas.text_width(label, 10) + 12 for label, _, _ in entries]
    canvas.rect((x - 4, y - 3, x + sum(widths) - 4, y + 14), fill=BACKGROUND, outline=_GRID)
    for (label, colour, dashed), width in zip(entries, widths):
        if dashed:
            _dashed(canvas, [(x, y + 6), (x + 13, y + 6)], colour, dash=4.0)
        else:
            canvas.rect((x, y + 2, x + 13, y + 10), fill=colour)
        canvas.text((x + 18, y + 6), label, size=10, fill=_INK, anchor="lm")
        x += width


def _dashed(canvas: _Canvas, points: list[tuple[float, float]], colour: RGB, dash: float = 6.0) -> None:
    on, left = True, dash
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        done = 0.0
        while done < length:
            step = min(left, length - done)
            a, b = done / length, (done + step) / length
            if on:
                canvas.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)], colour, 1.2)
            done += step
            left -= step
            if left <= 0:
                on, left = not on, dash


def _severity_rank(alert: AlertSpan) -> int:
    """Info first, critical last, so the worst is drawn on top."""
    order = ("info", "warning", "critical")
    return order.index(alert.severity) if alert.severity in order else 1


def _colour(alert: AlertSpan) -> RGB:
    return SEVERITY_COLOURS.get(alert.severity, SEVERITY_COLOURS["warning"])


def _span_x(layout: Layout, alert: AlertSpan) -> tuple[float, float]:
    x0 = layout.x_of(alert.start)
    return x0, max(layout.x_of(alert.end), x0 + 2)


def _draw_alert_bands(canvas: _Canvas, layout: Layout, alerts: list[AlertSpan]) -> None:
    """A light tint of the severity colour behind every panel while an alert fired."""
    for alert in alerts:
        tint = _tint(_colour(alert), 0.16)
        x0, x1 = _span_x(layout, alert)
        for top, bottom in layout.panels:
            canvas.rect((x0, top, x1, bottom), fill=tint)


def _tint(colour: RGB, strength: float) -> RGB:
    r, g, b = (round(c * strength + 255 * (1 - strength)) for c in colour)
    return r, g, b


def _draw_alert_strip(canvas: _Canvas, layout: Layout, alerts: list[tuple[AlertSpan, tuple[int, int]]]) -> None:
    top, bottom = layout.strip
    canvas.text((layout.left - 6, (top + bottom) / 2), "alerts", size=10, fill=_MUTED, anchor="rm")
    canvas.rect((layout.left, top, layout.right, bottom), outline=_GRID)
    if not alerts:
        canvas.text((layout.left + 8, (top + bottom) / 2), "no alert fired", size=10, fill=_MUTED, anchor="lm")
        return
    for alert, (row_top, row_bottom) in alerts:
        x0, x1 = _span_x(layout, alert)
        canvas.rect((x0, row_top, x1, row_bottom), fill=_colour(alert))
    for alert, (row_top, row_bottom) in alerts:
        x0, x1 = _span_x(layout, alert)
        middle = (row_top + row_bottom) / 2
        if canvas.text_width(alert.rule, 10) + 8 < x1 - x0:
            canvas.text((x0 + 4, middle), alert.rule, size=10, fill=BACKGROUND, anchor="lm")
        else:
            canvas.text((x1 + 3, middle), alert.rule, size=10, fill=_colour(alert), anchor="lm")


def _draw_time_axis(canvas: _Canvas, layout: Layout, ticks: list[float], start: float, end: float) -> None:
    bottom = layout.panels[-1][1]
    long = end - start >= 2 * 86400
    for t in ticks:
        x = layout.x_of(t)
        canvas.line([(x, bottom), (x, bottom + 4)], _MUTED)
        canvas.text((x, bottom + 7), datetime.fromtimestamp(t).strftime("%m-%d %H:%M" if long else "%H:%M"), size=10, fill=_MUTED, anchor="ma")


def _title(start: float, end: float) -> str:
    first, last = datetime.fromtimestamp(start), datetime.fromtimestamp(end)
    hours, rest = divmod(int(end - start), 3600)
    span = f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"
    until = last.strftime("%H:%M" if first.date() == last.date() else "%Y-%m-%d %H:%M")
    return f"wslwatch: {first:%Y-%m-%d %H:%M} to {until} ({span})"


_TIME_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _time_ticks(start: float, end: float, most: int = 9) -> list[float]:
    """Round local times (every 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, days) inside the span;
    never more than `most`, however long the span."""
    step = next((s for s in _TIME_STEPS if (end - start) / s <= most), math.ceil((end - start) / most / 86400) * 86400)
    offset = datetime.fromtimestamp(start).astimezone().utcoffset()
    shift = offset.total_seconds() if offset else 0.0
    first = math.ceil((start + shift) / step) * step - shift
    return [first + i * step for i in range(int((end - first) // step) + 1)]


def _y_scale(highest: float) -> tuple[float, float]:
    """A round top of the axis (at least 5 % above `highest`) and the step between grid lines."""
    highest = max(highest * 1.05, 1e-9)
    raw = highest / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(highest / step) * step, step


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.1f}".rstrip("0").rstrip(".")


def _gap_seconds(times: list[float]) -> float:
    """Points further apart than this are not joined: three typical steps."""
    steps = [b - a for a, b in zip(times, times[1:]) if b > a]
    return 3 * statistics.median(steps) if steps else math.inf


def _runs(times: list[float], gap: float) -> list[list[float]]:
    runs: list[list[float]] = []
    for t in times:
        if runs and t - runs[-1][-1] <= gap:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs
