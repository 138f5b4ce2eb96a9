"""The simulator's traces: one per build, lined up with the results, and enough for the cost
model to price a build without parsing or planning it again (issue 6, outcome 5)."""

import sys
from pathlib import Path

import pytest

from cachesim.cost.model import apply_costs
from cachesim.parsing import dockerfile as reader
from cachesim.planning import plan as planner
from cachesim.simulation.simulator import simulate, trace
from cachesim.sources.scenario import load

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MULTI_STAGE = SCENARIOS / "copy-from-stage.yaml"


def test_each_printed_step_keeps_its_stage_and_instruction():
    """A trace step's instruction is the one at the result's line, in the result's stage."""
    traced = trace(load(MULTI_STAGE))
    assert len(traced.traces) == len(traced.result.builds)
    for build, result in zip(traced.traces, traced.result.builds, strict=True):
        assert build.result is result
        assert tuple(s.result for s in build.steps) == result.steps
        assert build.plan is not None
        for step in build.steps:
            stage = build.plan.stages[step.stage]
            assert stage.label == step.result.stage
            if step.result.is_from:
                assert step.resolved is None
                assert stage.stage.from_instruction.line == step.result.line
            else:
                assert step.resolved.instruction.line == step.result.line
                assert step.resolved.keyword == step.result.keyword


def test_pricing_a_trace_plans_nothing():
    """The cost model prices traces without one call of plan() or parse() (counted by
    their code objects, however a module imported them), and prices them as it prices a
    bare result that it simulates again first."""
    scenario = load(MULTI_STAGE)
    traced = trace(scenario)
    watched = {planner.plan.__code__, reader.parse.__code__}
    calls = []

    def hook(frame, event, _arg):
        if event == "call" and frame.f_code in watched:
            calls.append(frame.f_code.co_name)

    sys.setprofile(hook)
    try:
        priced = apply_costs(scenario, traced)
    finally:
        sys.setprofile(None)
    assert calls == []
    assert priced == apply_costs(scenario, simulate(scenario))


def test_a_result_of_another_buildkit_must_come_as_a_trace():
    """A bare result the default BuildKit would not predict cannot be priced by simulating
    again: that would price other builds."""
    scenario = load(SCENARIOS / "platform-args-global.yaml")
    old = simulate(scenario, "0.8")
    assert old != simulate(scenario)
    with pytest.raises(TypeError, match=r"simulator\.trace"):
        apply_costs(scenario, old)
    assert apply_costs(scenario, trace(scenario, "0.8")).builds[0].seconds is not None
