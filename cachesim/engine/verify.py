"""``cachesim verify``: a prediction held against the real engine, step by step.

For each scenario: simulate it, replay the same builds on the Docker engine that
DOCKER_HOST names (``cachesim.engine.runner``), and list every step where the two
disagree (``cachesim.engine.compare``). The verdict is the engine's: a difference is a
bug in the simulator (or a rule not yet learned), never in the engine. One kind of
difference is not about the cache: ``standin``, a RUN command the stand-in base image
could not run (the engine's RUN exited non-zero where the prediction says it succeeds).
It still fails the verification (nothing after it was compared), but it is labelled so,
with the command's output.

What the verdict says about the engine (``EngineFacts``): its Docker and BuildKit versions,
its image store (graphdriver or the containerd snapshotter) and the build network (always
``none``). A scenario that names an ``image_store`` is only verified on an engine with that
store; elsewhere it is reported as not run, with the reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace

from cachesim.context.changes import BaseImage, DockerfileChange, replay
from cachesim.core.errors import InputError
from cachesim.engine import EngineError, compare, engine_answers, run_builds
from cachesim.engine.compare import Difference
from cachesim.engine.daemon import EngineFacts, engine_facts
from cachesim.engine.enginefile import without_syntax
from cachesim.simulation.simulator import images_of, simulate
from cachesim.sources.scenario import Scenario, for_builder, load, pairs

STORE_HINT = {
    "containerd": "start dockerd 28.5 with --feature containerd-snapshotter=true",
    "graphdriver": "start dockerd without the containerd snapshotter",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one scenario."""

    scenario: str
    file: str
    engine: str
    builds: int
    steps: int
    differences: tuple[Difference, ...] = ()
    skipped: str | None = None
    seconds: float = 0.0
    logs: tuple[str, ...] = field(default_factory=tuple)
    facts: EngineFacts | None = None
    buildkit: str | None = None  # the BuildKit version whose rules made the prediction

    @property
    def agrees(self) -> bool:
        return self.skipped is None and not self.differences

    @property
    def standin_failures(self) -> tuple[Difference, ...]:
        """The differences that are a command the stand-in could not run."""
        return tuple(d for d in self.differences if d.is_standin)

    @property
    def cache_differences(self) -> tuple[Difference, ...]:
        """The differences that are real disagreements about the builds."""
        return tuple(d for d in self.differences if not d.is_standin)

    def summary(self) -> str:
        """``2 difference(s)`` or ``1 difference(s), 1 of them a command the stand-in ...``."""
        text = f"{len(self.differences)} difference(s)"
        if self.standin_failures:
            text += (
                f", {len(self.standin_failures)} of them a command the stand-in base could "
                "not run (not a cache difference)"
            )
        return text


def as_the_engine_reads(scenario: Scenario) -> Scenario:
    """The scenario with every Dockerfile's ``# syntax=`` line neutralised
    (``enginefile.without_syntax``): the engine here never pulls that frontend, so its
    built-in one reads the file, and the prediction must be for that frontend."""
    builds = tuple(
        replace(
            build,
            changes=tuple(
                replace(c, text=without_syntax(c.text))
                if isinstance(c, DockerfileChange) and c.text
                else c
                for c in build.changes
            ),
        )
        for build in scenario.builds
    )
    return replace(scenario, dockerfile=without_syntax(scenario.dockerfile), builds=builds)


