"""The builder registry: a third builder in a few lines, and no builder names compared elsewhere.

Issue 6, outcome 3: every rule that differs between builders lives behind the ``Builder``
protocol (cachesim/builders/protocol.py), reached through the registry; a new builder is
one ``register`` call, and no module outside the registry compares builder names.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from cachesim.builders import buildkit, registry
from cachesim.cost.model import apply_costs
from cachesim.output import report
from cachesim.simulation.simulator import simulate, trace
from cachesim.sources.scenario import load

PACKAGE = Path(__file__).resolve().parent.parent / "cachesim"
PRUNE_ALL = Path(__file__).parent / "scenarios" / "prune-all.yaml"


def keeps_cache_on_prune(version: str) -> buildkit.BuildKitRules:
    """A toy builder: BuildKit, except that ``docker builder prune`` leaves its cache alone
    (its one documented difference, as if it kept its cache where prune does not look)."""
    rules = registry.builder("buildkit", version)
    return replace(rules, name="toy", label="toy builder", prune_clears_cache=False)


@pytest.fixture
def toy():
    registry.register("toy", keeps_cache_on_prune)
    yield "toy"
    registry.unregister("toy")


def statuses(result, build: int) -> list[tuple[str, str]]:
    return [(s.instruction, s.status) for s in result.builds[build].steps]


def test_a_registered_toy_builder_simulates_and_shows_its_one_difference(toy):
    scenario = load(PRUNE_ALL)
    before = simulate(scenario)  # the scenario's own builder: buildkit
    assert toy in registry.names()
    mine = simulate(scenario, builder=toy)
    after = simulate(scenario)
    assert mine.engine == "toy"
    # BuildKit's results do not change because another builder exists.
    assert after == before
    # Build 3 follows `docker builder prune -af`, which removes all build cache (CLI
    # reference, docker builder prune; scenario prune-all agrees with Docker 20.10 and
    # 28.5): BuildKit runs the RUN again, the toy finds it cached.
    assert ("RUN npm install", "built") in statuses(before, 2)
    assert ("RUN npm install", "cached") in statuses(mine, 2)
    assert all(status == "cached" for _, status in statuses(mine, 2))
    # Everywhere else the toy is BuildKit: the builds before the prune are identical.
    for build in (0, 1):
        assert statuses(mine, build) == statuses(before, build)
    # ... and the rest of the pipeline (cost model, report) takes it through the registry.
    priced = apply_costs(scenario, trace(scenario, builder=toy))
    assert [b.steps for b in priced.builds] != [b.steps for b in mine.builds]  # priced
    assert all(b.seconds is not None for b in priced.builds)
    assert "(engine: toy)" in report.text(priced)


def test_an_unknown_builder_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="unknown builder 'podman' \\(one of buildkit, legacy"):
        registry.builder("podman")


def test_the_registry_keeps_the_scenario_formats_names():
    assert registry.NAMES == ("buildkit", "legacy")
    assert registry.builder("buildkit", "0.8").version == "0.8"
    assert registry.builder("legacy").label == "classic builder"
    registry.unregister("legacy")  # the built-in builders cannot be removed
    assert "legacy" in registry.names()


def name_comparisons(source: str, names: tuple[str, ...]) -> list[int]:
    """Lines of ``source`` that compare something with a builder name written as a string
    (``== "legacy"``, ``!= "buildkit"``, ``in ("buildkit", ...)``, ``case "legacy":``)."""

    def is_name(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(is_name(e) for e in node.elts)
        return False

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
            is_name(n) for n in (node.left, *node.comparators)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.MatchValue) and is_name(node.value):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_each_kind_of_comparison():
    source = (
        'a = x == "legacy"\n'
        'b = "buildkit" != y\n'
        'c = z in ("buildkit", "legacy")\n'
        "match w:\n"
        '    case "legacy":\n'
        "        pass\n"
        'd = x == "other"\n'
    )
    assert name_comparisons(source, registry.NAMES) == [1, 2, 3, 5]


def test_no_builder_name_is_compared_outside_the_registry():
    allowed = PACKAGE / "builders" / "registry.py"
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != allowed
        for line in name_comparisons(path.read_text(encoding="utf-8"), registry.NAMES)
    ]
    assert found == []
