"""The build cache: every step result of every earlier build, by cache key.

Like BuildKit's cache (and the classic builder's image store), it forgets nothing between
builds of a scenario unless pruned, which is why reverting a file finds the old result
again. A key is a digest of the parent step's key and the step's definition (``digest``);
the definition itself is kept too, so an explanation can compare a miss with the
nearest earlier result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cachesim.builders.definitions import canonical_digest


def digest(*parts: object) -> str:
    """A stable digest of JSON parts (dict keys sorted; anything not JSON is an error)."""
    return canonical_digest(parts)


@dataclass(frozen=True, slots=True)
class Record:
    """One cached step result."""

    key: str
    parent: str | None
    keyword: str
    definition: Mapping[str, object]  # a Definition: what the key was made of (minus the parent)
    build: int  # the build number that stored it
    stage: str
    line: int


class BuildCache:
    """A mutable store of ``Record``s: the one object that lives across builds."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._children: dict[str | None, list[str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> Record | None:
        return self._records.get(key)

    def put(self, record: Record) -> None:
        if record.key not in self._records:
            self._children.setdefault(record.parent, []).append(record.key)
        self._records[record.key] = record

    def siblings(self, parent: str | None) -> list[Record]:
        """Results stored after the same parent step, most recent first."""
        found = [self._records[k] for k in self._children.get(parent, ())]
        return sorted(found, key=lambda r: r.build, reverse=True)

    def remove(self, key: str) -> None:
        """Forget one result (a step the engine cancelled before it finished)."""
        record = self._records.pop(key, None)
        if record is not None:
            self._children[record.parent].remove(key)

    def prune(self) -> None:
        """``docker builder prune -af``: forget everything."""
        self._records.clear()
        self._children.clear()
