"""``cachesim suggest``: what it proposes, what it refuses, and its command.

Expected behaviour comes from Docker's documented cache rules (docs.docker.com, "Build
cache invalidation": a changed COPY source rebuilds that step and every step after it; a
build argument is an environment variable of every RUN after its ARG, so a new value
rebuilds them), from the tools' documentation (npm install may rewrite package-lock.json;
a requirements file may name other files with -r / -e), and from what the real engine
built (tests/test_suggest_engine.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

import cachesim
from cachesim.app.cli import main
from cachesim.context.workspace import ContextFile
from cachesim.whatif import editmix
from cachesim.whatif.suggest import Project, unified_diff
from cachesim.whatif.suggest import suggest as suggest_with

SHORT = editmix.EditMix(builds=10)  # a shorter mix: the same decisions, a faster test


def suggest(p: Project, **options):
    return suggest_with(p, mix=options.pop("mix", SHORT), **options)


PIP = (
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    'CMD ["python", "app.py"]\n'
)
PIP_FILES = {"requirements.txt": "flask==3.0.3\n", "app.py": "print(1)\n", "README.md": "# x\n"}


def project(dockerfile: str, files: dict[str, str], ignore: str | None = None) -> Project:
    return Project(dockerfile, {p: ContextFile(c.encode()) for p, c in files.items()}, ignore)


def kinds(advice) -> dict:
    return {s.kind: s for s in advice.suggestions}


def refusals(advice) -> str:
    return " | ".join(r.why for r in advice.refusals)


def test_pip_install_moves_above_the_source_copy_and_a_source_edit_leaves_it_cached():
    p = project(PIP, PIP_FILES)
    found = kinds(suggest(p))["manifests-first"]
    assert found.dockerfile.split("\n")[2:5] == [
        "COPY requirements.txt ./",
        "RUN pip install -r requirements.txt",
        "COPY . .",
    ]
    assert "+COPY requirements.txt ./" in unified_diff(p, found)
    # Docker's rule: an edit of app.py rebuilds COPY . . and what follows it only
    scenario = cachesim.load_scenario(
        {
            "name": "after",
            "dockerfile": found.dockerfile,
            "files": PIP_FILES,
            "builds": [
                {"name": "cold"},
                {"name": "src", "changes": [{"edit": "app.py", "append": "#\n"}]},
            ],
        }
    )
    steps = cachesim.simulate(scenario).builds[1].steps
    assert [s.status for s in steps if "pip install" in s.instruction] == ["cached"]
    assert found.saving is not None and found.saving.seconds > 10
    assert found.saving.builds == SHORT.builds


def test_absolute_destination_and_two_manifests_are_copied_to_the_same_folder():
    go = (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . /src\nRUN go mod download\nRUN go build -o /app .\n"
    )
    files = {"go.mod": "module x\n\ngo 1.22\n", "go.sum": "", "main.go": "package main\n"}
    found = kinds(suggest(project(go, files)))["manifests-first"]
    assert "COPY go.mod go.sum /src/\nRUN go mod download\nCOPY . /src\nRUN go build" in (
        found.dockerfile
    )
    # go build reads the .go files: it stays after the COPY, said so
    assert "go build` reads the source itself" in refusals(suggest(project(go, files)))


def test_the_copy_moves_below_a_workdir_only_when_its_destination_is_absolute():
    absolute = "FROM python:3\nCOPY . /app\nWORKDIR /app\nRUN pip3 install -r requirements.txt\n"
    found = kinds(suggest(project(absolute, PIP_FILES)))["manifests-first"]
    assert found.dockerfile.split("\n")[1:5] == [
        "WORKDIR /app",
        "COPY requirements.txt /app/",
        "RUN pip3 install -r requirements.txt",
        "COPY . /app",
    ]
    relative = "FROM python:3\nCOPY . app\nWORKDIR /app\nRUN pip3 install -r requirements.txt\n"
    advice = suggest(project(relative, PIP_FILES))
    assert "manifests-first" not in kinds(advice)
    assert "destination app is relative" in refusals(advice)


def test_chown_of_the_copy_is_kept_on_the_manifest_copy():
    dockerfile = "FROM node:20\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN npm ci\n"
    files = {"package.json": '{"name": "a"}\n', "package-lock.json": "{}\n", "i.js": "1\n"}
    found = kinds(suggest(project(dockerfile, files)))["manifests-first"]
    assert "COPY --chown=node:node package-lock.json package.json ./\nRUN npm ci\n" in (
        found.dockerfile
    )


@pytest.mark.parametrize(
    "dockerfile,files,why",
    [
        (  # a command cachesim cannot read
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN make deps\n",
            {"Makefile": "deps:\n"},
            "cannot tell what `make deps` reads",
        ),
        (  # npm install may rewrite the lockfile the later COPY would put back
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\n",
            {"package.json": '{"name": "a"}\n', "package-lock.json": "{}\n"},
            "writes /app/package-lock.json",
        ),
        (  # node_modules in the context would overwrite what npm ci made
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            {"package.json": '{"name": "a"}\n', "node_modules/x/index.js": "1\n"},
            "writes /app/node_modules/x/index.js",
        ),
        (  # the requirements file installs the project itself
            PIP,
            {"requirements.txt": "-e .\nflask\n", "setup.py": "\n"},
            "names other local files",
        ),
        (  # install scripts of package.json may read anything
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            {"package.json": '{"scripts": {"postinstall": "node build.js"}}\n'},
            "cannot tell what `npm ci` reads",
        ),
    ],
    ids=["unknown-command", "npm-install-lock", "node-modules", "requirements-e", "scripts"],
)
def test_no_reordering_when_it_could_change_the_build(dockerfile, files, why):
    advice = suggest(project(dockerfile, files))
    assert "manifests-first" not in kinds(advice)
    assert why in refusals(advice)


def test_a_dockerignore_that_keeps_the_lockfile_out_lets_npm_install_move():
    dockerfile = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\n"
    files = {"package.json": '{"name": "a"}\n', "package-lock.json": "{}\n", "a.js": "1\n"}
    advice = suggest(project(dockerfile, files, "package-lock.json\n"))
    assert (
        "COPY package.json ./\nRUN npm install\nCOPY . ."
        in kinds(advice)["manifests-first"].dockerfile
    )


def test_a_timestamp_arg_moves_down_past_runs_that_do_not_read_it():
    dockerfile = (
        "FROM python:3.12\nARG BUILD_DATE\nRUN apt-get update && apt-get install -y curl\n"
        "RUN pip install flask\nLABEL created=$BUILD_DATE\n"
    )
    advice = suggest(project(dockerfile, {}))
    found = kinds(advice)["arg-down"]
    assert found.dockerfile.split("\n")[1:5] == [
        "RUN apt-get update && apt-get install -y curl",
        "RUN pip install flask",
        "ARG BUILD_DATE",
        "LABEL created=$BUILD_DATE",
    ]
    # Docker: a new value of a build arg rebuilds every RUN after its ARG; each build of
    # the mix gives BUILD_DATE a new value, so the original rebuilds both RUNs every time
    assert found.saving.percent > 90


def test_a_timestamp_label_moves_last_for_the_classic_builder():
    dockerfile = (
        "FROM python:3.12\nARG BUILD_DATE\nLABEL org.opencontainers.image.created=$BUILD_DATE\n"
        "RUN pip install flask\nCMD python\n"
    )
    legacy = suggest(project(dockerfile, {}), builder="legacy")
    found = kinds(legacy)
    assert found["label-down"].dockerfile.split("\n")[2:5] == [
        "RUN pip install flask",
        "CMD python",
        "LABEL org.opencontainers.image.created=$BUILD_DATE",
    ]
    # Docker's classic builder: a changed instruction rebuilds every step after it, and so
    # does a changed build arg for the RUNs after its ARG: only both moves together save
    assert found["together"].saving.percent > 50
    assert found["together"].dockerfile.split("\n")[-3:-1] == [
        "ARG BUILD_DATE",
        "LABEL org.opencontainers.image.created=$BUILD_DATE",
    ]
    # BuildKit keeps labels out of the steps' keys: nothing to gain, nothing proposed
    assert "label-down" not in kinds(suggest(project(dockerfile, {})))


def test_a_timestamp_arg_stays_above_a_run_that_might_read_it():
    dockerfile = "FROM python:3.12\nARG GIT_COMMIT\nRUN ./stamp.sh\nLABEL rev=$GIT_COMMIT\n"
    advice = suggest(project(dockerfile, {"stamp.sh": "echo\n"}))
    assert "arg-down" not in kinds(advice)
    assert "reads $GIT_COMMIT from its environment" in refusals(advice)


def test_dockerignore_entries_for_what_no_step_reads():
    files = dict(PIP_FILES, **{".git/HEAD": "ref\n", ".git/index": "i\n", "docs/a.md": "a\n"})
    advice = suggest(project(PIP, files))
    found = kinds(advice)["dockerignore"]
    assert found.dockerignore.splitlines()[1:] == [".git", "README.md", "docs"]
    assert found.drops == ("/app/.git", "/app/README.md", "/app/docs")
    assert found.saving.seconds > 0  # docs edits and commits no longer rebuild pip install


def test_no_dockerignore_entry_for_what_a_step_reads_or_names():
    go = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
    files = {"go.mod": "module x\n", "main.go": "package main\n", ".git/HEAD": "ref\n"}
    # go build stamps version-control facts when .git is there (-buildvcs): it reads it
    assert "dockerignore" not in kinds(suggest(project(go, files)))
    named = PIP.replace("CMD", "COPY README.md /doc/\nCMD")
    assert "dockerignore" not in kinds(suggest(project(named, PIP_FILES)))
    kept = suggest(project(PIP, PIP_FILES, "*.md\n!README.md\n"))
    assert "dockerignore" not in kinds(kept)


def test_cache_mounts_only_with_buildkit_as_root_and_a_pure_cache():
    advice = suggest(project(PIP, PIP_FILES))
    mount = kinds(advice)["cache-mount"]
    assert "RUN --mount=type=cache,target=/root/.cache/pip pip install" in mount.dockerfile
    assert mount.saving is None and "no saving" in mount.note
    assert "cache-mount" not in kinds(suggest(project(PIP, PIP_FILES), builder="legacy"))
    user = PIP.replace("WORKDIR", "USER app\nWORKDIR")
    assert "cache-mount" not in kinds(suggest(project(user, PIP_FILES)))
    nocache = PIP.replace("pip install", "pip install --no-cache-dir")
    assert "cache-mount" not in kinds(suggest(project(nocache, PIP_FILES)))


def test_together_saves_more_than_each_alone():
    dockerfile = PIP.replace("WORKDIR /app", "ARG BUILD_DATE\nWORKDIR /app")
    advice = suggest(project(dockerfile, PIP_FILES))
    found = kinds(advice)
    alone = max(found[k].saving.seconds for k in ("manifests-first", "arg-down"))
    assert found["together"].saving.seconds > alone
    assert advice.suggestions[0].kind == "together"  # the largest saving first


def test_the_default_mix_is_seventy_twenty_ten_and_deterministic():
    files = ["app.py", "lib/util.py", "README.md", "requirements.txt", "Dockerfile"]
    edits = editmix.mix_edits(files)
    assert len(edits) == 20
    counts = {k: sum(1 for e in edits if e.name.split()[1] == k) for k in editmix.KINDS}
    assert counts == {"source": 14, "docs": 4, "deps": 2}
    assert all("Dockerfile" not in e.paths for e in edits)
    assert editmix.mix_edits(files) == edits


# -- the command -------------------------------------------------------------------------
def write_project(folder: Path) -> Path:
    for path, content in PIP_FILES.items():
        (folder / path).write_text(content)
    (folder / "Dockerfile").write_text(PIP)
    return folder / "Dockerfile"


def fingerprint(folder: Path) -> dict[str, tuple]:
    return {
        str(p.relative_to(folder)): (
            p.stat().st_mtime_ns,
            p.stat().st_mode,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_command_prints_diffs_and_savings_and_writes_nothing(tmp_path, capsys):
    dockerfile = write_project(tmp_path)
    before = fingerprint(tmp_path)
    assert main(["suggest", str(dockerfile)]) == 0
    out = capsys.readouterr().out
    assert "install the dependencies before copying the source [manifests-first]" in out
    assert "+COPY requirements.txt ./" in out and "saving: " in out
    assert main(["suggest", str(dockerfile), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["suggestions"][0]["saving"]["saved_seconds"] > 0
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["suggest", "/nonexistent/Dockerfile"],
            "error: /nonexistent/Dockerfile: no such Dockerfile",
        ),
        (["suggest", "{d}", "--context", "/nonexistent"], "the context is not a folder"),
        (["suggest", "{d}", "--build-arg", "X"], "--build-arg 'X': give NAME=VALUE"),
        (["suggest", "{d}", "--builds", "0"], "take a number of 1 or more"),
        (["suggest", "{d}", "--history", "{t}"], "not a git repository"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    dockerfile = write_project(tmp_path)
    other = tmp_path / "not-a-repo"
    other.mkdir()
    argv = [a.format(d=dockerfile, t=other) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_history_prices_over_the_commits_and_leaves_the_repository_alone(tmp_path, capsys):
    dockerfile = write_project(tmp_path)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(tmp_path), *args],
            check=True,
            capture_output=True,
            env={
                "GIT_AUTHOR_NAME": "a",
                "GIT_AUTHOR_EMAIL": "a@b",
                "GIT_COMMITTER_NAME": "a",
                "GIT_COMMITTER_EMAIL": "a@b",
                "HOME": str(tmp_path),
                "PATH": "/usr/bin:/bin",
            },
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    for n in range(3):
        (tmp_path / "app.py").write_text(f"print({n})\n")
        git("commit", "-qam", f"edit {n}")
    before = fingerprint(tmp_path)
    assert main(["suggest", str(dockerfile), "--history", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "priced over the 4 builds from the history" in out
    assert fingerprint(tmp_path) == before


def test_help_teaches_how_it_decides(capsys):
    with pytest.raises(SystemExit):
        main(["suggest", "--help"])
    out = capsys.readouterr().out
    assert "how it decides" in out and "7 source edits" in out
