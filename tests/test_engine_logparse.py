"""Reading real ``docker build`` logs (captured from Engine 20.10, in tests/engine_logs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cachesim.logs.parse import (
    ObservedStep,
    parse_buildkit_log,
    parse_legacy_log,
    parse_log,
    stage_names,
)

LOGS = Path(__file__).parent / "engine_logs"
META = json.loads((LOGS / "meta.json").read_text())


def parse(name: str) -> tuple[list[ObservedStep], str | None, ObservedStep | None]:
    meta = META[name]
    text = (LOGS / name).read_text()
    return parse_log(text, meta["engine"], meta["exit_code"], stage_names(meta["dockerfile"]))


def table(steps: list[ObservedStep]) -> list[tuple[str, int, int, str]]:
    return [(s.stage, s.index, s.total, s.status) for s in steps]


def test_every_fixture_parses_and_agrees_with_its_exit_status():
    """Each captured log yields an error exactly when the build failed."""
    for name, meta in META.items():
        steps, error, failed = parse(name)
        assert (error is not None) == (meta["exit_code"] != 0), name
        if failed is not None:
            assert steps[-1] == failed or meta["engine"] == "buildkit", name


def test_stage_names_use_names_or_indexes():
    """Named stages keep their name (lower case), unnamed ones get their index."""
    text = "ARG X\nFROM a AS Builder\nRUN x \\\n  y\nFROM scratch\nFROM builder as t\n"
    assert stage_names(text) == ["builder", "1", "t"]
    assert stage_names("FROM --platform=linux/amd64 a AS b\n") == ["b"]


def test_buildkit_multistage_cold_dedups_identical_steps():
    """The FROM/WORKDIR/COPY shared by `builder` and stage 1 print once, under stage-1."""
    steps, error, failed = parse("buildkit-multi-cold.log")
    assert error is None and failed is None
    assert table(steps) == [
        ("builder", 4, 5, "built"),
        ("builder", 5, 5, "built"),
        ("1", 1, 4, "built"),
        ("1", 2, 4, "built"),
        ("1", 3, 4, "built"),
        ("1", 4, 4, "built"),
        ("envonly", 1, 1, "built"),
        ("final", 1, 3, "built"),
        ("final", 2, 3, "built"),
        ("final", 3, 3, "built"),
    ]
    assert steps[2].is_from and steps[2].image == "docker.io/library/python:3.12-slim"
    assert steps[2].instruction == "FROM docker.io/library/python:3.12-slim"
    assert steps[7].instruction == "COPY --from=builder /out /out"
    assert all(s.seconds is not None for s in steps)


def test_buildkit_cached_rebuild_prints_cached_but_from_done():
    """After editing app.py only its COPY runs; the FROMs still print DONE."""
    steps, _, _ = parse("buildkit-multi-edit-app.log")
    built = [(s.stage, s.index) for s in steps if s.status == "built"]
    assert built == [("1", 1), ("envonly", 1), ("final", 3)]
    assert all(s.seconds is None for s in steps if s.status == "cached")


def test_buildkit_target_builds_only_needed_stages():
    """With --target tester the builder stage prints all its steps under its own name."""
    steps, _, _ = parse("buildkit-multi-target-tester.log")
    assert table(steps) == [
        ("builder", 1, 5, "built"),
        ("builder", 2, 5, "cached"),
        ("builder", 3, 5, "cached"),
        ("builder", 4, 5, "cached"),
        ("builder", 5, 5, "cached"),
        ("tester", 1, 1, "built"),
    ]


def test_buildkit_single_stage_prints_no_stage_name():
    """`[2/4]` with no name is the only stage; instructions print expanded, in capitals."""
    text = (LOGS / "buildkit-single-cold.log").read_text()
    assert "[only 2/4]" in text  # COPY --from=image adds an implicit stage, so names show
    steps, _, _ = parse("buildkit-single-arg.log")
    assert [s.instruction for s in steps] == [
        "FROM docker.io/library/python:3.12-slim",
        "COPY b.txt /a",
        "RUN cat /a   && echo done",
        "COPY --from=alpine:3.20 /etc/cachesim-standin /x",
    ]
    plain = "#4 [2/3] COPY a.txt /a\n#4 DONE 0.1s\n"
    assert table(parse_buildkit_log(plain, ["web"])[0]) == [("web", 2, 3, "built")]
    assert table(parse_buildkit_log(plain)[0]) == [("0", 2, 3, "built")]


def test_buildkit_unnamed_stages_are_numbered():
    """`stage-0`/`stage-1` become "0"/"1"; stage 1's FROM ran once with stage 0's."""
    steps, _, _ = parse("buildkit-two-unnamed.log")
    assert table(steps) == [("0", 1, 2, "cached"), ("0", 2, 2, "built"), ("1", 2, 2, "built")]


def test_buildkit_failing_copy():
    """A missing COPY source fails at cache-key time; the error is the last line."""
    steps, error, failed = parse("buildkit-fail-copy-missing.log")
    assert error == 'failed to compute cache key: "/missing.txt" not found: not found'
    assert failed == steps[-1]
    assert (failed.stage, failed.index, failed.instruction) == ("0", 4, "COPY missing.txt /m")
    # COPY a.txt never ran, yet BuildKit printed CACHED for it (pending when the solve stopped)
    assert table(steps)[2] == ("0", 3, 5, "cached")


def test_buildkit_vertex_printed_twice_counts_as_built():
    """A vertex that prints CACHED, then output and DONE, did run."""
    text = (LOGS / "buildkit-pending-cached.log").read_text()
    assert text.count("[3/6] RUN echo run5") == 2
    steps, _, failed = parse("buildkit-pending-cached.log")
    assert table(steps)[2] == ("0", 3, 6, "built")
    assert failed is not None and failed.index == 5


def test_buildkit_failing_run():
    """A failing RUN: its vertex prints ERROR, the build error repeats the reason."""
    steps, error, failed = parse("buildkit-fail-run-fails.log")
    assert error == "executor failed running [/bin/sh -c echo two && false]: exit code: 1"
    assert table(steps) == [("b", 1, 4, "cached"), ("b", 2, 4, "built"), ("b", 3, 4, "failed")]
    assert failed is not None and failed.instruction == "RUN echo two && false"


def test_buildkit_errors_before_any_step():
    """A parse error or unknown target fails before any step, as one bare line."""
    steps, error, failed = parse("buildkit-parse-error.log")
    assert (steps, failed) == ([], None)
    assert error == (
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
        "dockerfile parse error line 3: unknown instruction: BOGUS"
    )
    steps, error, _ = parse("buildkit-bad-target.log")
    assert (
        steps == [] and error is not None and error.endswith("target stage nope could not be found")
    )


def test_buildkit_accepts_several_sources_without_trailing_slash():
    """Engine 20.10's BuildKit builds `COPY a.txt b.txt /dst`; the classic builder refuses."""
    assert parse("buildkit-multi-source.log")[1] is None
    _, error, failed = parse("legacy-multi-source.log")
    assert error == (
        "When using COPY with more than one source file, the destination must be a directory "
        "and end with a /"
    )
    assert failed is not None and failed.index == 3


