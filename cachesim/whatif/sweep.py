"""``cachesim sweep GRID.yaml``: a grid of what-ifs, run in parallel, as one tidy table.

A study asks the same question of many variants: every scenario of a corpus, under two
Dockerfiles, on both builders, with two step-cost assumptions. Each cell of the grid is
independent, so cells run in a process pool on one machine, or on a Dask cluster when a study
of thousands of projects outgrows it. A cell is described by plain values (file paths and
names, never live objects), loaded and simulated where it runs, and its rows come back with its
index: the table is sorted by cell, so it is identical row for row whoever ran it.

The grid file::

    name: order-study                 # optional; default: the file's stem
    scenarios: [a.yaml, "corpus/*.yaml"]   # required: files or globs, relative to the grid
    dockerfiles:                      # optional: named Dockerfiles replacing each scenario's
      naive: naive.Dockerfile         #   (relative to the grid); default: the scenario's own
      ordered: ordered.Dockerfile
    builders: [buildkit, legacy]      # optional; default: each scenario's own builder
    buildkit: ["0.8", "0.25"]         # optional; default: 0.25 (Docker 28.5)
    timing:                           # optional: named step-cost assumptions, each a
      slow-pip: {commands: {"pip install": 120}}   # `timing:` merged over the scenario's

One row per (cell, build): the axes' values, the build's number and name, its steps built,
cached and failed, and its predicted seconds.
"""

from __future__ import annotations

import csv
import glob
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

import yaml

import cachesim

GRID_KEYS = {"name", "scenarios", "dockerfiles", "builders", "buildkit", "timing"}
COLUMNS = (
    "grid",
    "cell",
    "scenario",
    "dockerfile",
    "builder",
    "buildkit",
    "timing",
    "build",
    "build_name",
    "steps",
    "built",
    "cached",
    "failed",
    "seconds",
)
OWN = "(own)"  # the axis value that means "what the scenario itself says"


@dataclass(frozen=True)
class Cell:
    """One what-if: plain values only, so it can travel to another process or machine."""

    index: int
    grid: str
    scenario: str  # path of the scenario file
    dockerfile_name: str
    dockerfile_path: str | None
    builder: str | None
    buildkit: str
    timing_name: str
    timing: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Grid:
    """A grid file read and checked: its axes, each a non-empty tuple."""

    name: str
    scenarios: tuple[str, ...]
    dockerfiles: tuple[tuple[str, str | None], ...]
    builders: tuple[str | None, ...]
    buildkits: tuple[str, ...]
    timings: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]

    def cells(self) -> list[Cell]:
        """Every combination of the axes, numbered in a fixed order."""
        combos = product(
            self.scenarios, self.dockerfiles, self.builders, self.buildkits, self.timings
        )
        return [
            Cell(i, self.name, s, d[0], d[1], b, k, t[0], t[1])
            for i, (s, d, b, k, t) in enumerate(combos)
        ]


def _fail(file: str, message: str, line: int | None = None) -> cachesim.InputError:
    where = f"{file}:{line}" if line else file
    return cachesim.InputError(f"{where}: {message}")


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return None


def _names(raw: object, file: str, key: str, line: int | None) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(v, str | int | float) for v in raw)
    ):
        raise _fail(file, f"'{key}' must be a non-empty list of names", line)
    return tuple(str(v) for v in raw)


def _choices(
    raw: object, known: Sequence[str], what: str, file: str, key: str, text: str
) -> tuple[str, ...]:
    """A list of names under ``key``, each one of ``known`` (else one line naming it)."""
    line = _line_of(text, key)
    names = _names(raw, file, key, line)
    for name in names:
        if name not in known:
            raise _fail(file, f"unknown {what} '{name}' (one of {', '.join(known)})", line)
    return names


def _scenario_files(raw: object, folder: Path, file: str, line: int | None) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in _names(raw, file, "scenarios", line):
        matches = sorted(glob.glob(str(folder / pattern), recursive=True))
        if not matches:
            raise _fail(file, f"scenarios: nothing matches '{pattern}'", line)
        found.extend(matches)
    return tuple(dict.fromkeys(found))


