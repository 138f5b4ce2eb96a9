"""Calibration from real build logs (tests/timing_logs, captured on Docker Engine 20.10).

buildkit-cold.log, buildkit-cold-history.txt: the cold build of timing-demo.yaml with
BuildKit and `docker history --no-trunc` of its image; legacy-cold.log (+ history): the
same with the classic builder; legacy-cold-stamped.log: the classic build piped through a
time stamper (seconds since start). Expected figures are read from the logs in the tests
with plain regular expressions, never from the code under test.
"""

import re
import subprocess
from pathlib import Path

import pytest

from cachesim.core.errors import InputError
from cachesim.cost.calibrate import calibrate, load_profile, profile_to_yaml
from cachesim.cost.model import apply_costs
from cachesim.simulation.simulator import simulate, trace
from cachesim.sources.scenario import load
from tests.helpers import cachesim

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "timing_logs"
SCENARIO = LOGS / "timing-demo.yaml"
BK_LOG = LOGS / "buildkit-cold.log"
BK_HISTORY = LOGS / "buildkit-cold-history.txt"
STAMPED = LOGS / "legacy-cold-stamped.log"


def done_seconds(log: str, instruction: str) -> float:
    """The `#N DONE x.ys` of the vertex whose header names ``instruction``."""
    number = re.search(r"^#(\d+) \[[^\]]*\] " + re.escape(instruction) + "$", log, re.M).group(1)
    return float(re.search(rf"^#{number} DONE (\d+\.\d+)s$", log, re.M).group(1))


def test_steps_get_the_times_the_log_printed():
    """Each built step's measured seconds are its `DONE` time in the log."""
    log = BK_LOG.read_text()
    profile = calibrate(log, str(BK_LOG))
    by_text = {s.instruction: s.seconds for s in profile.steps}
    for instruction in ("RUN sleep 2", "RUN pip install -r requirements.txt", "COPY app.py ."):
        assert by_text[instruction] == done_seconds(log, instruction)
    assert profile.machine["pull"] is False  # FROM took 0.1 s: the image was local


def test_history_gives_layer_sizes_and_the_base_image():
    """`docker history` sizes land on the steps that made them; the rest is the base."""
    history = BK_HISTORY.read_text()
    profile = calibrate(BK_LOG.read_text(), str(BK_LOG), history=history)
    dd = next(s for s in profile.steps if s.instruction.startswith("RUN dd"))
    assert dd.bytes == 31_500_000  # "31.5MB" in the history
    assert profile.images["python:3.12-slim"] == 1_980_000  # the stand-in's "1.98MB"


def test_a_calibrated_profile_changes_later_predictions():
    """The stub pip step takes 20 s by default, but its measured time once calibrated."""
    scenario = load(SCENARIO)
    log = BK_LOG.read_text()
    default = apply_costs(scenario, simulate(scenario))
    profile = calibrate(log, str(BK_LOG))
    measured = apply_costs(scenario, simulate(scenario), profile)
    later = 2  # "new dependency": pip install runs again
    pip_default = default.builds[later].steps[5]
    pip_measured = measured.builds[later].steps[5]
    assert pip_default.instruction == "RUN pip install -r requirements.txt"
    assert pip_default.seconds_source == "default" and pip_default.seconds > 20
    assert pip_measured.seconds_source == "measured"
    assert pip_measured.seconds == pytest.approx(done_seconds(log, pip_measured.instruction))
    assert measured.builds[later].seconds < default.builds[later].seconds / 5


def test_the_profile_file_round_trips():
    """What `calibrate -o` writes, `run --profile` reads back to the same figures."""
    profile = calibrate(BK_LOG.read_text(), str(BK_LOG), history=BK_HISTORY.read_text())
    path = LOGS.parent / "timing-profile.tmp.yaml"
    try:
        path.write_text(profile_to_yaml(profile))
        again = load_profile(str(path))
    finally:
        path.unlink()
    assert again.steps == profile.steps
    assert dict(again.machine) == dict(profile.machine)
    assert dict(again.images) == dict(profile.images)


def test_a_time_stamped_classic_log_gives_step_times():
    """Classic builder: a step lasts from its `Step` line to the next one's stamp."""
    text = STAMPED.read_text()
    profile = calibrate(text, str(STAMPED))
    stamps = {
        m.group(2): float(m.group(1))
        for m in re.finditer(r"^(\d+\.\d+) Step \d+/\d+ : (.*)$", text, re.M)
    }
    sleep = next(s for s in profile.steps if s.instruction == "RUN sleep 2")
    assert sleep.seconds == pytest.approx(
        stamps["RUN dd if=/dev/zero of=/data.bin bs=1M count=30"] - stamps["RUN sleep 2"]
    )


