"""``cachesim suggest``'s rewrites, built on the real Docker 20.10 engine: they still build,
and the final image holds the same files as the original's.

The samples are the shapes of real projects' Dockerfiles (found with the search tool; the
repository and path are named on each), with a small context of the files they need. The
base images are cachesim's stand-ins (busybox with stand-in ``pip``, ``npm``, ``go`` that
read exactly what cachesim's model says the real tools read: cachesim/engine/standin_tools.py),
so a RUN moved above ``COPY . .`` that read more than the model says would write other
bytes, and the comparison would catch it. "The same files" is a listing of the exported
container's file system: every path, its type, mode, owner, link target and the sha256 of
its bytes (mtimes left out: they differ between any two builds). Two differences are
expected and named by the suggestion itself: the Dockerfile and .dockerignore that
``COPY .`` copies (they are what is rewritten), and the paths a new .dockerignore entry or a
cache mount leaves out of the image (``Suggestion.drops``). The stand-in ``pip install``
(without --no-compile) adds a random value to its output on every run, as the real one's
.pyc timestamps do; the listing drops that value, keeping the digest of what pip read.
The stand-ins' scratch files (``/tmp/tmp.XXXXXX``, a random name every run) are left out.

Needs Docker 20.10 (conftest.py: the test fails, naming the engine, when it cannot start;
``CACHESIM_SKIP_ENGINE=1`` skips it on purpose).
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from cachesim.context.workspace import ContextFile
from cachesim.engine.runner import named_images
from cachesim.engine.standin import ensure_standin
from cachesim.whatif.suggest import Project, suggest

RANDOM_SUFFIX = re.compile(rb'(stand-in output of [^:]+: [0-9a-f]{64}) [0-9a-f-]{36}"')
# The stand-in tools' own scratch files (mktemp in /tmp, a random name each run); real
# tools leave none. And the Dockerfile and .dockerignore that COPY . copies: they are what
# the suggestion rewrites, so of course they differ.
STANDIN_SCRATCH = re.compile(r"tmp/tmp\.[A-Za-z0-9]+")
REWRITTEN = ("Dockerfile", ".dockerignore")

# (name, where its Dockerfile's shape comes from, Dockerfile, context files)
SAMPLES = [
    (
        "pip",
        "Heyson00/comp7940-group-project, Dockerfile",
        "FROM python\nWORKDIR /app\nCOPY . /app\nRUN pip install update\n"
        "RUN pip install -r requirements.txt\nRUN pip install Flask\n\nCMD python app.py\n",
        {
            "requirements.txt": "python-telegram-bot==13.7\nredis==4.0.2\n",
            "app.py": "print('bot')\n",
            "README.md": "# the bot\n",
        },
    ),
    (  # the COPY sits above a WORKDIR: it moves below it (its destination is absolute)
        "pip-workdir",
        "treviza153/GameInventory, Dockerfile",
        "FROM python:3\nCOPY . /app\nWORKDIR /app\nRUN pip3 install -r requirements.txt\n"
        'ENTRYPOINT ["python"]\nCMD flask run --host 0.0.0.0\n',
        {
            "requirements.txt": "flask==2.2.2\n",
            "app.py": "print('inventory')\n",
            "templates/index.html": "<p>items</p>\n",
        },
    ),
    (
        "npm",
        "BlackIQ/amirhossein.info, Dockerfile",
        "FROM node:latest\nWORKDIR /usr/src/app\nCOPY . .\nRUN npm install\nEXPOSE 3000\n"
        'CMD [ "node", "app.js" ]\n',
        {
            "package.json": '{"name": "site", "version": "1.0.0", "dependencies": '
            '{"express": "^4.18.2"}, "scripts": {"start": "node app.js"}}\n',
            "app.js": "console.log('hi')\n",
            "public/index.html": "<h1>hi</h1>\n",
        },
    ),
    (
        "go",
        "dimekenn/stringsGenerator, Dockerfile",
        "FROM golang:latest\nRUN go version\nWORKDIR /app\nCOPY ./ ./\nRUN go mod download\n"
        'RUN go build -o main .\nCMD ["./main"]\n',
        {
            "go.mod": "module example.com/gen\n\ngo 1.21\n\nrequire github.com/google/uuid v1.3.0\n",
            "go.sum": "github.com/google/uuid v1.3.0 h1:abc=\n",
            "main.go": 'package main\n\nfunc main() { println("gen") }\n',
            "docs/usage.md": "run it\n",
        },
    ),
    (  # a reduced source-first copy (examples/realrepos/): two stages, `COPY --from` a glob.
        # ENV GOPATH: the golang image sets it (the stand-in base does not), and the last
        # COPY takes the binaries from $GOPATH/bin
        "go-tailscale",
        "tailscale/tailscale, Dockerfile (de9ec7ee25), turned source-first",
        "FROM golang:1.26-alpine AS build-env\nENV GOPATH=/go\nWORKDIR /go/src/tailscale\n"
        "COPY . .\n"
        'RUN go mod download\nARG VERSION_LONG=""\nENV VERSION_LONG=$VERSION_LONG\n'
        'ARG TARGETARCH\nRUN GOARCH=$TARGETARCH go install -ldflags="\\\n'
        '      -X tailscale.com/version.longStamp=$VERSION_LONG" \\\n'
        "      -v ./cmd/tailscale ./cmd/tailscaled\n"
        "FROM alpine:3.22\nRUN apk add --no-cache ca-certificates iptables\n"
        "COPY --from=build-env /go/bin/* /usr/local/bin/\n"
        'CMD ["tailscaled"]\n',  # not in the original: `docker create` needs a command
        {
            "go.mod": "module tailscale.com\n\ngo 1.26\n\nrequire golang.org/x/net v0.40.0\n",
            "go.sum": "golang.org/x/net v0.40.0 h1:abc=\n",
            "cmd/tailscale/main.go": "package main\n\nfunc main() {}\n",
            "cmd/tailscaled/main.go": "package main\n\nfunc main() {}\n",
            "version/version.go": "package version\n",
            "README.md": "# tailscale\n",
        },
    ),
    (  # a reduced source-first copy (examples/realrepos/): pip with a cache mount, --target
        "pip-changedetection",
        "dgtlmoon/changedetection.io, Dockerfile (fce24780e7), turned source-first",
        "FROM python:3.11-slim-bookworm AS builder\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc\n"
        "RUN mkdir /install\nWORKDIR /install\nCOPY . .\nENV PIP_CACHE_DIR=/tmp/pip-cache\n"
        "RUN --mount=type=cache,id=pip,sharing=locked,target=/tmp/pip-cache \\\n"
        "  pip install --prefer-binary --cache-dir=/tmp/pip-cache --target=/dependencies \\\n"
        "  -r requirements.txt\n"
        "FROM python:3.11-slim-bookworm\nCOPY --from=builder /dependencies /usr/local\n"
        "COPY changedetectionio /app/changedetectionio\n"
        "COPY changedetection.py /app/changedetection.py\nWORKDIR /app\n"
        'CMD ["python", "./changedetection.py", "-d", "/datastore"]\n',
        {
            "requirements.txt": "flask>=3.1,<4\nrequests[socks]\n",
            "changedetectionio/__init__.py": "__version__ = '0.50'\n",
            "changedetection.py": "import changedetectionio\n",
            "setup.py": "from setuptools import setup\n",
        },
    ),
]


def _project(dockerfile: str, files: dict[str, str]) -> Project:
    context = {p: ContextFile(c.encode()) for p, c in files.items()}
    return Project(dockerfile, context, None)


def _write(folder: Path, dockerfile: str, dockerignore: str | None, files: dict[str, str]):
    folder.mkdir(parents=True)
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(content)
    (folder / "Dockerfile").write_text(dockerfile)
    if dockerignore:
        (folder / ".dockerignore").write_text(dockerignore)


def _build(docker: str, folder: Path, tag: str) -> None:
    done = subprocess.run(
        [docker, "build", "--network=none", "--progress=plain", "-t", tag, str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(buildkit=True),
    )
    assert done.returncode == 0, f"{tag} did not build:\n{done.stderr[-3000:]}"


def _env(buildkit: bool) -> dict[str, str]:
    import os

    return {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}


def _listing(docker: str, tag: str, drops: tuple[str, ...]) -> dict[str, tuple]:
    """Every path of the image's file system with what identifies it, but its mtime."""
    created = subprocess.run(
        [docker, "create", tag], capture_output=True, text=True, check=True, timeout=120
    )
    container = created.stdout.strip()
    try:
        exported = subprocess.run(
            [docker, "export", container], capture_output=True, check=True, timeout=300
        ).stdout
    finally:
        subprocess.run([docker, "rm", container], capture_output=True, timeout=120)
    listing = {}
    skipped = tuple(d.strip("/") for d in drops)
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        for member in tar.getmembers():
            name = member.name.strip("/").removeprefix("./")
            if any(name == d or name.startswith(d + "/") for d in skipped):
                continue
            if STANDIN_SCRATCH.fullmatch(name) or name.rsplit("/", 1)[-1] in REWRITTEN:
                continue
            if member.isdir() and any(d.startswith(name + "/") for d in skipped):
                continue  # BuildKit makes a cache mount's parent folders in the image
            digest, tool_output = "", False
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                digest = hashlib.sha256(RANDOM_SUFFIX.sub(rb'\1"', data)).hexdigest()
                tool_output = b"stand-in output of" in data
            listing[name] = (
                member.type,
                member.mode,
                member.uid,
                member.gid,
                member.linkname,
                digest,
                tool_output,
            )
    return listing


