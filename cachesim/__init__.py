"""cachesim: predict what Docker's build cache reuses and rebuilds, and why.

This module is the public face: the lessons (``notebooks/``) and any other program use
the names in ``__all__`` and nothing else, so the modules behind it can be rearranged
without breaking them. docs/api.md documents it with an example.

The pipeline behind it mirrors BuildKit's own: ``dockerfile`` (parse, expand variables) ->
``context`` (the build context as a snapshot) -> ``graph`` (stages and steps) ->
``buildkit`` / ``legacy`` (cache keys against a cache that remembers every build) ->
``cost`` (time and size) -> ``report`` (text and JSON), ``plot`` (pictures).
``engine`` runs the same scenarios on a real Docker engine.
"""

from __future__ import annotations

__version__ = "0.1.0"

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cachesim.core.errors import InputError
from cachesim.core.results import BuildResult, SimulationResult, StepResult
from cachesim.core.versions import BUILDKIT_VERSIONS, DEFAULT_BUILDKIT
from cachesim.output.teach import (
    Expect,
    Feedback,
    Recording,
    Table,
    builds_table,
    check,
    check_expectations,
    check_saving,
    check_statuses,
    read_recording,
    show,
    statuses,
    steps_table,
    total_seconds,
)
from cachesim.sources.scenario import Scenario, for_builder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cachesim.cost.model import Profile

__all__ = [
    "BUILDERS",
    "BUILDKIT_VERSIONS",
    "DEFAULT_BUILDKIT",
    "BuildResult",
    "EngineRun",
    "Expect",
    "Feedback",
    "InputError",
    "Recording",
    "Scenario",
    "SimulationResult",
    "StepResult",
    "Table",
    "__version__",
    "builds_table",
    "check",
    "check_expectations",
    "check_saving",
    "check_statuses",
    "load_scenario",
    "plot_board",
    "plot_cumulative",
    "plot_layers",
    "plot_timeline",
    "read_recording",
    "report_text",
    "run_on_engine",
    "save_figure",
    "show",
    "simulate",
    "statuses",
    "steps_table",
    "total_seconds",
    "with_dockerfile",
    "with_dockerignore",
]

BUILDERS: tuple[str, ...] = ("buildkit", "legacy")  # legacy = the classic builder


def load_scenario(source: str | Path | Mapping[str, Any], base_dir: str | Path = ".") -> Scenario:
    """A scenario from a YAML file, from YAML text, or from a dict of the same shape.

    A ``Path``, or a string naming an existing ``.yaml``/``.yml`` file, is read as a file
    (a ``context:`` folder in it is relative to the file); any other string is YAML text,
    and a mapping is the parsed form. ``base_dir`` is where a text or dict scenario's
    ``context:`` folder is looked up. Bad input raises ``InputError`` naming the line.
    """
    from cachesim.sources import scenario

    if isinstance(source, Mapping):
        import yaml

        text = yaml.safe_dump(dict(source), sort_keys=False)
        return scenario.loads(text, "<dict>", Path(base_dir))
    if isinstance(source, Path) or (
        str(source).endswith((".yaml", ".yml")) and "\n" not in str(source)
    ):
        return scenario.load(source)
    return scenario.loads(str(source), "<text>", Path(base_dir))


def with_dockerfile(scenario: Scenario, dockerfile: str, name: str | None = None) -> Scenario:
    """The same context and builds with another Dockerfile: compare variants fairly."""
    return replace(scenario, dockerfile=dockerfile, name=name or scenario.name)


def with_dockerignore(scenario: Scenario, dockerignore: str, name: str | None = None) -> Scenario:
    """The same scenario with another .dockerignore at the start (empty text: none)."""
    return replace(scenario, dockerignore=dockerignore or None, name=name or scenario.name)


