"""Which context files a COPY or ADD source selects, and where they land.

Both builders of Engine 20.10 agree on what a *found* source copies (checked on
Engine 20.10.24):

* a file is copied by its base name, or *as* the destination when that has no trailing
  slash and is not an existing directory (``COPY app.py /w/x`` makes the file ``/w/x``);
* a directory (``src``, ``src/``, ``.``, ``./``, ``/``) copies its *contents*, never itself;
* a glob (``*``, ``?``, ``[...]``, Go's ``filepath.Match``, one path segment each:
  ``*`` never crosses ``/`` and ``**`` is just ``*``) copies each match as if it had
  been named alone, so a matched directory pours its contents into the destination
  (``COPY src/* /w/`` puts ``src/sub/o.py`` at ``/w/o.py``);
* the context is what ``.dockerignore`` leaves: an ignored file is "not found", a
  directory whose files are all ignored (but not itself) is still there, empty.

They differ on everything else; each difference below is what the engine printed:

============================  =====================================  =========================
source / destination          BuildKit                               classic builder
============================  =====================================  =========================
missing or ignored ``x``      ``failed to compute cache key: "/x"    ``COPY failed: file not
                              not found: not found``                 found in build context or
                                                                     excluded by .dockerignore:
                                                                     stat x: file does not
                                                                     exist``
``../x`` (outside context)    read as ``/x`` (Join with "/")         ``COPY failed: forbidden
                                                                     path outside the build
                                                                     context: ../x ()``
glob matching nothing         copies nothing, no error               ``COPY failed: no source
                                                                     files were specified``
glob under a missing dir      ``lstat <mount>/nodir: no such file    as above (no source
(``nodir/*.py``)              or directory`` when the step runs      files)
several sources, destination  no error: each is copied to the same   ``When using COPY with
without trailing ``/``        path, the last one wins                more than one source
                                                                     file, the destination
                                                                     must be a directory and
                                                                     end with a /``
============================  =====================================  =========================

The classic builder counts sources after expanding globs, and ``.`` is not "ending with
a /" (``COPY a b .`` fails there, works with BuildKit). ``ADD`` words them the same with
``ADD``. The BuildKit ``lstat`` message names a temporary mount under the daemon's data
root; ``BUILDKIT_MOUNT`` stands for it here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from cachesim.context.dockerignore import IgnoreRules, go_clean
from cachesim.core.errors import BuildFailure

# Stand for daemon paths with random parts in two BuildKit messages: a temporary mount
# (/var/lib/docker/tmp/buildkit-mount<digits>) and the snapshot of the step's image
# (/var/lib/docker/<driver>/dir/<id>; vfs here, overlay2 elsewhere).
BUILDKIT_MOUNT = "/var/lib/docker/tmp/buildkit-mount"
BUILDKIT_SNAPSHOT = "/var/lib/docker/vfs/dir/<id>"

ErrorKind = Literal[
    "not_found", "outside_context", "no_sources", "several_sources", "no_dir", "not_a_dir"
]


class SourceError(Exception):
    """The builder stops at this COPY/ADD; ``reason`` is the engine's own text."""

    def __init__(self, reason: str, kind: ErrorKind):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    def failure(self, line: int | None = None) -> BuildFailure:
        """The same stop as a ``BuildFailure`` at a Dockerfile line."""
        return BuildFailure(self.reason, line)


@dataclass(frozen=True, slots=True)
class ContextTree:
    """The files and directories a builder sees once .dockerignore has been applied."""

    files: frozenset[str]
    dirs: frozenset[str]  # "" is the root

    @classmethod
    def build(cls, paths: Iterable[str], rules: IgnoreRules | None = None) -> ContextTree:
        """From every file path on disk (directories implied) and the ignore rules.

        A directory is there when the walk keeps it, even if all its files are ignored,
        or when a file below it is kept (a "!" line below an ignored directory).
        """
        rules = rules or IgnoreRules()
        all_files = {go_clean(p) for p in paths}
        kept = frozenset(p for p in all_files if not rules.excludes(p))
        dirs = {""}
        for p in all_files:
            parts = p.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                d = "/".join(parts[:k])
                if d not in dirs and not rules.excludes(d):
                    dirs.add(d)
        for p in kept:
            parts = p.split("/")[:-1]
            dirs.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
        return cls(kept, frozenset(dirs))

    def children(self, directory: str) -> list[str]:
        """Names directly inside ``directory``, in the walk's (byte) order."""
        prefix = directory + "/" if directory else ""
        names = {
            p[len(prefix) :].split("/", 1)[0]
            for p in self.files | self.dirs
            if p.startswith(prefix) and p != directory
        }
        return sorted(names)

    def below(self, directory: str) -> tuple[list[str], list[str]]:
        """Files and directories under ``directory``, relative to it, in walk order."""
        prefix = directory + "/" if directory else ""
        files = [p[len(prefix) :] for p in self.files if p.startswith(prefix)]
        dirs = [d[len(prefix) :] for d in self.dirs if d.startswith(prefix) and d != directory]
        return sorted(files, key=_walk_key), sorted(dirs, key=_walk_key)


