"""Calibration: what a real build log (and ``docker history``) says about time and size.

``calibrate(log, file)`` reads one real build's record and returns a ``cost.Profile``:
each step's measured seconds, the layer sizes from ``docker history`` if given, and the
machine figures the log shows (the context transfer rate, the export time, whether base
images had to be pulled), plus the storage driver and BuildKit the caller names. The
record may be BuildKit's ``--progress=plain`` log (``#N DONE 1.2s`` per vertex), a
``--progress=rawjson`` log, a ``docker buildx history export`` archive (``.dockerbuild``),
or the classic builder's log (which prints no times, so it needs a time stamp per line,
e.g. ``| ts -s '%.s'``). ``read_log(path)`` reads any of them from a file; rawjson and
archives are rendered as plain-progress lines first (``cachesim.logs.status``), so one set
of checks reads them all.

The log is checked before anything is learned from it: a log that is none of those, that
was cut short, or whose build failed, is one ``InputError`` naming the file and the line.
The profile depends on the log alone, never on the Dockerfile it is later matched
against, so that ``run --calibrate LOG`` and ``calibrate LOG -o P`` + ``run --profile P``
predict the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cachesim.builders import registry
from cachesim.core.errors import InputError
from cachesim.core.versions import BUILDKIT_VERSIONS
from cachesim.cost.model import (
    MB,
    Machine,
    MeasuredStep,
    Profile,
    machine_with,
    normal_instruction,
    parse_size,
)
from cachesim.logs import status
from cachesim.logs.parse import (
    ObservedStep,
    instruction_keyword,
    is_step_header,
    parse_buildkit_log,
    parse_legacy_log,
)
from cachesim.sources.scenario import image_key

PROFILE_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before the BuildKit and the log format were recorded

_VERTEX = re.compile(r"^#(\d+) (.*)$")
_DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")
_CONTEXT = re.compile(r"^transferring context: (\d+(?:\.\d+)?[kMG]?B)(?: (\d+(?:\.\d+)?)s)? done$")
_EXPORT = re.compile(r"^exporting layers(?: (\d+(?:\.\d+)?)s)? done$")
# the containerd image store unpacks an exported image into its snapshotter (28.5, overlayfs)
_UNPACK = re.compile(r"^unpacking to \S+(?: (\d+(?:\.\d+)?)s)? done$")
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_STAMP = re.compile(r"^(?:\[?(\d+(?:\.\d+)?)\]?|(\d\d):(\d\d):(\d\d(?:\.\d+)?))\s(.*)$")


def read_text(path: str, what: str) -> str:
    """A file's text, or an ``InputError`` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(f"no such {what}", path) from None
    except OSError as err:
        raise InputError(f"cannot read the {what}: {err}", path) from None


def detect_engine(lines: Sequence[str], file: str) -> str:
    """``buildkit`` or ``legacy`` from the first line that tells; else an ``InputError``."""
    for line in lines:
        text = _unstamped(line)
        if _VERTEX.match(text):
            return "buildkit"
        if _STEP.match(text) or text.startswith("Sending build context to Docker daemon"):
            return "legacy"
    raise InputError(
        "not a docker build log: no BuildKit '#N ...' line (--progress=plain) and no "
        "classic 'Step k/n :' line",
        file,
        1,
    )


def _unstamped(line: str) -> str:
    m = _STAMP.match(line)
    return m.group(5) if m and not line.startswith("#") else line


@dataclass(frozen=True, slots=True)
class LogFacts:
    """What a log shows beyond its steps."""

    context_bytes: int | None = None
    context_seconds: float | None = None
    export_seconds: float | None = None
    unpack_seconds: float | None = None  # containerd image store: unpacking the new image


