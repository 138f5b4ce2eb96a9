"""BuildKit's status stream, as modern Docker records it, rendered as a plain-progress log.

BuildKit reports a build as a stream of ``StatusResponse`` messages: vertices (one per step
or internal action: digest, name, started, completed, cached, error), statuses (progress
inside a vertex: ``transferring context:`` with its bytes, ``exporting layers``) and the
output of commands. ``--progress=plain`` prints that stream as text; two other records of
the same stream exist, and this module reads both (seen on Docker 28.5, BuildKit v0.25,
buildx 0.29; tests/timing_logs/modern/README.md):

- ``docker buildx build --progress=rawjson``: one JSON object per line, the stream's
  messages as they came (times as RFC 3339 strings with nanoseconds, output base64);
- ``docker buildx history export REF -o FILE.dockerbuild``: a gzip-compressed OCI layout
  tar (``oci-layout``, ``index.json``, ``blobs/sha256/...``). ``index.json`` names one
  manifest per exported build; its config is the build's history record
  (``application/vnd.buildkit.historyrecord.v0``: ref, frontend attributes, exporters,
  start and end, step counts) and its layers are the OpenTelemetry trace
  (``application/vnd.buildkit.otlp.json.v0``), the status stream
  (``application/vnd.buildkit.status.v0``: protobuf ``StatusResponse`` messages, each after
  a 4-byte little-endian length), the SLSA provenance (``application/vnd.in-toto+json``)
  and the image config (``application/json``). The status stream gives the steps and their
  times; the rest is not needed for them.

Both are turned into the lines ``--progress=plain`` would print (``#N [1/3] FROM ...``,
``#N DONE 1.234s``, ``#N transferring context: 38B 0.005s done``...), with times at
millisecond precision, so that one parser and one set of checks read every format. Each
rendered line remembers the rawjson line it came from, so that an error names that line.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import struct
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cachesim.core.errors import InputError

STATUS_MEDIA_TYPE = "application/vnd.buildkit.status.v0"
RECORD_MEDIA_TYPE = "application/vnd.buildkit.historyrecord.v0"


@dataclass(frozen=True, slots=True)
class PlainLog:
    """A status stream as plain-progress lines; ``origin[i]`` is the line of the source file
    that line ``i`` came from (None when the source has no lines, as in an archive)."""

    lines: tuple[str, ...]
    origin: tuple[int | None, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def source_line(self, line: int | None) -> int | None:
        """The source line behind rendered line ``line`` (1-based), or the last one known."""
        if line is None or not self.origin:
            return None
        index = min(max(line, 1), len(self.origin)) - 1
        return self.origin[index]


# --- one update of the stream, whatever its encoding -----------------------------------------


@dataclass(frozen=True, slots=True)
class _Vertex:
    digest: str
    name: str = ""
    cached: bool = False
    started: float | None = None
    completed: float | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class _Status:
    vertex: str
    id: str
    current: int = 0
    started: float | None = None
    completed: float | None = None


@dataclass(frozen=True, slots=True)
class _Output:
    vertex: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Update:
    line: int | None  # where it was read (rawjson line), None in an archive
    vertices: tuple[_Vertex, ...] = ()
    statuses: tuple[_Status, ...] = ()
    outputs: tuple[_Output, ...] = ()


# --- rawjson ----------------------------------------------------------------------------------


def _rfc3339(value: object, file: str, line: int) -> float | None:
    """Seconds since the epoch of ``2026-12-01T15:38:31.642459737Z`` (nanoseconds kept)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"malformed time {value!r} in the rawjson log", file, line)
    whole, _, fraction = value.rstrip("Z").partition(".")
    try:
        seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
        return seconds + (float("0." + fraction) if fraction else 0.0)
    except ValueError:
        raise InputError(f"malformed time {value!r} in the rawjson log", file, line) from None


def _entries(message: dict, key: str, file: str, line: int) -> list[dict]:
    entries = message.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"malformed rawjson: '{key}' must be a list of objects", file, line)
    return entries


