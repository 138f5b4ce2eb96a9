"""Where the time model's figures come from: units, the machine, profiles and `timing:`.

The formats a user writes or a calibration produces (docs/time-model.md): sizes such as
``130MB``, the machine figures (disk and network speeds, cores, fixed costs), a measured
``Profile`` learned from a real build log, and the scenario's declared ``timing:`` section.
Parsing errors are bad input (``InputError``, file and line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from cachesim.core.errors import InputError
from cachesim.core.results import StepResult
from cachesim.sources.scenario import image_key

MB = 1_000_000
SOURCES = ("measured", "declared", "default")

# --- sizes ----------------------------------------------------------------------------------

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": MB,
    "mb": MB,
    "mib": 1 << 20,
    "g": 1000 * MB,
    "gb": 1000 * MB,
    "gib": 1 << 30,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object, file: str | None = None, line: int | None = None) -> int:
    """Bytes from ``1234``, ``"120MB"``, ``"1.5GiB"`` or ``"200k"`` (SI and binary units)."""
    if isinstance(value, bool):
        raise InputError(f"bad size {value!r}", file, line)
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    m = _SIZE.match(str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise InputError(f"bad size {value!r} (e.g. 1200, '120MB', '1.5GiB')", file, line)
    return round(float(m.group(1)) * _UNITS[m.group(2).lower()])


def human_size(size: float) -> str:
    """``123456789`` -> ``123.5 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"


# --- the machine --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Machine:
    """What the engine's machine can do. Defaults: docs/time-model.md, "Machine defaults"."""

    cores: int = 2
    disk_mb_s: float = 300.0  # reading layers back from disk (vfs snapshot copies)
    memory_mb_s: float = 2000.0  # copying bytes still in the page cache
    write_mb_s: float = 500.0  # a command writing new bytes (dd, unpacking)
    context_mb_s: float = 150.0  # client -> daemon context transfer (BuildKit's file sync)
    tar_mb_s: float = 500.0  # the classic builder's context, one tar stream
    network_mb_s: float = 20.0  # registry pulls and downloads
    file_ms: float = 0.02  # per file copied, sent or exported
    snapshot_file_ms: float = 0.02  # per file of the parent a vfs snapshot copies (warm)
    cold_file_ms: float = 0.6  # per file copied or made on a scenario's first build (cold)
    export_mb_s: float = 1000.0  # writing new layers into the image store (page cache)
    export_seconds: float = 0.45  # fixed cost of BuildKit's "exporting to image"
    export_floor_seconds: float = 0.9  # the least a later build exporting an image took
    diff_file_ms: float = 0.03  # vfs: per file of a new layer's parent its diff compares
    # vfs: the image store makes each exported layer as a copy of its parent (bytes/s)
    export_parent_mb_s: float = 2000.0
    # an export that ends on a clock's tick (0: none), ``lead`` seconds before it
    export_tick_seconds: float = 0.0
    export_tick_lead: float = 0.0
    build_seconds: float = 0.15  # per build: client start, session, Dockerfile, metadata
    run_seconds: float = 0.25  # per executed RUN: a container starts and stops
    copy_seconds: float = 0.1  # per executed COPY/ADD
    meta_seconds: float = 0.05  # per executed WORKDIR (classic: ENV, LABEL... commit too)
    commit_seconds: float = 0.3  # classic builder: committing each built step as an image
    # classic builder on vfs: each committed step copies its whole file system (the step's
    # container, then the new layer) and walks it for the diff (docs/time-model.md)
    commit_mb_s: float = 250.0
    commit_file_ms: float = 0.17
    lookup_seconds: float = 0.01  # a cached step
    # the part of a measured RUN's own work a cache mount filled by an earlier build saves
    # (the measured cold run filled it; docs/time-model.md "Cache mounts")
    mount_hit_saving: float = 0.8
    pull_seconds: float = 1.0  # per pulled image: manifest, auth, unpack start
    storage: str = "overlay2"  # a STORAGE_DRIVERS name (vfs copies the parent into each snapshot)
    pull: bool = True  # base images are pulled on a cold cache (False: already local)

    @property
    def copies_parent(self) -> bool:
        """Whether a new snapshot is a full copy of its parent file system (vfs), rather than
        a layer over it (overlay2, and the containerd snapshotter's overlayfs), and whether
        each file a step makes costs a copy-on-write file of its own."""
        return self.storage == "vfs"


