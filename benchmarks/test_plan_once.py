"""Plan once: simulating and costing the largest test scenario parses and plans each build
at most once, and costs less than before the simulator returned traces (issue 6, outcome 5).

Before (commit 5682793) every build was planned four times: the scenario replay (to name
its base images), the simulation, and twice in the cost model, which also matched results
to the plan again by (stage label, line). Now the cost model prices the simulator's traces
and one simulation remembers its plans (``cachesim.simulation.plans``).

Run: python -m pytest benchmarks/test_plan_once.py --benchmark-only -n 0 -s
Both figures print in one run: the "before" one comes from the old commit's files
(``git archive`` into a temporary folder, nothing in the repository is touched), measured
in a subprocess by the same script (benchmarks/plan_calls.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import pytest

from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "tests" / "scenarios").rglob("*.yaml"))
PROBE = Path(__file__).resolve().parent / "plan_calls.py"
BEFORE = "5682793"  # the last commit before the plan-once change
ROUNDS = 20

sys.path.insert(0, str(PROBE.parent))
import plan_calls  # noqa: E402  (the probe is a script in this folder)


def largest_scenario() -> Path:
    """The scenario with the most work: its builds times their printed steps."""
    return max(SCENARIOS, key=lambda p: sum(len(b.steps) for b in simulate(load(p)).builds))


def measure_before(scenario: Path) -> dict[str, float] | None:
    """The probe run on the old commit's files, or ``None`` if git does not have it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "cachesim"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tempfile.TemporaryDirectory(prefix="cachesim-before-") as folder:
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        env = {**os.environ, "PYTHONPATH": folder}
        run = subprocess.run(
            [sys.executable, str(PROBE), str(scenario), str(ROUNDS)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(run.stdout)


@pytest.mark.benchmark(group="plan once")
def test_largest_scenario_is_planned_once(benchmark):
    """At most one plan() and one parse() a build, fewer than before, and less time."""
    path = largest_scenario()
    scenario = load(path)
    builds = len(scenario.builds)
    calls = plan_calls.count_calls(lambda: plan_calls.simulate_and_cost(scenario))
    benchmark.pedantic(
        lambda: plan_calls.simulate_and_cost(scenario), rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    after = {
        "plan_per_build": calls["plan"] / builds,
        "parse_per_build": calls["parse"] / builds,
        "best_seconds": benchmark.stats.stats.min,
    }
    before = measure_before(path)
    print(f"\n{path.name}: {builds} builds")
    if before is not None:
        print(
            f"  before ({BEFORE}): {before['plan_per_build']:.2f} plan() and "
            f"{before['parse_per_build']:.2f} parse() a build, "
            f"best {before['best_seconds'] * 1000:.1f} ms"
        )
    print(
        f"  after: {after['plan_per_build']:.2f} plan() and "
        f"{after['parse_per_build']:.2f} parse() a build, best {after['best_seconds'] * 1000:.1f} ms"
    )
    assert after["plan_per_build"] <= 1 and after["parse_per_build"] <= 1
    if before is not None:
        assert after["plan_per_build"] < before["plan_per_build"]
        assert after["best_seconds"] < before["best_seconds"], (after, before)
