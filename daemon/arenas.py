"""glibc's malloc arenas, capped for a daemon whose threads come and go.

glibc gives a thread that allocates while another holds the main arena an arena of its own,
up to 8 a core, and each keeps the memory freed in it. The daemon's threads are many and
short (a thread per scrape, one per probe and per collection): with 50 probed paths, scraped
every 0.5 s, they held about 9 MB more at the end of the scale benchmark than with two arenas
(docs/benchmarks.md). Two is what `MALLOC_ARENA_MAX=2` gives servers that run many threads.
"""

from __future__ import annotations

import ctypes
import logging
import sys

__all__ = ["ARENAS", "cap_arenas"]

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # <malloc.h>


def cap_arenas(count: int = ARENAS) -> bool:
    """Let glibc's malloc make at most `count` arenas from now on; False where it is not glibc's."""
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # this process's own symbols: its C library
    if mallopt is None or not mallopt(_M_ARENA_MAX, count):
        log.debug("malloc arenas left as they are: the C library has no M_ARENA_MAX")
        return False
    log.debug("malloc arenas capped at %d", count)
    return True
