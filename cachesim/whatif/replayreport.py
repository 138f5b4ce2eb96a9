"""How ``cachesim replay`` shows a replayed history: a table, JSON, CSV, a plot.

Kept apart from the replay itself so the walk stays one job and the output another.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from cachesim.whatif.replay import ReplayResult, iter_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def to_json(result: ReplayResult) -> str:
    """Per variant the totals; per commit and variant the steps rebuilt and the seconds."""
    return json.dumps(
        {
            "commits": len(result.commits),
            "variants": {name: t.to_json() for name, t in result.totals.items()},
            "notes": result.notes.to_json(),
            "unlike_builds": unlike_builds(result),
            "builds": list(iter_rows(result)),
        },
        indent=2,
    )


def to_csv(result: ReplayResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", "commit", "subject", "steps_rebuilt", "rebuilt", "seconds", "note"])
    for row in iter_rows(result):
        writer.writerow(
            [
                row["variant"],
                row["commit"],
                row["subject"],
                len(row["rebuilt"]),
                " | ".join(row["rebuilt"]),
                row["seconds"],
                row["error"] or "",
            ]
        )
    return out.getvalue()


def to_table(result: ReplayResult, last: int = 20) -> str:
    """The last ``last`` commits of each variant, then the totals side by side."""
    lines: list[str] = []
    for name, builds in result.builds.items():
        lines.append(f"{name}: last {min(last, len(builds))} of {len(builds)} commits")
        for build in builds[-last:]:
            what = (
                build.skipped
                or build.error
                or (", ".join(f"{s.line}:{s.keyword}" for s in build.rebuilt) or "all cached")
            )
            lines.append(
                f"  {build.commit[:10]}  {build.seconds:8.1f} s  {what[:60]:<60}  "
                f"{build.subject[:40]}"
            )
        lines.append("")
    names = list(result.totals)
    width = max(12, *(len(n) for n in names))
    lines.append(f"{'':<22}" + "".join(f"{n:>{width + 2}}" for n in names))
    rows = [
        ("builds", lambda t: str(t["builds"])),
        ("failed builds", lambda t: str(t["failed_builds"])),
        ("skipped commits", lambda t: str(t["skipped_commits"])),
        (
            "step hit rate",
            lambda t: "-" if t["step_hit_rate"] is None else f"{100 * t['step_hit_rate']:.1f}%",
        ),
        ("dependency installs", lambda t: str(t["dependency_installs"])),
        ("hours", lambda t: f"{t['hours']:.2f}"),
    ]
    totals = {n: result.totals[n].to_json() for n in names}
    for label, cell in rows:
        lines.append(f"{label:<22}" + "".join(f"{cell(totals[n]):>{width + 2}}" for n in names))
    for warning in result.notes.warnings + unlike_builds(result):
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def unlike_builds(result: ReplayResult) -> list[str]:
    """Warnings for variants whose totals count failed builds the others did not fail.

    A failed build's hours are the steps up to the failure, so a variant that fails on
    many commits (a HEAD Dockerfile naming files older commits lack, say) looks cheap for
    the wrong reason. The warning names how far back every variant builds, so the user
    can replay over commits that compare like with like.
    """
    failed = {
        name: sum(b.error is not None for b in builds) for name, builds in result.builds.items()
    }
    if len(set(failed.values())) <= 1:
        return []
    columns = list(result.builds.values())
    comparable = 0
    for row in zip(*(reversed(c) for c in columns), strict=True):
        if any(b.error is not None for b in row):
            break
        comparable += 1
    out = []
    for name, count in failed.items():
        if count:
            first = next(b for b in result.builds[name] if b.error is not None)
            out.append(
                f"variant {name!r} failed on {count} of {len(result.builds[name])} commits "
                f"(first {first.commit[:10]}: {first.error}); its hours count only the steps "
                "before each failure"
            )
    out.append(
        f"every variant builds on the last {comparable} commits only: "
        f"compare the totals with --commits {comparable}"
        if comparable
        else "the last commit does not build with every variant: its totals compare unlike builds"
    )
    return out


def cumulative_figure(result: ReplayResult, title: str) -> Figure:
    """Cumulative predicted build hours over the commits, one line per variant."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5))
    ax = figure.add_subplot()
    for name, totals in result.totals.items():
        ax.plot(range(1, len(totals.cumulative) + 1), totals.cumulative, label=name, linewidth=2)
    ax.set_title(title, fontsize=13)
    ax.set_xlabel("commit (oldest to newest)", fontsize=11)
    ax.set_ylabel("cumulative predicted build time (hours)", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10)
    figure.tight_layout()
    return figure
