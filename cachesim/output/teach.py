"""Exercise checks and small tables for the lessons (``notebooks/``).

A lesson asks the learner something, then calls a check: the check returns a ``Feedback``
(right or not, a message, and a *hint* when not) and shows it. A check that only said
"wrong" would teach nothing, so every check that can fail carries a hint that points at
what to look at next. ``Table`` turns a simulation's results into rows that render as HTML
in Jupyter and as aligned text elsewhere, without pandas.

Nothing here needs Jupyter: without IPython, ``show`` prints. That keeps the checks
testable with plain pytest and the notebooks runnable where no widget frontend exists.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from types import EllipsisType
from typing import TYPE_CHECKING, Any, TypeVar

from cachesim.core.results import BuildResult, SimulationResult

if TYPE_CHECKING:
    from cachesim.sources.scenario import Scenario

Shown = TypeVar("Shown")

__all__ = [
    "Expect",
    "Feedback",
    "Recording",
    "Table",
    "builds_table",
    "check",
    "check_expectations",
    "check_saving",
    "check_statuses",
    "read_recording",
    "show",
    "statuses",
    "steps_table",
    "total_seconds",
]


@dataclass(frozen=True, slots=True, repr=False)
class Feedback:
    """The answer to one exercise: right or not, what to say, and where to look if not."""

    ok: bool
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        mark = "✔ Right" if self.ok else "✘ Not yet"
        text = f"{mark}: {self.message}"
        if not self.ok and self.hint:
            text += f"\nHint: {self.hint}"
        return text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#0072B2" if self.ok else "#D55E00"
        mark = "✔ Right" if self.ok else "✘ Not yet"
        body = f"<b>{mark}:</b> {html.escape(self.message)}"
        if not self.ok and self.hint:
            body += f"<br><b>Hint:</b> {html.escape(self.hint)}"
        return (
            f'<div style="border-left:6px solid {colour};padding:6px 12px;'
            f'font-size:1.1em">{body}</div>'
        )


def show(item: Shown) -> Shown:
    """Display ``item`` in a notebook (rich HTML where it has it), or print it elsewhere.

    Returns the item, so a check can be both shown and tested: ``fb = show(check(...))``.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: no notebook to display in
        print(item)
        return item
    if get_ipython() is None:
        print(item)
    else:
        display(item)
    return item


def check(
    answer: object,
    expected: object,
    right: str,
    hint: str | Callable[[Any], str],
    hints: Mapping[Any, str] | None = None,
) -> Feedback:
    """Compare an answer with the expected one, and say why it is right or where to look.

    ``hints`` maps a known wrong answer to the hint that fits it (a learner who answers
    "every instruction" needs a different nudge from one who answers "none"); ``hint``
    is used for any other wrong answer, and may be a function of the answer.
    Strings are compared without case and surrounding spaces, so "Built " is "built".
    """
    if _normal(answer) == _normal(expected):
        return Feedback(True, right)
    if answer is None or answer is ...:
        return Feedback(False, "no answer yet: replace the ... with yours.", _text(hint, answer))
    for wrong, text in (hints or {}).items():
        if _normal(answer) == _normal(wrong):
            return Feedback(False, f"{answer!r} is not it.", text)
    return Feedback(False, f"{answer!r} is not it.", _text(hint, answer))


def _normal(value: object) -> object:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_normal(v) for v in value)
    return value


def _text(hint: str | Callable[[Any], str], answer: object) -> str:
    return hint(answer) if callable(hint) else hint


def statuses(build: BuildResult) -> list[str]:
    """The status of every step of a build, in the order the engine lists them."""
    return [step.status for step in build.steps]


def check_statuses(answer: Sequence[str], build: BuildResult) -> Feedback:
    """A learner's prediction of each step's status against cachesim's.

    The hint names the first step predicted wrong and the reason cachesim gives for it,
    because one wrong step usually drags every step after it (a step's key holds its
    parent's).
    """
    expected = statuses(build)
    given = [str(s).strip().lower() for s in answer] if answer not in (None, ...) else []
    if len(given) != len(expected):
        return Feedback(
            False,
            f"this build has {len(expected)} steps; you gave {len(given)} statuses.",
            "give one of 'cached' or 'built' per step, FROM included, in Dockerfile order.",
        )
    if given == expected:
        return Feedback(True, f"every step of {build.name!r} predicted right.")
    for step, guess, real in zip(build.steps, given, expected, strict=True):
        if guess != real:
            why = f" cachesim says: {step.reason}." if step.reason else ""
            return Feedback(
                False,
                f"step {step.index} ({step.instruction}) is not {guess!r}.",
                f"look at line {step.line} and what changed before this build.{why}",
            )
    raise AssertionError("unreachable: lists differ but no element does")


