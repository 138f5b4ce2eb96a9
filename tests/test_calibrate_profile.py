"""`run --calibrate LOG` and `calibrate LOG -o P` + `run --profile P` predict the same.

Issue 10: on the same cold-build logs the two ways disagreed (14% against 28% median
error), because the in-run calibration read the scenario's stage names and the engine's
storage driver could only be given to `calibrate`. Now a profile is read from the log
alone and carries everything the model uses. Each case is a real recorded log
(tests/timing_logs and tests/timing_logs/modern/README.md) with its scenario; every
build's seconds and every step's seconds, source and layer size must be equal.
"""

import contextlib
import io
import json
from pathlib import Path

import pytest

from cachesim.app.cli import main
from cachesim.core.errors import InputError
from cachesim.cost.calibrate import load_profile

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "timing_logs"
MODERN = LOGS / "modern"
DEMO = LOGS / "timing-demo.yaml"
TENSTEPS = MODERN / "tensteps.yaml"
MULTI = MODERN / "multi.yaml"

# (scenario, log, options for both calibrations, options for run only)
CASES = [
    (DEMO, LOGS / "buildkit-cold.log", ["--history", str(LOGS / "buildkit-cold-history.txt")], []),
    (DEMO, LOGS / "legacy-cold-stamped.log", ["--storage", "vfs"], ["--engine", "legacy"]),
    (
        TENSTEPS,
        LOGS / "buildkit-tensteps-cold.log",
        ["--storage", "vfs", "--buildkit", "0.8"],
        [],
    ),
    (
        TENSTEPS,
        MODERN / "vfs-tensteps-plain.log",
        ["--storage", "vfs", "--history", str(MODERN / "vfs-tensteps-history.txt")],
        [],
    ),
    (TENSTEPS, MODERN / "vfs-tensteps-rawjson.log", ["--storage", "vfs"], []),
    (TENSTEPS, MODERN / "vfs-tensteps.dockerbuild", ["--storage", "vfs", "--buildkit", "0.25"], []),
    (
        MULTI,
        MODERN / "overlay2-multi-plain.log",
        ["--storage", "overlay2", "--history", str(MODERN / "overlay2-multi-history.txt")],
        [],
    ),
    (MULTI, MODERN / "overlayfs-multi.dockerbuild", ["--storage", "overlayfs"], []),
]