@dataclass(slots=True)
class _BuildKitCheck:
    """What ``check_buildkit`` has seen so far of a log, line by line."""

    file: str
    open_steps: dict[int, tuple[int, str]] = field(default_factory=dict)  # vertex: line, header
    finished: set[int] = field(default_factory=set)
    exported: bool = False
    facts: LogFacts = field(default_factory=LogFacts)

    def vertex_line(self, number: int, line: str, m: re.Match[str]) -> None:
        """One ``#N ...`` line: a step header, its end, or a build-level fact."""
        vertex, rest = int(m.group(1)), m.group(2)
        if is_step_header(rest):
            self.open_steps.setdefault(vertex, (number, rest))
        elif rest.startswith("DONE"):
            if not _DONE.match(rest):
                raise InputError(f"malformed time in {line[:60]!r}", self.file, number)
            self.finished.add(vertex)
        elif rest in ("CACHED", "CANCELED"):
            self.finished.add(vertex)
        elif rest.startswith("ERROR"):
            raise InputError(
                f"the build failed here ({rest[:60]}): calibrate from a build that succeeded",
                self.file,
                number,
            )
        elif rest.startswith("exporting to image"):
            self.exported = True
        else:
            self.facts = _with_fact(self.facts, rest)

    def unfinished(self, total_lines: int) -> None:
        """Refuse a log cut short: a step that never ended, or no export at the end."""
        for vertex, (number, header) in sorted(self.open_steps.items()):
            if vertex not in self.finished:
                raise InputError(
                    f"truncated log: step {header[:60]!r} (#{vertex}) never finished",
                    self.file,
                    number,
                )
        if not self.exported:
            raise InputError(
                "truncated log: it ends before 'exporting to image' (the build did not finish)",
                self.file,
                total_lines,
            )


def _with_fact(facts: LogFacts, rest: str) -> LogFacts:
    """The facts with one more: the context's size and time (the largest transfer is the
    context; the others are the Dockerfile and .dockerignore), or the export's time."""
    if ctx := _CONTEXT.match(rest):
        size = parse_size(ctx.group(1))
        if size > (facts.context_bytes or 0):
            seconds = float(ctx.group(2)) if ctx.group(2) else 0.0
            return replace(facts, context_bytes=size, context_seconds=seconds)
    elif exp := _EXPORT.match(rest):
        return replace(facts, export_seconds=float(exp.group(1) or 0.0))
    elif unpack := _UNPACK.match(rest):
        return replace(facts, unpack_seconds=float(unpack.group(1) or 0.0))
    return facts


def check_buildkit(lines: Sequence[str], file: str) -> LogFacts:
    """Refuse a malformed, truncated or failed BuildKit log; return its build-level facts."""
    check = _BuildKitCheck(file)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        m = _VERTEX.match(line)
        if line.startswith("#") and not m:
            raise InputError(f"malformed BuildKit line {line[:60]!r}", file, number)
        if m:
            check.vertex_line(number, line, m)
    check.unfinished(len(lines))
    return check.facts


def _stamps(lines: Sequence[str], file: str) -> tuple[list[str], list[float] | None]:
    """Split time stamps off a classic log's lines (all or none must have one)."""
    first = next((line for line in lines if line.strip()), "")
    if not _STAMP.match(first) or _STEP.match(first):
        return list(lines), None
    texts: list[str] = []
    times: list[float] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        m = _STAMP.match(line)
        if not m:
            raise InputError("a line without a time stamp in a time-stamped log", file, number)
        if m.group(1) is not None:
            moment = float(m.group(1))
        else:
            moment = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
        texts.append(m.group(5))
        times.append(moment)
    return texts, times


