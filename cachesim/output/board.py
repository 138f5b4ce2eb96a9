"""The cache board: every step of every build as one coloured cell (matplotlib).

Rows are the Dockerfile's steps, columns the builds in order; a cell is vermillion and
hatched where the step ran, blue where the cache answered, black where the build
failed. Read down a column to see one build; along a row to see how often a step paid.
One panel per result, stacked, so two builders or two Dockerfiles can be compared over
the same builds. Colours are plot.py's (Okabe-Ito, colour-blind safe).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from cachesim.builders import registry
from cachesim.core.results import SimulationResult
from cachesim.output.plot import BUILT, CACHED, FAILED, STYLE, _short, plt

FEW_BUILDS = 8  # up to this many columns, build names are written in full, wrapped


def _rows(result: SimulationResult) -> dict[tuple[str, int], str]:
    """Row label of every step position (stage, k of k/n), in first-seen order.

    A position whose instruction a Dockerfile edit changed is labelled with its first
    text and "(edited)", so the row stays one row across the builds.
    """
    rows: dict[tuple[str, int], str] = {}
    for build in result.builds:
        for step in build.steps:
            key = (step.stage, step.index)
            first = rows.setdefault(key, step.instruction)
            if first != step.instruction and not first.endswith("(edited)"):
                rows[key] = f"{_short(first, 32)} (edited)"
    return rows


def board(results: Sequence[SimulationResult], title: str | None = None) -> Figure:
    """One panel per result: steps by builds, each cell cached, built or failed."""
    panels = [(result, _rows(result)) for result in results]
    heights = [max(len(rows), 1) + 1.5 for _, rows in panels]
    builds = max(len(r.builds) for r in results)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(min(4 + 0.9 * builds, 16) + 4, 0.55 * sum(heights) + 1.5),
            gridspec_kw={"height_ratios": heights},
            layout="constrained",
            squeeze=False,
        )
        for ax, (result, rows) in zip(axes[:, 0], panels, strict=True):
            _panel(ax, result, rows)
        handles = [
            Patch(facecolor=BUILT, hatch="//", edgecolor="white", label="built (ran)"),
            Patch(facecolor=CACHED, label="cached (reused)"),
            Patch(facecolor=FAILED, label="failed"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        if title:
            fig.suptitle(title, fontsize=STYLE["axes.titlesize"])
    return fig


def _panel(ax, result: SimulationResult, rows: dict[tuple[str, int], str]) -> None:
    index = {row: i for i, row in enumerate(rows)}
    for column, build in enumerate(result.builds):
        for step in build.steps:
            row = index[(step.stage, step.index)]
            colour = {"built": BUILT, "cached": CACHED}.get(step.status, FAILED)
            ax.add_patch(
                Rectangle(
                    (column + 0.05, row + 0.05),
                    0.9,
                    0.9,
                    facecolor=colour,
                    edgecolor="white",
                    hatch="//" if step.status == "built" else None,
                    gid=f"cell-{step.status}",
                )
            )
    ax.set_xlim(0, max(len(result.builds), 1))
    ax.set_ylim(len(rows), 0)
    ax.set_yticks([i + 0.5 for i in range(len(rows))], [_short(t, 44) for t in rows.values()])
    ticks = [i + 0.5 for i in range(len(result.builds))]
    if len(result.builds) <= FEW_BUILDS:  # room to write each build's name in full
        names = [textwrap.fill(b.name, 14) for b in result.builds]
        ax.set_xticks(ticks, names, fontsize=STYLE["xtick.labelsize"] - 1)
    else:  # too many names to read: number the builds (tables give their names)
        every = 1 if len(ticks) <= 2 * FEW_BUILDS else 5
        shown = [(x, str(n)) for n, x in enumerate(ticks, start=1) if n == 1 or n % every == 0]
        ax.set_xticks([tick for tick, _ in shown], [label for _, label in shown])
        ax.set_xlabel("build number")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    builder = registry.builder(result.engine).label
    ax.set_title(f"{result.scenario} — {builder}", loc="left")
