"""The daemon caps glibc's malloc arenas: counted by glibc itself (`malloc_info`), in a process
whose threads allocate at once as the daemon's scrape, probe and collection threads do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from daemon_process import DaemonProcess

from wslwatch.daemon.arenas import ARENAS

#: a child that starts 8 threads allocating C memory at once, then counts glibc's arenas
CHILD = """
import ctypes, sys, tempfile, threading
from wslwatch.daemon.arenas import cap_arenas
capped = sys.argv[1] == "cap" and cap_arenas()
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    kept = [bytearray(100_000) for _ in range(20)]  # over pymalloc's size: glibc's malloc
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(capped, open(out.name).read().count("<heap nr="))
"""


def arenas(mode: str) -> tuple[bool, int]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=60, check=True)
    capped, count = done.stdout.split()
    return capped == "True", int(count)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux and WSL")
def test_capped_arenas_stay_at_the_cap_where_uncapped_ones_grow_with_the_threads() -> None:
    capped, uncapped = arenas("leave")
    assert not capped and uncapped > ARENAS, "glibc gives concurrent threads arenas of their own"
    assert arenas("cap") == (True, ARENAS)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux and WSL")
def test_wslwatch_run_caps_them_before_it_serves(tmp_path: Path) -> None:
    config = tmp_path / "wslwatch.toml"
    config.write_text("")
    argv = [sys.executable, "-m", "wslwatch", "--log-level", "DEBUG", "run", "--headless", "--config", str(config), "--port", "0"]
    daemon = DaemonProcess(argv, {})
    try:
        daemon.wait_serving(15)
    finally:
        assert daemon.stop() == 0, "".join(daemon.log)
    assert f"malloc arenas capped at {ARENAS}" in "".join(daemon.log)
