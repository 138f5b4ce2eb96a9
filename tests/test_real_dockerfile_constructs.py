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


@pytest.mark.parametrize("name", ["healthcheck-start-interval", "healthcheck-start-interval-legacy"])
def test_healthcheck_start_interval_is_refused_by_docker_20_10_only(name):
    """`--start-interval` (Dockerfile 1.6): 20.10 stops at parsing, 28.5 builds."""
    old = simulate(load(SCENARIOS / f"{name}.yaml"), "0.8").builds[0]
    new = simulate(load(SCENARIOS / f"{name}.yaml"), "0.25").builds[0]
    assert old.error == "dockerfile parse error line 2: Unknown flag: start-interval"
    assert old.steps == () and new.error is None
