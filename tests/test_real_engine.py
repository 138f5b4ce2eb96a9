"""Every scenario in tests/scenarios, run on the real Docker engine and compared step by step.

This is the suite's ground truth: the expected cache behaviour is whatever the engine does
(BuildKit, or the classic builder where the scenario says `engine: legacy`), observed
now, on this machine. A difference is a simulator bug. Needs a Docker engine: see the
``docker_engine`` fixture in conftest.py (it fails, never skips, when none can be had).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.scenario import load
from cachesim.verify import verify_scenario

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


@pytest.mark.engine
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_agrees_with_the_real_engine(docker_engine, path):
    """The prediction matches the engine on every step of every build."""
    scenario = load(path)
    verdict = verify_scenario(scenario)
    assert verdict.skipped is None, f"{path.name} is not verifiable: {verdict.skipped}"
    details = "\n".join(d.describe() for d in verdict.differences)
    logs = "\n".join(verdict.logs)
    assert not verdict.differences, f"{path.name} disagrees with the engine:\n{details}\n{logs}"


def test_enough_scenarios_cover_the_rules():
    """The issue asks for at least 60 scenarios, all verifiable on the engine."""
    assert len(SCENARIOS) >= 60
