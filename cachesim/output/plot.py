"""Pictures of predicted builds (matplotlib, Agg): a timeline, a layer stack, a race.

Each function takes results that ``cachesim.cost.model.apply_costs`` filled in and returns the
``Figure``; ``save`` writes it as PNG or SVG. They are drawn for a projector: large
type, thick bars, and the Okabe-Ito palette, which stays distinct for colour-blind eyes
and in greyscale (built = vermillion, cached = blue; the hatch tells them apart too).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cachesim.core.errors import InputError
from cachesim.core.results import BuildResult, SimulationResult
from cachesim.cost.model import human_size

# Okabe & Ito (2008), "Color Universal Design".
BUILT = "#D55E00"  # vermillion
CACHED = "#0072B2"  # blue
FAILED = "#000000"
OTHER = "#999999"  # context transfer, export, base image
LINES = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
STYLE = {
    "font.size": 16,
    "axes.titlesize": 20,
    "axes.labelsize": 17,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
LABEL_CHARS = 42


def _short(text: str, width: int = LABEL_CHARS) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _colour(status: str) -> str:
    return {"built": BUILT, "cached": CACHED}.get(status, FAILED)


def _where(step, stages: int) -> str:
    """`[k/n]` as the builder prints it: `[name k/n]`, `[stage-1 k/n]`, no name alone."""
    if not step.stage or stages == 1:
        return f"[{step.index}/{step.total}]"
    name = f"stage-{step.stage}" if step.stage.isdigit() else step.stage
    return f"[{name} {step.index}/{step.total}]"


def _spread(centres: list[float], gap: float) -> list[float]:
    """Label positions near their blocks but at least ``gap`` apart (bottom up)."""
    placed: list[float] = []
    for centre in centres:
        placed.append(max(centre, placed[-1] + gap) if placed else centre)
    return placed


def failure_text(build: BuildResult) -> str:
    """One line saying where a failed build stops ('' for a build that succeeds)."""
    if build.error is None:
        return ""
    failed = next((s for s in build.steps if s.status == "failed"), None)
    if failed is not None:
        where = f"at line {failed.line} ({_short(failed.shown or failed.instruction, 40)})"
    elif build.error_line:
        where = f"before any step (Dockerfile line {build.error_line})"
    else:
        where = "before any step"
    return f"the build fails {where}:\n{_short(build.error, 80)}"


Row = tuple[str, float, float, str]  # label, start, seconds, kind


def _timeline_rows(build: BuildResult, engine: str) -> list[Row]:
    """The bars of a timeline, top down: sending the context, each step, the export."""
    time = build.extra.get("time", {})
    starts = time.get("step_starts") or [0.0] * len(build.steps)
    rows: list[Row] = []
    context = time.get("context_seconds", 0.0)
    if context:
        rows.append(("send the build context", time.get("context_start", 0.0), context, "other"))
    stages = len({s.stage for s in build.steps})
    for step, start in zip(build.steps, starts, strict=False):
        label = f"{_where(step, stages=stages)} {_short(step.shown or step.instruction)}"
        rows.append((label, start, step.seconds or 0.0, step.status))
    export = time.get("export_seconds", 0.0)
    if export:
        label = "export the image" if engine == "buildkit" else "commit"
        rows.append((label, time.get("export_start", 0.0), export, "other"))
    return rows


def _bars(ax: Axes, rows: Sequence[Row], total: float) -> None:
    """One bar a row: cached thin, built thick and hatched with its seconds written on it
    (when it is long enough to be read), each at least a sliver wide so none vanish."""
    for y, (_label, start, seconds, kind) in enumerate(rows):
        colour = OTHER if kind == "other" else _colour(kind)
        shown = max(seconds, total * 0.004)
        ax.barh(
            y,
            shown,
            left=start,
            height=0.7 if kind != "cached" else 0.35,
            color=colour,
            hatch="//" if kind == "built" else None,
            edgecolor="white",
            gid=f"bar-{kind}",
        )
        if kind != "cached" and seconds >= total * 0.02:
            ax.text(start + shown + total * 0.005, y, f"{seconds:.1f}s", va="center")


def _timeline_title(ax: Axes, build: BuildResult, title: str | None) -> None:
    """The title names the build and sums it up, or says where a failed build stops."""
    counts = build.counts()
    summary = (
        f"{build.seconds or 0:.1f}s wall · {counts['built']} built · {counts['cached']} cached"
    )
    ax.set_title(
        f"{title or f'Build {build.name!r}'}\n{failure_text(build) or summary}",
        loc="left",
        color=BUILT if build.failed else "black",
    )
    if not build.steps and build.failed:
        ax.text(0.5, 0.5, failure_text(build), ha="center", va="center", transform=ax.transAxes)


def timeline(build: BuildResult, engine: str = "buildkit", title: str | None = None) -> Figure:
    """One bar per step from its predicted start to its end; context and export in grey.

    Parallel stages show as bars that overlap in time. A cached step is a thin blue
    bar (its lookup), a built one a thick vermillion bar with its seconds written on it.
    """
    rows = _timeline_rows(build, engine)
    with plt.rc_context(STYLE):
        height = max(4.0, 0.55 * len(rows) + 2.2)
        fig, ax = plt.subplots(figsize=(14, height), layout="constrained")
        total = build.seconds or max((s + d for _, s, d, _ in rows), default=1.0)
        _bars(ax, rows, total)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel("seconds since the build started")
        ax.set_xlim(0, total * 1.12)
        _timeline_title(ax, build, title)
        fig.legend(
            handles=[
                Patch(facecolor=BUILT, hatch="//", edgecolor="white", label="built"),
                Patch(facecolor=CACHED, label="cached"),
                Patch(facecolor=OTHER, label="context / export"),
            ],
            loc="outside lower center",
            ncol=3,
        )
        ax.grid(axis="x", alpha=0.3)
    return fig


def layers(build: BuildResult, title: str | None = None) -> Figure:
    """The image as a stack of layers, bottom up, each block as tall as its bytes.

    The base image is the grey block at the bottom; a layer this build wrote is
    vermillion (it must be pushed and pulled again), a reused one blue. Layers of a few
    bytes are drawn with a minimum height so they stay visible; their size is written out.
    """
    sizes = build.extra.get("sizes", {})
    positions = sizes.get("image_steps") or [i for i, s in enumerate(build.steps) if not s.is_from]
    blocks: list[tuple[str, int, str]] = [("base image", int(sizes.get("base_bytes", 0)), "other")]
    for position in positions:
        step = build.steps[position]
        blocks.append(
            (_short(step.shown or step.instruction, 48), step.layer_bytes or 0, step.status)
        )
    total = sum(b for _, b, _ in blocks) or 1
    floor = total * 0.03
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(12, max(6.0, 0.6 * len(blocks) + 3)), layout="constrained")
        bottom = 0.0
        centres: list[float] = []
        for _label, size, kind in blocks:
            shown = max(size, floor)
            colour = OTHER if kind == "other" else _colour(kind)
            ax.bar(
                0,
                shown,
                bottom=bottom,
                width=0.6,
                color=colour,
                edgecolor="white",
                linewidth=2,
                hatch="//" if kind == "built" else None,
                gid=f"layer-{kind}",
            )
            centres.append(bottom + shown / 2)
            bottom += shown
        labels = _spread(centres, gap=total * 0.06)
        for (label, size, _kind), centre, at in zip(blocks, centres, labels, strict=True):
            ax.annotate(
                f"{label}  ({human_size(size)})",
                xy=(0.3, centre),
                xytext=(0.45, at),
                va="center",
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 1},
            )
        ax.set_xlim(-0.4, 2.4)
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        ticks = ax.get_yticks()
        ax.set_yticks(ticks, [human_size(t) for t in ticks])
        ax.set_ylim(0, max(bottom, labels[-1] + total * 0.03) * 1.02)
        ax.set_ylabel("layer size (tiny ones enlarged)")
        push = sizes.get("push_bytes", 0)
        summary = f"image {human_size(sizes.get('image_bytes', total))} · push {human_size(push)}"
        if build.failed:  # no image is made: say so, and where the build stops
            summary = f"no image: {failure_text(build)}"
        ax.set_title(
            f"{title or f'Layers of {build.name!r}'}\n{summary}",
            loc="left",
            color=BUILT if build.failed else "black",
        )
        ax.legend(
            handles=[
                Patch(
                    facecolor=BUILT, hatch="//", edgecolor="white", label="written by this build"
                ),
                Patch(facecolor=CACHED, label="reused from the cache"),
                Patch(facecolor=OTHER, label="base image"),
            ],
            loc="upper right",
        )
    return fig


def cumulative(results: Sequence[SimulationResult], title: str | None = None) -> Figure:
    """Total build time over the sequence of builds, one line per scenario.

    The steeper line pays more per change; the gap at the right is the time the better
    Dockerfile saves over the whole sequence.
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(13, 7.5), layout="constrained")
        longest = max((len(r.builds) for r in results), default=0)
        for number, result in enumerate(results):
            totals, clock = [0.0], 0.0
            for build in result.builds:
                clock += build.seconds or 0.0
                totals.append(clock)
            colour = LINES[number % len(LINES)]
            ax.plot(
                range(len(totals)),
                totals,
                marker="os^Dv<>"[number % 7],
                markersize=9,
                linewidth=3.5,
                color=colour,
                label=result.scenario,
                linestyle=("-", "--", "-.", ":")[number % 4],
            )
            ax.annotate(
                f"{clock:.0f}s",
                (len(totals) - 1, clock),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                color=colour,
                fontweight="bold",
            )
        names = [b.name for b in results[0].builds] if results else []
        if results and all(len(r.builds) == len(names) for r in results):
            ax.set_xticks(
                range(len(names) + 1),
                ["start", *(_short(n, 18) for n in names)],
                rotation=25,
                ha="right",
            )
        else:
            ax.set_xticks(range(longest + 1))
        ax.set_xlim(0, longest + 0.6)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("after build")
        ax.set_ylabel("total build time (s)")
        ax.set_title(title or "Build time over a sequence of changes", loc="left")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    return fig


def save(figure: Figure, path: str) -> None:
    """Write a figure as PNG (100 dpi: crisp on a 1080p projector) or SVG, and close it.

    A path that cannot be written is bad input: one ``InputError`` naming it."""
    try:
        figure.savefig(path, dpi=100)
    except OSError as err:
        raise InputError(f"cannot write the plot: {err.strerror or err}", path) from None
    finally:
        plt.close(figure)
