"""Lesson 6's bundled histories: what notebooks/tools/make_history.py writes, and their shape."""

import sys

import yaml

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "notebooks" / "tools"))

import make_history

HISTORY = ROOT / "notebooks" / "scenarios" / "history"


def _stored(percent: int) -> dict:
    text = (HISTORY / f"shop-deps-{percent:02d}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _dependency_builds(history: dict) -> set[int]:
    return {
        number
        for number, build in enumerate(history["builds"])
        if any(c.get("edit") == "requirements.txt" for c in build.get("changes", []))
    }


def test_the_stored_files_are_what_the_script_writes():
    """A stale file (script edited, files not regenerated) fails here."""
    for percent in make_history.RATES:
        assert _stored(percent) == yaml.safe_load(
            yaml.safe_dump(make_history.history(percent), sort_keys=False)
        ), f"run python3 notebooks/tools/make_history.py (shop-deps-{percent:02d})"
    names = sorted(p.name for p in HISTORY.glob("*.yaml"))
    assert names == sorted(f"shop-deps-{p:02d}.yaml" for p in make_history.RATES)


def test_a_higher_rate_keeps_every_dependency_change_of_a_lower_one():
    """Common random numbers: the sweep differs only where the rate says it must."""
    previous: set[int] = set()
    for percent in make_history.RATES:
        changed = _dependency_builds(_stored(percent))
        assert previous <= changed
        previous = changed
    assert _dependency_builds(_stored(0)) == set()
    assert _dependency_builds(_stored(100)) == set(range(1, make_history.BUILDS))


def test_each_history_is_a_valid_scenario_of_the_stated_length():
    import cachesim

    for percent in make_history.RATES:
        scenario = cachesim.load_scenario(HISTORY / f"shop-deps-{percent:02d}.yaml")
        assert len(scenario.builds) == make_history.BUILDS
        assert scenario.builds[0].changes == ()
        assert all(len(build.changes) == 1 for build in scenario.builds[1:])


def test_the_rate_is_roughly_what_the_name_says():
    """40 draws: the share of dependency changes is within 12 points of the file's rate."""
    for percent in make_history.RATES:
        share = len(_dependency_builds(_stored(percent))) / (make_history.BUILDS - 1)
        assert abs(share - percent / 100) <= 0.12, (percent, share)
