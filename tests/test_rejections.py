"""Dockerfiles the engine refuses are predictions (a failed build), not bad input.

Expected reasons are the real engine's own words, copied from builds on Docker Engine
20.10.24 (docs/engine-findings.md, section 15, and tests/engine_logs/).
"""

import json
import textwrap

import pytest

from cachesim.app.cli import main


def _run(tmp_path, capsys, dockerfile: str, engine: str = "buildkit", **extra) -> dict:
    scenario = {
        "name": "rejected",
        "engine": engine,
        "dockerfile": textwrap.dedent(dockerfile),
        "files": {"app.py": "print(1)\n"},
        "builds": [{"name": "cold", **extra}],
    }
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(scenario))  # JSON is YAML
    assert main(["run", str(path), "--format", "json"]) == 0  # a prediction, exit 0
    return json.loads(capsys.readouterr().out)["builds"][0]


CASES = [
    # (Dockerfile, engine, build options, expected error, expected line, steps listed)
    (
        "FROM python:3.12-slim\nRUN echo hi\nFOO bar\n",
        "buildkit",
        {},
        "dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)",
        3,
        0,
    ),
    (
        "FROM python:3.12-slim\nRUN <<EOF\necho hi\n",
        "buildkit",
        {},
        "dockerfile parse error: unterminated heredoc",
        2,
        0,
    ),
    (
        "FROM ${UNDEFINED}\nRUN echo hi\n",
        "buildkit",
        {},
        "base name (${UNDEFINED}) should not be blank",
        1,
        0,
    ),
    (
        "FROM ${UNDEFINED}\nRUN echo hi\n",
        "legacy",
        {},
        "base name (${UNDEFINED}) should not be blank",
        1,
        1,
    ),
    (
        "FROM python:3.12-slim AS a\nRUN echo hi\nCOPY --from=a /x /y\n",
        "buildkit",
        {},
        "circular dependency detected on stage: a",
        1,
        0,
    ),
    (
        "FROM python:3.12-slim AS a\nRUN echo hi\n",
        "buildkit",
        {"target": "nope"},
        'target stage "nope" could not be found',  # 28.5 quotes it; 20.10: test_wording.py
        None,
        0,
    ),
    (
        "FROM python:3.12-slim AS a\nRUN echo hi\n",
        "legacy",
        {"target": "nope"},
        'target stage "nope" could not be found',  # 28.5 daemon; 20.10: test_wording.py
        None,
        0,
    ),
    ("", "buildkit", {}, "the Dockerfile cannot be empty", None, 0),
    # An unknown --from name is taken for an image; pulling it fails (not run here: it
    # would reach for a registry). BuildKit resolves it before any step runs.
    (
        "FROM python:3.12-slim AS build\nRUN echo\nFROM python:3.12-slim\nCOPY --from=biuld /x /x\n",
        "buildkit",
        {},
        "failed to create LLB definition: no stage is named 'biuld', so the builder "
        "looks for the image docker.io/library/biuld:latest and cannot pull it (pull access denied, "
        "repository does not exist or may require authorization)",
        4,
        0,
    ),
    ("# only a comment\n", "buildkit", {}, "file with no instructions", None, 0),
    (
        "# only a comment\n",
        "legacy",
        {},
        "failed to parse Dockerfile: file with no instructions",
        None,
        0,
    ),
]


@pytest.mark.parametrize(("dockerfile", "engine", "extra", "error", "line", "listed"), CASES)
def test_engine_rejection_is_a_failed_build(
    tmp_path, capsys, dockerfile, engine, extra, error, line, listed
):
    """The build carries the engine's reason and line; no step (classic: the FROM) is listed."""
    build = _run(tmp_path, capsys, dockerfile, engine, **extra)
    assert build["error"] == error
    assert build.get("error_line") == line
    assert len(build["steps"]) == listed


STEP_FAILURES = [
    (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY missing.txt .\n",
        "buildkit",
        # BuildKit 0.25's words (Docker 28.5, the default); 0.8's: tests/test_wording.py
        'failed to compute cache key: failed to calculate checksum of ref ...: "/missing.txt": '
        "not found",
        "COPY missing.txt .",
    ),
    (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY missing.txt .\n",
        "legacy",
        "COPY failed: file not found in build context or excluded by .dockerignore: "
        "stat missing.txt: file does not exist",
        "COPY missing.txt .",
    ),
    (
        "FROM python:3.12-slim\nCOPY ../x .\n",
        "buildkit",
        'failed to compute cache key: failed to calculate checksum of ref ...: "/x": not found',
        "COPY ../x .",
    ),
    (
        "FROM python:3.12-slim\nCOPY ../x .\n",
        "legacy",
        "COPY failed: forbidden path outside the build context: ../x ()",
        "COPY ../x .",
    ),
    (
        "FROM python:3.12-slim\nCOPY app.py /app\nWORKDIR /app\n",
        "buildkit",
        "mkdir /app: not a directory",
        "WORKDIR /app",
    ),
    (
        "FROM python:3.12-slim\nCOPY app.py /app\nWORKDIR /app\n",
        "legacy",
        "Cannot mkdir: /app is not a directory",
        "WORKDIR /app",
    ),
    (
        "FROM python:3.12-slim\nCOPY app.py app.py /dest\n",
        "legacy",
        "When using COPY with more than one source file, the destination must be a directory "
        "and end with a /",
        "COPY app.py app.py /dest",
    ),
]


@pytest.mark.parametrize(("dockerfile", "engine", "error", "failed"), STEP_FAILURES)
def test_failure_at_a_step(tmp_path, capsys, dockerfile, engine, error, failed):
    """The failing step is the last listed, status `failed`, with the engine's reason."""
    build = _run(tmp_path, capsys, dockerfile, engine)
    assert build["error"] == error
    last = build["steps"][-1]
    assert (last["instruction"], last["status"], last["reason"]) == (failed, "failed", error)


def test_several_sources_without_slash_build_on_buildkit(tmp_path, capsys):
    """BuildKit 20.10 accepts `COPY a b /dest` (the last source wins): no failure."""
    build = _run(tmp_path, capsys, "FROM python:3.12-slim\nCOPY app.py app.py /dest\n")
    assert "error" not in build
