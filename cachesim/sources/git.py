"""A git history as a source of builds: each commit's changed paths, read with the git CLI.

Why the CLI and these commands: one ``git log --raw --no-renames -z`` lists every commit's
changes (object ids and modes included) in one stream, about 40 us a commit, where pygit2's
tree diff measured 8-13x slower. Git's blob ids and modes stand for content digests
(BuildKit's checksum ignores mtime), so no blob is read except the Dockerfile and the
.dockerignore, and nothing is checked out or written: a bare repository, or a snapshot
that lacks big blobs and has no ``config``, works as well.
"""

from __future__ import annotations

import subprocess
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cachesim.core.errors import InputError

SUBMODULE = "160000"
SYMLINK = "120000"
EMPTY_OID = "0" * 40


class Entry(NamedTuple):
    """One path of a commit's tree: its git mode (``100644``...) and object id.

    A named tuple, not a dataclass: a replay makes one for every path every commit
    changes, and ``_entry`` makes it with ``tuple.__new__`` alone (a tenth of a frozen
    dataclass's ``__init__``)."""

    mode: str
    oid: str


_make = tuple.__new__  # a named tuple from its fields, without its Python-level __new__


@dataclass(frozen=True, slots=True)
class PathChange:
    """One path a commit changed against its first parent; ``None`` = absent on that side.
    A rename is a delete and an add (``--no-renames``), as a build context sees it."""

    path: str
    old: Entry | None
    new: Entry | None


# (path, old, new) of one changed path: a ``PathChange`` as a plain tuple, what a replay
# reads in its hot loop (a tuple is several times cheaper to make than a dataclass)
Record = tuple[str, "Entry | None", "Entry | None"]


class Commit(NamedTuple):
    """One commit of the first-parent history and what it changed (``records``). A named
    tuple, made by ``tuple.__new__``, for the reason ``Entry`` is one: one per commit."""

    oid: str
    parents: tuple[str, ...]
    subject: str
    records: tuple[Record, ...]

    @property
    def changes(self) -> tuple[PathChange, ...]:
        """The changed paths as ``PathChange`` values."""
        return tuple(PathChange(*record) for record in self.records)

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