# The storage drivers a machine can have, as ``docker info --format '{{.Driver}}'`` names
# them: ``overlayfs`` is the containerd image store's snapshotter (dockerd
# ``--feature containerd-snapshotter=true``, the default of new Docker installs since 29).
STORAGE_DRIVERS = ("overlay2", "overlayfs", "vfs")


MACHINE_KEYS = {f.name for f in fields(Machine)}


def machine_with(
    base: Machine, values: Mapping[str, Any], file: str | None = None, line: int | None = None
) -> Machine:
    """``base`` with ``values`` (from YAML) checked and applied."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in MACHINE_KEYS:
            known = ", ".join(sorted(MACHINE_KEYS))
            raise InputError(f"unknown machine figure '{key}' (known: {known})", file, line)
        if key == "storage":
            if value not in STORAGE_DRIVERS:
                names = ", ".join(STORAGE_DRIVERS)
                raise InputError(f"storage must be one of {names}, not {value!r}", file, line)
            changes[key] = value
        elif key == "pull":
            if not isinstance(value, bool):
                raise InputError("'pull' must be true or false", file, line)
            changes[key] = value
        elif key == "cores":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"cores must be a whole number >= 1, not {value!r}", file, line)
            changes[key] = value
        else:
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InputError(f"{key} must be a number >= 0, not {value!r}", file, line)
            if key.endswith("_mb_s") and value == 0:
                raise InputError(f"{key} must be more than 0", file, line)
            changes[key] = float(value)
    return replace(base, **changes)


# --- figures: measured, declared --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepFigure:
    """What is known of one step: its seconds and the bytes and files of its layer."""

    seconds: float | None = None
    bytes: int | None = None
    files: int | None = None


@dataclass(frozen=True, slots=True)
class MeasuredStep:
    """One step of a real build (a profile entry), matched to steps by stage/instruction."""

    stage: str
    index: int
    instruction: str
    keyword: str
    seconds: float | None
    bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """Figures measured on a real build: per step, and the machine figures it showed.

    Everything the model learns from a log is here, so that a profile written to a file
    and read back predicts exactly what the log itself does (docs/time-model.md,
    "Profiles"). A step's ``stage`` is the log's own label, read without the Dockerfile:
    the stage's name, or its index (``"0"`` for the only stage of a build that prints
    none, ``"1"`` for ``stage-1``); ``find`` matches it against a step's name or index.
    """

    engine: str  # the builder: buildkit | legacy
    steps: tuple[MeasuredStep, ...] = ()
    machine: Mapping[str, Any] = field(default_factory=dict)  # measured machine figures
    images: Mapping[str, int] = field(default_factory=dict)  # base image bytes
    source: str = ""  # the log it came from
    notes: tuple[str, ...] = ()
    buildkit: str | None = None  # the engine's BuildKit (core.versions), when known
    log_format: str = ""  # plain | rawjson | dockerbuild | classic | classic-stamped

    def find(
        self, step: StepResult, full_text: str, stage_index: int | None = None
    ) -> MeasuredStep | None:
        """The measured step for a predicted one: same stage and text, else same text,
        else same stage and position. ``stage_index`` is the step's stage's position in
        its Dockerfile (a log labels an unnamed or only stage by it)."""
        stages = {step.stage} | ({str(stage_index)} if stage_index is not None else set())
        wanted = normal_instruction(full_text)
        first = normal_instruction(step.instruction)
        same_text = [
            m
            for m in self.steps
            if normal_instruction(m.instruction) in (wanted, first) and m.keyword == step.keyword
        ]
        for m in same_text:
            if m.stage in stages:
                return m
        if len(same_text) == 1:
            return same_text[0]
        for m in self.steps:  # variables expanded in the log: fall back on the position
            if m.stage in stages and m.index == step.index and m.keyword == step.keyword:
                return m
        return None


@dataclass(frozen=True, slots=True)
class Timing:
    """The scenario's ``timing:`` section (or a build's), validated."""

    machine: Mapping[str, Any] = field(default_factory=dict)
    lines: Mapping[int, StepFigure] = field(default_factory=dict)  # Dockerfile line -> figure
    texts: Mapping[str, StepFigure] = field(default_factory=dict)  # instruction prefix
    images: Mapping[str, int] = field(default_factory=dict)

    def find(self, step: StepResult, full_text: str) -> StepFigure | None:
        if step.line in self.lines:
            return self.lines[step.line]
        text = normal_instruction(full_text)
        best: tuple[int, StepFigure] | None = None
        for prefix, figure in self.texts.items():
            if text.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), figure)
        return best[1] if best else None

    def over(self, other: Timing) -> Timing:
        """This timing with ``other``'s entries on top (a build's timing over the scenario's)."""
        return Timing(
            {**self.machine, **other.machine},
            {**self.lines, **other.lines},
            {**self.texts, **other.texts},
            {**self.images, **other.images},
        )


