"""Time and size: a cost model applied to a simulation's results, build by build.

The simulator says *which* steps run; this module says *how long* and *how big*. It is a
post-pass: ``apply_costs(scenario, result, profile)`` returns the same results with
``seconds``, ``seconds_source`` and ``layer_bytes`` filled in per step, the predicted wall
time per build, and the build's sizes in ``extra``. Every figure comes from one of three
places, in this order (docs/time-model.md):

1. *measured*: a ``Profile`` learned from a real build log (``cachesim.cost.calibrate``);
2. *declared*: the scenario's ``timing:`` section (``parse_timing``);
3. *default*: a table by kind of command (``estimate_run``) and machine figures.

One built step costs ``fixed + prepare + work``: ``fixed`` starts a container or a copy,
``prepare`` is the snapshot the step runs on (free on overlay2; the vfs driver copies the
whole parent file system, fast where the bytes were written in this build and are still in
memory, at disk speed where they come from an earlier build), ``work`` is the command's
own time or the bytes copied. A cached step costs a lookup. A build adds the context
transfer (BuildKit: only the files its COPYs read that changed since the last transfer;
the classic builder: the whole context, every time), base image pulls on a cold cache,
the export of the new layers, and a fixed overhead; its wall time is the longest path
through the steps with those durations (``networkx``), BuildKit's independent stages
running side by side, bounded by the cores; the classic builder runs everything in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from cachesim.builders import inputs
from cachesim.builders.protocol import Builder
from cachesim.context.snapshot import file_digest
from cachesim.context.workspace import BuildRequest
from cachesim.core.errors import BuildFailure
from cachesim.core.results import BuildResult, SimulationResult, StepResult

# The formats and the default figures live in their own modules; these names are
# re-exported because callers know them from here.
from cachesim.cost.commands import default_image_bytes, estimate_run
from cachesim.cost.timing import (
    MACHINE_KEYS,
    MB,
    SOURCES,
    Machine,
    MeasuredStep,
    Profile,
    StepFigure,
    Timing,
    human_size,
    machine_with,
    normal_instruction,
    parse_size,
    parse_timing,
)
from cachesim.planning.plan import Plan, Resolved, plan
from cachesim.simulation.simulator import images_of, rules_for
from cachesim.sources.scenario import Scenario, image_key, replay

__all__ = [
    "MACHINE_KEYS",
    "MB",
    "SOURCES",
    "Machine",
    "MeasuredStep",
    "Profile",
    "StepFigure",
    "Timing",
    "apply_costs",
    "default_image_bytes",
    "estimate_run",
    "human_size",
    "machine_with",
    "normal_instruction",
    "parse_size",
    "parse_timing",
]

# --- applying the model -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepCost:
    """One step's predicted cost and where it sits in the build's schedule."""

    seconds: float
    source: str
    layer_bytes: int
    layer_files: int
    idle: float = 0.0


@dataclass(slots=True)
class _Fs:
    """A stage's file system as far as the vfs copy cares: bytes on disk, in memory, files."""

    cold: int = 0
    warm: int = 0
    files: int = 0
    own: int = 0  # bytes of the stage's own layers (what a COPY --from copies at most)
    own_files: int = 0

    def copy(self) -> _Fs:
        return _Fs(self.cold, self.warm, self.files, 0, 0)


@dataclass(slots=True)
class _State:
    """What outlives one build: what the daemon holds from the context, what was exported."""

    sent: dict[str, tuple[str, float]] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    images_seen: dict[str, int] = field(default_factory=dict)
    calibrated: dict[tuple[str, str], float] = field(default_factory=dict)  # prepare at calibration


def apply_costs(
    scenario: Scenario, result: SimulationResult, profile: Profile | None = None
) -> SimulationResult:
    """``result`` with times and sizes filled in (see the module docstring)."""
    base_timing = parse_timing(scenario.timing, scenario.source)
    requests = [step.request for step in replay(scenario, images_of)]
    state = _State()
    builder = rules_for(result.engine)
    builds = []
    for number, (build, request) in enumerate(zip(result.builds, requests, strict=False)):
        own = parse_timing(scenario.builds[number].timing, scenario.source)
        timing = base_timing.over(own)
        builds.append(_cost_build(build, request, builder, timing, profile, state, number))
    builds += result.builds[len(builds) :]
    return replace(result, builds=tuple(builds))


