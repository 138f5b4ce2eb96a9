"""Selections that cost what changed, not what the context holds.

A scenario of 200 builds over a 5,000-file context used to rebuild the context tree and
every COPY's selection from scratch in each build (and the cost model did it again): 44 s.
Between two builds an edit changes file *contents*, almost never the *set* of paths, and
what a COPY source selects depends only on the set of paths and the .dockerignore rules.
So three memos, each keyed by exactly what its answer depends on:

* ``tree(files, rules)``: the ``ContextTree`` for a set of paths and rules (same set and
  rules: the very same tree object, so the memos below hit by identity);
* ``placement(...)``: a COPY's selections and destination pairs for a tree and the
  instruction's sources, destination and flags;
* ``digests(files, paths)``: the digest of each selected file, updated incrementally: a
  path whose ``ContextFile`` is the same object as last time keeps its digest (the
  scenario replay shares unchanged ``ContextFile`` objects between builds).

Each memo is bounded; a miss computes exactly what the code did before, so the memos
change no answer, only its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from cachesim.context.dockerignore import IgnoreRules
from cachesim.context.selection import ContextTree
from cachesim.context.snapshot import file_digest
from cachesim.context.workspace import ContextFile

_TREES: dict[tuple[frozenset[str], IgnoreRules], ContextTree] = {}
_MAX_TREES = 64


def tree(files: Mapping[str, ContextFile], rules: IgnoreRules) -> ContextTree:
    """``ContextTree.build(files, rules)``, built once per distinct set of paths and rules."""
    key = (frozenset(files), rules)
    found = _TREES.get(key)
    if found is None:
        if len(_TREES) >= _MAX_TREES:
            _TREES.clear()
        found = _TREES[key] = ContextTree.build(key[0], rules)
    return found


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


_PLACEMENTS = _Memo(1024)
_DIGESTS: dict[tuple[str, ...], tuple[dict[str, ContextFile], dict[str, str]]] = {}
_MAX_DIGEST_SETS = 256


def digests(files: Mapping[str, ContextFile], paths: tuple[str, ...]) -> dict[str, str]:
    """``{path: file_digest(files[path])}``, recomputing only files that changed object."""
    last = _DIGESTS.get(paths)
    if last is None:
        if len(_DIGESTS) >= _MAX_DIGEST_SETS:
            _DIGESTS.clear()
        seen = {p: files[p] for p in paths}
        result = {p: file_digest(f) for p, f in seen.items()}
        _DIGESTS[paths] = (seen, result)
        return dict(result)
    seen, result = last
    changed = [p for p in paths if files[p] is not seen[p]]
    if changed:
        seen = dict(seen)
        result = dict(result)
        for p in changed:
            seen[p] = files[p]
            result[p] = file_digest(files[p])
        _DIGESTS[paths] = (seen, result)
    return dict(result)