def _named_files(raw: object, folder: Path, file: str, line: int | None):
    if raw is None:
        return ((OWN, None),)
    if not isinstance(raw, dict) or not raw:
        raise _fail(file, "'dockerfiles' must map a name to a Dockerfile path", line)
    out = []
    for name, path in raw.items():
        full = folder / str(path)
        if not full.is_file():
            raise _fail(file, f"dockerfiles: {name}: no such file '{path}'", line)
        out.append((str(name), str(full)))
    return tuple(out)


def _timings(raw: object, file: str, line: int | None):
    if raw is None:
        return ((OWN, ()),)
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise _fail(file, "'timing' must map a name to a timing: mapping", line)
    return tuple((str(k), tuple(sorted(v.items()))) for k, v in raw.items())


def read_grid(path: str | Path) -> Grid:
    """A grid file, checked: bad input raises ``InputError`` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise cachesim.InputError(f"{path}: no such grid file")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise _fail(str(path), "not valid YAML", mark.line + 1 if mark else None) from None
    file = str(path)
    if not isinstance(data, dict):
        raise _fail(file, "a grid is a mapping with at least 'scenarios:'")
    unknown = sorted(set(data) - GRID_KEYS)
    if unknown:
        key = unknown[0]
        raise _fail(
            file,
            f"unknown key '{key}' (known: {', '.join(sorted(GRID_KEYS))})",
            _line_of(text, key),
        )
    if "scenarios" not in data:
        raise _fail(file, "'scenarios:' is required (scenario files or globs)")
    folder = path.parent
    builders: tuple[str | None, ...] = (None,)
    if "builders" in data:
        builders = _choices(data["builders"], cachesim.BUILDERS, "builder", file, "builders", text)
    buildkits = _choices(
        data.get("buildkit", [cachesim.DEFAULT_BUILDKIT]),
        cachesim.BUILDKIT_VERSIONS,
        "BuildKit version",
        file,
        "buildkit",
        text,
    )
    return Grid(
        name=str(data.get("name") or path.stem),
        scenarios=_scenario_files(data["scenarios"], folder, file, _line_of(text, "scenarios")),
        dockerfiles=_named_files(
            data.get("dockerfiles"), folder, file, _line_of(text, "dockerfiles")
        ),
        builders=builders,
        buildkits=buildkits,
        timings=_timings(data.get("timing"), file, _line_of(text, "timing")),
    )


def run_cell(cell: Cell) -> list[dict[str, object]]:
    """Simulate one cell where it runs and return its rows (pure: same cell, same rows)."""
    scenario = cachesim.load_scenario(Path(cell.scenario))
    if cell.dockerfile_path is not None:
        text = Path(cell.dockerfile_path).read_text(encoding="utf-8")
        scenario = cachesim.with_dockerfile(scenario, text)
    if cell.timing:
        scenario = replace(scenario, timing={**dict(scenario.timing), **dict(cell.timing)})
    result = cachesim.simulate(scenario, builder=cell.builder, buildkit=cell.buildkit)
    rows = []
    for number, build in enumerate(result.builds, 1):
        counts = build.counts()
        rows.append(
            {
                "grid": cell.grid,
                "cell": cell.index,
                "scenario": scenario.name,
                "dockerfile": cell.dockerfile_name,
                "builder": cell.builder or scenario.engine,
                "buildkit": cell.buildkit,
                "timing": cell.timing_name,
                "build": number,
                "build_name": build.name,
                "steps": len(build.steps),
                "built": counts["built"],
                "cached": counts["cached"],
                "failed": counts["failed"],
                "seconds": round(build.seconds or 0.0, 3),
            }
        )
    return rows


Progress = Callable[[int, int], None]


def _in_processes(cells: Sequence[Cell], workers: int, progress: Progress | None) -> Iterator[list]:
    if workers <= 1:
        for done, cell in enumerate(cells, 1):
            yield run_cell(cell)
            if progress:
                progress(done, len(cells))
        return
    # spawn, not fork: the Dockerfile parser is Go code, and a Go runtime does not survive a fork
    # (a forked worker hangs in its first parse).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        futures = [pool.submit(run_cell, cell) for cell in cells]
        for done, future in enumerate(as_completed(futures), 1):
            yield future.result()
            if progress:
                progress(done, len(cells))


def _on_dask(cells: Sequence[Cell], address: str, progress: Progress | None) -> Iterator[list]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise cachesim.InputError(
            "--scheduler needs Dask: pip install 'cachesim[sweep]' (dask and distributed)"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except OSError as err:
        raise cachesim.InputError(
            f"--scheduler {address}: no Dask scheduler answers ({err})"
        ) from None
    with client:
        futures = client.map(run_cell, list(cells), pure=True)
        for done, future in enumerate(dask_completed(futures), 1):
            yield future.result()
            if progress:
                progress(done, len(cells))


def sweep(
    grid: Grid,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, object]]:
    """Every row of the grid, sorted by (cell, build) whatever ran them and in what order."""
    cells = grid.cells()
    if scheduler:
        batches: Iterable[list] = _on_dask(cells, scheduler, progress)
    else:
        batches = _in_processes(cells, workers or os.cpu_count() or 1, progress)
    rows = [row for batch in batches for row in batch]
    return sorted(rows, key=lambda row: (row["cell"], row["build"]))


def to_csv(rows: Sequence[Mapping[str, object]]) -> str:
    """The table as CSV text, one header line then a line a row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def totals(rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Per variant (every axis but the scenario): builds, step hit rate, hours."""
    groups: dict[tuple, dict[str, float]] = {}
    for row in rows:
        key = (row["dockerfile"], row["builder"], row["buildkit"], row["timing"])
        g = groups.setdefault(key, {"builds": 0, "steps": 0, "cached": 0, "seconds": 0.0})
        g["builds"] += 1
        g["steps"] += int(row["steps"])  # type: ignore[arg-type]
        g["cached"] += int(row["cached"])  # type: ignore[arg-type]
        g["seconds"] += float(row["seconds"])  # type: ignore[arg-type]
    return [
        {
            "dockerfile": k[0],
            "builder": k[1],
            "buildkit": k[2],
            "timing": k[3],
            "builds": int(g["builds"]),
            "hit_rate": round(g["cached"] / g["steps"], 3) if g["steps"] else 0.0,
            "hours": round(g["seconds"] / 3600, 4),
        }
        for k, g in groups.items()
    ]


def write_table(rows: Sequence[Mapping[str, object]], path: str | Path) -> None:
    """Write the rows as CSV, or as Parquet when the name ends in .parquet (needs pyarrow)."""
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise cachesim.InputError(
                f"{path}: writing Parquet needs pyarrow (pip install pyarrow)"
            ) from None
        table = pa.table({column: [row[column] for row in rows] for column in COLUMNS})
        pq.write_table(table, path)
        return
    if path.suffix != ".csv":
        raise cachesim.InputError(f"{path}: the table is written as .csv or .parquet")
    path.write_text(to_csv(rows), encoding="utf-8")


def variant_label(total: Mapping[str, object]) -> str:
    parts = []
    if total["dockerfile"] != OWN:
        parts.append(str(total["dockerfile"]))
    # The classic builder has no BuildKit release, so its bars name no version.
    parts.append(cachesim.builder_label(str(total["builder"]), str(total["buildkit"])))
    if total["timing"] != OWN:
        parts.append(str(total["timing"]))
    return ", ".join(p for p in parts if p) or "as written"


def figure(rows: Sequence[Mapping[str, object]], title: str):
    """Predicted time per variant, one bar each, the slowest on top: which variant wins."""
    from matplotlib.figure import Figure

    summary = sorted(totals(rows), key=lambda t: float(t["hours"]))  # type: ignore[arg-type]
    hours = [float(t["hours"]) for t in summary]  # type: ignore[arg-type]
    minutes = max(hours or [0]) < 1
    values = [h * 60 if minutes else h for h in hours]
    unit = "minutes" if minutes else "hours"
    fig = Figure(figsize=(12, 1.6 + 0.6 * len(summary)), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.barh([variant_label(t) for t in summary], values, color="#0072B2")
    for bar, value, t in zip(bars, values, summary, strict=True):
        ax.annotate(
            f" {value:.1f} {unit}, {float(t['hit_rate']):.0%} of steps cached",  # type: ignore[arg-type]
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
            fontsize=12,
        )
    ax.set_xlabel(f"predicted build time, every build of every scenario ({unit})", fontsize=13)
    ax.set_title(title, fontsize=15, loc="left")
    ax.tick_params(labelsize=12)
    ax.set_xlim(0, (max(values or [0]) or 1) * 1.7)
    return fig