def machine_for(timing: Timing, profile: Profile | None) -> tuple[Machine, dict[str, str]]:
    """The machine figures and where each came from (measured beats declared beats default)."""
    machine = Machine()
    sources = {name: "default" for name in MACHINE_KEYS}
    if timing.machine:
        machine = machine_with(machine, timing.machine)
        sources.update({k: "declared" for k in timing.machine})
    if profile is not None and profile.machine:
        machine = machine_with(machine, profile.machine)
        sources.update({k: "measured" for k in profile.machine})
    return machine, sources


@dataclass(slots=True)
class _BuildView:
    """One build's steps matched to the plan: stage index, resolved instruction."""

    plan: Plan | None
    where: dict[int, tuple[int | None, Resolved | None]]  # result position -> (stage, step)


def _view(build: BuildResult, request: BuildRequest, builder: Builder) -> _BuildView:
    try:
        automatic = builder.automatic_args()
        planned = plan(request.dockerfile, request.build_args, request.target, automatic)
    except BuildFailure:
        return _BuildView(None, {})
    by_label = {p.label: i for i, p in enumerate(planned.stages)}
    by_line: dict[tuple[int, int], Resolved] = {}
    for i, stage in enumerate(planned.stages):
        for step in stage.steps:
            by_line[(i, step.instruction.line)] = step
    where: dict[int, tuple[int | None, Resolved | None]] = {}
    for position, step in enumerate(build.steps):
        index = by_label.get(step.stage)
        where[position] = (index, by_line.get((index, step.line)) if index is not None else None)
    return _BuildView(planned, where)


def _full_text(step: StepResult, resolved: Resolved | None) -> str:
    return resolved.instruction.command if resolved is not None else step.instruction


def _context_sent(
    request: BuildRequest, view: _BuildView, builder: Builder, state: _State
) -> tuple[int, int, int]:
    """(bytes, files, bytes in the context) the client sends for this build."""
    try:
        context = inputs.BuildContext.of(request, builder)
    except BuildFailure:
        return 0, 0, 0
    total = sum(len(f.content) for p, f in context.files.items() if p in context.tree.files)
    if builder.sends_whole_context:  # the whole context as a tar, every build
        kept = [context.files[p] for p in context.tree.files if p in context.files]
        size = sum(len(f.content) + 512 + (-len(f.content)) % 512 for f in kept) + 1024
        return size, len(kept), total
    wanted: set[str] = set()
    if view.plan is not None:
        for index in view.plan.needed:
            for step in view.plan.stages[index].steps:
                for sources in _context_sources(step):
                    try:
                        found = inputs.from_context(
                            context,
                            sources,
                            "/x/",
                            source_rules=builder.source_rules,
                            keyword=step.keyword,
                        )
                    except BuildFailure:
                        continue
                    wanted.update(found.digests)
    size = files = 0
    for path in sorted(wanted):
        entry = context.files[path]
        mark = (file_digest(entry), entry.mtime)
        if state.sent.get(path) != mark:
            size += len(entry.content)
            files += 1
            state.sent[path] = mark
    return size, files, total


def _context_sources(step: Resolved) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    own = step.from_stage is None and step.from_image is None
    if step.keyword in ("COPY", "ADD") and own and step.sources:
        out.append(step.sources)
    for mount in step.mounts:
        if mount.type == "bind" and mount.from_stage is None and mount.from_image is None:
            out.append((mount.source or ".",))
    return out


