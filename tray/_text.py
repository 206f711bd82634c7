"""Cutting text to what a fixed-size Windows string buffer holds."""

from __future__ import annotations

__all__ = ["fit"]

_ELLIPSIS = "…"


def utf16_units(text: str) -> int:
    """How many UTF-16 code units (Windows WCHARs) `text` takes."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending in "…" when it was cut.

    Windows counts WCHARs, so a character outside the BMP (an emoji) takes two; the limits
    given here exclude the buffer's terminating NUL (tooltip 127, message 255, title 63).
    """
    if utf16_units(text) <= limit:
        return text
    kept: list[str] = []
    used = utf16_units(_ELLIPSIS)
    for ch in text:
        width = utf16_units(ch)
        if used + width > limit:
            break
        kept.append(ch)
        used += width
    return "".join(kept).rstrip() + _ELLIPSIS
