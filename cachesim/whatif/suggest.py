"""Suggestions that cut rebuild time, each with a rewritten Dockerfile and its saving.

Four kinds, each a function that reads the plan of the Dockerfile and returns what it
proposes and what it refused to propose (and why):

* ``manifests_first``: RUNs right after ``COPY . <dest>`` that read only dependency
  manifests (``pip install -r requirements.txt``, ``npm ci``, ``go mod download``...) or no
  file of the build at all (``apt-get install``) move above it, after a COPY of just the
  files they read;
* ``volatile_args_down``: an ``ARG BUILD_DATE`` (any name that says date, time, commit...)
  moves down to just before its first use, so the RUNs above no longer see it change;
* ``dockerignore_entries``: ``.git``, docs, tests... that ``COPY . .`` sends but no step
  reads go into ``.dockerignore``;
* ``cache_mounts``: package downloads go to a BuildKit cache mount.

Safety (docs/whatif.md, "## suggest"): a RUN is moved only when cachesim's model of
what it reads (``cachesim.builders.reads.model_run``) knows every command of it, the files
it reads are copied before it, nothing it writes is overwritten by the later ``COPY . .``,
and its manifests name no other local file. When unsure: no suggestion, and a refusal that
says why. The saving is the simulator's: the same edit mix (``editmix``) simulated with
the original and with the rewritten Dockerfile. Nothing here touches a file.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from cachesim.builders import registry
from cachesim.builders.reads import (
    ANYWHERE,
    SYSTEM_PACKAGES,
    USER_TOOLS,
    RunModel,
    ToolRun,
    Where,
    model_run,
)
from cachesim.builders.runeffects import home_of
from cachesim.context.dockerignore import IgnoreRules
from cachesim.context.snapshot import content_digest
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError
from cachesim.parsing.dockerfile import Instruction
from cachesim.planning.plan import Plan, Resolved, plan
from cachesim.whatif import editmix


@dataclass(frozen=True, slots=True)
class Project:
    """What ``suggest`` reads: the Dockerfile text, the context folder's files (before
    ``.dockerignore``) and the ``.dockerignore`` text (None: there is none)."""

    dockerfile: str
    files: Mapping[str, ContextFile]
    dockerignore: str | None = None
    name: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Saving:
    """Predicted seconds of the edit builds (the cold build left out) before and after."""

    before: float
    after: float
    builds: int

    @property
    def seconds(self) -> float:
        return self.before - self.after

    @property
    def percent(self) -> float:
        return 100.0 * self.seconds / self.before if self.before else 0.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One proposed change: the whole rewritten Dockerfile (and .dockerignore), why, and
    which context paths the image no longer holds (``drops``: only .dockerignore entries
    and cache-mount folders change the image's files)."""

    kind: str
    title: str
    why: str
    dockerfile: str
    dockerignore: str | None
    drops: tuple[str, ...] = ()  # absolute image paths (a folder: everything below it)
    saving: Saving | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A place where cachesim proposes nothing because it cannot be sure it is safe."""

    line: int | None
    why: str


@dataclass(frozen=True, slots=True)
class Advice:
    suggestions: tuple[Suggestion, ...]
    refusals: tuple[Refusal, ...]
    mix: str
    notes: tuple[str, ...] = ()  # what was looked at when there is nothing to suggest


# -- what the tools write inside the project, where the model says "anywhere" ---------
@dataclass(frozen=True, slots=True)
class Installer:
    """A dependency install: the folders it fills in the project, the lockfiles it may
    rewrite unless one of ``frozen`` is given (then the later ``COPY . .`` would put the
    old one back: a different image), per the tools' documentation."""

    outputs: tuple[str, ...] = ()
    lockfiles: tuple[str, ...] = ()
    frozen: tuple[str, ...] = ()


INSTALLERS: dict[str, Installer] = {
    "pip install": Installer(),
    "pip download": Installer(),
    "pip wheel": Installer(),
    "uv pip install": Installer(),
    "uv pip sync": Installer(),
    "npm ci": Installer(("node_modules",)),
    "npm install": Installer(("node_modules",), ("package-lock.json",)),
    "npm i": Installer(("node_modules",), ("package-lock.json",)),
    "yarn install": Installer(
        ("node_modules", ".yarn", ".pnp.cjs", ".pnp.loader.mjs"),
        ("yarn.lock",),
        ("--frozen-lockfile", "--immutable"),
    ),
    "pnpm install": Installer(("node_modules",), ("pnpm-lock.yaml",), ("--frozen-lockfile",)),
    "pnpm fetch": Installer(),
    "go mod download": Installer(),
    "go mod verify": Installer(),
    "uv sync": Installer((".venv",), ("uv.lock",), ("--locked", "--frozen")),
    "poetry install": Installer((".venv",), ("poetry.lock",), ()),
    "pipenv install": Installer((), ("Pipfile.lock",), ("--deploy", "--ignore-pipfile")),
    "pipenv sync": Installer(),
    "bundle install": Installer(("vendor", ".bundle"), ("Gemfile.lock",), ("--frozen",)),
    "composer install": Installer(("vendor",), ("composer.lock",), ()),
}
# Where installers and system package managers write outside the project.
# (A project under /usr/src/app or /var/www/html is none of these.)
SYSTEM_AREAS = (
    *(f"/usr/{d}" for d in ("bin", "sbin", "lib", "lib64", "libexec", "include", "share")),
    *(f"/usr/local/{d}" for d in ("bin", "sbin", "lib", "include", "share")),
    *(f"/var/{d}" for d in ("lib", "cache", "log")),
    "/etc",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
    "/tmp",
)
HOME_CACHES = (".cache", ".npm", ".local", ".config", "go", ".m2", ".gradle", ".cargo")

