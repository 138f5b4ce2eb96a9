"""A ``path -> digest`` map that remembers which map it was derived from, and how.

A COPY's cache key holds the digest of every file it selects, and the simulator used to
re-encode (and sort) all of them for every build, then compare them with every earlier
build's to explain a miss: with a 5,000-file ``COPY . .`` that was most of a build's cost,
though an edit changes one file (issue 9). A ``DigestMap`` is an immutable mapping that
keeps, besides its entries, the map it came from (``origin``) and the paths whose entry
differs from it (``delta``). So:

* its canonical JSON (``json_object``, ``json_items``: byte for byte what ``json.dumps``
  gives the sorted dict, or the sorted list of items) is the origin's with the changed
  entries replaced, not a new encoding of every entry;
* the paths where two maps of one lineage differ (``differing``) are found from the deltas
  between them, not by comparing every entry.

It is a plain ``Mapping`` otherwise; equality is by entries, as for a dict.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import encode_basestring_ascii as json_string
from typing import TypeVar

V = TypeVar("V")

_MISSING = object()
_LINEAGE_STEPS = 64  # how far ``differing`` follows origins before comparing every entry
_WARM = 32  # how many maps keep their sorted encodings (the rest re-encode if asked again)


class TrackedMap(Mapping[str, V]):
    """An immutable mapping that knows the map it was derived from and the paths where
    the two differ: two maps of one lineage compare by their deltas."""

    __slots__ = ("__weakref__", "_data", "_delta", "_origin_ref")

    def __init__(
        self,
        data: Mapping[str, V] | Iterable[tuple[str, V]] = (),
        origin: TrackedMap[V] | None = None,
        delta: Iterable[str] = (),
    ):
        """``data`` is copied; with ``origin``, ``delta`` names every path where ``data``
        and ``origin`` differ (an entry changed, added or gone)."""
        self._set(dict(data), origin, delta)

    def _set(self, data: dict[str, V], origin: TrackedMap[V] | None, delta: Iterable[str]) -> None:
        self._data = data
        # weak: a lineage never keeps an old map alive (a long replay's memory stays flat);
        # while the old map lives elsewhere (a cached step's definition), the link holds
        self._origin_ref = weakref.ref(origin) if origin is not None else None
        self._delta = frozenset(delta) if origin is not None else frozenset()

    @property
    def _origin(self) -> TrackedMap[V] | None:
        return self._origin_ref() if self._origin_ref is not None else None

    @classmethod
    def _adopt(cls, data: dict[str, V], origin: TrackedMap[V] | None, delta: Iterable[str]):
        """A map over ``data`` (not copied) derived from ``origin``."""
        made = cls.__new__(cls)
        made._set(data, origin, delta)
        return made

    def updated(self, changes: Mapping[str, V | None]):
        """This map with ``changes`` applied (``None``: the path is gone); ``self`` when
        nothing actually changes. Paths already here keep their place in the order."""
        delta = [p for p, v in changes.items() if self._data.get(p) != v]
        if not delta:
            return self
        data = dict(self._data)
        for path in delta:
            value = changes[path]
            if value is None:
                data.pop(path, None)
            else:
                data[path] = value
        return self._adopt(data, self, delta)

    def merged_over(self, below: Mapping[str, V]):
        """``{**below, **self}`` (this map's entries win), kept as a descendant of whichever
        of the two holds more entries, so a big copy over a few files stays incremental."""
        data = {**below, **self._data}
        if isinstance(below, type(self)) and len(below) > len(self._data):
            return self._adopt(data, below, [p for p in self._data if below.get(p) != data[p]])
        return self._adopt(data, self, [p for p in below if p not in self._data])

    # -- a Mapping ------------------------------------------------------------------------
    def __getitem__(self, path: str) -> V:
        return self._data[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, path: object) -> bool:
        return path in self._data

    def get(self, path: str, default=None):  # type: ignore[override]
        return self._data.get(path, default)

    def keys(self):  # type: ignore[override]
        return self._data.keys()

    def items(self):  # type: ignore[override]
        return self._data.items()

    def values(self):  # type: ignore[override]
        return self._data.values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TrackedMap):
            return self is other or self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self):
        return (type(self), (self._data,))

    # -- what differs from another map ----------------------------------------------------
    def differing(self, other: Mapping[str, V]) -> set[str]:
        """The paths whose entry differs between this map and ``other`` (changed, or in
        one only); from the deltas when one map descends from the other, else entry by
        entry."""
        candidates = self.touched_since(other) if isinstance(other, TrackedMap) else None
        if candidates is None:
            candidates = self._data.keys() | other.keys()
        mine, theirs = self._data, other
        return {p for p in candidates if mine.get(p, _MISSING) != theirs.get(p, _MISSING)}

    def touched_since(self, other: TrackedMap[V]) -> set[str] | None:
        """Every path touched on the way from one map to the other (a superset of those
        that differ), if one is an ancestor of the other within ``_LINEAGE_STEPS``; else
        None. Outside it, entries are the very same objects in both."""
        for young, old in ((self, other), (other, self)):
            touched: set[str] = set()
            node: TrackedMap[V] | None = young
            for _ in range(_LINEAGE_STEPS):
                if node is None:
                    break
                if node is old:
                    return touched
                touched |= node._delta
                node = node._origin
        return None

    def same_paths_as(self, other: TrackedMap[V]) -> bool:
        """Whether the two hold the same paths, known from the lineage alone (False when
        it cannot tell cheaply)."""
        touched = self.touched_since(other)
        return touched is not None and all((p in self._data) == (p in other) for p in touched)


class DigestMap(TrackedMap[str]):
    """An immutable ``{path: digest}`` with its lineage and its canonical JSON, kept by edit."""

    __slots__ = ("_parts",)

    def _set(self, data, origin, delta) -> None:  # type: ignore[no-untyped-def]
        super()._set(data, origin, delta)
        self._parts: dict[str, tuple[list[str], list[str]]] | None = None

    # -- canonical JSON -------------------------------------------------------------------
    def json_object(self) -> str:
        """``json.dumps(dict(self), sort_keys=True, separators=(",", ":"))``."""
        return "{" + ",".join(self._sorted_parts("object")[1]) + "}"

    def json_items(self) -> str:
        """``json.dumps(sorted(self.items()), separators=(",", ":"))``."""
        return "[" + ",".join(self._sorted_parts("items")[1]) + "]"

    def _sorted_parts(self, form: str, depth: int = 0) -> tuple[list[str], list[str]]:
        """The sorted paths and each entry's encoding in ``form``: the origin's with the
        delta applied (the origin's computed first, ``_LINEAGE_STEPS`` deep at most), or
        everything encoded anew. A map with no delta shares its origin's lists; a map
        with one takes them over (the origin forgets them: a lineage is asked newest
        first, and one copy of 5,000 entries a lineage is enough)."""
        if self._parts is not None and form in self._parts:
            return self._parts[form]
        origin = self._origin
        if origin is not None and depth < _LINEAGE_STEPS and len(self._delta) * 8 < len(self._data):
            found = origin._sorted_parts(form, depth + 1)
            if not self._delta:
                return found
            paths, parts = found
            if origin._parts is not None and origin._parts.get(form) is found:
                del origin._parts[form]  # taken over: changed in place below
            else:  # another map's lists: copy
                paths, parts = list(paths), list(parts)
            for path in sorted(self._delta):
                _apply(paths, parts, path, self._data.get(path), form)  # type: ignore[arg-type]
        else:
            paths = sorted(self._data)
            parts = [_entry(p, self._data[p], form) for p in paths]
        if self._parts is None:
            self._parts = {}
            _keep_warm(self)
        self._parts[form] = (paths, parts)
        return paths, parts


def track(data: dict[str, V], last: TrackedMap[V] | None) -> TrackedMap[V]:
    """``data`` (taken, not copied: the caller hands it over) as a map derived from
    ``last``: the delta is every path whose value is not the very same object there (one
    pass, instead of one per reader)."""
    if last is None:
        return TrackedMap._adopt(data, None, ())  # type: ignore[arg-type]
    before = last._data
    # one pass: a path new here gets None from ``before``, which is never a value
    changed = map(operator.is_not, data.values(), map(before.get, data.keys()))
    delta = list(itertools.compress(data.keys(), changed))
    added = sum(1 for p in delta if p not in before)
    if len(data) - added != len(before):  # some paths are gone too
        delta += list(before.keys() - data.keys())
    return TrackedMap._adopt(data, last, delta)


def frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    """A mapping no one can change later: a ``DigestMap`` as it is, else a copy."""
    return mapping if isinstance(mapping, DigestMap) else dict(mapping)


def _entry(path: str, value: str, form: str) -> str:
    if form == "object":
        return f"{json_string(path)}:{json_string(value)}"
    return f"[{json_string(path)},{json_string(value)}]"


def _apply(paths: list[str], parts: list[str], path: str, value: str | None, form: str) -> None:
    """Put one changed entry in its sorted place (or take it out)."""
    at = bisect.bisect_left(paths, path)
    present = at < len(paths) and paths[at] == path
    if value is None:
        if present:
            del paths[at], parts[at]
    elif present:
        parts[at] = _entry(path, value, form)
    else:
        paths.insert(at, path)
        parts.insert(at, _entry(path, value, form))


_WARM_MAPS: deque[DigestMap] = deque()


def _keep_warm(made: DigestMap) -> None:
    """Only the last few maps keep their encodings: a long replay's memory stays flat."""
    _WARM_MAPS.append(made)
    if len(_WARM_MAPS) > _WARM:
        _WARM_MAPS.popleft()._parts = None