def check_legacy(lines: Sequence[str], file: str) -> None:
    """Refuse a malformed, truncated or failed classic-builder log."""
    expected = 1
    total = None
    done = False
    for number, line in enumerate(lines, start=1):
        text = line
        m = _STEP.match(text)
        if m:
            k, n = int(m.group(1)), int(m.group(2))
            if k != expected or (total is not None and n != total) or k > n:
                raise InputError(
                    f"malformed step numbering: 'Step {k}/{n}' where {expected}/"
                    f"{total or n} was due",
                    file,
                    number,
                )
            expected, total = k + 1, n
        elif text.startswith("Successfully built"):
            done = True
        elif text.startswith(("The command ", "COPY failed", "ADD failed", "Error response")):
            raise InputError(
                f"the build failed here ({text[:60]}): calibrate from a build that succeeded",
                file,
                number,
            )
    if not done or total is None or expected != total + 1:
        raise InputError(
            "truncated log: it ends before 'Successfully built' (the build did not finish)",
            file,
            len(lines),
        )


@dataclass(frozen=True, slots=True)
class BuildLog:
    """One build's record as log text: a plain-progress or classic log as the file holds
    it, or a rawjson log or ``.dockerbuild`` archive rendered as plain-progress lines
    (``rendered`` then maps each line back to the file's own)."""

    text: str
    file: str
    log_format: str  # text (plain or classic, told apart by the checks) | rawjson | dockerbuild
    rendered: status.PlainLog | None = None

    def located(self, err: InputError) -> InputError:
        """``err`` with a rendered line number turned back into the file's own line."""
        if self.rendered is None or err.file != self.file:
            return err
        return InputError(err.message, err.file, self.rendered.source_line(err.line))


def log_of_text(text: str, file: str) -> BuildLog:
    """A log given as text: rawjson is rendered, anything else is read as it is."""
    if status.looks_like_rawjson(text):
        rendered = status.read_rawjson(text, file)
        return BuildLog(rendered.text, file, "rawjson", rendered)
    return BuildLog(text, file, "text")


def read_log(path: str) -> BuildLog:
    """The build record in a file: a plain, classic or rawjson log, or a ``.dockerbuild``
    archive (``docker buildx history export``), told apart by their content."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such build log", path) from None
    except OSError as err:
        raise InputError(f"cannot read the build log: {err}", path) from None
    if status.is_archive(data):
        rendered = status.read_archive(data, path)
        return BuildLog(rendered.text, path, "dockerbuild", rendered)
    if path.endswith(".dockerbuild"):
        raise InputError(
            "not a .dockerbuild archive (`docker buildx history export` writes a "
            "gzip-compressed tar)",
            path,
        )
    return log_of_text(data.decode("utf-8", errors="replace"), path)


def calibrate(
    log: str | BuildLog,
    file: str = "<log>",
    *,
    history: str | None = None,
    history_file: str = "<history>",
    storage: str | None = None,
    buildkit: str | None = None,
    images: str | None = None,
    images_file: str = "<images>",
) -> Profile:
    """A profile from one real build's record (see the module docstring).

    ``storage`` is the engine's storage driver (``docker info --format '{{.Driver}}'``) and
    ``buildkit`` its BuildKit release (``core.versions``); no log says either, so they are
    recorded as given. ``images`` is ``docker image ls`` output: the base images' sizes,
    which ``docker history`` of the target gives for the target stage's base only. The
    profile is read from the log alone: its stage labels are matched to the Dockerfile's
    stages later, by ``Profile.find``.
    """
    source = log if isinstance(log, BuildLog) else log_of_text(log, file)
    listed = parse_images(images, images_file) if images is not None else {}
    try:
        return _calibrated(source, history, history_file, storage, buildkit, listed)
    except InputError as err:
        raise source.located(err) from None


def _calibrated(
    source: BuildLog,
    history: str | None,
    history_file: str,
    storage: str | None,
    buildkit: str | None,
    listed: dict[str, int],
) -> Profile:
    file = source.file
    lines = source.text.splitlines()
    engine = detect_engine(lines, file)
    machine: dict[str, Any] = {}
    notes: list[str] = []
    if registry.builder(engine).log_prints_times:  # BuildKit: `DONE 0.3s` per vertex
        steps = _buildkit_steps(source, lines, machine, notes)
        log_format = "plain" if source.log_format == "text" else source.log_format
    else:
        steps, stamped = _classic_steps(lines, file, notes)
        log_format = "classic-stamped" if stamped else "classic"
    froms = [s for s in steps if s.keyword == "FROM" and s.seconds is not None]
    if froms and all(s.seconds is not None and s.seconds < 0.5 for s in froms):
        machine["pull"] = False  # the base images were already on the machine
    if storage is not None:
        machine["storage"] = storage
    else:
        notes.append(f"no storage driver given: the model takes {Machine().storage}")
    if buildkit is not None and buildkit not in BUILDKIT_VERSIONS:
        raise InputError(f"unknown BuildKit {buildkit!r} (known: {', '.join(BUILDKIT_VERSIONS)})")
    images: dict[str, int] = dict(listed)
    if history is not None:
        # Layer sizes only: the export speed of a cold build is not learned, because the
        # first export of fresh layers runs several times slower than later ones (seen
        # here: 40 MB exported in 0.6 s cold, while a whole rebuild exporting 40 MB new
        # bytes took 0.96 s; benchmarks/accuracy, 06).
        steps, based, _layer_total = apply_history(steps, history, history_file)
        images.update(based)  # the layers below the first step: as exact as a listing
    machine_with(Machine(), machine, file)  # validates
    return Profile(
        engine, tuple(steps), machine, images, file, tuple(notes), buildkit, log_format
    )


def _buildkit_steps(
    source: BuildLog, lines: Sequence[str], machine: dict[str, Any], notes: list[str]
) -> list[MeasuredStep]:
    """A BuildKit log's steps, checked; its context rate goes into ``machine``."""
    facts = check_buildkit(lines, source.file)
    observed, _, _ = parse_buildkit_log(source.text)
    if facts.context_bytes and facts.context_bytes >= MB and facts.context_seconds:
        machine["context_mb_s"] = round(facts.context_bytes / MB / facts.context_seconds, 1)
    if facts.export_seconds is not None:
        notes.append(f"exporting layers took {facts.export_seconds}s")
    if facts.unpack_seconds is not None:
        notes.append(f"unpacking into the image store took {facts.unpack_seconds}s")
    return _measured(observed, lambda s: s.seconds)


