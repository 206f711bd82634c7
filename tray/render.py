"""The tray icon as a pure function of a snapshot and the alerts.

Three bars, left to right: host RAM in use, the WSL VM's working set (share of host RAM)
and VRAM in use on the fullest GPU, filled white from the bottom on a track that is a dark
shade of the background. The background is the colour of the worst firing alert: green
(none, or info only), amber (warning), red (critical), so even at 16 px the whole icon
reads as that colour. A value the snapshot lacks (no GPU, no VM) is a grey track with no
fill.
"""

from __future__ import annotations

from typing import Iterable

from PIL import Image

from wslwatch.core import Alert
from wslwatch.store import Snapshot
from wslwatch.tray.readings import Readings, Usage, worst_severity

__all__ = ["ABSENT", "AMBER", "FILL", "GREEN", "RED", "colour_for", "draw", "render", "track_for"]

RGB = tuple[int, int, int]

GREEN: RGB = (0, 150, 60)
AMBER: RGB = (235, 150, 0)
RED: RGB = (205, 30, 30)
FILL: RGB = (250, 250, 250)
ABSENT: RGB = (128, 128, 128)

_BY_SEVERITY = {"critical": RED, "warning": AMBER}

# The layout in sixteenths of the side: margin, bar, gap, bar, gap, bar, margin.
_GRID = 16
_BAR_STARTS = (1, 6, 11)
_BAR_WIDTH = 4
_MARGIN = 1


def colour_for(severity: str | None) -> RGB:
    """The background for the worst firing severity."""
    return _BY_SEVERITY.get(severity or "", GREEN)


def track_for(background: RGB) -> RGB:
    """The unfilled part of a bar: the background at a third of its brightness."""
    r, g, b = background
    return r // 3, g // 3, b // 3


def render(snapshot: Snapshot, alerts: Iterable[Alert], size: int = 64) -> Image.Image:
    """The icon for `snapshot` and `alerts`, `size` pixels square (at least 16)."""
    readings = Readings.of(snapshot)
    return draw((readings.host, readings.vm, readings.vram), colour_for(worst_severity(alerts)), size)


def draw(bars: tuple[Usage | None, Usage | None, Usage | None], background: RGB, size: int) -> Image.Image:
    """Three bars on `background`; a None bar is drawn as an empty grey track."""
    if size < _GRID:
        raise ValueError(f"icon size {size} is below the smallest legible size, {_GRID} px")
    image = Image.new("RGB", (size, size), background)  # boxes are pasted: ImageDraw costs 1.6 MB of RSS
    track = track_for(background)
    top = _edge(_MARGIN, size)
    bottom = size - _edge(_MARGIN, size)  # boxes are (left, top, right, bottom), right and bottom exclusive
    for start, usage in zip(_BAR_STARTS, bars):
        left, right = _edge(start, size), _edge(start + _BAR_WIDTH, size)
        image.paste(track if usage is not None else ABSENT, (left, top, right, bottom))
        filled = 0 if usage is None else round(usage.fraction * (bottom - top))
        if filled:
            image.paste(FILL, (left, bottom - filled, right, bottom))
    return image


def _edge(units: int, size: int) -> int:
    return round(units * size / _GRID)
