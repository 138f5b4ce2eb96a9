"""What the simulator saw while it predicted a build, kept for the passes that follow.

The results (``cachesim.core.results``) are what a learner reads: printed steps, statuses,
reasons. The cost model needs more than that: which stage a step belongs to, the resolved
instruction (its expanded command, its ``--from`` stage and mounts) and the plan's stage
graph. Before traces existed it re-parsed and re-planned every build and matched results
to the plan by (stage label, line); a trace hands it the simulator's own plan and, per
printed step, the instruction that made it, so each build is planned once.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachesim.builders.inputs import BuildContext
from cachesim.context.workspace import BuildRequest
from cachesim.core.results import BuildResult, SimulationResult, StepResult
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.planning.plan import Plan, Resolved


@dataclass(frozen=True, slots=True)
class StepTrace:
    """One printed step: the decision (status, reason, cache key: ``result``) and where it
    came from. ``stage`` is the plan's stage index (``None`` for steps outside any stage,
    such as the classic builder's global ARGs); ``resolved`` is the instruction, ``None``
    for a FROM."""

    result: StepResult
    stage: int | None = None
    resolved: Resolved | None = None

    @property
    def key(self) -> str:
        """The step's simulated cache key (empty for steps that have none)."""
        return self.result.key


@dataclass(frozen=True, slots=True)
class BuildTrace:
    """One build as the simulator walked it.

    ``plan`` is ``None`` when the Dockerfile did not plan (the build was refused before any
    stage); a build refused later (a builder's check, a bad context) keeps its plan, since
    the time it took still follows the stages. ``context`` is ``None`` when the context
    could not be read. ``steps`` line up one to one with ``result.steps``.
    """

    request: BuildRequest
    plan: Plan | None
    context: BuildContext | None
    steps: tuple[StepTrace, ...]
    result: BuildResult


@dataclass(frozen=True, slots=True)
class Simulation:
    """A scenario's results and, build by build, the traces behind them."""

    result: SimulationResult
    traces: tuple[BuildTrace, ...]
    # the BuildKit release whose rules were simulated: the engine the cost model prices
    buildkit: str = DEFAULT_BUILDKIT
