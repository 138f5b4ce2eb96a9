"""``FolderReader.snapshot(changed=...)``: a snapshot updated from a list of changed paths.

The expected result is never computed by the code under test's update path: it is a fresh
``FolderReader`` walking the whole folder, whose digests tests/test_impact.py checks
against ``hashlib.sha256`` of the bytes and whose ``.dockerignore`` handling follows
Docker's documented rules (https://docs.docker.com/build/concepts/context/#dockerignore-files).
An update from a complete list of changes must equal that fresh snapshot, entry for entry.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from pathlib import Path

import pytest

from cachesim.context.changes import BuildArg, Chmod, Delete, Edit, Rename
from cachesim.context.folder import FolderReader, Snapshot, changed_paths

# An excluded folder, an excluded folder with an exception below it, excluded files by glob.
IGNORE = "build\nlogs\n!logs/keep\n*.tmp\n"


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def _tree(root: Path, rng: random.Random) -> None:
    old = time.time() - 3600
    root.mkdir()
    (root / ".dockerignore").write_text(IGNORE)
    for i in range(60):
        folder = rng.choice(["src", "src/a", "src/a/b", "docs", "build", "logs", "logs/keep"])
        suffix = rng.choice([".py", ".txt", ".tmp"])
        _write(root / folder / f"f{i}{suffix}", rng.randbytes(rng.randint(0, 3000)))
    (root / "link").symlink_to("src")
    for folder, _dirs, names in os.walk(root):
        for name in names:
            os.utime(Path(folder, name), (old, old), follow_symlinks=False)


def _files(root: Path) -> list[str]:
    return sorted(
        Path(folder, name).relative_to(root).as_posix()
        for folder, _dirs, names in os.walk(root)
        for name in names
        if name != ".dockerignore"
    )


def _folders(root: Path) -> list[str]:
    return sorted(
        Path(folder, name).relative_to(root).as_posix()
        for folder, dirs, _names in os.walk(root)
        for name in dirs
    )


def _change(root: Path, rng: random.Random, serial: int) -> list[str]:
    """One random change on disk; the paths a caller would report for it."""
    files = [p for p in _files(root) if not (root / p).is_symlink()]
    kind = rng.choice(["edit", "edit", "add", "delete", "chmod", "rename", "newdir", "rmdir", "via-link"])
    if kind == "edit" and files:
        path = rng.choice(files)
        (root / path).write_bytes(rng.randbytes(rng.randint(0, 3000)))
        return [path]
    if kind == "delete" and files:
        path = rng.choice(files)
        (root / path).unlink()
        return [path]  # as git reports it: the file, even when its folder went with it
    if kind == "chmod" and files:
        path = rng.choice(files)
        (root / path).chmod(rng.choice([0o600, 0o644, 0o755]))
        return [path]
    if kind == "rename" and files:
        path = rng.choice(files)
        to = f"moved/{serial}/{Path(path).name}"
        (root / to).parent.mkdir(parents=True, exist_ok=True)
        (root / path).rename(root / to)
        return [path, to]
    if kind == "rmdir":
        folders = [p for p in _folders(root) if not (root / p).is_symlink()]
        if folders:
            path = rng.choice(folders)
            below = [p for p in _files(root) if p.startswith(path + "/")]
            shutil.rmtree(root / path)
            # git names the files, never the folder that vanished with them
            return below if below and rng.random() < 0.5 else [path]
    if kind == "via-link":
        name = f"src/l{serial}.py"
        _write(root / name, b"seen through the link too")
        return [name, "link/" + name[4:]]  # a watcher may report both names
    folder = rng.choice(["src/new", "build/new", "logs/keep/new", "fresh", "docs"])
    names = [f"{folder}/n{serial}-{i}{rng.choice(['.py', '.tmp'])}" for i in range(3)]
    for name in names:
        _write(root / name, rng.randbytes(100))
    return names if rng.random() < 0.5 else [folder]  # each file, or the folder


def _same(updated: Snapshot, fresh: Snapshot) -> None:
    assert updated.entries == fresh.entries
    assert list(updated.entries) == list(fresh.entries)  # same (sorted) order
    assert updated.ignored == fresh.ignored
    assert updated.notes == fresh.notes


@pytest.mark.parametrize("seed", range(6))
def test_update_from_changed_paths_equals_a_fresh_snapshot(tmp_path, seed):
    """Random edits, adds, deletes, chmods, renames, folders appearing and vanishing,
    inside and outside excluded folders: after each, the updated snapshot is the fresh one."""
    rng = random.Random(seed)
    root = tmp_path / "ctx"
    _tree(root, rng)
    reader = FolderReader(root, keep_content=True)
    reader.snapshot()
    for serial in range(25):
        changed = []
        for _ in range(rng.randint(1, 3)):
            changed += _change(root, rng, serial)
        _same(reader.snapshot(changed=changed), FolderReader(root, keep_content=True).snapshot())


def _two_edited(root: Path, seed: int, data: tuple[bytes, bytes]):
    """A read folder, then two of its files in src/ rewritten: the reader, the first
    snapshot and the two paths."""
    _tree(root, random.Random(seed))
    reader = FolderReader(root)
    first = reader.snapshot()
    paths = [p for p in first.entries if p.startswith("src/")][:2]
    for path, content in zip(paths, data, strict=True):
        (root / path).write_bytes(content)
    return reader, first, paths


def test_only_the_changed_paths_are_read(tmp_path):
    """An unnamed edit is not seen (the list is trusted); a named one is hashed, alone."""
    root = tmp_path / "ctx"
    reader, first, (named, unnamed) = _two_edited(root, 1, (b"named", b"unnamed"))
    after = reader.snapshot(changed=[named])
    assert after.hashed == 1
    assert after.entries[named].digest == hashlib.sha256(b"named").hexdigest()
    assert after.entries[unnamed] == first.entries[unnamed]
    full = reader.snapshot()  # a full walk finds the other one
    assert full.entries[unnamed].digest == hashlib.sha256(b"unnamed").hexdigest()
    old = time.time() - 600
    for path in (named, unnamed):  # no longer "racy": the stat cache may vouch for them
        os.utime(root / path, (old, old))
    reader.snapshot()
    assert reader.snapshot(changed=[named]).hashed == 0  # named, but its stat did not move


def test_changed_paths_may_be_absolute_or_untidy(tmp_path):
    """An absolute path, "./x", "a//b/" name context paths; a path outside is left alone."""
    root = tmp_path / "ctx"
    reader, _first, (a, b) = _two_edited(root, 3, (b"a", b"b"))
    (tmp_path / "outside.txt").write_text("not in the context")
    after = reader.snapshot(changed=[str(root / a), "./" + b.replace("/", "//"), "../outside.txt"])
    assert after.hashed == 2
    _same(after, FolderReader(root).snapshot())


def test_a_changed_dockerignore_walks_the_folder_again(tmp_path):
    """A new .dockerignore changes what every path means: the update walks everything."""
    root = tmp_path / "ctx"
    _tree(root, random.Random(2))
    reader = FolderReader(root)
    reader.snapshot()
    (root / ".dockerignore").write_text("src\n")
    updated = reader.snapshot(changed=[".dockerignore"])
    assert not any(p.startswith("src/") for p in updated.entries)
    assert "src/" in updated.ignored
    _same(updated, FolderReader(root).snapshot())


def test_change_events_name_the_paths_to_read_again():
    """A scenario's typed events give the paths: both ends of a rename, none for a build arg."""
    events = [
        Edit("a.py", content="x"),
        Rename("old", to="new"),
        Delete("gone"),
        Chmod("run.sh", 0o755),
        BuildArg("V", "1"),
    ]
    assert changed_paths(events) == ["a.py", "old", "new", "gone", "run.sh"]