def _classic_steps(
    lines: Sequence[str], file: str, notes: list[str]
) -> tuple[list[MeasuredStep], bool]:
    """A classic log's steps, checked, and whether it was time-stamped (else no times)."""
    texts, times = _stamps(lines, file)
    check_legacy(texts, file)
    observed, _, _ = parse_legacy_log("\n".join(texts), 0)
    seconds = _legacy_seconds(texts, times)
    if times is None:
        notes.append("the classic builder prints no times: only sizes were learned")
    return _measured(observed, lambda s: seconds.get(s.index)), times is not None


def _measured(
    observed: Sequence[ObservedStep], seconds_of: Callable[[ObservedStep], float | None]
) -> list[MeasuredStep]:
    """The steps of a log as measured steps; a cached step's time says nothing."""
    return [
        MeasuredStep(
            s.stage,
            s.index,
            normal_instruction(s.instruction),
            s.keyword,
            seconds_of(s) if s.status == "built" else None,
        )
        for s in observed
    ]


def _legacy_seconds(texts: Sequence[str], times: list[float] | None) -> dict[int, float]:
    """Seconds per classic step: from its ``Step`` line to the next one (or the end)."""
    if times is None:
        return {}
    marks = [(i, int(m.group(1))) for i, t in enumerate(texts) if (m := _STEP.match(t))]
    out: dict[int, float] = {}
    for position, (line_index, k) in enumerate(marks):
        end = marks[position + 1][0] if position + 1 < len(marks) else len(texts) - 1
        out[k] = round(max(times[end] - times[line_index], 0.0), 3)
    return out


# --- docker history -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryRow:
    created_by: str
    size: int


