"""Running builds on a real engine: context on disk, commands, and a run that cleans up."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.engine.daemon import EngineError
from cachesim.engine.runner import (
    build_command,
    cache_records,
    image_id,
    image_ids,
    named_images,
    normalize_ref,
    run_builds,
    sync_mtime,
    write_context,
)

DOCKER = "/usr/bin/docker"


def test_normalize_ref():
    """Docker Hub's long and short names are one image; no tag means latest."""
    assert normalize_ref("docker.io/library/python:3.12-slim") == "python:3.12-slim"
    assert normalize_ref("python") == "python:latest"
    assert normalize_ref("localhost:5000/x") == "localhost:5000/x:latest"
    assert normalize_ref("docker.io/me/app:1") == "me/app:1"


def test_named_images_skips_stages_scratch_and_variables():
    """Only literal external images count: stages, indexes, scratch and $VARS do not."""
    text = (
        "ARG B=x\nFROM python:3.12 AS build\nFROM build AS t\nFROM ${B}\nFROM scratch\n"
        "COPY --from=build /a /a\nCOPY --from=0 /a /a\nCOPY --from=alpine:3 /b /b\n"
        "COPY --from=$B /c /c\n"
    )
    assert named_images(text) == {"python:3.12", "alpine:3"}


def test_write_context_exact_bytes_modes_mtimes(tmp_path: Path):
    """Files land with their bytes, modes and mtimes; Dockerfile and .dockerignore too."""
    request = BuildRequest(
        name="b",
        dockerfile="FROM scratch\n",
        dockerignore="*.log\n",
        files={
            "run.sh": ContextFile(b"#!/bin/sh\n", 0o755, 1_700_000_123.0),
            "deep/dir/x.bin": ContextFile(b"\x00\x01"),
        },
    )
    folder = tmp_path / "ctx"
    written = write_context(request, folder)
    assert (folder / "run.sh").read_bytes() == b"#!/bin/sh\n"
    assert (folder / "run.sh").stat().st_mode & 0o7777 == 0o755
    assert (folder / "run.sh").stat().st_mtime == 1_700_000_123.0
    assert (folder / "deep/dir/x.bin").stat().st_mode & 0o7777 == 0o644
    assert (folder / "Dockerfile").read_text() == "FROM scratch\n"
    assert (folder / ".dockerignore").read_text() == "*.log\n"
    assert set(written) == {"run.sh", "deep/dir/x.bin", "Dockerfile", ".dockerignore"}
    # a second build without the .dockerignore and with one file less leaves nothing behind
    smaller = replace(request, dockerignore=None, files={"run.sh": request.files["run.sh"]})
    write_context(smaller, folder, written)
    assert sorted(p.name for p in folder.iterdir()) == ["Dockerfile", "run.sh"]


def test_context_may_not_hold_its_own_dockerfile(tmp_path: Path):
    """A context file named Dockerfile would clash with the scenario's Dockerfile."""
    request = BuildRequest(
        name="b", dockerfile="FROM scratch\n", files={"Dockerfile": ContextFile(b"x")}
    )
    with pytest.raises(EngineError, match="the context has a file 'Dockerfile'"):
        write_context(request, tmp_path / "ctx")


def test_edit_that_keeps_size_and_mtime_moves_mtime():
    """BuildKit would not resend such a file; the runner writes it a second later."""
    previous = {"a": (b"one", 100.0)}
    assert sync_mtime(previous, "a", b"two", 100.0) == 101.0
    assert sync_mtime(previous, "a", b"one", 100.0) == 100.0
    assert sync_mtime(previous, "a", b"two", 200.0) == 200.0
    assert sync_mtime(previous, "new", b"x", 5.0) == 5.0


def test_build_command_flags(tmp_path: Path):
    """Arguments, target, no-cache and the engine's own flags are passed."""
    request = BuildRequest(
        name="b", dockerfile="", files={}, build_args={"A": "1"}, target="t", no_cache=True
    )
    cmd = build_command(request, "buildkit", "x:1", tmp_path, DOCKER)
    assert cmd == [
        DOCKER,
        "build",
        "--network=none",
        "-t",
        "x:1",
        "--build-arg",
        "A=1",
        "--target",
        "t",
        "--no-cache",
        "--progress=plain",
        str(tmp_path),
    ]
    legacy = build_command(replace(request, no_cache=False), "legacy", "x:1", tmp_path, DOCKER)
    assert "--force-rm" in legacy and "--progress=plain" not in legacy


