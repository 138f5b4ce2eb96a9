"""Planning a build: variables expanded, stages linked, each instruction with the state it sees.

This is the simulator's version of BuildKit's ``dockerfile2llb`` dispatch: walk each stage's
instructions, keep the stage's state (ENV, the build args in scope, USER, WORKDIR, SHELL),
expand variables where the builder expands them, and resolve ``FROM`` and ``--from`` to a
stage or an image. Each instruction goes through its keyword's function (``DISPATCH``;
``_metadata`` for the ones that are only words) and comes out as a typed step (``RunStep``,
``CopyStep``, ``WorkdirStep``, ``ArgStep``, ``MetadataStep``). The result, a ``Plan``, is
builder-neutral; ``buildkit`` and ``classic`` decide which instructions become steps and
what their cache keys hold (``builders/definitions.py``).

Rules (Dockerfile reference, "ARG" and "Understand how ARG and FROM interact"):
- ARGs before the first FROM are *global*: usable in FROM lines only, unless a stage
  re-declares them with a bare ``ARG NAME``.
- An ``ARG`` in a stage is in scope from its line to the end of that stage; its value is
  the ``--build-arg`` if given, else its default. BuildKit adds every ARG with a value to
  the environment of the RUNs after it, which is why changing one re-runs those RUNs.
- ENV values are expanded with the variables in scope and are inherited by stages built
  FROM this one; ARGs are not.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cachesim.core.errors import BuildFailure
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.parsing.dockerfile import Dockerfile, Heredoc, Instruction, Stage, parse
from cachesim.parsing.shellwords import expand, expand_heredoc
from cachesim.planning import graph as stage_graphs

DEFAULT_SHELL = ("/bin/sh", "-c")
EXPANDED = frozenset(
    {
        "ADD",
        "COPY",
        "ENV",
        "EXPOSE",
        "FROM",
        "LABEL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
        "ARG",
    }
)


@dataclass(frozen=True, slots=True)
class Mount:
    """A ``RUN --mount``: only its definition enters the key, plus bound content."""

    type: str  # bind | cache | tmpfs | secret | ssh
    target: str
    source: str = ""
    from_stage: int | None = None
    from_image: str | None = None
    id: str = ""
    sharing: str = "shared"
    readonly: bool = True
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Resolved:
    """One instruction of a stage, expanded, with the stage state it runs in."""

    instruction: Instruction
    stage: int
    env: tuple[tuple[str, str], ...]  # ENV values in scope, in order
    args: tuple[tuple[str, str], ...]  # build args in scope that have a value, in order
    user: str
    workdir: str
    shell: tuple[str, ...]
    # RUN
    command: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    network: str = "default"
    # COPY / ADD
    sources: tuple[str, ...] = ()
    dest: str = ""
    from_stage: int | None = None
    from_image: str | None = None
    chown: str = ""
    chmod: str = ""
    link: bool = False
    inline: tuple[tuple[str, str], ...] = ()  # heredoc files: (name, content as written)
    excludes: tuple[str, ...] = ()  # COPY --exclude patterns, expanded
    # WORKDIR (absolute path) / metadata instructions (expanded words)
    path: str = ""
    values: tuple[str, ...] = ()
    trigger: bool = False  # an ONBUILD trigger of the parent stage, run by this stage

    @property
    def keyword(self) -> str:
        return self.instruction.keyword

    @property
    def from_unknown(self) -> bool:
        """``--from=NAME`` where NAME is no stage and looks like no image anyone publishes:
        most likely a stage name with a typo. The builder takes it for an image and tries
        to pull ``docker.io/library/NAME:latest``."""
        return bool(self.from_image) and looks_like_stage_name(self.from_image, self)

    @property
    def run_env(self) -> tuple[tuple[str, str], ...]:
        """A RUN's environment as BuildKit sets it: ENV, then args with values, ENV winning."""
        env = dict(self.args)
        env.update(self.env)
        return tuple(env.items())


@dataclass(frozen=True, slots=True)
class RunStep(Resolved):
    """A RUN: ``command`` (the shell form wrapped in the stage's SHELL), ``mounts``,
    ``network``."""


@dataclass(frozen=True, slots=True)
class CopyStep(Resolved):
    """A COPY or ADD: ``sources``, ``dest`` (absolute), ``from_stage``/``from_image``,
    ``chown``, ``chmod``, ``link``, ``inline`` heredoc files, ``excludes``."""


