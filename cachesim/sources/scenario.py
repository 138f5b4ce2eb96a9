"""Scenarios: load and validate the YAML format of ``shared/spec/scenario-format.md``.

A scenario is one Dockerfile, one build context and a sequence of builds with the
changes made before each. Loading checks every key and every change *before* anything is
simulated, so a typo is one clear ``InputError`` naming the file, the line, the build and
the change, never a half-run simulation. The changes are parsed into the typed events of
``cachesim.context.changes``, whose ``replay`` yields one ``PlannedBuild`` per build:
exactly what ``docker build`` would see on disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import dockerfile as dockerfile_parser
import yaml

from cachesim.builders.reads import DeclaredRun
from cachesim.builders.registry import NAMES as BUILDER_NAMES
from cachesim.context.changes import (
    CHANGE_TYPES,
    Add,
    BaseImage,
    Build,
    BuildArg,
    Change,
    Chmod,
    Delete,
    DockerfileChange,
    DockerignoreChange,
    Edit,
    PlannedBuild,
    Prune,
    Rename,
    Touch,
    UrlContent,
    replay,
)
from cachesim.context.downloads import is_url
from cachesim.context.snapshot import generated_content, normalize, parse_mode, read_folder
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError
from cachesim.core.images import image_key

__all__ = [
    "CHANGE_KEYS",
    "ENGINES",
    "Build",
    "Change",
    "PlannedBuild",
    "Scenario",
    "Step",
    "for_builder",
    "image_key",
    "load",
    "loads",
    "pairs",
    "replay",
    "run_texts",
]

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
    "builders",
    "verify",
    "verify_reason",
    "timing",
    "image_store",
    "urls",
    "runs",
}
RUN_KEYS = {"run", "line", "reads", "writes", "fails"}
BUILD_KEYS = {"name", "changes", "build_args", "target", "no_cache", "timing"}
# What each change kind accepts besides its own key (the classes say it, once).
CHANGE_KEYS: dict[str, set[str]] = {kind: set(cls.keys) for kind, cls in CHANGE_TYPES.items()}
ENGINES = BUILDER_NAMES  # the values `engine:` and `builders:` accept
# The daemon's image store: the classic graph drivers (vfs, overlay2), or containerd's
# snapshotters (Docker's `--feature containerd-snapshotter=true`, the default of new installs
# of Docker 29). COPY --link and image export differ between them (docs/cache-rules.md).
IMAGE_STORES = ("graphdriver", "containerd")
Step = PlannedBuild  # the old name: one build with the state it sees


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
class Scenario:
    """One scenario file, validated: the world before the first build, and the builds."""

    name: str
    description: str
    builders: tuple[str, ...]  # the builders it is simulated and verified with, first = default
    dockerfile: str
    dockerignore: str | None
    files: Mapping[str, ContextFile]
    build_args: Mapping[str, str | None]
    target: str | None
    builds: tuple[Build, ...]
    source: str = "<scenario>"
    verify: bool = True
    verify_reason: str | None = None
    timing: Mapping[str, object] = field(default_factory=dict)
    image_store: str = "graphdriver"  # the engine's image store: graphdriver | containerd
    urls: Mapping[str, bytes] = field(default_factory=dict)  # URL -> what it serves at first
    runs: tuple[DeclaredRun, ...] = ()  # what RUNs read and write, or that they fail

    @property
    def engine(self) -> str:
        """The first builder (the old single `engine:`): what `simulate` uses by default."""
        return self.builders[0]


def for_builder(scenario: Scenario, name: str) -> Scenario:
    """The scenario simulated (or verified) with one builder, ``name``: one of its pairs."""
    if name not in BUILDER_NAMES:
        raise InputError(f"unknown builder {name!r} (one of {', '.join(BUILDER_NAMES)})")
    return replace(scenario, builders=(name,))


def pairs(scenario: Scenario) -> list[Scenario]:
    """One scenario per builder it names: the (scenario, builder) pairs to simulate or verify."""
    return [for_builder(scenario, name) for name in scenario.builders]


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

    def _mapping(self, value: object, what: str, line: int | None) -> _Lines:
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

    def scenario(self, data: object) -> Scenario:
        if not isinstance(data, _Lines):
            raise self.fail("a scenario must be a YAML mapping", 1)
        self._keys(data, TOP_KEYS, "the scenario")
        name = self._text(data, "name", "the scenario", required=True) or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise self.fail(
                f"bad name '{name}': use letters, digits, '-' and '_'", data.lines.get("name")
            )
        builders = self._builders(data)
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
        return Scenario(
            name=name,
            description=self._text(data, "description", "the scenario") or "",
            builders=builders,
            dockerfile=dockerfile,
            dockerignore=self._text(data, "dockerignore", "the scenario"),
            files=files,
            build_args=self._args(data.get("build_args"), data.lines.get("build_args")),
            target=self._target(data, "the scenario"),
            builds=builds,
            source=self.file,
            verify=self._flag(data, "verify", True),
            verify_reason=self._text(data, "verify_reason", "the scenario"),
            timing=self._timing(data),
            image_store=self._image_store(data),
            urls=self._urls(data.get("urls"), data.lines.get("urls")),
            runs=self._runs(data, builds, dockerfile),
        )

    def _builders(self, data: _Lines) -> tuple[str, ...]:
        """`builders: [buildkit, legacy]` (cachesim's addition), or the spec's one `engine:`."""
        if "builders" in data and "engine" in data:
            raise self.fail(
                "give either 'builders' or 'engine', not both", data.lines.get("builders")
            )
        if "builders" not in data:
            engine = data.get("engine") or "buildkit"
            if engine not in ENGINES:
                raise self.fail(
                    f"unknown engine '{engine}' (buildkit or legacy)", data.lines.get("engine")
                )
            return (str(engine),)
        raw, line = data["builders"], data.lines.get("builders")
        if not isinstance(raw, list) or not raw:
            raise self.fail("'builders' must be a list such as [buildkit, legacy]", line)
        for name in raw:
            if name not in ENGINES:
                known = ", ".join(ENGINES)
                raise self.fail(f"unknown builder '{name}' in 'builders' (known: {known})", line)
        if len(set(raw)) != len(raw):
            raise self.fail("'builders' names a builder twice", line)
        return tuple(str(name) for name in raw)

    def _flag(self, data: _Lines, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false", data.lines.get(key))
        return value

    def _image_store(self, data: _Lines) -> str:
        image_store = data.get("image_store") or "graphdriver"
        if image_store not in IMAGE_STORES:
            raise self.fail(
                f"unknown image_store '{image_store}' (graphdriver or containerd)",
                data.lines.get("image_store"),
            )
        return str(image_store)

    def _timing(self, data: _Lines) -> dict:
        timing = data.get("timing") or {}
        if not isinstance(timing, dict):
            raise self.fail("'timing' must be a mapping", data.lines.get("timing"))
        return timing

    def _urls(self, raw: object, line: int | None) -> dict[str, bytes]:
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
        texts: set[str] = set()
        for text in [dockerfile] + [
            c.text for b in builds for c in b.changes if isinstance(c, DockerfileChange)
        ]:
            texts |= run_texts(text or "")
        names = {b.name for b in builds}
        return tuple(
            self._run_entry(entry, f"runs entry {number}", line, texts, names)
            for number, entry in enumerate(raw, start=1)
        )

    def _run_entry(
        self, entry: object, what: str, line: int | None, texts: set[str], names: set[str]
    ) -> DeclaredRun:
        """One `runs:` entry, checked against the Dockerfiles' RUNs and the build names."""
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
        reads, writes = (self._run_globs(spec, key, what) for key in ("reads", "writes"))
        failing = self._run_fails(spec, what, names)
        if reads is None and writes is not None:
            raise self.fail(f"{what}: 'writes' needs 'reads' too", at)
        return DeclaredRun(run, number_line, reads, writes or (), failing, at)

    def _run_globs(self, spec: _Lines, key: str, what: str) -> tuple[str, ...] | None:
        value = spec.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{what}: '{key}' must be a list of paths or globs", spec.line)
        return tuple(value)

    def _run_fails(self, spec: _Lines, what: str, names: set[str]) -> tuple[str, ...] | None:
        """`fails:` true (every build: None), false (no build), or the builds it fails in."""
        fails = spec.get("fails", False)
        if fails is True:
            return None
        if fails is False:
            return ()
        if isinstance(fails, list) and all(isinstance(f, str) for f in fails):
            unknown = [f for f in fails if f not in names]
            if unknown:
                raise self.fail(f"{what}: 'fails' names no build '{unknown[0]}'", spec.line)
            return tuple(fails)
        raise self.fail(f"{what}: 'fails' must be true, false or a list of builds", spec.line)

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

    def _path(self, raw: object, line: int | None) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(f"bad path {raw!r}", line)
        path = normalize(raw)
        if not path or raw.replace("\\", "/").split("/")[0] == ".." or raw.startswith("/"):
            raise self.fail(f"bad path '{raw}': give a path inside the context", line)
        return path

    def _files(self, raw: object, line: int | None) -> dict[str, ContextFile]:
        data = self._mapping(raw, "'files'", line)
        files: dict[str, ContextFile] = {}
        for key, value in data.items():
            key_line = data.lines.get(str(key), line)
            path = self._path(key, key_line)
            files[path] = self._file(value, path, key_line)
        return files

    def _file(self, value: object, path: str, line: int | None) -> ContextFile:
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

    def _args(self, raw: object, line: int | None) -> dict[str, str | None]:
        if raw is None:
            return {}
        data = self._mapping(raw, "'build_args'", line)
        args: dict[str, str | None] = {}
        for key, value in data.items():
            if value is not None and not isinstance(value, str | int | float):
                raise self.fail(f"build arg '{key}' must be text", data.lines.get(str(key)))
            args[str(key)] = None if value is None else _scalar_text(value)
        return args

    def _build(self, raw: object, number: int) -> Build:
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

    def _change(self, raw: object, what: str, line: int | None) -> Change:
        """One change: its first key names the kind (``CHANGE_TYPES``), the rest its options."""
        if not isinstance(raw, _Lines) or not raw:
            raise self.fail(
                f"{what}: a change must be a mapping such as {{edit: app.py, ...}}", line
            )
        kind = str(next(iter(raw)))
        if kind not in CHANGE_TYPES:
            raise self.fail(
                f"{what}: unknown change '{kind}' (known: {', '.join(CHANGE_TYPES)})", raw.line
            )
        self._keys(raw, {kind} | CHANGE_KEYS[kind], f"{what} ({kind})")
        spec = _ChangeSpec(self, raw, kind, what)
        return _CHANGE_PARSERS[kind](spec)


@dataclass(frozen=True, slots=True)
class _ChangeSpec:
    """One change's YAML mapping while it is parsed, with what error messages need."""

    reader: _Reader
    raw: _Lines
    kind: str
    what: str

    @property
    def line(self) -> int:
        return self.raw.line

    @property
    def subject(self) -> object:
        return self.raw[self.kind]

    def fail(self, message: str) -> InputError:
        return self.reader.fail(f"{self.what}: {message}", self.line)

    def path(self, raw: object = None) -> str:
        """The change's path (or ``raw``), inside the context."""
        return self.reader._path(self.subject if raw is None else raw, self.line)

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if key in self.raw and not isinstance(value, str):
            raise self.fail(f"'{key}' must be text")
        return value

    def size(self) -> int | None:
        if "size" not in self.raw:
            return None
        size = self.raw["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise self.fail(f"bad size {size!r}")
        return size

    def mode(self) -> int:
        if "mode" not in self.raw:
            raise self.fail("chmod needs 'mode'")
        return parse_mode(self.raw["mode"], self.reader.file, self.line)

    def one_of(self, keys: set[str], message: str) -> None:
        if len(set(self.raw) & keys) != 1:
            raise self.fail(message)


def _edit(spec: _ChangeSpec) -> Edit:
    path = spec.path()
    spec.one_of({"content", "append", "size"}, "edit needs one of 'content', 'append' or 'size'")
    content, append = spec.text("content"), spec.text("append")
    return Edit(path, content, append, spec.size(), spec.line)


def _add(spec: _ChangeSpec) -> Add:
    path = spec.path()
    spec.one_of({"content", "size"}, "add needs 'content' or 'size'")
    content, size = spec.text("content"), spec.size()
    mode = spec.mode() if "mode" in spec.raw else 0o644
    return Add(path, content, size, mode, spec.line)


def _rename(spec: _ChangeSpec) -> Rename:
    path = spec.path()
    if "to" not in spec.raw:
        raise spec.fail("rename needs 'to'")
    return Rename(path, spec.path(spec.raw["to"]), spec.line)


def _build_arg(spec: _ChangeSpec) -> BuildArg:
    name = spec.subject
    if not isinstance(name, str) or "value" not in spec.raw:
        raise spec.fail("write {build_arg: NAME, value: TEXT}")
    value = spec.raw["value"]
    return BuildArg(name, None if value is None else _scalar_text(value), spec.line)


def _replaced_text(spec: _ChangeSpec) -> str | None:
    text = spec.subject
    if text is not None and not isinstance(text, str):
        raise spec.fail(f"the new {spec.kind} must be text")
    return text


def _base_image(spec: _ChangeSpec) -> BaseImage:
    ref = spec.subject
    if not isinstance(ref, str) or not ref.strip():
        raise spec.fail("base_image needs an image reference")
    return BaseImage(ref, spec.line)


def _url(spec: _ChangeSpec) -> UrlContent:
    url, content = spec.subject, spec.raw.get("content")
    if not isinstance(url, str) or not is_url(url):
        raise spec.fail("write {url: http(s)://..., content: TEXT}")
    if not isinstance(content, str):
        raise spec.fail("url needs 'content' (text)")
    return UrlContent(url, content, spec.line)


def _prune(spec: _ChangeSpec) -> Prune:
    if spec.subject != "all":
        raise spec.fail("only {prune: all} is known")
    return Prune("all", spec.line)


# One parser per change kind; the kinds themselves are cachesim.context.changes.CHANGE_TYPES.
_CHANGE_PARSERS: dict[str, Callable[[_ChangeSpec], Change]] = {
    "edit": _edit,
    "add": _add,
    "delete": lambda spec: Delete(spec.path(), spec.line),
    "rename": _rename,
    "chmod": lambda spec: Chmod(spec.path(), spec.mode(), spec.line),
    "touch": lambda spec: Touch(spec.path(), spec.line),
    "build_arg": _build_arg,
    "dockerfile": lambda spec: DockerfileChange(_replaced_text(spec), spec.line),
    "dockerignore": lambda spec: DockerignoreChange(_replaced_text(spec), spec.line),
    "base_image": _base_image,
    "prune": _prune,
    "url": _url,
}
assert set(_CHANGE_PARSERS) == set(CHANGE_TYPES), "a change kind without a parser"


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


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
