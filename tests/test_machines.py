"""Machine defaults per engine and storage driver (cachesim/cost/machines.py).

The expected times come from real builds: the accuracy runs recorded in
benchmarks/accuracy/runs/ (D: Docker 20.10 on vfs, E: 28.5 on overlay2, F: 20.10 on
overlay2, G: 28.5 on vfs), each the median of three runs of the scenario's later builds.
These scenarios are in the fit set, the one the figures were fitted on, so the checks
prove that each configuration gets its own figures (the wiring), not that the model
generalises: that is the held-out set's job (benchmarks/accuracy.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.cost.machines import CONFIGURED, FAMILY, configured, machine_of
from cachesim.cost.timing import MACHINE_KEYS, STORAGE_DRIVERS, Machine
from tests.helpers import accuracy_module

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "benchmarks" / "accuracy" / "runs"


accuracy = accuracy_module()


def test_every_configured_figure_is_a_machine_figure_and_every_driver_has_a_family():
    for figures in CONFIGURED.values():
        assert set(figures) <= MACHINE_KEYS
        assert "storage" not in figures  # the driver is the key, not a figure
    assert set(FAMILY) == set(STORAGE_DRIVERS)
    assert configured("0.25", "overlayfs") == configured("0.25", "overlay2")
    machine = machine_of("0.25", "overlayfs")
    assert machine.storage == "overlayfs" and not machine.copies_parent
    assert machine_of("0.8", "vfs").copies_parent
    assert configured("9.9", "vfs") == {} and machine_of("9.9", "vfs") == Machine(storage="vfs")


RECORDED = [
    # (run file, scenario, build, what it shows)
    ("D-20.10-vfs-fit.json", "46-legacy-many-files.yaml", 1, "classic commits copy 10,000 files"),
    ("E-28.5-overlay2-fit.json", "46-legacy-many-files.yaml", 1, "...and are cheap on overlay2"),
    ("D-20.10-vfs-fit.json", "13-ordering-good.yaml", 2, "a small edit: vfs export floor"),
    ("E-28.5-overlay2-fit.json", "13-ordering-good.yaml", 2, "the same edit on overlay2"),
    ("F-20.10-overlay2-fit.json", "13-ordering-good.yaml", 2, "20.10 on overlay2"),
    ("G-28.5-vfs-fit.json", "01-sleep-chain.yaml", 1, "28.5 on vfs, a RUN sleep rebuilt"),
]


@pytest.mark.parametrize("run,scenario,build,why", RECORDED)
def test_each_configuration_predicts_its_own_engine(run, scenario, build, why):
    split = {row.file: row for row in accuracy.read_split()}
    engine, records, _, _ = accuracy.load_json(RUNS / run, split)
    record = next(r for r in records if r.file == scenario)
    measured = accuracy.outcome(record, engine).measured[build]
    predicted = accuracy.predict(accuracy.prepare(record, engine))[build]
    assert accuracy.error(predicted, measured) <= 0.25, (why, predicted, measured)


def test_the_driver_changes_a_prediction_in_kind():
    """The same recorded vfs build priced as if on overlay2 must come out far cheaper:
    a classic builder's commits over 10,000 files cost seconds on vfs (run D: 3.9-4.4 s)
    and next to nothing on overlay2 (run E: 0.21-0.25 s)."""
    split = {row.file: row for row in accuracy.read_split()}
    engine, records, _, _ = accuracy.load_json(RUNS / "D-20.10-vfs-fit.json", split)
    record = next(r for r in records if r.file == "46-legacy-many-files.yaml")
    on_vfs = accuracy.predict(accuracy.prepare(record, engine))[1]
    as_overlay = accuracy.Engine(engine.docker, engine.version, "overlay2", engine.buildkit)
    on_overlay = accuracy.predict(accuracy.prepare(record, as_overlay))[1]
    assert on_vfs > 3.0 and on_overlay < 1.0
