"""The build context as a snapshot: path -> file (bytes, mode, mtime), and what changes it.

BuildKit decides whether a COPY can come from the cache by a checksum of the selected
files' content and permissions, never their modification time (``cache/contenthash``).
So the snapshot keeps all three, and ``file_digest`` deliberately leaves mtime out.
Every function here is pure: it returns a new snapshot and never touches the disk.
``read_folder`` (a real folder as a snapshot) lives with the other folder reader in
cachesim/context/folder.py, sharing its walk; it is re-exported here for its callers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import PurePosixPath

from cachesim.context.folder import read_folder as read_folder  # re-exported
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError

Snapshot = Mapping[str, ContextFile]

TOUCH_SECONDS = 3600.0  # how far `touch` moves a file's modification time


def generated_content(seed: str, size: int) -> bytes:
    """Deterministic filler of ``size`` bytes for a file known only by its size.

    64 KiB of SHA-256 output from the seed, repeated: the same seed and size always give
    the same bytes, and a different seed gives different bytes.
    """
    if size <= 0:
        return b""
    block = b"".join(
        hashlib.sha256(f"{seed}#{i}".encode()).digest() for i in range(min(2048, size // 32 + 1))
    )
    reps = size // len(block) + 1
    return (block * reps)[:size]


@functools.lru_cache(maxsize=4096)
def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_DIGESTS: dict[ContextFile, str] = {}  # a build reads the same files many times (issue 9)


def file_digest(entry: ContextFile) -> str:
    """What BuildKit's content checksum sees of a file: its bytes and permission bits."""
    found = _DIGESTS.get(entry)
    if found is None:
        if len(_DIGESTS) >= 50_000:
            _DIGESTS.clear()
        found = _DIGESTS[entry] = f"{content_digest(entry.content)[:32]}:{entry.mode & 0o7777:04o}"
    return found


def normalize(path: str) -> str:
    """A context path in canonical form: POSIX, relative, no '.' or '..' parts."""
    clean = PurePosixPath("/" + path.replace("\\", "/")).as_posix()
    parts: list[str] = []
    for part in clean.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def under(snapshot: Snapshot, path: str) -> list[str]:
    """The files at ``path``: the file itself, or everything in the folder."""
    if path in snapshot:
        return [path]
    prefix = path + "/"
    return sorted(p for p in snapshot if p.startswith(prefix))


def parse_mode(value: object, file: str | None, line: int | None) -> int:
    """A mode such as ``"0755"`` or ``"755"``; anything else is bad input."""
    text = str(value).strip()
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    if not text or any(c not in "01234567" for c in text) or len(text) > 4:
        raise InputError(
            f'bad mode {value!r}: give permission bits in octal, such as "0644"', file, line
        )
    return int(text, 8)
