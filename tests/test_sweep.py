"""``cachesim sweep``: a grid of what-ifs, identical row for row whoever runs it.

Expected statuses come from Docker's documented cache rules
(https://docs.docker.com/build/cache/invalidation/): a COPY's key is the checksum of the files
it copies, files ``.dockerignore`` excludes are not in the context, and once a step is rebuilt
every later step of the stage is rebuilt too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.core.errors import InputError
from cachesim.whatif import sweep

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT / "examples" / "sweep" / "grid.yaml"


def _built(rows, dockerfile: str, builder: str) -> list[int]:
    return [
        int(r["built"])
        for r in rows
        if r["dockerfile"] == dockerfile
        and r["builder"] == builder
        and r["timing"] == "pip as estimated"
    ]


@pytest.fixture(scope="module")
def rows():
    return sweep.sweep(sweep.read_grid(GRID), workers=1)


def test_the_bundled_grid_has_one_row_per_cell_and_build(rows):
    grid = sweep.read_grid(GRID)
    assert len(grid.cells()) == 2 * 2 * 2  # dockerfiles x builders x timings
    assert len(rows) == len(grid.cells()) * 4  # the example has four builds
    assert [(r["cell"], r["build"]) for r in rows] == sorted((r["cell"], r["build"]) for r in rows)


def test_rows_follow_the_documented_rules(rows):
    # builds: cold, edit app.py, edit an ignored *.log, edit requirements.txt.
    # BuildKit's steps: FROM, WORKDIR, COPY (,COPY), RUN; CMD only edits the configuration.
    # Source first: the app.py edit busts COPY . . and so the pip install after it.
    assert _built(rows, "source first", "buildkit") == [3, 2, 0, 2]
    # Manifest first: the app.py edit rebuilds only the last COPY; a requirements bump
    # rebuilds COPY requirements.txt, the install and the COPY after it.
    assert _built(rows, "manifest first", "buildkit") == [4, 1, 0, 3]


def test_step_costs_change_time_not_statuses(rows):
    by_timing: dict[str, list] = {}
    for r in rows:
        by_timing.setdefault(r["timing"], []).append(r)
    estimated, slow = by_timing["pip as estimated"], by_timing["pip 120 s"]
    assert [r["built"] for r in estimated] == [r["built"] for r in slow]
    assert sum(r["seconds"] for r in slow) > sum(r["seconds"] for r in estimated)


def test_a_process_pool_gives_the_same_rows(rows):
    assert sweep.sweep(sweep.read_grid(GRID), workers=2) == rows


def test_a_dask_cluster_gives_the_same_rows(rows):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        assert sweep.sweep(sweep.read_grid(GRID), scheduler=cluster.scheduler_address) == rows


def test_csv_has_the_columns_and_a_line_a_row(rows, tmp_path):
    out = tmp_path / "t.csv"
    sweep.write_table(rows, out)
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == list(sweep.COLUMNS)
    assert len(lines) == len(rows) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scenarios: [nothing-*.yaml]\n", "g.yaml:1: scenarios: nothing matches 'nothing-*.yaml'"),
        ("scenarios: [a.yaml]\ncolour: red\n", "g.yaml:2: unknown key 'colour'"),
        ("builders: [buildkit]\n", "g.yaml: 'scenarios:' is required"),
        ("scenarios: [a.yaml]\nbuilders: [podman]\n", "g.yaml:2: unknown builder 'podman'"),
        ("scenarios: [a.yaml]\nbuildkit: ['9.9']\n", "g.yaml:2: unknown BuildKit version '9.9'"),
    ],
)
def test_bad_grid_names_file_and_line(tmp_path, text, message):
    (tmp_path / "a.yaml").write_text("name: a\ndockerfile: FROM a\nbuilds: [{}]\n")
    grid = tmp_path / "g.yaml"
    grid.write_text(text)
    with pytest.raises(InputError) as err:
        sweep.read_grid(grid)
    assert str(err.value).startswith(message.replace("g.yaml", str(grid), 1))
