"""`impact` and `suggest` on small folders shaped like two real projects (issue 9).

The shapes: tailscale/tailscale (a Go module: go.mod and go.sum copied and `go mod
download` run before `COPY . .`, then `go install ./cmd/...`) and dgtlmoon/changedetection.io
(a Python app: `COPY requirements.txt /requirements.txt` and `pip install -r` in a builder
stage, the package copied into the final stage). docs/whatif.md shows both commands on the
real repositories; these folders hold only what the shapes need, none of their code.

Where the expected answers come from, not from the code under test:

* Docker's documented cache rules (https://docs.docker.com/build/cache/invalidation/):
  a COPY's cache is invalidated when the files it copies change, and once a step is
  invalidated every step after it in the stage runs again; a file no instruction copies
  changes no step.
* Docker's documented advice (https://docs.docker.com/build/cache/optimize/, "Order your
  layers"; https://docs.docker.com/guides/golang/build-images/ copies go.mod and go.sum
  and runs `go mod download` before the source): copy the dependency manifests and install
  before copying the source, so a source edit leaves the install cached. A Dockerfile that
  already does so has nothing to reorder; one that copies the source first has.
* `go mod download` reads only go.mod and go.sum (`go help mod download`); `go install
  ./cmd/...` compiles the module's source, so it must stay after the source COPY.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cachesim.app.cli import main
from cachesim.whatif import editmix
from cachesim.whatif import impact as impact_module
from cachesim.whatif.impact import impact
from cachesim.whatif.project import read_project
from cachesim.whatif.suggest import suggest
from cachesim.whatif.suggest_inputs import read_project as read_suggest_project

SHORT = editmix.EditMix(builds=10)

# The shape of tailscale's Dockerfile (commit de9ec7ee25), reduced.
GO_MANIFEST_FIRST = """\
FROM golang:1.26-alpine AS build-env
WORKDIR /go/src/tailscale
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION_LONG=""
ENV VERSION_LONG=$VERSION_LONG
RUN go install -ldflags="-X tailscale.com/version.longStamp=$VERSION_LONG" ./cmd/tailscaled
FROM alpine:3.22
COPY --from=build-env /go/bin/* /usr/local/bin/
"""
GO_SOURCE_FIRST = GO_MANIFEST_FIRST.replace(
    "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n", "COPY . .\nRUN go mod download\n"
)
GO_FILES = {
    "go.mod": "module tailscale.com\n\ngo 1.26\n\nrequire golang.org/x/net v0.40.0\n",
    "go.sum": "golang.org/x/net v0.40.0 h1:abc=\ngolang.org/x/net v0.40.0/go.mod h1:def=\n",
    "cmd/tailscaled/main.go": "package main\n\nfunc main() {}\n",
    "version/version.go": "package version\n\nvar longStamp string\n",
    "README.md": "# tailscale\n",
}

# The shape of changedetection.io's Dockerfile (commit fce24780e7), reduced.
PY_MANIFEST_FIRST = """\
FROM python:3.11-slim-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc
WORKDIR /install
COPY requirements.txt /requirements.txt
RUN --mount=type=cache,id=pip,target=/tmp/pip-cache \\
  pip install --cache-dir=/tmp/pip-cache --target=/dependencies -r /requirements.txt
FROM python:3.11-slim-bookworm
COPY --from=builder /dependencies /usr/local
COPY changedetectionio /app/changedetectionio
COPY changedetection.py /app/changedetection.py
WORKDIR /app
CMD ["python", "./changedetection.py"]
"""
PY_SOURCE_FIRST = PY_MANIFEST_FIRST.replace(
    "COPY requirements.txt /requirements.txt\n", "COPY . .\n"
).replace("-r /requirements.txt", "-r requirements.txt")
PY_FILES = {
    "requirements.txt": "flask>=3.1,<4\nrequests[socks]\n",
    "changedetectionio/__init__.py": "__version__ = '0.50'\n",
    "changedetectionio/store.py": "class Store: ...\n",
    "changedetection.py": "import changedetectionio\n",
    "setup.py": "from setuptools import setup\n",
    "README.md": "# changedetection.io\n",
}


def _folder(root: Path, dockerfile: str, files: dict[str, str]) -> Path:
    """The project on disk, its mtimes an hour old (not "racy": written just now)."""
    old = time.time() - 3600
    for path, text in {**files, "Dockerfile": dockerfile}.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
        os.utime(full, (old, old))
    return root


def _effects(root: Path) -> dict[str, impact_module.Effect]:
    result = impact(read_project(root))
    return {path: part.effect for part in result.parts for path in part.paths}


def _line(dockerfile: str, text: str) -> int:
    return dockerfile.split("\n").index(text) + 1


def _advice(root: Path):
    return suggest(read_suggest_project(str(root / "Dockerfile"), str(root), {}), mix=SHORT)


# --- the Go module (tailscale's shape) ---------------------------------------------------


def test_go_module_impact_a_manifest_edit_reruns_the_download_a_source_edit_does_not(tmp_path):
    """go.mod's edit re-runs from its COPY (line 3); a cmd/ edit from `COPY . .` (line 5)."""
    root = _folder(tmp_path, GO_MANIFEST_FIRST, GO_FILES)
    by_path = _effects(root)
    assert by_path["go.mod"].first_line == _line(GO_MANIFEST_FIRST, "COPY go.mod go.sum ./")
    assert by_path["go.sum"].first_line == 3
    assert by_path["cmd/"].first_line == _line(GO_MANIFEST_FIRST, "COPY . .")
    # `COPY . .` copies README.md too, so its edit re-runs the same steps as a source edit
    assert by_path["README.md"].first_line == 5
    assert by_path["go.mod"].rebuilt > by_path["cmd/"].rebuilt


def test_go_module_already_manifest_first_gets_no_reordering(tmp_path):
    """Nothing to move: `go mod download` already runs before `COPY . .`."""
    root = _folder(tmp_path, GO_MANIFEST_FIRST, GO_FILES)
    advice = _advice(root)
    assert "manifests-first" not in {s.kind for s in advice.suggestions}
    # `COPY --from=build-env /go/bin/*` is a pattern over the stage's files, not the
    # context's: it does not stop a .dockerignore entry for README.md, which `go install`
    # (.go files, go.mod, go.sum, embeds) does not read
    ignore = {s.kind: s for s in advice.suggestions}["dockerignore"]
    assert ignore.dockerignore is not None and "README.md" in ignore.dockerignore.split("\n")


def test_go_module_source_first_gets_the_download_moved_and_the_install_kept(tmp_path):
    """`go mod download` moves above `COPY . .` after `COPY go.mod go.sum ./`; `go install
    ./cmd/...` reads the source, so it stays after the source COPY."""
    root = _folder(tmp_path, GO_SOURCE_FIRST, GO_FILES)
    advice = _advice(root)
    found = {s.kind: s for s in advice.suggestions}["manifests-first"]
    lines = found.dockerfile.split("\n")
    assert lines[2:5] == ["COPY go.mod go.sum ./", "RUN go mod download", "COPY . ."]
    assert lines.index("COPY . .") < next(i for i, x in enumerate(lines) if "go install" in x)
    assert found.saving is not None and found.saving.seconds > 0
    # the rewrite is the manifest-first shape: a source edit no longer re-runs the download
    (root / "Dockerfile").write_text(found.dockerfile)
    assert _effects(root)["cmd/"].first_line == 5


# --- the Python app (changedetection.io's shape) ----------------------------------------


def test_python_app_impact_requirements_reruns_the_install_the_package_does_not(tmp_path):
    """requirements.txt's edit re-runs from its COPY; the package's only from its own COPY;
    setup.py, which no instruction copies, re-runs nothing."""
    root = _folder(tmp_path, PY_MANIFEST_FIRST, PY_FILES)
    by_path = _effects(root)
    copy_line = _line(PY_MANIFEST_FIRST, "COPY requirements.txt /requirements.txt")
    assert by_path["requirements.txt"].first_line == copy_line
    assert by_path["changedetectionio/"].first_line == _line(
        PY_MANIFEST_FIRST, "COPY changedetectionio /app/changedetectionio"
    )
    assert by_path["setup.py"].rebuilt == 0 and by_path["README.md"].rebuilt == 0
    assert by_path["requirements.txt"].seconds > by_path["changedetectionio/"].seconds


def test_python_app_already_manifest_first_gets_no_reordering(tmp_path):
    """The builder stage copies requirements.txt alone before `pip install -r`: nothing to move."""
    root = _folder(tmp_path, PY_MANIFEST_FIRST, PY_FILES)
    assert "manifests-first" not in {s.kind for s in _advice(root).suggestions}


def test_python_app_source_first_gets_the_install_moved_with_its_cache_mount(tmp_path):
    """`COPY . .` before `pip install -r requirements.txt`: the install moves above it,
    after `COPY requirements.txt ./`, keeping its cache mount."""
    root = _folder(tmp_path, PY_SOURCE_FIRST, PY_FILES)
    found = {s.kind: s for s in _advice(root).suggestions}["manifests-first"]
    lines = found.dockerfile.split("\n")
    at = lines.index("COPY requirements.txt ./")
    assert lines[at + 1].startswith("RUN --mount=type=cache,id=pip,target=/tmp/pip-cache")
    assert lines.index("COPY . .") > at + 1
    assert found.saving is not None and found.saving.percent > 10


def test_the_suggest_command_on_the_shapes_prints_the_reordering_only_where_it_applies(
    tmp_path, capsys
):
    """The command's text: the source-first Go module gets it, the manifest-first one not."""
    first = _folder(tmp_path / "first", GO_MANIFEST_FIRST, GO_FILES)
    source = _folder(tmp_path / "source", GO_SOURCE_FIRST, GO_FILES)
    assert main(["suggest", str(first / "Dockerfile"), "--builds", "10"]) == 0
    assert "[manifests-first]" not in capsys.readouterr().out
    assert main(["suggest", str(source / "Dockerfile"), "--builds", "10"]) == 0
    assert "+COPY go.mod go.sum ./" in capsys.readouterr().out


# --- impact on a context larger than its budget -----------------------------------------


@pytest.mark.parametrize(("budget", "cmd_opened"), [(2, False), (3, True)])
def test_impact_opens_only_folders_whose_every_part_fits_the_budget(
    tmp_path, monkeypatch, budget, cmd_opened
):
    """Past MAX_EVALUATIONS a folder is shown as one line, never opened in part (that
    crashed on tailscale's 2,814 files: a folder with some parts simulated, others not)."""
    files = {
        **GO_FILES,
        "cmd/tailscale/main.go": "package main\n",
        "cmd/derper/x.go": "package x\n",
    }
    root = _folder(tmp_path, GO_MANIFEST_FIRST, files)
    top = 6  # go.mod, go.sum, cmd/, version/, README.md, Dockerfile
    monkeypatch.setattr(impact_module, "MAX_EVALUATIONS", top + budget)
    result = impact(read_project(root))
    shown = {path for part in result.parts for path in part.paths}
    assert result.evaluations == top + (3 if cmd_opened else 1)  # cmd/ has 3 parts
    assert {"go.mod", "README.md"} <= shown
    # cmd/'s parts share its effect (`COPY . .`), so opened or not it is one line, and
    # never a half-opened folder
    assert "cmd/" in shown and not any(p.startswith("cmd/") and p != "cmd/" for p in shown)


def test_a_saving_of_a_thousandth_is_called_next_to_nothing():
    """0.1 s of 7,614 s (tailscale's history, a .dockerignore entry that spares no step)
    is not a saving to act on; 3 s of 100 s is."""
    from cachesim.whatif.suggest import Saving, _saving_text

    assert _saving_text(Saving(7613.9, 7613.8, 100)).startswith("next to nothing over 100")
    assert _saving_text(Saving(100.0, 97.0, 10)).startswith("3.0s over 10 builds")


def test_nothing_to_suggest_says_why_when_no_step_copies_the_whole_context(tmp_path, capsys):
    """changedetection.io's shape copies requirements.txt, the package and the script by
    name: no install runs after the source, and the output says so instead of a bare no."""
    root = _folder(tmp_path, PY_MANIFEST_FIRST, PY_FILES)
    assert main(["suggest", str(root / "Dockerfile"), "--builds", "10"]) == 0
    out = capsys.readouterr().out
    assert "nothing to suggest" in out
    assert "no step copies the whole context (`COPY . <dest>`)" in out
    assert "(lines 4, 9, 10)" in out