def _rawjson_update(message: dict, file: str, line: int) -> _Update:
    vertices = tuple(
        _Vertex(
            str(v.get("digest", "")),
            str(v.get("name", "")),
            bool(v.get("cached", False)),
            _rfc3339(v.get("started"), file, line),
            _rfc3339(v.get("completed"), file, line),
            str(v.get("error", "") or ""),
        )
        for v in _entries(message, "vertexes", file, line)
    )
    statuses = tuple(
        _Status(
            str(s.get("vertex", "")),
            str(s.get("id", "")),
            int(s.get("current", 0) or 0),
            _rfc3339(s.get("started"), file, line),
            _rfc3339(s.get("completed"), file, line),
        )
        for s in _entries(message, "statuses", file, line)
    )
    outputs = []
    for entry in _entries(message, "logs", file, line):
        try:
            data = base64.b64decode(str(entry.get("data", "")), validate=True)
        except ValueError:
            raise InputError("malformed rawjson: a log's data is not base64", file, line) from None
        outputs.append(_Output(str(entry.get("vertex", "")), data))
    return _Update(line, vertices, statuses, tuple(outputs))


# A StatusResponse's parts; build-check warnings (`FromAsCasing`...) come as `warnings`
_MESSAGE_KEYS = {"vertexes", "statuses", "logs", "warnings"}


def read_rawjson(text: str, file: str) -> PlainLog:
    """A ``--progress=rawjson`` log as plain-progress lines (see the module docstring).

    A line that is not a JSON object of the stream is an ``InputError`` naming it, except
    the client's own text after the stream: when a build fails, buildx 0.29 ends a rawjson
    log with a quote of the Dockerfile and one ``ERROR: failed to build: ...`` line
    (tests/timing_logs/modern/vfs-failed-rawjson.log), and the failed vertex's ``error``
    in the stream says the same."""
    updates: list[_Update] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or (updates and not raw.lstrip().startswith("{")):
            continue
        try:
            message = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(f"malformed rawjson line: {err.msg}", file, number) from None
        if not isinstance(message, dict) or not message.keys() & _MESSAGE_KEYS:
            raise InputError(
                "malformed rawjson line: not a BuildKit status message "
                "(no 'vertexes', 'statuses', 'logs' or 'warnings')",
                file,
                number,
            )
        try:
            updates.append(_rawjson_update(message, file, number))
        except (TypeError, ValueError) as err:  # e.g. "current": "many"
            raise InputError(f"malformed rawjson line: {err}", file, number) from None
    if not updates:
        raise InputError("empty rawjson log", file, 1)
    return _render(updates)


def looks_like_rawjson(text: str) -> bool:
    """Whether a log's first non-blank line is a JSON object (``--progress=rawjson``)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


# --- the .dockerbuild archive -------------------------------------------------------------


def is_archive(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip stream or a tar (``ustar`` at offset 257)."""
    return data[:2] == b"\x1f\x8b" or data[257:262] == b"ustar"


