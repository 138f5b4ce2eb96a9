"""Why a step was built, in words a learner understands.

The builder itself never says why it missed the cache (moby/moby#21913,
moby/buildkit#2567). The simulator can: a miss means no stored result has this step's key,
so it compares the step's definition with the results stored after the *same* parent step
(the ones the builder could have reused) and names what differs: a file, a build argument,
an ENV value, the command text. When the parent itself was rebuilt, that is the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cachesim.builders.cache import Record

MAX_NAMED = 3
COPIED_CHANGED = "the files it copies from that stage changed"


def _quote(value: Any) -> str:
    return "unset" if value is None else f"'{value}'"


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    rest = len(items) - MAX_NAMED
    return f"{shown} and {rest} more" if rest > 0 else shown


def _files(
    old: Mapping[str, str], new: Mapping[str, str], ignored: frozenset[str] = frozenset()
) -> list[str]:
    changed = sorted(p for p in new if p in old and old[p] != new[p])
    content = [p for p in changed if old[p].split(":")[0] != new[p].split(":")[0]]
    modes = [p for p in changed if p not in content]
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
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
    hidden = ("<written by RUN>", "<from the base image>")
    if any(p in hidden for p in content + added + removed):
        out.append(COPIED_CHANGED)
        content = [p for p in content if p not in hidden]
        added = [p for p in added if p not in hidden]
        removed = [p for p in removed if p not in hidden]
    fetched = [p for p in content if p.startswith("<downloaded ")]
    for path in fetched:
        name = path.removeprefix("<downloaded ").removesuffix(">")
        out.append(f"the file it downloads ({name}) came back with other content")
    content = [p for p in content if p not in fetched]
    if content:
        verb = "changed" if len(content) == 1 else f"changed ({len(content)} files)"
        out.append(f"{_named(content)} {verb}")
        own = [p for p in content if p in ("Dockerfile", ".dockerignore")]
        if own:
            out.append(f"COPY copies the {own[0]} too: list it in .dockerignore to keep it out")
    if modes:
        path = modes[0]
        if len(modes) == 1:
            old_mode, new_mode = old[path].split(":")[-1], new[path].split(":")[-1]
            out.append(f"permissions of {path} changed ({old_mode} -> {new_mode})")
        else:
            out.append(f"permissions of {_named(modes)} changed")
    if added:
        noun = "new file" if len(added) == 1 else f"{len(added)} new files"
        out.append(f"{noun}: {_named(added)}")
    now_ignored = [p for p in removed if p in ignored]  # still there, but excluded now
    removed = [p for p in removed if p not in ignored]
    if now_ignored:
        verb = "is" if len(now_ignored) == 1 else "are"
        out.append(f"{_named(now_ignored)} {verb} now excluded by .dockerignore")
    if removed:
        noun = "file removed" if len(removed) == 1 else f"{len(removed)} files removed"
        out.append(f"{noun}: {_named(removed)}")
    return out


def _mounted(files: Mapping[str, str]) -> dict[str, str]:
    """A bind mount's files (keyed ``TARGET:PATH`` in the definition) named by their path,
    with the target only where it differs: ``uv.lock``, ``go.sum (mounted at /src/go.sum)``."""
    out = {}
    for key, value in files.items():
        target, _, path = key.partition(":")
        same = target.strip("/") == path or target.rstrip("/").endswith("/" + path)
        out[path if same or not path else f"{path} (mounted at {target})"] = value
    return out


def _mapping(label: str, old: Mapping, new: Mapping) -> list[str]:
    out = []
    for name in list(dict.fromkeys([*old, *new])):
        if old.get(name) != new.get(name):
            out.append(
                f"{label} {name} changed ({_quote(old.get(name))} -> {_quote(new.get(name))})"
            )
    return out


def differences(
    old: Mapping[str, Any], new: Mapping[str, Any], ignored: frozenset[str] = frozenset()
) -> list[str]:
    """What differs between two step definitions, most telling first. ``ignored``: the
    context files .dockerignore excludes in the new build (a file gone from a COPY for
    that reason is named so, not as removed)."""
    out: list[str] = []
    if old.get("text") != new.get("text"):
        out.append(f"the instruction changed (was `{old.get('text')}`)")
    out += _files(old.get("files") or {}, new.get("files") or {}, ignored)
    mounted_ignored = frozenset(_mounted({f"x:{p}": "" for p in ignored}))
    out += _files(
        _mounted(old.get("mount_files") or {}),
        _mounted(new.get("mount_files") or {}),
        mounted_ignored,
    )
    if new.get("_why") and COPIED_CHANGED in out:
        out[out.index(COPIED_CHANGED)] = f"{COPIED_CHANGED}: {new['_why']}"
    out += _mapping("build argument", old.get("args") or {}, new.get("args") or {})
    out += _mapping("ENV", old.get("env") or {}, new.get("env") or {})
    for key, label in (("user", "USER"), ("workdir", "working directory")):
        if old.get(key) != new.get(key):
            out.append(f"{label} changed ({_quote(old.get(key))} -> {_quote(new.get(key))})")
    if not out and old.get("prefix") != new.get("prefix"):
        out.append(
            "a build argument is now in effect or no longer is (the classic builder "
            "marks each RUN with the build args in effect, proxy args included)"
        )
    if not out and old.get("command") != new.get("command"):
        out.append("the command changed (a heredoc body or an expanded value)")
    if not out:
        for key in sorted(k for k in set(old) | set(new) if not k.startswith("_")):
            if old.get(key) != new.get(key):
                out.append(f"its {key} changed")
    return out


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
    same_kind = [r for r in siblings if r.keyword == definition.get("keyword")]
    if not same_kind:
        return "new step: no earlier build ran this instruction here"
    best = min(same_kind, key=lambda r: len(differences(r.definition, definition, ignored)))
    if best.definition.get("text") != definition.get("text"):
        was = best.definition.get("text")
        return (
            f"the instruction is new or changed (after the same step, the cache only has `{was}`)"
        )
    found = differences(best.definition, definition, ignored)
    return "; ".join(found) if found else "its inputs changed"


def explain_parent(parent_instruction: str, parent_line: int) -> str:
    return f"the step above it was built (line {parent_line}: {parent_instruction})"
