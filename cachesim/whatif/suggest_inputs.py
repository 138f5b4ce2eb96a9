"""Reading a real project for ``suggest``: its Dockerfile, context folder and git history.

Everything here only reads. Big files and the insides of ``.git`` are not read at all:
only their size and mtime stand for their content (a suggestion needs to know which files
exist and what the small manifests say, never the bytes of a pack file).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cachesim.context.snapshot import read_folder
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError
from cachesim.whatif.suggest import Project

READ_LIMIT = 1 << 20  # bytes: larger files are known by size and mtime only


def read_project(dockerfile: str, context: str | None, build_args: dict[str, str]) -> Project:
    """The Dockerfile, the context folder (default: the Dockerfile's) and the .dockerignore
    the builder would use (``DOCKERFILE.dockerignore`` next to it first, as BuildKit does,
    else the context's ``.dockerignore``). Bad input raises ``InputError``."""
    path = Path(dockerfile)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such Dockerfile", dockerfile) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a Dockerfile", dockerfile) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the Dockerfile: {err}", dockerfile) from None
    folder = Path(context) if context else path.parent
    if not folder.is_dir():
        raise InputError("the context is not a folder", str(folder))
    ignore = None
    for candidate in (Path(str(path) + ".dockerignore"), folder / ".dockerignore"):
        if candidate.is_file():
            ignore = candidate.read_text(encoding="utf-8", errors="replace")
            break
    return Project(text, read_context(folder), ignore, path.name, build_args)


def read_context(folder: Path) -> dict[str, ContextFile]:
    """Every regular file below ``folder``: small ones with their bytes, the rest (and all
    of ``.git``) by a stand-in content made of their size and mtime."""

    def by_stat(rel: str, info: os.stat_result) -> bool:
        return rel.startswith(".git/") or info.st_size > READ_LIMIT

    return read_folder(folder, by_stat)


def history_commits(repo: str, context: str, count: int) -> list[tuple[str, list[str]]]:
    """The last ``count`` commits of HEAD, oldest first, each with the paths it changed,
    relative to ``context`` (paths outside it left out; in a bare repository the context
    stands for the repository's root). Read with ``git log
    --name-only --no-renames``: no checkout, nothing written."""
    git = ["git", "-C", repo]
    bare = _git([*git, "rev-parse", "--is-bare-repository"], repo).strip() == "true"
    prefix = ""
    if not bare:  # a bare repository: the context is taken to be its root
        top = _git([*git, "rev-parse", "--show-toplevel"], repo).strip()
        prefix = os.path.relpath(os.path.abspath(context), top).replace(os.sep, "/")
        if prefix.startswith(".."):
            raise InputError(f"the context {context} is not inside the repository", repo)
        prefix = "" if prefix == "." else prefix + "/"
    out = _git(
        [*git, "log", "--no-renames", "--name-only", "--format=%x00%H", f"-n{count}", "HEAD"],
        repo,
    )
    commits = []
    for chunk in out.split("\0")[1:]:
        lines = [line for line in chunk.splitlines() if line]
        if not lines:
            continue
        paths = [p[len(prefix) :] for p in lines[1:] if p.startswith(prefix)]
        commits.append((lines[0], paths))
    return commits[::-1]


def _git(command: list[str], repo: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed", repo) from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise InputError(f"not a git repository with commits ({first})", repo)
    return done.stdout