@dataclass(frozen=True, slots=True)
class WorkdirStep(Resolved):
    """A WORKDIR: ``path``, absolute, resolved against the folder before it."""


@dataclass(frozen=True, slots=True)
class ArgStep(Resolved):
    """An ARG: ``values`` are the declarations as written (``NAME[=default]``)."""


@dataclass(frozen=True, slots=True)
class MetadataStep(Resolved):
    """ENV, LABEL, USER, CMD, EXPOSE...: ``values`` are the words, expanded where the
    builder expands them; they change the image config, and run nothing."""


@dataclass(frozen=True, slots=True)
class PlannedStage:
    stage: Stage
    base_stage: int | None  # FROM another stage
    base_image: str | None  # FROM an image (None for scratch or a stage)
    steps: tuple[Resolved, ...]
    # the image config the stage ends with, inherited by stages built FROM it
    final_env: tuple[tuple[str, str], ...] = ()
    final_user: str = ""
    final_workdir: str = "/"
    final_shell: tuple[str, ...] = DEFAULT_SHELL

    @property
    def label(self) -> str:
        return self.stage.label


@dataclass(frozen=True, slots=True)
class Plan:
    dockerfile: Dockerfile
    stages: tuple[PlannedStage, ...]
    target: int
    needed: frozenset[int]  # BuildKit: the stages the target needs
    order: tuple[int, ...]  # every stage, each after the stages it needs
    meta_args: Mapping[str, str] = field(default_factory=dict)

    def images(self) -> tuple[str, ...]:
        """Every external image the needed stages name (FROM, COPY --from, mount from)."""
        found: list[str] = []
        for planned in self.stages:
            if planned.base_image:
                found.append(planned.base_image)
            for step in planned.steps:
                if step.from_image and not step.from_unknown:
                    found.append(step.from_image)
                found.extend(m.from_image for m in step.mounts if m.from_image)
        return tuple(dict.fromkeys(found))


def _declare(
    raw: str,
    values: dict[str, str],
    build_args: Mapping[str, str],
    scope: Mapping[str, str],
    escape: str,
    meta: Mapping[str, str],
) -> None:
    """``ARG NAME[=default]``: the --build-arg if given, else the default expanded in
    ``scope``, else (a bare re-declaration) the global ARG's value; none: no value."""
    key, sep, default = raw.partition("=")
    if key in build_args:
        values[key] = build_args[key]
    elif sep:
        values[key] = expand(default, scope, escape)
    elif key in meta:
        values[key] = meta[key]


# The platform of this project's machines (and of the stand-in images verify builds on).
MACHINE_PLATFORM = "linux/amd64"


