"""All lessons together run in under 3 minutes in a fresh kernel each (issue #8).

Run: python -m pytest benchmarks/test_notebooks_time.py --benchmark-only -n 0
(kept out of the default test run; a timing target never lives in a unit test).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks" / "tools"))

import nbtools  # noqa: E402

TARGET_SECONDS = 180.0


@pytest.mark.benchmark(group="lessons")
def test_all_lessons_run_within_three_minutes(benchmark):
    """Execute every notebook once, as the tests and run_all.py do; the total is the target."""

    def run_all() -> None:
        for path in nbtools.lessons():
            nbtools.execute(path)

    benchmark.pedantic(run_all, rounds=1, iterations=1)
    assert benchmark.stats.stats.max < TARGET_SECONDS, f"{benchmark.stats.stats.max:.0f}s"
