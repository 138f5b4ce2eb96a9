"""A step's definition: what its cache key is made of, as one frozen value per kind of step.

BuildKit keys a step by its operation's definition (``ExecOp`` for RUN, ``FileOp`` for COPY,
ADD and WORKDIR) plus the checksum of the content it reads; the classic builder by the
instruction it commits plus the checksum of a COPY's files. Each class below holds the
fields a builder puts in that key, and also a few that are *not* in it but that the log
and the explanations need (the text as written, its line, a note on why copied files came
out as they did). Every field says which it is: ``key()`` digests only the key's fields,
so moving a step to another line or changing how cachesim explains it can never change
whether the builder reuses it (docs/cache-rules.md; Docker docs, "Build cache
invalidation": COPY/ADD are keyed on the files' contents and metadata, not their mtime;
RUN on its command string).

A definition is also a read-only ``Mapping`` by the names the explanations compare
(``from``, ``files``, ``_why``...), so ``explain.differences`` can list what changed
between two of them without knowing their kinds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from json.encoder import encode_basestring_ascii as json_string
from typing import ClassVar

from cachesim.context.digestmap import DigestMap

NOT_IN_KEY = {"in_key": False}
"""Field metadata: this field is shown or explained, but the cache key does not hold it."""


def _hidden(name: str = "") -> dict[str, object]:
    """A field left out of the key; ``name`` is its name in the mapping view."""
    return {**NOT_IN_KEY, "name": name} if name else NOT_IN_KEY


def canonical_digest(value: object) -> str:
    """The digest of a JSON value, keys sorted, no whitespace: equal values, equal digests."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:32]


def canonical_json(value: object) -> str:
    """The value as JSON, keys sorted, no whitespace (what ``json.dumps(value,
    sort_keys=True, separators=(",", ":"))`` gives once tuples are lists and keys strings).
    Tuples and mappings become JSON lists and objects; anything not JSON is an error (no
    silent ``str()``: a key must never depend on how some object happens to print). Written
    out so that a ``DigestMap`` (thousands of selected files) brings its own encoding, kept up
    to date edit by edit, instead of being converted and sorted again (issue 9)."""
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, DigestMap):
        return value.json_object()
    if isinstance(value, SortedItems):
        return value.json()
    if isinstance(value, Mapping):
        named = {str(k): v for k, v in value.items()}
        entries = (f"{json_string(k)}:{canonical_json(named[k])}" for k in sorted(named))
        return "{" + ",".join(entries) + "}"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(map(canonical_json, value)) + "]"
    if value is None or isinstance(value, (int, bool, float)):
        return json.dumps(value)
    raise TypeError(f"not part of a cache key: {value!r}")


@dataclass(frozen=True, slots=True)
class SortedItems:
    """A mapping's items in path order as a key part: ``sorted(mapping.items())``, without
    sorting and encoding a ``DigestMap`` again."""

    mapping: Mapping[str, str]

    def json(self) -> str:
        if isinstance(self.mapping, DigestMap):
            return self.mapping.json_items()
        return canonical_json(sorted(self.mapping.items()))


@dataclass(frozen=True, kw_only=True)
class Definition(Mapping[str, object]):
    """What every definition has: the keyword (in the key), the text and line (not)."""

    KIND: ClassVar[str] = ""

    keyword: str
    text: str = field(default="", metadata=_hidden())
    line: int = field(default=0, metadata=_hidden())

    def key_fields(self) -> dict[str, object]:
        """The fields the cache key holds, by their mapping names (None: not set)."""
        return {
            _name(f): getattr(self, f.name)
            for f in fields(self)
            if f.metadata.get("in_key", True) and getattr(self, f.name) is not None
        }

    def key(self) -> str:
        """The digest of the key's fields only (the parent step's key is added by the walk);
        computed once (a definition is frozen)."""
        found = self.__dict__.get("_key")
        if found is None:
            found = canonical_digest(self.key_fields())
            object.__setattr__(self, "_key", found)
        return found

    def _view(self) -> dict[str, object]:
        """The mapping view, made once (the explanations read it field by field)."""
        found = self.__dict__.get("_mapping")
        if found is None:
            found = self._fields_view()
            object.__setattr__(self, "_mapping", found)
        return found

    def _fields_view(self) -> dict[str, object]:
        return {
            _name(f): getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None
            and (f.metadata.get("in_key", True) or _shown(getattr(self, f.name)))
        }

    def __getitem__(self, name: str) -> object:
        return self._view()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())


def _shown(value: object) -> bool:
    """A field left out of the key shows in the mapping view only when it says something."""
    return value != "" and value is not False


def _name(f: Field[object]) -> str:
    """A field's name in the mapping view (``origin`` is ``from``, ``why`` is ``_why``)."""
    return f.metadata.get("name") or f.name


Mounted = tuple[str, str, str, str, str, bool, tuple[tuple[str, str], ...]]
"""A RUN mount in the key: type, target, id, sharing, source, read-only, other options."""


@dataclass(frozen=True, kw_only=True)
class RunDefinition(Definition):
    """A RUN: its command, environment, user, folder, network and mounts (BuildKit's
    ExecOp), plus the content a bind mount reads. ``prefix`` is the classic builder's
    ``|N`` mark of the build args in effect (None for BuildKit)."""

    command: tuple[str, ...]
    env: Mapping[str, str]
    args: Mapping[str, str]
    user: str
    workdir: str
    network: str
    mounts: tuple[Mounted, ...] = ()
    mount_files: Mapping[str, str] = field(default_factory=dict)
    prefix: str | None = None
    fails: str = field(default="", metadata=_hidden("_fails"))  # the engine's words, if it fails


@dataclass(frozen=True, kw_only=True)
class CopyDefinition(Definition):
    """A COPY or ADD: sources, destination, owner, mode and the checksum of every file it
    selects (content and permission bits, not mtime). ``exclude`` is None when the
    builder ignores ``--exclude`` or none was given."""

    sources: tuple[str, ...]
    dest: str
    origin: str = field(metadata={"name": "from"})  # context, heredoc, stage X, image Y
    chown: str
    chmod: str
    files: Mapping[str, str]
    exclude: tuple[str, ...] | None = None
    why: str = field(default="", metadata=_hidden("_why"))  # how copied RUN output came out
    same: str = field(default="", metadata=_hidden("_same"))  # the stage re-ran, same files
    # it copies output of a RUN cachesim cannot read (the explanation says what would help)
    unread: bool = field(default=False, metadata=_hidden("_unread"))


@dataclass(frozen=True, kw_only=True)
class WorkdirDefinition(Definition):
    """A WORKDIR: the path and the user who owns the folder it makes."""

    path: str
    user: str


@dataclass(frozen=True, kw_only=True)
class ArgDefinition(Definition):
    """The classic builder's ``ARG`` step: only ``ARG NAME[=default]`` as written, not the
    value given (docs/cache-rules.md: the value reaches the RUNs after it instead)."""

    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MetadataDefinition(Definition):
    """The classic builder's ENV, LABEL, USER, CMD...: it compares the whole image config,
    so the expanded words and the flags are the key."""

    values: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FromDefinition(Definition):
    """A FROM of an image: the image (its name, normalised) and the version of it the
    build pulls, so a newly published digest is a new key (docs/cache-rules.md K15)."""

    image: str
    version: int

