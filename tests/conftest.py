"""Shared fixtures: the real Docker engines the ``engine`` tests need.

Two engines are ground truth (cachesim/core/versions.py), each a private daemon this session
starts in a temporary folder and stops at the end:

- ``engine_20``: Docker 20.10 (BuildKit v0.8), Debian 12's ``/usr/bin/dockerd`` and its
  client ``/usr/bin/docker`` (``scripts/start-engine.sh``);
- ``engine_28``: Docker 28.5 (BuildKit v0.25), unpacked by ``scripts/modern-engine.sh
  install``, with its own 28.x client and the buildx plugin (``DOCKER_CONFIG``);
- ``engine_28_containerd``: the same 28.5 with the containerd image store
  (``--feature containerd-snapshotter=true``), only for scenarios that say
  ``image_store: containerd``. Fixtures start lazily, so a worker that never meets such a
  scenario never starts this daemon.

The engine tests never skip quietly: an engine that cannot start makes every test that
needs it *fail*, naming the engine and the script's message, so a machine without an
engine cannot pass the suite by accident. ``CACHESIM_SKIP_ENGINE=1`` skips them on
purpose. ``docker_engine`` is the 20.10 engine with ``DOCKER_HOST`` pointing at it for the
whole session (the runner and stand-in tests use the default client).

With pytest-xdist every worker starts its own daemons (at most three), so two workers never
share a build cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cachesim.engine.daemon import EngineError, EngineFacts, engine_facts

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "scenarios"
SCRIPTS = ROOT / "scripts"
DOCKER_20 = os.environ.get("CACHESIM_DOCKER", "/usr/bin/docker")
START_TIMEOUT = 180

# What each engine key means: its name in messages, how to start it, whether it needs the
# 28.x client.
ENGINES: dict[str, tuple[str, list[str]]] = {
    "20.10": ("Docker 20.10", ["sh", str(SCRIPTS / "start-engine.sh")]),
    "28.5": ("Docker 28.5", ["bash", str(SCRIPTS / "modern-engine.sh"), "start"]),
    "28.5-containerd": (
        "Docker 28.5 with the containerd image store",
        ["bash", str(SCRIPTS / "modern-engine.sh"), "start"],
    ),
}
EXTRA_FLAGS = {"28.5-containerd": ["--feature", "containerd-snapshotter=true"]}


def modern_cache() -> Path:
    """Where ``scripts/modern-engine.sh install`` unpacked Docker 28.5."""
    return Path(os.environ.get("CACHESIM_ENGINE_CACHE", "/var/cache/cachesim/docker-28"))


@dataclass(frozen=True)
class RealEngine:
    """A running private daemon: its key, client, the environment its client needs."""

    key: str
    docker: str
    env: Mapping[str, str]
    facts: EngineFacts
    folder: str = field(repr=False, default="")

    @property
    def label(self) -> str:
        """``Docker 28.5.2 (BuildKit 0.25)``, with the image store when it is containerd."""
        version = self.facts.docker_version.split("+")[0]
        store = ", containerd image store" if self.facts.image_store == "containerd" else ""
        return f"Docker {version} (BuildKit {self.facts.buildkit}{store})"

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point this test's docker calls at this engine (restored after the test)."""
        for name in ("DOCKER_CONFIG", "BUILDX_GIT_INFO", "BUILDX_NO_DEFAULT_ATTESTATIONS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)


def _skip_on_request() -> None:
    if os.environ.get("CACHESIM_SKIP_ENGINE") == "1":
        pytest.skip("CACHESIM_SKIP_ENGINE=1: real-engine tests skipped on request")


def _start(key: str) -> Iterator[RealEngine]:
    """Start the engine ``key`` in a fresh folder, yield it, stop and remove it."""
    _skip_on_request()
    name, command = ENGINES[key]
    folder = tempfile.mkdtemp(prefix=f"cachesim-engine-{key}-")
    env = {**os.environ}
    env.pop("DOCKER_HOST", None)
    try:
        started = subprocess.run(
            [*command, folder, *EXTRA_FLAGS.get(key, [])],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"{name} did not start within {START_TIMEOUT}s", pytrace=False)
    if started.returncode != 0:
        subprocess.run(["sh", str(SCRIPTS / "stop-engine.sh"), folder, "--purge"], timeout=120)
        pytest.fail(
            f"{name} could not start ({' '.join(command)} {folder}); install it with "
            f"scripts/install.sh:\n{started.stderr.strip()}",
            pytrace=False,
        )
    host = started.stdout.strip().splitlines()[-1]
    client_env: dict[str, str] = {"DOCKER_HOST": host}
    docker = DOCKER_20
    if key.startswith("28"):
        docker = str(modern_cache() / "bin" / "docker")
        client_env |= {
            "DOCKER_CONFIG": str(modern_cache() / "dockercfg"),
            "BUILDX_GIT_INFO": "0",
            "BUILDX_NO_DEFAULT_ATTESTATIONS": "1",
        }
    try:
        saved = {k: os.environ.get(k) for k in client_env}
        os.environ.update(client_env)
        try:
            facts = engine_facts(docker)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    except EngineError as e:
        subprocess.run(["sh", str(SCRIPTS / "stop-engine.sh"), folder, "--purge"], timeout=120)
        pytest.fail(f"{name} started but does not answer: {e}", pytrace=False)
    try:
        yield RealEngine(key, docker, client_env, facts, folder)
    finally:
        subprocess.run(
            ["sh", str(SCRIPTS / "stop-engine.sh"), folder, "--purge"],
            capture_output=True,
            timeout=120,
        )


@pytest.fixture(scope="session")
def engine_20() -> Iterator[RealEngine]:
    """A private Docker 20.10 daemon (BuildKit v0.8) and Debian 12's client."""
    yield from _start("20.10")


@pytest.fixture(scope="session")
def engine_28() -> Iterator[RealEngine]:
    """A private Docker 28.5 daemon (BuildKit v0.25, graphdriver store, vfs), 28.x client."""
    yield from _start("28.5")


@pytest.fixture(scope="session")
def engine_28_containerd() -> Iterator[RealEngine]:
    """A private Docker 28.5 daemon with the containerd image store."""
    yield from _start("28.5-containerd")


FIXTURE_OF = {"20.10": "engine_20", "28.5": "engine_28", "28.5-containerd": "engine_28_containerd"}


@pytest.fixture(scope="session")
def docker_engine(engine_20: RealEngine) -> Iterator[str]:
    """The 20.10 engine's DOCKER_HOST value, exported for the whole session."""
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine_20.env["DOCKER_HOST"]
    try:
        yield engine_20.env["DOCKER_HOST"]
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how many scenario runs each real engine confirmed (tests/test_real_engine.py).

    Each run records its engine's label as a user property (it travels back from xdist
    workers); runs whose engine never started have none and count as not run.
    """
    verified: dict[str, int] = {}
    disagreed: dict[str, int] = {}
    standin = 0
    unverifiable = 0
    not_run = 0
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if "test_real_engine.py::test_scenario_agrees" not in report.nodeid:
                continue
            if report.when != "call" and outcome == "passed":
                continue
            props = dict(report.user_properties)
            label = props.get("cachesim_engine")
            if label is None:
                not_run += 1
            elif outcome == "passed":
                verified[label] = verified.get(label, 0) + 1
            else:
                disagreed[label] = disagreed.get(label, 0) + 1
                standin += int(props.get("cachesim_standin_only", 0))
                unverifiable += int(props.get("cachesim_not_verifiable", 0))
    if not (verified or disagreed or not_run):
        return
    labels = sorted(set(verified) | set(disagreed))
    counts = [f"{verified.get(label, 0)} on {label}" for label in labels]
    if counts:
        counts[0] = counts[0].replace(" on ", " scenario runs verified on ", 1)
    line = f"cachesim: {', '.join(counts) or 'no scenario run verified'}; "
    line += f"{sum(disagreed.values())} disagreed"
    if disagreed:
        line += " (" + ", ".join(f"{n} on {label}" for label, n in sorted(disagreed.items()))
        line += f"; {standin} of them only a command the stand-in could not run"
        line += f", {unverifiable} marked verify: false)"
    if not_run:
        line += f"; {not_run} could not run (an engine did not start)"
    terminalreporter.write_line(line)
