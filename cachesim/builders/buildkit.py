"""BuildKit's rules (the default engine), as observed on Docker Engine 20.10's BuildKit.

- Steps: FROM (of an image), RUN, COPY, ADD and WORKDIR. ENV, ARG, LABEL, USER, CMD and
  the other metadata instructions only change the image config and make no step; what
  they change reaches the steps that read it (a RUN's environment, user and directory).
- Numbering ``[stage k/n]`` is per stage; a stage FROM another stage or FROM scratch has
  no FROM step.
- Only the stages the target needs are built.
- A RUN's key holds its command, its environment (ENV values and every build arg in scope
  that has a value, used or not), user, working directory, network and mounts, plus the
  content of what a bind mount reads. A COPY's key holds its sources, destination,
  ``--chown``/``--chmod`` and the checksum (content and permission bits, not mtime) of
  the files it selects. A WORKDIR's key holds the path and the user.
- ``docker builder prune -af`` empties the cache. Identical steps run once.
Each rule's proof on the real engine is listed in docs/cache-rules.md.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cachesim.builders import inputs
from cachesim.builders.definitions import (
    CopyDefinition,
    Definition,
    Mounted,
    RunDefinition,
    WorkdirDefinition,
)
from cachesim.builders.fs import FileSystem
from cachesim.builders.runeffects import declared_run, run_failure, run_output
from cachesim.builders.walk import Walk
from cachesim.context.digestmap import frozen
from cachesim.context.dockerignore import IgnoreSyntaxError
from cachesim.context.downloads import download_name, is_url
from cachesim.context.selection import BUILDKIT_SOURCES, SourceRules
from cachesim.context.snapshot import content_digest
from cachesim.core.errors import BuildFailure
from cachesim.core.results import StepResult
from cachesim.core.versions import (
    DEFAULT_BUILDKIT,
    bare_global_arg_hides_platform,
    is_modern,
    run_failure_wording,
)
from cachesim.core.wording import worded_for
from cachesim.parsing.dockerfile import check_version
from cachesim.planning import printed
from cachesim.planning.plan import AutomaticArgs, Mount, Plan, Resolved

STEP_KEYWORDS = frozenset({"RUN", "COPY", "ADD", "WORKDIR"})


def run_definition(step: Resolved, walk: Walk) -> RunDefinition:
    """A RUN's definition: what its cache key holds (BuildKit's ExecOp and its mounts)."""
    mount_files: dict[str, str] = {}
    for mount in step.mounts:
        if mount.type == "bind":
            found = _bound(mount, walk)
            mount_files.update({f"{mount.target}:{k}": v for k, v in found.items()})
    declared = declared_run(step, walk)
    fails = declared is not None and declared.fails_in(walk.request.name)
    return RunDefinition(
        **shown_fields(step),
        command=tuple(step.command),
        env=dict(step.env),
        args=dict(step.args),
        user=step.user,
        workdir=step.workdir,
        network=walk.rules.build_network if step.network == "default" else step.network,
        mounts=tuple(_mounted(mount) for mount in step.mounts),
        mount_files=mount_files,
        fails=run_failure(step.command, walk.rules) if fails else "",
    )


def shown_fields(step: Resolved) -> dict[str, str | int]:
    """The fields every definition has: the keyword (in the key), the text and line (not)."""
    return {"keyword": step.keyword, "text": step.instruction.text, "line": step.instruction.line}


def _mounted(mount: Mount) -> Mounted:
    """A mount as its key holds it (the cache id defaults to the target)."""
    return (
        mount.type,
        mount.target,
        mount.id or mount.target,
        mount.sharing,
        mount.source,
        mount.readonly,
        mount.options,
    )


def _bound(mount: Mount, walk: Walk) -> dict[str, str]:
    """The files a bind mount shows the RUN, by path, with their digests."""
    source = mount.source or "."
    if mount.from_stage is not None:
        fs = walk.ends[mount.from_stage].fs
        return dict(inputs.from_stage(fs, (source,), mount.target).digests)
    if mount.from_image is not None:
        return {f"<image {mount.from_image}>": str(walk.request.images.get(mount.from_image))}
    selected = inputs.from_context(
        walk.context, (source,), mount.target + "/", source_rules=walk.rules.source_rules
    )
    return dict(selected.digests)


def _copy_sources(
    step: Resolved, walk: Walk, fs: FileSystem, excludes: bool
) -> tuple[inputs.Selected, str]:
    """What a COPY/ADD selects, and where from (``context``, ``heredoc``, ``stage X``...)."""
    if step.from_stage is not None:
        source_fs = walk.ends[step.from_stage].fs
        selected = inputs.from_stage(source_fs, step.sources, step.dest, fs.is_dir(step.dest))
        return selected, f"stage {walk.plan.stages[step.from_stage].label}"
    if step.from_image is not None:
        version = walk.request.images.get(step.from_image, 0)
        image_fs = FileSystem(base=f"{step.from_image}@{version}")
        selected = inputs.from_stage(image_fs, step.sources, step.dest, fs.is_dir(step.dest))
        return selected, f"image {step.from_image}"
    if not step.sources:
        return inputs.Selected({}, {}, 0, 0), "heredoc"
    local = tuple(s for s in step.sources if not downloaded(step, s))
    selected = inputs.Selected({}, {}, 0, 0)
    if local:
        selected = inputs.from_context(
            walk.context,
            local,
            step.dest,
            source_rules=walk.rules.source_rules,
            keyword=step.keyword,
            workdir=step.workdir,
            dest_is_dir=fs.is_dir(step.dest) or len(local) < len(step.sources),
            excludes=step.excludes if excludes else (),
        )
    urls = tuple(s for s in step.sources if downloaded(step, s))
    if urls:
        selected = _with_downloads(selected, urls, step, walk, fs)
    return selected, "context"


def _with_inline(step: Resolved, selected: inputs.Selected) -> inputs.Selected:
    """Add the files a ``COPY <<NAME`` makes from its heredocs."""
    if not step.inline:
        return selected
    inline = {
        f"<<{name}": f"{content_digest(text.encode())[:32]}:0644" for name, text in step.inline
    }
    into = step.dest if step.dest.endswith("/") else step.dest + "/"
    one_file = len(step.inline) == 1 and not step.dest.endswith("/")
    placed = {
        **selected.placed,
        **{
            (step.dest if one_file else into + name): d
            for (name, _), d in zip(step.inline, inline.values(), strict=True)
        },
    }
    return inputs.Selected(
        {**selected.digests, **inline}, placed, selected.count + len(inline), selected.size
    )


def copy_definition(
    step: Resolved, walk: Walk, fs: FileSystem, *, excludes: bool = True
) -> tuple[CopyDefinition, FileSystem, dict[str, int]]:
    """A COPY/ADD's definition and the file system after it.

    ``--link`` is not in it: BuildKit keys a linked copy exactly like a plain one on the
    graphdriver store, and on the containerd store the difference is the merge that
    follows (the walk adds it: ``merges_link``). ``excludes=False``: ``--exclude`` is
    ignored (the classic builder of Docker 28.5 copies the excluded files).
    """
    selected, origin = _copy_sources(step, walk, fs, excludes)
    selected = _with_inline(step, selected)
    note = copied_note(step, walk, selected)
    after = fs.with_files(selected.placed)
    hidden = selected.digests.get("<written by RUN>")
    if hidden and step.from_stage is not None:  # what RUNs wrote travels with the copy
        after = after.after_tools(hidden, (posixpath.normpath(step.dest),), note)
    definition = CopyDefinition(
        **shown_fields(step),
        # a download is keyed by its file name and content, not by its URL (downloads.py)
        sources=tuple(download_name(s) if downloaded(step, s) else s for s in step.sources),
        dest=step.dest,
        origin=origin,
        chown=step.chown,
        chmod=chmod_key(step.chmod, walk.rules.version),
        files=frozen(selected.digests),
        exclude=step.excludes if excludes and step.excludes else None,
        why=note,
        same=_same_output(step, walk, origin, note),
        unread=copies_unread(step, walk, selected),
    )
    facts = {"copied_files": selected.count, "copied_bytes": selected.size}
    return definition, after, facts


def _same_output(step: Resolved, walk: Walk, origin: str, note: str) -> str:
    """Why a `COPY --from` of a stage that re-ran is still cached (else "")."""
    if step.from_stage is None or not reran(walk, step.from_stage):
        return ""
    sources = ", ".join(step.sources)
    because = note or "no RUN of that stage wrote there, and what COPY put there is the same"
    return f"the stage {origin[6:]} re-ran, but {sources} came out the same: {because}"


def downloaded(step: Resolved, source: str) -> bool:
    """A source that ``ADD`` downloads (``COPY`` reads every source from the context)."""
    return step.keyword == "ADD" and is_url(source)


def _with_downloads(
    selected: inputs.Selected, urls: tuple[str, ...], step: Resolved, walk: Walk, fs: FileSystem
) -> inputs.Selected:
    """Add the files ``ADD`` downloads to what it copies: each is placed under its name
    (the destination itself when it is a file path and the only source)."""
    digests, placed = dict(selected.digests), dict(selected.placed)
    size = selected.size
    into_dir = step.dest.endswith("/") or fs.is_dir(step.dest) or len(step.sources) > 1
    for url in urls:
        content = walk.request.download(url)
        name = download_name(url)
        value = f"{content_digest(content)[:32]}:0600"
        digests[f"<downloaded {name}>"] = value
        placed[posixpath.join(step.dest, name) if into_dir else step.dest] = value
        size += len(content)
    return inputs.Selected(digests, placed, selected.count + len(urls), size)


def after_run(step: Resolved, fs: FileSystem, definition: RunDefinition, walk: Walk) -> FileSystem:
    """The file system after a RUN (``runeffects.run_output``: exact for trivial commands,
    by what it reads for the commands ``reads`` models, else new content anywhere)."""
    return run_output(step, fs, definition.key(), walk)


def copied_note(step: Resolved, walk: Walk, selected: inputs.Selected) -> str:
    """Why the files a `COPY --from=stage` takes came out as they did, when RUNs wrote them:
    what the RUN reads (a known command) or that cachesim assumed new output."""
    if step.from_stage is None or "<written by RUN>" not in selected.digests:
        return ""
    source_fs = walk.ends[step.from_stage].fs
    notes = [n for s in step.sources for n in source_fs.why(s)]
    return "; ".join(dict.fromkeys(notes))


def copies_unread(step: Resolved, walk: Walk, selected: inputs.Selected) -> bool:
    """Whether a `COPY --from=stage` takes output of a RUN whose command cachesim cannot
    read (it then assumes new output whenever that RUN runs)."""
    if step.from_stage is None or "<written by RUN>" not in selected.digests:
        return False
    source_fs = walk.ends[step.from_stage].fs
    return any(source_fs.unread_at(s) for s in step.sources)


def reran(walk: Walk, stage: int) -> bool:
    """Some step of that stage was built in this build."""
    label = walk.plan.stages[stage].label
    return any(r.stage == label and r.status == "built" for r in walk.results)


_SYMBOLIC_MODE = re.compile(r"[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*")


def modern_refusal(step: Resolved) -> None:
    """What BuildKit v0.25 refuses while it turns the Dockerfile into LLB, before any step
    runs (each seen on Docker 28.5; v0.8 accepts the first and knows neither flag of the
    other two)."""
    line = step.instruction.line
    chmod = step.chmod
    if chmod and not _valid_chmod(chmod):
        raise BuildFailure(
            f"invalid chmod parameter: '{chmod}'. it should be octal string and between 0 "
            "and 07777",
            line,
        )
    remote = all(re.match(r"(https?://|git@|.*\.git$)", s) for s in step.sources)
    if step.keyword == "ADD" and step.instruction.flag("checksum") is not None and not remote:
        raise BuildFailure("checksum requires HTTP(S) or Git sources", line)
    if step.keyword == "RUN" and step.network == "host":
        # The daemon grants the network.host entitlement only when started with
        # --allow-insecure-entitlement network.host and asked with --allow.
        raise BuildFailure("failed to load LLB: network.host is not allowed", line)


def chmod_key(value: str, version: str) -> str:
    """What a ``--chmod`` value contributes to the key: the mode as a number, so ``755``
    and ``0755`` are one key (seen on Docker 20.10 and 28.5: scenario chmod-forms). A
    symbolic mode is kept as written by v0.25; v0.8 does not read it as a mode, and two
    different symbolic modes gave one key there."""
    if re.fullmatch(r"[0-7]+", value):
        return oct(int(value, 8))
    if value and not is_modern(version):
        return "<not an octal mode: not applied by BuildKit 0.8>"
    return value


def _valid_chmod(value: str) -> bool:
    if re.fullmatch(r"[0-7]+", value):
        return int(value, 8) <= 0o7777
    return bool(_SYMBOLIC_MODE.fullmatch(value))


def unknown_from_reason(name: str) -> str:
    return (
        f"failed to create LLB definition: no stage is named '{name}', so the builder looks "
        f"for the image docker.io/library/{name}:latest and cannot pull it (pull access "
        "denied, repository does not exist or may require authorization)"
    )


def workdir_definition(step: Resolved, fs: FileSystem) -> WorkdirDefinition:
    """A WORKDIR: BuildKit's mkdir FileOp, keyed by the path and the user."""
    if fs.is_file(step.path):
        raise BuildFailure(f"mkdir {step.path}: not a directory")
    return WorkdirDefinition(**shown_fields(step), path=step.path, user=step.user)


