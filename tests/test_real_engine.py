"""Every scenario in tests/scenarios, run on both real Docker engines and compared step by step.

This is the suite's ground truth: the expected cache behaviour is whatever the engine does
(with each builder the scenario names in `builders:`, or its one `engine:`), observed
now, on this machine, on Docker 20.10 (BuildKit v0.8) and on Docker 28.5 (BuildKit
v0.25), each predicted with the rules of the BuildKit it carries (verify reads the
engine's version). A scenario with ``image_store: containerd`` runs on a 28.5 daemon with
the containerd image store only. Each (scenario, builder) pair is one test per engine. A difference is a simulator bug, or, labelled as such, a
command the stand-in base could not run. Needs the engines: see conftest.py (they fail,
never skip, when one cannot start).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cachesim.engine.verify import verify_scenario
from cachesim.sources.scenario import for_builder, load
from tests.conftest import FIXTURE_OF
from tests.helpers import builder_pairs

HERE = Path(__file__).parent
# realworld-pending/ holds real-world scenarios that wait for a fix elsewhere
# (tests/scenarios/realworld/FINDINGS.md): never run on an engine until moved to realworld/.
PENDING = "realworld-pending"
SCENARIOS = sorted(p for p in (HERE / "scenarios").rglob("*.yaml") if PENDING not in p.parts)
MODERN_ONLY_STORES = {"containerd": "28.5-containerd"}


def engines_for(path: Path) -> list[str]:
    """The engines a scenario is verified on: both, or the one with its image store."""
    store = load(path).image_store
    return [MODERN_ONLY_STORES[store]] if store in MODERN_ONLY_STORES else ["20.10", "28.5"]


def _name(path: Path) -> str:
    """The path under scenarios/, without `.yaml`: the test id's start."""
    return path.relative_to(HERE / "scenarios").with_suffix("").as_posix()


def scenario_runs() -> list:
    """One test per (scenario, builder, engine)."""
    runs = []
    for pair in builder_pairs(SCENARIOS, _name):
        path, builder = pair.values
        keys = engines_for(path)
        runs += [pytest.param(path, builder, key, id=f"{pair.id}-{key}") for key in keys]
    return runs


RUNS = scenario_runs()


@pytest.mark.engine
@pytest.mark.parametrize(("path", "builder", "engine_key"), RUNS)
def test_scenario_agrees_with_the_real_engine(path, builder, engine_key, request, monkeypatch):
    """The prediction matches the engine on every step of every build, with that builder."""
    engine = request.getfixturevalue(FIXTURE_OF[engine_key])
    engine.use(monkeypatch)
    request.node.user_properties.append(("cachesim_engine", engine.label))
    scenario = for_builder(load(path), builder)
    verdict = verify_scenario(scenario, docker=engine.docker, facts=engine.facts)
    request.node.user_properties.append(("cachesim_not_verifiable", int(bool(verdict.skipped))))
    assert verdict.skipped is None, f"{path.name} is not verifiable: {verdict.skipped}"
    only_standin = bool(verdict.differences) and not verdict.cache_differences
    request.node.user_properties.append(("cachesim_standin_only", int(only_standin)))
    details = "\n".join(d.describe() for d in verdict.differences)
    logs = "\n".join(verdict.logs)
    assert not verdict.differences, (
        f"{path.name} ({builder}) on {engine.label}: {verdict.summary()}:\n{details}\n{logs}"
    )


def test_enough_scenarios_cover_the_rules():
    """At least 60 scenarios; every (scenario, builder) pair runs on both engines unless its
    image store says otherwise; at least the 235 pairs per engine of the separate `-legacy`
    files, and both builders well covered."""
    assert len(SCENARIOS) >= 60
    keys = [param.values[2] for param in RUNS]
    pairs = [(path, builder) for path in SCENARIOS for builder in load(path).builders]
    on_both = sum(1 for path, _ in pairs if engines_for(path) == ["20.10", "28.5"])
    assert keys.count("20.10") == keys.count("28.5") == on_both >= 235
    assert len(RUNS) == 2 * on_both + keys.count("28.5-containerd")
    assert len({param.id for param in RUNS}) == len(RUNS)
    builders = [builder for _, builder in pairs]
    assert builders.count("buildkit") >= 60 and builders.count("legacy") >= 60


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


STANDIN_CANNOT_RUN = """\
name: standin-cannot-run
description: dotnet is not in the stand-in base, so the RUN exits 127 on the engine.
engine: {engine}
dockerfile: |
  FROM python:3.12-slim
  RUN echo before && dotnet restore
files:
  a.txt: "a\\n"
builds:
  - name: cold
"""


@pytest.mark.engine
@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_a_command_the_standin_cannot_run_is_labelled(engine_28, monkeypatch, tmp_path, builder):
    """Not a cache difference: its own kind, with the command's output, still a failure."""
    engine_28.use(monkeypatch)
    scenario = load(_scenario(tmp_path, STANDIN_CANNOT_RUN.format(engine=builder)))
    verdict = verify_scenario(scenario, docker=engine_28.docker, facts=engine_28.facts)
    assert not verdict.agrees
    assert [d.kind for d in verdict.differences] == ["standin"]
    assert verdict.cache_differences == ()
    text = verdict.differences[0].describe()
    assert "the stand-in could not run this command (exit code 127)" in text
    assert "before" in text and "dotnet" in text
    assert "a command the stand-in base could not run" in verdict.summary()


GIT_CONTEXT = """\
name: git-in-context
description: a context holding .git; buildx warns it cannot read commit information.
engine: buildkit
dockerfile: |
  FROM python:3.12-slim
  COPY . /src
files:
  .git/HEAD: "ref: refs/heads/main\\n"
  app.py: "print(1)\\n"
builds:
  - name: cold
  - name: edit
    changes:
      - {edit: app.py, content: "print(2)\\n"}
"""


@pytest.mark.engine
def test_a_git_folder_in_the_context_is_a_warning_not_a_failure(engine_28, monkeypatch, tmp_path):
    """Without BUILDX_GIT_INFO=0 buildx prints a WARNING; the builds still agree."""
    engine_28.use(monkeypatch)
    monkeypatch.delenv("BUILDX_GIT_INFO", raising=False)
    verdict = verify_scenario(
        load(_scenario(tmp_path, GIT_CONTEXT)), docker=engine_28.docker, facts=engine_28.facts
    )
    assert verdict.agrees, "\n".join(d.describe() for d in verdict.differences)


@pytest.mark.engine
def test_both_engines_are_what_the_suite_says(engine_20, engine_28):
    """The two daemons are Docker 20.10 and 28.5, graphdriver stores, vfs."""
    assert engine_20.facts.docker_version.startswith("20.10.")
    assert engine_20.facts.buildkit == "0.8"
    assert engine_28.facts.docker_version.startswith("28.5.")
    assert engine_28.facts.buildkit == "0.25"
    for engine in (engine_20, engine_28):
        assert (engine.facts.image_store, engine.facts.storage_driver) == ("graphdriver", "vfs")
    plugin = subprocess.run(
        [engine_28.docker, "buildx", "version"],
        capture_output=True,
        text=True,
        env={**engine_28.env, "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert plugin.returncode == 0 and "buildx 0.29" in plugin.stdout, plugin.stderr


@pytest.mark.engine
def test_the_containerd_engine_uses_the_containerd_image_store(engine_28_containerd):
    """`--feature containerd-snapshotter=true` gives 28.5 the containerd snapshotter."""
    assert engine_28_containerd.facts.image_store == "containerd"
    assert engine_28_containerd.facts.buildkit == "0.25"