# Manifest lines that name other local files: the model's "reads only X" would be wrong.
LOCAL_REFERENCE = {
    "requirements": re.compile(
        r"(?m)^\s*(-r|-c|-e|--requirement|--constraint|--editable|\.|/)"
        r"|file:|\s@\s*\."
    ),
    "package.json": re.compile(r'"(file|link|portal):|"workspaces"'),
    "go.mod": re.compile(r"=>\s*\.{1,2}/|=>\s*/"),
    "Gemfile": re.compile(r"\bpath:|\bgemspec\b|:path\s*=>"),
    "pyproject.toml": re.compile(r"\bpath\s*=|file:"),
    "composer.json": re.compile(r'"type"\s*:\s*"path"'),
}
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/@+-]+")


def sent_files(project: Project) -> dict[str, ContextFile]:
    """The files the engine sends: the context without what .dockerignore leaves out."""
    try:
        rules = IgnoreRules.parse(project.dockerignore)
    except InputError as err:
        raise InputError(f"the .dockerignore: {err.one_line()}") from None
    return {p: f for p, f in project.files.items() if not rules.excludes(p)}


def _plan(text: str, build_args: Mapping[str, str]) -> Plan | None:
    try:
        return plan(text, dict(build_args))
    except Exception:  # any rejection is the builder's own failure: no advice on it
        return None


def _is_context_dot(step: Resolved) -> bool:
    return (
        step.keyword == "COPY"
        and step.from_stage is None
        and not step.from_image
        and step.sources in ((".",), ("./",))
        and not step.inline
        and not step.excludes
        and step.instruction.flag("parents") is None
    )


def _views(steps: Sequence[Resolved], sent: Mapping[str, ContextFile]) -> list[dict[str, str]]:
    """The context files in the image before each step (absolute path -> digest), as far
    as COPYs of context files and folders put them; the base image's are unknown."""
    views: list[dict[str, str]] = []
    view: dict[str, str] = {}
    for step in steps:
        views.append(dict(view))
        if step.keyword not in ("COPY", "ADD") or step.from_stage is not None or step.from_image:
            continue
        dest = posixpath.join(step.workdir or "/", step.dest or ".")
        for source in step.sources:
            src = posixpath.normpath(source).lstrip("/")
            src = "" if src == "." else src
            for path, entry in sent.items():
                if src and path == src:
                    target = posixpath.join(dest, posixpath.basename(path))
                    if not step.dest.endswith("/") and len(step.sources) == 1:
                        target = dest
                elif not src or path.startswith(src + "/"):
                    target = posixpath.join(dest, path[len(src) + 1 :] if src else path)
                else:
                    continue
                view[posixpath.normpath(target)] = content_digest(entry.content)
    return views


def _needed(
    planned: Plan, sent: Mapping[str, ContextFile]
) -> Iterator[tuple[list[Resolved], list[dict[str, str]]]]:
    """Each stage the target needs: its steps (ONBUILD triggers left out) and, per step,
    the context files in the image before it."""
    for stage in planned.stages:
        if stage.stage.index in planned.needed:
            steps = [s for s in stage.steps if not s.trigger]
            yield steps, _views(steps, sent)


def _contents(sent: Mapping[str, ContextFile], view: Mapping[str, str]) -> Callable:
    by_digest = {content_digest(f.content): f.content for f in sent.values()}
    return lambda path: by_digest.get(view.get(path, ""))


def run_model(step: Resolved, view: Mapping[str, str], sent: Mapping[str, ContextFile]) -> RunModel:
    """cachesim's model of what this RUN reads and writes, in the image as far as known."""
    cwd = step.workdir or "/"
    where = Where(cwd, dict(step.run_env), home_of(step.user), view, _contents(sent, view))
    return model_run(step.command, where)


def _run_label(step: Resolved) -> str:
    text = " ".join(step.instruction.command.split())
    return text if len(text) <= 70 else text[:67] + "..."


def _reads(tools: Sequence[ToolRun], landed: Mapping[str, str]) -> set[str]:
    """The image paths among ``landed`` that the tools read."""
    return {p for p in landed for t in tools for r in t.reads if r.matches(p) is not None}


