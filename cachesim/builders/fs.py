"""A symbolic file system: what a stage's files hold, as far as a simulator can know.

``COPY --from=stage`` is cached by the *content* of the files it copies, not by whether
the stage was rebuilt (BuildKit's content-based cache keys, ``cache/contenthash``). So the
simulator follows, for each step, which files COPY put where (exact digests) and summarises
everything a RUN may have written as ``fog``: a digest of the RUN's definition and of the
whole file system it ran on. The working assumptions, stated in docs/cache-rules.md: a RUN
is reproducible (same inputs, same output); it may write new files anywhere, but leaves
the files COPY put in place as they were (seen on the engine: ``COPY --from=build
/src/go.mod`` stayed cached after ``go mod download`` re-ran, scenario go-mod-first).

A RUN whose command ``cachesim.builders.reads`` models writes ``areas`` instead: each folder it may
write gets a digest of only what the command reads (so a README edit leaves ``go build``'s
output as it was), and a copy from elsewhere is not touched by it. ``notes`` keep, per
area, the words that explain it; they are not part of any digest.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cachesim.builders.cache import digest
from cachesim.builders.definitions import SortedItems
from cachesim.context.digestmap import DigestMap


def _merged(below: Mapping[str, str], above: Mapping[str, str]) -> Mapping[str, str]:
    """``{**below, **above}``, as a ``DigestMap`` when either is one."""
    if isinstance(above, DigestMap):
        return above.merged_over(below)
    if isinstance(below, DigestMap):
        return below.updated(above)
    return {**below, **above}


@dataclass(frozen=True, slots=True)
class FileSystem:
    base: str  # digest of what the base image holds ("" for scratch)
    fog: str = ""  # digest of every RUN so far ("" when none ran)
    files: Mapping[str, str] = field(default_factory=dict)  # path -> digest
    areas: Mapping[str, str] = field(default_factory=dict)  # folder -> digest of its writes
    notes: Mapping[str, str] = field(default_factory=dict)  # area ("" = fog) -> explanation
    # the fog's last RUN is a command cachesim cannot read: a scenario's `runs:` could say
    unread: bool = False

    def summary(self) -> str:
        return digest(self.base, self.fog, SortedItems(self.files), sorted(self.areas.items()))

    def with_files(self, placed: Mapping[str, str]) -> FileSystem:
        """Files now known exactly: they replace what a RUN wrote at those very paths.
        A ``DigestMap`` on either side keeps the result one too (its encoding then costs
        what changed: issue 9)."""
        areas = {a: d for a, d in self.areas.items() if a not in placed}
        return replace(self, files=_merged(self.files, placed), areas=areas)

    def after_run(self, definition: object, note: str = "", *, unread: bool = False) -> FileSystem:
        """After a RUN cachesim cannot read: anything may have changed, anywhere.
        ``unread``: its command is one a scenario's `runs:` entry could describe (not, say,
        a bind mount of a stage), so the explanation of a copy of its output can say so."""
        fog = digest(self.summary(), definition)
        notes = {**self.notes, "": note}
        return replace(self, fog=fog, notes=notes, unread=unread)

    def after_tools(self, output: str, writes: tuple[str, ...], note: str) -> FileSystem:
        """After a modelled RUN: each folder it writes holds what ``output`` decides."""
        areas = {**self.areas, **{w: digest(output, w) for w in writes}}
        return replace(self, areas=areas, notes={**self.notes, **{w: note for w in writes}})

    def _overlapping(self, root: str) -> list[str]:
        """The areas that may hold files at or below ``root``."""
        found = []
        for area in sorted(self.areas):
            inside = area == "/" or root == area or root.startswith(area.rstrip("/") + "/")
            holds = area.startswith(root.rstrip("/") + "/") or root == "/"
            if (inside and (root not in self.files or root == area)) or holds:
                found.append(area)
        return found

    def why(self, source: str) -> list[str]:
        """The explanations of what RUNs wrote at ``source`` (empty: none wrote there)."""
        root = posixpath.normpath("/" + source.lstrip("/"))
        areas = self._overlapping(root)
        # of the folders holding root, the innermost was written last by the RUN that
        # matters; folders below root all count
        holding = [a for a in areas if not a.startswith(root.rstrip("/") + "/") or root == "/"]
        below = [a for a in areas if a not in holding]
        keys = [""] if self.fog and root not in self.files else []
        keys += sorted(holding, key=len)[-1:] + below
        return list(dict.fromkeys(self.notes[k] for k in keys if self.notes.get(k)))

    def unread_at(self, source: str) -> bool:
        """Whether what lies at ``source`` includes the output of a RUN whose command
        cachesim cannot read (``content`` then holds the fog)."""
        root = posixpath.normpath("/" + source.lstrip("/"))
        return self.unread and bool(self.fog) and root not in self.files

    def is_file(self, path: str) -> bool:
        return posixpath.normpath(path) in self.files

    def is_dir(self, path: str) -> bool:
        """Known to be a directory: a file lies below it (or it is the root)."""
        root = posixpath.normpath(path)
        prefix = root.rstrip("/") + "/"
        return root == "/" or any(p.startswith(prefix) for p in self.files)

    def content(self, source: str) -> dict[str, str]:
        """Digests of what lies at ``source``: known files exactly, the rest symbolically."""
        root = posixpath.normpath("/" + source.lstrip("/"))
        prefix = root.rstrip("/") + "/"
        found: dict[str, str] = {}
        for path, file_digest in self.files.items():
            if path == root or path.startswith(prefix) or root == "/":
                found[path] = file_digest
        hidden = [self.fog] if self.fog and root not in self.files else []
        hidden += [self.areas[area] for area in self._overlapping(root)]
        if hidden:
            found["<written by RUN>"] = digest(*hidden, root)
        elif not found:
            found["<from the base image>"] = digest(self.base, root)
        return found
