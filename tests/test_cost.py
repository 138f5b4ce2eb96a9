"""The time and size model: formulas checked against figures worked out by hand."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cachesim.core.errors import InputError
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.cost.machines import machine_of
from cachesim.cost.model import (
    SOURCES,
    Machine,
    apply_costs,
    estimate_run,
    parse_size,
    parse_timing,
)
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import load, loads

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ordering-python.yaml"


def costed(text: str):
    scenario = loads(text, "test.yaml")
    return apply_costs(scenario, simulate(scenario))


def test_sizes_read_si_and_binary_units():
    """'120MB' is 120e6 bytes, '1.5GiB' 1.5 * 2**30, a bare number is bytes."""
    assert parse_size("120MB") == 120_000_000
    assert parse_size("1.5GiB") == 1610612736
    assert parse_size(4096) == 4096
    with pytest.raises(InputError, match="bad size 'lots'"):
        parse_size("lots", "t.yaml", 3)


def test_sleep_and_dd_are_read_from_the_command():
    """`sleep 3` idles 3 s; `dd bs=1M count=200` writes 200 MiB at the write speed."""
    machine = Machine(write_mb_s=100.0)
    sleep = estimate_run("sleep 3", machine)
    assert sleep.idle == 3.0
    assert sleep.bytes == 0
    dd = estimate_run("dd if=/dev/zero of=/big bs=1M count=200", machine)
    assert dd.bytes == 200 * 1024 * 1024
    assert dd.seconds == pytest.approx(200 * 1024 * 1024 / 100e6)
    files = estimate_run("mkdir /f && cd /f && seq 1 3000 | xargs touch", machine)
    assert files.files == 3000


def test_package_managers_take_their_table_figure():
    """`apt-get update && apt-get install` adds both rows; an unknown command is plain shell."""
    both = estimate_run("apt-get update && apt-get install -y curl", Machine())
    assert both.kinds == ("apt-get update", "apt-get install")
    assert both.seconds == pytest.approx(5.0 + 20.0)
    assert estimate_run("pip install -r requirements.txt", Machine()).kinds == ("pip install",)
    assert estimate_run("echo hi > /x", Machine()).kinds == ("shell",)


def test_every_step_says_where_its_time_came_from():
    """Each step of the example gets seconds, a source among the three, and a layer size."""
    scenario = load(EXAMPLE)
    result = apply_costs(scenario, simulate(scenario))
    for build in result.builds:
        assert build.seconds is not None and build.seconds > 0
        for step in build.steps:
            assert step.seconds is not None
            assert step.seconds_source in SOURCES
            assert step.layer_bytes is not None


DECLARED = """
name: declared
dockerfile: |
  FROM alpine:3.20
  COPY app.py /app.py
  RUN make build
timing:
  machine: {pull: false, storage: overlay2}
  steps:
    3: {seconds: 7, bytes: 5MB}
  images: {alpine:3.20: 4MB}
files:
  app.py: "print(1)\\n"
builds:
  - name: cold
  - name: edit
    changes: [{edit: app.py, content: "print(22)\\n"}]
"""


def test_declared_figures_win_over_defaults():
    """A `timing:` entry by line sets the step's seconds and bytes, marked 'declared'."""
    result = costed(DECLARED)
    run = result.builds[1].steps[-1]
    assert run.seconds == 7.0
    assert run.seconds_source == "declared"
    assert run.layer_bytes == 5_000_000


def test_sizes_count_only_the_changed_layers():
    """The edit writes a new 10-byte COPY layer and a new 5 MB RUN layer: that is the push."""
    sizes = costed(DECLARED).builds[1].extra["sizes"]
    assert sizes["push_bytes"] == len(b"print(22)\n") + 5_000_000
    assert sizes["image_bytes"] == 4_000_000 + len(b"print(22)\n") + 5_000_000
    assert sizes["pull_bytes"] == sizes["push_bytes"]