def test_unknown_engine():
    """run_builds names a bad engine before touching the daemon."""
    with pytest.raises(ValueError, match="unknown engine 'podman'"):
        run_builds([], "podman")  # type: ignore[arg-type]


DOCKERFILE = """\
FROM cachesim-test/base:1 AS build
WORKDIR /src
COPY a.txt .
RUN cat a.txt > /out
FROM cachesim-test/base:1
COPY --from=build /out /out
"""


def _requests() -> list[BuildRequest]:
    files = {"a.txt": ContextFile(b"one\n")}
    base = BuildRequest(
        name="cold", dockerfile=DOCKERFILE, files=files, images={"cachesim-test/base:1": 0}
    )
    edited = {"a.txt": ContextFile(b"two\n")}  # same size, same mtime: must still be seen
    return [
        base,
        replace(base, name="edit", files=edited),
        replace(base, name="same", files=edited),
        replace(base, name="new base", files=edited, images={"cachesim-test/base:1": 1}),
        replace(
            base, name="pruned", files=edited, images={"cachesim-test/base:1": 1}, prune_before=True
        ),
    ]


def _status(build) -> list[tuple[str, int, str]]:
    return [(s.stage, s.index, s.status) for s in build.steps if not s.is_from]


@pytest.mark.engine
def test_buildkit_run_observes_cache_and_cleans_up(docker_engine):
    """Edits, an unchanged rebuild, a new base and a prune show as BuildKit reports them."""
    before_images, before_cache = image_ids(DOCKER), set(cache_records(DOCKER))
    seen: list[str] = []
    builds = run_builds(_requests(), "buildkit", on_build=lambda r, o: seen.append(r.name))
    assert seen == ["cold", "edit", "same", "new base", "pruned"]
    assert all(b.exit_code == 0 and b.error is None for b in builds)
    assert _status(builds[0]) == [
        ("build", 2, "built"),
        ("build", 3, "built"),
        ("build", 4, "built"),
        ("1", 2, "built"),
    ]
    assert _status(builds[1]) == [
        ("build", 2, "cached"),
        ("build", 3, "built"),
        ("build", 4, "built"),
        ("1", 2, "built"),
    ]
    assert {s for _, _, s in _status(builds[2])} == {"cached"}
    froms = [s for s in builds[3].steps if s.is_from]
    assert froms and all(s.base_changed for s in froms)
    assert all(not s.base_changed for b in builds[:3] for s in b.steps if s.is_from)
    assert {s for _, _, s in _status(builds[3])} == {"built"}  # both stages use the base
    assert {s for _, _, s in _status(builds[4])} == {"built"}
    assert image_ids(DOCKER) == before_images
    assert set(cache_records(DOCKER)) == before_cache
    assert image_id("cachesim-test/base:1", DOCKER) is None


@pytest.mark.engine
def test_legacy_run_keeps_its_cache_across_prune(docker_engine):
    """The classic builder's cache lives in the image store: prune leaves it."""
    before_images = image_ids(DOCKER)
    builds = run_builds(_requests(), "legacy")
    assert [s.index for s in builds[0].steps if s.status == "built"] == [2, 3, 4, 6]
    assert [s.index for s in builds[1].steps if s.status == "built"] == [3, 4, 6]
    assert [s.index for s in builds[2].steps if s.status == "built"] == []
    assert [s.index for s in builds[3].steps if s.status == "built"] == [2, 3, 4, 6]
    assert [s.index for s in builds[4].steps if s.status == "built"] == []
    assert image_ids(DOCKER) == before_images


@pytest.mark.engine
def test_missing_image_is_refused_before_building(docker_engine):
    """An image the Dockerfile names but nobody imported would need a registry: refused."""
    request = BuildRequest(name="b", dockerfile="FROM cachesim-test/nowhere:9\n", files={})
    with pytest.raises(EngineError, match="cachesim-test/nowhere:9, which is neither"):
        run_builds([request], "buildkit")


@pytest.mark.engine
def test_failed_build_is_a_result(docker_engine):
    """A failing RUN ends that build with its error; the run goes on."""
    bad = BuildRequest(
        name="bad",
        dockerfile="FROM cachesim-test/base:1\nRUN false\n",
        files={},
        images={"cachesim-test/base:1": 0},
    )
    good = replace(bad, name="good", dockerfile="FROM cachesim-test/base:1\nRUN true\n")
    for engine in ("buildkit", "legacy"):
        builds = run_builds([bad, good], engine)
        assert builds[0].exit_code != 0 and builds[0].failed_step is not None
        assert builds[0].failed_step.instruction == "RUN false"
        assert builds[1].exit_code == 0, json.dumps(builds[1].log)
