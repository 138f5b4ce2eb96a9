"""Why a step was built, in words a learner understands.

The builder itself never says why it missed the cache (moby/moby#21913,
moby/buildkit#2567). The simulator can: a miss means no stored result has this step's key,
so it compares the step's definition with the results stored after the *same* parent step
(the ones the builder could have reused) and names what differs: a file, a build argument,
an ENV value, the command text. When the parent itself was rebuilt, that is the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from cachesim.builders.cache import Record
from cachesim.context.digestmap import DigestMap

MAX_NAMED = 3
COPIED_CHANGED = "the files it copies from that stage changed"
# After the reason of a `COPY --from` that takes output of a RUN cachesim cannot read: the
# builder reuses the copy when the files come out the same (seen on Docker 20.10 and 28.5,
# BuildKit and the classic builder: docs/engine-findings.md section 23), which cachesim
# can only know from a scenario's `runs:`.
UNREAD_HINT = (
    " (the copy is keyed by the copied files' content, so the engine reuses it if they come"
    " out byte-identical; a scenario's `runs:` entry with `reads:` tells cachesim what the"
    " RUN reads)"
)


def _quote(value: object) -> str:
    return "unset" if value is None else f"'{value}'"


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    rest = len(items) - MAX_NAMED
    return f"{shown} and {rest} more" if rest > 0 else shown


# Paths the simulator records for inputs that are not context files: a learner sees them
# summed up as "the files it copies from that stage changed", never by these names.
HIDDEN = ("<written by RUN>", "<from the base image>")
DOWNLOADED = "<downloaded "


def _checksum(entry: str) -> str:
    """A file's entry is ``CHECKSUM:MODE``; the part before the colon is its content."""
    return entry.split(":")[0]


def _mode(entry: str) -> str:
    return entry.split(":")[-1]