PARALLEL = """
name: parallel
dockerfile: |
  FROM alpine:3.20 AS one
  RUN sleep 10
  FROM alpine:3.20 AS two
  RUN sleep 10 && echo two
  FROM alpine:3.20
  COPY --from=one /etc/hostname /a
  COPY --from=two /etc/hostname /b
timing:
  machine: {pull: false, cores: 2}
builds:
  - name: cold
"""


def test_buildkit_runs_independent_stages_side_by_side():
    """Two 10 s sleeps in separate stages overlap: the build takes about 10 s, not 20 s."""
    seconds = costed(PARALLEL).builds[0].seconds
    assert 10 <= seconds < 12


def test_the_classic_builder_runs_them_in_order():
    """The same Dockerfile on the classic builder takes both sleeps, one after the other."""
    seconds = (
        costed(PARALLEL.replace("name: parallel", "name: p\nengine: legacy")).builds[0].seconds
    )
    assert seconds >= 20


def test_cores_bound_busy_work():
    """Two 10 s CPU-bound steps in parallel on one core take 20 s."""
    text = PARALLEL.replace("sleep 10", "make").replace("cores: 2", "cores: 1")
    text = text.replace("timing:\n", "timing:\n  steps: {'RUN make': 10}\n")
    assert "RUN make && echo two" in text
    assert costed(text).builds[0].seconds >= 20


CONTEXT = """
name: context
dockerfile: |
  FROM alpine:3.20
  COPY big.bin /big.bin
  COPY app.py /app.py
timing:
  machine: {pull: false}
files:
  big.bin: {size: 30000000}
  unused.bin: {size: 50000000}
  app.py: "print(1)\\n"
builds:
  - name: cold
  - name: edit
    changes: [{edit: app.py, content: "print(333)\\n"}]
"""


def test_buildkit_sends_only_what_changed_and_is_used():
    """First build: the files COPY reads (not unused.bin); then only the edited file."""
    builds = costed(CONTEXT).builds
    assert builds[0].extra["sizes"]["context_sent_bytes"] == 30_000_000 + len(b"print(1)\n")
    assert builds[1].extra["sizes"]["context_sent_bytes"] == len(b"print(333)\n")


def test_the_classic_builder_sends_everything_every_time():
    """The classic builder tars the whole context (80 MB and more) for every build."""
    builds = costed(CONTEXT.replace("name: context", "name: c\nengine: legacy")).builds
    for build in builds:
        assert build.extra["sizes"]["context_sent_bytes"] > 80_000_000
    # ...and pays for it each time, at the tar stream's speed of the default engine/driver
    tar = machine_of(DEFAULT_BUILDKIT, Machine().storage).tar_mb_s
    assert builds[1].extra["time"]["context_seconds"] >= 80_000_000 / (tar * 1e6)


def test_a_bad_timing_section_names_its_line():
    """An unknown machine figure is an InputError with the file and line."""
    text = DECLARED.replace("pull: false,", "pul: false,")
    scenario = loads(text, "test.yaml")
    with pytest.raises(InputError) as caught:
        parse_timing(scenario.timing, "test.yaml")
    assert caught.value.one_line().startswith("test.yaml:8: unknown machine figure 'pul'")