def _walk_key(path: str) -> list[str]:
    # Depth first, siblings by name: "a/b" comes before "a.txt", as filepath.Walk does.
    return path.split("/")


@dataclass(frozen=True, slots=True)
class Match:
    """One context entry a source names: a file, or a directory whose contents are copied."""

    path: str  # context path; "" is the root
    is_dir: bool
    files: tuple[tuple[str, str], ...]  # (context path, path relative to the destination)
    dirs: tuple[str, ...] = ()  # directories created below the destination


@dataclass(frozen=True, slots=True)
class Selection:
    """What one source of a COPY/ADD copies."""

    source: str
    is_glob: bool
    matches: tuple[Match, ...]

    @property
    def files(self) -> tuple[tuple[str, str], ...]:
        """(context path, path relative to the destination) for every file, in copy order."""
        return tuple(pair for m in self.matches for pair in m.files)

    @property
    def is_single_file(self) -> bool:
        """One file, named without a glob: a destination without "/" renames it."""
        return not self.is_glob and len(self.matches) == 1 and not self.matches[0].is_dir

    @property
    def is_dir_source(self) -> bool:
        """A directory named without a glob: its contents are copied."""
        return not self.is_glob and len(self.matches) == 1 and self.matches[0].is_dir


def has_wildcards(source: str) -> bool:
    """Whether ``source`` is a glob: ``*``, ``?`` or ``[`` not escaped by a backslash."""
    i = 0
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] in "*?[":
            return True
        i += 1
    return False


