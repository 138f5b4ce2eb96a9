"""Selections that cost what changed, not what the context holds.

A scenario of 200 builds over a 5,000-file context used to rebuild the context tree and
every COPY's selection from scratch in each build (and the cost model did it again): 44 s.
Between two builds an edit changes file *contents*, almost never the *set* of paths, and
what a COPY source selects depends only on the set of paths and the .dockerignore rules.
So each build's files are a ``TrackedMap`` derived from the last build's
(``tracked_files``: one pass finds the files that are not the same objects), and the
memos below are keyed by exactly what their answer depends on:

* ``tree(files, rules)``: the ``ContextTree`` for a set of paths and rules (same set and
  rules: the very same tree object, so the memos below hit by identity); ``excluded`` and
  ``kept``: the files .dockerignore keeps out, and those it keeps, per tree;
* ``placement_of(...)``: a COPY's selections and destination pairs for a tree and the
  instruction's sources, destination and flags;
* ``selected(files, paths)``: the digest of each selected file as a ``DigestMap`` and
  their total size, updated for the paths the lineage says were touched;
* ``placed(pairs, digests)``: where the COPY puts each digest, updated the same way.

Each memo is bounded; a miss computes exactly what the code did before, so the memos
change no answer, only its cost.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from cachesim.context.digestmap import DigestMap, TrackedMap, track
from cachesim.context.dockerignore import IgnoreRules
from cachesim.context.selection import ContextTree
from cachesim.context.snapshot import file_digest
from cachesim.context.workspace import ContextFile

_LAST_FILES: list[TrackedMap[ContextFile]] = []  # the last build's files (one at most)


def tracked_files(files: dict[str, ContextFile]) -> TrackedMap[ContextFile]:
    """A build's files (the dict is handed over, not copied) as a map derived from the
    last build's: one pass finds the files that are not the very same objects (the replay
    shares unchanged ones), and every memo below then costs what changed."""
    made = track(files, _LAST_FILES[0] if _LAST_FILES else None)
    _LAST_FILES[:] = [made]
    return made


def _same_paths(files: Mapping[str, ContextFile], before: Mapping[str, ContextFile]) -> bool:
    """Whether two builds' contexts hold the same paths (from the lineage when it can)."""
    if files is before:
        return True
    lineage = isinstance(files, TrackedMap) and isinstance(before, TrackedMap)
    if lineage and files.touched_since(before) is not None:  # type: ignore[union-attr]
        return files.same_paths_as(before)  # type: ignore[union-attr,arg-type]
    return files.keys() == before.keys()


class _ByPaths:
    """A bounded memo of answers that depend on a set of paths (and a key): the last files
    each answer was made for tell, by their lineage, whether a newer build's files hold
    the same paths (so no frozenset of 5,000 paths is built per build)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data: dict[Hashable, tuple[Mapping[str, ContextFile], Any]] = {}

    def get_or_compute(
        self, files: Mapping[str, ContextFile], key: Hashable, compute: Callable[[], Any]
    ) -> Any:
        found = self.data.get(key)
        if found is not None and _same_paths(files, found[0]):
            self.data[key] = (files, found[1])
            return found[1]
        full = (frozenset(files), key)
        hit = self.data.get(full)
        if hit is None:
            if len(self.data) >= self.limit:
                self.data.clear()
            hit = (files, compute())
            self.data[full] = hit
        self.data[key] = (files, hit[1])
        return hit[1]


def tree(files: Mapping[str, ContextFile], rules: IgnoreRules) -> ContextTree:
    """``ContextTree.build(files, rules)``, built once per distinct set of paths and rules."""
    return _TREES.get_or_compute(files, rules, lambda: ContextTree.build(frozenset(files), rules))


def excluded(files: Mapping[str, ContextFile], context_tree: ContextTree) -> frozenset[str]:
    """The context's files that ``.dockerignore`` keeps out of ``context_tree`` (once per
    tree and set of paths)."""
    return _EXCLUDED.get_or_compute(
        files, context_tree, lambda: frozenset(files.keys() - context_tree.files)
    )


def kept(files: Mapping[str, ContextFile], context_tree: ContextTree) -> tuple[str, ...]:
    """The context's files that ``context_tree`` keeps (what COPY can see), in the files'
    order, once per tree and set of paths."""
    return _KEPT.get_or_compute(
        files, context_tree, lambda: tuple(p for p in files if p in context_tree.files)
    )


def placement_of(context_tree: ContextTree, key: tuple, compute: Callable[[], Any]) -> Any:
    """A COPY's selections and destination pairs, computed once per tree and ``key``."""
    return _PLACEMENTS.get_or_compute((context_tree, key), compute)


