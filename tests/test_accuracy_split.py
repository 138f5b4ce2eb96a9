"""The accuracy benchmark's split into fit and held-out scenarios (benchmarks/accuracy.py).

The split must be the one its rule makes (chosen before any measurement, docs/time-model.md
"Accuracy"), name every scenario once, and hold out at least 20 scenarios covering every
cluster, so that the issue's targets are judged on scenarios the model was never fitted on.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cachesim.sources.scenario import load
from tests.helpers import accuracy_module

accuracy = accuracy_module()


def test_split_names_every_scenario_once_and_each_loads():
    rows = accuracy.read_split()
    files = [row.file for row in rows]
    on_disk = sorted(accuracy.file_key(p) for p in accuracy.scenario_files())
    assert sorted(files) == on_disk
    assert len(set(files)) == len(files)
    assert len(files) >= 40
    for name in files:
        assert load(accuracy.HERE / name).builds


def test_split_file_is_what_the_rule_chose():
    rows = accuracy.read_split()
    chosen = accuracy.choose_sets(rows)
    assert {row.file: row.set for row in rows} == chosen
    assert accuracy.SPLIT.read_text() == accuracy.split_text(rows)


def test_held_out_now_is_round_three_and_every_earlier_scenario_is_fit():
    """Round 1's and round 2's held-out results have been looked at: the model may be
    fitted on both and is judged on round 3 alone (benchmarks/accuracy/round3/README.md)."""
    rows = accuracy.read_split()
    assert {row.file for row in rows if row.set == "held-out"} == {
        row.file for row in rows if row.origin == "round3"
    }
    assert len([row for row in rows if row.origin == "round3"]) >= 10
    assert all(row.set == "fit" for row in rows if row.origin != "round3")
    # judged on round 2, the rounds before it were fit and round 2 held out
    then = accuracy.choose_sets(rows, judged_on="round2")
    assert {f for f, s in then.items() if s == "held-out"} == {
        row.file for row in rows if row.origin in ("round2", "round3")
    }


def test_round_one_held_out_covered_every_cluster_and_was_never_fitted_on():
    rows = accuracy.read_split()
    round_one = accuracy.choose_sets(rows, judged_on="new")
    rows = [accuracy.SplitRow(r.file, r.cluster, r.origin, round_one[r.file]) for r in rows]
    held = [row for row in rows if row.set == "held-out" and row.origin != "round2"]
    assert len(held) >= 20
    clusters = {row.cluster for row in rows}
    assert {row.cluster for row in held} == clusters
    assert {row.cluster for row in rows if row.set == "fit"} == clusters
    assert all(row.set == "fit" for row in rows if row.origin == "runs-ABC")
    # the clusters are all there, each with a held-out scenario
    wanted = {
        "trivial-steps",
        "many-files",
        "cache-mount",
        "big-layer",
        "stage-artifact",
        "parallel",
        "deps-install",
        "compile",
        "big-context",
        "multistage-go",
        "legacy",
    }
    assert wanted <= {row.cluster for row in held}
    assert Counter(row.cluster for row in held)["many-files"] >= 2


def test_another_seed_makes_another_split_by_the_same_rule():
    rows = accuracy.read_split()
    a = accuracy.choose_sets(rows, 10, judged_on="new")
    b = accuracy.choose_sets(rows, 11, judged_on="new")
    assert a != b
    assert Counter(a.values()) == Counter(b.values())


def test_a_malformed_split_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "split.txt"
    bad.write_text("# comment\n01-sleep-chain.yaml basic runs-ABC maybe\n")
    with pytest.raises(SystemExit, match=r"split.txt:2: expected"):
        accuracy.read_split(bad)


def test_a_json_that_is_not_a_benchmark_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match=r"run.json: not a benchmark JSON file"):
        accuracy.load_json(bad, {})


def test_fitted_figures_must_be_machine_figures(tmp_path):
    path = tmp_path / "fit.json"
    figures = {"machine": {"run_seconds": 0.3, "warp_factor": 9}}
    path.write_text(json.dumps({"configurations": {"20.10-vfs": figures}}))
    with pytest.raises(SystemExit, match=r"20\.10-vfs: unknown machine figures warp_factor"):
        accuracy.read_fitted(path)
    path.write_text(json.dumps({"machine": {"run_seconds": 0.3}}))
    with pytest.raises(SystemExit, match="not a fitted-figures file"):
        accuracy.read_fitted(path)


def test_fitted_figures_are_kept_per_configuration():
    engine = accuracy.Engine("/usr/bin/docker", "28.5.2+dfsg4", "overlay2", "0.25")
    assert engine.configuration == "28.5-overlay2"
    assert accuracy.Engine("d", "20.10.24+dfsg1", "vfs", "0.8").configuration == "20.10-vfs"


def test_the_modern_engine_environment_lines_are_read():
    line = "export DOCKER_HOST=unix:///tmp/x/docker.sock DOCKER_CONFIG=/c BUILDX_GIT_INFO=0"
    assert accuracy._exports(line) == {
        "DOCKER_HOST": "unix:///tmp/x/docker.sock",
        "DOCKER_CONFIG": "/c",
        "BUILDX_GIT_INFO": "0",
    }


def test_the_estimate_counts_runs_and_settling():
    durations = {("a.yaml", "20.10-vfs"): 10.0, ("b.yaml", "20.10-vfs"): 20.0}
    durations[("b.yaml", "28.5-vfs")] = 30.0
    settle = accuracy.SETTLE_GUESS
    assert accuracy.estimate_seconds(["a.yaml", "b.yaml"], 3, durations) == pytest.approx(
        3 * (10 + 20 + 2 * settle)
    )
    # another configuration's figure stands in for a missing one; an unknown scenario
    # counts as a typical (median) one
    assert accuracy.estimate_seconds(["a.yaml", "b.yaml"], 1, durations, "28.5-vfs") == (
        pytest.approx(10 + 30 + 2 * settle)
    )
    assert accuracy.estimate_seconds(["c.yaml"], 1, durations) == pytest.approx(20 + settle)


def test_a_malformed_durations_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "durations.txt"
    bad.write_text("a.yaml 20.10-vfs 12.5\na.yaml twelve\n")
    with pytest.raises(SystemExit, match=r"durations.txt:2: expected"):
        accuracy.read_durations(bad)


def test_calibration_takes_the_median_cold_run_and_survives_the_json(tmp_path):
    """The model is calibrated from the run whose cold build took the median time, not the
    first run's (an outlier there decided whole scenarios' errors in runs D and E); every
    run's cold log goes through --json and back; older files with one log still load."""
    scenario = load(accuracy.HERE / "01-sleep-chain.yaml")
    record = accuracy.Record(scenario, "01-sleep-chain.yaml")
    record.walls = [[9.0, 1.0], [3.0, 1.0], [5.0, 1.0]]
    record.cold_logs = [("log-a", "h-a"), ("log-b", None), ("log-c", "h-c")]
    record.log, record.history = "log-a", "h-a"
    record.build_logs = ["log-a", "later-a"]
    assert accuracy.calibration(record) == ("log-c", "h-c")  # 5.0 s: the median of 9, 3, 5
    engine = accuracy.Engine("docker", "20.10.24", "vfs", "0.8")
    outcome = accuracy.Outcome(record, [5.0, 1.0], [], [])
    path = tmp_path / "run.json"
    accuracy.write_json(path, [outcome], engine, 3, 0.0, {})
    _, (back,), _, _ = accuracy.load_json(path, {})
    assert back.cold_logs == record.cold_logs
    assert back.build_logs == ["log-a", "later-a"]  # every build's log of the first run
    assert accuracy.calibration(back) == ("log-c", "h-c")
    saved = json.loads(path.read_text())
    del saved["scenarios"]["01-sleep-chain.yaml"]["cold_logs"]  # a file from before
    path.write_text(json.dumps(saved))
    _, (old,), _, _ = accuracy.load_json(path, {})
    assert accuracy.calibration(old) == ("log-a", "h-a")


def test_round_two_is_held_out_entirely_and_leaves_round_one_as_it_was():
    """Round 2 (written after round 1's held-out results were seen) is all held-out, and
    adding it changed no round-1 scenario's set (the rule draws only over round 1)."""
    rows = accuracy.read_split()
    second = [row for row in rows if row.origin == "round2"]
    then = accuracy.choose_sets(rows, judged_on="round2")
    assert len(second) >= 10 and all(then[row.file] == "held-out" for row in second)
    assert all(row.file.startswith("round2/") for row in second)
    first = [row for row in rows if row.origin not in ("round2", "round3")]
    with_second = accuracy.choose_sets(rows, judged_on="new")
    assert accuracy.choose_sets(first, judged_on="new") == {
        row.file: with_second[row.file] for row in first
    }