@dataclass(frozen=True)
class BuildKitRules:
    name: str = "buildkit"
    version: str = DEFAULT_BUILDKIT  # the BuildKit release these rules model (versions.py)
    image_chain: bool = False
    every_from_is_step: bool = False
    prune_clears_cache: bool = True
    twin_status: str = "built"
    image_store: str = "graphdriver"  # graphdriver | containerd (Docker's image store)
    # the build's own network (`docker build --network`): cachesim models builds as its
    # verify runs them, with --network=none; a RUN's `--network=default` means that one
    build_network: str = "none"
    # The facts the rest of cachesim asks of a builder (protocol.py says what each means).
    label: str = "BuildKit"
    dedups_identical_steps: bool = True  # the solver runs identical vertices once
    source_rules: SourceRules = BUILDKIT_SOURCES
    sends_whole_context: bool = False  # it asks for the files steps read (filesync)
    commits_every_step: bool = False  # one export at the end
    parallel_stages: bool = True
    export_label: str = "export the image"
    build_flags: tuple[str, ...] = ("--progress=plain",)
    runs_mounts: bool = True  # RUN --mount=type=cache|bind|...
    counts_metadata_as_steps: bool = False  # LABEL, ENV... change the config, no step
    log_format: str = "buildkit"  # logs/parse.py: `#N [stage k/n] ...` vertices
    log_names_stages: bool = True
    log_names_images: bool = True
    log_prints_times: bool = True  # `DONE 0.3s` after each vertex
    log_prints_instruction: bool = False  # printed text is shortened and normalised
    prints_cached_when_stopped: bool = True  # pending vertices print CACHED on a failure

    @property
    def release_label(self) -> str:
        return f"{self.label} {self.version}"

    @property
    def docker_env(self) -> Mapping[str, str]:
        """``docker build`` uses BuildKit, printing plain progress (a log cachesim reads)."""
        return {"DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}

    def preamble(self, plan: Plan) -> list[StepResult]:
        """Nothing is printed before the first stage."""
        return []

    def run_failure_reason(self, command: str) -> str:
        """v0.8 says ``executor failed running``, later releases ``process ... did not
        complete successfully`` (versions.run_failure_wording)."""
        if run_failure_wording(self.version) == "executor":
            return f"executor failed running [{command}]: exit code: 1"
        return f'process "{command}" did not complete successfully: exit code: 1'

    def ignore_reason(self, error: IgnoreSyntaxError) -> str:
        return error.buildkit_reason

    def merges_link(self, step: Resolved) -> bool:
        """Whether ``COPY --link`` becomes a copy onto an empty layer plus a merge.

        BuildKit does that only where the worker can merge layers (the containerd image
        store) and only without ``--chmod`` (dockerfile2llb, convert_copy.go). Seen on
        Docker 28.5: on the containerd store a change below leaves the copy itself reused
        and the step prints DONE for the merge; on the graphdriver store ``--link`` is a
        plain COPY with the same key (scenarios copy-link, copy-link-containerd).
        """
        return (
            self.image_store == "containerd"
            and step.link
            and not step.chmod
            and is_modern(self.version)
        )

    def counts_triggers(self) -> bool:
        """Whether ONBUILD triggers count in a stage's ``k/n`` total: v0.25 prints
        ``[child 1/3] ONBUILD RUN ...``, v0.8 ``[child 1/1] RUN ...`` then ``[child 2/1]``.
        On v0.25 every trigger counts, an ``ONBUILD ARG`` too, though it prints no step
        (seen on Docker 28.5.2: scenario constructs-all-together; BuildKit's frontend adds
        the number of triggers to the stage's command total)."""
        return is_modern(self.version)

    def printed(self, step: Resolved) -> str:
        return printed.buildkit_text(step)

    def printed_from(self, image: str, text: str) -> str:
        return printed.buildkit_from(image)

    def automatic_args(self) -> AutomaticArgs:
        """BuildKit defines TARGETPLATFORM, BUILDARCH... for the machine's platform."""
        return AutomaticArgs.for_platform(
            bare_global_hides=bare_global_arg_hides_platform(self.version)
        )

    def no_cache_applies(self, keyword: str) -> bool:
        """``--no-cache`` marks RUN, COPY and ADD only: a WORKDIR can still come from the
        cache (findings #14: WORKDIRs above the first RUN/COPY stayed CACHED, 3 of 3)."""
        return keyword != "WORKDIR"

    def wording(self, reason: str) -> str:
        """The reason as this BuildKit release prints it (wording.py: texts by version)."""
        return worded_for(reason, "buildkit", self.version)

    def cancels_on_key_failure(self, keyword: str) -> bool:
        """A COPY/ADD source error is found while computing cache keys, before the steps
        above it have finished: BuildKit cancels them."""
        return keyword in ("COPY", "ADD")

    def rejected_at_from(self, reason: str) -> bool:
        return False

    def stages_to_build(self, plan: Plan) -> list[int]:
        return [i for i in plan.order if i in plan.needed]

    def check(self, plan: Plan) -> None:
        """Refusals found while the Dockerfile becomes LLB, before any step runs: BuildKit
        resolves the image of every needed `COPY --from=NAME` that is no stage."""
        check_version(plan.dockerfile, self.version)
        for index in self.stages_to_build(plan):
            for step in plan.stages[index].steps:
                line = step.instruction.line
                if step.keyword in ("COPY", "ADD") and step.from_unknown:
                    raise BuildFailure(unknown_from_reason(step.from_image or ""), line)
                if is_modern(self.version):
                    modern_refusal(step)

    def is_step(self, step: Resolved) -> bool:
        if step.keyword == "WORKDIR":
            return step.path != "/"
        return step.keyword in STEP_KEYWORDS

    def numbering(self, plan: Plan) -> dict[tuple[int, int], tuple[int, int]]:
        """``(stage, position) -> (k, n)``; position -1 is the FROM step."""
        numbers: dict[tuple[int, int], tuple[int, int]] = {}
        for planned in plan.stages:
            has_from = planned.base_image is not None
            total = int(has_from) + sum(
                (s.keyword in STEP_KEYWORDS and not s.trigger)
                or (s.trigger and self.counts_triggers())
                for s in planned.steps
            )
            k = 1 if has_from else 0
            numbers[(planned.stage.index, -1)] = (1, total)
            for position, step in enumerate(planned.steps):
                if self.is_step(step):
                    k += 1
                    numbers[(planned.stage.index, position)] = (k, total)
        return numbers

    def define(
        self, step: Resolved, walk: Walk, fs: FileSystem
    ) -> tuple[Definition, FileSystem, dict[str, int]]:
        if step.keyword == "RUN":
            definition = run_definition(step, walk)
            return definition, after_run(step, fs, definition, walk), {}
        if step.keyword in ("COPY", "ADD"):
            return copy_definition(step, walk, fs)
        return workdir_definition(step, fs), fs, {}


RULES = BuildKitRules()
