"""``cachesim sweep GRID.yaml``: the command line of ``cachesim.whatif.sweep``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cachesim.core.errors import InputError
from cachesim.whatif import sweep

DESCRIPTION = """\
Run a grid of what-ifs and write one tidy table: every scenario the grid names, under every
Dockerfile variant, builder, BuildKit release and step-cost assumption it lists, one row per
build (steps built, cached and failed; predicted seconds). Cells run in parallel processes
on this machine, or on a Dask cluster with --scheduler (start one with `dask scheduler` and
`dask worker ADDRESS` on each machine; every worker needs cachesim and the scenario files at
the same paths). Rows are sorted by cell and build: the table is the same whoever runs it.

The grid file (paths relative to it):

  name: which Dockerfile wins
  scenarios: [../ordering-python.yaml, "corpus/*.yaml"]
  dockerfiles: {source first: a.Dockerfile, manifest first: b.Dockerfile}
  builders: [buildkit, legacy]
  buildkit: ["0.8", "0.25"]
  timing: {as estimated: {}, pip 120 s: {steps: {"RUN pip install": 120}}}
"""


def add_parser(sub: argparse._SubParsersAction, epilog: str) -> None:
    """Register ``cachesim sweep`` on the CLI's subcommands."""
    parser = sub.add_parser(
        "sweep",
        help="a grid of what-ifs in parallel (processes or a Dask cluster), one tidy table",
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("grid", metavar="GRID.yaml", help="the grid file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the table here (.csv, or .parquet with pyarrow); default: CSV on stdout",
    )
    parser.add_argument("--plot", metavar="FILE", help="a figure of the totals (.png or .svg)")
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes on this machine (default: one a core; 1 runs in this process)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:8786)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _progress_bar(enabled: bool):
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("sweeping", total=None)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, tick


def sweep_command(args: argparse.Namespace) -> int:
    """Read the grid, run it, write the table (and the figure); 2 on bad input."""
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: give 1 or more")
    if args.plot and Path(args.plot).suffix not in (".png", ".svg"):
        raise InputError(f"--plot {args.plot}: the figure is written as .png or .svg")
    grid = sweep.read_grid(args.grid)
    bar, tick = _progress_bar(not args.no_progress)
    if bar is not None:
        with bar:
            rows = sweep.sweep(grid, args.workers, args.scheduler, tick)
    else:
        rows = sweep.sweep(grid, args.workers, args.scheduler)
    if args.output:
        sweep.write_table(rows, args.output)
    else:
        sys.stdout.write(sweep.to_csv(rows))
    if args.plot:
        figure = sweep.figure(rows, grid.name)
        figure.savefig(args.plot)
    for total in sweep.totals(rows):
        label = sweep.variant_label(total)
        print(
            f"{label}: {total['builds']} builds, {float(total['hit_rate']):.0%} of steps cached, "
            f"{float(total['hours']) * 60:.1f} min",
            file=sys.stderr,
        )
    return 0
