"""What a step reads: the files a COPY or a bind mount selects, from the context or a stage.

Both builders decide whether a COPY is cached by a checksum of the selected files' content
and permission bits (BuildKit: ``cache/contenthash``; the classic builder: a tarsum of the
files), so the input of a COPY is the map ``context path -> file digest``. The Dockerfile
and .dockerignore are part of the context like any file (seen on the real engine:
``COPY . .`` copies them unless .dockerignore lists them; docs/engine-findings.md #3).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachesim.builders.fs import FileSystem
from cachesim.context import index
from cachesim.context.dockerignore import IgnoreRules, IgnoreSyntaxError
from cachesim.context.selection import (
    BUILDKIT_SOURCES,
    ContextTree,
    Match,
    Selection,
    SourceError,
    SourceRules,
    destination_paths,
    select,
)
from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.core.errors import BuildFailure

if TYPE_CHECKING:
    from cachesim.builders.protocol import Builder


@dataclass(frozen=True, slots=True)
class BuildContext:
    """The context as the builder sees it: every file, and which ones COPY may select."""

    files: Mapping[str, ContextFile]
    rules: IgnoreRules
    tree: ContextTree  # what COPY can see once .dockerignore is applied

    @classmethod
    def of(cls, request: BuildRequest, builder: Builder | None = None) -> BuildContext:
        """The request's context; ``builder`` words a bad .dockerignore (default: BuildKit)."""
        own = dict(request.files)
        own.setdefault("Dockerfile", ContextFile(request.dockerfile.encode()))
        if request.dockerignore is not None:
            own.setdefault(".dockerignore", ContextFile(request.dockerignore.encode()))
        files = index.tracked_files(own)  # what changed since the last build, found once
        try:
            rules = IgnoreRules.parse(request.dockerignore or "")
            tree = index.tree(files, rules)  # built once per set of paths and rules
        except IgnoreSyntaxError as err:  # the builder refuses a bad pattern: a failed build
            reason = err.buildkit_reason if builder is None else builder.ignore_reason(err)
            raise BuildFailure(reason, None) from None
        return cls(files, rules, tree)


@dataclass(frozen=True, slots=True)
class Selected:
    """The files one COPY or bind mount reads, and where a COPY puts them."""

    digests: Mapping[str, str]  # source path -> digest (what the cache key sees)
    placed: Mapping[str, str]  # absolute destination path -> digest (COPY only)
    count: int
    size: int


def from_context(
    context: BuildContext,
    sources: tuple[str, ...],
    dest: str,
    *,
    source_rules: SourceRules = BUILDKIT_SOURCES,
    keyword: str = "COPY",
    workdir: str = "/",
    dest_is_dir: bool = False,
    excludes: tuple[str, ...] = (),
) -> Selected:
    """Select ``sources`` in the context as ``keyword`` would, and place them under ``dest``.

    ``excludes`` are ``COPY --exclude`` patterns (BuildKit 0.25), matched like
    .dockerignore lines against each file's path below the source it was found under.
    Raises ``BuildFailure`` with the engine's words where the builder would stop.
    """

    def place() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | SourceError:
        try:
            selections = [
                select(context.tree, source, source_rules=source_rules, instruction=keyword)
                for source in sources
            ]
            if excludes:
                selections = [without(s, excludes) for s in selections]
            pairs = destination_paths(
                selections,
                dest,
                workdir,
                source_rules=source_rules,
                instruction=keyword,
                dest_is_dir=dest_is_dir,
            )
        except SourceError as err:
            return err
        return tuple(dict.fromkeys(p for s in selections for p, _ in s.files)), pairs

    key = (sources, dest, source_rules, keyword, workdir, dest_is_dir, excludes)
    found = index.placement_of(context.tree, key, place)  # once per set of paths (issue 9)
    if isinstance(found, SourceError):
        raise found.failure() from None
    paths, pairs = found
    digests, size = index.selected(context.files, paths)
    return Selected(digests, index.placed(pairs, digests), len(digests), size)


def from_stage(
    fs: FileSystem, sources: tuple[str, ...], dest: str, dest_is_dir: bool = False
) -> Selected:
    """Select ``sources`` (relative to the stage's root) in a stage's symbolic file system."""
    digests: dict[str, str] = {}
    placed: dict[str, str] = {}
    into_dir = dest_is_dir or dest.endswith("/")
    for source in sources:
        root = posixpath.normpath(posixpath.join("/", source))
        found = fs.content(root)
        digests.update(found)
        for path, value in found.items():
            if path.startswith("<"):
                continue
            if path == root:
                where = posixpath.join(dest, posixpath.basename(path)) if into_dir else dest
            else:
                where = posixpath.join(dest, posixpath.relpath(path, root))
            placed[posixpath.normpath(where)] = value
    return Selected(digests, placed, len(placed), 0)


def without(selection: Selection, patterns: tuple[str, ...]) -> Selection:
    """A selection minus the files ``COPY --exclude`` patterns match.

    Seen on Docker 28.5 (scenario copy-exclude): an edit of an excluded file leaves the
    COPY cached, so the excluded files are not part of its key.
    """
    rules = IgnoreRules.parse("\n".join(patterns))
    matches = tuple(
        Match(m.path, m.is_dir, tuple(f for f in m.files if not rules.excludes(f[1])), m.dirs)
        for m in selection.matches
    )
    return Selection(selection.source, selection.is_glob, matches)
