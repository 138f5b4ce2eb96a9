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

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from cachesim.builders import inputs
from cachesim.builders.protocol import Builder
from cachesim.context import index as context_index
from cachesim.context.digestmap import TrackedMap
from cachesim.context.selection import SourceRules
from cachesim.context.snapshot import file_digest
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import BuildFailure
from cachesim.core.results import BuildResult, SimulationResult, StepResult

# The formats and the default figures live in their own modules; these names are
# re-exported because callers know them from here.
from cachesim.cost.commands import Estimate, default_image_bytes, estimate_run
from cachesim.cost.machines import machine_of
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
from cachesim.planning.plan import Plan, Resolved
from cachesim.simulation.simulator import rules_for, trace
from cachesim.simulation.trace import BuildTrace, Simulation, StepTrace
from cachesim.sources.scenario import Scenario, image_key

Node = int | str  # a schedule graph node: a step's position, or "start", "context", ...

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
    parent_files: int = 0  # files of the file system the step ran on (a vfs diff walks them)
    parent_bytes: int = 0  # ...and its bytes (a vfs image store copies them per new layer)


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
    filled_mounts: set[str] = field(default_factory=set)  # cache mounts a build has written
    # the last build's wanted paths and its files (``_send``'s shortcut); ``_wanted``'s memo
    last_sent: tuple[frozenset[str], Mapping[str, ContextFile]] | None = None
    wanted: dict[tuple[int, object, object], tuple[object, frozenset[str]]] = field(
        default_factory=dict
    )


