"""How long simulating a scenario takes: the target is "well under a second" for each one.

Run: python -m pytest benchmarks --benchmark-only -n 0
(kept out of the default test run; a timing target never lives in a unit test).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "tests" / "scenarios").rglob("*.yaml"))
TARGET_SECONDS = 0.25  # "well under a second", with room for a slower machine


@pytest.mark.benchmark(group="simulate one scenario")
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_simulate_scenario(benchmark, path):
    """Load and simulate one scenario; the slowest run must stay under the target."""
    benchmark.pedantic(lambda: simulate(load(path)), rounds=5, iterations=1, warmup_rounds=1)
    assert benchmark.stats.stats.max < TARGET_SECONDS, (
        f"{path.name}: {benchmark.stats.stats.max:.3f}s > {TARGET_SECONDS}s"
    )
