"""The cache rules, one test each, with expectations observed on the real engine.

Each expectation is what Docker Engine 20.10.24 did in the experiment cited (the numbered
sections of docs/engine-findings.md); the same behaviour is re-checked live by
tests/test_real_engine.py. These run in milliseconds and need no engine.
"""

from __future__ import annotations

import textwrap

from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import loads

BASE = """\
name: rule
engine: {engine}
dockerfile: |
{dockerfile}
files:
  app.py: "print(1)\\n"
  other.txt: "other\\n"
{extra}
builds:
  - name: cold
  - name: change
    changes:
{changes}
"""


def _statuses(dockerfile: str, changes: str, engine: str = "buildkit", extra: str = ""):
    text = BASE.format(
        engine=engine,
        dockerfile=textwrap.indent(textwrap.dedent(dockerfile).strip(), "  "),
        changes=textwrap.indent(textwrap.dedent(changes).strip(), "      "),
        extra=extra,
    )
    result = simulate(loads(text, "rule.yaml"))
    return [(s.instruction, s.status) for s in result.builds[-1].steps]


DF = """
FROM python:3.12-slim
WORKDIR /app
COPY app.py .
RUN echo one
COPY . .
RUN echo done
"""


def test_touch_keeps_every_step_cached():
    """Findings #1: mtime is not part of a COPY's checksum (both engines)."""
    for engine in ("buildkit", "legacy"):
        steps = _statuses(DF, "- {touch: app.py}", engine)
        assert {status for _, status in steps} == {"cached"}


def test_chmod_rebuilds_the_copy():
    """Findings #2a: permission bits are part of the checksum; the chain after it rebuilds."""
    steps = _statuses(DF, '- {chmod: app.py, mode: "0755"}')
    assert steps == [
        ("FROM python:3.12-slim", "cached"),
        ("WORKDIR /app", "cached"),
        ("COPY app.py .", "built"),
        ("RUN echo one", "built"),
        ("COPY . .", "built"),
        ("RUN echo done", "built"),
    ]


def test_edit_of_an_unselected_file_changes_nothing():
    """Findings #3a: a file no COPY selects does not matter."""
    dockerfile = "FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py .\nRUN echo one\n"
    steps = _statuses(dockerfile, "- {edit: other.txt, content: new}")
    assert {status for _, status in steps} == {"cached"}


def test_comment_edit_rebuilds_copy_all_because_the_dockerfile_is_in_the_context():
    """Findings #3 and #10i: `COPY . .` copies the Dockerfile itself, comments included."""
    steps = _statuses(
        DF, '- {dockerfile: "# a comment\\n' + DF.strip().replace("\n", "\\n") + '\\n"}'
    )
    assert [s for _, s in steps] == ["cached", "cached", "cached", "cached", "built", "built"]


def test_arg_change_reruns_every_run_after_it_but_not_a_copy_right_after():
    """Findings #5h: RUNs get every ARG in scope as environment; COPY does not."""
    dockerfile = """
    FROM python:3.12-slim
    WORKDIR /app
    ARG V=1
    COPY app.py .
    RUN echo hi
    """
    for engine in ("buildkit", "legacy"):
        steps = dict(_statuses(dockerfile, "- {build_arg: V, value: '2'}", engine))
        assert steps["COPY app.py ."] == "cached"
        assert steps["RUN echo hi"] == "built"


def test_build_arg_equal_to_default_is_cached():
    """Findings #5e: --build-arg V=1 with `ARG V=1` is the same build."""
    dockerfile = "FROM python:3.12-slim\nARG V=1\nRUN echo hi\n"
    steps = _statuses(dockerfile, "- {build_arg: V, value: '1'}")
    assert {s for _, s in steps} == {"cached"}


def test_undeclared_build_arg_changes_nothing():
    """Findings #5c: an arg no ARG declares is not used."""
    dockerfile = "FROM python:3.12-slim\nRUN echo hi\n"
    steps = _statuses(dockerfile, "- {build_arg: NOPE, value: '2'}")
    assert {s for _, s in steps} == {"cached"}