def test_json_gains_sources_and_sizes():
    """`--format json` carries seconds, seconds_source and layer_bytes per step."""
    done = subprocess.run(
        [sys.executable, "-m", "cachesim.app.cli", "run", str(EXAMPLE), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    build = json.loads(done.stdout)["builds"][1]
    assert "seconds" in build and "sizes" in build
    step = build["steps"][-1]
    assert step["seconds_source"] == "default"
    assert step["layer_bytes"] == 100_000_000  # the pip row of the defaults table


def test_a_for_loop_costs_its_body_once_per_item():
    """The shell runs a ``for`` body once per word of its list (POSIX ``for name in
    words``), so files and sleeps inside it count that many times: the accuracy scenario
    files-20k-behind-arg makes 100 folders of 200 files (a real 20.10 build of it wrote
    20,000 inodes); counted once, the body gave 200. A ``while`` body's count is unknown."""
    machine = Machine()
    nested = "for d in $(seq 1 100); do mkdir p$d && (cd p$d && seq 1 200 | xargs touch); done"
    assert estimate_run(nested, machine).files == 20_000
    assert estimate_run("for i in $(seq 5 2 13); do touch f$i; done", machine).files == 5
    assert estimate_run("for i in a b c; do sleep 1; done", machine).idle == 3.0
    assert estimate_run("for i in $(seq 1 50); do echo $i > f$i; done", machine).files == 50
    assert estimate_run("while true; do sleep 2; done", machine).idle == 2.0
    assert estimate_run("for f in *.txt; do cat $f; done", machine).files == 0


def test_a_package_managers_table_files_shrink_with_a_measured_layer():
    """A history gives a layer's bytes, never its files. The accuracy scenario
    npm-install-shape runs the stand-in ``npm ci`` and then makes 120 x 50 empty files;
    `docker history` (Docker 20.10, accuracy run D) sized the layer at 286 B, so npm ci's
    table figure (20,000 files of 200 MB) is not in it, and the 6,000 files the script
    counts are."""
    script = (
        "npm ci && cd node_modules && for p in $(seq 1 120); do mkdir -p pkg$p/lib; "
        "cd pkg$p/lib && seq 1 50 | xargs touch && cd ../..; done"
    )
    estimate = estimate_run(script, Machine())
    assert estimate.files == 26_000  # unmeasured: the table's files and the counted ones
    assert estimate.files_given(286) == 6_000
    assert estimate.files_given(estimate.bytes) == 26_000  # a full-size layer keeps them
    plain = estimate_run("seq 1 300 | xargs touch", Machine())
    assert plain.files_given(0) == 300  # counted files are never scaled away


TICKING = """
name: tick
dockerfile: |
  FROM alpine:3.20
  COPY a.txt /a.txt
  RUN cat /a.txt > /b.txt
files: {a.txt: "1\\n"}
timing:
  machine: {storage: vfs, pull: false, export_seconds: 0.05, build_seconds: 0.05, export_tick_seconds: 1.0, export_tick_lead: LEAD}
  steps: {"RUN cat": {seconds: RUN_SECONDS}}
builds:
  - name: cold
  - {name: edit, changes: [{edit: a.txt, content: "2\\n"}]}
"""


def _edit_wall(lead: float, run_seconds: float = 0.1) -> float:
    text = TICKING.replace("LEAD", str(lead)).replace("RUN_SECONDS", str(run_seconds))
    return costed(text).builds[1].seconds


def test_a_vfs_export_ends_on_the_next_whole_second_of_the_clock():
    """Seen on Docker 20.10/vfs (2026-12-01, this Dockerfile rebuilt eight times with the
    plain log time-stamped; docs/time-model.md "Exports that end on a tick"): every
    rebuild's export ended 10-20 ms after a whole second of the wall clock, so a rebuild
    started 0.02 s after one took 0.98-1.0 s, and one started 0.5 s after one took 0.5 s.
    An export whose own work runs past that second does not wait for the next."""
    assert _edit_wall(0.02) == pytest.approx(0.98, abs=1e-3)
    assert _edit_wall(0.5) == pytest.approx(0.5, abs=1e-3)
    long = _edit_wall(0.02, run_seconds=1.5)  # the steps end past the first second
    assert long == pytest.approx(1.98, abs=1e-3)
    no_clock = TICKING.replace("export_tick_seconds: 1.0", "export_tick_seconds: 0")
    untimed = costed(no_clock.replace("LEAD", "0").replace("RUN_SECONDS", "0.1"))
    assert untimed.builds[1].seconds < 0.98  # without the clock, only the work