def verify_scenario(
    scenario: Scenario,
    *,
    docker: str = "/usr/bin/docker",
    standin: bool = True,
    buildkit_version: str | None = None,
    facts: EngineFacts | None = None,
) -> Verdict:
    """Run one scenario on the engine and compare; raises ``EngineError`` if it cannot run.

    The prediction uses the rules of the BuildKit that the engine carries (its Docker
    server version, ``versions.buildkit_of_docker``) unless ``buildkit_version`` names one.
    ``facts`` (``engine_facts``) saves asking the engine again for each scenario.
    """
    if not scenario.verify:
        return Verdict(
            scenario.name,
            scenario.source,
            scenario.engine,
            0,
            0,
            skipped=scenario.verify_reason or "marked verify: false",
        )
    facts = facts or engine_facts(docker)
    if scenario.image_store != facts.image_store:
        return Verdict(
            scenario.name,
            scenario.source,
            scenario.engine,
            0,
            0,
            skipped=(
                f"needs the {scenario.image_store} image store; the engine has "
                f"{facts.image_store} ({STORE_HINT[scenario.image_store]})"
            ),
            facts=facts,
        )
    started = time.monotonic()
    version = buildkit_version or facts.buildkit
    predicted = simulate(as_the_engine_reads(scenario), version).to_json()
    requests = [step.request for step in replay(scenario, images_of)]
    observed = run_builds(requests, scenario.engine, docker=docker, standin=standin)  # type: ignore[arg-type]
    differences = tuple(compare(predicted, observed))
    differing = {d.build for d in differences}
    logs = tuple(f"--- {o.name} ---\n{o.log}" for o in observed if o.name in differing)
    steps = sum(len(b["steps"]) for b in predicted["builds"])
    return Verdict(
        scenario.name,
        scenario.source,
        scenario.engine,
        len(requests),
        steps,
        differences,
        None,
        time.monotonic() - started,
        logs,
        facts,
        version,
    )


def _pairs_to_verify(args: argparse.Namespace) -> list[Scenario]:
    """The (scenario, builder) pairs to run: each builder a scenario names, or ``--builder``.
    Loading them all first means bad input stops before the engine is touched."""
    loaded = [load(path) for path in args.scenarios]
    builder = getattr(args, "builder", None)
    if builder:
        scenarios = [for_builder(scenario, builder) for scenario in loaded]
    else:
        scenarios = [pair for scenario in loaded for pair in pairs(scenario)]
    if not args.standin_bases:
        for scenario in scenarios:
            if any(isinstance(c, BaseImage) for b in scenario.builds for c in b.changes):
                raise InputError(
                    "a base_image change needs --standin-bases (a real "
                    "registry image cannot be re-published here)",
                    scenario.source,
                )
    return scenarios


def verify_command(args: argparse.Namespace) -> int:
    """The CLI entry: exit 0 all agree, 1 any difference, 2 bad input, 3 no engine."""
    scenarios = _pairs_to_verify(args)  # bad input stops before the engine
    if not engine_answers(args.docker):
        print(
            "error: no Docker engine answers (set DOCKER_HOST, or start one with "
            "scripts/start-engine.sh)",
            file=sys.stderr,
        )
        return 3
    try:
        facts = engine_facts(args.docker)
    except EngineError as err:
        print(f"error: engine error: {err}", file=sys.stderr)
        return 3
    print(f"engine: {facts.describe()}")
    total_diff = 0
    standin_failures = 0
    verified = 0
    for position, scenario in enumerate(scenarios, start=1):
        prefix = f"[{position}/{len(scenarios)}] {scenario.name} ({scenario.engine})"
        try:
            verdict = verify_scenario(
                scenario,
                docker=args.docker,
                standin=args.standin_bases,
                buildkit_version=args.buildkit,
                facts=facts,
            )
        except EngineError as err:
            print(f"{prefix}: engine error: {err}", file=sys.stderr)
            return 3
        if verdict.skipped:
            print(f"{prefix}: not run on the engine: {verdict.skipped}")
            continue
        verified += 1
        if verdict.agrees:
            print(
                f"{prefix}: agrees on {verdict.steps} steps in {verdict.builds} builds "
                f"({verdict.seconds:.1f}s)"
            )
            continue
        total_diff += len(verdict.differences)
        standin_failures += len(verdict.standin_failures)
        print(f"{prefix}: {verdict.summary()}")
        for diff in verdict.differences:
            print(f"  {diff.describe()}")
        if args.logs:
            for log in verdict.logs:
                print(log)
    tail = (
        f" ({standin_failures} of them a command the stand-in could not run)"
        if standin_failures
        else ""
    )
    print(f"verified {verified} scenario(s); {total_diff} difference(s){tail}")
    return 1 if total_diff else 0
