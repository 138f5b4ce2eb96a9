"""The real-world corpus: scenarios modelled on public projects' Dockerfiles.

tests/scenarios/realworld/ holds scenarios that agree with both engines (Docker 20.10 and
28.5; tests/test_real_engine.py verifies them); tests/scenarios/realworld-pending/ holds
those that wait for a fix in another part of cachesim (tests/scenarios/realworld/FINDINGS.md
says which and why) and is never run on an engine. Each one names the project, the file and the commit it was read at, and
marks every change made so that the stand-in images can run it with a `# stand-in:`
comment, so a reader can tell the original's text from the adaptation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cachesim.core.versions import BUILDKIT_VERSIONS
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import for_builder, load
from tests.helpers import builder_pairs

HERE = Path(__file__).parent / "scenarios"
REALWORLD = sorted((HERE / "realworld").glob("*.yaml"))
PENDING = sorted((HERE / "realworld-pending").glob("*.yaml"))
MODELLED_ON = re.compile(r"modelled on [\w.-]+/[\w.-]+ \S+@[0-9a-f]{40}")
STANDIN_COMMENT = re.compile(r"^\s*# stand-in: \S")


def test_the_corpus_is_large_enough():
    """The issue asks for at least 30 verified real-world scenarios."""
    assert len(REALWORLD) >= 30


@pytest.mark.parametrize("path", REALWORLD + PENDING, ids=lambda p: p.stem)
def test_each_scenario_names_the_file_it_is_modelled_on(path):
    """The description says `modelled on owner/repo path@commit` (a full commit id)."""
    scenario = load(path)
    assert scenario.name == path.stem
    assert MODELLED_ON.search(" ".join(scenario.description.split())), scenario.description


@pytest.mark.parametrize("path", REALWORLD + PENDING, ids=lambda p: p.stem)
def test_stand_in_adaptations_are_marked(path):
    """A line the stand-ins needed changed is under a `# stand-in:` comment that says why;
    a Dockerfile with shell-function stand-ins or `python -m uv` has such a comment."""
    text = load(path).dockerfile
    adapted = re.search(r"\w+\(\) \{|python -m uv|npm exec -- pnpm", text)
    if adapted:
        assert any(STANDIN_COMMENT.match(line) for line in text.splitlines()), path.name


@pytest.mark.parametrize(("path", "builder"), builder_pairs(REALWORLD))
@pytest.mark.parametrize("version", BUILDKIT_VERSIONS)
def test_each_verified_scenario_simulates_without_a_failed_build(path, builder, version):
    """Every build of a verified scenario succeeds on both engines with each builder it
    names, so the simulation of both BuildKits predicts no failure either (a predicted
    failure would be a defect)."""
    result = simulate(for_builder(load(path), builder), version)
    assert [b.error for b in result.builds if b.error] == []


def test_the_engine_suite_runs_the_corpus_but_not_the_pending():
    """tests/test_real_engine.py verifies realworld/ on both engines and skips the pending."""
    from tests import test_real_engine

    collected = set(test_real_engine.SCENARIOS)
    assert set(REALWORLD) <= collected
    assert not set(PENDING) & collected
