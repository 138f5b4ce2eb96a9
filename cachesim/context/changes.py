"""Typed change events and the replay that applies them, build by build.

A scenario says what changes before each build: a file edited, a build argument set, the
Dockerfile replaced, upstream publishing a new digest of a base image... Each kind is one
frozen dataclass here, and this module is the one place that knows them: the scenario
loader (``cachesim.sources.scenario``) parses YAML into them, ``replay`` applies them in
order, and each says in words what it is (``describe()``), for error messages and reports.
BuildKit's own content checksums are fed change events the same way: the kind decides what
is recomputed.

``replay`` turns a sequence of builds into one ``PlannedBuild`` per build: the build and the
``BuildRequest`` it sees on disk, the value the simulator and the real engine share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from cachesim.context.snapshot import TOUCH_SECONDS, generated_content, under
from cachesim.context.workspace import BuildRequest, ContextFile
from cachesim.core.errors import InputError
from cachesim.core.images import image_key

# The first build's files are stamped at this time; each later build a touch later.
FIRST_STAMP = 1_700_000_000.0


@dataclass
class World:
    """The scenario's world between builds, as the changes leave it (mutable on purpose:
    one replay owns it and copies it into each frozen ``BuildRequest``)."""

    files: dict[str, ContextFile]
    dockerfile: str
    dockerignore: str | None
    args: dict[str, str | None]
    versions: dict[str, int] = field(default_factory=dict)  # image key -> new digests seen
    prune: bool = False
    urls: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class At:
    """Where a change is applied: for error messages, and the stamp a new file gets."""

    where: str  # "build 'edit', change 1 (edit app.py)"
    source: str  # the scenario file
    line: int | None
    stamp: float  # the modification time of a file added in this build

    def error(self, message: str) -> InputError:
        return InputError(f"{self.where}: {message}", self.source, self.line)


def _need(world: World, path: str, at: At) -> list[str]:
    """The files a path-naming change touches; bad input if there are none."""
    found = under(world.files, path)
    if not found:
        raise at.error(f"no file '{path}' in the context")
    return found


def _free(world: World, path: str, at: At) -> None:
    if under(world.files, path):
        raise at.error(f"'{path}' is already in the context")


def _sized(path: str, size: int) -> bytes:
    # `size:` content comes from the path and the size alone (the spec: "content generated
    # from the path and size, deterministic"), as in `files:`: a return to an earlier size
    # brings back the earlier bytes, and the cache finds them.
    return generated_content(path, size)


@dataclass(frozen=True, slots=True)
class Edit:
    """`{edit: PATH, content|append|size: ...}`: the file's content changes."""

    kind: ClassVar[str] = "edit"
    keys: ClassVar[frozenset[str]] = frozenset({"content", "append", "size"})
    path: str
    content: str | None = None
    append: str | None = None
    size: int | None = None
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"edit {self.path}"

    def apply(self, world: World, at: At) -> None:
        _need(world, self.path, at)
        old = world.files.get(self.path)
        if old is None:
            raise at.error(f"'{self.path}' is a folder, not a file")
        if self.append is not None:
            content = old.content + self.append.encode()
        elif self.size is not None:
            content = _sized(self.path, self.size)
        else:
            content = (self.content or "").encode()
        # an edit moves the mtime too, as an editor would (and BuildKit 20.10 needs it)
        world.files[self.path] = ContextFile(content, old.mode, old.mtime + TOUCH_SECONDS)


@dataclass(frozen=True, slots=True)
class Add:
    """`{add: PATH, content|size: ..., mode: ...}`: a new file."""

    kind: ClassVar[str] = "add"
    keys: ClassVar[frozenset[str]] = frozenset({"content", "size", "mode"})
    path: str
    content: str | None = None
    size: int | None = None
    mode: int = 0o644
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"add {self.path}"

    def apply(self, world: World, at: At) -> None:
        _free(world, self.path, at)
        if self.content is not None:
            content = self.content.encode()
        else:
            content = _sized(self.path, self.size or 0)
        world.files[self.path] = ContextFile(content, self.mode, at.stamp)


