"""The simulation loop: each build of a scenario against one cache that remembers them all.

For every build: plan the Dockerfile (``plan``), then walk the stages the engine builds,
step by step. A step's cache key is a digest of its parent's key and of its definition
(what the engine's rules say counts: ``buildkit`` or ``legacy``); a key already in the
cache is ``cached``, a new one is ``built`` and stored, and ``explain`` says why.

Each build is planned once: ``trace`` returns, with the results, a ``BuildTrace`` per
build (the plan, and per printed step its stage and resolved instruction) that the cost
model prices without planning again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial

import dockerfile as dockerfile_parser

from cachesim.builders import registry
from cachesim.builders.cache import BuildCache, Record, digest
from cachesim.builders.definitions import (
    CopyDefinition,
    Definition,
    FromDefinition,
    RunDefinition,
)
from cachesim.builders.fs import FileSystem
from cachesim.builders.inputs import BuildContext
from cachesim.builders.protocol import Builder
from cachesim.context import index as context_index
from cachesim.context.workspace import BuildRequest
from cachesim.core.errors import BuildFailure
from cachesim.core.results import BuildResult, SimulationResult, Status, StepResult
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.planning.plan import AutomaticArgs, Plan, Resolved, plan
from cachesim.simulation.explain import explain_miss, explain_parent
from cachesim.simulation.plans import Plans
from cachesim.simulation.trace import BuildTrace, Simulation, StepTrace
from cachesim.sources.scenario import Scenario, image_key, replay


def images_of(
    dockerfile: str, build_args: Mapping[str, str], plans: Plans | None = None
) -> tuple[str, ...]:
    """The external images a Dockerfile names for these build args (none if it won't plan).

    ``plans`` remembers the plan, so that a simulation that asks first for the images
    and then for the build's plan reads the Dockerfile once."""
    planner = plans.plan if plans is not None else plan
    try:
        # BuildKit's automatic platform ARGs, so `FROM alpine:${TARGETARCH}` names the image
        # BuildKit will look for (the classic builder fails on that FROM anyway).
        return planner(dockerfile, build_args, automatic=AutomaticArgs.for_platform()).images()
    except BuildFailure:
        return _from_lines(dockerfile)


def _from_lines(dockerfile: str) -> tuple[str, ...]:
    """Images in FROM lines of a Dockerfile that will not plan (the engine may still read
    them before it refuses the file, so a real-engine check must have them)."""
    try:
        commands = dockerfile_parser.parse_string(dockerfile)
    except dockerfile_parser.GoParseError:
        return ()
    names = {
        c.value[2].lower()
        for c in commands
        if (c.cmd or "").upper() == "FROM" and len(c.value) == 3
    }
    refs = [c.value[0] for c in commands if (c.cmd or "").upper() == "FROM" and c.value]
    return tuple(
        dict.fromkeys(r for r in refs if "$" not in r and r.lower() not in names | {"scratch"})
    )


@dataclass
class History:
    """What outlives one build: the cache and the image versions builds have seen."""

    cache: BuildCache = field(default_factory=BuildCache)
    image_versions: dict[str, int] = field(default_factory=dict)
    pruned: bool = False
    builds: int = 0
    images: dict[str, list[str]] = field(default_factory=dict)  # classic builder: key -> ids


def rules_for(builder: str, buildkit_version: str = DEFAULT_BUILDKIT) -> Builder:
    """The rules of one builder as the engine carrying that BuildKit release applies them."""
    return registry.builder(builder, buildkit_version)


def simulate(
    scenario: Scenario, buildkit_version: str = DEFAULT_BUILDKIT, builder: str | None = None
) -> SimulationResult:
    """Predict every build of a scenario, as the engine carrying that BuildKit would.

    ``builder`` (a registered name) overrides the scenario's own builder.
    """
    return trace(scenario, buildkit_version, builder).result


def trace(
    scenario: Scenario, buildkit_version: str = DEFAULT_BUILDKIT, builder: str | None = None
) -> Simulation:
    """``simulate``, keeping each build's trace (plan, steps, decisions) for the cost model,
    so that pricing a build does not parse or plan it again."""
    name = builder or scenario.engine
    rules = replace(rules_for(name, buildkit_version), image_store=scenario.image_store)
    history = History()
    plans = Plans()
    steps = replay(scenario, partial(images_of, plans=plans))
    traces = tuple(trace_build(step.request, history, rules, plans) for step in steps)
    result = SimulationResult(scenario.name, name, tuple(t.result for t in traces))
    return Simulation(result, traces, buildkit_version)


def simulate_build(request: BuildRequest, history: History, rules: Builder) -> BuildResult:
    """Predict one build and record its results in ``history``."""
    return trace_build(request, history, rules).result


def trace_build(
    request: BuildRequest, history: History, rules: Builder, plans: Plans | None = None
) -> BuildTrace:
    """Predict one build, record its results in ``history``, and keep its trace.

    ``plans`` (one per simulation) reuses the plan of an earlier build with the same
    Dockerfile, build args and target."""
    planner = plans.plan if plans is not None else plan
    history.builds += 1
    # The images as the builds before this one left them: every FROM of this build compares
    # with these, so two stages on one updated base both see the update.
    seen_before = dict(history.image_versions)
    history.image_versions.update({image_key(ref): v for ref, v in request.images.items()})
    if request.prune_before and rules.prune_clears_cache:
        history.cache.prune()
        history.pruned = True
    planned: Plan | None = None
    context = _context(request, rules)
    try:
        automatic = rules.automatic_args()
        planned = planner(
            request.dockerfile, request.build_args, request.target, automatic, rules.version
        )
        rules.check(planned)
        if context is None:
            BuildContext.of(request, rules)  # raises the context's failure
    except BuildFailure as failure:
        rejected = _rejected(request, rules, failure)
        steps = tuple(StepTrace(s, _rejected_stage(planned, s)) for s in rejected.steps)
        return BuildTrace(request, planned, context, steps, rejected)
    assert context is not None
    walk = _Walk(planned, request, context, history, rules, seen_before)
    result = walk.run()
    return BuildTrace(request, planned, context, tuple(walk.traces), result)


def _context(request: BuildRequest, rules: Builder) -> BuildContext | None:
    """The build's context, or ``None`` if it cannot be read (the build is then refused;
    the cost model still prices what a refused build sends)."""
    try:
        return BuildContext.of(request, rules)
    except BuildFailure:
        return None


def _rejected_stage(planned: Plan | None, step: StepResult) -> int | None:
    """The stage a refused build's only step (its first FROM) belongs to, if it planned."""
    if planned is None:
        return None
    return next((i for i, p in enumerate(planned.stages) if p.label == step.stage), None)


def _rejected(request: BuildRequest, rules: Builder, failure: BuildFailure) -> BuildResult:
    """A build the engine refuses before running a step (or, classic, at the first FROM)."""
    reason = rules.wording(failure.reason)
    steps: tuple[StepResult, ...] = ()
    if rules.rejected_at_from(reason) and failure.line:
        instructions = dockerfile_parser.parse_string(request.dockerfile)
        before = sum(1 for ins in instructions if ins.start_line < failure.line)
        text = request.dockerfile.splitlines()[failure.line - 1].strip()
        steps = (
            StepResult(
                "0",
                before + 1,
                len(instructions),
                failure.line,
                text,
                "FROM",
                "failed",
                reason,
                is_from=True,
            ),
        )
    return BuildResult(request.name, steps, error=reason, error_line=failure.line)


@dataclass
class _StageEnd:
    key: str
    fs: FileSystem
    last: StepResult | None


class _Walk:
    """One build's walk over its stages; state lives only for the build."""

    def __init__(
        self,
        planned: Plan,
        request: BuildRequest,
        context: BuildContext,
        history: History,
        rules: Builder,
        seen_before: Mapping[str, int] | None = None,
    ):
        self.seen_before = dict(seen_before or {})
        self.plan = planned
        self.request = request
        self.context = context
        self.history = history
        self.rules = rules
        self.made: set[str] = set()
        self.ends: dict[int, _StageEnd] = {}
        self.traces: list[StepTrace] = []  # the printed steps, with stage and instruction
        self.numbers = rules.numbering(planned)
        self.empty_at_start = len(history.cache) == 0

    @property
    def results(self) -> list[StepResult]:
        """The printed steps so far (the builders' rules read them, e.g. whether a stage
        has built anything yet)."""
        return [t.result for t in self.traces]

    def run(self) -> BuildResult:
        failure: BuildFailure | None = None
        failed_line: int | None = None
        failed_keyword = ""
        self.traces.extend(StepTrace(s) for s in self.rules.preamble(self.plan))
        for index in self.rules.stages_to_build(self.plan):
            try:
                self._stage(index)
            except _Failed as stop:
                failure, failed_line, failed_keyword = stop.failure, stop.line, stop.keyword
                break
        self.traces.sort(key=lambda t: (t.result.line, t.result.index))
        if failure is not None and self.rules.cancels_on_key_failure(failed_keyword):
            self.traces = self._cancel(self.traces)
        if failure is not None:
            self.traces = [t for t in self.traces if t.result.line <= (failed_line or 0)]
            return BuildResult(
                self.request.name,
                tuple(t.result for t in self.traces),
                error=failure.reason,
                error_line=failure.line or failed_line,
            )
        return BuildResult(self.request.name, tuple(t.result for t in self.traces))

    def _cancel(self, traces: list[StepTrace]) -> list[StepTrace]:
        """BuildKit finds a COPY source error while computing cache keys, before the steps
        above it finish: those still running are cancelled and never reach the cache. A
        WORKDIR (a mkdir, done at once) finishes first; a RUN, or a COPY waiting for the
        context, does not, and neither does anything after it. Seen on the engine:
        scenarios copy-missing-file and copy-ignored-file (a RUN of a fraction of a second
        did finish first in 2 of 10 loaded runs: copy-missing-file's RUN sleeps 5 s)."""
        steps = [t.result for t in traces]
        cancelled: set[str] = set()
        for stage in {s.stage for s in steps}:
            broken = False
            for step in (s for s in steps if s.stage == stage):
                if step.status == "built" and (broken or step.keyword != "WORKDIR"):
                    broken = True
                    cancelled.add(step.key)
        for key in cancelled & self.made:
            self.history.cache.remove(key)
        note = "; cancelled when the build failed, so not kept in the cache"
        return [
            replace(t, result=replace(t.result, reason=t.result.reason + note))
            if t.key in cancelled
            else t
            for t in traces
        ]

    # -- one stage ---------------------------------------------------------------------
    def _stage(self, index: int) -> None:
        planned = self.plan.stages[index]
        label = planned.label
        if planned.base_image is not None:
            last = self._from_step(index)
            self.traces.append(StepTrace(last, index))
            parent, fs = last.key, FileSystem(base=last.key)
        else:
            if planned.base_stage is not None:
                end = self.ends[planned.base_stage]
                parent, fs, last = end.key, end.fs, end.last
            else:
                parent, fs, last = digest("scratch"), FileSystem(base=""), None
            if self.rules.every_from_is_step:
                number, total = self.numbers[(index, -1)]
                ins = planned.stage.from_instruction
                self._keep(
                    index,
                    None,
                    StepResult(
                        label,
                        number,
                        total,
                        ins.line,
                        ins.text,
                        "FROM",
                        "cached",
                        "",
                        parent,
                        is_from=True,
                    ),
                )
        for position, step in enumerate(planned.steps):
            if not self.rules.is_step(step):
                continue
            # a step with no number runs but is not printed (the classic builder runs
            # ONBUILD triggers inside the FROM step)
            numbered = (index, position) in self.numbers
            number, total = self.numbers.get((index, position), (0, 0))
            try:
                definition, fs_after, facts = self.rules.define(step, self, fs)
            except BuildFailure as raw:
                failure = BuildFailure(self.rules.wording(raw.reason), raw.line)
                failed = _result(label, number, total, step, "failed", failure.reason)
                self._keep(index, step, replace(failed, shown=self.rules.printed(step)))
                raise _Failed(failure, step.instruction.line, step.keyword) from None
            key = digest(parent, definition.key())
            copied = False
            if self.rules.merges_link(step):
                key, copied = self._linked(parent, definition)
            status, reason = self._status(key, parent, definition, last)
            if self.rules.merges_link(step) and status == "built" and copied:
                reason = (
                    f"{reason}; --link: the copied layer itself was reused, only its merge "
                    "onto the layers below ran"
                )
            if status == "cached" and isinstance(definition, CopyDefinition) and definition.same:
                reason = definition.same  # the source stage re-ran with the same output
            if status == "built" and isinstance(definition, RunDefinition) and definition.fails:
                failure = BuildFailure(definition.fails, step.instruction.line)
                failed = _result(label, number, total, step, "failed", failure.reason)
                self._keep(index, step, failed)
                raise _Failed(failure, step.instruction.line, step.keyword)
            result = _result(label, number, total, step, status, reason, key, **facts)
            result = replace(result, shown=self.rules.printed(step))
            if numbered:
                self._keep(index, step, result)
            if status == "built":
                self.made.add(key)
                self.history.cache.put(
                    Record(
                        key,
                        parent,
                        step.keyword,
                        definition,
                        self.history.builds,
                        label,
                        step.instruction.line,
                    )
                )
            parent, fs, last = self._next_parent(key, status), fs_after, result
        self.ends[index] = _StageEnd(parent, fs, last)

    def _keep(self, stage: int, step: Resolved | None, result: StepResult) -> None:
        """Keep a printed step with the stage and instruction it came from (the trace)."""
        self.traces.append(StepTrace(result, stage, step))

    def _linked(self, parent: str, definition: Definition) -> tuple[str, bool]:
        """``COPY --link`` on the containerd store: the copy is made on an empty layer,
        keyed without the steps above (``copy_key``), then merged onto them; the step's
        key is the merge's. Returns it, and whether the copy itself was in the cache."""
        copy_key = digest("link", definition.key())
        copied = copy_key in self.history.cache or copy_key in self.made
        if not copied:
            self.history.cache.put(
                Record(copy_key, None, "COPY", definition, self.history.builds, "", 0)
            )
        return digest("merge", parent, copy_key), copied

    def _from_step(self, index: int) -> StepResult:
        planned = self.plan.stages[index]
        ref = planned.base_image or ""
        version = self.request.images.get(ref, 0)
        seen = self.seen_before.get(image_key(ref))
        self.history.image_versions[image_key(ref)] = version
        reason = ""
        if seen is not None and seen != version:
            reason = f"the image {ref} changed (a new digest was published)"
        elif seen is None and self.history.builds > 1:
            # The same rule as verify's runner: an image no earlier build used is new to
            # this chain of builds (a FROM edited, or named through a build argument).
            how = " (through a build argument)" if "$" in planned.stage.base else ""
            reason = f"the FROM now names the image {ref}{how}, which no earlier build used"
        number, total = self.numbers[(index, -1)]
        ins = planned.stage.from_instruction
        return StepResult(
            planned.label,
            number,
            total,
            ins.line,
            ins.text,
            "FROM",
            "built" if reason else "cached",
            reason,
            FromDefinition(keyword="FROM", image=image_key(ref), version=version).key(),
            is_from=True,
            shown=self.rules.printed_from(ref, ins.command),
        )

    def _next_parent(self, key: str, status: str) -> str:
        """What the next step builds on: the result's key, or for the classic builder the id
        of the image it committed. A forced rebuild (--no-cache) commits a *new* image with
        the same parent and instruction, and later lookups take the newest such image
        (seen on the engine: no-cache-build-legacy)."""
        if not self.rules.image_chain:
            return key
        images = self.history.images.setdefault(key, [])
        if status == "cached" and images:
            return images[-1]
        images.append(digest(key, "image", self.history.builds, len(images)))
        return images[-1]

    def _status(
        self, key: str, parent: str, definition: Definition, last: StepResult | None
    ) -> tuple[str, str]:
        if self.request.no_cache and self.rules.no_cache_applies(definition.keyword):
            return "built", "--no-cache: the build does not look in the cache"
        if key in self.made:
            return self.rules.twin_status, (
                "identical to a step already built in this build: the engine runs it once"
                if self.rules.twin_status == "built"
                else ""
            )
        if key in self.history.cache:
            return "cached", ""
        if self.empty_at_start:
            if self.history.pruned:
                return "built", "the build cache was pruned: nothing to reuse"
            return "built", "no earlier build: the cache is empty"
        if last is not None and last.status == "built":
            if last.is_from:
                return "built", last.reason
            return "built", explain_parent(last.instruction, last.line)
        siblings = [r for r in self.history.cache.siblings(parent) if r.key != key]
        ignored = context_index.excluded(self.context.files, self.context.tree)
        reason = explain_miss(
            definition,
            siblings,
            first_build=self.history.builds == 1,
            pruned=self.history.pruned,
            ignored=ignored,
        )
        return "built", reason


def _result(
    label: str,
    number: int,
    total: int,
    step: Resolved,
    status: Status,
    reason: str,
    key: str = "",
    **facts: int,
) -> StepResult:
    """A step's printed result; ``facts`` are what the cost model reads (bytes copied...)."""
    ins = step.instruction
    return StepResult(
        label, number, total, ins.line, ins.text, step.keyword, status, reason, key, **facts
    )


class _Failed(Exception):
    def __init__(self, failure: BuildFailure, line: int, keyword: str):
        super().__init__(failure.reason)
        self.failure = failure
        self.line = line
        self.keyword = keyword
