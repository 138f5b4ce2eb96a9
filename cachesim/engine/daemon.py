"""Talking to the Docker daemon through its command-line client.

Everything the real-engine side does goes through the 20.10 client ``/usr/bin/docker``
(a newer client elsewhere on PATH may speak a different dialect). The daemon is chosen by
``DOCKER_HOST``, normally the private one that ``scripts/start-engine.sh`` starts. Every
call has a timeout, and a failing call raises ``EngineError`` with the client's message.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

DEFAULT_DOCKER = "/usr/bin/docker"
DEFAULT_TIMEOUT = 60.0


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
