"""The default edit mix: what a project's day of builds looks like, to price a suggestion.

A suggestion such as "copy the manifests first" saves time only over some sequence of
edits; this module turns a project (its Dockerfile, ``.dockerignore`` and files) and a mix
of edit kinds into a scenario that cachesim simulates: a cold build, then one build per
edit. The default mix (docs/whatif.md, "## suggest"), in every ten builds:

* 7 source edits (any file that is not documentation or a dependency manifest),
* 2 documentation edits (``*.md``, ``*.rst``, ``*.adoc``, ``LICENSE*``, ``docs/``),
* 1 dependency bump (every manifest of the shallowest folder holding one: the manifest
  and its lockfile change together, as ``npm install x`` or ``poetry add x`` does).

A kind the project has no file of is left out (its builds are not made; with no file at
all, every build only sets the always-changing arguments anew). Every build also
gives each always-changing build argument (``BUILD_DATE``, ``GIT_COMMIT``...) a new value,
as CI does, and, when the context holds ``.git``, edits ``.git/index`` (a commit moves it).
Files rotate within their kind in path order, so the mix is deterministic.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cachesim.context.workspace import ContextFile
from cachesim.sources.scenario import Scenario

# The builds of ten, in order: the shares 70 / 20 / 10 spread out, not bunched.
DEFAULT_PATTERN = (
    "source",
    "source",
    "docs",
    "source",
    "source",
    "source",
    "docs",
    "source",
    "deps",
    "source",
)
DEFAULT_BUILDS = 20

MANIFEST_NAME = re.compile(
    r"requirements[^/]*\.(txt|in)|constraints[^/]*\.txt|package(-lock)?\.json|"
    r"npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|go\.(mod|sum)|Gemfile(\.lock)?|"
    r"Cargo\.(toml|lock)|pyproject\.toml|poetry\.lock|uv\.lock|Pipfile(\.lock)?|"
    r"composer\.(json|lock)|pom\.xml|build\.gradle(\.kts)?|[^/]*\.gemspec|setup\.(py|cfg)"
)
DOCS = re.compile(r"(.*/)?[^/]*\.(md|rst|adoc)|(.*/)?(LICEN[CS]E|COPYING)[^/]*|docs?/.*")
NOT_EDITED = re.compile(r"(.*/)?Dockerfile[^/]*|(.*/)?[^/]*\.dockerfile|\.dockerignore|\.git/.*")
VOLATILE_ARG = re.compile(
    r"(?i).*(DATE|TIME|TIMESTAMP|COMMIT|SHA|REVISION|BUILD_?(ID|NUMBER)|CACHE_?BUST|GIT_REF).*"
)
GIT_INDEX = ".git/index"


@dataclass(frozen=True, slots=True)
class EditMix:
    """Which kind of edit each build makes, repeated, and how many builds after the cold one."""

    pattern: tuple[str, ...] = DEFAULT_PATTERN
    builds: int = DEFAULT_BUILDS

    def describe(self) -> str:
        shares = {k: self.pattern.count(k) * 100 // len(self.pattern) for k in KINDS}
        parts = [f"{shares[k]}% {WORDS[k]}" for k in KINDS if shares[k]]
        return f"{' / '.join(parts)} over {self.builds} builds after a cold one"


DEFAULT_MIX = EditMix()
KINDS = ("source", "docs", "deps")
WORDS = {"source": "source edits", "docs": "docs edits", "deps": "dependency bumps"}


@dataclass(frozen=True, slots=True)
class Edit:
    """One build of a mix: its name, the context files it edits and the build args it sets."""

    name: str
    paths: tuple[str, ...]
    build_args: tuple[tuple[str, str], ...] = ()


def kind_of(path: str) -> str | None:
    """``source``, ``docs`` or ``deps`` (None: a file the mix never edits)."""
    if NOT_EDITED.fullmatch(path):
        return None
    if MANIFEST_NAME.fullmatch(posixpath.basename(path)):
        return "deps"
    if DOCS.fullmatch(path):
        return "docs"
    return "source"


def volatile_args(dockerfile_args: Sequence[str]) -> tuple[str, ...]:
    """The build arguments whose names say they change on every build (a date, a commit)."""
    return tuple(dict.fromkeys(n for n in dockerfile_args if VOLATILE_ARG.fullmatch(n)))


def mix_edits(
    files: Sequence[str], mix: EditMix = DEFAULT_MIX, volatile: Sequence[str] = ()
) -> tuple[Edit, ...]:
    """The builds after the cold one: each edits one file of its kind (deps: every manifest
    of the shallowest folder that has one), in rotation."""
    by_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    for path in sorted(files):
        kind = kind_of(path)
        if kind:
            by_kind[kind].append(path)
    bump = _bump(by_kind["deps"])
    git = (GIT_INDEX,) if GIT_INDEX in files else ()
    edits: list[Edit] = []
    turn = dict.fromkeys(KINDS, 0)
    kinds = [k for k in mix.pattern if by_kind[k]]
    if not kinds and not volatile:
        return ()
    for number in range(mix.builds):
        kind = kinds[number % len(kinds)] if kinds else ""
        if not kind:  # no file to edit: the build only sets its arguments anew
            args = tuple((name, f"build-{number + 2}") for name in volatile)
            edits.append(Edit(f"{number + 2}: new {', '.join(volatile)}", git, args))
            continue
        if kind == "deps":
            paths = bump
        else:
            pool = by_kind[kind]
            paths = (pool[turn[kind] % len(pool)],)
        turn[kind] += 1
        args = tuple((name, f"build-{number + 2}") for name in volatile)
        edits.append(Edit(f"{number + 2}: {kind} {', '.join(paths)}", paths + git, args))
    return tuple(edits)


def history_edits(
    commits: Sequence[tuple[str, Sequence[str]]],
    files: Sequence[str],
    volatile: Sequence[str] = (),
) -> tuple[Edit, ...]:
    """The builds of a history: one per commit (oldest first) that changed a file of the
    context, editing those files. ``commits`` holds (commit id, changed context paths)."""
    present = set(files)
    git = (GIT_INDEX,) if GIT_INDEX in present else ()
    edits: list[Edit] = []
    for commit, changed in commits:
        paths = tuple(sorted(p for p in set(changed) if p in present and kind_of(p)))
        if not paths:
            continue
        number = len(edits) + 2
        args = tuple((name, f"build-{number}") for name in volatile)
        edits.append(Edit(f"{number}: {commit[:10]}", paths + git, args))
    return tuple(edits)


def _bump(manifests: Sequence[str]) -> tuple[str, ...]:
    """What a dependency bump edits: every manifest of the shallowest folder holding one."""
    if not manifests:
        return ()
    depth = min(p.count("/") for p in manifests)
    folder = min(posixpath.dirname(p) for p in manifests if p.count("/") == depth)
    return tuple(p for p in manifests if posixpath.dirname(p) == folder)


def edited(path: str, old: bytes, number: int) -> dict[str, Any]:
    """An edit of one file that keeps it readable by the tools that parse it (a JSON file
    stays JSON, so `npm ci`'s model still reads package.json's scripts)."""
    marker = f"cachesim edit {number}"
    try:
        text = old.decode("utf-8")
    except UnicodeDecodeError:
        return {"edit": path, "size": len(old) + 1}
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            data["cachesim-edit"] = number
            return {"edit": path, "content": json.dumps(data, indent=2) + "\n"}
    comment = "//" if re.search(r"\.(go|mod|js|ts|jsx|tsx|c|h|cc|cpp|java|rs|kt)$", path) else "#"
    if kind_of(path) == "docs":
        comment = ""
    return {"edit": path, "append": f"\n{comment} {marker}\n".replace("\n ", "\n")}


def scenario_dict(
    name: str,
    dockerfile: str,
    dockerignore: str | None,
    files: Mapping[str, ContextFile],
    edits: Sequence[Edit],
    engine: str = "buildkit",
) -> dict[str, Any]:
    """A scenario (the spec's dict form) of the cold build and one build per edit. The
    files themselves are put in afterwards (``with_files``): the YAML form cannot carry
    arbitrary bytes."""
    contents = {p: f.content for p, f in files.items()}
    cold_args = {name: "build-1" for name, _ in (edits[0].build_args if edits else ())}
    builds: list[dict[str, Any]] = [{"name": "1: cold", "build_args": cold_args}]
    for number, edit in enumerate(edits, start=2):
        changes = []
        for path in edit.paths:
            change = edited(path, contents[path], number)
            contents[path] = _after(contents[path], change)
            changes.append(change)
        builds.append({"name": edit.name, "changes": changes, "build_args": dict(edit.build_args)})
    for build in builds:
        if not build["build_args"]:
            del build["build_args"]
    return {
        "name": re.sub(r"[^A-Za-z0-9_-]", "-", name) or "suggest",
        "engine": engine,
        "dockerfile": dockerfile,
        "dockerignore": dockerignore,
        "files": {p: "" for p in files},
        "builds": builds,
    }


def _after(old: bytes, change: Mapping[str, Any]) -> bytes:
    if "append" in change:
        return old + change["append"].encode()
    if "content" in change:
        return change["content"].encode()
    return b"\0" * change["size"]


def with_files(scenario: Scenario, files: Mapping[str, ContextFile]) -> Scenario:
    """The scenario with the project's real files (bytes, modes) as its context."""
    return replace(scenario, files=dict(files))