TIMING_KEYS = {"machine", "steps", "images"}
FIGURE_KEYS = {"seconds", "bytes", "files"}


def _line_of(data: object, key: str | None, fallback: int | None) -> int | None:
    lines = getattr(data, "lines", None) or {}
    if key is not None and str(key) in lines:
        return lines[str(key)]
    return getattr(data, "line", None) or fallback


def parse_timing(raw: Mapping[str, Any] | None, file: str | None = None) -> Timing:
    """Validate a ``timing:`` mapping (see docs/time-model.md, "The timing: section")."""
    if not raw:
        return Timing()
    if not isinstance(raw, Mapping):
        raise InputError("'timing' must be a mapping", file, _line_of(raw, None, None))
    for key in raw:
        if key not in TIMING_KEYS:
            known = ", ".join(sorted(TIMING_KEYS))
            raise InputError(
                f"unknown key '{key}' in timing (known: {known})", file, _line_of(raw, key, None)
            )
    machine = raw.get("machine") or {}
    if not isinstance(machine, Mapping):
        raise InputError(
            "'machine' in timing must be a mapping", file, _line_of(raw, "machine", None)
        )
    for key, value in machine.items():  # checked now, applied later
        machine_with(Machine(), {key: value}, file, _line_of(machine, key, None))
    lines: dict[int, StepFigure] = {}
    texts: dict[str, StepFigure] = {}
    steps = raw.get("steps") or {}
    if not isinstance(steps, Mapping):
        raise InputError(
            "'steps' in timing must map a Dockerfile line or an instruction to a figure",
            file,
            _line_of(raw, "steps", None),
        )
    for key, value in steps.items():
        where = _line_of(steps, key, None)
        figure = _figure(value, file, where)
        if isinstance(key, int) and not isinstance(key, bool):
            lines[key] = figure
        elif isinstance(key, str) and key.strip():
            texts[normal_instruction(key)] = figure
        else:
            raise InputError(f"bad step key {key!r}: a line number or instruction", file, where)
    images = raw.get("images") or {}
    if not isinstance(images, Mapping):
        raise InputError("'images' in timing must map an image to its size", file, None)
    sizes = {
        image_key(str(k)): parse_size(v, file, _line_of(images, k, None)) for k, v in images.items()
    }
    return Timing(dict(machine), lines, texts, sizes)


def _figure(value: object, file: str | None, line: int | None) -> StepFigure:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise InputError(f"negative seconds {value}", file, line)
        return StepFigure(seconds=float(value))
    if not isinstance(value, Mapping):
        raise InputError(
            f"a step's timing is seconds or {{seconds, bytes, files}}, not {value!r}", file, line
        )
    for key in value:
        if key not in FIGURE_KEYS:
            raise InputError(
                f"unknown key '{key}' in a step's timing (known: bytes, files, seconds)", file, line
            )
    seconds = value.get("seconds")
    if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
        raise InputError(f"bad seconds {seconds!r}", file, line)
    files = value.get("files")
    if files is not None and (not isinstance(files, int) or files < 0):
        raise InputError(f"bad files {files!r}", file, line)
    size = value.get("bytes")
    return StepFigure(
        None if seconds is None else float(seconds),
        None if size is None else parse_size(size, file, line),
        files,
    )


def normal_instruction(text: str) -> str:
    """An instruction compared loosely: continuations joined, spaces collapsed, keyword upper."""
    joined = re.sub(r"\\\s*\n", " ", text)
    words = joined.split()
    if not words:
        return ""
    return " ".join([words[0].upper(), *words[1:]])