@pytest.mark.parametrize("name,origin,dockerfile,files", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_rewritten_dockerfiles_build_and_give_the_same_files(
    engine_20, monkeypatch, tmp_path, name, origin, dockerfile, files
):
    engine_20.use(monkeypatch)
    docker = engine_20.docker
    nonce = uuid.uuid4().hex[:12]
    for ref in named_images(dockerfile):
        ensure_standin(ref, 0, nonce, docker=docker)
    project = _project(dockerfile, files)
    advice = suggest(project)
    kinds = {s.kind for s in advice.suggestions}
    assert "manifests-first" in kinds, f"{name} ({origin}): {advice.refusals}"

    tags = []
    try:
        original = f"cachesim-suggest-{name}-{nonce}-original"
        _write(tmp_path / "original", dockerfile, None, files)
        _build(docker, tmp_path / "original", original)
        tags.append(original)
        for number, suggestion in enumerate(advice.suggestions):
            tag = f"cachesim-suggest-{name}-{nonce}-{number}"
            folder = tmp_path / f"s{number}"
            _write(folder, suggestion.dockerfile, suggestion.dockerignore, files)
            _build(docker, folder, tag)
            tags.append(tag)
            before = _listing(docker, original, suggestion.drops)
            after = _listing(docker, tag, suggestion.drops)
            # not vacuous: the moved installs' outputs are in both images
            assert any(entry[-1] for entry in before.values()), f"{name}: no tool output"
            differ = sorted(
                p for p in before.keys() | after.keys() if before.get(p) != after.get(p)
            )
            assert not differ, (
                f"{name}: the {suggestion.kind} rewrite changed the image's files: "
                + ", ".join(f"{p} {before.get(p)} -> {after.get(p)}" for p in differ[:5])
                + f"\n{suggestion.dockerfile}"
            )
    finally:
        if tags:
            subprocess.run([docker, "rmi", "-f", *tags], capture_output=True, timeout=300)
