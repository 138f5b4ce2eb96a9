"""``cachesim diff REPO BASE HEAD``: what a build of HEAD re-runs with the cache warm from
BASE. Expected behaviour from Docker's documented cache rules
(docs.docker.com/build/cache/invalidation): a COPY misses when a file it copies changed,
and every later step of the stage then runs again; a file no step copies busts nothing."""

from __future__ import annotations

import json
from pathlib import Path

from cachesim.app.cli import main
from tests.test_replay import BAD, GOOD, commit_all, git, write


def project(repo: Path, dockerfile: str) -> None:
    git(repo, "init", "-q", "-b", "main")
    write(repo, "Dockerfile", dockerfile)
    write(repo, "requirements.txt", "flask\n")
    write(repo, "src/app.py", "0\n")
    write(repo, "setup.cfg", "\n")
    write(repo, "README.md", "hi\n")
    commit_all(repo, "init")


def test_a_source_edit_busts_the_install_when_copied_first(tmp_path: Path, capsys):
    project(tmp_path, BAD)
    write(tmp_path, "src/app.py", "1\n")
    commit_all(tmp_path, "edit")
    status = main(
        [
            "diff",
            str(tmp_path),
            "HEAD~1",
            "HEAD",
            "--fail-on",
            "RUN pip install*",
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert status == 1
    assert out["matched"] == ["RUN pip install -r requirements.txt"]
    rebuilt = {s["line"]: s["reason"] for s in out["rebuilt"]}
    assert set(rebuilt) == {3, 4}
    assert "src/app.py" in rebuilt[3]
    assert "step above" in rebuilt[4]


def test_manifest_first_keeps_the_install_cached(tmp_path: Path, capsys):
    project(tmp_path, GOOD)
    write(tmp_path, "src/app.py", "1\n")
    commit_all(tmp_path, "edit")
    status = main(["diff", str(tmp_path), "HEAD~1", "HEAD", "--fail-on", "RUN pip install*"])
    text = capsys.readouterr().out
    assert status == 0
    assert "line 5" in text and "line 4 " not in text


def test_an_unread_file_rebuilds_nothing(tmp_path: Path, capsys):
    project(tmp_path, GOOD)
    write(tmp_path, "README.md", "more\n")
    commit_all(tmp_path, "docs")
    assert main(["diff", str(tmp_path), "HEAD~1", "HEAD", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rebuilt"] == []


def test_a_changed_instruction_says_so(tmp_path: Path, capsys):
    project(tmp_path, GOOD)
    write(tmp_path, "Dockerfile", GOOD.replace("compileall src", "compileall -q src"))
    commit_all(tmp_path, "quiet")
    assert main(["diff", str(tmp_path), "HEAD~1", "HEAD", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["line"], s["reason"]) for s in out["rebuilt"]] == [(7, "the instruction changed")]


def test_unknown_ref_is_one_line_exit_2(tmp_path: Path, capsys):
    project(tmp_path, GOOD)
    assert main(["diff", str(tmp_path), "nope", "HEAD"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown ref 'nope'" in err and len(err.splitlines()) == 1


def test_fail_on_sees_past_flags_and_continuations(tmp_path: Path, capsys):
    dockerfile = (
        "FROM python:3.12-slim\nCOPY . /src\n"
        "RUN --mount=type=cache,target=/root/.cache \\\n    pip install -r /src/requirements.txt\n"
    )
    project(tmp_path, dockerfile)
    write(tmp_path, "src/app.py", "2\n")
    commit_all(tmp_path, "edit")
    assert main(["diff", str(tmp_path), "HEAD~1", "HEAD", "--fail-on", "RUN pip install*"]) == 1
    assert "--fail-on matched" in capsys.readouterr().out
    assert main(["diff", str(tmp_path), "HEAD~1", "HEAD", "--fail-on", "RUN npm ci*"]) == 0
