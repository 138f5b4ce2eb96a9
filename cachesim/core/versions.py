"""The real engines cachesim models, and which BuildKit each one carries.

BuildKit's rules moved between releases (heredocs, ``COPY --link``, ``COPY --exclude`` and
``RUN --network`` are new syntax; error texts changed), so a prediction names the BuildKit
it is for. Two engines are ground truth here (see docs/engine-findings.md):

- Docker 20.10 (Debian 12's ``docker.io``): BuildKit v0.8;
- Docker 28.5 (Debian's testing suite): BuildKit v0.25, what users run today.

The BuildKit revision is not stamped in Debian's builds (``buildx inspect`` says
v0.0.0+unknown); it is the one in moby's ``vendor.mod`` at that Docker tag.
"""

from __future__ import annotations

BUILDKIT_VERSIONS: tuple[str, ...] = ("0.8", "0.25")
DEFAULT_BUILDKIT = "0.25"
DOCKER_TO_BUILDKIT: dict[str, str] = {"20.10": "0.8", "28.5": "0.25"}


def buildkit_of_docker(server_version: str) -> str:
    """The BuildKit a Docker server version carries (``20.10.24+dfsg1`` -> ``0.8``).

    A version this table does not know maps to the nearest known release at or below it,
    so a Docker 27 is read with 0.8's rules rather than with rules it may not have yet.
    """
    major_minor = tuple(int(p) for p in server_version.split("+")[0].split(".")[:2])
    known = sorted(
        (tuple(int(p) for p in docker.split(".")), buildkit)
        for docker, buildkit in DOCKER_TO_BUILDKIT.items()
    )
    chosen = known[0][1]
    for docker, buildkit in known:
        if docker <= major_minor:
            chosen = buildkit
    return chosen


def knows_healthcheck_start_interval(buildkit_version: str) -> bool:
    """``HEALTHCHECK --start-interval`` (Dockerfile 1.6). Seen: Docker 20.10 refuses it with
    both builders ("dockerfile parse error line N: Unknown flag: start-interval"); Docker
    28.5 accepts it with both."""
    return buildkit_version != "0.8"


def bare_global_arg_hides_platform(buildkit_version: str) -> bool:
    """A bare global ``ARG TARGETARCH`` (no default) hides the automatic value on BuildKit 0.8
    (``FROM alpine:${TARGETARCH}`` -> "alpine:", invalid reference format) but not on 0.25,
    which keeps ``amd64``. Seen on Docker 20.10 and 28.5."""
    return buildkit_version == "0.8"


def run_failure_wording(version: str) -> str:
    """How BuildKit reports a RUN that exited non-zero: v0.8 says ``executor failed running
    [CMD]``, later releases ``process "CMD" did not complete successfully`` (both seen on
    the engines, scenario run-fails-declared)."""
    return "executor" if version == "0.8" else "process"


def is_modern(buildkit: str) -> bool:
    """Whether a BuildKit release has the Dockerfile 1.4+ frontend built in (heredocs,
    ``COPY --link``, ``COPY --exclude``, ``RUN --network``, the newer error wording).

    Of the two engines modelled, Docker 28.5's BuildKit v0.25 has it and Docker 20.10's
    v0.8 does not (both probed: docs/engine-findings.md section 21).
    """
    return tuple(int(p) for p in buildkit.split(".")) >= (0, 10)