class Repository:
    """A git repository read through ``git --git-dir``; it is never written to."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.git_dir = self._find_git_dir(self.path)
        self._batch: subprocess.Popen[bytes] | None = None  # the cat-file ``blobs`` keeps

    @staticmethod
    def _find_git_dir(path: Path) -> str:
        if not path.exists():
            raise InputError(f"{path}: no such folder")
        pointer = path / ".git"
        if pointer.is_file():  # a linked worktree or a submodule: "gitdir: <folder>"
            text = pointer.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return str(target if target.is_absolute() else path / target)
        for candidate in (path / ".git", path):
            if (
                candidate.is_dir()
                and (candidate / "objects").is_dir()
                and ((candidate / "HEAD").is_file())
            ):
                return str(candidate)
        raise InputError(f"{path}: not a git repository")

    def _git(self, *args: str) -> list[str]:
        # -c safe.directory: a snapshot owned by another user is still only read.
        return ["git", "-c", "safe.directory=*", "--git-dir", self.git_dir, *args]

    def run(self, *args: str) -> bytes:
        """One git command's output; a failure becomes an ``InputError``."""
        done = subprocess.run(self._git(*args), capture_output=True, check=False)
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise InputError(f"{self.path}: git {args[0]}: {message[0] if message else 'failed'}")
        return done.stdout

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names; an unknown ref is one clear error."""
        done = subprocess.run(
            self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise InputError(f"{self.path}: unknown ref {ref!r}")
        return done.stdout.decode().strip()

    def tree(self, commit: str) -> dict[str, Entry]:
        """Every path of a commit's tree (files, symlinks, submodules) with mode and id."""
        out: dict[str, Entry] = {}
        for record in self.run("ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
            if not record:
                continue
            meta, path = record.split(b"\t", 1)
            mode, _kind, oid = meta.decode().split(" ")
            out[path.decode("utf-8", "surrogateescape")] = Entry(mode, oid)
        return out

    def history(self, head: str, count: int | None = None) -> Iterator[Commit]:
        """Each first-parent commit up to ``head`` with its changes, oldest first, streamed
        from one ``git log`` (merges are diffed against their first parent)."""
        args = [
            "log",
            "--first-parent",
            "--reverse",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "-z",
            "--diff-merges=first-parent",
            "--format=%x01%H %P%x02%s%x02",
        ]
        if count is not None:
            # --reverse applies after the limit: the last ``count`` commits, oldest first
            args.append(f"--max-count={count}")
        process = subprocess.Popen(self._git(*args, head), stdout=subprocess.PIPE)
        assert process.stdout is not None
        try:
            yield from _parse_log(process.stdout)
        finally:
            process.stdout.close()
            process.wait()

    def diff(self, base: str, head: str) -> tuple[PathChange, ...]:
        """What changed from commit ``base`` to commit ``head`` (renames as delete + add)."""
        raw = self.run("diff-tree", "-r", "--raw", "--no-renames", "--no-abbrev", "-z", base, head)
        return tuple(PathChange(*record) for record in _records(raw, {}, {}))

    def blobs(self, oids: list[str]) -> dict[str, bytes]:
        """The contents of a few blobs (Dockerfiles, .dockerignore); a missing one is left
        out. One ``cat-file --batch`` serves every call until ``close``: a replay asks
        once per Dockerfile version, and a git process a time cost more than the replay."""
        if not oids:
            return {}
        batch = self._batch
        if batch is None or batch.poll() is not None:
            batch = self._batch = subprocess.Popen(
                self._git("cat-file", "--batch"), stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            weakref.finalize(self, _end_batch, batch)  # ended with the object, or at exit
        assert batch.stdin is not None and batch.stdout is not None
        batch.stdin.write("".join(f"{o}\n" for o in oids).encode())
        batch.stdin.flush()
        out: dict[str, bytes] = {}
        for oid in oids:
            header = batch.stdout.readline().split(b" ")
            if len(header) < 3 or header[1] == b"missing":
                continue
            out[oid] = batch.stdout.read(int(header[2]) + 1)[:-1]  # the content and a "\n"
        return out

    def close(self) -> None:
        """End the ``cat-file`` process ``blobs`` keeps (the repository is only read)."""
        batch, self._batch = self._batch, None
        if batch is not None:
            _end_batch(batch)

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _end_batch(batch: subprocess.Popen[bytes]) -> None:
    """Close a ``cat-file --batch``: it ends at the end of its input."""
    if batch.returncode is None:
        assert batch.stdin is not None and batch.stdout is not None
        batch.stdin.close()
        batch.wait()
        batch.stdout.close()


def _parse_log(stream) -> Iterator[Commit]:  # type: ignore[no-untyped-def]
    """Commits out of ``git log --raw -z --format=%x01%H %P%x02%s%x02`` output. The
    entries and paths seen are shared within the one stream (a path's old side is the
    entry an earlier commit made), never across streams."""
    buffer = b""
    entries: dict[bytes, Entry | bool] = {}
    paths: dict[bytes, str] = {}
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        buffer += chunk
        parts = buffer.split(b"\x01")
        buffer = parts.pop()
        for part in parts:
            if part:
                yield _commit(part, entries, paths)
    if buffer:
        yield _commit(buffer, entries, paths)


def _commit(record: bytes, entries: dict[bytes, Entry | bool], paths: dict[bytes, str]) -> Commit:
    header, subject, raw = record.split(b"\x02", 2)
    ids = header.decode().split()
    changes = _records(raw, entries, paths)
    return _make(Commit, (ids[0], tuple(ids[1:]), subject.decode(errors="replace"), changes))


def _records(
    raw: bytes, entries: dict[bytes, Entry | bool], paths: dict[bytes, str]
) -> tuple[Record, ...]:
    """``--raw -z`` records (``:oldmode newmode oldid newid S\\0path\\0``) as
    ``(path, old, new)``.

    The hot loop of a replay (every changed path of every commit): a mode and id pair
    seen before is one shared ``Entry``, a path seen before one shared ``str`` (decoded
    once, its hash computed once for every dict that looks it up), and ``:`` records are
    read as fixed-width text. ``entries`` (mode + id bytes -> ``Entry``, False for an
    absent side) and ``paths`` (bytes -> str) are the caller's caches."""
    fields = iter(raw.lstrip(b"\n\0").split(b"\0"))
    changes: list[Record] = []
    # (record, path) pairs; the lone "" after the last NUL is left over
    for meta, name in zip(fields, fields, strict=False):
        if meta[:1] != b":":
            continue
        # ":100644 100644 <40 hex> <40 hex> M": modes are 6 octal digits, ids 40 hex (SHA-1)
        if len(meta) >= 98 and meta[55] == 32 and meta[96] == 32:  # 32: a space
            old_key, new_key = meta[1:7] + meta[15:55], meta[8:14] + meta[56:96]
        else:  # another id length (SHA-256 repositories): split the words
            words = meta[1:].split(b" ")
            old_key, new_key = words[0] + words[2], words[1] + words[3]
        old, new = entries.get(old_key), entries.get(new_key)
        if old is None:
            old = entries[old_key] = _entry(old_key)
        if new is None:
            new = entries[new_key] = _entry(new_key)
        path = paths.get(name)
        if path is None:
            path = paths[name] = name.decode("utf-8", "surrogateescape")
        changes.append((path, old or None, new or None))
    if len(entries) > 1 << 16:  # keep memory flat on long histories
        entries.clear()
    if len(paths) > 1 << 16:
        paths.clear()
    return tuple(changes)


def _entry(key: bytes) -> Entry | bool:
    mode = key[:6].decode()
    return False if mode == "000000" else _make(Entry, (mode, key[6:].decode()))