def run_cli(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def figures(document: str) -> list:
    """Every build's seconds and, per step, its seconds, their source and its layer."""
    builds = json.loads(document)["builds"]
    return [
        (
            b["name"],
            b["seconds"],
            [
                (s["instruction"], s["seconds"], s["seconds_source"], s["layer_bytes"])
                for s in b["steps"]
            ],
        )
        for b in builds
    ]


@pytest.mark.parametrize(
    ("scenario", "log", "options", "run_options"),
    CASES,
    ids=[f"{c[0].stem}-{c[1].name}" for c in CASES],
)
def test_in_run_calibration_and_a_profile_file_predict_the_same(
    tmp_path, scenario, log, options, run_options
):
    profile = tmp_path / "profile.yaml"
    run_cli(["calibrate", str(log), *options, "-o", str(profile)])
    in_run = run_cli(
        ["run", str(scenario), "--calibrate", str(log), *options, *run_options, "--format", "json"]
    )
    from_file = run_cli(
        ["run", str(scenario), "--profile", str(profile), *run_options, "--format", "json"]
    )
    assert figures(in_run) == figures(from_file)
    assert in_run == from_file  # nothing else differs either
    measured = [s for _, _, steps in figures(in_run) for s in steps if s[2] == "measured"]
    assert measured, "the log's times were used"


def test_the_profile_carries_the_storage_driver_and_buildkit(tmp_path):
    """Storage changes predictions, so the file must hold it. On overlay2 a snapshot is no
    copy of its parent (docs/time-model.md), so a rebuilt RUN costs what the log measured:
    `[13/13] RUN echo 12 > /f12`, 15:38:24.415 to 15:38:24.872 in the archive's trace. On
    vfs the cold copy is taken off the measured time and a warm one added."""
    args = [str(MODERN / "vfs-tensteps.dockerbuild"), "--buildkit", "0.25"]
    predictions = {}
    for driver in ("vfs", "overlay2"):
        path = tmp_path / f"{driver}.yaml"
        run_cli(["calibrate", *args, "--storage", driver, "-o", str(path)])
        profile = load_profile(str(path))
        assert profile.machine["storage"] == driver and profile.buildkit == "0.25"
        predictions[driver] = figures(
            run_cli(["run", str(TENSTEPS), "--profile", str(path), "--format", "json"])
        )
    edit_vfs, edit_overlay2 = predictions["vfs"][1], predictions["overlay2"][1]
    last_vfs, last_overlay2 = edit_vfs[2][-1], edit_overlay2[2][-1]
    assert last_overlay2[:1] == ("RUN echo 12 > /f12",)
    assert last_overlay2[1] == pytest.approx(0.457, abs=0.002)
    assert last_overlay2[2] == last_vfs[2] == "measured"
    assert abs(last_vfs[1] - last_overlay2[1]) > 0.05


def test_the_profile_buildkit_chooses_the_rules_unless_run_names_one(tmp_path):
    """A `RUN --network=none` is 0.25 syntax: 20.10's BuildKit (0.8) rejects it."""
    scenario = tmp_path / "net.yaml"
    scenario.write_text(
        "name: net\nengine: buildkit\ndockerfile: |\n  FROM python:3.12-slim\n"
        "  RUN --network=none echo hi\nbuilds:\n  - name: cold\n"
    )
    profile = tmp_path / "p.yaml"
    run_cli(
        [
            "calibrate",
            str(LOGS / "buildkit-tensteps-cold.log"),
            "--buildkit",
            "0.8",
            "-o",
            str(profile),
        ]
    )
    old = json.loads(run_cli(["run", str(scenario), "--profile", str(profile), "--format", "json"]))
    new = json.loads(
        run_cli(
            [
                "run",
                str(scenario),
                "--profile",
                str(profile),
                "--buildkit",
                "0.25",
                "--format",
                "json",
            ]
        )
    )
    assert old["builds"][0].get("error") and not new["builds"][0].get("error")


def test_a_format_1_profile_still_loads(tmp_path):
    """What `calibrate` wrote before the format carried the BuildKit and the log format."""
    path = tmp_path / "old.yaml"
    path.write_text(
        "cachesim_profile: 1\nengine: buildkit\nsource: build.log\n"
        "machine: {pull: false, storage: vfs}\nimages: {python:3.12-slim: 1980000}\n"
        "steps:\n- {stage: '0', index: 3, instruction: RUN sleep 2, seconds: 2.1, bytes: 0}\n"
    )
    profile = load_profile(str(path))
    assert profile.buildkit is None and profile.log_format == ""
    assert profile.steps[0].seconds == 2.1 and profile.machine["storage"] == "vfs"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cachesim_profile: 3\nengine: buildkit\n",
            "profile format 3 is not one this cachesim reads",
        ),
        ("cachesim_profile: 2\nengine: buildkit\nbuildkit: '0.9'\n", "unknown BuildKit '0.9'"),
        (
            "cachesim_profile: 2\nengine: buildkit\nmachine: {storage: zfs}\n",
            "storage must be one of",
        ),
        (
            "cachesim_profile: 2\nengine: buildkit\nsteps:\n- {instruction: RUN x, index: two}\n",
            "bad step index 'two'",
        ),
    ],
)
def test_a_bad_profile_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_profile(str(path))
    assert message in caught.value.message and caught.value.file == str(path)


def test_storage_without_calibrate_is_refused(capsys):
    assert main(["run", str(DEMO), "--storage", "vfs"]) == 2
    assert capsys.readouterr().err == "error: --storage goes with --calibrate\n"