def test_legacy_multistage_cold():
    """Classic steps are numbered across the file; every stage is built; FROM is flagged."""
    steps, error, failed = parse("legacy-multi-cold.log")
    assert (error, failed) == (None, None)
    assert len(steps) == 19 and {s.total for s in steps} == {19}
    assert [s.stage for s in steps if s.is_from] == ["builder", "1", "tester", "envonly", "final"]
    assert all(s.status == "cached" and s.image for s in steps if s.is_from)
    # stage 1 reuses the WORKDIR and COPY that `builder` made a moment before
    assert table(steps)[6:9] == [
        ("1", 7, 19, "cached"),
        ("1", 8, 19, "cached"),
        ("1", 9, 19, "built"),
    ]
    assert steps[12].instruction == "ENV A=1" and steps[12].status == "built"


def test_legacy_cached_rebuild_and_target():
    """Using cache -> cached; --target stops numbering at the target stage."""
    steps, _, _ = parse("legacy-multi-edit-app.log")
    assert [s.index for s in steps if s.status == "built"] == [18, 19]
    steps, _, _ = parse("legacy-multi-target-tester.log")
    assert steps[-1].stage == "tester" and steps[-1].total == 11


def test_legacy_failures():
    """The failing step is the last, without a resulting image; the error is the last line."""
    steps, error, failed = parse("legacy-fail-copy-missing.log")
    assert failed == steps[-1] and failed.status == "failed" and failed.index == 4
    assert error is not None and error.startswith("COPY failed: file not found in build context")
    steps, error, failed = parse("legacy-fail-run-fails.log")
    assert error == "The command '/bin/sh -c echo two && false' returned a non-zero code: 1"
    assert table(steps) == [("b", 1, 6, "cached"), ("b", 2, 6, "built"), ("b", 3, 6, "failed")]
    steps, error, _ = parse("legacy-parse-error.log")
    assert steps == []
    assert (
        error
        == "Error response from daemon: dockerfile parse error line 3: unknown instruction: BOGUS"
    )