def test_cli_calibrate_and_run_with_the_profile(tmp_path):
    """`cachesim calibrate LOG -o FILE`, then `run --profile FILE` shows measured times."""
    out = tmp_path / "profile.yaml"
    done = cachesim("calibrate", str(BK_LOG), "--history", str(BK_HISTORY), "-o", str(out))
    assert done.returncode == 0, done.stderr
    run = cachesim("run", str(SCENARIO), "--profile", str(out), "--format", "json")
    assert run.returncode == 0, run.stderr
    assert '"seconds_source": "measured"' in run.stdout
    same = cachesim("run", str(SCENARIO), "--calibrate", str(BK_LOG), "--format", "json")
    assert same.returncode == 0, same.stderr


def _bad(tmp_path, name: str, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.write_text(text)
    return cachesim("calibrate", str(path))


def test_a_truncated_buildkit_log_names_the_unfinished_step(tmp_path):
    """Cut inside the sleep step: one line, the file and the step's header line, exit 2."""
    lines = BK_LOG.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.endswith("RUN sleep 2"))
    done = _bad(tmp_path, "cut.log", "\n".join(lines[: header + 2]) + "\n")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'cut.log'}:{header + 1}: truncated log")


def test_a_log_cut_before_the_export_is_truncated(tmp_path):
    """Every step finished but the export never came: the last line is named."""
    lines = BK_LOG.read_text().splitlines()
    export = next(i for i, line in enumerate(lines) if "exporting to image" in line)
    done = _bad(tmp_path, "noexport.log", "\n".join(lines[:export]) + "\n")
    assert done.returncode == 2
    assert f"noexport.log:{export}: truncated log" in done.stderr


def test_a_malformed_time_is_refused(tmp_path):
    """`#6 DONE soon` is not a BuildKit time."""
    text = BK_LOG.read_text().replace("#6 DONE 2.1s", "#6 DONE soon", 1)
    line = text.splitlines().index("#6 DONE soon") + 1
    done = _bad(tmp_path, "bad.log", text)
    assert done.returncode == 2
    assert f"bad.log:{line}: malformed time" in done.stderr


def test_text_that_is_no_build_log_is_refused(tmp_path):
    """A README is not a log: line 1, exit 2."""
    done = _bad(tmp_path, "notes.txt", "hello\nworld\n")
    assert done.returncode == 2
    assert "notes.txt:1: not a docker build log" in done.stderr


def test_a_truncated_classic_log_is_refused(tmp_path):
    """The classic log without its last step and 'Successfully built'."""
    lines = (LOGS / "legacy-cold.log").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("Step 7/7"))
    done = _bad(tmp_path, "cut-legacy.log", "\n".join(lines[:cut]) + "\n")
    assert done.returncode == 2
    assert f"cut-legacy.log:{cut}: truncated log" in done.stderr


def test_a_failed_build_is_no_calibration():
    """A real failed build (tests/engine_logs) names the line of the ERROR."""
    path = ROOT / "tests" / "engine_logs" / "buildkit-fail-run-fails.log"
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if re.match(r"^#\d+ ERROR", text))
    with pytest.raises(InputError) as caught:
        calibrate(path.read_text(), str(path))
    assert caught.value.line == line
    assert "the build failed" in caught.value.message


def test_a_missing_log_is_bad_input():
    """A log that does not exist: exit 2, one line naming it."""
    done = cachesim("run", str(SCENARIO), "--calibrate", "no-such.log")
    assert done.returncode == 2
    assert done.stderr == "error: no-such.log: no such build log\n"


def test_history_sizes_a_copy_from_another_stage():
    """BuildKit's history writes ``COPY --from=build /out/server /usr/local/bin/server`` as
    ``COPY /out/server /usr/local/bin/server # buildkit`` (real files: a cold build of the
    go-multistage accuracy scenario on Docker 20.10 and its `docker history`); the layer's
    15.7MB must land on that step, and the 2.03MB below it is the final stage's base."""
    log = LOGS / "buildkit-gostages-cold.log"
    history = (LOGS / "buildkit-gostages-cold-history.txt").read_text()
    profile = calibrate(log.read_text(), str(log), history=history)
    copy = next(s for s in profile.steps if s.instruction.startswith("COPY --from=build"))
    assert copy.bytes == 15_700_000
    assert profile.images == {"alpine:3.20": 2_030_000}
    go_build = next(s for s in profile.steps if s.instruction.startswith("RUN go build"))
    assert go_build.bytes is None  # the build stage is not in the final image's history


