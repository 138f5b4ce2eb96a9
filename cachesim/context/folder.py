"""A real folder read as a build context, fast, and read again cheaply after edits.

What ``docker build DIR`` sends is the folder minus what ``.dockerignore`` excludes
(cachesim/context/dockerignore.py applies Docker's rules, directory pruning included).
BuildKit keys a COPY by the content and permission bits of what it selects, so a snapshot
needs every kept file's SHA-256. Reading a project again after a few edits should not hash
it all again: like git's index and black's cache, a file whose ``(size, mtime_ns, inode,
mode)`` did not move keeps its digest, so an unchanged folder costs one ``lstat`` a file.

Two details make that safe and fast:

* *Racy files.* A file modified in the same instant as the snapshot could change again
  without moving its mtime; its digest is not trusted next time (git's "racy clean" rule:
  any file whose mtime is within ``RACY_SECONDS`` of the snapshot is re-hashed).
* *Parallel hashing.* ``hashlib`` releases the GIL while it hashes more than 2 KiB, and so
  does ``os.read``; a thread pool over batches of files keeps both cores busy. Each file is
  opened once: ``fstat`` on the open descriptor gives the stat key, so no extra ``lstat``.

Nothing in the folder is ever written. Symlinks, unreadable files and files larger than
``BIG_FILE`` are kept and reported (``Snapshot.notes``), never a crash.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import stat
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cachesim.context.dockerignore import IGNORE_FILE, IgnoreRules
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError

BIG_FILE = 4 * 1024 * 1024  # above this, a file's bytes are not kept in memory
RACY_SECONDS = 2.0
BLOCK = 1024 * 1024  # read size for large files
PARALLEL_FROM = 2000  # fewer files than this are hashed in this process
BATCH = 64  # files a worker hashes per task: fewer tasks, less scheduling overhead

StatKey = tuple[int, int, int, int]  # size, mtime_ns, inode, mode


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of the folder as the snapshot saw it."""

    path: str  # context path, POSIX, relative
    size: int
    mtime_ns: int
    inode: int
    mode: int  # st_mode (type and permission bits)
    digest: str  # SHA-256 of the bytes (of the link target's text, for a symlink)
    content: bytes | None = None  # kept when asked and not bigger than BIG_FILE
    kind: str = "file"  # "file" | "symlink" | "unreadable"

    @property
    def key(self) -> StatKey:
        return (self.size, self.mtime_ns, self.inode, self.mode)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A folder as a build context: kept files with digests, and what was left out."""

    root: str
    entries: Mapping[str, Entry]  # what the builder sees (after .dockerignore)
    ignored: tuple[str, ...]  # files .dockerignore keeps out (not hashed)
    dockerignore: str | None
    hashed: int  # files whose bytes were read this time (the rest came from the stat cache)
    notes: tuple[str, ...] = ()  # one line per kind of oddity (symlinks, unreadable, big)

    def context_files(self) -> dict[str, ContextFile]:
        """The kept files as the simulator's ``ContextFile`` values.

        A file whose bytes were not kept (too big) stands in as its digest's text: the
        cache key still moves exactly when the file changes, only its size is wrong.
        """
        out: dict[str, ContextFile] = {}
        for path, entry in self.entries.items():
            content = entry.content if entry.content is not None else entry.digest.encode()
            out[path] = ContextFile(content, stat.S_IMODE(entry.mode), entry.mtime_ns / 1e9)
        return out


@dataclass
class FolderReader:
    """Reads one folder again and again; only files whose stat moved are hashed again."""

    root: Path
    keep_content: bool = False
    ignore_file: Path | None = None  # default: the folder's own .dockerignore
    # Worker processes for a large cold read. Measured on the shared 2-core machine: forked
    # workers gained 11% when it was idle and lost 35% under load; threads gained nothing
    # (the per-file Python work holds the GIL). So one process unless asked.
    workers: int = 1
    _cache: dict[str, Entry] = field(default_factory=dict, repr=False)

    def snapshot(self) -> Snapshot:
        """The folder as it is now (raises ``InputError`` if it is not a readable folder)."""
        root = self.root
        if not root.is_dir():
            raise InputError("not a folder", str(root))
        started = time.time_ns()
        ignore_text = _read_text(self.ignore_file or root / IGNORE_FILE)
        rules = IgnoreRules.parse(ignore_text)
        ignored: list[str] = []
        links: list[tuple[str, os.stat_result]] = []
        todo: list[tuple[str, os.stat_result | None]] = []
        kept: dict[str, Entry] = {}
        cache = self._cache
        for rel, info, is_link in _walk(root, rules, ignored, need_stat=bool(cache)):
            if is_link:
                links.append((rel, info))
                continue
            old = cache.get(rel)
            if old is not None and old.key == (
                info.st_size,
                info.st_mtime_ns,
                info.st_ino,
                info.st_mode,
            ):
                kept[rel] = old
            else:
                todo.append((rel, info))
        fresh = self._hash_all([rel for rel, _ in todo])
        kept.update(fresh)
        for rel, info in links:
            kept[rel] = _link_entry(root, rel, info)
        entries = {p: kept[p] for p in sorted(kept)}
        racy = started - int(RACY_SECONDS * 1e9)
        self._cache = {p: e for p, e in entries.items() if e.mtime_ns < racy and e.kind == "file"}
        return Snapshot(
            str(root),
            entries,
            tuple(sorted(ignored)),
            ignore_text,
            len(fresh),
            _notes(entries),
        )

    def _hash_all(self, paths: list[str]) -> dict[str, Entry]:
        if not paths:
            return {}
        batches = [paths[i : i + BATCH] for i in range(0, len(paths), BATCH)]
        out: dict[str, Entry] = {}
        if len(paths) < PARALLEL_FROM or self.workers == 1:
            for batch in batches:
                out.update(self._hash_batch(batch))
            return out
        if not self.keep_content and "fork" in multiprocessing.get_all_start_methods():
            # Processes, not threads: measured here, threads gained nothing (the per-file
            # Python work holds the GIL); forked workers share the walk's list for free.
            job = functools.partial(_hash_batch, str(self.root), False)
            with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                for part in pool.imap_unordered(job, batches, chunksize=8):
                    out.update(part)
            return out
        with ThreadPoolExecutor(self.workers) as pool:
            for part in pool.map(self._hash_batch, batches):
                out.update(part)
        return out

    def _hash_batch(self, paths: list[str]) -> dict[str, Entry]:
        return _hash_batch(str(self.root), self.keep_content, paths)


def _hash_batch(root: str, keep: bool, paths: list[str]) -> dict[str, Entry]:
    return {rel: _hash_file(root, rel, keep) for rel in paths}


def read_snapshot(root: str | Path, keep_content: bool = True) -> Snapshot:
    """One snapshot of ``root`` (a convenience over ``FolderReader``)."""
    return FolderReader(Path(root), keep_content=keep_content).snapshot()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", str(path)) from None


def _walk(
    root: Path, rules: IgnoreRules, ignored: list[str], need_stat: bool = True
) -> Iterator[tuple[str, os.stat_result | None, bool]]:
    """(path, lstat, is a symlink) for each kept non-directory, as Docker's walk keeps it.

    An excluded directory is skipped whole unless an exception line may re-include
    something below it (then its files are matched one by one, as the engine does).
    """
    plain = not rules.rules
    stack = [("", str(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = list(it)
        except OSError:
            continue  # an unreadable folder: the notes cannot see inside it either
        for item in items:
            rel = prefix + item.name
            if item.is_dir(follow_symlinks=False):
                if plain or not rules.excludes(rel) or _may_reinclude(rules, rel):
                    stack.append((rel + "/", item.path))
                else:
                    ignored.append(rel + "/")
                continue
            if not plain and rules.excludes(rel):
                ignored.append(rel)
                continue
            if item.is_symlink():
                yield rel, item.stat(follow_symlinks=False), True
            elif item.is_file(follow_symlinks=False):
                # A cold read needs no lstat: fstat on the open file gives the same key.
                yield rel, item.stat(follow_symlinks=False) if need_stat else None, False


def _may_reinclude(rules: IgnoreRules, directory: str) -> bool:
    # Docker's walk enters an excluded directory only when an exception line, read as
    # plain text, starts with "directory/" (cachesim/context/dockerignore.py, "walked").
    prefix = directory + "/"
    return any(r.exclusion and (r.pattern + "/").startswith(prefix) for r in rules.rules)


def _hash_file(root: str, rel: str, keep: bool) -> Entry:
    full = os.path.join(root, rel)
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        info = os.lstat(full)
        return Entry(
            rel,
            info.st_size,
            info.st_mtime_ns,
            info.st_ino,
            info.st_mode,
            "unreadable",
            None,
            "unreadable",
        )
    try:
        info = os.fstat(fd)
        digest = hashlib.sha256()
        kept: list[bytes] = []
        keep = keep and info.st_size <= BIG_FILE
        wanted = info.st_size + 1 if info.st_size < BLOCK else BLOCK
        while True:
            block = os.read(fd, wanted)
            digest.update(block)
            if keep:
                kept.append(block)
            if len(block) < wanted:  # end of file: no extra read() to learn it
                break
    finally:
        os.close(fd)
    content = b"".join(kept) if keep else None
    return Entry(
        rel, info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode, digest.hexdigest(), content
    )


def _link_entry(root: Path, rel: str, info: os.stat_result) -> Entry:
    # BuildKit checksums a symlink by its header, whose link name is the target's text:
    # retargeting it changes the key, editing the file it points to does not.
    target = os.readlink(root / rel)
    data = f"symlink -> {target}".encode()
    digest = hashlib.sha256(data).hexdigest()
    return Entry(
        rel, info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode, digest, data, "symlink"
    )


def _notes(entries: Mapping[str, Entry]) -> tuple[str, ...]:
    """One line for each kind of file the simulation cannot take at face value."""
    notes: list[str] = []
    links = [p for p, e in entries.items() if e.kind == "symlink"]
    if links:
        notes.append(
            f"{len(links)} symlink(s) ({_few(links)}): not followed; each counts as its "
            "target's name, as BuildKit's checksum of a link does"
        )
    bad = [p for p, e in entries.items() if e.kind == "unreadable"]
    if bad:
        notes.append(
            f"{len(bad)} unreadable file(s) ({_few(bad)}): a real build would stop "
            "('error from sender: open ...: permission denied'); simulated as unchanged"
        )
    big = [p for p, e in entries.items() if e.kind == "file" and e.size > BIG_FILE]
    if big:
        notes.append(
            f"{len(big)} file(s) over {BIG_FILE // (1024 * 1024)} MiB ({_few(big)}): hashed, "
            "not held in memory; their bytes count as a 64-byte stand-in in predicted times"
        )
    return tuple(notes)


def _few(paths: list[str], shown: int = 3) -> str:
    more = f", +{len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more