def _blobs(data: bytes, file: str) -> dict[str, bytes]:
    """The archive's files by name (``index.json``, ``blobs/sha256/...``)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise InputError(f"truncated or corrupt .dockerbuild archive ({err})", file) from None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            out: dict[str, bytes] = {}
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    out[member.name.removeprefix("./")] = handle.read()
            return out
    except (tarfile.TarError, OSError, EOFError) as err:
        raise InputError(f"truncated or corrupt .dockerbuild archive ({err})", file) from None


def _json_blob(blobs: dict[str, bytes], name: str, file: str) -> dict:
    if name not in blobs:
        raise InputError(f"not a build record archive: no {name} inside", file)
    try:
        value = json.loads(blobs[name])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"not a build record archive: {name} is not JSON", file) from None
    if not isinstance(value, dict):
        raise InputError(f"not a build record archive: {name} is not a JSON object", file)
    return value


def _blob_name(descriptor: object, file: str) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise InputError("not a build record archive: a descriptor without a digest", file)
    algorithm, _, hexdigits = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigits}"


def read_archive(data: bytes, file: str) -> PlainLog:
    """A ``docker buildx history export`` archive's status stream as plain-progress lines."""
    blobs = _blobs(data, file)
    index = _json_blob(blobs, "index.json", file)
    manifests = index.get("manifests") or []
    if not isinstance(manifests, list) or not manifests:
        raise InputError("not a build record archive: index.json names no build", file)
    if len(manifests) > 1:
        raise InputError(
            f"the archive holds {len(manifests)} builds: export the one to calibrate from "
            "(docker buildx history export REF -o FILE)",
            file,
        )
    manifest = _json_blob(blobs, _blob_name(manifests[0], file), file)
    config = manifest.get("config") or {}
    if not isinstance(config, dict) or config.get("mediaType") != RECORD_MEDIA_TYPE:
        raise InputError(
            f"not a build record archive: its manifest's config is not {RECORD_MEDIA_TYPE}", file
        )
    layers = manifest.get("layers") or []
    status = [x for x in layers if isinstance(x, dict) and x.get("mediaType") == STATUS_MEDIA_TYPE]
    if not status:
        raise InputError("the build record holds no status stream (no step times)", file)
    name = _blob_name(status[0], file)
    if name not in blobs:
        raise InputError(f"truncated .dockerbuild archive: {name} is missing", file)
    return _render(list(_protobuf_updates(blobs[name], file)))