def test_image_listing_sizes_the_bases_of_other_stages(tmp_path):
    """`docker image ls` sizes the base images of stages that the target's history does not
    show; the history's own base figure wins for the target's base (it is the sum of the
    base's layers). Both forms of the listing are read; a malformed line is one error with
    the file and line."""
    log = LOGS / "buildkit-gostages-cold.log"
    history = (LOGS / "buildkit-gostages-cold-history.txt").read_text()
    table = (
        "REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n"
        "golang       1.22      0123456789ab   10 seconds ago   2.1MB\n"
        "alpine       3.20      ba9876543210   10 seconds ago   2.5MB\n"
        "<none>       <none>    ffffffffffff   1 minute ago     9MB\n"
    )
    profile = calibrate(log.read_text(), str(log), history=history, images=table)
    assert profile.images == {"golang:1.22": 2_100_000, "alpine:3.20": 2_030_000}
    tabbed = "golang:1.22\t2.1MB\nalpine:3.20\t2.5MB\n"
    assert calibrate(log.read_text(), str(log), images=tabbed).images == {
        "golang:1.22": 2_100_000,
        "alpine:3.20": 2_500_000,
    }
    bad = tmp_path / "images.txt"
    bad.write_text("golang:1.22\t2.1MB\ngolang 1.22\n")
    done = cachesim("calibrate", str(log), "--images", str(bad), "-o", str(tmp_path / "p.yaml"))
    assert done.returncode == 2
    assert f"{bad}:2" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_history_sizes_a_run_that_build_arguments_reach():
    """A RUN that a build argument reaches is written in `docker history` as ``RUN |1
    DATA=1 /bin/sh -c dd ... && echo $DATA > /data.version``, unexpanded, while the log
    prints ``echo 1``; its 419MB must land on that step (real files: a cold build of the
    dd-400-behind-arg accuracy scenario on Docker 20.10, and its history)."""
    log = LOGS / "buildkit-argrun-cold.log"
    history = (LOGS / "buildkit-argrun-cold-history.txt").read_text()
    profile = calibrate(log.read_text(), str(log), history=history)
    dd = next(s for s in profile.steps if s.instruction.startswith("RUN dd"))
    assert dd.bytes == 419_000_000


CACHE_MOUNT = LOGS / "cachemount.yaml"  # benchmarks/accuracy/27-cache-mount-files-miss.yaml
CACHE_MOUNT_LOG = LOGS / "buildkit-cachemount-cold.log"  # its cold build, Docker 20.10/vfs
CACHE_MOUNT_HISTORY = LOGS / "buildkit-cachemount-cold-history.txt"


def test_a_cache_mount_kept_from_an_earlier_build_makes_the_measured_run_cheaper():
    """The RUN fills its cache mount with 5,000 files when the mount is empty (the
    calibration log's cold build: the RUN took 2.0 s there). Measured on Docker 20.10/vfs
    (accuracy run D, medians of 3): "new dependency" 0.88 s and "another dependency"
    0.93 s, where the mount was kept from the build before; "after prune" 1.67 s, where
    `docker builder prune -af` had emptied it. So a hit must cost less than the miss after
    the prune, and the two hits the same."""
    scenario = load(CACHE_MOUNT)
    log = CACHE_MOUNT_LOG.read_text()
    history = CACHE_MOUNT_HISTORY.read_text()
    profile = calibrate(log, str(CACHE_MOUNT_LOG), history=history, storage="vfs", buildkit="0.8")
    result = apply_costs(scenario, trace(scenario, "0.8"), profile)
    names = [b.name for b in result.builds]
    assert names == ["cold", "new dependency", "after prune", "another dependency"]

    def mounted_run(build):
        (step,) = [s for s in build.steps if "--mount=type=cache" in s.instruction]
        assert step.status == "built" and step.seconds_source == "measured"
        return step.seconds

    cold, hit, pruned, hit_again = (mounted_run(b) for b in result.builds)
    assert hit < pruned and hit < cold
    assert hit == pytest.approx(hit_again)
    assert result.builds[1].seconds < result.builds[2].seconds
