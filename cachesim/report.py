"""Printing predictions: in the look of ``docker build --progress=plain``, or as the spec's JSON.

The text look is deliberately the builder's own (``#N [stage k/n] INSTR`` then ``#N CACHED``
or ``#N DONE``; ``Step k/n :`` and `` ---> Using cache`` for the classic builder) so a
learner can hold it next to a real log, with one addition the builder never prints: why.
"""

from __future__ import annotations

import json

from cachesim.results import BuildResult, SimulationResult, StepResult


def _seconds(step: StepResult) -> str:
    return f" {step.seconds:.1f}s" if step.seconds is not None else ""


def _pull_note(step: StepResult) -> str:
    """Why a FROM takes time without being a cache miss: its image is downloaded."""
    if step.status == "built":
        return "the new image is downloaded"
    return "the image is not on this machine yet, so it is downloaded (not a cache miss)"


def _buildkit_step(number: int, step: StepResult, stages: int) -> list[str]:
    stage = f"stage-{step.stage}" if step.stage.isdigit() else step.stage
    name = f"{stage} " if stages > 1 else ""
    shown = step.shown or step.instruction
    out = [f"#{number} [{name}{step.index}/{step.total}] {shown}"]
    if step.status == "cached" and not step.pulled:
        out.append(f"#{number} CACHED")
        if step.reason:  # e.g. a COPY --from whose stage re-ran with the same output
            out.append(f"#{number} why cached: {step.reason}")
    elif step.status in ("built", "cached"):  # a pulling FROM prints DONE, as on the engine
        out.append(f"#{number} DONE{_seconds(step)}")
        if step.reason:
            out.append(f"#{number} why: {step.reason}")
        if step.pulled:
            out.append(f"#{number} pull: {_pull_note(step)}")
    else:
        out.append(f"#{number} ERROR: {step.reason}")
    return out


def _legacy_step(step: StepResult) -> list[str]:
    out = [f"Step {step.index}/{step.total} : {step.shown or step.instruction}"]
    if step.is_from and step.pulled:
        out.append(f" ---> pulled{_seconds(step)}: {_pull_note(step)}")
    if step.is_from and step.status == "built" and step.reason:
        out.append(f"      why: {step.reason}")
    if step.is_from or (step.keyword == "ARG" and step.stage == ""):
        return out
    if step.status == "cached":
        out.append(" ---> Using cache")
        if step.reason:
            out.append(f"      why cached: {step.reason}")
    elif step.status == "built":
        out.append(f" ---> Running{_seconds(step)}")
        if step.reason:
            out.append(f"      why: {step.reason}")
    else:
        out.append(f" ---> failed: {step.reason}")
    return out


def build_text(build: BuildResult, engine: str, position: int, count: int) -> str:
    counts = build.counts()
    title = f"== build {position}/{count}: {build.name} =="
    lines = [title]
    stages = len({s.stage for s in build.steps if s.stage})
    for number, step in enumerate(build.steps, start=1):
        if engine == "legacy":
            lines += _legacy_step(step)
        else:
            lines += _buildkit_step(number, step, stages)
    if build.error is not None:
        where = f" (Dockerfile line {build.error_line})" if build.error_line else ""
        lines.append(f"ERROR{where}: {build.error}")
    summary = f"-- {counts['cached']} cached, {counts['built']} built"
    if counts["failed"] or build.error:
        summary += ", build fails"
    if build.seconds is not None:
        summary += f", {build.seconds:.1f}s"
    lines.append(summary)
    return "\n".join(lines)


def text(result: SimulationResult) -> str:
    """The whole simulation as text, one block a build."""
    count = len(result.builds)
    blocks = [f"scenario {result.scenario} (engine: {result.engine})"]
    blocks += [build_text(b, result.engine, i, count) for i, b in enumerate(result.builds, 1)]
    return "\n\n".join(blocks) + "\n"


def engine_differences(buildkit: BuildResult, legacy: BuildResult) -> list[str]:
    """Where the two builders part ways in one build, instruction by instruction."""
    bk = {s.line: s for s in buildkit.steps}
    bk_stages = {s.stage for s in buildkit.steps}
    out: list[str] = []
    for step in legacy.steps:
        if step.is_from or step.stage == "":
            continue
        other = bk.get(step.line)
        if step.stage not in bk_stages:
            out.append(
                f"stage {step.stage}: the classic builder builds it, BuildKit skips it "
                "(the target does not need it)"
            )
        elif other is None and step.status == "built":
            out.append(
                f"line {step.line} `{step.instruction}`: the classic builder runs it as a "
                "step; for BuildKit it only changes the image config"
            )
        elif other is not None and other.status != step.status:
            out.append(
                f"line {step.line} `{step.instruction}`: BuildKit {other.status}, "
                f"classic builder {step.status}"
            )
    if (buildkit.error is None) != (legacy.error is None):
        which = "BuildKit" if buildkit.error else "the classic builder"
        out.append(f"the build fails with {which} only")
    return list(dict.fromkeys(out))


def engines_text(buildkit: SimulationResult, legacy: SimulationResult) -> str:
    """Both builders' predictions, then where they differ, build by build."""
    parts = [text(buildkit), text(legacy), "== where the two builders differ =="]
    for bk, lg in zip(buildkit.builds, legacy.builds, strict=True):
        found = engine_differences(bk, lg)
        parts.append(f"{bk.name}: no difference" if not found else f"{bk.name}:")
        parts += [f"  - {line}" for line in found]
    return "\n".join(parts) + "\n"


def to_json(result: SimulationResult) -> str:
    """The spec's JSON document."""
    return json.dumps(result.to_json(), indent=2) + "\n"
