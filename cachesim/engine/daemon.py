"""Talking to the Docker daemon through its command-line client.

Everything the real-engine side does goes through one client: by default Debian 12's
20.10 client ``/usr/bin/docker``; for Docker 28.5 its own 28.x client with the buildx
plugin (``scripts/modern-engine.sh client``, with ``DOCKER_CONFIG`` naming the folder that
holds the plugin). The daemon is chosen by ``DOCKER_HOST``, normally a private one that
``scripts/start-engine.sh`` or ``scripts/modern-engine.sh start`` starts. Every call has a
timeout, and a failing call raises ``EngineError`` with the client's message.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from cachesim.core.versions import buildkit_of_docker

DEFAULT_DOCKER = "/usr/bin/docker"
DEFAULT_TIMEOUT = 60.0
BUILD_NETWORK = "none"  # every verification build runs with --network=none
CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


class EngineError(Exception):
    """The real engine could not be used: no daemon, a missing tool, a failed command."""


def docker_cmd(docker: str, *args: str) -> list[str]:
    """The argument vector of one client call."""
    return [docker, *args]


def run_docker(
    docker: str,
    *args: str,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run one client call and return it; raise ``EngineError`` if it fails (and ``check``)."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(
            docker_cmd(docker, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
    except FileNotFoundError as e:
        raise EngineError(f"the docker client {docker} is not installed") from e
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"`docker {' '.join(args)}` did not finish within {timeout}s") from e
    if check and proc.returncode != 0:
        raise EngineError(
            f"`docker {' '.join(args)}` failed (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    return proc


def engine_answers(docker: str = DEFAULT_DOCKER, timeout: float = 10.0) -> bool:
    """True when a daemon answers ``docker version`` (server part included)."""
    try:
        proc = run_docker(
            docker, "version", "--format", "{{.Server.Version}}", timeout=timeout, check=False
        )
    except EngineError:
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def server_version(docker: str = DEFAULT_DOCKER, timeout: float = 20.0) -> str:
    """The daemon's Docker version (``20.10.24+dfsg1``, ``28.5.2+dfsg4``)."""
    proc = run_docker(docker, "version", "--format", "{{.Server.Version}}", timeout=timeout)
    return proc.stdout.strip()


def lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The non-empty lines of a call's output."""
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class EngineFacts:
    """What a verification says about the engine it ran on.

    The image store matters to cache behaviour (``COPY --link`` differs between the
    graphdriver store and the containerd snapshotter), and so would the network: every
    build runs with ``--network=none`` (nothing is fetched), which the report says.
    """

    docker_version: str
    buildkit: str
    image_store: str  # graphdriver | containerd
    storage_driver: str
    network: str = BUILD_NETWORK

    def describe(self) -> str:
        """``Docker 28.5.2+dfsg4 (BuildKit 0.25), graphdriver image store (vfs), ...``."""
        return (
            f"Docker {self.docker_version} (BuildKit {self.buildkit}), {self.image_store} "
            f"image store ({self.storage_driver}), builds with --network={self.network}"
        )


def image_store_of(driver_status: object) -> str:
    """``containerd`` when ``docker info``'s DriverStatus names the containerd snapshotter."""
    pairs = driver_status if isinstance(driver_status, list) else []
    for pair in pairs:
        if isinstance(pair, list) and len(pair) == 2 and pair[1] == CONTAINERD_SNAPSHOTTER:
            return "containerd"
    return "graphdriver"


def engine_facts(docker: str = DEFAULT_DOCKER, timeout: float = 20.0) -> EngineFacts:
    """The daemon's Docker version, its BuildKit, its image store and storage driver."""
    version = server_version(docker, timeout)
    proc = run_docker(
        docker, "info", "--format", "{{json .Driver}} {{json .DriverStatus}}", timeout=timeout
    )
    driver_text, _, status_text = proc.stdout.strip().partition(" ")
    try:
        driver, status = json.loads(driver_text), json.loads(status_text or "null")
    except json.JSONDecodeError as e:
        raise EngineError(f"cannot read `docker info`: {proc.stdout.strip()[:200]}") from e
    return EngineFacts(version, buildkit_of_docker(version), image_store_of(status), str(driver))