def _outputs(tool: ToolRun, home: str) -> tuple[str, ...] | None:
    """Where a tool writes, as image path prefixes (None: it may write anywhere at all)."""
    installer = INSTALLERS.get(tool.tool)
    caches = tuple(posixpath.join(home, c) for c in HOME_CACHES)
    if installer is not None:
        frozen = any(flag in tool.argv for flag in installer.frozen)
        locks = () if frozen else installer.lockfiles
        inside = tuple(posixpath.join(tool.cwd, p) for p in installer.outputs + locks)
        return inside + caches + SYSTEM_AREAS
    if ANYWHERE in tool.writes:
        if tool.tool.split()[0] in SYSTEM_PACKAGES | USER_TOOLS:
            return caches + SYSTEM_AREAS
        return None
    return tool.writes


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _local_reference(path: str, content: bytes | None) -> bool:
    """Whether a manifest names other local files (then it reads more than itself)."""
    name = posixpath.basename(path)
    key = "requirements" if name.endswith((".txt", ".in")) else name
    pattern = LOCAL_REFERENCE.get(key)
    if pattern is None or content is None:
        return False
    return bool(pattern.search(content.decode("utf-8", "replace")))


# -- 1. manifests first ---------------------------------------------------------------
def _movable(
    step: Resolved, model: RunModel, landed: Mapping[str, str], sent: Mapping[str, ContextFile]
) -> tuple[set[str] | None, str]:
    """The image paths this RUN reads when it may move above the COPY, or None and why not."""
    line = step.instruction.line
    if any(m.type == "bind" for m in step.mounts):
        return None, f"line {line}: a bind mount may read any file, so nothing moves past it"
    if not model.known:
        return None, (
            f"line {line}: cachesim cannot tell what `{model.unknown[:60]}` reads, so "
            "nothing after the COPY moves past it"
        )
    if any(r.names_only for t in model.tools for r in t.reads):
        return None, f"line {line}: `{_run_label(step)}` reads file names of the source"
    for tool in model.tools:
        if tool.tool not in INSTALLERS and tool.reads and _reads((tool,), landed):
            return None, f"line {line}: `{tool.tool}` reads the source itself, it stays after it"
        outputs = _outputs(tool, home_of(step.user))
        if outputs is None:
            return None, f"line {line}: `{tool.tool}` may write anywhere, so it stays after it"
        clash = sorted(p for p in landed if _under(p, outputs))
        if clash:
            return None, (
                f"line {line}: `{tool.tool}` writes {clash[0]}, which the COPY also puts "
                "there: moved above it, the image would keep the copied one"
            )
    read = _reads(model.tools, landed)
    content = _contents(sent, landed)
    named = sorted(p for p in read if _local_reference(p, content(p)))
    if named:
        return None, f"line {line}: {named[0]} names other local files, so the RUN may read more"
    if any(not _PLAIN_PATH.fullmatch(p) for p in read):
        return None, f"line {line}: a file it reads has a name COPY would read as a pattern"
    return read, ""


def manifests_first(project: Project, planned: Plan) -> tuple[list[Suggestion], list[Refusal]]:
    """For each ``COPY .`` followed by RUNs that read only manifests (or nothing of the
    build), the Dockerfile with those RUNs above it, after a COPY of the manifests."""
    sent = sent_files(project)
    lines = project.dockerfile.split("\n")
    found: list[Suggestion] = []
    refused: list[Refusal] = []
    for steps, views in _needed(planned, sent):
        for i, copy in enumerate(steps):
            if not _is_context_dot(copy):
                continue
            between, moved, refusal = _moves(steps, i, views, sent)
            if refusal is not None:
                refused.append(refusal)
            if moved:
                found.append(_manifest_suggestion(project, lines, copy, between, moved))
    return found, refused


def _moves(
    steps: Sequence[Resolved],
    i: int,
    views: Sequence[Mapping[str, str]],
    sent: Mapping[str, ContextFile],
) -> tuple[list[Resolved], list[tuple[Resolved, set[str]]], Refusal | None]:
    """What the ``COPY .`` at ``i`` can move below: the instructions it passes, the RUNs
    that move above it (each with the image paths it reads), and why it stops there."""
    copy = steps[i]
    landed = views[i + 1] if i + 1 < len(views) else {}
    landed = {p: d for p, d in landed.items() if p not in views[i] or views[i][p] != d}
    moved: list[tuple[Resolved, set[str]]] = []
    between: list[Resolved] = []
    refusal = None
    for run in steps[i + 1 :]:
        if run.keyword in PASSABLE and not moved:
            between.append(run)
            continue
        if run.keyword != "RUN":
            break
        read, why = _movable(run, run_model(run, views[i + 1], sent), landed, sent)
        if read is None:
            refusal = Refusal(run.instruction.line, why)
            break
        moved.append((run, read))
    why = _cannot_pass(copy, between) if moved else ""
    if why:
        return between, [], Refusal(copy.instruction.line, why)
    return between, moved, refusal


def _manifest_suggestion(
    project: Project,
    lines: list[str],
    copy: Resolved,
    between: Sequence[Resolved],
    moved: Sequence[tuple[Resolved, set[str]]],
) -> Suggestion:
    names = sorted({_relative(p, copy) for _, read in moved for p in read})
    runs = ", ".join(f"`{_run_label(r)}` (line {r.instruction.line})" for r, _ in moved)
    what = f"only {', '.join(names)}" if names else "no file of the build"
    one = len(moved) == 1
    return Suggestion(
        "manifests-first",
        "install the dependencies before copying the source",
        f"{runs} read{'s' if one else ''} {what}, but {'it runs' if one else 'they run'} "
        f"after `{_run_label(copy)}` (line {copy.instruction.line}), so every edit of any "
        f"file re-runs {'it' if one else 'them'}",
        _rewrite_manifests(lines, copy, between, moved),
        project.dockerignore,
    )