@dataclass(frozen=True, slots=True)
class AutomaticArgs:
    """The platform ARGs a builder defines by itself (Dockerfile reference, "Automatic
    platform ARGs in the global scope"), and how a bare global ``ARG NAME`` treats them.

    Seen on Docker 20.10 and 28.5 (docs/cache-rules.md K16): BuildKit gives them in the
    global scope (FROM lines) without a declaration; in a stage only after ``ARG NAME``.
    A ``--build-arg`` or an ARG default replaces the value. BuildKit 0.8 alone lets a bare
    global ``ARG TARGETARCH`` hide the value (FROM and the stage then see it empty).
    The classic builder defines none of them: ``values`` is empty.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    bare_global_hides: bool = False

    @classmethod
    def for_platform(
        cls, target: str = MACHINE_PLATFORM, build: str = MACHINE_PLATFORM, **kwargs
    ) -> AutomaticArgs:
        values: dict[str, str] = {}
        for prefix, platform in (("TARGET", target), ("BUILD", build)):
            os_name, arch, variant = [*platform.split("/"), "", ""][:3]
            values.update(
                {
                    f"{prefix}PLATFORM": platform,
                    f"{prefix}OS": os_name,
                    f"{prefix}ARCH": arch,
                    f"{prefix}VARIANT": variant,
                }
            )
        return cls(values, **kwargs)


NO_AUTOMATIC_ARGS = AutomaticArgs()


def _meta_args(
    dockerfile: Dockerfile, build_args: Mapping[str, str], automatic: AutomaticArgs
) -> dict[str, str]:
    """The global scope: declared global ARGs, and the automatic ARGs no global declares."""
    auto = {k: build_args.get(k, v) for k, v in automatic.values.items()}
    values: dict[str, str] = {}
    declared: set[str] = set()
    for ins in dockerfile.global_args:
        for raw in ins.args:
            declared.add(raw.partition("=")[0])
            seen = {} if automatic.bare_global_hides else auto
            _declare(raw, values, build_args, values, dockerfile.escape, seen)
    return {**{k: v for k, v in auto.items() if k not in declared}, **values}


def _stage_index(dockerfile: Dockerfile, ref: str, before: int | None = None) -> int | None:
    """A stage by name (case-insensitive), searching the stages before ``before`` if given."""
    wanted = ref.lower()
    for stage in dockerfile.stages[: before if before is not None else None]:
        if stage.name == wanted:
            return stage.index
    return None


def looks_like_stage_name(ref: str, step: Resolved | None = None) -> bool:
    """A bare lower-case word with no tag, registry or digest (``builder``, ``deps``)."""
    return bool(re.fullmatch(r"[a-z][a-z0-9_-]*", ref)) and ref not in KNOWN_BARE_IMAGES


# Official images often named without a tag in `COPY --from=` (Docker Hub "library").
KNOWN_BARE_IMAGES = frozenset(
    {
        "alpine",
        "busybox",
        "debian",
        "ubuntu",
        "nginx",
        "python",
        "node",
        "golang",
        "redis",
        "postgres",
        "scratch",
        "httpd",
        "traefik",
        "docker",
        "registry",
    }
)


def _from_ref(dockerfile: Dockerfile, ref: str, line: int) -> tuple[int | None, str | None]:
    """``--from=`` value: a stage name, a stage index, or else an image."""
    index = _stage_index(dockerfile, ref)
    if index is not None:
        return index, None
    if ref.isdigit():
        number = int(ref)
        if number >= len(dockerfile.stages):
            raise BuildFailure(f"index out of bounds", line)  # noqa: F541 - BuildKit's words
        return number, None
    return None, ref


def plan(
    dockerfile: Dockerfile | str,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    automatic: AutomaticArgs = NO_AUTOMATIC_ARGS,
    version: str = DEFAULT_BUILDKIT,
) -> Plan:
    """Resolve a Dockerfile for one build; raise ``BuildFailure`` where BuildKit would.

    ``automatic``: the platform ARGs the builder defines (the rules' ``automatic_args``).
    ``version`` is the BuildKit release whose frontend reads the text (``versions.py``).
    """
    parsed = parse(dockerfile, version) if isinstance(dockerfile, str) else dockerfile
    args = dict(build_args or {})
    meta = _meta_args(parsed, args, automatic)
    bases = [_base(parsed, stage, meta) for stage in parsed.stages]
    target_index = _target_index(parsed, target)
    edges = _stage_edges(parsed, bases)
    if stage_graphs.forward_only(edges):
        order = tuple(range(len(parsed.stages)))
        needed = stage_graphs.needed_by_forward(edges, target_index)
    else:
        graph = _checked_graph(parsed, edges)
        order = tuple(stage_graphs.build_order(graph, range(len(parsed.stages))))
        needed = stage_graphs.needed_by(graph, target_index)
    planned: list[PlannedStage | None] = [None] * len(parsed.stages)
    for index in order:
        base_stage, base_image = bases[index]
        parent = planned[base_stage] if base_stage is not None else None
        state = _StageState.start(parsed, parsed.stages[index], parent, args, meta)
        planned[index] = _dispatch(state, parsed.stages[index], parent, base_stage, base_image)
    stages = tuple(p for p in planned if p)
    return Plan(parsed, stages, target_index, frozenset(needed), order, meta)


def _base(
    dockerfile: Dockerfile, stage: Stage, meta: Mapping[str, str]
) -> tuple[int | None, str | None]:
    """What a stage is built FROM: ``(stage index, None)``, ``(None, image)``, or
    ``(None, None)`` for scratch."""
    name = expand(stage.base, meta, dockerfile.escape)
    if not name:
        raise BuildFailure(f"base name ({stage.base}) should not be blank", stage.line)
    if name.endswith((":", "@")):  # `alpine:${TAG}` with TAG empty (seen: 20.10, 28.5)
        raise BuildFailure(
            f'failed to parse stage name "{name}": invalid reference format', stage.line
        )
    base_stage = _stage_index(dockerfile, name, before=stage.index)
    if base_stage is not None:
        return base_stage, None
    if name.lower() == "scratch":
        return None, None
    return None, name


def _target_index(dockerfile: Dockerfile, target: str | None) -> int:
    """The stage ``--target`` names, or the last stage."""
    if not target:
        return len(dockerfile.stages) - 1
    index = _stage_index(dockerfile, target)
    if index is None:
        raise BuildFailure(f"target stage {target} could not be found", None)
    return index


def _stage_edges(
    dockerfile: Dockerfile, bases: list[tuple[int | None, str | None]]
) -> list[tuple[int, int]]:
    """Which stage needs which (FROM, ``--from``, mounts), as ``(needed, needing)``."""
    edges: list[tuple[int, int]] = []
    for stage in dockerfile.stages:
        base_stage, _ = bases[stage.index]
        if base_stage is not None:
            edges.append((base_stage, stage.index))
        for ins in stage.instructions:
            for ref in _dependency_refs(ins):
                dep, _image = _from_ref(dockerfile, ref, ins.line)
                if dep is not None:
                    edges.append((dep, stage.index))
    return edges


def _checked_graph(dockerfile: Dockerfile, edges: list[tuple[int, int]]) -> stage_graphs.StageGraph:
    """The stages as a graph; a cycle is the builder's error."""
    graph = stage_graphs.stage_graph(len(dockerfile.stages), edges)
    cyclic = stage_graphs.find_cycle(graph)
    if cyclic is not None:
        name = dockerfile.stages[cyclic].name or f"stage-{cyclic}"
        raise BuildFailure(
            f"circular dependency detected on stage: {name}", dockerfile.stages[cyclic].line
        )
    return graph


def _dependency_refs(ins: Instruction) -> list[str]:
    refs = []
    if ins.keyword in ("COPY", "ADD") and ins.flag("from"):
        refs.append(ins.flag("from") or "")
    if ins.keyword == "RUN":
        for raw in ins.flag_values("mount"):
            opts = _mount_options(raw)
            if opts.get("from"):
                refs.append(opts["from"])
    return refs


def _mount_options(raw: str) -> dict[str, str]:
    opts: dict[str, str] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        opts[key.strip().lower()] = value.strip() if sep else "true"
    return opts


def _parse_mount(raw: str, dockerfile: Dockerfile, line: int) -> Mount:
    opts = _mount_options(raw)
    kind = opts.pop("type", "bind")
    if kind not in ("bind", "cache", "tmpfs", "secret", "ssh"):
        raise BuildFailure(f"unsupported mount type {kind!r}", line)
    target = opts.pop("target", opts.pop("dst", opts.pop("destination", "")))
    if not target and kind not in ("secret", "ssh"):
        raise BuildFailure("mount destination not specified", line)
    from_stage = from_image = None
    if "from" in opts:
        from_stage, from_image = _from_ref(dockerfile, opts.pop("from"), line)
    readonly = kind == "bind"
    if opts.pop("rw", None) in ("true", "") or opts.pop("readwrite", None) in ("true", ""):
        readonly = False
    return Mount(
        type=kind,
        target=target,
        source=opts.pop("source", opts.pop("src", "")),
        from_stage=from_stage,
        from_image=from_image,
        id=opts.pop("id", ""),
        sharing=opts.pop("sharing", "shared"),
        readonly=readonly,
        options=tuple(sorted(opts.items())),
    )


@dataclass
class _StageState:
    """What the next instruction of a stage sees: ENV, the build args in scope, USER,
    WORKDIR and SHELL. Mutable on purpose: it is the dispatch loop's state, changed by
    each instruction in turn (``after``), and never leaves this module."""

    dockerfile: Dockerfile
    stage: int
    build_args: Mapping[str, str]
    meta: Mapping[str, str]
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    user: str = ""
    workdir: str = "/"
    shell: tuple[str, ...] = DEFAULT_SHELL

    @classmethod
    def start(
        cls,
        dockerfile: Dockerfile,
        stage: Stage,
        parent: PlannedStage | None,
        build_args: Mapping[str, str],
        meta: Mapping[str, str],
    ) -> _StageState:
        """A stage's state before its first instruction: a stage FROM another stage
        inherits its image config (ENV, USER, WORKDIR, SHELL); ARGs never carry over."""
        state = cls(dockerfile, stage.index, build_args, meta)
        if parent is not None:
            state.env, state.user = dict(parent.final_env), parent.final_user
            state.workdir, state.shell = parent.final_workdir, parent.final_shell
        return state

    @property
    def escape(self) -> str:
        return self.dockerfile.escape

    def scope(self) -> dict[str, str]:
        """The variables an expansion sees: build args, then ENV winning."""
        return {**self.args, **self.env}

    def common(self) -> dict[str, object]:
        """The fields every step records of the state it runs in."""
        return {
            "stage": self.stage,
            "env": tuple(self.env.items()),
            "args": tuple(self.args.items()),
            "user": self.user,
            "workdir": self.workdir,
            "shell": self.shell,
        }

    def expanded(self, ins: Instruction) -> tuple[str, ...]:
        """The instruction's words, expanded if the builder expands them for it."""
        if ins.keyword not in EXPANDED or ins.keyword == "ARG":
            return ()
        scope = self.scope()
        return tuple(expand(a, scope, self.escape) for a in ins.args)

    def after(self, step: Resolved) -> None:
        """The state after ``step`` (ENV, USER, WORKDIR and SHELL change it)."""
        keyword = step.keyword
        if keyword == "ENV":
            self.env = {**self.env, **dict(_env_pairs(step))}
        elif keyword == "USER" and step.values:
            self.user = step.values[0]
        elif keyword == "WORKDIR":
            self.workdir = step.path
        elif keyword == "SHELL":
            self.shell = tuple(step.instruction.args)


def _run(ins: Instruction, state: _StageState) -> Resolved:
    """RUN: the command as the shell gets it, its mounts and network."""
    command = ins.args if ins.json else (*state.shell, ins.args[0] if ins.args else "")
    if ins.heredocs:
        command = (*state.shell, heredoc_script(ins.args[0], ins.heredocs))
    mounts = tuple(_parse_mount(m, state.dockerfile, ins.line) for m in ins.flag_values("mount"))
    return RunStep(
        ins,
        **state.common(),
        command=tuple(command),
        mounts=mounts,
        network=ins.flag("network") or "default",
    )


def _workdir(ins: Instruction, state: _StageState) -> Resolved:
    """WORKDIR: the folder, resolved against the one before it."""
    values = state.expanded(ins)
    path = values[0] if values else ""
    workdir = posixpath.normpath(posixpath.join(state.workdir, path)) if path else state.workdir
    return WorkdirStep(ins, **{**state.common(), "workdir": workdir}, path=workdir)


def _arg(ins: Instruction, state: _StageState) -> Resolved:
    """ARG: each declaration in turn gives the name a value (``_declare``)."""
    step = ArgStep(ins, **state.common(), values=tuple(ins.args))
    for raw in ins.args:
        _declare(raw, state.args, state.build_args, state.scope(), state.escape, state.meta)
    return step


def _metadata(ins: Instruction, state: _StageState) -> Resolved:
    """Every other instruction: its words, expanded where the builder expands them."""
    return MetadataStep(ins, **state.common(), values=state.expanded(ins))


def _copy(ins: Instruction, state: _StageState) -> Resolved:
    """COPY and ADD: sources, an absolute destination, ``--from`` resolved, the flags."""
    scope, escape = state.scope(), state.escape
    sources, dest, inline = _copy_words(ins, scope, escape)
    from_ref = ins.flag("from")
    from_stage = from_image = None
    if from_ref:
        from_ref = expand(from_ref, scope, escape)
        from_stage, from_image = _from_ref(state.dockerfile, from_ref, ins.line)
    return CopyStep(
        ins,
        **state.common(),
        sources=tuple(sources),
        dest=_absolute_dest(dest, state.workdir),
        from_stage=from_stage,
        from_image=from_image,
        chown=expand(ins.flag("chown") or "", scope, escape),
        chmod=ins.flag("chmod") or "",
        link=(ins.flag("link") or "false") != "false",
        inline=inline,
        excludes=tuple(expand(p, scope, escape) for p in ins.flag_values("exclude")),
    )


DISPATCH = {
    "RUN": _run,
    "COPY": _copy,
    "ADD": _copy,
    "WORKDIR": _workdir,
    "ARG": _arg,
}
"""One function per instruction that is more than its words; the others: ``_metadata``."""


def _dispatch(
    state: _StageState,
    stage: Stage,
    parent: PlannedStage | None,
    base_stage: int | None,
    base_image: str | None,
) -> PlannedStage:
    """Walk a stage's instructions, each through its keyword's function."""
    steps: list[Resolved] = []
    # `FROM parent` runs the parent stage's ONBUILD triggers first (both builders; seen on
    # Docker 20.10 and 28.5: [child 1/1] RUN <trigger>, [child 1/3] ONBUILD RUN <trigger>).
    triggers = [i.trigger for i in parent.stage.instructions if i.trigger] if parent else []
    for position, ins in enumerate((*triggers, *stage.instructions)):
        step = DISPATCH.get(ins.keyword, _metadata)(ins, state)
        if position < len(triggers):
            step = replace(step, trigger=True)
        steps.append(step)
        state.after(step)
    return PlannedStage(
        stage,
        base_stage,
        base_image,
        tuple(steps),
        tuple(state.env.items()),
        state.user,
        state.workdir,
        state.shell,
    )


_SINGLE_HEREDOC = re.compile(r"<<-?\s*([\"']?)[^\s\"'<>]+\1")


def heredoc_script(command: str, heredocs: tuple[Heredoc, ...]) -> str:
    """What BuildKit (Dockerfile 1.4+) hands the shell for a RUN with heredocs.

    ``RUN <<EOF`` (the command is one heredoc word): the body alone, tabs stripped for
    ``<<-``, so the terminator's name and quotes are not part of the key. Any other form
    (``RUN sh <<EOF``, ``RUN <<A <<B``, ``RUN cat <<EOF > f``): the command line, then each
    body followed by its terminator, for the shell to read. Variables are left to the shell
    in both. Seen on Docker 28.5: a renamed or quoted terminator of ``RUN <<EOF`` stays
    cached, of ``RUN sh <<EOF`` does not; any body edit, a trailing space or a comment
    line included, rebuilds (scenarios heredoc-run-*).
    """
    if _SINGLE_HEREDOC.fullmatch(command.strip()) and len(heredocs) == 1:
        return heredocs[0].body
    return command + "".join(f"\n{h.content}{h.name}" for h in heredocs)


def _env_pairs(step: Resolved) -> list[tuple[str, str]]:
    """``ENV A=1 B=2`` (pairs) or the old ``ENV A 1`` form, as the parser split them."""
    words = list(step.values)
    return [(words[i], words[i + 1] if i + 1 < len(words) else "") for i in range(0, len(words), 2)]


def _copy_words(
    ins: Instruction, scope: Mapping[str, str], escape: str
) -> tuple[list[str], str, tuple[tuple[str, str], ...]]:
    """A COPY/ADD's expanded sources and destination, and its heredoc files
    ``(name, content)``."""
    words = [expand(a, scope, escape) for a in ins.args]
    inline: tuple[tuple[str, str], ...] = ()
    if ins.heredocs:  # `COPY <<NAME /dest`: a file made from the heredoc (Dockerfile 1.4+)
        words = [w for w in words if not w.startswith("<<")]
        # The file holds the body, tabs stripped for `<<-`, variables expanded unless the
        # terminator was quoted (seen on Docker 28.5: scenario heredoc-copy-expansion).
        inline = tuple(
            (h.name, expand_heredoc(h.body, scope, escape) if h.expand else h.body)
            for h in ins.heredocs
        )
        if len(words) == 1:
            words = ["", *words]
    *sources, dest = words
    return [s for s in sources if s], dest, inline


def _absolute_dest(dest: str, workdir: str) -> str:
    """The destination against WORKDIR; a folder destination (``/``, ``.``) ends in ``/``."""
    absolute = dest if dest.startswith("/") else posixpath.join(workdir, dest)
    if dest.endswith("/") or dest in (".", "./") or dest.endswith("/."):
        absolute = absolute.rstrip("/.") + "/" if absolute.rstrip("/.") else "/"
    return absolute
