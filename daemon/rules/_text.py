"""How rules write numbers and fixes: sizes as Windows shows them (GB of 2^30 bytes)."""

from __future__ import annotations

from wslwatch.holders import Held

__all__ = ["DROP_CACHES", "GIB", "MIB", "gb", "largest", "mb", "pct"]

GIB = 2**30
MIB = 2**20

#: The manual reclaim, run from Windows (works from cmd, PowerShell and inside WSL as root).
DROP_CACHES = 'wsl -u root sh -c "echo 1 > /proc/sys/vm/drop_caches"'


def gb(size: float) -> str:
    """`37.4 GB` (Task Manager's GB: 2^30 bytes)."""
    return f"{size / GIB:.1f} GB"


def mb(size: float) -> str:
    """`150 MB` (2^20 bytes)."""
    return f"{size / MIB:.0f} MB"


def pct(share: float) -> str:
    """`97 %`, or `1.2 %` below 10 %."""
    return f"{share * 100:.1f} %" if share < 0.1 else f"{share * 100:.0f} %"


def largest(held: Held | None) -> str:
    """`; largest: container qdrant, 11.0 GB` for a summary, or nothing."""
    return "" if held is None else f"; largest: {held.name}, {gb(held.size)}"
