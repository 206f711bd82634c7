"""Every wslwatch benchmark in one run, appended to docs/benchmarks.md as one dated section.

Run: `python benchmarks/run.py` (about 27 minutes: the footprint watches for 10, the scale
     section runs three daemons for up to 4 minutes each)
     `python benchmarks/run.py --quick` (a smoke run of a minute; its numbers mean little)

1. collection cost, 2. scrape latency next to node_exporter, 3. footprint next to
node_exporter and glances, 4. start-up and imports, 5. scale: 0, 10 and 50 probed paths.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import collection
import footprint
import scale
import scrape
import startup
from common import DOC, RunStart, Section, append_to_doc, compile_wslwatch

STEPS = ("collection", "scrape", "footprint", "startup", "scale")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps (default: {','.join(STEPS)})")
    parser.add_argument("--minutes", type=float, help="footprint duration (default 10; --quick: 0.25)")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install glances when it is missing")
    parser.add_argument("--no-glances", action="store_true", help="leave glances out of the footprint")
    parser.add_argument("--doc", type=Path, default=DOC, help=f"where to append the results (default {DOC})")
    parser.add_argument("--no-doc", action="store_true", help="print only; append nothing")
    args = parser.parse_args(argv)
    steps = [step.strip() for step in args.only.split(",") if step.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    minutes = args.minutes if args.minutes is not None else (0.25 if args.quick else 10.0)

    start = RunStart.now()
    compile_wslwatch()
    section = Section()
    for step in steps:
        print(f"== {step}", file=sys.stderr, flush=True)
        if step == "collection":
            found = collection.measure(50 if args.quick else 2000)
        elif step == "scrape":
            found = scrape.measure(50 if args.quick else 2000)
        elif step == "footprint":
            found = footprint.measure(minutes, not args.no_install, glances=not args.no_glances)
        elif step == "startup":
            found = startup.measure(1 if args.quick else 10)
        else:
            found = scale.measure([0, 1] if args.quick else [0, 10, 50], 3.0 if args.quick else 60.0, 0.5)
        print(found.markdown(), flush=True)
        section.tables += found.tables
    if not args.no_doc:
        title = "Benchmark run" + (" (--quick: sizes too small to mean much)" if args.quick else "")
        append_to_doc(title, section.markdown(), start, args.doc)
        print(f"appended to {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
