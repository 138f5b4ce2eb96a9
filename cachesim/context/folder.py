"""A real folder read as a build context, fast, and read again cheaply after edits.

What ``docker build DIR`` sends is the folder minus what ``.dockerignore`` excludes
(cachesim/context/dockerignore.py applies Docker's rules, directory pruning included).
BuildKit keys a COPY by the content and permission bits of what it selects, so a snapshot
needs every kept file's SHA-256. Reading a project again after a few edits should not hash
it all again: like git's index and black's cache, a file whose ``(size, mtime_ns, inode,
mode)`` did not move keeps its digest, so an unchanged folder costs one ``lstat`` a file.

Three details make that safe and fast:

* *Racy files.* A file modified in the same instant as the snapshot could change again
  without moving its mtime; its digest is not trusted next time (git's "racy clean" rule:
  any file whose mtime is within ``RACY_SECONDS`` of the snapshot is re-hashed).
* *Parallel hashing.* ``hashlib`` releases the GIL while it hashes more than 2 KiB, and so
  does ``os.read``; two threads over batches of files keep both cores busy. Each file is
  opened once: ``fstat`` on the open descriptor gives the stat key, so no extra ``lstat``.
* *Change lists.* Even one ``lstat`` a file is a walk of the whole folder; a caller that
  knows what changed (a scenario's change events through ``changed_paths``, a git diff's
  file list, ``git status`` through cachesim/context/gitwatch.py) passes
  ``snapshot(changed=paths)`` and only those paths are looked at: ten edits cost ten
  stats and ten hashes, whatever the folder's size.

Nothing in the folder is ever written. Symlinks, unreadable files and files larger than
``BIG_FILE`` are kept and reported (``Snapshot.notes``), never a crash.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    """Reads one folder again and again; only files whose stat moved are hashed again.

    ``snapshot()`` walks the whole folder (one ``lstat`` a file once the cache is warm).
    ``snapshot(changed=[...])`` trusts the caller's list of paths changed since the last
    snapshot (a scenario's change events, a git diff, a file watcher): only those paths are
    looked at, so ten edits cost ten ``lstat`` calls and ten hashes, not a walk of 20,000
    files. A changed path may be a file or a folder that was edited, added, deleted,
    renamed (name both ends), chmodded, or that appeared or vanished with its folder.
    """

    root: Path
    keep_content: bool = False
    ignore_file: Path | None = None  # default: the folder's own .dockerignore
    # Hashing threads for a large read; None: two when there are two cores (_threads).
    workers: int | None = None
    _cache: dict[str, Entry] = field(default_factory=dict, repr=False)
    _last: Snapshot | None = field(default=None, repr=False)
    _untrusted: set[str] = field(default_factory=set, repr=False)  # racy files, links

    def snapshot(self, changed: Iterable[str] | None = None) -> Snapshot:
        """The folder as it is now (raises ``InputError`` if it is not a readable folder).

        With ``changed``, only those paths (context-relative or absolute; a folder stands
        for all below it) are looked at, plus files the last snapshot could not trust (racy
        ones, links); every other file is taken from the last snapshot. A named file whose
        stat key still holds is not read again. The list must name every path changed
        since then; without a last snapshot, or when the ``.dockerignore`` changed, the
        whole folder is walked (through the stat cache) as without ``changed``.
        """
        root = self.root
        if not root.is_dir():
            raise InputError("not a folder", str(root))
        started = time.time_ns()
        ignore_text = _read_text(self.ignore_file or root / IGNORE_FILE)
        last = self._last
        if changed is None or last is None or last.dockerignore != ignore_text:
            snap = self._walked(ignore_text, started)
        else:
            snap = self._updated(last, changed, started)
        self._last = snap
        return snap

    def _walked(self, ignore_text: str | None, started: int) -> Snapshot:
        rules = IgnoreRules.parse(ignore_text)
        ignored: list[str] = []
        files, links = _walk(rules, ignored, [("", str(self.root))])
        kept, fresh = self._check(files, links)
        last = self._last
        notes: tuple[str, ...] | None = None
        if fresh == 0 and last is not None and kept.keys() == last.entries.keys():
            # Nothing hashed, the same paths: the last order holds, and so does the cache
            # (every file came from it; links are never in it); so do the notes unless a
            # link moved (only links and cached files can be here).
            entries = {p: kept[p] for p in last.entries}
            if all(kept.get(p) == last.entries.get(p) for p in self._untrusted):
                notes = last.notes
        else:
            entries = {p: kept[p] for p in sorted(kept)}
            racy = started - int(RACY_SECONDS * 1e9)
            self._cache = {
                p: e for p, e in entries.items() if e.mtime_ns < racy and e.kind == "file"
            }
            self._untrusted = {p for p in entries if p not in self._cache}
        return Snapshot(
            str(self.root),
            entries,
            tuple(sorted(ignored)),
            ignore_text,
            fresh,
            _notes(entries) if notes is None else notes,
        )

    def _updated(self, last: Snapshot, changed: Iterable[str], started: int) -> Snapshot:
        rules = IgnoreRules.parse(last.dockerignore)
        root = str(self.root)
        named = {c for c in (_clean(root, path) for path in changed) if c is not None}
        tops = _tops(root, {*named, *self._untrusted})
        if "" in tops:  # the whole folder changed
            return self._walked(last.dockerignore, started)
        ignored = set(last.ignored)
        gone = _forget(ignored, last, tops)
        files: Found = []
        links: Found = []
        for top in tops:
            _look(root, rules, top, ignored, files, links)
        kept, fresh = self._check(files, links)  # a named file whose stat holds: not read
        entries = dict(last.entries)
        for path in gone:
            if path not in kept:
                del entries[path]
                self._cache.pop(path, None)
                self._untrusted.discard(path)
        entries.update(kept)  # a path kept in place keeps its place in the order
        if any(p not in last.entries for p in kept):
            entries = {p: entries[p] for p in sorted(entries)}
        self._remember(kept.values(), started)
        touched = [last.entries[p] for p in gone] + list(kept.values())
        return Snapshot(
            last.root,
            entries,
            last.ignored if ignored == set(last.ignored) else tuple(sorted(ignored)),
            last.dockerignore,
            fresh,
            _notes(entries) if any(map(_special, touched)) else last.notes,
        )

    def _check(self, files: Found, links: Found) -> tuple[dict[str, Entry], int]:
        """Entries for found files: from the stat cache when the stat key holds, else
        hashed; and how many were hashed."""
        kept: dict[str, Entry] = {}
        todo: Found = []
        cached, lstat = self._cache.get, os.lstat  # this loop is a re-check's whole cost
        for rel, full in files:
            old = cached(rel)
            if old is not None:
                info = lstat(full)
                if (
                    info.st_mtime_ns == old.mtime_ns
                    and info.st_size == old.size
                    and info.st_ino == old.inode
                    and info.st_mode == old.mode
                ):
                    kept[rel] = old
                    continue
            todo.append((rel, full))
        kept.update(self._hash_all(todo))
        for rel, full in links:
            kept[rel] = _link_entry(rel, full)
        return kept, len(todo)

    def _remember(self, entries: Iterable[Entry], started: int) -> None:
        """Cache what can be trusted next time; note what must be read again even when no
        change names it: racy files (an mtime too close to the snapshot proves nothing,
        git's "racy clean" rule), links and unreadable files (never cached)."""
        racy = started - int(RACY_SECONDS * 1e9)
        for entry in entries:
            if entry.kind == "file" and entry.mtime_ns < racy:
                self._cache[entry.path] = entry
                self._untrusted.discard(entry.path)
            else:
                self._cache.pop(entry.path, None)
                self._untrusted.add(entry.path)

    def _hash_all(self, todo: Found) -> dict[str, Entry]:
        """Hash files, in threads when there are many (``_threads``)."""
        keep = self.keep_content
        workers = self.workers if self.workers is not None else _threads()
        if len(todo) < PARALLEL_FROM or workers <= 1:
            return _hash_batch(keep, todo)
        batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        out: dict[str, Entry] = {}
        with ThreadPoolExecutor(workers) as pool:
            for part in pool.map(functools.partial(_hash_batch, keep), batches):
                out.update(part)
        return out


Found = list[tuple[str, str]]  # (context path, full path) pairs


def _threads() -> int:
    """Two hashing threads on a machine with two cores or more.

    hashlib and ``os.read`` release the GIL on large buffers, so a second thread hashes
    while the first opens and reads. Measured on this shared 2-core machine at load
    average 10-13, best of 5 alternating rounds, two threads took 0.51x, 0.63x and 1.17x
    the time of one (a busy machine schedules threads, so two get more of it; the GIL
    hand-offs cost little). Forked processes were measured to lose 35% under load.
    """
    return min(2, os.cpu_count() or 1)


def _hash_batch(keep: bool, todo: Found) -> dict[str, Entry]:
    return {rel: _hash_file(rel, full, keep) for rel, full in todo}


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


def _walk(rules: IgnoreRules, ignored: list[str] | set[str], starts: Found) -> tuple[Found, Found]:
    """The kept regular files and symlinks below ``starts`` (``(prefix, folder)`` pairs of
    folders already entered), as Docker's walk keeps them; what it leaves out goes to
    ``ignored`` (a skipped folder as ``name/``). Other kinds (sockets, fifos) are skipped.

    An excluded directory is skipped whole unless an exception line may re-include
    something below it (then its files are matched one by one, as the engine does).
    """
    plain = not rules.rules
    skip = ignored.append if isinstance(ignored, list) else ignored.add
    files: Found = []
    links: Found = []
    stack = list(starts)
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
                if plain or _enters(rules, rel):
                    stack.append((rel + "/", item.path))
                else:
                    skip(rel + "/")
            elif not plain and rules.excludes(rel):
                skip(rel)
            elif item.is_symlink():
                links.append((rel, item.path))
            elif item.is_file(follow_symlinks=False):
                files.append((rel, item.path))
    return files, links


def _enters(rules: IgnoreRules, directory: str) -> bool:
    """Whether Docker's walk goes into ``directory``: it is kept, or an exception line,
    read as plain text, starts with "directory/" (cachesim/context/dockerignore.py)."""
    if not rules.excludes(directory):
        return True
    prefix = directory + "/"
    return any(r.exclusion and (r.pattern + "/").startswith(prefix) for r in rules.rules)


def _clean(root: str, path: str) -> str | None:
    """A changed path in context form: "./a//b/" -> "a/b", "" for the whole folder; an
    absolute path is taken relative to the folder; None for a path outside it."""
    if os.path.isabs(path):
        path = os.path.relpath(path, root)
    clean = posixpath.normpath(path.replace(os.sep, "/"))
    if clean == ".":
        return ""
    return None if clean == ".." or clean.startswith(("../", "/")) else clean


def _tops(root: str, paths: set[str]) -> list[str]:
    """The changed paths to look at again, outermost only (a folder covers what is below
    it), each raised to its highest vanished folder: deleting a folder's last file may
    delete the folder (git does), and then the folder must be forgotten too."""
    raised = set()
    for path in paths:
        while "/" in path and not os.path.lexists(os.path.join(root, path.rsplit("/", 1)[0])):
            path = path.rsplit("/", 1)[0]
        raised.add(path)
    tops: list[str] = []
    for path in sorted(raised):
        if not tops or not (tops[-1] == "" or path.startswith(tops[-1] + "/")):
            tops.append(path)
    return tops


def _below(paths: Sequence[str], folder: str) -> Sequence[str]:
    """The paths under ``folder`` in a sorted sequence: one slice ("/" sorts just before "0")."""
    return paths[bisect.bisect_left(paths, folder + "/") : bisect.bisect_left(paths, folder + "0")]


def _forget(ignored: set[str], last: Snapshot, tops: list[str]) -> list[str]:
    """The last snapshot's files at and below each of ``tops`` (to look at again); what it
    ignored there is dropped from ``ignored``."""
    keys = list(last.entries)  # sorted
    gone: list[str] = []
    for top in tops:
        if top in last.entries:
            gone.append(top)
        gone.extend(_below(keys, top))
        ignored.difference_update([top, top + "/", *_below(last.ignored, top)])
    return gone


def _look(
    root: str, rules: IgnoreRules, top: str, ignored: set[str], files: Found, links: Found
) -> None:
    """Put what is at ``top`` now into ``files``, ``links`` or ``ignored``, as the full walk
    would have (the folders above it included: one the walk skips hides it)."""
    full = os.path.join(root, top)
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        return  # deleted or moved away: forgotten already
    parts = top.split("/")
    for k in range(1, len(parts)):
        folder = "/".join(parts[:k])
        if not _real_folder(os.path.join(root, folder)):
            return  # reached through a symlink: the walk does not follow links
        if rules.rules and not _enters(rules, folder):
            ignored.add(folder + "/")  # inside a folder the walk skips
            return
    if stat.S_ISDIR(mode):
        if not rules.rules or _enters(rules, top):
            found = _walk(rules, ignored, [(top + "/", full)])
            files.extend(found[0])
            links.extend(found[1])
        else:
            ignored.add(top + "/")
    elif rules.rules and rules.excludes(top):
        ignored.add(top)
    elif stat.S_ISLNK(mode):
        links.append((top, full))
    elif stat.S_ISREG(mode):
        files.append((top, full))


def _real_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def changed_paths(changes: Iterable[object]) -> list[str]:
    """The context paths a build's change events name, for ``snapshot(changed=...)``:
    the subject of each edit, add, delete, chmod and touch, both ends of a rename. Other
    events (build arguments, base images, the Dockerfile) change no file of the folder.
    (By each event's ``kind`` (cachesim/context/changes.py), so this module need not
    import the events.)"""
    paths: list[str] = []
    for change in changes:
        kind = getattr(change, "kind", None)
        if kind in _PATH_KINDS:
            paths.append(change.path)  # type: ignore[attr-defined]
        if kind == "rename":
            paths.append(change.to)  # type: ignore[attr-defined]
    return paths


_PATH_KINDS = frozenset({"edit", "add", "delete", "rename", "chmod", "touch"})


def read_folder(
    folder: Path, by_stat: Callable[[str, os.stat_result], bool] | None = None
) -> dict[str, ContextFile]:
    """Every regular file below ``folder``, with its bytes, permission bits and mtime, for
    a scenario's ``context:`` folder (which applies its own ``.dockerignore`` later) and
    ``suggest``. Symlinks and other kinds are left out; nothing is written.

    ``by_stat(path, info)`` may say which files are known by their size and mtime alone
    instead of their bytes (a pack file in ``.git``, a large asset): a caller that only
    needs to know that they exist and when they change need not read them.
    """
    files, _links = _walk(IgnoreRules.parse(None), [], [("", str(folder))])
    out: dict[str, ContextFile] = {}
    for rel, full in sorted(files, key=_walk_order):
        info = os.lstat(full)
        if by_stat is not None and by_stat(rel, info):
            content = f"size {info.st_size} mtime {info.st_mtime_ns}".encode()
        else:
            try:
                content = Path(full).read_bytes()
            except OSError as err:
                raise InputError(f"cannot read: {err.strerror}", full) from None
        out[rel] = ContextFile(content, stat.S_IMODE(info.st_mode), info.st_mtime)
    return out


def _walk_order(found: tuple[str, str]) -> tuple[list[str], str]:
    """``os.walk``'s order with sorted names: a folder's files, then its folders in turn."""
    folder, _, name = found[0].rpartition("/")
    return (folder.split("/") if folder else [], name)


def _special(entry: Entry) -> bool:
    """Whether an entry shows in ``Snapshot.notes`` (then the notes are made again)."""
    return entry.kind != "file" or entry.size > BIG_FILE


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)


def _hash_file(rel: str, full: str, keep: bool) -> Entry:
    """The file's entry: four system calls for a file under ``BLOCK`` (open, fstat, one
    read of size + 1 bytes that also proves the end of the file, close)."""
    try:
        fd = os.open(full, _OPEN_FLAGS)
    except OSError:
        return _unreadable(rel, full)
    try:
        info = os.fstat(fd)
        size = info.st_size
        data = os.read(fd, size + 1) if size < BLOCK else b""
        if len(data) <= size < BLOCK:  # the whole file, and it did not grow meanwhile
            digest = hashlib.sha256(data).hexdigest()
            content = data if keep and size <= BIG_FILE else None
        else:
            digest, content = _hash_rest(fd, data, keep and size <= BIG_FILE)
    finally:
        os.close(fd)
    return Entry(rel, size, info.st_mtime_ns, info.st_ino, info.st_mode, digest, content)


def _hash_rest(fd: int, start: bytes, keep: bool) -> tuple[str, bytes | None]:
    """Digest (and bytes, if kept) of a large file read in ``BLOCK`` pieces after ``start``."""
    digest = hashlib.sha256(start)
    kept = [start]
    while block := os.read(fd, BLOCK):
        digest.update(block)
        if keep:
            kept.append(block)
    return digest.hexdigest(), b"".join(kept) if keep else None


def _unreadable(rel: str, full: str) -> Entry:
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


def _link_entry(rel: str, full: str) -> Entry:
    # BuildKit checksums a symlink by its header, whose link name is the target's text:
    # retargeting it changes the key, editing the file it points to does not.
    info = os.lstat(full)
    target = os.readlink(full)
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