# Instructions that may sit between the COPY and the RUNs: the COPY moves below them.
# None changes what a COPY without variables copies or where an absolute one puts it
# (files are owned by root whatever USER says, unless --chown: Dockerfile reference).
PASSABLE = frozenset({"WORKDIR", "ENV", "USER", "LABEL", "EXPOSE", "ARG"})


def _cannot_pass(copy: Resolved, between: Sequence[Resolved]) -> str:
    """Why the COPY cannot move below the instructions between it and the RUNs ("": it can)."""
    if not between:
        return ""
    line = copy.instruction.line
    if "$" in copy.instruction.command:
        return f"line {line}: the COPY uses variables, and the instructions after it may set them"
    dest = copy.instruction.args[-1] if copy.instruction.args else "."
    if any(s.keyword == "WORKDIR" for s in between) and not dest.startswith("/"):
        return (
            f"line {line}: the COPY's destination {dest} is relative, and a WORKDIR after it "
            "would change where it lands"
        )
    return ""


def _relative(image_path: str, copy: Resolved) -> str:
    dest = posixpath.join(copy.workdir or "/", copy.dest or ".")
    return posixpath.relpath(image_path, posixpath.normpath(dest))


def _flags_text(ins: Instruction, keep: Sequence[str]) -> str:
    parts = []
    for name, value in ins.flags:
        if name in keep:
            parts.append(f"--{name}" if value is None else f"--{name}={value}")
    return "".join(p + " " for p in parts)


def _rewrite_manifests(
    lines: list[str],
    copy: Resolved,
    between: Sequence[Resolved],
    moved: Sequence[tuple[Resolved, set[str]]],
) -> str:
    """The text with the instructions between, a COPY of the manifests and the moved RUNs
    above the ``COPY .``."""
    ins = copy.instruction
    raw_dest = ins.args[-1] if ins.args else "."
    keyword = lines[ins.line - 1].lstrip().split()[0]
    flags = _flags_text(ins, ("chown", "chmod", "link"))
    by_folder: dict[str, list[str]] = {}
    for _, read in moved:
        for path in read:
            rel = _relative(path, copy)
            by_folder.setdefault(posixpath.dirname(rel), []).append(rel)
    copies = []
    for folder in sorted(by_folder):
        if raw_dest in (".", "./"):
            dest = f"{folder}/" if folder else "./"
        else:
            dest = posixpath.join(raw_dest.rstrip("/"), folder).rstrip("/") + "/"
        names = " ".join(sorted(set(by_folder[folder])))
        copies.append(f"{keyword} {flags}{names} {dest}")
    last = moved[-1][0].instruction.end_line
    passed = between[-1].instruction.end_line if between else ins.end_line
    middle, runs = lines[ins.end_line : passed], lines[passed:last]
    head, copy_lines, tail = lines[: ins.line - 1], lines[ins.line - 1 : ins.end_line], lines[last:]
    return "\n".join(head + middle + copies + runs + copy_lines + tail)


# -- 2. always-changing build arguments moved down --------------------------------------
def volatile_args_down(project: Project, planned: Plan) -> tuple[list[Suggestion], list[Refusal]]:
    """Each ``ARG`` whose name says it changes every build, moved to just before its first
    use in the stage (the RUNs it passes do not read it: the model knows what they read)."""
    sent = sent_files(project)
    lines = project.dockerfile.split("\n")
    found: list[Suggestion] = []
    refused: list[Refusal] = []
    for stage in planned.stages:
        if stage.stage.index not in planned.needed:
            continue
        steps = [s for s in stage.steps if not s.trigger]
        views = _views(steps, sent)
        for i, step in enumerate(steps):
            ins = step.instruction
            if step.keyword != "ARG" or len(ins.args) != 1 or "$" in ins.command:
                continue
            name = ins.args[0].split("=", 1)[0]
            if not editmix.volatile_args([name]):
                continue
            use = re.compile(r"\$\{?" + re.escape(name) + r"\b")
            passed: list[Resolved] = []
            for later in steps[i + 1 :]:
                if use.search(later.instruction.command) or (
                    later.keyword == "ARG" and later.instruction.args[0].split("=")[0] == name
                ):
                    break
                passed.append(later)
            runs = [s for s in passed if s.keyword == "RUN"]
            if not runs:
                continue
            why = _reads_env(runs, views, steps, name, sent)
            if why:
                refused.append(Refusal(ins.line, why))
                continue
            text = _move_lines(lines, ins, passed[-1].instruction.end_line)
            found.append(
                Suggestion(
                    "arg-down",
                    f"declare ARG {name} where it is first used",
                    f"`ARG {name}` (line {ins.line}) changes on every build, and every RUN "
                    f"after it sees it in its environment: {len(runs)} RUN"
                    f"{'s' if len(runs) != 1 else ''} that never use{'s' if len(runs) == 1 else ''}"
                    " it re-run each time",
                    text,
                    project.dockerignore,
                )
            )
    return found, refused


