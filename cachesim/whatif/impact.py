"""What an edit of each part of a project rebuilds: ``cachesim impact DIR``.

For every file and folder of the build context, the answer is found by simulation, not by
reading the Dockerfile with a rule of thumb: a build of the folder as it is (which fills
the cache), then one build with that part edited (a line appended to each of its files).
The first step that build runs again, how many steps it runs and its predicted time are
the part's *effect*. Folders are explored down to ``depth`` levels: a folder whose parts
all have the folder's effect is one line; otherwise its parts are shown, those with the
same effect side by side. An effect with no step rebuilt means no step reads the part.
Files ``.dockerignore`` keeps out are listed as such (an edit cannot reach the builder).

Each evaluation is one small scenario run through the public facade (``cachesim.simulate``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace

from cachesim.core.results import BuildResult
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.sources.scenario import Build, Scenario
from cachesim.whatif.project import Project, edit_changes, scenario_of

MAX_EVALUATIONS = 400  # beyond this many edits simulated, folders are not opened further
# Told before each level is simulated: (level, how many edits it simulates). A large
# context takes minutes (one build per entry), so the command says what it is doing.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Effect:
    """What a build after one edit does against a warm cache."""

    first_line: int | None  # Dockerfile line of the first step run again; None: nothing
    first: str  # that step's instruction as the builder shows it
    rebuilt: int  # steps run again
    steps: int  # steps in the build
    seconds: float  # predicted time of the build
    error: str | None = None  # the edited build would fail (the builder's reason)

    @property
    def same_as_key(self) -> tuple:
        return (self.first_line, self.rebuilt, self.error)


@dataclass(frozen=True, slots=True)
class Part:
    """One line of the answer: some files or folders that share an effect."""

    paths: tuple[str, ...]  # folders end with "/"
    files: int
    effect: Effect


@dataclass(frozen=True, slots=True)
class Impact:
    """The answer for a whole project."""

    project: Project
    warm: Effect  # the build with nothing changed
    parts: tuple[Part, ...]  # largest effect first
    ignored: tuple[str, ...]  # top-level files and folders ("x/") .dockerignore keeps out
    failure: str | None = None  # the build of the folder as it is fails: nothing to compare
    evaluations: int = 0


def effect_of(result: BuildResult) -> Effect:
    built = [s for s in result.steps if s.status != "cached"]
    first = built[0] if built else None
    return Effect(
        first.line if first else None,
        (first.shown or first.instruction) if first else "",
        len(built),
        len(result.steps),
        result.seconds or 0.0,
        result.error,
    )


def impact(
    project: Project,
    *,
    depth: int = 2,
    build_args: dict[str, str | None] | None = None,
    target: str | None = None,
    builder: str = "buildkit",
    buildkit: str = DEFAULT_BUILDKIT,
    progress: Progress | None = None,
) -> Impact:
    """Simulate an edit of each part of ``project`` (see the module's docstring)."""
    import cachesim

    base = scenario_of(project, (Build("as it is"),), build_args, target, builder)
    cold = cachesim.simulate(base, buildkit=buildkit).builds[0]
    warm_run = cachesim.simulate(
        replace(base, builds=(Build("as it is"), Build("again"))), buildkit=buildkit
    )
    warm = effect_of(warm_run.builds[1])
    ignored = _ignored_groups(project.snapshot.ignored)
    if cold.failed:
        return Impact(project, warm, (), ignored, cold.error)

    paths = sorted(project.snapshot.entries)
    effects = _effects(base, project, paths, depth, buildkit, progress)
    parts = _assemble("", paths, effects)
    parts.sort(key=lambda p: (-p.effect.seconds, -p.effect.rebuilt, p.paths))
    return Impact(project, warm, tuple(parts), ignored, None, len(effects))


def _children(folder: str, paths: list[str]) -> dict[str, list[str]]:
    """The entries directly in ``folder`` -> the files at or below each."""
    prefix = folder + "/" if folder else ""
    out: dict[str, list[str]] = {}
    for path in paths:
        if path.startswith(prefix):
            out.setdefault(prefix + path[len(prefix) :].split("/", 1)[0], []).append(path)
    return out


def _effects(
    base: Scenario,
    project: Project,
    paths: list[str],
    depth: int,
    buildkit: str,
    progress: Progress | None = None,
) -> dict[str, Effect]:
    """The effect of an edit of each entry, level by level, one scenario a level.

    Edits accumulate within a level's scenario (build k carries the edits of builds 2..k-1
    too) and that changes nothing about which steps build k runs: the cache remembers the
    earlier edits, so a step that reads only earlier-edited files finds its inputs as the
    build before left them and stays cached, and a step that reads the new edit misses in
    both cases. So one simulation answers a whole level, not one per entry.
    """
    import cachesim

    effects: dict[str, Effect] = {}
    frontier = list(_children("", paths))  # every top-level entry: each is a line
    for level in range(1, depth + 1):
        if not frontier:
            break
        if progress is not None:
            progress(level, len(frontier))
        builds = [Build("as it is")]
        builds += [Build(f"edit {entry}", edit_changes(project, entry)) for entry in frontier]
        run = cachesim.simulate(replace(base, builds=tuple(builds)), buildkit=buildkit)
        for entry, result in zip(frontier, run.builds[1:], strict=True):
            effects[entry] = effect_of(result)
        if level == depth:
            break
        frontier = _opened(frontier, paths, MAX_EVALUATIONS - len(effects))
    return effects


def _opened(frontier: list[str], paths: list[str], budget: int) -> list[str]:
    """The next level: the children of each folder of ``frontier``, a whole folder at a
    time while they fit in ``budget`` (a folder opened only in part could not be shown:
    its parts' effects must all be known to say whether they agree)."""
    out: list[str] = []
    for entry in frontier:
        kids = list(_children(entry, paths))
        if kids == [entry]:
            continue  # a file
        if len(out) + len(kids) > budget:
            continue  # too many: this folder stays one line; a smaller one may still fit
        out += kids
    return out


def _assemble(folder: str, paths: list[str], effects: dict[str, Effect]) -> list[Part]:
    """The parts of ``folder``'s children, merged where their effects agree."""
    out: list[Part] = []
    for child, below in sorted(_children(folder, paths).items()):
        is_file = below == [child]
        effect = effects[child]
        shown = child if is_file else child + "/"
        opened = not is_file and any(c in effects for c in _children(child, below))
        if not opened:
            out.append(Part((shown,), len(below), effect))
            continue
        inner = _assemble(child, below, effects)
        if all(p.effect.same_as_key == effect.same_as_key for p in inner):
            out.append(Part((shown,), len(below), effect))
        else:
            out.extend(inner)
    return _merge(out)


def _merge(parts: list[Part]) -> list[Part]:
    """Parts with the same effect on one line (in the order first seen)."""
    merged: dict[tuple, Part] = {}
    for part in parts:
        key = part.effect.same_as_key
        if key in merged:
            old = merged[key]
            merged[key] = Part(old.paths + part.paths, old.files + part.files, old.effect)
        else:
            merged[key] = part
    return list(merged.values())


def _ignored_groups(ignored: tuple[str, ...]) -> tuple[str, ...]:
    """Ignored paths by top-level entry: ``x/ (3 files)``, a folder skipped whole ``x/``."""
    files: dict[str, int] = {}
    for path in ignored:
        head, sep, rest = path.partition("/")
        name = head + "/" if sep else head
        files[name] = files.get(name, 0) + (1 if rest and not rest.endswith("/") else 0)
    return tuple(
        f"{name} ({n} file{'s' if n > 1 else ''})" if n else name
        for name, n in sorted(files.items())
    )


def _names(paths: tuple[str, ...], width: int) -> str:
    text = ", ".join(paths)
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def impact_text(result: Impact, scenario: Scenario | None = None) -> str:
    """The answer as a table a learner reads top to bottom: costliest edits first."""
    project = result.project
    lines = [
        f"context: {project.folder}  Dockerfile: {project.dockerfile_path}  "
        f"ignore file: {project.ignore_file or 'none'}",
        f"{len(project.snapshot.entries)} files in the context, "
        f"{len(project.snapshot.ignored)} files or folders kept out by .dockerignore",
    ]
    lines += [f"note: {note}" for note in project.snapshot.notes]
    if result.failure:
        lines.append(f"the build of the folder as it is fails: {result.failure}")
        lines.append("(fix that first: an edit's effect is measured against a build that works)")
        return "\n".join(lines) + "\n"
    warm = result.warm
    lines.append(
        f"a build with nothing changed: {warm.seconds:.1f}s "
        f"({warm.steps - warm.rebuilt}/{warm.steps} steps cached)"
    )
    lines.append("")
    read = [p for p in result.parts if p.effect.rebuilt and not _same(p.effect, warm)]
    unread = [p for p in result.parts if p not in read]
    if read:
        lines.append(
            "an edit of                              files  first step it runs again"
            "                         steps  time"
        )
        for part in read:
            e = part.effect
            first = f"line {e.first_line}: {e.first}" if e.first_line else (e.error or "")
            if e.error:
                first = f"fails: {e.error}"
            lines.append(
                f"{_names(part.paths, 38):<38} {part.files:>6}  {_short(first, 48):<48}  "
                f"{e.rebuilt:>2}/{e.steps:<2} {e.seconds:>7.1f}s"
            )
    if unread:
        paths = tuple(p for part in unread for p in part.paths)
        files = sum(part.files for part in unread)
        lines.append("")
        lines.append(f"no step reads these ({files} files; an edit rebuilds nothing):")
        lines += _wrapped(paths)
    if result.ignored:
        lines.append("")
        lines.append(".dockerignore keeps these out (an edit never reaches the builder):")
        lines += _wrapped(result.ignored)
    return "\n".join(lines) + "\n"


def _wrapped(names: tuple[str, ...]) -> list[str]:
    text = ", ".join(names)
    return textwrap.wrap(
        text,
        96,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def _same(effect: Effect, warm: Effect) -> bool:
    """An edit whose build does exactly what a build with no edit does (e.g. a RUN that
    never caches runs either way): it is not the edit's effect."""
    return effect.first_line == warm.first_line and effect.rebuilt == warm.rebuilt