def _compared(
    old: Mapping[str, str], new: Mapping[str, str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(content changed, only permissions changed, added, removed), each sorted by path.
    Only the paths whose entries differ are looked at: two builds' selections of one COPY
    differ by the edits between them (``DigestMap.differing``), not by the whole context."""
    differing = sorted(_differing(old, new))
    changed = [p for p in differing if p in old and p in new]
    content = [p for p in changed if _checksum(old[p]) != _checksum(new[p])]
    modes = [p for p in changed if p not in content]
    added = [p for p in differing if p not in old]
    removed = [p for p in differing if p not in new]
    return content, modes, added, removed


def _differing(old: Mapping[str, str], new: Mapping[str, str]) -> set[str]:
    """The paths in one map only, or in both with other entries."""
    if isinstance(new, DigestMap):
        return new.differing(old)
    if isinstance(old, DigestMap):
        return old.differing(new)
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


def _renamed(
    old: Mapping[str, str], new: Mapping[str, str], added: list[str], removed: list[str]
) -> list[str]:
    """Name a removed file whose content came back under a new path as a rename (a path is
    part of BuildKit's checksum, so a rename alone misses). Takes the pair out of ``added``
    and ``removed`` so it is not named twice."""
    out = []
    renamed: list[tuple[str, str]] = []
    for a in added:  # each removed path pairs with one added path at most
        was = next((r for r in removed if old[r] == new[a] and r not in dict(renamed)), None)
        if was is not None:
            renamed.append((was, a))
    for was, now in renamed[:MAX_NAMED]:
        out.append(f"{was} was renamed to {now} (a path is part of the checksum)")
        added.remove(now)
        removed.remove(was)
    return out


def _visible(paths: list[str]) -> list[str]:
    return [p for p in paths if p not in HIDDEN]


def _downloaded(path: str) -> str:
    name = path.removeprefix(DOWNLOADED).removesuffix(">")
    return f"the file it downloads ({name}) came back with other content"


def _content_changed(content: list[str]) -> list[str]:
    """Changed files; a COPY that takes in the Dockerfile or .dockerignore itself misses on
    every edit of them, which the learner can fix, so say how."""
    if not content:
        return []
    verb = "changed" if len(content) == 1 else f"changed ({len(content)} files)"
    out = [f"{_named(content)} {verb}"]
    own = [p for p in content if p in ("Dockerfile", ".dockerignore")]
    if own:
        out.append(f"COPY copies the {own[0]} too: list it in .dockerignore to keep it out")
    return out


def _modes_changed(modes: list[str], old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Permission changes: the old and new mode when one file changed, else just the names."""
    if not modes:
        return []
    if len(modes) > 1:
        return [f"permissions of {_named(modes)} changed"]
    path = modes[0]
    return [f"permissions of {path} changed ({_mode(old[path])} -> {_mode(new[path])})"]


def _added(added: list[str]) -> list[str]:
    if not added:
        return []
    noun = "new file" if len(added) == 1 else f"{len(added)} new files"
    return [f"{noun}: {_named(added)}"]


def _removed(removed: list[str], ignored: frozenset[str]) -> list[str]:
    """Files gone from the copy: those still in the context but excluded by .dockerignore now
    are named for that reason, the others as removed."""
    out = []
    now_ignored = [p for p in removed if p in ignored]
    gone = [p for p in removed if p not in ignored]
    if now_ignored:
        verb = "is" if len(now_ignored) == 1 else "are"
        out.append(f"{_named(now_ignored)} {verb} now excluded by .dockerignore")
    if gone:
        noun = "file removed" if len(gone) == 1 else f"{len(gone)} files removed"
        out.append(f"{noun}: {_named(gone)}")
    return out


def _files(
    old: Mapping[str, str], new: Mapping[str, str], ignored: frozenset[str] = frozenset()
) -> list[str]:
    """What changed among the files a step takes in (``PATH -> CHECKSUM:MODE``), most telling
    first: renames, files from another stage, downloads, contents, permissions, new files,
    files gone."""
    content, modes, added, removed = _compared(old, new)
    out = _renamed(old, new, added, removed)
    if any(p in HIDDEN for p in content + added + removed):
        out.append(COPIED_CHANGED)
        content, added, removed = _visible(content), _visible(added), _visible(removed)
    fetched = [p for p in content if p.startswith(DOWNLOADED)]
    out += [_downloaded(p) for p in fetched]
    content = [p for p in content if p not in fetched]
    return [
        *out,
        *_content_changed(content),
        *_modes_changed(modes, old, new),
        *_added(added),
        *_removed(removed, ignored),
    ]


def _mounted(files: Mapping[str, str]) -> dict[str, str]:
    """A bind mount's files (keyed ``TARGET:PATH`` in the definition) named by their path,
    with the target only where it differs: ``uv.lock``, ``go.sum (mounted at /src/go.sum)``."""
    out = {}
    for key, value in files.items():
        target, _, path = key.partition(":")
        same = target.strip("/") == path or target.rstrip("/").endswith("/" + path)
        out[path if same or not path else f"{path} (mounted at {target})"] = value
    return out


@functools.lru_cache(maxsize=8)
def _mounted_ignored(ignored: frozenset[str]) -> frozenset[str]:
    """The ignored files as a bind mount's files are named (computed once per build's set,
    not once per record compared)."""
    return frozenset(_mounted({f"x:{p}": "" for p in ignored}))


def _mapping(label: str, old: Mapping, new: Mapping) -> list[str]:
    out = []
    for name in list(dict.fromkeys([*old, *new])):
        if old.get(name) != new.get(name):
            out.append(
                f"{label} {name} changed ({_quote(old.get(name))} -> {_quote(new.get(name))})"
            )
    return out


def _part(definition: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A mapping-valued part of a definition (files, args, env), empty when absent."""
    return definition.get(key) or {}


def _settings(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    out = []
    for key, label in (("user", "USER"), ("workdir", "working directory")):
        if old.get(key) != new.get(key):
            out.append(f"{label} changed ({_quote(old.get(key))} -> {_quote(new.get(key))})")
    return out


def _subtle(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    """When nothing the learner wrote differs, the key changed for a reason the Dockerfile
    does not show; name the first such reason, or at last the raw field that differs."""
    if old.get("prefix") != new.get("prefix"):
        return [
            "a build argument is now in effect or no longer is (the classic builder "
            "marks each RUN with the build args in effect, proxy args included)"
        ]
    if old.get("command") != new.get("command"):
        return ["the command changed (a heredoc body or an expanded value)"]
    keys = sorted(k for k in set(old) | set(new) if not k.startswith("_"))
    return [f"its {key} changed" for key in keys if old.get(key) != new.get(key)]


def differences(
    old: Mapping[str, Any], new: Mapping[str, Any], ignored: frozenset[str] = frozenset()
) -> list[str]:
    """What differs between two step definitions, most telling first. ``ignored``: the
    context files .dockerignore excludes in the new build (a file gone from a COPY for
    that reason is named so, not as removed)."""
    out: list[str] = []
    if old.get("text") != new.get("text"):
        out.append(f"the instruction changed (was `{old.get('text')}`)")
    out += _files(_part(old, "files"), _part(new, "files"), ignored)
    out += _files(
        _mounted(_part(old, "mount_files")),
        _mounted(_part(new, "mount_files")),
        _mounted_ignored(ignored),
    )
    if new.get("_why") and COPIED_CHANGED in out:
        hint = UNREAD_HINT if new.get("_unread") else ""
        out[out.index(COPIED_CHANGED)] = f"{COPIED_CHANGED}: {new['_why']}{hint}"
    out += _mapping("build argument", _part(old, "args"), _part(new, "args"))
    out += _mapping("ENV", _part(old, "env"), _part(new, "env"))
    out += _settings(old, new)
    return out or _subtle(old, new)


def explain_miss(
    definition: Mapping[str, Any],
    siblings: Sequence[Record],
    *,
    first_build: bool,
    pruned: bool,
    ignored: frozenset[str] = frozenset(),
) -> str:
    """The reason for a miss whose parent step came from the cache (or is the base)."""
    if not siblings:
        if pruned:
            return "the build cache was pruned: nothing to reuse"
        if first_build:
            return "no earlier build: the cache is empty"
        return "no earlier build went past the step above it, so nothing follows it in the cache"
    keyword = definition.get("keyword")
    same_kind = [r for r in siblings if r.keyword == keyword]
    if not same_kind:
        return "new step: no earlier build ran this instruction here"
    best, found = _nearest(same_kind, definition, ignored)
    if best.definition.get("text") != definition.get("text"):
        was = best.definition.get("text")
        return (
            f"the instruction is new or changed (after the same step, the cache only has `{was}`)"
        )
    return "; ".join(found) if found else "its inputs changed"


def _nearest(
    records: Sequence[Record], definition: Mapping[str, Any], ignored: frozenset[str]
) -> tuple[Record, list[str]]:
    """The first record (most recent first) with the fewest differences, and them.

    A record here has the same parent and another key, so at least one field of its key
    differs and ``differences`` names at least one thing: the first record with a single
    difference is the nearest, and the older ones need not be compared (a long history
    would make every miss compare with every build before it)."""
    best, found = records[0], differences(records[0].definition, definition, ignored)
    for record in records[1:]:
        if len(found) <= 1:
            break
        theirs = differences(record.definition, definition, ignored)
        if len(theirs) < len(found):
            best, found = record, theirs
    return best, found


def explain_parent(parent_instruction: str, parent_line: int) -> str:
    return f"the step above it was built (line {parent_line}: {parent_instruction})"