def simulate(
    scenario: Scenario,
    builder: str | None = None,
    buildkit: str = DEFAULT_BUILDKIT,
    costs: bool = True,
    profile: Profile | None = None,
) -> SimulationResult:
    """Predict every build of ``scenario``.

    ``builder`` is ``"buildkit"`` or ``"legacy"`` (the classic builder, ``DOCKER_BUILDKIT=0``)
    and overrides the scenario's ``engine:``; ``buildkit`` is the BuildKit release whose
    rules apply (``"0.8"`` = Docker 20.10, ``"0.25"`` = Docker 28.5). With ``costs`` (the
    default) every step and build also gets predicted seconds and sizes (docs/time-model.md);
    ``profile`` is a calibrated profile from ``cachesim calibrate``.
    """
    from cachesim.cost import model as cost
    from cachesim.simulation import simulator

    if buildkit not in BUILDKIT_VERSIONS:
        raise InputError(f"unknown BuildKit version {buildkit!r} (one of {BUILDKIT_VERSIONS})")
    if builder is not None:
        if builder not in BUILDERS:
            raise InputError(f"unknown builder {builder!r} (one of {BUILDERS})")
        scenario = for_builder(scenario, builder)
    traced = simulator.trace(scenario, buildkit)
    return cost.apply_costs(scenario, traced, profile) if costs else traced.result


def report_text(result: SimulationResult) -> str:
    """The builds as ``cachesim run`` prints them (``docker build --progress=plain`` look)."""
    from cachesim.output import report

    return report.text(result)


def plot_timeline(
    build: BuildResult, builder: str = "buildkit", title: str | None = None
) -> Figure:
    """One build's steps on a time axis (built vermillion, cached blue)."""
    from cachesim.output import plot

    return plot.timeline(build, builder, title=title)


def plot_layers(build: BuildResult, title: str | None = None) -> Figure:
    """One build's image as a stack of layers, each as tall as its bytes."""
    from cachesim.output import plot

    return plot.layers(build, title=title)


def plot_cumulative(
    results: list[SimulationResult], title: str | None = None, number_every: int | None = None
) -> Figure:
    """Total build time over the builds, one line per result: the race of two Dockerfiles.

    With ``number_every=N`` the x axis shows build numbers (1 and every Nth) instead of
    build names, which stay readable for a long history.
    """
    from cachesim.output import plot

    figure = plot.cumulative(results, title=title)
    if number_every:
        ax = figure.axes[0]
        count = max(len(r.builds) for r in results)
        shown = [n for n in range(1, count + 1) if n == 1 or n % number_every == 0]
        ax.set_xticks(shown, [str(n) for n in shown], rotation=0, ha="center")
        ax.set_xlabel("after build number")
    return figure


def plot_board(results: list[SimulationResult], title: str | None = None) -> Figure:
    """Steps (rows) by builds (columns), each cell cached or built: one panel a result."""
    from cachesim.output import board

    return board.board(results, title=title)


def save_figure(figure: Figure, path: str) -> None:
    """Write a figure as PNG or SVG and close it."""
    from cachesim.output import plot

    plot.save(figure, path)


# --- The real engine, when one answers (lessons 5-7 show live runs, recorded ones otherwise)


@dataclass(frozen=True, slots=True)
class EngineRun:
    """What a real engine did with a scenario: its version and, per build, the steps it
    printed as ``(instruction, status)`` pairs (status ``cached``, ``built`` or ``failed``)."""

    docker_version: str
    builder: str
    builds: tuple[tuple[tuple[str, str], ...], ...]


def run_on_engine(
    scenario: Scenario, builder: str | None = None, docker: str = "/usr/bin/docker"
) -> EngineRun | None:
    """Run every build of ``scenario`` on the engine ``DOCKER_HOST`` names, or None when no
    engine answers (a lesson then quotes a recorded run). Base images are cachesim's local
    stand-ins, nothing is pulled, and everything the run made is removed afterwards.
    ``docker`` is the client, as for ``cachesim verify --docker``."""
    from cachesim.engine import engine_answers, run_builds, server_version
    from cachesim.simulation.simulator import images_of
    from cachesim.sources.scenario import replay

    if not engine_answers(docker, timeout=5.0):
        return None
    engine = builder or scenario.engine
    requests = [step.request for step in replay(scenario, images_of)]
    observed = run_builds(requests, engine, docker=docker)  # type: ignore[arg-type]
    builds = tuple(tuple((s.instruction, s.status) for s in b.steps) for b in observed)
    return EngineRun(server_version(docker), engine, builds)
