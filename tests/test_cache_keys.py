"""A step's cache key holds the fields the builder keys on, and only those.

The expected behaviour comes from Docker's documented rules (Docker docs, "Build cache
invalidation": for ADD and COPY "the contents of the file(s) in the image are examined and
a checksum is calculated for each file"; "the last-modified and last-accessed times of the
file(s) are not considered"; for RUN "only the command string itself is used to find a
match") and from the rules observed on the engine in docs/cache-rules.md (K1, K6, K7, K9,
K11, K12). Each key below is made by the builders' own definition functions from a
planned Dockerfile, so the test follows a change from the Dockerfile text or the context
to the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from cachesim.builders import buildkit, classic
from cachesim.builders.definitions import (
    CopyDefinition,
    FromDefinition,
    RunDefinition,
    canonical_digest,
)
from cachesim.builders.fs import FileSystem
from cachesim.builders.inputs import BuildContext
from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.core.results import StepResult
from cachesim.planning.plan import Plan, plan


@dataclass
class _Walk:
    """The part of a build in progress the rules read (``builders.walk.Walk``)."""

    plan: Plan
    request: BuildRequest
    context: BuildContext
    rules: buildkit.BuildKitRules | classic.LegacyRules
    ends: dict = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)


def _definitions(dockerfile: str, files=None, build_args=None, rules=buildkit.RULES) -> list:
    """The definition of every step of the last stage, as the rules make them."""
    files = files if files is not None else {"app.py": ContextFile(b"print(1)\n")}
    request = BuildRequest("b1", dockerfile, files, build_args=build_args or {})
    planned = plan(dockerfile, request.build_args)
    walk = _Walk(planned, request, BuildContext.of(request), rules)
    fs = FileSystem(base="alpine")
    out = []
    for step in planned.stages[-1].steps:
        if step.keyword in ("RUN", "COPY", "ADD", "WORKDIR"):
            definition, fs, _ = rules.define(step, walk, fs)
            out.append(definition)
    return out


def _key(dockerfile: str, **kwargs) -> str:
    return _definitions(dockerfile, **kwargs)[-1].key()


# -- COPY -----------------------------------------------------------------------------


def test_copy_key_ignores_mtime_text_and_line():
    """Docker docs: mtimes are not considered; docs/cache-rules.md K1 (`touch-copied-file`).
    The text as written (keyword case) and the line are shown in the log, not keyed."""
    base = _key("FROM alpine\nCOPY app.py /app/\n")
    touched = {"app.py": ContextFile(b"print(1)\n", mtime=1_800_000_000.0)}
    assert _key("FROM alpine\nCOPY app.py /app/\n", files=touched) == base
    assert _key("FROM alpine\n\n\ncopy app.py /app/\n") == base


def test_copy_key_changes_with_content_mode_dest_and_chown():
    """Docker docs: the files' contents and metadata are checksummed; K1 (content and
    permission bits), K12 (``--chown`` is in the key)."""
    base = _key("FROM alpine\nCOPY app.py /app/\n")
    edited = {"app.py": ContextFile(b"print(2)\n")}
    executable = {"app.py": ContextFile(b"print(1)\n", mode=0o755)}
    assert _key("FROM alpine\nCOPY app.py /app/\n", files=edited) != base
    assert _key("FROM alpine\nCOPY app.py /app/\n", files=executable) != base
    assert _key("FROM alpine\nCOPY app.py /srv/\n") != base
    assert _key("FROM alpine\nCOPY --chown=1000 app.py /app/\n") != base


def test_copy_note_fields_are_not_in_the_key():
    """The explanations a COPY carries (``why``, ``same``) never decide a cache hit."""
    (copy,) = _definitions("FROM alpine\nCOPY app.py /app/\n")
    assert isinstance(copy, CopyDefinition)
    noted = replace(copy, why="the RUN wrote the same bytes", same="the stage re-ran")
    assert noted.key() == copy.key()
    assert replace(copy, chown="1000").key() != copy.key()


# -- RUN ------------------------------------------------------------------------------


def test_run_key_ignores_text_as_written_and_line():
    """Docker docs: RUN is matched by its command string; K6: keyword case, indentation
    and the line it is on do not count."""
    base = _key("FROM alpine\nRUN echo hi\n")
    assert _key("FROM alpine\n\n\n   run echo hi\n") == base
    (run,) = _definitions("FROM alpine\nRUN echo hi\n")
    assert isinstance(run, RunDefinition)
    assert replace(run, text="RUN echo  hi", line=40, fails="exit code: 1").key() == run.key()


def test_run_key_changes_with_command_env_and_args():
    """Docker docs: the command string is the key; K6 (inner whitespace counts), K9 (ENV
    reaches the RUNs after it), K7 (every build arg in scope with a value)."""
    base = _key("FROM alpine\nRUN echo hi\n")
    assert _key("FROM alpine\nRUN echo  hi\n") != base
    assert _key("FROM alpine\nENV A=1\nRUN echo hi\n") != base
    with_arg = "FROM alpine\nARG V=1\nRUN echo hi\n"
    assert _key(with_arg) != base
    assert _key(with_arg, build_args={"V": "2"}) != _key(with_arg)


def test_classic_run_key_holds_the_build_arg_mark():
    """The classic builder marks a RUN with the build args in effect (K7, scenario
    predefined-proxy-arg-legacy): a passed proxy arg changes the key, its line does not."""
    dockerfile = "FROM alpine\nRUN echo hi\n"
    base = _key(dockerfile, rules=classic.RULES)
    assert _key(dockerfile, rules=classic.RULES, build_args={"HTTP_PROXY": "x"}) != base
    assert _key("FROM alpine\n\nRUN echo hi\n", rules=classic.RULES) == base


# -- WORKDIR and the digest itself ----------------------------------------------------


def test_workdir_key_is_the_path_and_user():
    """K11: WORKDIR is keyed by its path (and user), not by how it was written."""
    base = _key("FROM alpine\nWORKDIR /app\n")
    assert _key("FROM alpine\nworkdir /app/\n") == base
    assert _key("FROM alpine\nWORKDIR /srv\n") != base
    assert _key("FROM alpine\nUSER 1000\nWORKDIR /app\n") != base


def test_a_key_refuses_what_is_not_json():
    """No silent ``str()``: a value that is not JSON cannot enter a key."""
    assert canonical_digest({"b": (1, 2), "a": "x"}) == canonical_digest({"a": "x", "b": [1, 2]})
    with pytest.raises(TypeError):
        canonical_digest({"files": object()})


def test_definitions_are_frozen():
    (run,) = _definitions("FROM alpine\nRUN echo hi\n")
    with pytest.raises(AttributeError):
        run.command = ("/bin/sh", "-c", "other")  # type: ignore[misc]


def test_from_key_is_the_image_and_its_version():
    """K15: a newly published digest of the base image is a new key; the line is not."""
    base = FromDefinition(keyword="FROM", image="alpine:latest", version=0, line=1)
    assert replace(base, line=7, text="from alpine").key() == base.key()
    assert replace(base, version=1).key() != base.key()
