"""Count how often simulating and costing one scenario parses and plans each build, and time it.

Run it inside a checkout (the current one, or an older commit's worktree):

    PYTHONPATH=. python3 benchmarks/plan_calls.py tests/scenarios/NAME.yaml [ROUNDS]

It prints one JSON object: builds, plan() and parse() calls (the planner's and the
Dockerfile reader's own functions, found by their code objects so that every caller is
counted however it imported them), and the best and mean seconds of ``ROUNDS`` runs of
simulate + cost. It imports only names that exist before and after the plan-once change,
so ``benchmarks/test_plan_once.py`` can run it on the commit before the change too.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from types import FrameType

from cachesim.cost.model import apply_costs
from cachesim.parsing import dockerfile as reader
from cachesim.planning import plan as planner
from cachesim.simulation import simulator
from cachesim.sources.scenario import Scenario, load


def simulate_and_cost(scenario: Scenario) -> object:
    """Simulate and price every build, the way ``cachesim run`` does in this checkout."""
    traced = getattr(simulator, "trace", None)
    if traced is not None:  # after the change: price the simulator's traces
        return apply_costs(scenario, traced(scenario))
    return apply_costs(scenario, simulator.simulate(scenario))


def count_calls(work: Callable[[], object]) -> Counter[str]:
    """Calls of plan() and parse() while ``work`` runs (a profile hook sees every call)."""
    watched = {planner.plan.__code__: "plan", reader.parse.__code__: "parse"}
    seen: Counter[str] = Counter()

    def hook(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code in watched:
            seen[watched[frame.f_code]] += 1

    sys.setprofile(hook)
    try:
        work()
    finally:
        sys.setprofile(None)
    return seen


def main(path: str, rounds: int = 20) -> dict[str, object]:
    scenario = load(path)
    builds = len(scenario.builds)
    calls = count_calls(lambda: simulate_and_cost(scenario))
    simulate_and_cost(scenario)  # warm up imports and caches
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        simulate_and_cost(scenario)
        times.append(time.perf_counter() - start)
    return {
        "builds": builds,
        "plan_calls": calls["plan"],
        "parse_calls": calls["parse"],
        "plan_per_build": calls["plan"] / builds,
        "parse_per_build": calls["parse"] / builds,
        "best_seconds": min(times),
        "mean_seconds": statistics.mean(times),
    }


if __name__ == "__main__":
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(json.dumps(main(sys.argv[1], rounds)))
