"""Failures in Docker 28.5's words (BuildKit 0.25), held against its recorded logs."""

from __future__ import annotations

import json
from pathlib import Path

from cachesim.core.wording import worded_for
from cachesim.engine.compare import reason_matches
from cachesim.simulation.simulator import rules_for

LOGS = Path(__file__).parent / "engine_logs"
META = json.loads((LOGS / "meta.json").read_text())


def engine_error(name: str) -> str:
    """The error line a recorded 28.5 log ends with, as the log parser reads it."""
    from cachesim.logs.parse import parse_log, stage_names

    meta = META[name]
    text = (LOGS / name).read_text()
    _, error, _ = parse_log(
        text, meta["engine"], meta["exit_code"], stage_names(meta["dockerfile"])
    )
    assert error is not None
    return error


def test_buildkit_025_words_match_what_28_5_printed():
    """Missing COPY source and unknown target, as 28.5.2 printed them."""
    rules = rules_for("buildkit", "0.25")
    cases = {
        "buildkit28-fail-copy-missing.log": 'failed to compute cache key: "/missing.txt" not found: not found',
        "buildkit28-bad-target.log": "target stage nope could not be found",
    }
    for log, planner_words in cases.items():
        predicted = rules.wording(planner_words)
        assert predicted != planner_words, log
        assert reason_matches(predicted, engine_error(log)), (log, predicted)
        assert not reason_matches(planner_words, engine_error(log)), log


def test_buildkit_08_words_stay_as_20_10_printed_them():
    """Version 0.8 keeps the planner's words; they match 20.10's logs."""
    rules = rules_for("buildkit", "0.8")
    for log, words in {
        "buildkit-fail-copy-missing.log": 'failed to compute cache key: "/missing.txt" not found: not found',
        "buildkit-bad-target.log": "target stage nope could not be found",
        "buildkit-parse-error.log": "dockerfile parse error line 3: unknown instruction: BOGUS",
    }.items():
        assert rules.wording(words) == words
        assert reason_matches(words, engine_error(log)), log


def test_the_classic_builder_words_alike_on_both_releases():
    """28.5's classic builder printed a missing COPY source as 20.10's did."""
    words = (
        "COPY failed: file not found in build context or excluded by .dockerignore: "
        "stat missing.txt: file does not exist"
    )
    for version, log in (
        ("0.8", "legacy-fail-copy-missing.log"),
        ("0.25", "legacy28-fail-copy-missing.log"),
    ):
        assert rules_for("legacy", version).wording(words) == words
        assert reason_matches(words, engine_error(log)), log
    assert rules_for("legacy", "0.8").wording("target stage nope could not be found") == (
        "failed to reach build target nope in Dockerfile"
    )
    assert reason_matches(
        "failed to reach build target nope in Dockerfile", engine_error("legacy-bad-target.log")
    )


def test_the_classic_builder_of_28_5_words_an_unknown_target_as_buildkit():
    """28.5's daemon: `target stage "nope" could not be found` (legacy28-bad-target.log)."""
    predicted = rules_for("legacy", "0.25").wording("target stage nope could not be found")
    assert predicted == 'target stage "nope" could not be found'
    assert reason_matches(predicted, engine_error("legacy28-bad-target.log"))


def test_unknown_wording_is_left_alone():
    """A reason no rewrite names is printed as the planner words it, on every version."""
    for version in ("0.8", "0.25"):
        assert worded_for("mkdir /app: not a directory", "buildkit", version) == (
            "mkdir /app: not a directory"
        )


def test_reason_matching_reads_ids_and_snapshot_paths_as_the_engine_varies_them():
    """A checksum ref id and a host snapshot path are not part of the reason."""
    observed = (
        "failed to build: failed to solve: failed to compute cache key: failed to calculate "
        'checksum of ref 95e7e58e-c43d-4e88-8bc5-b458544ef478::p2io8nrt3n2i3swm7zfr8modm: "/prod.env": not found'
    )
    assert reason_matches(
        'failed to compute cache key: failed to calculate checksum of ref ...: "/prod.env": not found',
        observed,
    )
    assert not reason_matches(
        'failed to compute cache key: failed to calculate checksum of ref ...: "/other": not found',
        observed,
    )
    host = "mkdir /tmp/E-e20/root/vfs/dir/vsn4o506z5v0s7lp0a5kz4dra/app: not a directory"
    assert reason_matches("mkdir /app: not a directory", host)
    assert not reason_matches("mkdir /src: not a directory", host)
