"""Scenarios: load, validate and replay the YAML format of ``shared/spec/scenario-format.md``.

A scenario is one Dockerfile, one build context and a sequence of builds with the
changes made before each. Loading checks every key and every change *before* anything is
simulated, so a typo is one clear ``InputError`` naming the file, the line, the build and
the change, never a half-run simulation. ``requests`` replays the changes and yields one
``BuildRequest`` per build: exactly what ``docker build`` would see on disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dockerfile as dockerfile_parser
import yaml

from cachesim.builders.reads import DeclaredRun
from cachesim.context.downloads import is_url
from cachesim.context.snapshot import (
    TOUCH_SECONDS,
    generated_content,
    normalize,
    parse_mode,
    read_folder,
    under,
)
from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.core.errors import InputError

TOP_KEYS = {
    "name",
    "description",
    "engine",
    "dockerfile",
    "dockerignore",
    "files",
    "context",
    "build_args",
    "target",
    "builds",
    # additions to the spec (allowed: "extend it only by adding keys")
    "verify",
    "verify_reason",
    "timing",
    "image_store",
    "urls",
    "runs",
}
RUN_KEYS = {"run", "line", "reads", "writes", "fails"}
BUILD_KEYS = {"name", "changes", "build_args", "target", "no_cache", "timing"}
CHANGE_KEYS: dict[str, set[str]] = {
    "edit": {"content", "append", "size"},
    "add": {"content", "size", "mode"},
    "delete": set(),
    "rename": {"to"},
    "chmod": {"mode"},
    "touch": set(),
    "build_arg": {"value"},
    "dockerfile": set(),
    "dockerignore": set(),
    "base_image": set(),
    "prune": set(),
    "url": {"content"},  # an addition: what an `ADD https://...` URL serves from now on
}
ENGINES = ("buildkit", "legacy")
# The daemon's image store: the classic graph drivers (vfs, overlay2), or containerd's
# snapshotters (Docker's `--feature containerd-snapshotter=true`, the default of new installs
# of Docker 29). COPY --link and image export differ between them (docs/cache-rules.md).
IMAGE_STORES = ("graphdriver", "containerd")


class _Lines(dict):
    """A mapping that remembers the line of each key (1-based)."""

    lines: dict[str, int]
    line: int


class _Loader(yaml.SafeLoader):
    """YAML loader that keeps line numbers and leaves octal-looking numbers as text."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        mapping = _Lines(super().construct_mapping(node, deep=True))
        mapping.lines = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int):
                mapping.lines[str(key)] = key_node.start_mark.line + 1
        mapping.line = node.start_mark.line + 1
        return mapping

    def construct_yaml_int(self, node):  # type: ignore[override]
        text = self.construct_scalar(node)
        if re.fullmatch(r"0[0-7]+", str(text)):
            return str(text)  # a mode such as 0755: keep the octal digits
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


@dataclass(frozen=True, slots=True)
class Change:
    """One change made to the context, the Dockerfile or the engine before a build."""

    kind: str  # a key of CHANGE_KEYS
    subject: str | None  # the path, argument name, image ref, or replacement text
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None

    def describe(self) -> str:
        subject = "" if self.subject is None else str(self.subject)
        if self.kind in ("dockerfile", "dockerignore"):
            return f"{self.kind} replaced"
        return f"{self.kind} {subject}".strip()


@dataclass(frozen=True, slots=True)
class Build:
    """One ``docker build`` of the sequence."""

    name: str
    changes: tuple[Change, ...] = ()
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    target: str | None = None
    target_set: bool = False  # the build names its own target (possibly null)
    no_cache: bool = False
    line: int | None = None
    timing: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    engine: str
    dockerfile: str
    dockerignore: str | None
    files: Mapping[str, ContextFile]
    build_args: Mapping[str, str | None]
    target: str | None
    builds: tuple[Build, ...]
    source: str = "<scenario>"
    verify: bool = True
    verify_reason: str | None = None
    timing: Mapping[str, Any] = field(default_factory=dict)
    image_store: str = "graphdriver"  # the engine's image store: graphdriver | containerd
    urls: Mapping[str, bytes] = field(default_factory=dict)  # URL -> what it serves at first
    runs: tuple[DeclaredRun, ...] = ()  # what RUNs read and write, or that they fail


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise ``InputError`` naming file and line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such scenario file", file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the scenario: {err}", file) from None
    return loads(text, file, base_dir=Path(path).parent)


