"""Record what a real Docker engine prints for the lessons' experiments.

The lessons quote these files instead of asserting how Docker behaves. Each file in
``notebooks/recorded/`` starts with the date, the Docker version and the BuildKit version
of the engine that produced it, then the exact commands and their output.

usage (on a machine with a Docker engine; no registry is needed):

    export DOCKER_HOST=...                       # the engine to record from
    python3 notebooks/tools/record.py [--docker /path/to/docker] [EXPERIMENT...]

Base images are cachesim's stand-ins (busybox with stub tools, ``docker import``ed under
the FROM's name: cachesim/engine/standin.py), so the sizes are the stand-ins', not
python:3.10-slim's. What the lessons read from the records is which instructions make a
layer, whether a build fails and with which message, and which files an image holds.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cachesim.core.versions import buildkit_of_docker  # noqa: E402
from cachesim.engine.standin import ensure_standin  # noqa: E402

RECORDED = ROOT / "notebooks" / "recorded"

# The seed chapter's Dockerfile. The stand-in `pip` writes nothing, so `dd` writes the
# 3 MB a real `pip install flask` would, to give the RUN a layer of a real size.
SEED_DOCKERFILE = """\
FROM python:3.10-slim
ENV PYTHONUNBUFFERED=1
RUN pip install flask && dd if=/dev/zero of=/flask.bin bs=1024 count=3000
COPY . /app
WORKDIR /app
CMD ["python", "app.py"]
"""

SEED_SIMPLE = """\
FROM python:3.10-slim
ENV PYTHONUNBUFFERED=1
RUN pip install flask
COPY app.py /app
WORKDIR /app
CMD ["python", "app.py"]
"""

LEAK_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["python", "app.py"]
"""


@dataclass(frozen=True)
class Experiment:
    """One recorded experiment: a context, a Dockerfile, and what to ask the image."""

    name: str
    dockerfile: str
    files: dict[str, str]
    dockerignore: str | None = None
    inspect: bool = True  # docker history and RootFS layers of the image
    list_files: str | None = None  # a folder of the image to list (docker export)


