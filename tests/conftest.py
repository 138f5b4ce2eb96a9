"""Shared fixtures: the real Docker engine the ``engine`` tests need.

The engine tests never skip quietly. The ``docker_engine`` fixture uses the engine that
DOCKER_HOST names if it answers; otherwise it starts a private one
(``scripts/start-engine.sh``, a dockerd with its own data root in a temporary folder) and
stops it at the end. If neither works the test *fails* with the reason, so a machine
without an engine cannot pass the suite by accident. Set CACHESIM_SKIP_ENGINE=1 to skip
them deliberately (for example on a laptop with no root).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "scenarios"
DOCKER = os.environ.get("CACHESIM_DOCKER", "/usr/bin/docker")


def _answers() -> bool:
    try:
        done = subprocess.run([DOCKER, "version"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """A Docker engine that answers; its DOCKER_HOST value."""
    if os.environ.get("CACHESIM_SKIP_ENGINE") == "1":
        pytest.skip("CACHESIM_SKIP_ENGINE=1: real-engine tests skipped on request")
    if os.environ.get("DOCKER_HOST") and _answers():
        yield os.environ["DOCKER_HOST"]
        return
    folder = tempfile.mkdtemp(prefix="cachesim-engine-")
    started = subprocess.run(
        ["sh", str(ROOT / "scripts" / "start-engine.sh"), folder],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if started.returncode != 0:
        pytest.fail(
            "no Docker engine: DOCKER_HOST is not set or does not answer, and "
            f"scripts/start-engine.sh failed:\n{started.stderr}",
            pytrace=False,
        )
    host = started.stdout.strip().splitlines()[-1]
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    try:
        yield host
    finally:
        subprocess.run(
            ["sh", str(ROOT / "scripts" / "stop-engine.sh"), folder, "--purge"],
            capture_output=True,
            timeout=120,
        )
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how many scenarios the real engine confirmed (tests/test_real_engine.py)."""
    passed = [
        r.nodeid
        for r in terminalreporter.stats.get("passed", [])
        if "test_real_engine.py::test_scenario_agrees" in r.nodeid and r.when == "call"
    ]
    failed = [
        r.nodeid
        for r in terminalreporter.stats.get("failed", [])
        if "test_real_engine.py::test_scenario_agrees" in r.nodeid
    ]
    if passed or failed:
        legacy = sum(1 for n in passed if n.endswith("-legacy]"))
        terminalreporter.write_line(
            f"cachesim: {len(passed)} scenarios verified against the real engine, every step "
            f"agreeing ({len(passed) - legacy} BuildKit, {legacy} classic builder); "
            f"{len(failed)} disagreed"
        )