def volatile_labels_down(project: Project, planned: Plan) -> tuple[list[Suggestion], list[Refusal]]:
    """Each ``LABEL`` whose value uses an always-changing ARG, moved to the end of its stage.

    The classic builder makes every instruction a step whose cache key follows the one
    before it, so a LABEL that differs on every build rebuilds every step after it
    (BuildKit keeps labels in the image config, out of the steps' keys). At the end of the
    stage the image gets the same labels, provided no later LABEL sets a key again and no
    later ARG or ENV changes a variable the value uses."""
    lines = project.dockerfile.split("\n")
    found: list[Suggestion] = []
    for stage in planned.stages:
        if stage.stage.index not in planned.needed:
            continue
        instructions = stage.stage.instructions
        for k, ins in enumerate(instructions):
            used = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", ins.command)
            if ins.keyword != "LABEL" or not editmix.volatile_args(used):
                continue
            later = instructions[k + 1 :]
            if not later or any(i.keyword in ("LABEL", "ONBUILD") for i in later):
                continue
            redefined = {
                a.split("=", 1)[0] for i in later if i.keyword in ("ARG", "ENV") for a in i.args
            }
            if redefined & set(used):
                continue
            found.append(
                Suggestion(
                    "label-down",
                    "set the always-changing LABEL last",
                    f"`{ins.text.strip()}` (line {ins.line}) differs on every build, and the "
                    "classic builder rebuilds every step after it",
                    _move_lines(lines, ins, later[-1].end_line),
                    project.dockerignore,
                )
            )
    return found, []


def _reads_env(
    runs: Sequence[Resolved],
    views: Sequence[Mapping[str, str]],
    steps: Sequence[Resolved],
    name: str,
    sent: Mapping[str, ContextFile],
) -> str:
    """Why a RUN might read the variable from its environment ("" when none can)."""
    for run in runs:
        model = run_model(run, views[steps.index(run)], sent)
        if not model.known:
            return (
                f"line {run.instruction.line}: cachesim cannot tell whether "
                f"`{_run_label(run)}` reads ${name} from its environment"
            )
        for tool in model.tools:
            if tool.env and name.startswith(tool.env):
                return f"line {run.instruction.line}: `{tool.tool}` reads ${name}"
    return ""


def _move_lines(lines: list[str], ins: Instruction, after_line: int) -> str:
    """The text with the instruction's lines moved to just after line ``after_line``."""
    block = lines[ins.line - 1 : ins.end_line]
    rest = lines[: ins.line - 1] + lines[ins.end_line :]
    at = after_line - len(block)
    return "\n".join(rest[:at] + block + rest[at:])


# -- 3. .dockerignore entries -----------------------------------------------------------
IGNORE_CANDIDATES = (
    ".git",
    ".github",
    ".gitlab-ci.yml",
    ".vscode",
    ".idea",
    "docs",
    "doc",
    "tests",
    "test",
)
TOP_DOCS = re.compile(r"[^/]*\.(md|rst|adoc)")


def dockerignore_entries(project: Project, planned: Plan) -> tuple[list[Suggestion], list[Refusal]]:
    """Entries for files and folders that ``COPY .`` sends but no step reads."""
    sent = sent_files(project)
    steps = [s for stage_steps, _ in _needed(planned, sent) for s in stage_steps]
    copies = [s for s in steps if _is_context_dot(s)]
    candidates = _ignore_candidates(sent)
    if not copies or not candidates:
        return [], []
    wildcard = next((x for x in steps if _has_wildcard_source(x)), None)
    if wildcard is not None:
        line = wildcard.instruction.line
        return [], [Refusal(line, f"line {line}: a wildcard source may need any file")]
    read, refusal = _all_reads(planned, sent)
    if refusal is not None:
        return [], [refusal]
    rules = IgnoreRules.parse(project.dockerignore)
    texts = [s.instruction.command for s in steps if not _is_context_dot(s)]
    chosen = [n for n in candidates if _ignorable(n, sent, texts, rules, copies, read)]
    return ([_ignore_suggestion(project, chosen, copies)] if chosen else []), []


def _ignore_candidates(sent: Mapping[str, ContextFile]) -> list[str]:
    """Top-level names of the context that builds seldom need (.git, docs, tests, *.md)."""
    top = sorted({p.split("/")[0] for p in sent})
    return [n for n in top if n in IGNORE_CANDIDATES or (n in sent and TOP_DOCS.fullmatch(n))]


def _from_elsewhere(step: Resolved) -> bool:
    """A COPY --from a stage or an image: it reads none of the context."""
    return step.from_stage is not None or bool(step.from_image)


def _has_wildcard_source(step: Resolved) -> bool:
    """A COPY/ADD of context files by a pattern (one from a stage or an image reads none)."""
    return (
        step.keyword in ("COPY", "ADD")
        and not _from_elsewhere(step)
        and any(c in source for source in step.sources for c in "*?[")
    )


