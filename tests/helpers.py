"""What several test files share: running the `cachesim` command as a user would, and the
accuracy benchmark's module."""

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cachesim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`cachesim ARGS...` in a fresh process: its exit status, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "cachesim.app.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def scenario_named(name: str):
    """tests/scenarios/NAME(.yaml), loaded. ``NAME-legacy`` where no such file exists is the
    classic-builder pair of NAME (a scenario with ``builders: [buildkit, legacy]``, which
    replaced the separate ``-legacy`` copies): ``for_builder(load(NAME), "legacy")``."""
    from cachesim.sources.scenario import for_builder, load

    name = name.removesuffix(".yaml")
    path = ROOT / "tests" / "scenarios" / f"{name}.yaml"
    base = ROOT / "tests" / "scenarios" / f"{name.removesuffix('-legacy')}.yaml"
    if path.exists() or not name.endswith("-legacy"):
        return load(path)
    return for_builder(load(base), "legacy")


def builder_pairs(paths, name_of=lambda path: path.stem) -> list:
    """pytest params ``(path, builder)``, one per builder each scenario names (``builders:``).
    The id is ``name_of(path)``, plus ``-BUILDER`` for a builder after the first: the ids the
    separate ``-legacy`` copies had before ``builders: [buildkit, legacy]`` replaced them."""
    import pytest

    from cachesim.sources.scenario import load

    params = []
    for path in paths:
        builders = load(path).builders
        for builder in builders:
            suffix = "" if builder == builders[0] else f"-{builder}"
            params.append(pytest.param(path, builder, id=f"{name_of(path)}{suffix}"))
    return params


@functools.cache
def accuracy_module():
    """benchmarks/accuracy.py (not a package), imported once for every test file that reads
    its split, its recorded runs or its fitting hook."""
    spec = importlib.util.spec_from_file_location(
        "accuracy_bench", ROOT / "benchmarks" / "accuracy.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
