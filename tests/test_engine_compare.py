"""Comparing a prediction with what the real engine did (on captured logs)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from cachesim.engine.compare import Difference, compare
from cachesim.logs.parse import ObservedBuild, parse_log, stage_names

LOGS = Path(__file__).parent / "engine_logs"
META = json.loads((LOGS / "meta.json").read_text())


def observed(name: str, build: str = "b", **changes: Any) -> ObservedBuild:
    meta = META[name]
    log = (LOGS / name).read_text()
    steps, error, failed = parse_log(
        log, meta["engine"], meta["exit_code"], stage_names(meta["dockerfile"])
    )
    obs = ObservedBuild(
        build, tuple(steps), error, meta["exit_code"], 1.0, log, meta["engine"], failed
    )
    return replace(obs, **changes)


def step(stage: str, index: int, total: int, instruction: str, status: str) -> dict[str, Any]:
    return {
        "stage": stage,
        "index": index,
        "total": total,
        "line": 1,
        "instruction": instruction,
        "status": status,
    }


def multi_prediction(statuses: dict[tuple[str, int], str]) -> dict[str, Any]:
    """The steps BuildKit shows for the multi-stage fixture, each stage listed whole."""
    rows = [
        ("builder", 1, 5, "FROM python:3.12-slim AS builder"),
        ("builder", 2, 5, "WORKDIR /src"),
        ("builder", 3, 5, "COPY req.txt ."),
        ("builder", 4, 5, "RUN pip install -r req.txt"),
        ("builder", 5, 5, "RUN echo built > /out"),
        ("1", 1, 4, "FROM python:3.12-slim"),
        ("1", 2, 4, "WORKDIR /src"),
        ("1", 3, 4, "COPY req.txt ."),
        ("1", 4, 4, "RUN echo unnamed > /u"),
        ("envonly", 1, 1, "FROM alpine:3.20 AS envonly"),
        ("final", 1, 3, "COPY --from=builder /out /out"),
        ("final", 2, 3, "COPY --from=1 /u /u"),
        ("final", 3, 3, "COPY app.py /app.py"),
    ]
    steps = [step(s, i, n, text, statuses.get((s, i), "cached")) for s, i, n, text in rows]
    return {"name": "b", "steps": steps}


def doc(*builds: dict[str, Any], engine: str = "buildkit") -> dict[str, Any]:
    return {"scenario": "t", "engine": engine, "builds": list(builds)}


def with_bases(obs: ObservedBuild, changed: bool) -> ObservedBuild:
    steps = tuple(replace(s, base_changed=changed) if s.is_from else s for s in obs.steps)
    return replace(obs, steps=steps)


def test_matching_prediction_has_no_differences():
    """A prediction that says what the engine did, dedup twins included, is clean."""
    pred = multi_prediction({("final", 3): "built"})
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=False)
    assert compare(doc(pred), [obs]) == []


def test_a_status_difference_is_described():
    """A step predicted cached that the engine built is one difference, in words."""
    pred = multi_prediction({})
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=False)
    diffs = compare(doc(pred), [obs])
    assert diffs == [
        Difference("b", "status", "final", 3, "COPY app.py /app.py", "cached", "built")
    ]
    assert diffs[0].describe() == (
        "build 'b', stage final step 3 (COPY app.py /app.py): predicted cached, the engine built"
    )


def test_dedup_twin_must_agree():
    """builder 1-3 were not printed: their twin in stage 1 decides."""
    pred = multi_prediction({("final", 3): "built", ("builder", 2): "built"})
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=False)
    diffs = compare(doc(pred), [obs])
    assert [(d.kind, d.stage, d.index, d.predicted, d.observed) for d in diffs] == [
        ("status", "builder", 2, "built", "cached")
    ]
    assert "run once with the identical step of stage 1" in diffs[0].describe()


def test_dedup_twin_named_the_other_way():
    """BuildKit may print the shared steps under either stage; both are fine."""
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=False)
    renamed = tuple(
        replace(s, stage="builder", total=5) if s.stage == "1" and s.index < 4 else s
        for s in obs.steps
    )
    pred = multi_prediction({("final", 3): "built"})
    assert compare(doc(pred), [replace(obs, steps=renamed)]) == []


def test_from_is_compared_by_whether_the_image_changed():
    """FROM prints DONE either way; the runner's base_changed decides what it should be."""
    pred = multi_prediction({("final", 3): "built"})
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=True)
    diffs = compare(doc(pred), [obs])
    assert {(d.stage, d.index, d.predicted, d.observed) for d in diffs} == {
        ("builder", 1, "cached", "built"),  # its twin, stage 1's FROM
        ("1", 1, "cached", "built"),
        ("envonly", 1, "cached", "built"),
    }
    assert all("the base image got a new version before this build" in d.describe() for d in diffs)
    # a FROM the runner could not tie to an image is compared by presence only
    unknown = observed("buildkit-multi-edit-app.log")
    assert compare(doc(pred), [unknown]) == []