ENV_DF = """
FROM python:3.12-slim
WORKDIR /app
RUN echo before
ENV A={value}
COPY app.py .
RUN echo hi
"""


def test_env_change_buildkit_rebuilds_runs_only():
    """Findings #6a, BuildKit: ENV makes no step; a COPY right after it stays cached."""
    changes = '- {dockerfile: "' + ENV_DF.format(value=2).strip().replace("\n", "\\n") + '\\n"}'
    steps = _statuses(ENV_DF.format(value=1), changes)
    assert steps == [
        ("FROM python:3.12-slim", "cached"),
        ("WORKDIR /app", "cached"),
        ("RUN echo before", "cached"),
        ("COPY app.py .", "cached"),
        ("RUN echo hi", "built"),
    ]


def test_env_change_legacy_rebuilds_from_the_env_step_on():
    """Findings #6a, classic builder: ENV is a step; it and everything after it rebuild."""
    changes = '- {dockerfile: "' + ENV_DF.format(value=2).strip().replace("\n", "\\n") + '\\n"}'
    steps = _statuses(ENV_DF.format(value=1), changes, "legacy")
    assert [s for _, s in steps] == ["cached", "cached", "cached", "built", "built", "built"]


def test_prune_empties_buildkit_cache_but_not_the_classic_one():
    """Findings #14: `docker builder prune -af` does not touch the classic builder's images."""
    assert {s for i, s in _statuses(DF, "- {prune: all}") if not i.startswith("FROM")} == {"built"}
    assert {s for _, s in _statuses(DF, "- {prune: all}", "legacy")} == {"cached"}


MULTI = """
FROM python:3.12-slim AS builder
COPY app.py /src/app.py
RUN echo build > /out.txt
FROM python:3.12-slim AS unused
RUN echo unused
FROM python:3.12-slim AS final
COPY --from=builder /out.txt /
RUN echo final
"""


def test_copy_from_a_rebuilt_stage_with_identical_output_is_cached():
    """Findings #11b: COPY --from is checked by content; the builder re-ran, same bytes."""
    steps = _statuses(MULTI, "- {edit: app.py, content: changed}")
    assert ("RUN echo build > /out.txt", "built") in steps
    assert ("COPY --from=builder /out.txt /", "cached") in steps


def test_buildkit_skips_unused_stages_legacy_builds_them():
    """Findings #11a: BuildKit builds what the target needs; the classic builder every stage."""
    assert "RUN echo unused" not in dict(_statuses(MULTI, "- {touch: app.py}"))
    assert "RUN echo unused" in dict(_statuses(MULTI, "- {touch: app.py}", "legacy"))


def test_identical_steps_of_two_stages_run_once():
    """Findings #11d: BuildKit runs twins once (same status); classic finds the first's image."""
    dockerfile = """
    FROM python:3.12-slim AS a
    RUN echo same
    FROM python:3.12-slim AS b
    RUN echo same
    COPY --from=a /etc/passwd /x
    """
    text = BASE.format(
        engine="legacy",
        dockerfile=textwrap.indent(textwrap.dedent(dockerfile).strip(), "  "),
        changes="      - {touch: app.py}",
        extra="",
    )
    cold = simulate(loads(text, "r.yaml")).builds[0].steps
    runs = [s.status for s in cold if s.instruction == "RUN echo same"]
    assert runs == ["built", "cached"]
    cold = simulate(loads(text.replace("legacy", "buildkit"), "r.yaml")).builds[0].steps
    runs = [s.status for s in cold if s.instruction == "RUN echo same"]
    assert runs == ["built", "built"]


def test_revert_finds_the_earlier_result():
    """Findings #4: the cache remembers every build, so reverting a file is a hit again."""
    text = BASE.format(
        engine="buildkit",
        dockerfile=textwrap.indent(DF.strip(), "  "),
        changes="      - {edit: app.py, content: two}",
        extra="",
    )
    text += '  - name: back\n    changes:\n      - {edit: app.py, content: "print(1)\\n"}\n'
    last = simulate(loads(text, "r.yaml")).builds[-1].steps
    assert {s.status for s in last} == {"cached"}