@dataclass(frozen=True, slots=True)
class Delete:
    """`{delete: PATH}`: a file, or a folder and all below it, is removed."""

    kind: ClassVar[str] = "delete"
    keys: ClassVar[frozenset[str]] = frozenset()
    path: str
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"delete {self.path}"

    def apply(self, world: World, at: At) -> None:
        for path in _need(world, self.path, at):
            del world.files[path]


@dataclass(frozen=True, slots=True)
class Rename:
    """`{rename: PATH, to: NEWPATH}`: a file or folder moves."""

    kind: ClassVar[str] = "rename"
    keys: ClassVar[frozenset[str]] = frozenset({"to"})
    path: str
    to: str
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"rename {self.path}"

    def apply(self, world: World, at: At) -> None:
        paths = _need(world, self.path, at)
        _free(world, self.to, at)
        for path in paths:
            world.files[self.to + path[len(self.path) :]] = world.files.pop(path)


@dataclass(frozen=True, slots=True)
class Chmod:
    """`{chmod: PATH, mode: "0755"}`: permission bits change, content does not."""

    kind: ClassVar[str] = "chmod"
    keys: ClassVar[frozenset[str]] = frozenset({"mode"})
    path: str
    mode: int
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"chmod {self.path}"

    def apply(self, world: World, at: At) -> None:
        for path in _need(world, self.path, at):
            old = world.files[path]
            world.files[path] = ContextFile(old.content, self.mode, old.mtime)


@dataclass(frozen=True, slots=True)
class Touch:
    """`{touch: PATH}`: only the modification time changes."""

    kind: ClassVar[str] = "touch"
    keys: ClassVar[frozenset[str]] = frozenset()
    path: str
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"touch {self.path}"

    def apply(self, world: World, at: At) -> None:
        for path in _need(world, self.path, at):
            old = world.files[path]
            world.files[path] = ContextFile(old.content, old.mode, old.mtime + TOUCH_SECONDS)


@dataclass(frozen=True, slots=True)
class BuildArg:
    """`{build_arg: NAME, value: TEXT}`: a `--build-arg` is set; `value: null` unsets it."""

    kind: ClassVar[str] = "build_arg"
    keys: ClassVar[frozenset[str]] = frozenset({"value"})
    name: str
    value: str | None
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.name

    def describe(self) -> str:
        return f"build_arg {self.name}"

    def apply(self, world: World, at: At) -> None:
        world.args[self.name] = self.value


@dataclass(frozen=True, slots=True)
class DockerfileChange:
    """`{dockerfile: TEXT}`: the Dockerfile is replaced by TEXT."""

    kind: ClassVar[str] = "dockerfile"
    keys: ClassVar[frozenset[str]] = frozenset()
    text: str | None
    line: int | None = None

    @property
    def subject(self) -> str | None:
        return self.text

    def describe(self) -> str:
        return "dockerfile replaced"

    def apply(self, world: World, at: At) -> None:
        world.dockerfile = self.text or ""


@dataclass(frozen=True, slots=True)
class DockerignoreChange:
    """`{dockerignore: TEXT}`: the .dockerignore is replaced (empty text removes it)."""

    kind: ClassVar[str] = "dockerignore"
    keys: ClassVar[frozenset[str]] = frozenset()
    text: str | None
    line: int | None = None

    @property
    def subject(self) -> str | None:
        return self.text

    def describe(self) -> str:
        return "dockerignore replaced"

    def apply(self, world: World, at: At) -> None:
        world.dockerignore = self.text or None


@dataclass(frozen=True, slots=True)
class BaseImage:
    """`{base_image: REF}`: the image REF now resolves to a new digest (an upstream update)."""

    kind: ClassVar[str] = "base_image"
    keys: ClassVar[frozenset[str]] = frozenset()
    ref: str
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.ref

    def describe(self) -> str:
        return f"base_image {self.ref}"

    def apply(self, world: World, at: At) -> None:
        key = image_key(self.ref)
        world.versions[key] = world.versions.get(key, 0) + 1


@dataclass(frozen=True, slots=True)
class Prune:
    """`{prune: all}`: what `docker builder prune -af` does just before the build."""

    kind: ClassVar[str] = "prune"
    keys: ClassVar[frozenset[str]] = frozenset()
    what: str = "all"
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.what

    def describe(self) -> str:
        return f"prune {self.what}"

    def apply(self, world: World, at: At) -> None:
        world.prune = True