EXPERIMENTS = {
    "seed-layers": Experiment(
        "seed-layers", SEED_DOCKERFILE, {"app.py": "print('hello')\n", "README.md": "# app\n"}
    ),
    "seed-simple": Experiment("seed-simple", SEED_SIMPLE, {"app.py": "print('hello')\n"}),
    # Does WORKDIR make a layer when its folder does not exist yet? (lesson 1)
    "workdir-new": Experiment(
        "workdir-new",
        "FROM python:3.10-slim\nWORKDIR /srv/app\nCOPY app.py .\n",
        {"app.py": "print('hello')\n"},
    ),
    "env-leak": Experiment(
        "env-leak",
        LEAK_DOCKERFILE,
        {
            "app.py": "print('hello')\n",
            ".env": "DB_PASSWORD=hunter2\n",
            "README.md": "# app\n",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
        inspect=False,
        list_files="app",
    ),
    "env-leak-fixed": Experiment(
        "env-leak-fixed",
        LEAK_DOCKERFILE,
        {
            "app.py": "print('hello')\n",
            ".env": "DB_PASSWORD=hunter2\n",
            "README.md": "# app\n",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
        dockerignore=".git\n.env\n*.md\nDockerfile\n.dockerignore\n",
        inspect=False,
        list_files="app",
    ),
}


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return proc.returncode, (proc.stdout + proc.stderr).rstrip()


def record(experiment: Experiment, builder: str, docker: str) -> Path:
    """Build one experiment with one builder and write what the engine printed."""
    env = dict(os.environ, DOCKER_BUILDKIT="1" if builder == "buildkit" else "0")
    env.setdefault("BUILDX_GIT_INFO", "0")
    _, server = run([docker, "version", "--format", "{{.Server.Version}}"], env)
    major_minor = ".".join(server.split(".")[:2])
    base = experiment.dockerfile.splitlines()[0].split()[1]
    ensure_standin(base, 1, uuid.uuid4().hex[:8], docker=docker)
    tag = f"cachesim-lesson-{experiment.name}:{builder}"
    out = [
        f"# recorded: {datetime.date.today().isoformat()}",
        f"# docker: {server}",
        f"# buildkit: {buildkit_of_docker(server)} (the BuildKit Docker {major_minor} carries)",
        f"# builder: {builder} (DOCKER_BUILDKIT={env['DOCKER_BUILDKIT']})",
        f"# base image: cachesim stand-in for {base} (busybox with stub tools)",
        "# tool: notebooks/tools/record.py",
        "",
        "$ cat Dockerfile",
        experiment.dockerfile.rstrip(),
    ]
    if experiment.dockerignore is not None:
        out += ["$ cat .dockerignore", experiment.dockerignore.rstrip()]
    with tempfile.TemporaryDirectory(prefix="cachesim-record-") as folder:
        context = Path(folder)
        (context / "Dockerfile").write_text(experiment.dockerfile)
        if experiment.dockerignore is not None:
            (context / ".dockerignore").write_text(experiment.dockerignore)
        for path, text in experiment.files.items():
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            (context / path).write_text(text)
        flags = ["--progress=plain"] if builder == "buildkit" else []
        status, log = run(
            [docker, "build", "--network=none", "--no-cache", *flags, "-t", tag, "."], env, context
        )
        out += [f"$ docker build --network=none --no-cache {' '.join(flags)} -t {tag} .", log]
        out.append(f"# exit status {status}")
    if status == 0 and experiment.inspect:
        history = [docker, "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", tag]
        out += [f"$ docker history --format '{{{{.Size}}}}\\t{{{{.CreatedBy}}}}' {tag}"]
        out.append(run(history, env)[1])
        each_layer = "{{range .RootFS.Layers}}{{println .}}{{end}}"
        layers = [docker, "image", "inspect", "--format", each_layer, tag]
        out += [f"$ docker image inspect --format '{{{{range .RootFS.Layers}}}}...' {tag}"]
        out.append(run(layers, env)[1])
        out += [f"$ docker save {tag}: the image config's history (empty_layer = no layer)"]
        out += _config_history(tag, docker, env)
        base_layers = run([*layers[:-1], base], env)[1]
        out += [f"# the base image {base} has {len(base_layers.split())} layer(s)"]
    if status == 0 and experiment.list_files:
        _, container = run([docker, "create", tag], env)
        export = subprocess.run(
            [docker, "export", container], env=env, capture_output=True, check=True
        )
        listing = subprocess.run(
            ["tar", "-t"], input=export.stdout, capture_output=True, check=True
        ).stdout.decode()
        wanted = sorted(
            p for p in listing.splitlines() if p.startswith(experiment.list_files + "/")
        )
        folder = experiment.list_files
        out += [f"$ docker export $(docker create {tag}) | tar -t | grep '^{folder}/'"]
        out += wanted
        run([docker, "rm", container], env)
    run([docker, "image", "rm", "-f", tag], env)
    RECORDED.mkdir(parents=True, exist_ok=True)
    path = RECORDED / f"{experiment.name}-docker{major_minor}-{builder}.txt"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _config_history(tag: str, docker: str, env: dict[str, str]) -> list[str]:
    """Each history entry of the image config: its instruction and whether it made a layer."""
    saved = subprocess.run([docker, "save", tag], env=env, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(saved.stdout)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    return [
        f"{'no layer' if entry.get('empty_layer') else 'LAYER   '}  {entry.get('created_by', '')}"
        for entry in config.get("history", [])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker", default="/usr/bin/docker", help="the docker client to use")
    parser.add_argument("experiments", nargs="*", choices=[*EXPERIMENTS, []], default=[])
    args = parser.parse_args()
    for name in args.experiments or list(EXPERIMENTS):
        for builder in ("buildkit", "legacy"):
            print(record(EXPERIMENTS[name], builder, args.docker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
