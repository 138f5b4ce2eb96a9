"""A symbolic file system: what a stage's files hold, as far as a simulator can know.

``COPY --from=stage`` is cached by the *content* of the files it copies, not by whether
the stage was rebuilt (BuildKit's content-based cache keys, ``cache/contenthash``). So the
simulator follows, for each step, which files COPY put where (exact digests) and summarises
everything a RUN may have written as ``fog``: a digest of the RUN's definition and of the
whole file system it ran on. The working assumptions, stated in docs/cache-rules.md: a RUN
is reproducible (same inputs, same output); it may write new files anywhere, but leaves
the files COPY put in place as they were (seen on the engine: ``COPY --from=build
/src/go.mod`` stayed cached after ``go mod download`` re-ran, scenario go-mod-first).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from cachesim.cache import digest


@dataclass(frozen=True, slots=True)
class FileSystem:
    base: str  # digest of what the base image holds ("" for scratch)
    fog: str = ""  # digest of every RUN so far ("" when none ran)
    files: Mapping[str, str] = field(default_factory=dict)  # path -> digest

    def summary(self) -> str:
        return digest(self.base, self.fog, sorted(self.files.items()))

    def with_files(self, placed: Mapping[str, str]) -> FileSystem:
        return FileSystem(self.base, self.fog, {**self.files, **placed})

    def after_run(self, definition: object) -> FileSystem:
        return FileSystem(self.base, digest(self.summary(), definition), self.files)

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
        if self.fog and root not in self.files:
            found["<written by RUN>"] = digest(self.fog, root)
        elif not found:
            found["<from the base image>"] = digest(self.base, root)
        return found