def apply_costs(
    scenario: Scenario,
    simulation: Simulation | SimulationResult,
    profile: Profile | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> SimulationResult:
    """The simulation's results with times and sizes filled in (see the module docstring).

    Give it what ``simulator.trace`` returns: the cost model then prices the simulator's
    own plans and steps, and no build is parsed or planned again. A bare
    ``SimulationResult`` (older callers) is traced again first, at the default BuildKit.
    ``defaults`` replaces machine defaults of the engine and driver, beneath declared and
    measured figures (how benchmarks/accuracy.py fits them).
    """
    traced = simulation if isinstance(simulation, Simulation) else _retraced(scenario, simulation)
    base_timing = parse_timing(scenario.timing, scenario.source)
    state = _State()
    builder = rules_for(traced.result.engine)
    builds = []
    for number, build in enumerate(traced.traces):
        own = parse_timing(scenario.builds[number].timing, scenario.source)
        timing = base_timing.over(own)
        builds.append(
            _cost_build(build, builder, timing, profile, state, number, traced.buildkit, defaults)
        )
    return replace(traced.result, builds=tuple(builds))


def _retraced(scenario: Scenario, result: SimulationResult) -> Simulation:
    """The traces behind a bare result: the scenario simulated again. Only a result the
    default BuildKit predicts can be priced this way; others must come from ``trace``
    (pricing traces of other builds would give wrong figures silently)."""
    traced = trace(scenario)
    if traced.result != result:
        raise TypeError(
            "apply_costs: this result is not the default BuildKit's; "
            "price simulator.trace(scenario, version) instead"
        )
    return traced


def machine_for(
    timing: Timing,
    profile: Profile | None,
    buildkit: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[Machine, dict[str, str]]:
    """The machine figures and where each came from (measured beats declared beats default).

    The defaults are those measured for the engine (its BuildKit release) and the storage
    driver, the driver as measured or declared (``cost.machines``)."""
    storage = Machine().storage
    for figures in (timing.machine, profile.machine if profile is not None else None):
        if figures and "storage" in figures:
            storage = figures["storage"]
    machine = machine_with(machine_of(buildkit, storage), defaults or {})
    sources = {name: "default" for name in MACHINE_KEYS}
    if timing.machine:
        machine = machine_with(machine, timing.machine)
        sources.update({k: "declared" for k in timing.machine})
    if profile is not None and profile.machine:
        machine = machine_with(machine, profile.machine)
        sources.update({k: "measured" for k in profile.machine})
    return machine, sources


def _full_text(step: StepResult, resolved: Resolved | None) -> str:
    return resolved.instruction.command if resolved is not None else step.instruction


def _context_sent(build: BuildTrace, builder: Builder, state: _State) -> tuple[int, int, int]:
    """(bytes, files, bytes in the context) the client sends for this build."""
    context = build.context
    if context is None:
        return 0, 0, 0
    visible = context_index.kept(context.files, context.tree)
    total = context_index.selected(context.files, visible)[1]
    if builder.sends_whole_context:  # the whole context as a tar, every build
        kept = [context.files[p] for p in context.tree.files if p in context.files]
        size = sum(len(f.content) + 512 + (-len(f.content)) % 512 for f in kept) + 1024
        return size, len(kept), total
    memo = (id(build.plan), context.tree, builder.source_rules)
    if memo not in state.wanted or state.wanted[memo][0] is not build.plan:
        found = frozenset(_wanted(build.plan, context, builder.source_rules))
        state.wanted[memo] = (build.plan, found)  # it depends on the plan and tree only
    wanted = state.wanted[memo][1]
    return (*_send(wanted, context.files, state), total)


def _send(
    wanted: frozenset[str], files: Mapping[str, ContextFile], state: _State
) -> tuple[int, int]:
    """(bytes, files) of ``wanted`` the daemon does not hold yet, by content and mtime.
    When the last build wanted the same paths, only the files its lineage says were
    touched since can differ from what was sent (issue 9: a build's cost grows with
    what changed)."""
    last = state.last_sent
    todo: Iterable[str] = wanted
    if last is not None and last[0] == wanted and isinstance(files, TrackedMap):
        touched = files.touched_since(last[1]) if isinstance(last[1], TrackedMap) else None
        if touched is not None:
            todo = [p for p in touched if p in wanted]
    size = count = 0
    for path in todo:
        entry = files[path]
        mark = (file_digest(entry), entry.mtime)
        if state.sent.get(path) != mark:
            size += len(entry.content)
            count += 1
            state.sent[path] = mark
    state.last_sent = (wanted, files)
    return size, count


def _wanted(
    planned: Plan | None, context: inputs.BuildContext, source_rules: SourceRules
) -> set[str]:
    """The context files BuildKit transfers: only those the needed stages' COPY, ADD and
    bind mounts read (BuildKit asks the client for those paths, not for the whole tree)."""
    wanted: set[str] = set()
    if planned is None:
        return wanted
    for index in planned.needed:
        for step in planned.stages[index].steps:
            for sources in _context_sources(step):
                try:
                    found = inputs.from_context(
                        context, sources, "/x/", source_rules=source_rules, keyword=step.keyword
                    )
                except BuildFailure:
                    continue
                wanted.update(found.digests)
    return wanted


def _context_sources(step: Resolved) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    own = step.from_stage is None and step.from_image is None
    if step.keyword in ("COPY", "ADD") and own and step.sources:
        out.append(step.sources)
    for mount in step.mounts:
        if mount.type == "bind" and mount.from_stage is None and mount.from_image is None:
            out.append((mount.source or ".",))
    return out


@dataclass(slots=True)
class _Pricing:
    """What pricing one build's steps shares: the build, its figures, and what the steps
    priced so far left (stage file systems, keys done, images pulled)."""

    build: BuildTrace
    builder: Builder
    timing: Timing
    profile: Profile | None
    machine: Machine
    msources: Mapping[str, str]
    state: _State
    number: int  # the build's position in the scenario (0: the first, cold build)
    fss: dict[int, _Fs] = field(default_factory=dict)
    done_keys: set[str] = field(default_factory=set)
    pulled: list[str] = field(default_factory=list)
    pulls: set[int] = field(default_factory=set)  # positions of FROMs that download an image


def _cost_build(
    build: BuildTrace,
    builder: Builder,
    timing: Timing,
    profile: Profile | None,
    state: _State,
    number: int,
    buildkit: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> BuildResult:
    """One build priced: each step, then the context, export and schedule around them."""
    machine, msources = machine_for(timing, profile, buildkit, defaults)
    if build.request.prune_before and builder.prune_clears_cache:  # what it received goes too
        state.sent.clear()
        state.last_sent = None
        state.filled_mounts.clear()  # cache mounts are build cache records: pruned too
    result = build.result
    if result.error is not None and not result.steps:
        return replace(result, seconds=round(machine.build_seconds, 3))
    sent, sent_files, context_total = _context_sent(build, builder, state)
    # BuildKit syncs files one by one; the classic builder streams one tar of the context
    speed = machine.tar_mb_s if builder.sends_whole_context else machine.context_mb_s
    context_seconds = 0.05 + sent / (speed * MB) + sent_files * machine.file_ms / 1000
    pricing = _Pricing(build, builder, timing, profile, machine, msources, state, number)
    costs = [_price_step(pricing, position, step) for position, step in enumerate(build.steps)]
    sizes = _sizes(build, costs, state, timing, profile)
    export = _export_seconds(result, sizes, builder, machine)
    span, starts = _schedule(build, costs, builder, machine, context_seconds, export)
    wall = machine.build_seconds + span
    if not builder.commits_every_step and number > 0 and export:
        # A later BuildKit build that exports a new image never finished in under about
        # 0.9 s here, however little it built (runs A and B of benchmarks/accuracy: small
        # edits 0.89-0.97 s), while its parts add up to less.
        wall = max(wall, machine.export_floor_seconds)
    if export and machine.export_tick_seconds:
        steps_done = machine.build_seconds + starts.get("export", span)
        tick = _on_tick(steps_done, machine.export_tick_seconds, machine.export_tick_lead)
        wall = max(wall, tick)
    extra = dict(result.extra)
    extra["sizes"] = _size_figures(sizes, context_total, sent)
    extra["time"] = {
        "context_seconds": round(context_seconds, 3),
        "export_seconds": round(export, 3),
        "overhead_seconds": round(machine.build_seconds, 3),
        "pulled": pricing.pulled,
        "step_starts": [round(starts.get(p, 0.0), 3) for p in range(len(costs))],
        "context_start": round(starts.get("context", 0.0), 3),
        "export_start": round(starts.get("export", 0.0), 3),
        "machine_sources": sorted({v for v in msources.values()}),
    }
    steps = _priced_steps(result, costs, pricing.pulls)
    return replace(result, steps=steps, seconds=round(wall, 3), extra=extra)


def _on_tick(done: float, tick: float, lead: float) -> float:
    """When a vfs export that began at ``done`` (seconds from the build's start) can end:
    at the first whole second of the wall clock after it. The build started ``lead``
    seconds after a whole second (a build run right after another, which itself ended on
    one, starts just after it). Seen on Docker 20.10/vfs (2026-12-01, a COPY and a RUN of
    one small file, rebuilt eight times, `--progress=plain` lines time-stamped): every
    build's "exporting layers" ended 10-20 ms after a whole second, whatever it did: a
    build started 0.5 s after one ended 0.5 s later; the export itself took 0.6 s when its
    steps ended at .35. An export whose own work runs past that second does not wait
    (builds writing 100 MB or more of new layers ended anywhere in the second: accuracy
    03, 30, 49), which ``max(work, tick)`` gives. On overlay2 no build kept to it (runs E
    and F: the fractions spread evenly)."""
    return math.ceil((done + lead) / tick) * tick - lead


def _price_step(pricing: _Pricing, position: int, traced: StepTrace) -> StepCost:
    """One step's cost, in order: later steps of the stage copy the file system it grew."""
    step = traced.result
    fs = _stage_fs(pricing, traced.stage)
    cost = _step_cost(traced, fs, pricing)
    if step.status == "built" and fs.files and pricing.machine.copies_parent:
        # what a vfs export's diff walks, and what the image store copies for the layer
        cost = replace(cost, parent_files=fs.files, parent_bytes=fs.cold + fs.warm)
    if step.is_from and (step.status == "built" or pricing.number == 0):
        cost = _pull_cost(pricing, position, traced.stage, cost)
    if step.key:
        pricing.done_keys.add(step.key)
    if not step.is_from:
        _grow(fs, step, cost)
    return cost


def _pull_cost(pricing: _Pricing, position: int, stage: int | None, cost: StepCost) -> StepCost:
    """A FROM that downloads its image (cold cache or a new version) costs the pull; an
    image two stages name is pulled once."""
    ref = _pulled(pricing.build.plan, stage, pricing.machine)
    if ref is None or ref in pricing.pulled:
        return cost
    pricing.pulled.append(ref)
    size = image_bytes(ref, pricing.timing, pricing.profile)[0]
    machine = pricing.machine
    seconds = machine.pull_seconds + size / (machine.network_mb_s * MB)
    pricing.pulls.add(position)
    return replace(cost, seconds=seconds, source=pricing.msources["network_mb_s"])


def _grow(fs: _Fs, step: StepResult, cost: StepCost) -> None:
    """A step's layer joins its stage's file system: written now (warm, in memory) if it
    was built, read from disk (cold) if it came from the cache."""
    if step.status == "built":
        fs.warm += cost.layer_bytes
    else:
        fs.cold += cost.layer_bytes
    fs.files += cost.layer_files
    fs.own += cost.layer_bytes
    fs.own_files += cost.layer_files


def _priced_steps(
    build: BuildResult, costs: list[StepCost], pulls: set[int]
) -> tuple[StepResult, ...]:
    """The build's steps with their seconds, sources and layer sizes filled in."""
    return tuple(
        replace(
            s,
            seconds=round(c.seconds, 3),
            seconds_source=c.source,
            layer_bytes=c.layer_bytes,
            pulled=position in pulls,
        )
        for position, (s, c) in enumerate(zip(build.steps, costs, strict=True))
    )


def _export_seconds(build: BuildResult, sizes: _Sizes, builder: Builder, machine: Machine) -> float:
    """BuildKit exports the new layers into an image at the end; the classic builder
    committed each step as it went, so it has nothing left to export."""
    if builder.commits_every_step or build.failed or not sizes.new_layers:
        return 0.0
    # on vfs a new layer's diff compares its whole tree with its parent's
    walked = sizes.new_layer_parent_files if machine.copies_parent else 0
    # ...and the vfs image store makes each new layer as a full copy of its parent
    copied = sizes.new_layer_parent_bytes if machine.copies_parent else 0
    return (
        machine.export_seconds
        + sizes.new_layer_bytes / (machine.export_mb_s * MB)
        + sizes.new_layer_files * machine.file_ms / 1000
        + walked * machine.diff_file_ms / 1000
        + copied / (machine.export_parent_mb_s * MB)
    )


def _size_figures(sizes: _Sizes, context_total: int, sent: int) -> dict[str, Any]:
    """The sizes a build reports in ``extra["sizes"]`` (docs/time-model.md)."""
    return {
        "image_bytes": sizes.image_bytes,
        "push_bytes": sizes.push_bytes,
        "pull_bytes": sizes.pull_bytes,
        "context_bytes": context_total,
        "context_sent_bytes": sent,
        "base_bytes": sizes.base_bytes,
        "image_steps": list(sizes.image_steps),
    }


def _stage_fs(pricing: _Pricing, stage: int | None) -> _Fs:
    """The file system a stage's steps run on, made at its first step: a copy of its base
    stage's, or its base image's bytes (about one file per 100 kB)."""
    key = stage if stage is not None else -1
    fss = pricing.fss
    if key in fss:
        return fss[key]
    fs = _Fs()
    planned = pricing.build.plan
    if planned is not None and stage is not None:
        base = planned.stages[stage]
        if base.base_stage is not None and base.base_stage in fss:
            fs = fss[base.base_stage].copy()
        elif base.base_image is not None:
            size = image_bytes(base.base_image, pricing.timing, pricing.profile)[0]
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
    if not machine.copies_parent:
        return 0.0
    size = fs.cold + fs.warm
    if first:
        return size / (machine.disk_mb_s * MB) + fs.files * machine.cold_file_ms / 1000
    return size / (machine.memory_mb_s * MB) + fs.files * machine.snapshot_file_ms / 1000


def _commit(fs: _Fs, machine: Machine) -> float:
    """What the classic builder spends around each step it builds: a container made from
    the last image, then committed as a new one. On vfs both copy the whole file system
    and the diff walks it, so the cost grows with every byte and file below the step;
    overlay2 stacks a layer instead. Seen on Docker 20.10/vfs (accuracy run D): a COPY and
    a trivial RUN over 10,000 empty files took 3.9-4.4 s, over a 100 MB file 1.9 s; on
    Docker 28.5/overlay2 (run E) the same builds took 0.2-0.3 s."""
    if not machine.copies_parent:
        return machine.commit_seconds
    size = fs.cold + fs.warm
    return (
        machine.commit_seconds
        + size / (machine.commit_mb_s * MB)
        + fs.files * machine.commit_file_ms / 1000
    )


@dataclass(frozen=True, slots=True)
class _Figures:
    """What is known of one step before it is priced: its full text, the declared and
    measured figures for it, its layer, the snapshot it runs on and (a RUN) the estimate
    of its command, read once for all of these."""

    text: str
    declared: StepFigure | None
    measured: MeasuredStep | None
    size: int
    files: int
    size_source: str
    prepare: float
    estimate: Estimate | None = None


def _step_cost(traced: StepTrace, fs: _Fs, pricing: _Pricing) -> StepCost:
    """One step's seconds: a lookup unless it ran; else by kind of instruction."""
    step, resolved = traced.result, traced.resolved
    machine, msources = pricing.machine, pricing.msources
    text = _full_text(step, resolved)
    declared = pricing.timing.find(step, text)
    profile = pricing.profile
    measured = profile.find(step, text, traced.stage) if profile is not None else None
    runs = step.keyword == "RUN" and not step.is_from
    estimate = estimate_run(_script(step, resolved), machine) if runs else None
    size, files, size_source = _layer(step, resolved, pricing.fss, declared, measured, estimate)
    if step.status != "built" or step.is_from or (step.key and step.key in pricing.done_keys):
        return StepCost(machine.lookup_seconds, msources["lookup_seconds"], size, files)
    if pricing.builder.commits_every_step:
        prepare = _commit(fs, machine)
    else:
        prepare = _prepare(fs, machine, first=pricing.number == 0)
    figures = _Figures(text, declared, measured, size, files, size_source, prepare, estimate)
    if step.keyword == "RUN":
        return _run_cost(step, resolved, figures, pricing)
    if step.keyword in ("COPY", "ADD"):
        return _copy_cost(figures, pricing)
    return StepCost(machine.meta_seconds + prepare, msources["meta_seconds"], size, files)


def _run_cost(
    step: StepResult, resolved: Resolved | None, figures: _Figures, pricing: _Pricing
) -> StepCost:
    """A RUN that ran: a container start, its snapshot, the files it makes and the
    command's own time (measured, declared, or estimated from the command)."""
    machine = pricing.machine
    fixed, prepare, files = machine.run_seconds, figures.prepare, figures.files
    # making files costs far more on the first, cold build than later (seen: 3000
    # empty files 2.5 s cold, a whole rebuild making them again 1.1 s)
    per_file = machine.cold_file_ms if pricing.number == 0 else machine.snapshot_file_ms
    create = files * per_file / 1000 if machine.copies_parent else 0.0
    measured, declared = figures.measured, figures.declared
    hit = _fills_cache_mounts(resolved, pricing.state)
    if measured is not None and measured.seconds is not None:
        # the measured time already held the snapshot and file making of the calibration
        # build; later builds pay their own instead
        ident = (step.stage, normal_instruction(figures.text))
        if pricing.number == 0:
            pricing.state.calibrated[ident] = prepare + create
        before = pricing.state.calibrated.get(ident, 0.0)
        # the script's sleeps are known exactly: its own work is never less than them,
        # even where the model's snapshot and file costs ate the whole measured time
        idle = figures.estimate.idle if figures.estimate is not None else 0.0
        work = max(measured.seconds - fixed - before, idle, 0.0)
        if hit:
            work *= 1.0 - min(machine.mount_hit_saving, 1.0)
        return StepCost(fixed + prepare + create + work, "measured", figures.size, files)
    if declared is not None and declared.seconds is not None:
        return StepCost(declared.seconds + prepare, "declared", figures.size, files)
    estimate = figures.estimate or estimate_run(_script(step, resolved), machine)
    seconds = fixed + prepare + create + estimate.seconds
    return StepCost(seconds, "default", figures.size, files, estimate.idle)


def _fills_cache_mounts(resolved: Resolved | None, state: _State) -> bool:
    """Whether a RUN that runs finds one of its cache mounts filled by an earlier build
    (a hit), recording its mounts as filled. A mount is named by its ``id`` (by default
    its target, as BuildKit names it); a prune empties them all. Only measured work is
    discounted on a hit: the measured (cold) run is the one that filled the mount. Seen
    (accuracy 26, 27; runs D-G): a RUN that took 1.3 s filling a mount took 0.1-0.2 s
    when the mount was kept from an earlier build, and 1.4-2.4 s again after a prune."""
    if resolved is None:
        return False
    names = {m.id or m.target for m in resolved.mounts if m.type == "cache"}
    hit = bool(names & state.filled_mounts)
    state.filled_mounts |= names
    return hit


def _copy_cost(figures: _Figures, pricing: _Pricing) -> StepCost:
    """A COPY or ADD that ran: a fixed start, its snapshot, and the bytes and files
    written (unless the scenario declares its seconds)."""
    machine = pricing.machine
    declared = figures.declared
    if declared is not None and declared.seconds is not None:
        return StepCost(declared.seconds + figures.prepare, "declared", figures.size, figures.files)
    work = figures.size / (machine.memory_mb_s * MB) + figures.files * machine.file_ms / 1000
    measured_size = figures.size_source == "measured"
    source = "measured" if measured_size else pricing.msources["copy_seconds"]
    seconds = machine.copy_seconds + figures.prepare + work
    return StepCost(seconds, source, figures.size, figures.files)


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
    estimate: Estimate | None,
) -> tuple[int, int, str]:
    """The bytes and files of a step's layer, and where the size came from (``estimate``:
    a RUN's command estimate)."""
    if step.is_from or step.keyword not in ("RUN", "COPY", "ADD", "WORKDIR"):
        return 0, 0, "default"
    size, files = _default_layer(step, resolved, fss, estimate)
    if declared is not None and declared.files is not None:
        files = declared.files
    if measured is not None and measured.bytes is not None:
        # a history gives bytes, never files: the files are the default's, fitted to them
        if estimate is not None and (declared is None or declared.files is None):
            files = estimate.files_given(measured.bytes)
        return measured.bytes, files, "measured"
    if declared is not None and declared.bytes is not None:
        return declared.bytes, files, "declared"
    return size, files, "default"


def _default_layer(
    step: StepResult,
    resolved: Resolved | None,
    fss: dict[int, _Fs],
    estimate: Estimate | None,
) -> tuple[int, int]:
    """The bytes and files of a step's layer by default: a RUN's estimate, a COPY's
    copied files (or the source stage's own layers for ``--from``), none otherwise."""
    if estimate is not None:
        return estimate.bytes, estimate.files
    if step.keyword in ("COPY", "ADD"):
        if resolved is not None and resolved.from_stage is not None and resolved.from_stage in fss:
            source = fss[resolved.from_stage]
            return source.own, source.own_files
        return step.copied_bytes, step.copied_files
    return 0, 0


def _pulled(planned: Plan | None, stage: int | None, machine: Machine) -> str | None:
    """The image a FROM pulls: on a cold cache (first build) or when it changed, if pulls happen."""
    if not machine.pull or planned is None or stage is None:
        return None
    return planned.stages[stage].base_image


@dataclass(frozen=True, slots=True)
class _Sizes:
    """A build's image: its bytes, what a push and a deploy's pull move, the layers it
    built (what the export writes) and the positions of the steps whose layers it holds."""

    image_bytes: int
    push_bytes: int
    pull_bytes: int
    new_layer_bytes: int
    new_layer_files: int
    new_layer_parent_files: int
    new_layer_parent_bytes: int
    new_layers: int
    base_bytes: int
    image_steps: tuple[int, ...]


def _sizes(
    build: BuildTrace,
    costs: list[StepCost],
    state: _State,
    timing: Timing,
    profile: Profile | None,
) -> _Sizes:
    """Image bytes, and the bytes a push and a deploy's pull move (changed layers only)."""
    chain = _image_chain(build)
    base, base_changed = _base_image(build, state, timing, profile)
    layers = [(build.result.steps[i], costs[i]) for i in chain]
    image = base + sum(c.layer_bytes for _, c in layers)
    new = [(s, c) for s, c in layers if s.key and s.key not in state.exported]
    push = sum(c.layer_bytes for _, c in new)
    state.exported.update(s.key for s, _ in layers if s.key)
    built = [c for s, c in layers if s.status == "built"]
    return _Sizes(
        image_bytes=image,
        push_bytes=push,
        pull_bytes=push + (base if base_changed else 0),
        new_layer_bytes=sum(c.layer_bytes for c in built),
        new_layer_files=sum(c.layer_files for c in built),
        new_layer_parent_files=sum(c.parent_files for c in built),
        new_layer_parent_bytes=sum(c.parent_bytes for c in built),
        new_layers=len(built),
        base_bytes=base,
        image_steps=tuple(chain),
    )


def _base_image(
    build: BuildTrace, state: _State, timing: Timing, profile: Profile | None
) -> tuple[int, bool]:
    """The final image's base image: its bytes, and whether it changed since the last
    build (a deploy then pulls it again)."""
    planned = build.plan
    if planned is None:
        return 0, False
    root = planned.target
    while planned.stages[root].base_stage is not None:
        root = planned.stages[root].base_stage  # type: ignore[assignment]
    ref = planned.stages[root].base_image
    if not ref:
        return 0, False
    version = build.request.images.get(ref, 0)
    changed = state.images_seen.get(image_key(ref)) not in (None, version)
    state.images_seen[image_key(ref)] = version
    return image_bytes(ref, timing, profile)[0], changed


def _image_chain(build: BuildTrace) -> list[int]:
    """Positions of the steps whose layers make the final image (target and its FROM stages)."""
    if build.plan is None:
        return []
    stages: list[int] = []
    index: int | None = build.plan.target
    while index is not None:
        stages.append(index)
        index = build.plan.stages[index].base_stage
    return [
        p for p, step in enumerate(build.steps) if step.stage in stages and not step.result.is_from
    ]


def _schedule(
    build: BuildTrace,
    costs: list[StepCost],
    builder: Builder,
    machine: Machine,
    context_seconds: float,
    export: float,
) -> tuple[float, dict[Node, float]]:
    """The build's wall time without its fixed overhead, and when each piece starts.

    BuildKit: the longest path through the step graph, or the busy seconds spread over the
    cores if that is longer. The classic builder: everything in order.
    """
    if not builder.parallel_stages or build.plan is None:
        return _in_order(costs, context_seconds, export)
    graph = schedule_graph(build, costs, context_seconds, export)
    starts: dict[Node, float] = {}
    for node in nx.topological_sort(graph):
        preds = [starts[p] + d["weight"] for p, _, d in graph.in_edges(node, data=True)]
        starts[node] = max(preds, default=0.0)
    busy = sum(graph.nodes[n]["seconds"] - graph.nodes[n]["idle"] for n in graph.nodes)
    return max(starts["end"], busy / max(machine.cores, 1)), starts


def _in_order(
    costs: list[StepCost], context_seconds: float, export: float
) -> tuple[float, dict[Node, float]]:
    """One step after another: the context, every step, the export (the classic builder)."""
    starts: dict[Node, float] = {"context": 0.0}
    clock = context_seconds
    for position, cost in enumerate(costs):
        starts[position] = clock
        clock += cost.seconds
    starts["export"] = clock
    return clock + export, starts


def schedule_graph(
    build: BuildTrace,
    costs: list[StepCost],
    context_seconds: float = 0.0,
    export: float = 0.0,
) -> nx.DiGraph:
    """A DAG of the build's work: nodes are steps (plus context, export, end); an edge
    ``a -> b`` weighs ``a``'s seconds, so the longest path to ``end`` is the wall time."""
    planned = build.plan
    assert planned is not None
    graph = nx.DiGraph()
    for node, seconds in (("start", 0.0), ("context", context_seconds), ("export", export)):
        graph.add_node(node, seconds=seconds, idle=0.0)
    graph.add_node("end", seconds=0.0, idle=0.0)
    graph.add_edge("start", "context", weight=0.0)
    last_of = _chain_stages(graph, build, costs)
    _link_inputs(graph, build, costs, last_of, context_seconds)
    target_last = last_of.get(planned.target)
    for node in list(graph.nodes):
        if node not in ("end", "export") and graph.out_degree(node) == 0:
            weight = graph.nodes[node]["seconds"]
            graph.add_edge(node, "export" if node == target_last else "end", weight=weight)
    graph.add_edge("export", "end", weight=export)
    return graph


def _chain_stages(graph: nx.DiGraph, build: BuildTrace, costs: list[StepCost]) -> dict[int, int]:
    """Each stage's steps one after another, a stage's first step after its base stage's
    last (or at the start). Returns each stage's last step position."""
    last_of: dict[int, int] = {}
    first_of: dict[int, int] = {}
    for position, (step, cost) in enumerate(zip(build.steps, costs, strict=True)):
        graph.add_node(position, seconds=cost.seconds, idle=cost.idle)
        if step.stage is None:
            graph.add_edge("start", position, weight=0.0)
            continue
        if step.stage in last_of:
            before = last_of[step.stage]
            graph.add_edge(before, position, weight=costs[before].seconds)
        else:
            first_of[step.stage] = position
        last_of[step.stage] = position
    assert build.plan is not None
    for stage, first in first_of.items():
        base = build.plan.stages[stage].base_stage
        if base is not None and base in last_of:
            graph.add_edge(last_of[base], first, weight=costs[last_of[base]].seconds)
        else:
            graph.add_edge("start", first, weight=0.0)
    return last_of


def _link_inputs(
    graph: nx.DiGraph,
    build: BuildTrace,
    costs: list[StepCost],
    last_of: Mapping[int, int],
    context_seconds: float,
) -> None:
    """A step waits for the stages it copies or mounts from, and for the context if it
    reads files from it: that is what lets BuildKit run independent stages side by side."""
    for position, step in enumerate(build.steps):
        resolved = step.resolved
        if resolved is None:
            continue
        deps = [resolved.from_stage] if resolved.from_stage is not None else []
        deps += [m.from_stage for m in resolved.mounts if m.from_stage is not None]
        for dep in deps:
            if dep in last_of and last_of[dep] != position:
                graph.add_edge(last_of[dep], position, weight=costs[last_of[dep]].seconds)
        if _context_sources(resolved):
            graph.add_edge("context", position, weight=context_seconds)


def durations(build: BuildResult) -> Iterable[float]:
    """The predicted seconds of a build's steps (0 where not predicted)."""
    return (s.seconds or 0.0 for s in build.steps)
