"""Which paths of a git work tree may have changed since the last look, asked of git.

``FolderReader.snapshot(changed=...)`` needs every path changed since its last snapshot.
In a git work tree git already knows most of them: ``git status`` lists what differs from
the index (modified, added, deleted, untracked, ignored). A path changed between two looks
is dirty at one of them or both, as long as the index and HEAD stayed put, so the union of
the two dirty lists covers it; when HEAD or the index moved (a commit, a checkout, a
``git add``), the answer is "unknown" and the caller walks the folder.

Only reads: ``git status`` may refresh the index (a write) unless told not to, so every call
runs with ``--no-optional-locks`` and ``GIT_OPTIONAL_LOCKS=0``. What git cannot see:

* permission changes other than the executable bit (git records only that bit), so a
  ``chmod 600`` of a clean tracked file goes unnoticed until a full walk;
* the insides of ``.git`` itself, which Docker sends unless ``.dockerignore`` leaves it
  out: when the folder is the top of the work tree, ``.git`` is always listed (the reader
  then checks its files by stat; a ``.dockerignore`` line ``.git`` makes that free).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_ENV = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
State = tuple[str, tuple[int, int, int]]  # HEAD, the index file's (mtime_ns, size, inode)


@dataclass
class GitChanges:
    """Asks git, each time, what may have changed in ``root`` since the previous call."""

    root: Path
    _state: State | None = field(default=None, repr=False)
    _dirty: frozenset[str] = field(default=frozenset(), repr=False)

    def since_last(self) -> list[str] | None:
        """Paths (relative to ``root``) that may have changed since the previous call; None
        when that is unknown: the first call, not a git work tree (or no git), HEAD or the
        index moved. None asks ``FolderReader.snapshot(changed=None)`` for a full walk."""
        found = _look(self.root)
        if found is None:
            self._state = None
            return None
        state, dirty = found
        before, self._state = self._state, state
        previous, self._dirty = self._dirty, dirty
        if before != state:
            return None
        return sorted(dirty | previous)


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            env=_ENV,
            check=False,
        )
    except OSError:  # no git on this machine
        return None
    return done.stdout if done.returncode == 0 else None


def _look(root: Path) -> tuple[State, frozenset[str]] | None:
    """HEAD, the index's stat, and the dirty paths below ``root`` (relative to it)."""
    out = _git(root, "rev-parse", "--show-prefix", "--absolute-git-dir", "HEAD")
    if out is None:
        return None
    prefix, git_dir, head = out.decode().split("\n")[:3]
    try:
        info = os.stat(os.path.join(git_dir, "index"))
        index = (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        index = (0, 0, 0)  # no index yet
    status = _git(
        root,
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        "--ignored=matching",
        "--no-renames",
        "--",
        ".",
    )
    if status is None:
        return None
    dirty = {
        item[3:].decode("utf-8", "surrogateescape")[len(prefix) :]
        for item in status.split(b"\0")
        if len(item) > 3
    }
    if not prefix:
        dirty.add(".git")
    return (head, index), frozenset(p.rstrip("/") for p in dirty)
