"""``GitChanges``: the paths git says may have changed, feeding ``snapshot(changed=...)``.

Expected results come from a fresh full ``FolderReader`` snapshot (tests/test_impact.py ties
its digests to ``hashlib.sha256``), never from the update path; git's own behaviour
(``git status`` lists modified, deleted, untracked and ignored paths) is git's documented
porcelain format (https://git-scm.com/docs/git-status#_porcelain_format_version_1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cachesim.context.folder import FolderReader
from cachesim.context.gitwatch import GitChanges

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def _repo(root: Path) -> Path:
    old = time.time() - 3600
    files = {
        ".gitignore": "node_modules/\n*.log\n",
        ".dockerignore": ".git\n",
        "app/main.py": "print(1)\n",
        "app/util.py": "X = 1\n",
        "README.txt": "hi\n",
        "node_modules/lib/index.js": "module.exports = 1\n",
    }
    for path, text in files.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
        os.utime(full, (old, old))
    _git(root, "init", "-q")
    _git(root, "add", ".gitignore", ".dockerignore", "app", "README.txt")
    _git(root, "commit", "-qm", "first")
    return root


def _write_old(path: Path, text: str, seconds_later: int) -> None:
    """Write, then date the file in the past: not "racy", so only git's lists bring it back."""
    path.write_text(text)
    when = time.time() - 3000 + seconds_later
    os.utime(path, (when, when))


def _git_state(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in (root / ".git").rglob("*") if p.is_file()
    }


def test_updates_from_git_status_equal_a_fresh_snapshot(tmp_path):
    """Edits, deletes, new files, a vanished folder, an edit in a git-ignored folder (Docker
    still sends it): each update from git's list is the fresh snapshot; .git is not written."""
    root = _repo(tmp_path)
    reader, watch = FolderReader(root, keep_content=True), GitChanges(root)
    assert watch.since_last() is None  # nothing to compare with yet
    reader.snapshot()
    before = _git_state(root)
    steps = [
        lambda: _write_old(root / "app/main.py", "print(2)\n", 60),
        lambda: _write_old(root / "app/main.py", "print(1)\n", 120),  # the index's bytes again
        lambda: (root / "new/deep/file.txt").parent.mkdir(parents=True),
        lambda: (root / "new/deep/file.txt").write_text("new\n"),
        lambda: (root / "node_modules/lib/index.js").write_text("module.exports = 2\n"),
        lambda: (root / "debug.log").write_text("ignored by git, sent by docker\n"),
        lambda: shutil.rmtree(root / "app"),
        lambda: (root / "README.txt").chmod(0o755),
    ]
    for step in steps:
        step()
        changed = watch.since_last()
        assert changed is not None
        fresh = FolderReader(root, keep_content=True).snapshot()
        assert reader.snapshot(changed=changed).entries == fresh.entries
    assert _git_state(root) == before  # git status wrote nothing (no index refresh)


def test_a_commit_makes_the_answer_unknown(tmp_path):
    """HEAD or the index moved: git's dirty list no longer covers the changes; walk."""
    root = _repo(tmp_path)
    watch = GitChanges(root)
    watch.since_last()
    assert watch.since_last() is not None
    (root / "README.txt").write_text("changed\n")
    _git(root, "commit", "-qam", "second")
    assert watch.since_last() is None


def test_not_a_git_work_tree(tmp_path):
    assert GitChanges(tmp_path).since_last() is None