def parse_history(text: str, file: str) -> list[HistoryRow]:
    """Rows of ``docker history --no-trunc IMAGE`` (table) or ``--format
    '{{.Size}}\\t{{.CreatedBy}}'``, newest first as printed."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("empty docker history output", file, 1)
    rows: list[HistoryRow] = []
    header = lines[0]
    if header.startswith("IMAGE") and "CREATED BY" in header and "SIZE" in header:
        by, size_at, comment = (
            header.index("CREATED BY"),
            header.index("SIZE"),
            header.find("COMMENT"),
        )
        for number, line in enumerate(lines[1:], start=2):
            size_text = line[size_at : comment if comment > 0 else None].split()
            if not size_text:
                raise InputError(f"no size in history line {line[:60]!r}", file, number)
            rows.append(
                HistoryRow(line[by:size_at].strip(), _history_size(size_text[0], file, number))
            )
        return rows
    expected = (
        "history lines must be '<size>\\t<created by>' (docker history --format "
        "'{{.Size}}\\t{{.CreatedBy}}') or the table of 'docker history --no-trunc'"
    )
    for number, size_text, created in _tab_split(lines, file, expected):
        rows.append(HistoryRow(created, _history_size(size_text, file, number)))
    return rows


def _tab_split(lines: Sequence[str], file: str, expected: str) -> Iterator[tuple[int, str, str]]:
    """Each line, numbered from 1, cut at its first tab (both sides stripped); a line with
    no tab is bad input, ``expected`` saying what a line must look like."""
    for number, line in enumerate(lines, start=1):
        left, sep, right = line.partition("\t")
        if not sep:
            raise InputError(expected, file, number)
        yield number, left.strip(), right.strip()


def parse_images(text: str, file: str) -> dict[str, int]:
    """Image sizes by reference from ``docker image ls`` (its table) or ``docker image ls
    --format '{{.Repository}}:{{.Tag}}\\t{{.Size}}'``; untagged images are left out."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("empty docker image ls output", file, 1)
    sizes: dict[str, int] = {}
    header = lines[0].split()
    if header[:2] == ["REPOSITORY", "TAG"] and header[-1] == "SIZE":
        for number, line in enumerate(lines[1:], start=2):
            words = line.split()
            if len(words) < 3:
                raise InputError(f"not an image line: {line[:60]!r}", file, number)
            if "<none>" not in words[:2]:
                sizes[image_key(f"{words[0]}:{words[1]}")] = _history_size(words[-1], file, number)
        return sizes
    expected = (
        "image lines must be '<repository>:<tag>\\t<size>' (docker image ls --format "
        "'{{.Repository}}:{{.Tag}}\\t{{.Size}}') or the table of 'docker image ls'"
    )
    for number, ref, size in _tab_split(lines, file, expected):
        if "<none>" not in ref:
            sizes[image_key(ref)] = _history_size(size, file, number)
    return sizes


def _history_size(text: str, file: str, line: int) -> int:
    try:
        return parse_size(text)
    except InputError:
        raise InputError(f"bad size {text!r} in docker history", file, line) from None


def _history_instruction(created_by: str) -> tuple[str, str]:
    """(keyword, body) of a history row's CREATED BY (BuildKit and classic forms)."""
    text = created_by.removesuffix("# buildkit").strip()
    if text.startswith("/bin/sh -c #(nop) "):
        text = text.removeprefix("/bin/sh -c #(nop) ").strip()
    elif text.startswith("/bin/sh -c "):
        return "RUN", text.removeprefix("/bin/sh -c ").strip()
    keyword, _, body = text.partition(" ")
    if keyword == "RUN":
        body = _with_build_args(body).removeprefix("/bin/sh -c ").strip()
    return keyword.upper(), body.strip()