def loads(text: str, file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate scenario text (see ``load``)."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(f"broken YAML: {err.problem or err.context}", file, line) from None
    except yaml.YAMLError as err:
        raise InputError(f"broken YAML: {err}", file) from None
    return _Reader(file, base_dir or Path(".")).scenario(data)


class _Reader:
    """Validation of the parsed YAML, one method a level, each error with file and line."""

    def __init__(self, file: str, base_dir: Path):
        self.file = file
        self.base_dir = base_dir

    def fail(self, message: str, line: int | None) -> InputError:
        return InputError(message, self.file, line)

    def _mapping(self, value: Any, what: str, line: int | None) -> _Lines:
        if not isinstance(value, _Lines):
            raise self.fail(f"{what} must be a mapping", line)
        return value

    def _keys(self, data: _Lines, allowed: set[str], what: str) -> None:
        for key in data:
            if str(key) not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(
                    f"unknown key '{key}' in {what} (known: {known})",
                    data.lines.get(str(key), data.line),
                )

    def _text(self, data: _Lines, key: str, what: str, required: bool = False) -> str | None:
        if key not in data or data[key] is None:
            if required:
                raise self.fail(f"{what} needs '{key}'", data.line)
            return None
        value = data[key]
        if not isinstance(value, str):
            raise self.fail(f"'{key}' in {what} must be text", data.lines.get(key))
        return value

    def scenario(self, data: Any) -> Scenario:
        if not isinstance(data, _Lines):
            raise self.fail("a scenario must be a YAML mapping", 1)
        self._keys(data, TOP_KEYS, "the scenario")
        name = self._text(data, "name", "the scenario", required=True) or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise self.fail(
                f"bad name '{name}': use letters, digits, '-' and '_'", data.lines.get("name")
            )
        engine = data.get("engine") or "buildkit"
        if engine not in ENGINES:
            raise self.fail(
                f"unknown engine '{engine}' (buildkit or legacy)", data.lines.get("engine")
            )
        dockerfile = self._text(data, "dockerfile", "the scenario", required=True) or ""
        if "files" in data and "context" in data:
            raise self.fail("give either 'files' or 'context', not both", data.lines.get("context"))
        if "context" in data:
            files = self._folder(data)
        else:
            files = self._files(data.get("files") or _empty(), data.lines.get("files"))
        builds_raw = data.get("builds")
        if not isinstance(builds_raw, list) or not builds_raw:
            raise self.fail(
                "'builds' must be a list with at least one build",
                data.lines.get("builds", data.line),
            )
        builds = tuple(self._build(raw, i) for i, raw in enumerate(builds_raw, start=1))
        verify = data.get("verify", True)
        if not isinstance(verify, bool):
            raise self.fail("'verify' must be true or false", data.lines.get("verify"))
        image_store = data.get("image_store") or "graphdriver"
        if image_store not in IMAGE_STORES:
            raise self.fail(
                f"unknown image_store '{image_store}' (graphdriver or containerd)",
                data.lines.get("image_store"),
            )
        timing = data.get("timing") or {}
        if not isinstance(timing, dict):
            raise self.fail("'timing' must be a mapping", data.lines.get("timing"))
        return Scenario(
            name=name,
            description=self._text(data, "description", "the scenario") or "",
            engine=engine,
            dockerfile=dockerfile,
            dockerignore=self._text(data, "dockerignore", "the scenario"),
            files=files,
            build_args=self._args(data.get("build_args"), data.lines.get("build_args")),
            target=self._target(data, "the scenario"),
            builds=builds,
            source=self.file,
            verify=verify,
            verify_reason=self._text(data, "verify_reason", "the scenario"),
            timing=timing,
            image_store=image_store,
            urls=self._urls(data.get("urls"), data.lines.get("urls")),
            runs=self._runs(data, builds, dockerfile),
        )

    def _urls(self, raw: Any, line: int | None) -> dict[str, bytes]:
        """``urls: {URL: TEXT}``: what each URL serves before any change."""
        if raw is None:
            return {}
        data = self._mapping(raw, "'urls'", line)
        out: dict[str, bytes] = {}
        for url, text in data.items():
            where = data.lines.get(str(url), line)
            if not is_url(str(url)):
                raise self.fail(f"'urls': {url!r} is not an http:// or https:// URL", where)
            if not isinstance(text, str):
                raise self.fail(f"'urls': the content of {url} must be text", where)
            out[str(url)] = text.encode()
        return out

    def _runs(self, data: _Lines, builds: tuple[Build, ...], dockerfile: str) -> tuple:
        """The `runs:` list: each entry names one RUN (by `run:` text or `line:`) and says
        what it reads and writes, or in which builds it fails."""
        raw = data.get("runs")
        if raw is None:
            return ()
        line = data.lines.get("runs")
        if not isinstance(raw, list):
            raise self.fail("'runs' must be a list of {run: TEXT, reads: [...]}", line)
        texts = set()
        for text in [dockerfile] + [
            c.subject for b in builds for c in b.changes if c.kind == "dockerfile"
        ]:
            texts |= run_texts(text or "")
        names = {b.name for b in builds}
        out = []
        for number, entry in enumerate(raw, start=1):
            what = f"runs entry {number}"
            spec = self._mapping(entry, what, line)
            self._keys(spec, RUN_KEYS, what)
            at = spec.line
            if ("run" in spec) == ("line" in spec):
                raise self.fail(f"{what}: give 'run: COMMAND TEXT' or 'line: N', one of them", at)
            run = spec.get("run")
            if run is not None:
                if not isinstance(run, str) or " ".join(run.split()) not in texts:
                    raise self.fail(f"{what}: no RUN of the Dockerfile has the text {run!r}", at)
                run = " ".join(run.split())
            number_line = spec.get("line")
            if number_line is not None and (
                not isinstance(number_line, int) or isinstance(number_line, bool)
            ):
                raise self.fail(f"{what}: 'line' must be a Dockerfile line number", at)
            globs = {}
            for key in ("reads", "writes"):
                value = spec.get(key)
                if value is not None and (
                    not isinstance(value, list) or not all(isinstance(v, str) for v in value)
                ):
                    raise self.fail(f"{what}: '{key}' must be a list of paths or globs", at)
                globs[key] = None if value is None else tuple(value)
            fails = spec.get("fails", False)
            if fails is True:
                failing: tuple[str, ...] | None = None
            elif fails is False:
                failing = ()
            elif isinstance(fails, list) and all(isinstance(f, str) for f in fails):
                unknown = [f for f in fails if f not in names]
                if unknown:
                    raise self.fail(f"{what}: 'fails' names no build '{unknown[0]}'", at)
                failing = tuple(fails)
            else:
                raise self.fail(f"{what}: 'fails' must be true, false or a list of builds", at)
            if globs["reads"] is None and globs["writes"] is not None:
                raise self.fail(f"{what}: 'writes' needs 'reads' too", at)
            out.append(
                DeclaredRun(run, number_line, globs["reads"], globs["writes"] or (), failing, at)
            )
        return tuple(out)

    def _target(self, data: _Lines, what: str) -> str | None:
        value = data.get("target")
        if value is not None and not isinstance(value, str):
            raise self.fail(f"'target' in {what} must be a stage name", data.lines.get("target"))
        return value

    def _folder(self, data: _Lines) -> dict[str, ContextFile]:
        line = data.lines.get("context")
        folder = data["context"]
        if not isinstance(folder, str):
            raise self.fail("'context' must be a folder path", line)
        path = (self.base_dir / folder).resolve()
        if not path.is_dir():
            raise self.fail(f"context folder not found: {path}", line)
        return read_folder(path)

    def _path(self, raw: Any, line: int | None) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(f"bad path {raw!r}", line)
        path = normalize(raw)
        if not path or raw.replace("\\", "/").split("/")[0] == ".." or raw.startswith("/"):
            raise self.fail(f"bad path '{raw}': give a path inside the context", line)
        return path

    def _files(self, raw: Any, line: int | None) -> dict[str, ContextFile]:
        data = self._mapping(raw, "'files'", line)
        files: dict[str, ContextFile] = {}
        for key, value in data.items():
            key_line = data.lines.get(str(key), line)
            path = self._path(key, key_line)
            files[path] = self._file(value, path, key_line)
        return files

    def _file(self, value: Any, path: str, line: int | None) -> ContextFile:
        if isinstance(value, str):
            return ContextFile(value.encode())
        spec = self._mapping(value, f"file '{path}'", line)
        self._keys(spec, {"content", "size", "mode"}, f"file '{path}'")
        mode = parse_mode(spec["mode"], self.file, line) if "mode" in spec else 0o644
        return ContextFile(self._content(spec, path, line, seed=path), mode)

    def _content(self, spec: Mapping, path: str, line: int | None, seed: str) -> bytes:
        if "content" in spec and "size" in spec:
            raise self.fail(f"file '{path}': give 'content' or 'size', not both", line)
        if "content" in spec:
            if not isinstance(spec["content"], str):
                raise self.fail(f"file '{path}': 'content' must be text", line)
            return spec["content"].encode()
        if "size" in spec:
            size = spec["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise self.fail(f"file '{path}': bad size {size!r}", line)
            return generated_content(seed, size)
        raise self.fail(f"file '{path}' needs 'content' or 'size'", line)

    def _args(self, raw: Any, line: int | None) -> dict[str, str | None]:
        if raw is None:
            return {}
        data = self._mapping(raw, "'build_args'", line)
        args: dict[str, str | None] = {}
        for key, value in data.items():
            if value is not None and not isinstance(value, str | int | float):
                raise self.fail(f"build arg '{key}' must be text", data.lines.get(str(key)))
            args[str(key)] = None if value is None else _scalar_text(value)
        return args

    def _build(self, raw: Any, number: int) -> Build:
        what = f"build {number}"
        data = self._mapping(raw, what, None)
        self._keys(data, BUILD_KEYS, what)
        name = data.get("name")
        if name is None:
            name = f"build {number}"
        name = str(name)
        changes_raw = data.get("changes") or []
        if not isinstance(changes_raw, list):
            raise self.fail(
                f"'changes' of build '{name}' must be a list", data.lines.get("changes")
            )
        changes = tuple(
            self._change(c, f"build '{name}', change {i}", data.lines.get("changes", data.line))
            for i, c in enumerate(changes_raw, start=1)
        )
        no_cache = data.get("no_cache", False)
        if not isinstance(no_cache, bool):
            raise self.fail("'no_cache' must be true or false", data.lines.get("no_cache"))
        return Build(
            name=name,
            changes=changes,
            build_args=self._args(data.get("build_args"), data.lines.get("build_args")),
            target=self._target(data, what),
            target_set="target" in data,
            no_cache=no_cache,
            line=data.line,
            timing=data.get("timing") or {},
        )

    def _change(self, raw: Any, what: str, line: int | None) -> Change:
        if not isinstance(raw, _Lines) or not raw:
            raise self.fail(
                f"{what}: a change must be a mapping such as {{edit: app.py, ...}}", line
            )
        line = raw.line
        kind = str(next(iter(raw)))
        if kind not in CHANGE_KEYS:
            raise self.fail(
                f"{what}: unknown change '{kind}' (known: {', '.join(CHANGE_KEYS)})", line
            )
        self._keys(raw, {kind} | CHANGE_KEYS[kind], f"{what} ({kind})")
        subject = raw[kind]
        options = {k: v for k, v in raw.items() if k != kind}
        if kind in ("edit", "add", "delete", "rename", "chmod", "touch"):
            subject = self._path(subject, line)
        if kind == "rename":
            if "to" not in options:
                raise self.fail(f"{what}: rename needs 'to'", line)
            options["to"] = self._path(options["to"], line)
        if kind == "edit" and len(set(options) & {"content", "append", "size"}) != 1:
            raise self.fail(f"{what}: edit needs one of 'content', 'append' or 'size'", line)
        if kind == "add" and len(set(options) & {"content", "size"}) != 1:
            raise self.fail(f"{what}: add needs 'content' or 'size'", line)
        if kind in ("edit", "add"):
            for key in ("content", "append"):
                if key in options and not isinstance(options[key], str):
                    raise self.fail(f"{what}: '{key}' must be text", line)
            if "size" in options:
                size = options["size"]
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise self.fail(f"{what}: bad size {size!r}", line)
        if "mode" in options or kind == "chmod":
            if "mode" not in options:
                raise self.fail(f"{what}: chmod needs 'mode'", line)
            options["mode"] = parse_mode(options["mode"], self.file, line)
        if kind == "build_arg":
            if not isinstance(subject, str) or "value" not in options:
                raise self.fail(f"{what}: write {{build_arg: NAME, value: TEXT}}", line)
            value = options["value"]
            options["value"] = None if value is None else _scalar_text(value)
        if kind in ("dockerfile", "dockerignore") and not isinstance(subject, str | None):
            raise self.fail(f"{what}: the new {kind} must be text", line)
        if kind == "base_image" and (not isinstance(subject, str) or not subject.strip()):
            raise self.fail(f"{what}: base_image needs an image reference", line)
        if kind == "url":
            if not isinstance(subject, str) or not is_url(subject):
                raise self.fail(f"{what}: write {{url: http(s)://..., content: TEXT}}", line)
            if not isinstance(options.get("content"), str):
                raise self.fail(f"{what}: url needs 'content' (text)", line)
        if kind == "prune" and subject != "all":
            raise self.fail(f"{what}: only {{prune: all}} is known", line)
        return Change(kind, subject, options, line)


def run_texts(dockerfile: str) -> set[str]:
    """The command text of every RUN of a Dockerfile, whitespace runs as one space (what a
    `runs:` entry's `run:` is matched against)."""
    try:
        commands = dockerfile_parser.parse_string(dockerfile)
    except dockerfile_parser.GoParseError:
        return set()
    return {" ".join(" ".join(c.value).split()) for c in commands if c.cmd.upper() == "RUN"}


def _empty() -> _Lines:
    empty = _Lines()
    empty.lines, empty.line = {}, 1
    return empty


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def image_key(ref: str) -> str:
    """Image references compared as Docker compares them: `python` is `python:latest`."""
    ref = ref.strip()
    for prefix in ("docker.io/library/", "library/", "docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        ref += ":latest"
    return ref


@dataclass(frozen=True, slots=True)
class Step:
    """A build of the scenario with the state it sees: what the simulator and engine share."""

    build: Build
    request: BuildRequest


@dataclass
class _State:
    """The scenario's world between builds, as the changes leave it."""

    files: dict[str, ContextFile]
    dockerfile: str
    dockerignore: str | None
    args: dict[str, str | None]
    versions: dict[str, int] = field(default_factory=dict)
    prune: bool = False
    urls: dict[str, bytes] = field(default_factory=dict)


def _need(state: _State, change: Change, where: str, source: str) -> list[str]:
    """The files a path-naming change touches; bad input if there are none."""
    found = under(state.files, change.subject)
    if not found:
        raise InputError(f"{where}: no file '{change.subject}' in the context", source, change.line)
    return found


def _free(state: _State, path: str, where: str, source: str, line: int | None) -> None:
    if under(state.files, path):
        raise InputError(f"{where}: '{path}' is already in the context", source, line)


def _apply(state: _State, change: Change, where: str, seed: str, stamp: float, source: str):
    """Apply one change to ``state`` (checked: bad input raises ``InputError``)."""
    kind, subject, opts = change.kind, change.subject, change.options
    if kind == "edit":
        _need(state, change, where, source)
        old = state.files.get(subject)
        if old is None:
            raise InputError(f"{where}: '{subject}' is a folder, not a file", source, change.line)
        if "append" in opts:
            content = old.content + opts["append"].encode()
        elif "size" in opts:
            content = generated_content(seed, opts["size"])
        else:
            content = opts["content"].encode()
        # an edit moves the mtime too, as an editor would (and BuildKit 20.10 needs it)
        state.files[subject] = ContextFile(content, old.mode, old.mtime + TOUCH_SECONDS)
    elif kind == "add":
        _free(state, subject, where, source, change.line)
        content = (
            opts["content"].encode() if "content" in opts else generated_content(seed, opts["size"])
        )
        state.files[subject] = ContextFile(content, opts.get("mode", 0o644), stamp)
    elif kind == "delete":
        for path in _need(state, change, where, source):
            del state.files[path]
    elif kind == "rename":
        paths = _need(state, change, where, source)
        _free(state, opts["to"], where, source, change.line)
        for path in paths:
            state.files[opts["to"] + path[len(subject) :]] = state.files.pop(path)
    elif kind in ("chmod", "touch"):
        for path in _need(state, change, where, source):
            old = state.files[path]
            if kind == "chmod":
                state.files[path] = ContextFile(old.content, opts["mode"], old.mtime)
            else:
                state.files[path] = ContextFile(old.content, old.mode, old.mtime + TOUCH_SECONDS)
    elif kind == "build_arg":
        state.args[subject] = opts["value"]
    elif kind == "dockerfile":
        state.dockerfile = subject or ""
    elif kind == "dockerignore":
        state.dockerignore = subject or None
    elif kind == "base_image":
        key = image_key(subject)
        state.versions[key] = state.versions.get(key, 0) + 1
    elif kind == "prune":
        state.prune = True
    elif kind == "url":
        state.urls[subject] = opts["content"].encode()


def replay(scenario: Scenario, images_of=None) -> list[Step]:
    """Apply each build's changes in order; one ``Step`` per build.

    ``images_of(dockerfile_text, build_args)`` names the external images a Dockerfile uses
    (to give each its version); the planner provides it. Every change is checked here, so a
    change to a missing file fails before anything is simulated.
    """
    state = _State(
        dict(scenario.files),
        scenario.dockerfile,
        scenario.dockerignore,
        dict(scenario.build_args),
        urls=dict(scenario.urls),
    )
    out: list[Step] = []
    for number, build in enumerate(scenario.builds, start=1):
        state.prune = False
        stamp = 1_700_000_000.0 + number * TOUCH_SECONDS
        for index, change in enumerate(build.changes, start=1):
            where = f"build '{build.name}', change {index} ({change.describe()})"
            # `size:` content comes from the path and the size alone (the spec: "content
            # generated from the path and size, deterministic"), as in `files:`: a return to
            # an earlier size brings back the earlier bytes, and the cache finds them.
            seed = str(change.subject)
            _apply(state, change, where, seed, stamp, scenario.source)
        merged = {**state.args, **build.build_args}
        build_args = {k: v for k, v in merged.items() if v is not None}
        target = build.target if build.target_set else scenario.target
        images = images_of(state.dockerfile, build_args) if images_of else ()
        request = BuildRequest(
            name=build.name,
            dockerfile=state.dockerfile,
            files=dict(state.files),
            dockerignore=state.dockerignore,
            build_args=build_args,
            target=target,
            no_cache=build.no_cache,
            prune_before=state.prune,
            images={ref: state.versions.get(image_key(ref), 0) for ref in images},
            urls=dict(state.urls),
            runs=scenario.runs,
        )
        out.append(Step(build, request))
    return out