# --- protobuf: just enough of the wire format for StatusResponse ---------------------------------


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(buf):
            raise ValueError("a number runs past the end")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one protobuf message: varints as int, the rest as bytes."""
    at = 0
    while at < len(buf):
        key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(buf, at)
            yield number, value
            continue
        if wire == 2:
            size, at = _varint(buf, at)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire}")
        if at + size > len(buf):
            raise ValueError("a field runs past the end")
        yield number, buf[at : at + size]
        at += size


def _text(value: int | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else ""


def _timestamp(value: int | bytes) -> float | None:
    """google.protobuf.Timestamp: seconds (1) and nanos (2)."""
    if not isinstance(value, bytes):
        return None
    parts = dict(_fields(value))
    seconds, nanos = parts.get(1, 0), parts.get(2, 0)
    return float(seconds if isinstance(seconds, int) else 0) + (
        nanos / 1e9 if isinstance(nanos, int) else 0.0
    )


def _pb_vertex(buf: bytes) -> _Vertex:
    # Vertex: digest 1, inputs 2, name 3, cached 4, started 5, completed 6, error 7
    got: dict[int, int | bytes] = {}
    for number, value in _fields(buf):
        got[number] = value
    return _Vertex(
        _text(got.get(1, b"")),
        _text(got.get(3, b"")),
        bool(got.get(4, 0)),
        _timestamp(got[5]) if 5 in got else None,
        _timestamp(got[6]) if 6 in got else None,
        _text(got.get(7, b"")),
    )


def _pb_status(buf: bytes) -> _Status:
    # VertexStatus: ID 1, vertex 2, name 3, current 4, total 5, timestamp 6, started 7,
    # completed 8
    got = dict(_fields(buf))
    current = got.get(4, 0)
    return _Status(
        _text(got.get(2, b"")),
        _text(got.get(1, b"")),
        current if isinstance(current, int) else 0,
        _timestamp(got[7]) if 7 in got else None,
        _timestamp(got[8]) if 8 in got else None,
    )


def _pb_output(buf: bytes) -> _Output:
    # VertexLog: vertex 1, timestamp 2, stream 3, msg 4
    got = dict(_fields(buf))
    data = got.get(4, b"")
    return _Output(_text(got.get(1, b"")), data if isinstance(data, bytes) else b"")


def _protobuf_updates(blob: bytes, file: str) -> Iterator[_Update]:
    """The StatusResponse messages of a status blob (each after a little-endian length)."""
    at = 0
    while at < len(blob):
        if at + 4 > len(blob):
            raise InputError("truncated status stream in the .dockerbuild archive", file)
        (size,) = struct.unpack_from("<I", blob, at)
        at += 4
        if at + size > len(blob):
            raise InputError("truncated status stream in the .dockerbuild archive", file)
        message = blob[at : at + size]
        at += size
        vertices, statuses, outputs = [], [], []
        try:
            for number, value in _fields(message):
                if not isinstance(value, bytes):
                    continue
                if number == 1:
                    vertices.append(_pb_vertex(value))
                elif number == 2:
                    statuses.append(_pb_status(value))
                elif number == 3:
                    outputs.append(_pb_output(value))
        except ValueError as err:
            raise InputError(f"malformed status stream in the archive ({err})", file) from None
        yield _Update(None, tuple(vertices), tuple(statuses), tuple(outputs))


# --- rendering --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Seen:
    """What the stream said so far of one vertex, and the source lines that said it."""

    number: int
    name: str = ""
    begun: bool = False  # started, cached or failed (plain progress prints no other)
    header_line: int | None = None  # where it began
    cached: bool = False
    started: float | None = None
    completed: float | None = None
    end_line: int | None = None
    error: str = ""
    statuses: dict[str, tuple[_Status, int | None]] = field(default_factory=dict)
    output: list[tuple[str, int | None]] = field(default_factory=list)


def _merge(seen: _Seen, vertex: _Vertex, line: int | None) -> None:
    seen.name = vertex.name or seen.name
    begins = vertex.started is not None or vertex.completed is not None or vertex.cached
    if not seen.begun and (begins or vertex.error):
        seen.begun, seen.header_line = True, line
    seen.cached = seen.cached or vertex.cached
    if vertex.started is not None:
        seen.started = vertex.started
    if vertex.completed is not None:
        seen.completed = vertex.completed
        seen.end_line = line
    if vertex.error:
        seen.error = vertex.error
        seen.end_line = line


def _status_text(status: _Status) -> str:
    took = ""
    if status.started is not None and status.completed is not None:
        took = f" {max(status.completed - status.started, 0.0):.3f}s"
    size = f" {status.current}B" if status.id.startswith("transferring") else ""
    return f"{status.id.rstrip()}{size}{took} done"


def _vertex_lines(seen: _Seen) -> Iterator[tuple[str, int | None]]:
    tag = f"#{seen.number}"
    yield f"{tag} {seen.name}", seen.header_line
    for text, line in seen.output:
        yield f"{tag} 0.000 {text}", line
    for status, line in seen.statuses.values():
        if status.completed is not None:
            yield f"{tag} {_status_text(status)}", line
    if seen.error:
        yield f"{tag} ERROR: {seen.error}", seen.end_line
    elif seen.completed is not None:
        if seen.cached:
            yield f"{tag} CACHED", seen.end_line
        else:
            took = max(seen.completed - (seen.started or seen.completed), 0.0)
            yield f"{tag} DONE {took:.3f}s", seen.end_line


def _render(updates: Sequence[_Update]) -> PlainLog:
    """The stream's vertices, in the order they first appeared, as plain-progress blocks."""
    seen: dict[str, _Seen] = {}

    def vertex(digest: str, line: int | None) -> _Seen:
        if digest not in seen:
            seen[digest] = _Seen(0)  # numbered when rendered
        return seen[digest]

    last_line: int | None = None
    for update in updates:
        last_line = update.line if update.line is not None else last_line
        for v in update.vertices:
            _merge(vertex(v.digest, update.line), v, update.line)
        for s in update.statuses:
            vertex(s.vertex, update.line).statuses[s.id] = (s, update.line)
        for out in update.outputs:
            target = vertex(out.vertex, update.line)
            for text in out.data.decode("utf-8", errors="replace").splitlines():
                target.output.append((text, update.line))
    lines: list[str] = []
    origin: list[int | None] = []
    number = 0
    for block in seen.values():
        if not block.name or not (block.begun or block.statuses):
            continue  # announced but never begun (plain progress prints none), or unnamed
        number += 1
        block.number = number
        for text, line in _vertex_lines(block):
            lines.append(text)
            origin.append(line if line is not None else last_line)
        lines.append("")
        origin.append(last_line)
    return PlainLog(tuple(lines), tuple(origin))