def _with_build_args(body: str) -> str:
    """``|1 DATA=1 /bin/sh -c echo $DATA`` -> ``/bin/sh -c echo 1``: a RUN that build
    arguments reach is written in the history with their count and values first and the
    command unexpanded, where the log prints it expanded (seen on Docker 20.10 and 28.5,
    accuracy scenario dd-400-behind-arg). Values with spaces are not told apart here."""
    m = re.match(r"\|(\d+) ", body)
    if not m:
        return body
    words = body[m.end() :].split(" ")
    count = int(m.group(1))
    pairs = [w.partition("=") for w in words[:count]]
    if len(words) <= count or any(not sep for _, sep, _ in pairs):
        return body
    command = " ".join(words[count:])
    for name, _, value in sorted(pairs, key=lambda p: -len(p[0])):
        command = command.replace("${" + name + "}", value).replace("$" + name, value)
    return command


_SIZED = ("RUN", "COPY", "ADD", "WORKDIR")  # the instructions whose layer has a size


def _history_match(
    steps: Sequence[MeasuredStep], used: set[int], keyword: str, body: str
) -> int | None:
    """The first step not yet matched that made this history row: same keyword and text, or
    (``COPY file:... in /dest``, as the classic builder records it) the same destination."""
    if keyword not in _SIZED:
        return None
    theirs = normal_instruction(f"{keyword} {body}")
    dest = body.rsplit(" in ", 1)[-1].strip() if " in " in body else None
    for i, step in enumerate(steps):
        if i in used or step.keyword != keyword:
            continue
        mine = normal_instruction(step.instruction)
        if theirs in (mine, _without_from(mine)):
            return i
        if dest and mine.endswith(" " + dest):
            return i
    return None


def _without_from(instruction: str) -> str:
    """``COPY --from=build /out/app /app`` as BuildKit's history writes it, ``COPY /out/app
    /app``: the ``--from`` flag is left out (seen on Docker 20.10, the go-multistage
    accuracy scenario; tests/timing_logs/buildkit-gostages-cold-history.txt)."""
    keyword, _, rest = instruction.partition(" ")
    words = [w for w in rest.split(" ") if not w.startswith("--from=")]
    return " ".join([keyword, *words])


def _base_ref(steps: Sequence[MeasuredStep], stage: str) -> str | None:
    """The image the stage of the first matched layer starts FROM (or the only FROM)."""
    ref = next(
        (s.instruction.split()[1] for s in steps if s.keyword == "FROM" and s.stage == stage),
        None,
    )
    if ref is None:
        froms = [s for s in steps if s.keyword == "FROM"]
        ref = froms[0].instruction.split()[1] if len(froms) == 1 else None
    return _without_resolved_digest(ref) if ref is not None else None


def _without_resolved_digest(ref: str) -> str:
    """``python:3.12-slim@sha256:...`` -> ``python:3.12-slim``: with the containerd image
    store, Docker 28.5 prints the digest it resolved a tagged FROM to (seen:
    ``[ 1/13] FROM docker.io/library/python:3.12-slim@sha256:3084...``); the tag is what a
    scenario names. A reference by digest alone stays as it is."""
    name, at, _digest = ref.partition("@")
    return name if at and ":" in name.rsplit("/", 1)[-1] else ref


def apply_history(
    steps: list[MeasuredStep], text: str, file: str
) -> tuple[list[MeasuredStep], dict[str, int], int]:
    """Layer sizes from ``docker history`` put on the steps that made them.

    Rows, oldest first, are matched in order to the steps of the same keyword and text;
    the rows below the first matched one are the base image. Returns the steps, the base
    image's size by image reference, and the bytes of the matched layers.
    """
    rows = list(reversed(parse_history(text, file)))
    out = list(steps)
    used: set[int] = set()
    base = 0
    first_match: int | None = None
    total = 0
    for row in rows:
        found = _history_match(out, used, *_history_instruction(row.created_by))
        if found is None:
            if first_match is None:
                base += row.size
            continue
        used.add(found)
        first_match = found if first_match is None else first_match
        out[found] = replace(out[found], bytes=row.size)
        total += row.size
    images: dict[str, int] = {}
    ref = _base_ref(out, out[first_match].stage) if first_match is not None else None
    if ref is not None:
        images[image_key(ref)] = base
    return out, images, total