def _all_reads(planned: Plan, sent: Mapping[str, ContextFile]) -> tuple[set[str], Refusal | None]:
    """The image paths any RUN of the needed stages reads, or why that cannot be known."""
    read: set[str] = set()
    for steps, views in _needed(planned, sent):
        for i, step in enumerate(steps):
            if step.keyword != "RUN":
                continue
            model = run_model(step, views[i], sent)
            if not model.known or any(m.type == "bind" for m in step.mounts):
                line = step.instruction.line
                why = (
                    f"line {line}: cachesim cannot tell what `{_run_label(step)}` reads, so "
                    "it proposes no .dockerignore entry"
                )
                return read, Refusal(line, why)
            read |= _reads(model.tools, views[i])
    return read, None


def _ignorable(
    name: str,
    sent: Mapping[str, ContextFile],
    texts: Sequence[str],
    rules: IgnoreRules,
    copies: Sequence[Resolved],
    read: set[str],
) -> bool:
    """Whether no instruction names it, no `!` line keeps it, and no RUN reads it."""
    word = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])")
    if any(word.search(t) for t in texts):
        return False
    if any(
        r.exclusion and (r.matches(name) or r.pattern.startswith(name + "/")) for r in rules.rules
    ):
        return False
    files = [p for p in sent if p == name or p.startswith(name + "/")]
    landed = {posixpath.join(c.workdir or "/", c.dest, p) for c in copies for p in files}
    return not landed & read


def _ignore_suggestion(
    project: Project, chosen: Sequence[str], copies: Sequence[Resolved]
) -> Suggestion:
    old = project.dockerignore or ""
    added = "# added by cachesim suggest: sent by COPY . but read by no step\n"
    text = old + ("\n" if old and not old.endswith("\n") else "") + added
    text += "".join(f"{name}\n" for name in chosen)
    drops = tuple(
        posixpath.normpath(posixpath.join(c.workdir or "/", c.dest, name))
        for c in copies
        for name in chosen
    )
    return Suggestion(
        "dockerignore",
        "leave out of the context what no step reads",
        f"{', '.join(chosen)}: sent by `COPY .` but read by no step, so editing any of them "
        "re-runs everything after the COPY. (They leave the image too: keep them if the "
        "running program needs them.)",
        project.dockerfile,
        text,
        drops,
    )


# -- 4. cache mounts ----------------------------------------------------------------------
CACHE_DIRS = {
    "pip install": ".cache/pip",
    "pip wheel": ".cache/pip",
    "pip download": ".cache/pip",
    "uv pip install": ".cache/uv",
    "uv sync": ".cache/uv",
    "npm ci": ".npm",
    "npm install": ".npm",
    "go build": ".cache/go-build",
    "go install": ".cache/go-build",
    "go test": ".cache/go-build",
}


def cache_mounts(
    project: Project, planned: Plan, builder: str = "buildkit"
) -> tuple[list[Suggestion], list[Refusal]]:
    """A BuildKit cache mount on each RUN whose tool keeps a download or build cache that
    is only a cache (pip's, npm's, Go's build cache): a rebuilt step downloads less. The
    layer cache does not change, so the simulator predicts no saving for it."""
    if not registry.builder(builder).runs_mounts:  # `--mount` requires BuildKit
        return [], []
    sent = sent_files(project)
    lines = project.dockerfile.split("\n")
    mounts: dict[int, list[str]] = {}
    for steps, views in _needed(planned, sent):
        for i, step in enumerate(steps):
            targets = _mount_targets(step, views[i], sent)
            if targets:
                mounts[step.instruction.line] = targets
    if not mounts:
        return [], []
    new = list(lines)
    for line, targets in mounts.items():
        flags = "".join(f"--mount=type=cache,target={t} " for t in targets)
        head = re.match(r"(?i)\s*RUN\s+", new[line - 1])
        if head is not None:
            new[line - 1] = head.group(0) + flags + new[line - 1][head.end() :]
    drops = tuple(sorted({t for ts in mounts.values() for t in ts}))
    return [
        Suggestion(
            "cache-mount",
            "keep package downloads in a BuildKit cache mount",
            "a rebuilt step downloads (pip, npm) or compiles (go) again everything it did "
            f"before; with a cache mount ({', '.join(drops)}) it reuses what earlier builds "
            "left there",
            "\n".join(new),
            project.dockerignore,
            drops,
            note="the layer cache is unchanged, so cachesim predicts no saving in steps: "
            "each rebuilt step gets faster by what the cache holds; the cache folders leave "
            "the image (smaller), though the folders above the mount point stay, empty "
            "(seen on Docker 20.10); a builder that keeps layers but not mounts (a CI runner "
            "importing --cache-from) starts each rebuilt step with an empty cache, so a RUN "
            "that only warms a cache for a later one loses its point there; BuildKit only "
            "(the classic builder rejects --mount)",
        )
    ], []


MEANINGFUL = 0.05  # seconds over the whole mix: less is rounding, not a saving
# Less than this share of the builds' time is not worth a change either: on tailscale's
# history a .dockerignore entry saved 0.1 s of 7,614 s (less to send, no step spared).
NEGLIGIBLE_SHARE = 0.001