@dataclass(frozen=True, slots=True)
class Table:
    """Rows for display: HTML in Jupyter, aligned columns as text (and in stored outputs)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""

    def __str__(self) -> str:
        widths = [
            max([len(h), *(len(r[i]) for r in self.rows)]) for i, h in enumerate(self.headers)
        ]
        lines = [self.title] if self.title else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for row in self.rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{_cell(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption><b>{html.escape(self.title)}</b></caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STATUS_COLOURS = {"built": "#D55E00", "cached": "#0072B2", "failed": "#000000"}


def _cell(text: str) -> str:
    colour = _STATUS_COLOURS.get(text)
    if colour:
        return f"<b style='color:{colour}'>{text}</b>"
    return html.escape(text)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def steps_table(build: BuildResult, title: str | None = None) -> Table:
    """One row a step: where it is, the instruction, cached or built, why, and its time."""
    with_time = any(step.seconds is not None for step in build.steps)
    headers = ("step", "instruction", "status", "why")
    rows = []
    for step in build.steps:
        row = (
            f"{step.index}/{step.total}",
            step.instruction,
            step.status,
            step.reason,
        )
        rows.append(row + ((_seconds(step.seconds),) if with_time else ()))
    if build.error:
        rows.append(("", "(build stops)", "failed", build.error) + (("",) if with_time else ()))
    return Table(headers + (("time",) if with_time else ()), tuple(rows), title or build.name)


def builds_table(results: SimulationResult | Iterable[SimulationResult]) -> Table:
    """One row a build, one column group a scenario: steps built, and time when known.

    Given several results over the same builds (two Dockerfiles, or two builders), the
    columns sit side by side so the difference is read along a row.
    """
    group = [results] if isinstance(results, SimulationResult) else list(results)
    timed = any(b.seconds is not None for r in group for b in r.builds)
    headers = ["build"]
    same_scenario = len({r.scenario for r in group}) == 1
    for result in group:
        label = "" if len(group) == 1 else result.engine if same_scenario else result.scenario
        headers += [f"{label} built".strip()] + ([f"{label} time".strip()] if timed else [])
    rows = []
    for number, build in enumerate(group[0].builds):
        row = [build.name]
        for result in group:
            other = result.builds[number] if number < len(result.builds) else None
            if other is None:
                row += ["", ""] if timed else [""]
                continue
            counts = other.counts()
            built = f"{counts['built']}/{len(other.steps)}" + (" FAILED" if other.failed else "")
            row += [built, _seconds(other.seconds)] if timed else [built]
        rows.append(tuple(row))
    return Table(tuple(headers), tuple(rows))


@dataclass(frozen=True, slots=True)
class Recording:
    """A real engine's run stored by ``notebooks/tools/record.py``: header and commands.

    The header (``# recorded: 2026-12-01``, ``# docker: 28.5.2``...) says when and on what
    it ran, so a lesson can quote the engine with its version instead of asserting.
    """

    path: str
    header: Mapping[str, str]
    sections: tuple[tuple[str, str], ...]  # (command line, its output)

    def output(self, command_start: str) -> str:
        """The output of the first command that starts with ``command_start``."""
        for command, text in self.sections:
            if command.startswith(command_start):
                return text
        raise KeyError(f"{self.path}: no command starting with {command_start!r}")

    @property
    def engine(self) -> str:
        """``Docker 28.5.2+dfsg4 (BuildKit 0.25), builder buildkit, recorded 2026-12-01``."""
        h = self.header
        return (
            f"Docker {h.get('docker', '?')} (BuildKit {h.get('buildkit', '?').split()[0]}), "
            f"builder {h.get('builder', '?').split()[0]}, recorded {h.get('recorded', '?')}"
        )


def read_recording(path: str | PathLike[str]) -> Recording:
    """Read a recorded run: ``# key: value`` header lines, then ``$ command`` sections."""
    header: dict[str, str] = {}
    sections: list[tuple[str, list[str]]] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().splitlines():
            if not sections and line.startswith("# ") and ":" in line:
                key, _, value = line[2:].partition(":")
                header[key.strip()] = value.strip()
            elif line.startswith("$ "):
                sections.append((line[2:], []))
            elif sections:
                sections[-1][1].append(line)
    return Recording(str(path), header, tuple((cmd, "\n".join(out)) for cmd, out in sections))


def total_seconds(result: SimulationResult) -> float:
    """The predicted time of all builds of a result together."""
    return sum(build.seconds or 0.0 for build in result.builds)


def check_saving(
    dockerfile: str | EllipsisType | None,
    scenario: Scenario,
    reference: str,
    builder: str = "buildkit",
    slack: float = 0.05,
) -> Feedback:
    """Does a learner's Dockerfile save (nearly) as much build time as the reference does?

    Both replace the scenario's Dockerfile over the same builds. The learner's must keep
    every ``RUN`` of the original (dropping the install is not a fix), build without
    failing, and come within ``slack`` of the reference's total. The hint names the
    expensive step that still runs most often, since that is what is left to move.
    """
    if dockerfile in (None, ...) or not str(dockerfile).strip():
        return Feedback(False, "no answer yet.", "copy the Dockerfile above and reorder it.")
    runs = [line.strip() for line in scenario.dockerfile.splitlines() if line.startswith("RUN")]
    missing = [run for run in runs if run not in dockerfile]
    if missing:
        return Feedback(
            False,
            f"your Dockerfile no longer has `{missing[0]}`.",
            "keep every RUN: the point is to move the COPY lines, not to drop the work.",
        )
    before = _simulated(scenario, scenario.dockerfile, builder)
    mine = _simulated(scenario, dockerfile, builder)
    best = _simulated(scenario, reference, builder)
    failed = [b for b in mine.builds if b.failed]
    if failed:
        return Feedback(
            False,
            f"build {failed[0].name!r} fails: {failed[0].error}",
            "check the COPY destinations and the order of WORKDIR and COPY.",
        )
    old, new, target = total_seconds(before), total_seconds(mine), total_seconds(best)
    saved = f"the month takes {new:.0f} s instead of {old:.0f} s (the reference: {target:.0f} s)"
    if new <= target * (1 + slack):
        return Feedback(True, f"{saved}: you saved {old - new:.0f} s.")
    return Feedback(False, saved + ".", _still_wrong(mine, best))


# A learner runs the same check many times against one scenario and one reference: keep
# the last few simulations (keyed by the scenario object, which is immutable, and the text).
_SIMULATED: dict[tuple[int, str, str], tuple[Scenario, SimulationResult]] = {}
_KEEP = 16


def _simulated(scenario: Scenario, dockerfile: str, builder: str) -> SimulationResult:
    """The scenario's builds with another Dockerfile, simulated with costs (as the facade's
    ``simulate`` does, with the default BuildKit). Imported here, not at the top, so that
    ``import cachesim`` stays light; the facade itself is not imported, as output comes
    before it in the layer order."""
    from cachesim.cost.model import apply_costs
    from cachesim.simulation.simulator import simulate
    from cachesim.sources.scenario import for_builder

    key = (id(scenario), dockerfile, builder)
    if key not in _SIMULATED:
        if len(_SIMULATED) >= _KEEP:
            del _SIMULATED[next(iter(_SIMULATED))]
        variant = replace(for_builder(scenario, builder), dockerfile=dockerfile)
        result = apply_costs(variant, simulate(variant))
        _SIMULATED[key] = (scenario, result)  # holding it keeps its id
    return _SIMULATED[key][1]


def _still_wrong(mine: SimulationResult, best: SimulationResult) -> str:
    """Name the step that costs the learner most more than the reference."""

    def cost_by_step(result: SimulationResult) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        for build in result.builds:
            for step in build.steps:
                if step.status == "built" and not step.is_from:
                    seconds, count = out.get(step.instruction, (0.0, 0))
                    out[step.instruction] = (seconds + (step.seconds or 0.0), count + 1)
        return out

    ours, theirs = cost_by_step(mine), cost_by_step(best)
    worst = max(ours, key=lambda k: ours[k][0] - theirs.get(k, (0.0, 0))[0])
    count = ours[worst][1]
    return (
        f"`{worst}` still runs in {count} of {len(mine.builds)} builds "
        f"({theirs.get(worst, (0.0, 0))[1]} in the reference): which COPY comes before it, "
        "and does it copy more than that step needs?"
    )


@dataclass(frozen=True, slots=True)
class Expect:
    """What one step of one build should do, and the hint to give when it does not."""

    build: str  # the build's name
    step: str  # the start of the step's instruction, e.g. "COPY . ."
    status: str  # "cached" or "built"
    hint: str


def check_expectations(
    result: SimulationResult, expected: Sequence[Expect], right: str
) -> Feedback:
    """Check a simulated answer (a learner's .dockerignore, Dockerfile...) step by step.

    The first expectation that fails gives its own hint, so each hint can say exactly what
    a build that behaves that way reveals about the answer.
    """
    builds = {build.name: build for build in result.builds}
    for expect in expected:
        build = builds[expect.build]
        if build.failed:
            return Feedback(False, f"build {build.name!r} fails: {build.error}", expect.hint)
        step = next(s for s in build.steps if s.instruction.startswith(expect.step))
        if step.status != expect.status:
            why = f" ({step.reason})" if step.reason else ""
            return Feedback(
                False,
                f"in build {build.name!r}, `{step.instruction}` is {step.status}{why}; "
                f"it should be {expect.status}.",
                expect.hint,
            )
    return Feedback(True, right)
