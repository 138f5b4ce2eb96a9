"""Constructs that real projects' Dockerfiles use, each predicted as the engines build it.

Expected results come from builds on Docker 20.10 (BuildKit 0.8) and Docker 28.5 (BuildKit
0.25); the scenarios named were verified on both (`cachesim verify --standin-bases`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.scenario import load, loads  # noqa: F401 - loads used below
from cachesim.simulator import simulate

SCENARIOS = Path(__file__).parent / "scenarios"


def statuses(path: str, version: str = "0.25") -> list[list[tuple[int, str]]]:
    """Per build, (line, status) of every predicted step."""
    result = simulate(load(SCENARIOS / path), version)
    return [[(s.line, s.status) for s in b.steps] for b in result.builds]


# -- HEALTHCHECK -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.8", "0.25"])
def test_healthcheck_flags_are_accepted_and_change_nothing_for_buildkit(version):
    """`HEALTHCHECK --interval=... CMD` builds; changing it rebuilds nothing (20.10, 28.5)."""
    builds = statuses("healthcheck-flags.yaml", version)
    assert builds[0] == [(1, "cached"), (2, "built"), (4, "built")]
    assert all(status == "cached" for build in builds[1:] for _, status in build)


def test_healthcheck_change_is_a_step_for_the_classic_builder():
    """Classic builder: a changed HEALTHCHECK flag, or NONE, rebuilds it and what follows."""
    builds = statuses("healthcheck-flags-legacy.yaml")
    assert builds[2] == [(1, "cached"), (2, "cached"), (3, "built"), (4, "built")]
    assert builds[3] == [(1, "cached"), (2, "cached"), (3, "built"), (4, "built")]


@pytest.mark.parametrize(
    "name", ["healthcheck-start-interval", "healthcheck-start-interval-legacy"]
)
def test_healthcheck_start_interval_is_refused_by_docker_20_10_only(name):
    """`--start-interval` (Dockerfile 1.6): 20.10 stops at parsing, 28.5 builds."""
    old = simulate(load(SCENARIOS / f"{name}.yaml"), "0.8").builds[0]
    new = simulate(load(SCENARIOS / f"{name}.yaml"), "0.25").builds[0]
    assert old.error == "dockerfile parse error line 2: Unknown flag: start-interval"
    assert old.steps == () and new.error is None


# -- automatic platform ARGs -------------------------------------------------------------


def _copied(path: str, version: str, build: int = 1) -> list[str]:
    """The statuses of the COPY steps of one build."""
    steps = simulate(load(SCENARIOS / path), version).builds[build].steps
    return [s.status for s in steps if s.keyword == "COPY"]


@pytest.mark.parametrize("version", ["0.8", "0.25"])
def test_buildkit_copy_reads_the_declared_target_platform(version):
    """`ARG TARGETPLATFORM` then `COPY dist/$TARGETPLATFORM/app`: dist/linux/amd64/app."""
    builds = statuses("platform-args.yaml", version)
    assert all(status != "failed" for build in builds for _, status in build)
    assert _copied("platform-args.yaml", version, 1) == ["built"]  # amd64 binary edited
    assert _copied("platform-args.yaml", version, 2) == ["cached"]  # arm64 binary edited
    assert _copied("platform-args.yaml", version, 3) == ["cached"]  # dist/app edited
    assert _copied("platform-args.yaml", version, 4) == ["built"]  # --build-arg arm64


def test_classic_builder_defines_no_platform_args():
    """The classic builder reads `dist//app` = dist/app (Docker 20.10 and 28.5)."""
    assert _copied("platform-args-legacy.yaml", "0.25", 1) == ["cached"]
    assert _copied("platform-args-legacy.yaml", "0.25", 3) == ["built"]


@pytest.mark.parametrize(
    ("version", "edited_amd64", "edited_empty"),
    [
        ("0.8", "cached", "built"),
        ("0.25", "built", "cached"),
    ],
)
def test_bare_global_arg_hides_the_platform_on_buildkit_0_8_only(
    version, edited_amd64, edited_empty
):
    """A bare global `ARG TARGETARCH` empties it on 0.8; 0.25 keeps amd64."""
    assert _copied("platform-args-global.yaml", version, 1) == [edited_amd64]
    assert _copied("platform-args-global.yaml", version, 2) == [edited_empty]


def test_platform_args_in_from_lines():
    """BuildKit: `FROM alpine:${TARGETARCH}` is alpine:amd64; classic: `alpine:` is refused."""
    result = simulate(load(SCENARIOS / "platform-args-from.yaml"))
    assert result.builds[0].error is None
    assert [s.status for s in result.builds[1].steps] == ["cached", "cached", "built", "built"]
    legacy = simulate(load(SCENARIOS / "platform-args-from-legacy.yaml")).builds[0]
    assert legacy.error == "invalid reference format" and legacy.error_line == 1