def negligible(seconds: float, before: float) -> bool:
    """Whether a saving of ``seconds`` over builds that took ``before`` is next to nothing."""
    return seconds <= max(MEANINGFUL, NEGLIGIBLE_SHARE * before)


def _mount_targets(
    step: Resolved, view: Mapping[str, str], sent: Mapping[str, ContextFile]
) -> list[str]:
    """The cache folders a RUN's tools keep, where a cache mount is safe to add."""
    if step.keyword != "RUN" or step.mounts or step.instruction.json:
        return []
    if (step.user or "root").split(":")[0] not in ("root", "0"):
        return []  # a cache mount belongs to root: another user could not write it
    model = run_model(step, view, sent)
    if not model.known:
        return []
    targets = []
    for tool in model.tools:
        folder = CACHE_DIRS.get(tool.tool)
        if folder is None or "--no-cache-dir" in tool.argv:
            continue
        target = posixpath.join(home_of(step.user), folder)
        if folder.endswith("go-build"):
            target = dict(step.run_env).get("GOCACHE", target)
        targets.append(target)
    return list(dict.fromkeys(targets))


RULES = (manifests_first, volatile_args_down, volatile_labels_down, dockerignore_entries)
LEGACY_ONLY = ("label-down",)  # saves time with the classic builder only


# -- the saving, and everything together ------------------------------------------------
def saving(
    project: Project,
    dockerfile: str,
    dockerignore: str | None,
    edits: Sequence[editmix.Edit],
    builder: str,
    buildkit: str,
) -> Saving:
    """Simulate the edit mix with the original and with the rewritten files."""
    import cachesim

    totals = []
    for text, ignore in ((project.dockerfile, project.dockerignore), (dockerfile, dockerignore)):
        raw = editmix.scenario_dict(project.name, text, ignore, project.files, edits, builder)
        if project.build_args:
            raw["build_args"] = dict(project.build_args)
        scenario = editmix.with_files(cachesim.load_scenario(raw), project.files)
        result = cachesim.simulate(scenario, buildkit=buildkit)
        totals.append(sum(b.seconds or 0.0 for b in result.builds[1:]))
    return Saving(totals[0], totals[1], len(edits))


def declared_args(text: str) -> list[str]:
    """Every ARG name the Dockerfile declares (global and in stages)."""
    return re.findall(r"(?im)^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)", text)


def suggest(
    project: Project,
    edits: Sequence[editmix.Edit] | None = None,
    mix: editmix.EditMix = editmix.DEFAULT_MIX,
    builder: str = "buildkit",
    buildkit: str = "0.25",
) -> Advice:
    """Every suggestion for the project, each priced over the edit mix (or the given edits,
    e.g. from a git history), and, when there are several, all of them together."""
    planned = _plan(project.dockerfile, project.build_args)
    if planned is None:
        return Advice((), (Refusal(None, "the builder rejects this Dockerfile as it is"),), "")
    if edits is None:
        volatile = editmix.volatile_args(declared_args(project.dockerfile))
        edits = editmix.mix_edits(list(sent_files(project) | project.files), mix, volatile)
        described = f"default edit mix: {mix.describe()}"
    else:
        described = f"{len(edits)} builds from the history"
    found: list[Suggestion] = []
    refused: list[Refusal] = []
    for rule in RULES:
        suggestions, refusals = rule(project, planned)
        metadata_steps = registry.builder(builder).counts_metadata_as_steps
        found += [s for s in suggestions if metadata_steps or s.kind not in LEGACY_ONLY]
        refused += refusals
    priced = [
        _with_saving(s, saving(project, s.dockerfile, s.dockerignore, edits, builder, buildkit))
        for s in found
    ]
    mounts, _ = cache_mounts(project, planned, builder)
    if found:
        combined = _together(project, priced, edits, builder, buildkit)
        if combined is not None:
            priced.append(combined)
    priced.sort(key=lambda s: -s.saving.seconds if s.saving else 0.0)
    notes = () if found else _why_nothing(project, planned)
    return Advice(tuple(priced) + tuple(mounts), tuple(refused), described, notes)


def _why_nothing(project: Project, planned: Plan) -> tuple[str, ...]:
    """What a user whose Dockerfile is already in shape reads instead of a bare "nothing"."""
    sent = sent_files(project)
    steps = [s for stage_steps, _ in _needed(planned, sent) for s in stage_steps]
    if any(_is_context_dot(s) for s in steps):
        return ()
    copied = [s for s in steps if s.keyword in ("COPY", "ADD") and not _from_elsewhere(s)]
    lines = ", ".join(str(s.instruction.line) for s in copied[:6])
    return (
        "no step copies the whole context (`COPY . <dest>`): each COPY names what it copies"
        + (f" (lines {lines})" if lines else "")
        + ", so an edit re-runs only from the COPY of that file; `cachesim impact DIR` "
        "lists which edit re-runs what",
    )


def _with_saving(s: Suggestion, cost: Saving) -> Suggestion:
    return Suggestion(s.kind, s.title, s.why, s.dockerfile, s.dockerignore, s.drops, cost, s.note)


