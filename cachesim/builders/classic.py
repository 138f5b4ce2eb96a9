"""The classic builder's rules (``DOCKER_BUILDKIT=0``), as observed on Docker Engine 20.10.

- Every instruction is a step (``Step k/n``, numbered across the whole Dockerfile, the
  ARGs before the first FROM included), and each commits an image whose parent is the
  previous step's image. The cache is that chain of images: a step is reused when an image
  with the same parent and the same instruction exists. So a changed ENV, LABEL, USER or
  CMD is itself a miss, and every step after it in the stage is rebuilt too.
- A RUN's instruction includes the build args in scope that have a value; a COPY's the
  checksum of its files (content and permissions, not mtime); an ``ARG`` step only the
  text ``ARG NAME`` (its value is not part of it).
- It builds every stage up to the target, in order, needed or not.
- ``docker builder prune`` does not touch it: its cache lives in the image store.
Each rule's proof on the real engine is listed in docs/cache-rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from cachesim.builders import buildkit
from cachesim.builders.definitions import (
    ArgDefinition,
    Definition,
    MetadataDefinition,
    RunDefinition,
)
from cachesim.builders.fs import FileSystem
from cachesim.builders.walk import Walk
from cachesim.core.errors import BuildFailure
from cachesim.core.results import StepResult
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.core.wording import worded_for
from cachesim.parsing.dockerfile import check_version
from cachesim.planning import printed
from cachesim.planning.plan import NO_AUTOMATIC_ARGS, AutomaticArgs, Plan, Resolved


@dataclass(frozen=True)
class LegacyRules:
    name: str = "legacy"
    version: str = DEFAULT_BUILDKIT  # the engine release (by its BuildKit) modelled; versions.py
    image_chain: bool = True
    every_from_is_step: bool = True
    prune_clears_cache: bool = False
    twin_status: str = "cached"
    image_store: str = "graphdriver"
    build_network: str = "none"  # as BuildKitRules (a RUN --network stops this builder)

    def merges_link(self, step: Resolved) -> bool:
        """Never: the classic builder of Docker 28.5 accepts ``COPY --link`` and copies as
        usual (20.10's refuses the flag)."""
        return False

    def stages_to_build(self, plan: Plan) -> list[int]:
        return list(range(plan.target + 1))

    def is_step(self, step: Resolved) -> bool:
        return True

    def numbering(self, plan: Plan) -> dict[tuple[int, int], tuple[int, int]]:
        """ONBUILD triggers get no number: they run inside the FROM step that fires them
        (``# Executing 2 build triggers``, seen on Docker 20.10 and 28.5)."""
        built = self.stages_to_build(plan)
        total = len(plan.dockerfile.global_args) + sum(
            1 + sum(not s.trigger for s in plan.stages[i].steps) for i in built
        )
        numbers: dict[tuple[int, int], tuple[int, int]] = {}
        k = len(plan.dockerfile.global_args)
        for index in built:
            k += 1
            numbers[(index, -1)] = (k, total)
            for position, step in enumerate(plan.stages[index].steps):
                if not step.trigger:
                    k += 1
                    numbers[(index, position)] = (k, total)
        return numbers

    def printed(self, step: Resolved) -> str:
        return printed.classic_text(step)

    def printed_from(self, image: str, text: str) -> str:
        return text

    def automatic_args(self) -> AutomaticArgs:
        """The classic builder defines no platform ARGs: `$TARGETARCH` is empty even after
        `ARG TARGETARCH` (seen on Docker 20.10 and 28.5: scenario platform-args-legacy)."""
        return NO_AUTOMATIC_ARGS

    def no_cache_applies(self, keyword: str) -> bool:
        return True

    def wording(self, reason: str) -> str:
        """The classic builder's words, as this engine release prints them (wording.py)."""
        return worded_for(classic_wording(reason), "legacy", self.version)

    def check(self, plan: Plan) -> None:
        """Only syntax newer than the engine is refused up front (its parser reads the whole
        file first); everything else the classic builder meets step by step."""
        check_version(plan.dockerfile, self.version)

    def cancels_on_key_failure(self, keyword: str) -> bool:
        return False  # it runs the steps in order and keeps each one it finished

    def rejected_at_from(self, reason: str) -> bool:
        """The classic builder prints the FROM step before refusing a blank base name."""
        return "should not be blank" in reason or reason == "invalid reference format"

    def preamble(self, plan: Plan) -> list[StepResult]:
        """The global ARGs, printed as steps before the first FROM; they run nothing."""
        total = next(iter(self.numbering(plan).values()), (0, 0))[1]
        return [
            StepResult("", k, total, ins.line, ins.text, "ARG", "cached")
            for k, ins in enumerate(plan.dockerfile.global_args, start=1)
        ]

    def define(
        self, step: Resolved, walk: Walk, fs: FileSystem
    ) -> tuple[Definition, FileSystem, dict[str, int]]:
        refuse(step)
        keyword = step.keyword
        if keyword == "RUN":
            definition = run_definition(step, walk)
            return definition, buildkit.after_run(step, fs, definition, walk), {}
        if keyword in ("COPY", "ADD"):  # --exclude is accepted and ignored (Docker 28.5)
            return buildkit.copy_definition(step, walk, fs, excludes=False)
        if keyword == "WORKDIR":
            return buildkit.workdir_definition(step, fs), fs, {}
        if keyword == "ARG":
            return ArgDefinition(**buildkit.shown_fields(step), values=step.values), fs, {}
        # The classic builder's cache compares the whole image config, so a flag counts
        # too (`HEALTHCHECK --interval=10s` after `--interval=30s` is a miss; seen on 20.10
        # and 28.5: scenario healthcheck-flags-legacy).
        values = step.values or step.instruction.args
        flags = step.instruction.flags
        return MetadataDefinition(**buildkit.shown_fields(step), values=values, flags=flags), fs, {}


def _needs_buildkit(step: Resolved) -> str:
    """The flag only BuildKit knows (``mount``, ``network``, ``chmod``), if the step has one."""
    if step.keyword == "RUN" and step.mounts:
        return "mount"
    if step.keyword == "RUN" and step.instruction.flag("network") is not None:
        return "network"
    if step.keyword in ("COPY", "ADD") and step.chmod:
        return "chmod"
    return ""


def refuse(step: Resolved) -> None:
    """What the classic builder refuses when it reaches the step (each seen on the engine)."""
    keyword = step.keyword
    needs_buildkit = _needs_buildkit(step)
    if needs_buildkit:
        raise BuildFailure(
            f"the --{needs_buildkit} option requires BuildKit. Refer to "
            "https://docs.docker.com/go/buildkit/ to learn how to build images with "
            "BuildKit enabled"
        )
    if keyword in ("COPY", "ADD") and step.from_unknown:
        name = step.from_image
        raise BuildFailure(
            f"invalid from flag value {name}: pull access denied for {name}, repository "
            "does not exist or may require authorization (no stage has that name)"
        )
    if keyword in ("COPY", "ADD") and step.inline and not step.sources:
        # Docker 28.5's classic builder parses `COPY <<EOF /f` but has no heredoc files
        raise BuildFailure(f"{keyword} failed: no source files were specified")
    if keyword == "RUN" and not step.instruction.json and not step.command[-1].strip():
        # `RUN` with nothing after it (`RUN \` on the last line): the classic builder
        # runs `/bin/sh -c` with no command, which the shell refuses with status 2;
        # BuildKit runs `/bin/sh -c ""` and succeeds (seen on Docker 20.10 and 28.5).
        shell = " ".join(step.command[:-1])
        raise BuildFailure(f"The command '{shell}' returned a non-zero code: 2")


def run_definition(step: Resolved, walk: Walk) -> RunDefinition:
    """A RUN as the classic builder keys it: BuildKit's fields without mounts (it has
    none), the bare line for a heredoc, and the ``|N`` mark of build args in effect."""
    definition = replace(buildkit.run_definition(step, walk), mounts=(), mount_files={})
    if step.instruction.heredocs and not step.instruction.json:
        # ... and runs `RUN <<EOF` as the bare line: the body is neither run nor in
        # the key (seen on Docker 28.5: a body edit stays cached, scenario
        # heredoc-run-legacy)
        definition = replace(definition, command=(*step.shell, step.instruction.args[0]))
    # The classic builder writes `|N K=V ...` before a RUN's command whenever any
    # build arg is in effect; predefined proxy args are in effect when passed but,
    # unless an ARG declares them, only their presence counts, not their value
    # (seen on the engine: predefined-proxy-arg-legacy).
    proxies = sorted(k for k in walk.request.build_args if k in PROXY_ARGS)
    if proxies or step.args:
        definition = replace(definition, prefix=f"|{len(step.args)}")
    return definition


PROXY_ARGS = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)

_WORDING = (
    # BuildKit's words (what the planner says) -> the classic builder's, as it printed them
    (
        re.compile(r"^target stage (.+) could not be found$"),
        r"failed to reach build target \1 in Dockerfile",
    ),
    (
        re.compile(r"^the Dockerfile cannot be empty$"),
        "the Dockerfile (Dockerfile) cannot be empty",
    ),
    (
        re.compile(r"^file with no instructions$"),
        "failed to parse Dockerfile: file with no instructions",
    ),
    (re.compile(r"^mkdir (.+): not a directory$"), r"Cannot mkdir: \1 is not a directory"),
    (
        re.compile(r'^failed to parse stage name ".*": invalid reference format$'),
        "invalid reference format",
    ),
)


def classic_wording(reason: str) -> str:
    """The classic builder's text for a failure the planner words as BuildKit does."""
    for pattern, replacement in _WORDING:
        if pattern.match(reason):
            return pattern.sub(replacement, reason)
    return reason


RULES = LegacyRules()
