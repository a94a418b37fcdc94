"""Measure Playdeck's speed against bare ansible, and check each figure's goal.

    .venv/bin/python bench/run.py                  # every figure, 8 to 25 min
    .venv/bin/python bench/run.py --quick          # fewer rounds, under 5 min
    .venv/bin/python bench/run.py --only start page

It starts a Playdeck of its own in a temporary folder (Redis, a SQLite database
or the one PLAYDECK_DATABASE_URL names, the web process and two workers as the
Procfile starts them), measures each figure with its baseline in the same
invocation, several rounds interleaved, and prints the medians as a table.
bench/results.json (or --results) gets one entry per figure: its name, value,
unit, baseline, ratio, goal, whether the goal is met, and the load average.
BENCHMARKS.md says what each figure measures and records the latest ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import FIGURES, Result  # noqa: E402
from bench.stack import Stack  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=FIGURES,
        default=[],
        metavar="NAME",
        help=f"figures to measure, of: {', '.join(FIGURES)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and smaller loads"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of each figure (5; quick 2); the "
        "figures that take a minute a round (events, latency, queue, hosts) do "
        "half as many, rounded up",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    if options.rounds is None:
        options.rounds = 2 if options.quick else 5
    options.heavy_rounds = max(1, (options.rounds + 1) // 2)
    return options


def machine() -> dict:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(pages / 2**30, 1),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "ansible_core": version("ansible-core"),
        "ansible_runner": version("ansible-runner"),
        "database": os.environ.get("PLAYDECK_DATABASE_URL", "sqlite").split(":")[0],
    }


def row(result: Result) -> str:
    baseline = "—" if result.baseline is None else f"{result.baseline:g} {result.unit}"
    ratio = "—" if result.ratio is None else f"{result.ratio:.2f}x"
    return (
        f"| {result.name} | {result.value:g} {result.unit} | {baseline} | {ratio} "
        f"| {result.goal} | {'yes' if result.met else 'NO'} | {result.load:.1f} "
        f"| {result.note} |"
    )


HEADER = (
    "| figure | value | baseline | ratio | goal | met | load | notes |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # Stopped with SIGTERM, the bench still stops the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = {
        "command": " ".join(["bench/run.py", *(argv or sys.argv[1:])]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "rounds": options.rounds,
        "heavy_rounds": options.heavy_rounds,
        "quick": options.quick,
        "figures": [],
    }
    info = report["machine"]
    print(
        f"{info['cpus']} CPUs, {info['memory_gb']} GB, load average "
        f"{info['load_average'][0]}; {options.rounds} rounds"
    )
    print(HEADER, flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pdbench-", dir="/tmp") as folder:
        stack = Stack(Path(folder))
        try:
            for name in options.only or FIGURES:
                for result in FIGURES[name](stack, options):
                    result.load = round(os.getloadavg()[0], 2)
                    report["figures"].append(result.as_json())
                    print(row(result), flush=True)
        finally:
            stack.close()

    report["seconds"] = round(time.monotonic() - started)
    options.results.write_text(json.dumps(report, indent=2) + "\n")
    missed = [f["name"] for f in report["figures"] if not f["met"]]
    print(f"{report['seconds']} s; goals missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