def test_legacy_keeps_instructions_as_written():
    """The classic builder prints variables and keyword case as written."""
    steps, _, _ = parse("legacy-single-arg.log")
    assert steps[2].instruction == "COPY ${SRC} /a"
    assert steps[4].instruction.startswith("copy --from=alpine:3.20")
    assert steps[4].keyword == "COPY"
    assert steps[1].instruction == "ARG SRC=a.txt" and steps[1].status == "cached"


def test_legacy_arg_before_from_has_no_stage():
    """An ARG before the first FROM is a classic step of no stage."""
    log = "Step 1/3 : ARG B=x\nStep 2/3 : FROM x\n ---> 0123456789ab\nStep 3/3 : RUN a\n"
    log += " ---> Using cache\n ---> 0123456789ac\nSuccessfully built 0123456789ac\n"
    steps, error, _ = parse_legacy_log(log, 0)
    assert table(steps) == [("", 1, 3, "cached"), ("0", 2, 3, "cached"), ("0", 3, 3, "cached")]
    assert error is None


def test_unknown_engine_is_rejected():
    """parse_log names the bad engine."""
    with pytest.raises(ValueError, match="unknown engine 'kaniko'"):
        parse_log("", "kaniko", 0)


def test_a_successful_build_with_build_check_warnings_has_no_error():
    """Docker 28.5 ends a good build with its build checks' warnings (recorded 2026-12-01,
    notebooks/recorded/seed-multistage-docker28.5-buildkit.txt: exit status 0 and
    "1 warning found ... FromAsCasing"); exit status 0 is a success, not a failed build."""
    from cachesim.logs.parse import parse_log

    root = Path(__file__).resolve().parents[1]
    recorded = (root / "notebooks/recorded/seed-multistage-docker28.5-buildkit.txt").read_text()
    first_build = recorded.split("# the engine's log:\n", 1)[1].split("\n$ ", 1)[0]
    assert "FromAsCasing" in first_build
    steps, error, failed = parse_log(first_build, "buildkit", 0, ["builder", "1"])
    assert error is None and failed is None
    assert [s.status for s in steps if not s.is_from] == ["built"] * 5
    steps, error, _ = parse_log(first_build, "buildkit", 1, ["builder", "1"])
    assert error is not None


# --- Docker 28.5 (BuildKit v0.25, the 28.x client with buildx) and step-number padding -----


def test_padded_step_numbers_parse_on_both_engines():
    """A stage of 10+ steps prints `[ 2/11]` and `[build  2/10]`; every step is read."""
    for prefix in ("buildkit", "buildkit28"):
        steps, error, _ = parse(f"{prefix}-ten-steps.log")
        assert error is None
        assert [(s.index, s.total) for s in steps] == [(i, 11) for i in range(1, 12)], prefix
        assert steps[9].instruction == "RUN echo 10 > /f10"
        named, _, _ = parse(f"{prefix}-ten-steps-named.log")
        assert [(s.stage, s.index) for s in named][:3] == [("build", 1), ("build", 2), ("build", 3)]
        assert named[1].status == "cached" and named[2].status == "built"
        assert (named[-1].stage, named[-1].index, named[-1].total) == ("1", 2, 2)


