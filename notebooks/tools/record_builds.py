"""Record what a real Docker engine did, build by build, for the scenarios lessons 5 and 7 quote.

    export DOCKER_HOST=...        # the engine to record from (both builders are recorded)
    python3 notebooks/tools/record_builds.py [--docker CLIENT] [SCENARIO.yaml...]

Without arguments it records every scenario in ``RECORDED_SCENARIOS``. Each scenario's
builds run in order, from an empty cache, on cachesim's stand-in base images (busybox
with stub tools: cachesim/engine/standin.py), exactly as ``cachesim verify`` runs them;
nothing is pulled and everything the run made is removed afterwards.

One file a scenario, engine and builder: ``notebooks/recorded/<scenario>-docker<X.Y>-
<builder>.txt``, in the shape ``cachesim.read_recording`` reads: ``# key: value`` header
lines (the date, the Docker and BuildKit versions), then one ``$ docker build ...`` section
a build, holding a ``step`` line per step the engine printed (tab-separated: stage, k/n,
status as the engine said it, instruction; read from the log by cachesim's log parser),
the exit status and the engine's whole log. The lessons read the ``step`` lines.
Sequences of builds are what this adds to ``record.py``, which records single cold builds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cachesim.core.versions import buildkit_of_docker  # noqa: E402
from cachesim.engine import run_builds, server_version  # noqa: E402
from cachesim.engine.runner import build_command  # noqa: E402
from cachesim.simulation.simulator import images_of  # noqa: E402
from cachesim.sources.scenario import load, replay  # noqa: E402

RECORDED = ROOT / "notebooks" / "recorded"
SCENARIOS = ROOT / "notebooks" / "scenarios"
RECORDED_SCENARIOS = (
    "myth-every-step-after",
    "myth-mtime",
    "myth-arg-unused",
    "seed-multistage",
    "seed-multistage-fixed",
    "multistage-readme",
    "multistage-compiler",
)
SHOWN = {"cached": "CACHED", "built": "BUILT", "failed": "FAILED"}


def record(path: Path, builder: str, docker: str) -> Path:
    """Run one scenario's builds with one builder and write what the engine did."""
    scenario = load(path)
    server = server_version(docker)
    major_minor = ".".join(server.split(".")[:2])
    requests = [step.request for step in replay(scenario, images_of)]
    observed = run_builds(requests, builder, docker=docker)  # type: ignore[arg-type]
    env_builder = "1" if builder == "buildkit" else "0"
    out = [
        f"# recorded: {datetime.date.today().isoformat()}",
        f"# docker: {server}",
        f"# buildkit: {buildkit_of_docker(server)} (the BuildKit Docker {major_minor} carries)",
        f"# builder: {builder} (DOCKER_BUILDKIT={env_builder})",
        "# base images: cachesim stand-ins (busybox with stub tools)",
        f"# scenario: notebooks/scenarios/{path.name}",
        "# tool: notebooks/tools/record_builds.py",
    ]
    for number, (request, seen) in enumerate(zip(requests, observed, strict=True), 1):
        build = scenario.builds[number - 1]
        command = build_command(request, builder, f"lesson:{number}", Path("."), "docker")
        changes = "; ".join(change.describe() for change in build.changes) or "none"
        out += [
            "",
            f"$ DOCKER_BUILDKIT={env_builder} {' '.join(command)}",
            f"# build {number}/{len(observed)}: {seen.name}",
            f"# changes: {changes}",
        ]
        for step in seen.steps:
            status = SHOWN[step.status]
            out.append(
                f"step\t{step.stage}\t{step.index}/{step.total}\t{status}\t{step.instruction}"
            )
        out.append(f"# exit status {seen.exit_code}" + (f": {seen.error}" if seen.error else ""))
        out += ["# the engine's log:", seen.log.rstrip()]
    RECORDED.mkdir(parents=True, exist_ok=True)
    target = RECORDED / f"{scenario.name}-docker{major_minor}-{builder}.txt"
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker", default="/usr/bin/docker", help="the docker client to use")
    parser.add_argument("scenarios", nargs="*", type=Path, help="scenario files")
    args = parser.parse_args()
    if "DOCKER_HOST" not in os.environ:
        parser.error("set DOCKER_HOST to the engine to record from")
    paths = args.scenarios or [SCENARIOS / f"{name}.yaml" for name in RECORDED_SCENARIOS]
    for path in paths:
        for builder in ("buildkit", "legacy"):
            print(record(path, builder, args.docker), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