def _together(
    project: Project,
    priced: Sequence[Suggestion],
    edits: Sequence[editmix.Edit],
    builder: str,
    buildkit: str,
) -> Suggestion | None:
    """Apply the rules one after the other, each on the text the one before rewrote (line
    numbers moved; and one move may enable another: an ARG can move down only once the
    LABEL that uses it has), in two rounds; None when it saves no more than the best alone."""
    current = project
    drops: list[str] = []
    applied: list[str] = []
    for _ in range(2):
        for rule in RULES:
            planned = _plan(current.dockerfile, current.build_args)
            if planned is None:
                return None
            suggestions, _ = rule(current, planned)
            metadata_steps = registry.builder(builder).counts_metadata_as_steps
            usable = [x for x in suggestions if metadata_steps or x.kind not in LEGACY_ONLY]
            for x in usable[:1]:
                current = Project(
                    x.dockerfile, current.files, x.dockerignore, current.name, current.build_args
                )
                drops += [d for d in x.drops if d not in drops]
                applied.append(x.kind)
    if not applied:
        return None
    cost = saving(project, current.dockerfile, current.dockerignore, edits, builder, buildkit)
    best = max((x.saving.seconds for x in priced if x.saving), default=0.0)
    if negligible(cost.seconds - best, cost.before):
        return None
    kinds = ", ".join(dict.fromkeys(applied))
    return Suggestion(
        "together",
        "all of them together",
        f"the kinds of suggestion found ({kinds}) applied one after the other: one may save "
        "little alone when another still rebuilds the same steps",
        current.dockerfile,
        current.dockerignore,
        tuple(drops),
        cost,
    )


def unified_diff(
    project: Project, suggestion: Suggestion, ignore_name: str = ".dockerignore"
) -> str:
    """The change as ``diff -u`` prints it: the Dockerfile, then the .dockerignore."""
    out = []
    pairs = (
        (project.name, project.dockerfile, suggestion.dockerfile),
        (ignore_name, project.dockerignore or "", suggestion.dockerignore or ""),
    )
    for name, old, new in pairs:
        if old == new:
            continue
        out += difflib.unified_diff(_lines(old), _lines(new), f"a/{name}", f"b/{name}", lineterm="")
    return "\n".join(out) + "\n"


def _lines(text: str) -> list[str]:
    return text.splitlines()


# -- output ------------------------------------------------------------------------------
def _saving_text(saving: Saving | None) -> str:
    if saving is None:
        return "not modelled"
    if saving.seconds <= MEANINGFUL:
        return (
            f"none alone over {saving.builds} builds ({saving.before:.1f}s either way): "
            "another step still rebuilds what it would spare"
        )
    if negligible(saving.seconds, saving.before):
        return (
            f"next to nothing over {saving.builds} builds ({saving.seconds:.1f}s of "
            f"{saving.before:.1f}s): no build spares a step, only a little time"
        )
    return (
        f"{saving.seconds:.1f}s over {saving.builds} builds ({saving.before:.1f}s -> "
        f"{saving.after:.1f}s, -{saving.percent:.0f}%)"
    )


def to_text(project: Project, advice: Advice) -> str:
    """The suggestions as ``cachesim suggest`` prints them."""
    out = [
        f"{project.name}: {len(advice.suggestions)} suggestion(s); priced over the {advice.mix}",
        "",
    ]
    for number, s in enumerate(advice.suggestions, start=1):
        out.append(f"{number}. {s.title} [{s.kind}]")
        out.append(f"   why: {s.why}")
        out.append(f"   saving: {_saving_text(s.saving)}")
        if s.note:
            out.append(f"   note: {s.note}")
        if s.drops:
            out.append(f"   no longer in the image: {', '.join(s.drops)}")
        out += ["   " + line if line else "" for line in unified_diff(project, s).splitlines()]
        out.append("")
    if not advice.suggestions:
        out += ["nothing to suggest", *advice.notes, ""]
    if advice.refusals:
        out.append("not suggested (cachesim cannot be sure it is safe):")
        out += [f"  - {r.why}" for r in advice.refusals]
    return "\n".join(out).rstrip("\n") + "\n"


def to_json(project: Project, advice: Advice) -> str:
    """One JSON document: the mix, every suggestion with its diff and saving, the refusals."""
    import json

    def saving_of(s: Saving | None) -> dict | None:
        if s is None:
            return None
        return {
            "builds": s.builds,
            "before_seconds": round(s.before, 3),
            "after_seconds": round(s.after, 3),
            "saved_seconds": round(s.seconds, 3),
            "saved_percent": round(s.percent, 1),
        }

    document = {
        "dockerfile": project.name,
        "priced_over": advice.mix,
        "suggestions": [
            {
                "kind": s.kind,
                "title": s.title,
                "why": s.why,
                "saving": saving_of(s.saving),
                "note": s.note,
                "drops": list(s.drops),
                "diff": unified_diff(project, s),
                "dockerfile": s.dockerfile,
                "dockerignore": s.dockerignore,
            }
            for s in advice.suggestions
        ],
        "not_suggested": [{"line": r.line, "why": r.why} for r in advice.refusals],
        "notes": list(advice.notes),
    }
    return json.dumps(document, indent=2) + "\n"