def test_modern_client_log_opens_with_builder_line_and_names_bases_in_full():
    """`#0 building with ...` is not a step; FROM names docker.io/library/python:3.12-slim."""
    steps, error, failed = parse("buildkit28-single-cold.log")
    assert error is None and failed is None
    assert table(steps) == [("0", i, 4, "built") for i in range(1, 5)]
    assert steps[0].image == "docker.io/library/python:3.12-slim"


def test_modern_missing_copy_source_error_and_failed_step():
    """28.5 quotes the Dockerfile and ends with one `ERROR:` line: that line is the error."""
    _, error, failed = parse("buildkit28-fail-copy-missing.log")
    assert failed is not None and (failed.stage, failed.index) == ("0", 4)
    assert error is not None and error.startswith(
        "failed to build: failed to solve: failed to compute cache key: "
        "failed to calculate checksum of ref "
    )
    assert error.endswith('"/missing.txt": not found')


def test_modern_errors_before_any_step():
    """A parse error and an unknown target are the last `ERROR:` line, with no step."""
    steps, error, failed = parse("buildkit28-parse-error.log")
    assert steps == [] and failed is None
    assert error == (
        "failed to build: failed to solve: dockerfile parse error on line 3: "
        "unknown instruction: BOGUS"
    )
    _, error, _ = parse("buildkit28-bad-target.log")
    assert error == 'failed to build: failed to solve: target stage "nope" could not be found'


def test_modern_run_failure():
    """A RUN that exits 1 is the failed step; the error says the exit code."""
    _, error, failed = parse("buildkit28-fail-run-fails.log")
    assert failed is not None and (failed.stage, failed.index, failed.status) == ("b", 3, "failed")
    assert error == (
        'failed to build: failed to solve: process "/bin/sh -c echo two && false" '
        "did not complete successfully: exit code: 1"
    )


def test_build_check_warnings_and_git_warning_are_not_errors():
    """`3 warnings found` (coloured) and buildx's git WARNING end a successful build."""
    log = (LOGS / "buildkit28-warnings.log").read_text()
    assert "3 warnings found" in log and "\x1b[" in log
    steps, error, _ = parse_buildkit_log(log, ["builder", "1"])
    assert error is None
    assert table(steps) == [
        ("builder", 1, 2, "built"),
        ("builder", 2, 2, "built"),
        ("1", 1, 1, "built"),
    ]
    git_log = (LOGS / "buildkit28-git-context.log").read_text()
    assert "WARNING: current commit information was not captured" in git_log
    assert parse_buildkit_log(git_log, ["0"])[1] is None
    assert parse("buildkit28-git-context.log")[1] is None


def test_exit_zero_is_never_a_failed_build():
    """Whatever follows the steps, a build that exited 0 has no error."""
    log = (LOGS / "buildkit28-single-cold.log").read_text() + "something unexpected\n"
    assert parse_buildkit_log(log, ["0"])[1] == "something unexpected"
    assert parse_log(log, "buildkit", 0, ["0"])[1] is None


def test_classic_builder_on_28_with_its_deprecation_notice():
    """28.5's client prints DEPRECATED first and `---> Removed intermediate container`."""
    steps, error, _ = parse("legacy28-fail-run-fails.log")
    assert (
        "DEPRECATED: The legacy builder is deprecated"
        in (LOGS / "legacy28-fail-run-fails.log").read_text()
    )
    assert table(steps) == [("b", 1, 6, "cached"), ("b", 2, 6, "built"), ("b", 3, 6, "failed")]
    assert error == "The command '/bin/sh -c echo two && false' returned a non-zero code: 1"
    cached, _, _ = parse("legacy28-multi-edit-app.log")
    assert [s.index for s in cached if s.status == "built"] == [18, 19]  # COPY app.py, then CMD
    _, error, _ = parse("legacy28-parse-error.log")
    assert (
        error
        == "Error response from daemon: dockerfile parse error on line 3: unknown instruction: BOGUS"
    )


def test_modern_fixtures_record_their_engine():
    """Every 28.5 log names the engine and the date it was recorded."""
    modern = {n: m for n, m in META.items() if "28-" in n}
    assert len(modern) >= 15
    for name, meta in modern.items():
        assert meta["docker_server"].startswith("28.5"), name
        assert meta["recorded"], name