def _cost_build(
    build: BuildResult,
    request: BuildRequest,
    builder: Builder,
    timing: Timing,
    profile: Profile | None,
    state: _State,
    number: int,
) -> BuildResult:
    machine, msources = machine_for(timing, profile)
    if request.prune_before and builder.prune_clears_cache:  # what it received goes too
        state.sent.clear()
    view = _view(build, request, builder)
    if build.error is not None and not build.steps:
        return replace(build, seconds=round(machine.build_seconds, 3))
    sent, sent_files, context_total = _context_sent(request, view, builder, state)
    context_seconds = (
        0.05 + sent / (machine.context_mb_s * MB) + sent_files * machine.file_ms / 1000
    )
    fss: dict[int, _Fs] = {}
    costs: list[StepCost] = []
    done_keys: set[str] = set()
    pulled: list[str] = []
    pulls: set[int] = set()  # positions of the FROM steps that download their image
    for position, step in enumerate(build.steps):
        stage, resolved = view.where.get(position, (None, None))
        fs = _stage_fs(fss, stage, view, step, request, timing, profile, machine)
        cost = _step_cost(
            step,
            resolved,
            fs,
            fss,
            machine,
            msources,
            timing,
            profile,
            state,
            number,
            done_keys,
            builder,
        )
        if step.is_from and (step.status == "built" or number == 0):
            ref = _pulled(view, stage, machine)
            if ref is not None and ref not in pulled:
                pulled.append(ref)
                size = image_bytes(ref, timing, profile)[0]
                seconds = machine.pull_seconds + size / (machine.network_mb_s * MB)
                cost = replace(cost, seconds=seconds, source=msources["network_mb_s"])
                pulls.add(position)
        costs.append(cost)
        if step.key:
            done_keys.add(step.key)
        if step.status == "built" and not step.is_from:
            fs.warm += cost.layer_bytes
        elif not step.is_from:
            fs.cold += cost.layer_bytes
        if not step.is_from:
            fs.files += cost.layer_files
            fs.own += cost.layer_bytes
            fs.own_files += cost.layer_files
    steps = tuple(
        replace(
            s,
            seconds=round(c.seconds, 3),
            seconds_source=c.source,
            layer_bytes=c.layer_bytes,
            pulled=position in pulls,
        )
        for position, (s, c) in enumerate(zip(build.steps, costs, strict=True))
    )
    sizes = _sizes(build, costs, view, state, request, timing, profile)
    export = 0.0
    if not builder.commits_every_step and not build.failed and sizes["new_layers"]:
        export = (
            machine.export_seconds
            + sizes["new_layer_bytes"] / (machine.export_mb_s * MB)
            + sizes["new_layer_files"] * machine.file_ms / 1000
        )
    span, starts = _schedule(build, costs, view, builder, machine, context_seconds, export)
    wall = machine.build_seconds + span
    if not builder.commits_every_step and number > 0 and export:
        # A later BuildKit build that exports a new image never finished in under about
        # 0.9 s here, however little it built (runs A and B of benchmarks/accuracy: small
        # edits 0.89-0.97 s), while its parts add up to less.
        wall = max(wall, machine.export_floor_seconds)
    extra = dict(build.extra)
    extra["sizes"] = {
        "image_bytes": sizes["image_bytes"],
        "push_bytes": sizes["push_bytes"],
        "pull_bytes": sizes["pull_bytes"],
        "context_bytes": context_total,
        "context_sent_bytes": sent,
        "base_bytes": sizes["base_bytes"],
        "image_steps": sizes["image_steps"],
    }
    extra["time"] = {
        "context_seconds": round(context_seconds, 3),
        "export_seconds": round(export, 3),
        "overhead_seconds": round(machine.build_seconds, 3),
        "pulled": pulled,
        "step_starts": [round(starts.get(p, 0.0), 3) for p in range(len(costs))],
        "context_start": round(starts.get("context", 0.0), 3),
        "export_start": round(starts.get("export", 0.0), 3),
        "machine_sources": sorted({v for v in msources.values()}),
    }
    return replace(build, steps=steps, seconds=round(wall, 3), extra=extra)