def test_missing_and_unpredicted_steps():
    """A step only one side has is a difference."""
    pred = multi_prediction({("final", 3): "built"})
    pred["steps"] = [s for s in pred["steps"] if s["stage"] != "final" or s["index"] != 2]
    pred["steps"].append(step("final", 4, 3, "RUN true", "built"))
    obs = with_bases(observed("buildkit-multi-edit-app.log"), changed=False)
    kinds = [(d.kind, d.stage, d.index) for d in compare(doc(pred), [obs])]
    assert kinds == [("missing", "final", 4), ("unpredicted", "final", 2)]


def test_failure_on_one_side_only():
    """A build the engine failed but the prediction did not is named as such."""
    pred = {
        "name": "b",
        "steps": [
            step("0", 1, 5, "FROM python:3.12-slim", "cached"),
            step("0", 2, 5, "WORKDIR /app", "built"),
            step("0", 3, 5, "COPY a.txt /a", "built"),
            step("0", 4, 5, "COPY missing.txt /m", "built"),
            step("0", 5, 5, "RUN echo never", "built"),
        ],
    }
    obs = with_bases(observed("buildkit-fail-copy-missing.log"), changed=False)
    diffs = compare(doc(pred), [obs])
    assert diffs[0].kind == "failure"
    assert (
        diffs[0]
        .describe()
        .startswith("build 'b': predicted success, the engine failed: failed to compute cache key")
    )
    assert ("status", 4) in [(d.kind, d.index) for d in diffs]


def missing_copy_prediction() -> dict[str, Any]:
    """The fixture `fail-copy-missing` predicted as 20.10 words it, failing at step 4."""
    return {
        "name": "b",
        "error": 'failed to compute cache key: "/missing.txt" not found: not found',
        "steps": [
            step("0", 1, 5, "FROM python:3.12-slim", "cached"),
            step("0", 2, 5, "WORKDIR /app", "built"),
            step("0", 3, 5, "COPY a.txt /a", "built"),
            step("0", 4, 5, "COPY missing.txt /m", "failed"),
        ],
    }


def test_both_failed_at_the_same_step_tolerates_pending_cached():
    """In a failed build BuildKit prints CACHED for pending steps; that is no difference."""
    pred = missing_copy_prediction()
    obs = with_bases(observed("buildkit-fail-copy-missing.log"), changed=False)
    assert compare(doc(pred), [obs]) == []
    pred["steps"][3] = step("0", 3, 5, "COPY missing.txt /m", "failed")
    pred["steps"] = pred["steps"][:4]
    diffs = compare(doc(pred), [obs])
    assert "failed-step" in [d.kind for d in diffs]


def test_legacy_matches_by_global_index_and_text():
    """Classic steps match by number; instruction text must start as written."""
    obs = observed("legacy-fail-run-fails.log")
    obs = with_bases(obs, changed=False)
    pred = {
        "name": "b",
        "error": "exit 1",
        "steps": [
            step("b", 1, 6, "FROM python:3.12-slim AS b", "cached"),
            step("b", 2, 6, "RUN echo one", "built"),
            step("b", 3, 6, "RUN echo two && false", "failed"),
        ],
    }
    assert compare(doc(pred, engine="legacy"), [obs]) == []
    pred["steps"][1] = step("b", 2, 6, "RUN echo uno", "built")
    diffs = compare(doc(pred, engine="legacy"), [obs])
    assert [d.kind for d in diffs] == ["instruction"]


def test_build_count_and_names():
    """A different number of builds, or names, is reported."""
    obs = observed("legacy-fail-run-fails.log", build="other")
    diffs = compare(doc(engine="legacy"), [obs])
    assert diffs[0].describe() == "build '(all)': predicted 0 builds, the engine ran 1 builds"


def test_a_reason_worded_otherwise_is_a_difference():
    """Both failed at the same step, but the engine's words are not the predicted ones."""
    pred = missing_copy_prediction()
    modern = with_bases(observed("buildkit28-fail-copy-missing.log"), changed=False)
    diffs = compare(doc(pred), [modern])
    assert [d.kind for d in diffs] == ["reason"]
    assert (
        diffs[0]
        .describe()
        .startswith(
            "build 'b': predicted the reason 'failed to compute cache key: \"/missing.txt\" not "
            "found: not found', the engine said 'failed to build: failed to solve: failed to "
            "compute cache key: failed to calculate checksum of ref "
        )
    )
    pred["error"] = (
        'failed to compute cache key: failed to calculate checksum of ref ...: "/missing.txt": '
        "not found"
    )
    assert compare(doc(pred), [modern]) == []