# --- the profile file -----------------------------------------------------------------------


def profile_to_yaml(profile: Profile) -> str:
    """The profile file's text (YAML; docs/time-model.md, "Profiles")."""
    data: dict[str, Any] = {
        "cachesim_profile": PROFILE_VERSION,
        "engine": profile.engine,
        "buildkit": profile.buildkit,
        "log_format": profile.log_format,
        "source": profile.source,
        "machine": dict(profile.machine),
        "images": dict(profile.images),
        "steps": [
            {
                k: v
                for k, v in (
                    ("stage", step.stage),
                    ("index", step.index),
                    ("instruction", step.instruction),
                    ("seconds", step.seconds),
                    ("bytes", step.bytes),
                )
                if v is not None
            }
            for step in profile.steps
        ],
    }
    if profile.notes:
        data["notes"] = list(profile.notes)
    return yaml.safe_dump(data, sort_keys=False, width=100)


def load_profile(path: str) -> Profile:
    """Read a profile file written by ``cachesim calibrate`` (format 2, or 1: before the
    BuildKit and the log format were recorded); bad content is an InputError."""
    text = read_text(path, "profile file")
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        raise InputError(
            f"broken YAML: {err.problem}", path, mark.line + 1 if mark else None
        ) from None
    engine, buildkit = _profile_header(data, path)
    machine = data.get("machine") or {}
    if not isinstance(machine, dict):
        raise InputError("'machine' must be a mapping", path)
    machine_with(Machine(), machine, path)
    entries = data.get("steps") or []
    if not isinstance(entries, list):
        raise InputError("'steps' must be a list", path)
    images = data.get("images") or {}
    if not isinstance(images, dict):
        raise InputError("'images' must map an image to its size", path)
    return Profile(
        engine,
        tuple(_profile_step(entry, path) for entry in entries),
        dict(machine),
        {image_key(str(k)): parse_size(v, path) for k, v in images.items()},
        str(data.get("source", path)),
        tuple(data.get("notes") or ()),
        buildkit,
        str(data.get("log_format") or ""),
    )


def _profile_header(data: object, path: str) -> tuple[str, str | None]:
    """The profile's format (checked), builder and BuildKit."""
    if not isinstance(data, dict) or "cachesim_profile" not in data:
        raise InputError(
            f"not a cachesim profile (expected 'cachesim_profile: {PROFILE_VERSION}')", path, 1
        )
    version = data["cachesim_profile"]
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise InputError(
            f"profile format {version!r} is not one this cachesim reads "
            f"({', '.join(map(str, READABLE_VERSIONS))}): calibrate again",
            path,
            1,
        )
    engine = data.get("engine")
    if engine not in registry.NAMES:
        raise InputError(f"unknown engine {engine!r} in the profile", path)
    buildkit = data.get("buildkit")
    if buildkit is not None and buildkit not in BUILDKIT_VERSIONS:
        known = ", ".join(BUILDKIT_VERSIONS)
        raise InputError(f"unknown BuildKit {buildkit!r} in the profile (known: {known})", path)
    return engine, buildkit


def _profile_step(entry: object, path: str) -> MeasuredStep:
    """One ``steps:`` entry of a profile file."""
    if not isinstance(entry, dict) or "instruction" not in entry:
        raise InputError(f"bad profile step {entry!r}", path)
    seconds = entry.get("seconds")
    if seconds is not None and (
        not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0
    ):
        raise InputError(f"bad seconds {seconds!r} in the profile", path)
    index = entry.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputError(f"bad step index {index!r} in the profile", path)
    text = str(entry["instruction"])
    return MeasuredStep(
        str(entry.get("stage", "0")),
        index,
        normal_instruction(text),
        instruction_keyword(text),
        None if seconds is None else float(seconds),
        None if entry.get("bytes") is None else parse_size(entry["bytes"], path),
    )