class _Memo:
    """A bounded dict memo (cleared when full: builds of one scenario reuse few keys)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data: dict[Hashable, Any] = {}

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        try:
            return self.data[key]
        except KeyError:
            pass
        if len(self.data) >= self.limit:
            self.data.clear()
        value = self.data[key] = compute()
        return value


_TREES = _ByPaths(64)
_PLACEMENTS = _Memo(1024)
_EXCLUDED = _ByPaths(64)
_KEPT = _ByPaths(64)
_SELECTIONS: dict[tuple[str, ...], _Selected] = {}
_MAX_SELECTIONS = 256


@dataclass(frozen=True, slots=True)
class _Selected:
    """What ``selected`` last answered for one tuple of paths: the files it was given, the
    ones it read, where each path sits in the tuple, the digests and the total size."""

    files: Mapping[str, ContextFile]
    seen: list[ContextFile]
    positions: dict[str, int]
    digests: DigestMap
    size: int


def selected(files: Mapping[str, ContextFile], paths: tuple[str, ...]) -> tuple[DigestMap, int]:
    """``{path: file_digest(files[path])}`` as a ``DigestMap``, and the files' total size,
    recomputing only the files whose ``ContextFile`` is not the same object as last time
    (the scenario replay shares unchanged ones between builds). The map descends from the
    previous one, so keys and explanations built on it cost what changed."""
    last = _SELECTIONS.get(paths)
    if last is None:
        if len(_SELECTIONS) >= _MAX_SELECTIONS:
            _SELECTIONS.clear()
        now = list(map(files.__getitem__, paths))
        made = DigestMap(zip(paths, map(file_digest, now), strict=True))  # type: ignore[arg-type]
        size = sum(len(f.content) for f in now)
        positions = {p: i for i, p in enumerate(paths)}
        _SELECTIONS[paths] = _Selected(files, now, positions, made, size)
        return made, size
    if last.files is files and isinstance(files, TrackedMap):  # immutable: the same answer
        return last.digests, last.size
    touched = (
        files.touched_since(last.files)
        if isinstance(files, TrackedMap) and isinstance(last.files, TrackedMap)
        else None
    )
    if touched is None:
        now = list(map(files.__getitem__, paths))
        changed = list(itertools.compress(range(len(now)), map(operator.is_not, now, last.seen)))
    else:  # only the touched paths can hold other objects
        at = [last.positions[p] for p in touched if p in last.positions]
        changed = sorted(i for i in at if files[paths[i]] is not last.seen[i])
        now = last.seen
        if changed:
            now = list(now)
            for i in changed:
                now[i] = files[paths[i]]
    made = last.digests.updated({paths[i]: file_digest(now[i]) for i in changed})
    size = last.size + sum(len(now[i].content) - len(last.seen[i].content) for i in changed)
    _SELECTIONS[paths] = _Selected(files, now, last.positions, made, size)
    return made, size


@dataclass(frozen=True, slots=True)
class _Placed:
    digests: DigestMap
    placed: DigestMap
    wheres: dict[str, list[str]]  # context path -> where the COPY puts it


_PLACED: dict[tuple[tuple[str, str], ...], _Placed] = {}


def placed(pairs: tuple[tuple[str, str], ...], digests: DigestMap) -> DigestMap:
    """``{where: digests[ctx] for ctx, where in pairs}``: where a COPY puts each selected
    file's digest, updated from the last answer for these pairs by what changed."""
    last = _PLACED.get(pairs)
    if last is not None and last.digests is digests:
        return last.placed
    changed = digests.differing(last.digests) if last is not None else None
    if last is None or changed is None or len(changed) * 8 > len(pairs):
        if len(_PLACED) >= _MAX_SELECTIONS:
            _PLACED.clear()
        wheres: dict[str, list[str]] = {}
        for ctx, where in pairs:
            wheres.setdefault(ctx, []).append(where)
        made = DigestMap({where: digests[ctx] for ctx, where in pairs})
        _PLACED[pairs] = _Placed(digests, made, wheres)
        return made
    made = last.placed.updated({w: digests[c] for c in changed for w in last.wheres.get(c, ())})
    _PLACED[pairs] = _Placed(digests, made, last.wheres)
    return made
