"""History replay: the fast path against the full simulator, on every commit of small
generated git histories, and the command's handling of odd repositories.

Expected cache behaviour: Docker's documented rules (docs.docker.com/build/cache/
invalidation: a COPY/ADD misses when a copied file's content or metadata changes, mtime
excluded; a miss invalidates every later step of the stage; a RUN misses when its command
changes; .dockerignore'd files never reach the build) as cachesim's full simulator applies
them; that simulator agrees with Docker 20.10 and 28.5 on the scenarios of tests/scenarios.
The reference here walks each commit with ``git ls-tree`` (not the replay's ``git log``
stream) and runs ``simulation.simulator.simulate_build`` on the whole context.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from cachesim.app.cli import main
from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.simulation.simulator import History, rules_for, simulate_build
from cachesim.sources.git import Repository
from cachesim.whatif.replay import ReplayOptions, Variant, replay

GOOD = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY src/ ./src/
COPY *.cfg ./
RUN python -m compileall src
"""
BAD = """FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install -r requirements.txt
"""
MULTI = """FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY src ./src
RUN go build -o /out ./src
FROM build AS final
RUN --mount=type=bind,source=conf,target=/conf cp /conf/app.cfg /etc/app.cfg
"""
# three stages built in order deps, gobuild, final: a requirements.txt edit rebuilds deps,
# and gobuild, later in the order but not built on deps, stays cached (the replay's
# per-step reuse); final copies from gobuild only what came from the context
STAGES = """FROM python:3.12-slim AS deps
WORKDIR /d
COPY requirements.txt .
RUN pip install -r requirements.txt
FROM golang:1.22 AS gobuild
WORKDIR /g
COPY go.mod ./
RUN go mod download
FROM deps AS final
COPY --from=gobuild /g/go.mod /x/go.mod
COPY src/ ./src/
"""


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def write(repo: Path, path: str, text: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def generated_history(repo: Path, seed: int, commits: int = 40) -> None:
    """A random history over a small project: source edits, dependency bumps, reverts,
    adds, deletes, renames, chmods, ignored files, Dockerfile and .dockerignore edits."""
    rng = random.Random(seed)
    git(repo, "init", "-q", "-b", "main")
    write(repo, "Dockerfile", rng.choice([GOOD, BAD, MULTI, STAGES]))
    write(repo, "requirements.txt", "flask\n")
    write(repo, "go.mod", "module x\n")
    write(repo, "setup.cfg", "[x]\n")
    write(repo, "conf/app.cfg", "a=1\n")
    for k in range(4):
        write(repo, f"src/m{k}.py", f"print({k})\n")
    write(repo, "docs/readme.md", "hi\n")
    write(repo, ".dockerignore", "docs\n*.log\n")
    commit_all(repo, "initial")
    for n in range(commits):
        action = rng.choice(
            [
                "src",
                "src",
                "src",
                "req",
                "revert",
                "add",
                "delete",
                "rename",
                "chmod",
                "ignored",
                "cfg",
                "conf",
                "dockerfile",
                "ignore",
                "go",
                "empty",
            ]
        )
        srcs = sorted(p.relative_to(repo).as_posix() for p in (repo / "src").rglob("*.py"))
        if action == "src" and srcs:
            write(repo, rng.choice(srcs), f"print({rng.random()})\n")
        elif action == "req":
            write(repo, "requirements.txt", f"flask\nrequests=={rng.randint(1, 3)}\n")
        elif action == "revert":
            write(repo, "requirements.txt", "flask\n")
        elif action == "add":
            write(repo, f"src/pkg{rng.randint(0, 2)}/n{n}.py", "x = 1\n")
        elif action == "delete" and len(srcs) > 1:
            (repo / rng.choice(srcs)).unlink()
        elif action == "rename" and srcs:
            old = rng.choice(srcs)
            git(repo, "mv", old, f"src/r{n}.py")
        elif action == "chmod" and srcs:
            os.chmod(repo / rng.choice(srcs), rng.choice([0o755, 0o644]))
        elif action == "ignored":
            write(repo, f"docs/n{n}.md", "doc\n")
            write(repo, "build.log", f"{n}\n")
        elif action == "cfg":
            write(repo, f"extra{rng.randint(0, 1)}.cfg", f"{n}\n")
        elif action == "conf":
            write(repo, "conf/app.cfg", f"a={rng.randint(0, 2)}\n")
        elif action == "go":
            write(repo, "go.mod", f"module x\n// {rng.randint(0, 1)}\n")
        elif action == "dockerfile":
            text = rng.choice(
                [GOOD, BAD, MULTI, STAGES, GOOD.replace("compileall", "compileall -q")]
            )
            write(repo, "Dockerfile", text)
        elif action == "ignore":
            # the last: "!" exceptions (Docker docs: a later "!" line includes paths again)
            ignores = ["docs\n*.log\n", "docs\n", "*.cfg\ndocs\n", "docs\nsrc/pkg*\n!src/pkg1\n"]
            write(repo, ".dockerignore", rng.choice(ignores))
        commit_all(repo, f"{n}: {action}")


def reference(repo: Path, commits: list[str] | None = None) -> list[list[tuple[int, str]]]:
    """Per commit, (line, status) of every step, from the full simulator on the whole
    context (each file's content stands in by its blob id, as git's ids stand for digests)."""
    history = History()
    rules = rules_for("buildkit", "0.25")
    gitdir = ["--git-dir", Repository(repo).git_dir]
    out = []
    if commits is None:
        commits = git(repo, *gitdir, "rev-list", "--reverse", "--first-parent", "HEAD").split()
    for commit in commits:
        files: dict[str, ContextFile] = {}
        for line in git(repo, *gitdir, "ls-tree", "-r", commit).splitlines():
            meta, path = line.split("\t", 1)
            mode, _kind, oid = meta.split()
            files[path] = ContextFile(oid.encode(), int(mode[-3:], 8))
        texts = {
            p: git(repo, *gitdir, "show", f"{commit}:{p}") if p in files else None
            for p in ("Dockerfile", ".dockerignore")
        }
        request = BuildRequest(commit, texts["Dockerfile"] or "", files, texts[".dockerignore"])
        result = simulate_build(request, history, rules)
        out.append([(s.line, s.status) for s in result.steps])
    return out


def fast(repo: Path) -> list[list[tuple[int, str]]]:
    result = replay(Repository(repo), variants=[Variant("Dockerfile")])
    return [[(s.line, s.status) for s in b.steps] for b in result.builds["Dockerfile"]]


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_agrees_with_full_simulator_on_every_commit(tmp_path: Path, seed: int):
    generated_history(tmp_path, seed)
    expected = reference(tmp_path)
    got = fast(tmp_path)
    assert len(got) == len(expected)
    mismatches = [(n, e, g) for n, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert not mismatches, mismatches[:3]
    # the history must exercise both hits and misses, or the agreement says little
    statuses = {s for build in got[1:] for _, s in build}
    assert {"cached", "built"} <= statuses


def tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        digest.update(item.relative_to(path).as_posix().encode())
        if item.is_file():
            digest.update(item.read_bytes())
        digest.update(str(item.stat().st_mode).encode())
    return digest.hexdigest()


def test_replay_reads_a_bare_repository_and_leaves_it_byte_identical(tmp_path: Path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    generated_history(work, 3, commits=10)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    before = tree_digest(bare)
    assert main(["replay", str(bare), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variants"]["Dockerfile"]["builds"] == 11
    assert tree_digest(bare) == before


def test_dependency_install_counts_differ_between_orders(tmp_path: Path, capsys):
    """Docker's rule: `COPY . .` before the install busts it on every source edit; the
    manifest-first order keeps it cached until requirements.txt changes."""
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, "Dockerfile", BAD)
    write(tmp_path, "requirements.txt", "flask\n")
    write(tmp_path, "src/app.py", "0\n")
    write(tmp_path, "setup.cfg", "\n")
    commit_all(tmp_path, "init")
    for n in range(5):
        write(tmp_path, "src/app.py", f"{n + 1}\n")
        commit_all(tmp_path, f"edit {n}")
    good = tmp_path.parent / "good.Dockerfile"
    good.write_text(GOOD)
    assert main(["replay", str(tmp_path), "--variant", str(good), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variants"]["Dockerfile"]["dependency_installs"] == 6
    assert out["variants"]["good.Dockerfile"]["dependency_installs"] == 1


def test_missing_dockerfile_at_some_commits_is_a_warning(tmp_path: Path, capsys):
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, "README", "x\n")
    commit_all(tmp_path, "no dockerfile yet")
    write(tmp_path, "Dockerfile", "FROM alpine\nCOPY README /\n")
    commit_all(tmp_path, "dockerfile")
    (tmp_path / "Dockerfile").unlink()
    commit_all(tmp_path, "moved away")
    assert main(["replay", str(tmp_path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "2 commit(s) have no Dockerfile" in captured.err
    assert json.loads(captured.out)["variants"]["Dockerfile"]["builds"] == 1


def test_merges_submodules_symlinks_are_reported(tmp_path: Path, capsys):
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, "Dockerfile", "FROM alpine\nCOPY . /app\n")
    write(tmp_path, "a.txt", "a\n")
    commit_all(tmp_path, "init")
    git(tmp_path, "checkout", "-q", "-b", "side")
    write(tmp_path, "b.txt", "b\n")
    os.symlink("a.txt", tmp_path / "link")
    commit_all(tmp_path, "side")
    git(tmp_path, "checkout", "-q", "main")
    git(tmp_path, "merge", "-q", "--no-ff", "side", "-m", "merge")
    sub = git(tmp_path, "rev-parse", "HEAD").strip()
    git(tmp_path, "update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    git(tmp_path, "commit", "-q", "-m", "submodule")
    assert main(["replay", str(tmp_path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["notes"]["merge_commits_first_parent"] == 1
    assert out["notes"]["submodules_as_empty_folders"] == ["vendor/lib"]
    assert out["notes"]["symlinks_by_target"] == 1
    assert out["variants"]["Dockerfile"]["builds"] == 3  # init, merge, submodule


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", [], "not a git repository"),
        ("repo", ["--branch", "nope"], "unknown ref 'nope'"),
        ("nodockerfile", [], "no Dockerfile at any of the 1 commits"),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path: Path, capsys, setup, args, message):
    if setup != "none":
        git(tmp_path, "init", "-q", "-b", "main")
        write(tmp_path, "Dockerfile" if setup == "repo" else "README", "FROM alpine\n")
        commit_all(tmp_path, "init")
    assert main(["replay", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_table_csv_and_plot(tmp_path: Path, capsys):
    generated_history(tmp_path / "r", 1, commits=8) if (tmp_path / "r").mkdir() is None else None
    figure = tmp_path / "hours.png"
    assert main(["replay", str(tmp_path / "r"), "--plot", str(figure)]) == 0
    table = capsys.readouterr().out
    assert "step hit rate" in table and figure.stat().st_size > 1000
    assert main(["replay", str(tmp_path / "r"), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("variant,commit") and len(lines) == 10


def test_options_are_used(tmp_path: Path):
    generated_history(tmp_path, 2, commits=5)
    result = replay(Repository(tmp_path), count=3, options=ReplayOptions(version="0.8"))
    assert len(result.commits) == 3


REAL = os.environ.get("CACHESIM_REPLAY_REPO")


@pytest.mark.skipif(not REAL, reason="set CACHESIM_REPLAY_REPO to a fetched repository")
def test_fast_path_agrees_on_a_sample_of_a_real_history():
    """The last 25 commits of a real repository. Where a stage copies from another stage
    that was rebuilt, the two differ on purpose (docs/whatif.md): there only the steps above
    the first copy from a stage are compared."""
    repo = Path(REAL)
    result = replay(Repository(repo), count=25)
    got = [[(s.line, s.status) for s in b.steps] for b in result.builds["Dockerfile"]]
    expected = reference(repo, [c for c, _ in result.commits])
    text = Repository(repo).run("show", "HEAD:Dockerfile").decode()
    from_lines = {n for n, line in enumerate(text.splitlines(), 1) if "--from=" in line}
    first_from = min(from_lines, default=10**9)
    whole = 0
    for e, g in zip(expected, got, strict=True):
        # the steps above the first copy from a stage always agree
        assert [x for x in e if x[0] < first_from] == [x for x in g if x[0] < first_from]
        upstream_rebuilt = any(s == "built" and 1 < line < first_from for line, s in g)
        if not upstream_rebuilt:
            assert e == g
            whole += 1
    print(f"{whole} of {len(got)} builds compared whole")


def test_a_variant_failing_on_older_commits_is_warned_with_the_comparable_span(
    tmp_path: Path, capsys
):
    """Docker's rule: a COPY whose source is not in the context fails the build ("COPY
    failed: ... no such file or directory"). A variant naming a file the first commits lack
    fails on those; its totals then compare unlike builds, and the table says from which
    commit on every variant builds."""
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, "Dockerfile", "FROM python:3.12\nCOPY app.py /\n")
    write(tmp_path, "app.py", "0\n")
    commit_all(tmp_path, "init")
    commit_all(tmp_path, "still no lock file")
    write(tmp_path, "lock.txt", "1\n")
    for n in range(3):
        write(tmp_path, "app.py", f"{n + 1}\n")
        commit_all(tmp_path, f"edit {n}")
    variant = tmp_path.parent / "lock.Dockerfile"
    variant.write_text("FROM python:3.12\nCOPY lock.txt /\nCOPY app.py /\n")
    assert main(["replay", str(tmp_path), "--variant", str(variant)]) == 0
    table = capsys.readouterr().out
    assert "variant 'lock.Dockerfile' failed on 2 of 5 commits" in table
    assert "compare the totals with --commits 3" in table
    assert main(["replay", str(tmp_path), "--variant", str(variant), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["unlike_builds"]) == 2
    assert main(["replay", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["unlike_builds"] == []


def test_a_mode_swap_between_two_files_changes_the_input_digest():
    """Docker's rule: a copied file's mode is part of COPY's cache checksum, so a build
    where a.py is 0755 and b.py 0644 is not the build where they are the other way round.
    The replay sums per-file hashes; a near-linear per-file hash (Python's tuple hash)
    made those two sums equal under some hash seeds. Checked over many pairs of files."""
    from cachesim.sources.git import Entry
    from cachesim.whatif.replay import entry_hash

    def delta(path: str, oid: str) -> int:
        return entry_hash(path, Entry("100755", oid)) - entry_hash(path, Entry("100644", oid))

    deltas = [delta(f"src/m{n}.py", hashlib.sha1(str(n).encode()).hexdigest()) for n in range(300)]
    assert len(set(deltas)) == len(deltas)


def test_a_new_version_takes_over_digests_equal_to_computing_them_anew():
    """A Dockerfile version that changed only a RUN takes over the previous version's
    digests and found-file counts (ContextState.attach); after edits, adds and deletes
    they must equal what a fresh state computes from all the files, and a step whose
    sources changed (the COPY of a renamed folder) must not take one over."""
    from cachesim.sources.git import Entry
    from cachesim.whatif.replay import ContextState, PlanMemo, build_model

    memo = PlanMemo()  # one per replay: the versions share its parsed .dockerignore
    files = {f"src/m{k}.py": Entry("100644", f"{k:040x}") for k in range(5)}
    files |= {"requirements.txt": Entry("100644", "a" * 40), "x.cfg": Entry("100755", "b" * 40)}
    first = build_model(GOOD, None, memo=memo)
    state = ContextState(dict(files))
    state.attach(first)
    state.change("src/m1.py", files["src/m1.py"], Entry("100644", "c" * 40))
    state.change("src/m9.py", None, Entry("100644", "d" * 40))
    state.change("src/m2.py", files["src/m2.py"], None)
    state.change("y.cfg", None, Entry("100644", "e" * 40))
    for text in (
        GOOD.replace("compileall src", "compileall -q src"),
        GOOD.replace("COPY src/ ./src/", "COPY src/m1.py ./src/"),
    ):
        second = build_model(text, None, memo=memo)
        fresh = ContextState(dict(state.files))
        fresh.attach(second)
        carried = ContextState(state.files, hashes=state.hashes)
        carried.model, carried.sums, carried.present = state.model, state.sums, state.present
        carried.attach(second)
        assert carried.sums == fresh.sums and carried.present == fresh.present
        assert any(carried.sums)  # the sums are not all empty
