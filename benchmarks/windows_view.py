"""Inside WSL, opted in: CPU per read of the Windows host's RAM and VM process through interop.

Run: `python benchmarks/windows_view.py [--reads N] [--no-doc]`

What can be measured here is the Linux side of one read: `WindowsView` starting the program,
reading its pipe and parsing its answer. The program is a stand-in `powershell.exe`, a
static C binary (built with gcc) that writes the script's answer and exits, so its own cost
is about that of the smallest process Linux can start. What cannot be measured here: WSL's
interop relay (`/init` forwarding the start to Windows over a socket) and, above all, the
Windows side, PowerShell's own start and the script's run, which cost far more than any
of this; they are not in these figures.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import benchmark_parser, run_section, Section, stats, Table

from wslwatch.collectors._windows_view import MIN_SPACING_S, WindowsView

ANSWER = "ram 68406640640 41212674048\\r\\nbuild 22631\\r\\nvm vmmemWSL 9126805504 9730842624\\r\\n"
STAND_IN_C = f'#include <stdio.h>\nint main(void) {{ fputs("{ANSWER}", stdout); return 0; }}\n'


def _children_cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def measure(reads: int) -> Section:
    with tempfile.TemporaryDirectory(prefix="wslwatch-bench-") as tmp:
        program = Path(tmp) / "powershell.exe"
        source = Path(tmp) / "stand_in.c"
        source.write_text(STAND_IN_C)
        subprocess.run(["gcc", "-O2", "-static", "-o", str(program), str(source)], check=True)
        ours, child, wall = [], [], []
        WindowsView(str(program), spacing_s=0).read()  # untimed first run
        for _ in range(reads):
            view = WindowsView(str(program), spacing_s=0)
            cpu, kids, clock = time.process_time_ns(), _children_cpu_ns(), time.perf_counter_ns()
            view.read()
            wall.append((time.perf_counter_ns() - clock) / 1e6)
            ours.append((time.process_time_ns() - cpu) / 1e6)
            child.append((_children_cpu_ns() - kids) / 1e6)
    table = Table(
        f"Windows host through interop: CPU per read on the Linux side, {reads} reads",
        ["part", "median", "p99", "share of one core at one read per 60 s"],
    )
    for label, values in (("wslwatch (spawn, pipe, parse)", ours), ("the started program (stand-in)", child)):
        measured = stats(values)
        table.add(label, f"{measured.median:.2f} ms", f"{measured.p99:.2f} ms", f"{measured.median / MIN_SPACING_S / 10:.4f} %")
    table.add("wall time per read", f"{stats(wall).median:.2f} ms", f"{stats(wall).p99:.2f} ms", "")
    table.notes += [
        f"`WindowsView` reads at most every {MIN_SPACING_S:g} s; one read answers both collectors.",
        "Not measured (no Windows here): WSL's interop relay and the Windows side, PowerShell's start "
        "(the .NET runtime) and the script, which dominate. The part measured is far below 1 % of a core; "
        "the whole read is not known, so reading the host from inside WSL stays opt-in (`from_windows`).",
    ]
    return Section([table])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--reads", type=int, default=300, help="reads to time (default: 300)")
    title = "Windows host through interop (Linux side)"
    return run_section(title, parser, argv, lambda args: measure(args.reads), compile_first=False)


if __name__ == "__main__":
    sys.exit(main())