def go_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match``; a malformed pattern matches nothing (as the builders use it)."""
    regex = _go_match_regex(pattern)
    return regex is not None and regex.fullmatch(name) is not None


def _go_match_regex(pattern: str) -> re.Pattern[str] | None:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i >= n:
                return None
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges: list[str] = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = _class_char(pattern, i)
                if lo is None:
                    return None
                hi = lo
                if pattern[i] == "-":
                    hi, i = _class_char(pattern, i + 1)
                    if hi is None:
                        return None
                # Go accepts a reversed range (it matches nothing); Python would not.
                ranges.append(f"[{re.escape(lo)}-{re.escape(hi)}]" if lo <= hi else "(?!)")
            either = "|".join(ranges)
            out.append(f"(?!{either})." if negated else f"(?:{either})")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _class_char(pattern: str, i: int) -> tuple[str | None, int]:
    n = len(pattern)
    if i >= n or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= n:
            return None, i
    if i + 1 >= n:
        return None, i  # the class never closes
    return pattern[i], i + 1


def _copy_of(tree: ContextTree, path: str) -> Match:
    if path in tree.dirs:
        files, dirs = tree.below(path)
        prefix = path + "/" if path else ""
        return Match(path, True, tuple((prefix + f, f) for f in files), tuple(dirs))
    return Match(path, False, ((path, posixpath.basename(path)),))


def _glob(tree: ContextTree, base: str, segments: list[str]) -> list[str]:
    # BuildKit resolves a glob one segment at a time from its first wildcard segment.
    head, rest = segments[0], segments[1:]
    prefix = base + "/" if base else ""
    if has_wildcards(head):
        names = [n for n in tree.children(base) if go_match(head, n)]
    else:
        names = [head] if prefix + head in tree.files or prefix + head in tree.dirs else []
    found: list[str] = []
    for name in names:
        child = prefix + name
        if not rest:
            found.append(child)
        elif child in tree.dirs:
            found.extend(_glob(tree, child, rest))
    return found


def _select_buildkit(tree: ContextTree, source: str) -> Selection:
    # The frontend joins the source with "/", which cleans it and keeps it in the context.
    absolute = go_clean("/" + source)
    rel = absolute[1:]
    if not has_wildcards(rel):
        if rel in tree.files or rel in tree.dirs:
            return Selection(source, False, (_copy_of(tree, rel),))
        raise SourceError(
            f'failed to compute cache key: "{absolute}" not found: not found', "not_found"
        )
    segments = rel.split("/")
    first = next(i for i, s in enumerate(segments) if has_wildcards(s))
    base = "/".join(segments[:first])
    if base in tree.files:
        # The context sender walks the glob's directory to send only what matches.
        raise SourceError(
            f"error from sender: readdir: readdirent {base}: not a directory", "not_a_dir"
        )
    if base not in tree.dirs:
        raise SourceError(f"lstat {BUILDKIT_MOUNT}/{base}: no such file or directory", "no_dir")
    found = _glob(tree, base, segments[first:])
    return Selection(source, True, tuple(_copy_of(tree, p) for p in found))


def _select_legacy(tree: ContextTree, source: str, instruction: str) -> Selection:
    orig = source
    if orig.startswith("/") and len(orig) > 1:
        orig = orig[1:]
    orig = orig.removeprefix("./")
    if has_wildcards(orig):
        # Every walked path is tried against the whole pattern, uncleaned.
        entries = sorted((tree.files | tree.dirs) - {""}, key=_walk_key)
        found = [p for p in entries if go_match(orig, p)]
        return Selection(source, True, tuple(_copy_of(tree, p) for p in found))
    rel = go_clean(orig)
    if rel == ".." or rel.startswith("../"):
        raise SourceError(
            f"{instruction} failed: forbidden path outside the build context: {orig} ()",
            "outside_context",
        )
    rel = "" if rel in (".", "/") else rel
    if rel in tree.files or rel in tree.dirs:
        return Selection(source, False, (_copy_of(tree, rel),))
    raise SourceError(
        f"{instruction} failed: file not found in build context or excluded by "
        f".dockerignore: stat {orig}: file does not exist",
        "not_found",
    )


@dataclass(frozen=True, slots=True)
class SourceRules:
    """How one builder turns a COPY's sources into files (the table above).

    The two builders of the engine disagree here, so each names its own rules
    (``Builder.source_rules`` in cachesim/builders): ``find`` selects one source as written
    (``tree, source, instruction``), and ``checks_source_count`` is the classic builder's
    refusal of an instruction with no source, or several sources into a path without ``/``.
    """

    find: Callable[[ContextTree, str, str], Selection]
    checks_source_count: bool


BUILDKIT_SOURCES = SourceRules(
    lambda tree, source, _instruction: _select_buildkit(tree, source), checks_source_count=False
)
CLASSIC_SOURCES = SourceRules(_select_legacy, checks_source_count=True)


def select(
    paths: Iterable[str] | ContextTree,
    source: str,
    rules: IgnoreRules | None = None,
    *,
    source_rules: SourceRules = BUILDKIT_SOURCES,
    instruction: str = "COPY",
) -> Selection:
    """What ``source`` (as written, variables expanded) selects from the context.

    ``paths`` are the context's file paths on disk (POSIX, relative; ignored ones too,
    the rules are applied here), or a ``ContextTree`` built once for many sources.
    Raises ``SourceError`` with the engine's words when the builder would stop.
    A glob that matches nothing gives an empty selection: only the classic builder
    fails on it, and only when no source of the instruction matched anything
    (``destination_paths`` says so).
    """
    tree = paths if isinstance(paths, ContextTree) else ContextTree.build(paths, rules)
    return source_rules.find(tree, source, instruction)


def destination_paths(
    selections: Sequence[Selection],
    dest: str,
    workdir: str = "/",
    *,
    source_rules: SourceRules = BUILDKIT_SOURCES,
    instruction: str = "COPY",
    dest_is_dir: bool = False,
) -> tuple[tuple[str, str], ...]:
    """(context path, absolute path in the image) for every file the instruction copies.

    ``dest`` is the destination as written, relative to ``workdir`` unless absolute;
    ``dest_is_dir`` says it already exists as a directory in the image (the root and
    the working directory always do). When several files land on one path the last
    one wins, as it does on the engine. Raises ``SourceError`` for the classic
    builder's checks on the whole instruction.
    """
    if source_rules.checks_source_count:
        count = sum(len(s.matches) for s in selections)
        if count == 0:
            raise SourceError(f"{instruction} failed: no source files were specified", "no_sources")
        if count > 1 and not dest.endswith("/"):
            raise SourceError(
                f"When using {instruction} with more than one source file, the destination "
                "must be a directory and end with a /",
                "several_sources",
            )
    workdir = go_clean("/" + workdir)
    target = go_clean(posixpath.join(workdir, dest))
    is_dir = dest_is_dir or dest.endswith("/") or dest in ("", ".") or target in ("/", workdir)
    placed: dict[str, str] = {}
    for selection in selections:
        for match in selection.matches:
            if match.is_dir and target in placed:
                # An earlier source of this instruction made the destination a file.
                raise SourceError(
                    f"cannot copy to non-directory: {BUILDKIT_SNAPSHOT}{target}", "not_a_dir"
                )
            if match.is_dir:
                for ctx, rel in match.files:
                    placed.pop(posixpath.join(target, rel), None)
                    placed[posixpath.join(target, rel)] = ctx
                is_dir = True  # the destination now exists as a directory
            else:
                ctx, name = match.files[0]
                where = posixpath.join(target, name) if is_dir else target
                placed.pop(where, None)
                placed[where] = ctx
    return tuple((ctx, where) for where, ctx in placed.items())