@dataclass(frozen=True, slots=True)
class UrlContent:
    """`{url: URL, content: TEXT}` (cachesim's addition): from this build on, URL serves TEXT."""

    kind: ClassVar[str] = "url"
    keys: ClassVar[frozenset[str]] = frozenset({"content"})
    url: str
    content: str
    line: int | None = None

    @property
    def subject(self) -> str:
        return self.url

    def describe(self) -> str:
        return f"url {self.url}"

    def apply(self, world: World, at: At) -> None:
        world.urls[self.url] = self.content.encode()


Change = (
    Edit
    | Add
    | Delete
    | Rename
    | Chmod
    | Touch
    | BuildArg
    | DockerfileChange
    | DockerignoreChange
    | BaseImage
    | Prune
    | UrlContent
)
# Every kind, in the spec's order: the YAML key that names it -> its class.
CHANGE_TYPES: dict[str, type[Change]] = {
    cls.kind: cls
    for cls in (
        Edit,
        Add,
        Delete,
        Rename,
        Chmod,
        Touch,
        BuildArg,
        DockerfileChange,
        DockerignoreChange,
        BaseImage,
        Prune,
        UrlContent,
    )
}


@dataclass(frozen=True, slots=True)
class Build:
    """One ``docker build`` of the sequence, and the changes made just before it."""

    name: str
    changes: tuple[Change, ...] = ()
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    target: str | None = None
    target_set: bool = False  # the build names its own target (possibly null)
    no_cache: bool = False
    line: int | None = None
    timing: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedBuild:
    """One build of the sequence with the state it sees: what the simulator and engine share."""

    build: Build
    request: BuildRequest


class BuildSequence(Protocol):
    """What ``replay`` reads of a scenario (``cachesim.sources.scenario.Scenario`` is one)."""

    @property
    def files(self) -> Mapping[str, ContextFile]: ...
    @property
    def dockerfile(self) -> str: ...
    @property
    def dockerignore(self) -> str | None: ...
    @property
    def build_args(self) -> Mapping[str, str | None]: ...
    @property
    def target(self) -> str | None: ...
    @property
    def builds(self) -> Sequence[Build]: ...
    @property
    def urls(self) -> Mapping[str, bytes]: ...
    @property
    def runs(self) -> tuple: ...
    @property
    def source(self) -> str: ...


ImagesOf = Callable[[str, Mapping[str, str]], Iterable[str]]


def replay(scenario: BuildSequence, images_of: ImagesOf | None = None) -> list[PlannedBuild]:
    """Apply each build's changes in order; one ``PlannedBuild`` per build.

    ``images_of(dockerfile_text, build_args)`` names the external images a Dockerfile uses
    (to give each its version); the planner provides it. Every change is checked here, so a
    change to a missing file fails before anything is simulated.
    """
    world = World(
        dict(scenario.files),
        scenario.dockerfile,
        scenario.dockerignore,
        dict(scenario.build_args),
        urls=dict(scenario.urls),
    )
    out: list[PlannedBuild] = []
    for number, build in enumerate(scenario.builds, start=1):
        world.prune = False
        stamp = FIRST_STAMP + number * TOUCH_SECONDS
        for index, change in enumerate(build.changes, start=1):
            where = f"build '{build.name}', change {index} ({change.describe()})"
            change.apply(world, At(where, scenario.source, change.line, stamp))
        out.append(PlannedBuild(build, _request(scenario, build, world, images_of)))
    return out


def _request(
    scenario: BuildSequence, build: Build, world: World, images_of: ImagesOf | None
) -> BuildRequest:
    """What ``docker build`` sees for ``build``, the world as its changes left it."""
    merged = {**world.args, **build.build_args}
    build_args = {k: v for k, v in merged.items() if v is not None}
    images = images_of(world.dockerfile, build_args) if images_of else ()
    return BuildRequest(
        name=build.name,
        dockerfile=world.dockerfile,
        files=dict(world.files),
        dockerignore=world.dockerignore,
        build_args=build_args,
        target=build.target if build.target_set else scenario.target,
        no_cache=build.no_cache,
        prune_before=world.prune,
        images={ref: world.versions.get(image_key(ref), 0) for ref in images},
        urls=dict(world.urls),
        runs=scenario.runs,
    )