def _stage_fs(
    fss: dict[int, _Fs],
    stage: int | None,
    view: _BuildView,
    step: StepResult,
    request: BuildRequest,
    timing: Timing,
    profile: Profile | None,
    machine: Machine,
) -> _Fs:
    key = stage if stage is not None else -1
    if key in fss:
        return fss[key]
    fs = _Fs()
    if view.plan is not None and stage is not None:
        planned = view.plan.stages[stage]
        if planned.base_stage is not None and planned.base_stage in fss:
            fs = fss[planned.base_stage].copy()
        elif planned.base_image is not None:
            size = image_bytes(planned.base_image, timing, profile)[0]
            fs = _Fs(cold=size, files=size // 100_000)
    fss[key] = fs
    return fs


def image_bytes(ref: str, timing: Timing, profile: Profile | None) -> tuple[int, str]:
    """A base image's size and where the figure came from."""
    key = image_key(ref)
    if profile is not None and key in profile.images:
        return profile.images[key], "measured"
    if key in timing.images:
        return timing.images[key], "declared"
    return default_image_bytes(ref), "default"


def _prepare(fs: _Fs, machine: Machine, first: bool) -> float:
    """The snapshot a step runs on: vfs copies the whole parent file system.

    On a scenario's first build the parent was just written (dirty pages, cold caches) and
    the copy runs at disk speed, about 0.4 ms a file; on later builds it is warm: memory
    speed, about 0.02 ms a file. Seen here: a COPY over 5000 fresh files took 2.0 s in the
    cold build and a whole rebuild over them 0.96 s (benchmarks/accuracy, 04).
    """
    if machine.storage != "vfs":
        return 0.0
    size = fs.cold + fs.warm
    if first:
        return size / (machine.disk_mb_s * MB) + fs.files * machine.cold_file_ms / 1000
    return size / (machine.memory_mb_s * MB) + fs.files * machine.snapshot_file_ms / 1000


def _step_cost(
    step: StepResult,
    resolved: Resolved | None,
    fs: _Fs,
    fss: dict[int, _Fs],
    machine: Machine,
    msources: Mapping[str, str],
    timing: Timing,
    profile: Profile | None,
    state: _State,
    number: int,
    done_keys: set[str],
    builder: Builder,
) -> StepCost:
    text = _full_text(step, resolved)
    declared = timing.find(step, text)
    measured = profile.find(step, text) if profile is not None else None
    size, files, size_source = _layer(step, resolved, fss, declared, measured, machine)
    if step.status != "built" or step.is_from or (step.key and step.key in done_keys):
        return StepCost(machine.lookup_seconds, msources["lookup_seconds"], size, files)
    keyword = step.keyword
    prepare = _prepare(fs, machine, first=number == 0)
    if builder.commits_every_step:
        prepare += machine.commit_seconds
    if keyword == "RUN" or (keyword not in ("COPY", "ADD", "WORKDIR") and step.stage):
        fixed = machine.run_seconds if keyword == "RUN" else machine.meta_seconds
        if keyword != "RUN":
            return StepCost(fixed + prepare, msources["meta_seconds"], size, files)
        ident = (step.stage, normal_instruction(text))
        # making files costs far more on the first, cold build than later (seen: 3000
        # empty files 2.5 s cold, a whole rebuild making them again 1.1 s)
        per_file = machine.cold_file_ms if number == 0 else machine.snapshot_file_ms
        create = files * per_file / 1000 if machine.storage == "vfs" else 0.0
        if measured is not None and measured.seconds is not None:
            if number == 0:
                state.calibrated[ident] = prepare + create
            before = state.calibrated.get(ident, 0.0)
            work = max(measured.seconds - fixed - before, 0.0)
            return StepCost(fixed + prepare + create + work, "measured", size, files)
        if declared is not None and declared.seconds is not None:
            return StepCost(declared.seconds + prepare, "declared", size, files)
        script = _script(step, resolved)
        estimate = estimate_run(script, machine)
        seconds = fixed + prepare + create + estimate.seconds
        return StepCost(seconds, "default", size, files, estimate.idle)
    if keyword in ("COPY", "ADD"):
        if declared is not None and declared.seconds is not None:
            return StepCost(declared.seconds + prepare, "declared", size, files)
        work = size / (machine.memory_mb_s * MB) + files * machine.file_ms / 1000
        source = msources["copy_seconds"] if size_source != "measured" else "measured"
        return StepCost(machine.copy_seconds + prepare + work, source, size, files)
    return StepCost(machine.meta_seconds + prepare, msources["meta_seconds"], size, files)


def _script(step: StepResult, resolved: Resolved | None) -> str:
    """A RUN's command as one shell text (the shell form's script, or the exec words)."""
    if resolved is None:
        return step.instruction.split(None, 1)[1] if " " in step.instruction else ""
    if resolved.instruction.json:
        return " ".join(resolved.command)
    return " ".join(resolved.command[len(resolved.shell) :])


def _layer(
    step: StepResult,
    resolved: Resolved | None,
    fss: dict[int, _Fs],
    declared: StepFigure | None,
    measured: MeasuredStep | None,
    machine: Machine,
) -> tuple[int, int, str]:
    """The bytes and files of a step's layer, and where the size came from."""
    if step.is_from or step.keyword not in ("RUN", "COPY", "ADD", "WORKDIR"):
        return 0, 0, "default"
    files = declared.files if declared is not None and declared.files is not None else None
    if files is None and step.keyword == "RUN":  # a history gives bytes, never files
        files = estimate_run(_script(step, resolved), machine).files
    if measured is not None and measured.bytes is not None:
        return measured.bytes, files or 0, "measured"
    if declared is not None and declared.bytes is not None:
        return declared.bytes, files or 0, "declared"
    if step.keyword == "RUN":
        script = _script(step, resolved)
        estimate = estimate_run(script, machine)
        return estimate.bytes, files if files is not None else estimate.files, "default"
    if step.keyword in ("COPY", "ADD"):
        if resolved is not None and resolved.from_stage is not None and resolved.from_stage in fss:
            source = fss[resolved.from_stage]
            return source.own, source.own_files, "default"
        return step.copied_bytes, step.copied_files, "default"
    return 0, 0, "default"


def _pulled(view: _BuildView, stage: int | None, machine: Machine) -> str | None:
    """The image a FROM pulls: on a cold cache (first build) or when it changed, if pulls happen."""
    if not machine.pull or view.plan is None or stage is None:
        return None
    return view.plan.stages[stage].base_image


def _sizes(
    build: BuildResult,
    costs: list[StepCost],
    view: _BuildView,
    state: _State,
    request: BuildRequest,
    timing: Timing,
    profile: Profile | None,
) -> dict[str, int]:
    """Image bytes, and the bytes a push and a deploy's pull move (changed layers only)."""
    chain = _image_chain(build, view)
    base = 0
    base_changed = False
    if view.plan is not None:
        root = view.plan.target
        while view.plan.stages[root].base_stage is not None:
            root = view.plan.stages[root].base_stage  # type: ignore[assignment]
        ref = view.plan.stages[root].base_image
        if ref:
            base = image_bytes(ref, timing, profile)[0]
            version = request.images.get(ref, 0)
            base_changed = state.images_seen.get(image_key(ref)) not in (None, version)
            state.images_seen[image_key(ref)] = version
    layers = [(build.steps[i], costs[i]) for i in chain]
    image = base + sum(c.layer_bytes for _, c in layers)
    new = [(s, c) for s, c in layers if s.key and s.key not in state.exported]
    push = sum(c.layer_bytes for _, c in new)
    state.exported.update(s.key for s, _ in layers if s.key)
    return {
        "image_bytes": image,
        "push_bytes": push,
        "pull_bytes": push + (base if base_changed else 0),
        "new_layer_bytes": sum(c.layer_bytes for s, c in layers if s.status == "built"),
        "new_layer_files": sum(c.layer_files for s, c in layers if s.status == "built"),
        "new_layers": sum(1 for s, _ in layers if s.status == "built"),
        "base_bytes": base,
        "image_steps": chain,
    }


def _image_chain(build: BuildResult, view: _BuildView) -> list[int]:
    """Positions of the steps whose layers make the final image (target and its FROM stages)."""
    if view.plan is None:
        return []
    stages: list[int] = []
    index: int | None = view.plan.target
    while index is not None:
        stages.append(index)
        index = view.plan.stages[index].base_stage
    return [
        p for p, (stage, _) in view.where.items() if stage in stages and not build.steps[p].is_from
    ]


def _schedule(
    build: BuildResult,
    costs: list[StepCost],
    view: _BuildView,
    builder: Builder,
    machine: Machine,
    context_seconds: float,
    export: float,
) -> tuple[float, dict[Any, float]]:
    """The build's wall time without its fixed overhead, and when each piece starts.

    BuildKit: the longest path through the step graph, or the busy seconds spread over the
    cores if that is longer. The classic builder: everything in order.
    """
    if not builder.parallel_stages or view.plan is None:
        starts: dict[Any, float] = {"context": 0.0}
        clock = context_seconds
        for position, cost in enumerate(costs):
            starts[position] = clock
            clock += cost.seconds
        starts["export"] = clock
        return clock + export, starts
    graph = schedule_graph(build, costs, view, context_seconds, export)
    starts = {}
    for node in nx.topological_sort(graph):
        preds = [starts[p] + d["weight"] for p, _, d in graph.in_edges(node, data=True)]
        starts[node] = max(preds, default=0.0)
    busy = sum(graph.nodes[n]["seconds"] - graph.nodes[n]["idle"] for n in graph.nodes)
    return max(starts["end"], busy / max(machine.cores, 1)), starts


def schedule_graph(
    build: BuildResult,
    costs: list[StepCost],
    view: _BuildView,
    context_seconds: float = 0.0,
    export: float = 0.0,
) -> nx.DiGraph:
    """A DAG of the build's work: nodes are steps (plus context, export, end); an edge
    ``a -> b`` weighs ``a``'s seconds, so the longest path to ``end`` is the wall time."""
    graph = nx.DiGraph()
    graph.add_node("start", seconds=0.0, idle=0.0)
    graph.add_node("context", seconds=context_seconds, idle=0.0)
    graph.add_node("export", seconds=export, idle=0.0)
    graph.add_node("end", seconds=0.0, idle=0.0)
    graph.add_edge("start", "context", weight=0.0)
    last_of: dict[int, int] = {}
    first_of: dict[int, int] = {}
    for position, cost in enumerate(costs):
        graph.add_node(position, seconds=cost.seconds, idle=cost.idle)
        stage, _ = view.where.get(position, (None, None))
        if stage is None:
            graph.add_edge("start", position, weight=0.0)
            continue
        if stage in last_of:
            graph.add_edge(last_of[stage], position, weight=costs[last_of[stage]].seconds)
        else:
            first_of[stage] = position
        last_of[stage] = position
    plan_ = view.plan
    assert plan_ is not None
    for stage, first in first_of.items():
        base = plan_.stages[stage].base_stage
        if base is not None and base in last_of:
            graph.add_edge(last_of[base], first, weight=costs[last_of[base]].seconds)
        else:
            graph.add_edge("start", first, weight=0.0)
    for position, (_stage, resolved) in view.where.items():
        if resolved is None:
            continue
        deps = [resolved.from_stage] if resolved.from_stage is not None else []
        deps += [m.from_stage for m in resolved.mounts if m.from_stage is not None]
        for dep in deps:
            if dep in last_of and last_of[dep] != position:
                graph.add_edge(last_of[dep], position, weight=costs[last_of[dep]].seconds)
        if _context_sources(resolved):
            graph.add_edge("context", position, weight=context_seconds)
    target_last = last_of.get(plan_.target)
    for node in list(graph.nodes):
        if node in ("end", "export"):
            continue
        if graph.out_degree(node) == 0:
            weight = graph.nodes[node]["seconds"]
            graph.add_edge(node, "export" if node == target_last else "end", weight=weight)
    graph.add_edge("export", "end", weight=export)
    return graph


def durations(build: BuildResult) -> Iterable[float]:
    """The predicted seconds of a build's steps (0 where not predicted)."""
    return (s.seconds or 0.0 for s in build.steps)
