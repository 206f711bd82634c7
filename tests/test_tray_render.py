"""`render()` golden checks: colour per alert state, bar heights proportional to the numbers."""

from __future__ import annotations

import pytest
from PIL import Image
from tray_inputs import alert, snapshot

from wslwatch.core import Alert
from wslwatch.tray.render import ABSENT, AMBER, FILL, GREEN, RED, render, track_for

TRACK = track_for(GREEN)

# Host RAM 20 of 28 GiB used (5/7), WSL VM 8 GiB of that host (2/7), VRAM 12 of 24 GiB (1/2):
# fractions of the bar height that are whole pixels at every golden size.
FULL = snapshot(host=(20, 28), vm_gib=8, vm_up=True, gpus=((12, 24),))

# size: (bar x ranges, first and last row of the bar area, filled rows per bar) - worked out by hand.
GOLDEN = {
    16: (((1, 5), (6, 10), (11, 15)), (1, 14), (10, 4, 7)),
    32: (((2, 10), (12, 20), (22, 30)), (2, 29), (20, 8, 14)),
    64: (((4, 20), (24, 40), (44, 60)), (4, 59), (40, 16, 28)),
}


def column(image: Image.Image, x: int) -> list[tuple[int, int, int]]:
    return [image.getpixel((x, y)) for y in range(image.height)]


@pytest.mark.parametrize("size", sorted(GOLDEN))
def test_bars_are_proportional_to_the_numbers(size: int) -> None:
    bars, (top, bottom), filled = GOLDEN[size]
    image = render(FULL, [], size)
    assert image.size == (size, size) and image.mode == "RGB"
    for (left, right), rows in zip(bars, filled):
        for x in range(left, right):
            col = column(image, x)
            assert col[:top] == [GREEN] * top, "margin above the bar is background"
            assert col[top : bottom + 1 - rows] == [TRACK] * (bottom + 1 - top - rows), f"track at x={x}"
            assert col[bottom + 1 - rows : bottom + 1] == [FILL] * rows, f"fill at x={x}"
            assert col[bottom + 1 :] == [GREEN] * (size - bottom - 1), "margin below the bar is background"
    gaps = [0, bars[0][1], bars[1][1], bars[2][1]]
    for x in gaps:
        assert set(column(image, x)) == {GREEN}, f"column {x} separates the bars"


@pytest.mark.parametrize("size", sorted(GOLDEN))
@pytest.mark.parametrize(
    ("alerts", "colour"),
    [
        ([], GREEN),
        ([alert(severity="info")], GREEN),
        ([alert(severity="warning", state="pending"), alert(severity="critical", state="resolved")], GREEN),
        ([alert(severity="warning")], AMBER),
        ([alert(severity="warning"), alert("host_memory_low", severity="critical")], RED),
        ([alert(severity="critical"), alert(severity="info")], RED),
    ],
    ids=["none", "info", "not-firing", "warning", "worst-is-critical", "critical"],
)
def test_background_is_the_worst_firing_severity(size: int, alerts: list[Alert], colour: tuple[int, int, int]) -> None:
    image = render(FULL, alerts, size)
    assert image.getpixel((0, 0)) == colour
    histogram = dict((rgb, n) for n, rgb in image.getcolors())
    assert set(histogram) == {colour, track_for(colour), FILL}
    assert histogram[colour] > size * size // 4, "the state colour frames the bars"
    assert histogram[colour] + histogram[track_for(colour)] > size * size // 2, "the icon reads as its colour"


@pytest.mark.parametrize("size", sorted(GOLDEN))
def test_a_missing_value_is_an_empty_grey_bar(size: int) -> None:
    bars, (top, bottom), _ = GOLDEN[size]
    no_gpu_no_vm = snapshot(host=(20, 28), vm_up=False)
    image = render(no_gpu_no_vm, [], size)
    for left, right in bars[1:]:
        for x in range(left, right):
            assert column(image, x)[top : bottom + 1] == [ABSENT] * (bottom + 1 - top)
    host_left = bars[0][0]
    assert column(image, host_left)[bottom] == FILL, "the host bar is still drawn"


def test_nothing_known_draws_three_grey_bars() -> None:
    image = render(snapshot(), [], 16)
    assert {rgb for _, rgb in image.getcolors()} == {GREEN, ABSENT}


def test_full_and_empty_bars_and_out_of_range_values() -> None:
    # VRAM 0 of 8 GiB, a working set larger than host RAM (clamped), host RAM all used.
    image = render(snapshot(host=(16, 16), vm_gib=40, gpus=((0, 8),)), [], 16)
    assert column(image, 2)[1:15] == [FILL] * 14
    assert column(image, 7)[1:15] == [FILL] * 14
    assert column(image, 12)[1:15] == [TRACK] * 14


def test_the_fullest_gpu_is_shown() -> None:
    image = render(snapshot(host=(1, 28), gpus=((2, 28), (20, 28), (8, 28))), [], 16)
    assert column(image, 12).count(FILL) == 10


def test_sizes_between_goldens_keep_the_layout() -> None:
    for size in (20, 24, 48):
        image = render(FULL, [alert(severity="critical")], size)
        assert image.getpixel((0, size // 2)) == RED
        assert image.getpixel((size // 2, size - 1)) == RED
        assert FILL in {rgb for _, rgb in image.getcolors()}


def test_below_sixteen_pixels_is_refused() -> None:
    with pytest.raises(ValueError, match="below the smallest legible size"):
        render(FULL, [], 15)
