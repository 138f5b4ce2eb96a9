"""Printing predictions: in the look of ``docker build --progress=plain``, or as the spec's JSON.

The text look is deliberately the builder's own (``#N [stage k/n] INSTR`` then ``#N CACHED``
or ``#N DONE``; ``Step k/n :`` and `` ---> Using cache`` for the classic builder) so a
learner can hold it next to a real log, with one addition the builder never prints: why.
"""

from __future__ import annotations

import json

from cachesim.builders import registry
from cachesim.core.results import BuildResult, SimulationResult, StepResult


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


def build_text(build: BuildResult, builder: str, position: int, count: int) -> str:
    counts = build.counts()
    title = f"== build {position}/{count}: {build.name} =="
    lines = [title]
    stages = len({s.stage for s in build.steps if s.stage})
    numbered_across_stages = not registry.builder(builder).log_names_stages
    for number, step in enumerate(build.steps, start=1):
        if numbered_across_stages:  # the classic log: `Step k/n : ...`
            lines += _legacy_step(step)
        else:
            lines += _buildkit_step(number, step, stages)
    if build.error is not None:
        where = f" (Dockerfile line {build.error_line})" if build.error_line else ""
        lines.append(f"ERROR{where}: {build.error}")
    pulled = sum(1 for s in build.steps if s.pulled)
    summary = f"-- {counts['cached'] - pulled} cached, {counts['built']} built"
    if pulled:  # the JSON's status stays `cached` (spec), but no cache served the pull
        summary += f", {pulled} pulled"
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


def builder_differences(buildkit: BuildResult, legacy: BuildResult) -> list[str]:
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


INSTRUCTION_WIDTH = 44
COLUMN_WIDTH = 18


def _cell(step: StepResult | None, build: BuildResult) -> str:
    """One builder's verdict on one Dockerfile line, for the side-by-side table."""
    if step is None:
        return "not run" if build.failed and build.steps else "-"
    if step.status == "failed":
        return "FAILED"
    if step.is_from:
        return "pulled" + _seconds(step) if step.pulled else step.status
    return step.status + (_seconds(step) if step.status == "built" else "")


def _side_by_side(bk: BuildResult, lg: BuildResult, position: int, count: int) -> list[str]:
    rows: dict[int, tuple[StepResult | None, StepResult | None]] = {}
    for step in bk.steps:
        rows[step.line] = (step, None)
    for step in lg.steps:
        rows[step.line] = (rows.get(step.line, (None, None))[0], step)
    head = f"{'line':>4}  {'instruction':<{INSTRUCTION_WIDTH}}"
    lines = [
        f"== build {position}/{count}: {bk.name} ==",
        f"{head}  {'BuildKit':<{COLUMN_WIDTH}}  classic builder",
    ]
    for line in sorted(rows):
        mine, theirs = rows[line]
        shown = next(s for s in (theirs, mine) if s is not None)
        text = _short(shown.shown or shown.instruction, INSTRUCTION_WIDTH)
        left = _cell(mine, bk) if mine is not None or theirs is None else "(no step)"
        right = _cell(theirs, lg)
        verdicts = {left.split(" ")[0], right.split(" ")[0]}
        mark = "  <" if len(verdicts) > 1 and verdicts != {"(no", "cached"} else ""
        lines.append(
            f"{line:>4}  {text:<{INSTRUCTION_WIDTH}}  {left:<{COLUMN_WIDTH}}  {right}{mark}"
        )
    totals = [f"{b.seconds:.1f}s" if b.seconds is not None else "?" for b in (bk, lg)]
    lines.append(
        f"{'':>4}  {'total':<{INSTRUCTION_WIDTH}}  {totals[0]:<{COLUMN_WIDTH}}  {totals[1]}"
    )
    for label, build in (("BuildKit", bk), ("classic builder", lg)):
        if build.error is not None:
            where = f" (Dockerfile line {build.error_line})" if build.error_line else ""
            lines.append(f"  {label} fails{where}: {build.error}")
    found = builder_differences(bk, lg)
    lines += [f"  - {text}" for text in found] or ["  no difference"]
    return lines


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def builders_text(buildkit: SimulationResult, legacy: SimulationResult) -> str:
    """Both builders' predictions side by side, one table a build: for each Dockerfile line
    what BuildKit and the classic builder do (`<` marks a line where they part ways), then
    the differences in words. `(no step)`: BuildKit makes no step of that instruction."""
    count = len(buildkit.builds)
    parts = [f"scenario {buildkit.scenario}: BuildKit and the classic builder side by side"]
    for position, (bk, lg) in enumerate(zip(buildkit.builds, legacy.builds, strict=True), 1):
        parts.append("\n".join(_side_by_side(bk, lg, position, count)))
    return "\n\n".join(parts) + "\n"


def _total(result: SimulationResult) -> float:
    return sum(b.seconds or 0.0 for b in result.builds)


def compare_summary(results: list[SimulationResult]) -> list[str]:
    """Which scenario is faster over the whole sequence, by how much, and build by build.

    Builds pair up by position (the scenarios make the same changes, in the same order).
    """
    if len(results) < 2:
        return []
    ranked = sorted(results, key=_total)
    best, worst = ranked[0], ranked[-1]
    lines = ["summary"]
    saved = _total(worst) - _total(best)
    if saved < 0.05:
        lines.append(f"  overall: the same, {_total(best):.1f}s each")
    else:
        share = f" ({saved / _total(worst):.0%} less)" if _total(worst) else ""
        lines.append(
            f"  overall: {best.scenario} is faster: {_total(best):.1f}s against "
            f"{_total(worst):.1f}s for {worst.scenario}, {saved:.1f}s saved{share}"
        )
    for others in ranked[1:-1]:
        lines.append(f"  {others.scenario}: {_total(others):.1f}s in all")
    count = min(len(r.builds) for r in results)
    for position in range(count):
        times = [(r.builds[position].seconds or 0.0, r.scenario) for r in results]
        name = results[0].builds[position].name
        fast, slow = min(times), max(times)
        if slow[0] - fast[0] < 0.05:
            verdict = f"the same ({fast[0]:.1f}s)"
        else:
            verdict = (
                f"{fast[1]} saves {slow[0] - fast[0]:.1f}s ({fast[0]:.1f}s against {slow[0]:.1f}s)"
            )
        lines.append(f"  {position + 1:>2}. {name:<40} {verdict}")
    if any(len(r.builds) != count for r in results):
        lines.append(
            f"  (only the first {count} builds are compared: the scenarios differ in length)"
        )
    return lines


def to_json(result: SimulationResult) -> str:
    """The spec's JSON document."""
    return json.dumps(result.to_json(), indent=2) + "\n"
