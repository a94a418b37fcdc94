"""bench/run.py runs and writes the results BENCHMARKS.md describes.

Nothing here is timed: the figures depend on the machine, and bench/run.py
measures them. This only keeps the benchmark from breaking unnoticed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.figures import interleaved, ratio_result

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"name", "value", "unit", "baseline", "ratio", "goal", "met", "load"}


def _bench(*arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """A bench script, run as a person runs it; it must succeed."""
    # The bench makes a Playdeck of its own: none of the suite's settings apply.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYDECK_")}
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_a_quick_figure_writes_one_well_formed_entry(tmp_path):
    results = tmp_path / "results.json"
    quick = ["--quick", "--only", "sink", "--rounds", "1"]
    done = _bench("bench/run.py", *quick, "--results", str(results), timeout=120)

    report = json.loads(results.read_text())
    (entry,) = report["figures"]
    assert set(entry) >= FIELDS
    assert entry["name"] == "sink"
    assert entry["unit"] == "events/s" and entry["value"] > 0
    assert entry["goal"] and isinstance(entry["met"], bool)
    assert report["machine"]["cpus"] >= 1 and report["quick"] is True
    assert "| sink |" in done.stdout


def test_a_ratio_compares_the_medians_with_the_goal():
    result = ratio_result("launch", "a launch", [1.2, 1.0, 9.0], [1.0, 0.9, 1.1], 1.10)

    assert (result.value, result.baseline, result.ratio) == (1.2, 1.0, 1.2)
    assert result.goal == "<= 1.10x" and result.met is False
    assert result.rounds == 3
    assert ratio_result("x", "x", [1.05], [1.0], 1.10).met is True


def test_rounds_alternate_between_the_baseline_and_the_measure():
    calls: list[str] = []
    samples = interleaved(
        2, lambda: calls.append("base") or 1.0, lambda: calls.append("ours") or 2.0
    )

    assert calls == ["base", "ours", "base", "ours"]
    assert samples == [[1.0, 1.0], [2.0, 2.0]]


@pytest.mark.slow
def test_the_phases_of_a_launch_are_printed_and_add_up():
    done = _bench("bench/phases.py", "--launches", "1", timeout=180)

    lines = [line.split("ms", 1) for line in done.stdout.splitlines()[1:]]
    phases = {what.strip(): float(ms) for ms, what in lines}
    assert list(phases) == [
        "the API answers the launch",
        "then the work-horse marks the run running",
        "then ansible runs until the status is written",
        "then the bench sees the status",
    ]
    # (The work-horse may mark the run running before the API's answer arrives.)
    assert phases["the API answers the launch"] > 0
    assert phases["then ansible runs until the status is written"] > 100
    assert phases["then the bench sees the status"] >= 0
