"""The contract of a builder: everything the rest of cachesim asks of BuildKit's or the classic
builder's rules, in one place.

A builder is a frozen value (``buildkit.BuildKitRules``, ``classic.LegacyRules``) carrying
the BuildKit release it models (``version``, cachesim/core/versions.py) and the image store
of the daemon (``image_store``). The simulator walks a plan through it, the cost model asks
it how the daemon moves files and images, the report and plots ask it for its words, and the
real-engine code asks it how to drive ``docker build`` and read its log. Nothing outside the
registry (``registry.py``) compares builder names: a difference between builders is a member
here, so a new builder is one class and one ``register`` call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cachesim.builders.definitions import Definition
    from cachesim.builders.fs import FileSystem
    from cachesim.builders.walk import Walk
    from cachesim.context.dockerignore import IgnoreSyntaxError
    from cachesim.context.selection import SourceRules
    from cachesim.core.results import StepResult
    from cachesim.planning.plan import AutomaticArgs, Plan, Resolved


class Builder(Protocol):
    """What differs between builders. Properties are facts (read-only: a frozen dataclass
    field or a property satisfies them), methods are rules.

    Identity and words
        ``name`` is the scenario format's value (``buildkit``, ``legacy``); ``label`` the
        name messages use ("BuildKit", "classic builder"); ``release_label`` with the release
        where it has one ("BuildKit 0.25", "classic builder").

    The cache (simulation)
        ``image_chain``: the cache is a chain of committed images (a step's parent is the
        previous step's image), not a content-addressed key store.
        ``every_from_is_step``: every FROM prints as a numbered step, even a repeated base.
        ``prune_clears_cache``: ``docker builder prune`` empties this builder's cache.
        ``twin_status``: what an identical step met twice in one build shows the second time.
        ``dedups_identical_steps``: identical steps of two stages run once (BuildKit's
        solver merges them); the log prints the step once.

    The daemon's work (cost model)
        ``sends_whole_context``: the client sends the whole context as a tar every build
        (BuildKit asks for the files the steps read and remembers what it has).
        ``commits_every_step``: each step commits an image (no export at the end).
        ``parallel_stages``: independent stages run at the same time.
        ``export_label``: the name of the final image step in a timeline.

    Instructions (what-if suggestions)
        ``runs_mounts``: ``RUN --mount`` works (the classic builder refuses it).
        ``counts_metadata_as_steps``: LABEL, ENV, CMD... are cached steps of their own, so
        moving one down saves rebuilds.

    The real engine (engine/, logs/)
        ``docker_env``: environment for ``docker build`` (``DOCKER_BUILDKIT=...``).
        ``build_flags``: extra ``docker build`` flags.
        ``log_format``: the parser of the log ``docker build`` prints (logs/parse.py).
        ``log_names_stages``: the log names each step's stage (``[stage k/n]``); the classic
        log numbers steps across the Dockerfile (``Step k/n``).
        ``log_names_images``: a FROM step's log names the image reference (the classic log
        names the image id).
        ``log_prints_instruction``: the log prints the whole instruction, so a predicted
        step can be matched by its text.
        ``log_prints_times``: the log gives each step's seconds (BuildKit's ``DONE 0.3s``);
        else calibration needs timestamped lines.
        ``prints_cached_when_stopped``: steps pending when a build fails print CACHED.
    """

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def release_label(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def image_store(self) -> str: ...

    @property
    def build_network(self) -> str: ...

    @property
    def image_chain(self) -> bool: ...

    @property
    def every_from_is_step(self) -> bool: ...

    @property
    def prune_clears_cache(self) -> bool: ...

    @property
    def twin_status(self) -> str: ...

    @property
    def dedups_identical_steps(self) -> bool: ...

    @property
    def source_rules(self) -> SourceRules: ...

    @property
    def sends_whole_context(self) -> bool: ...

    @property
    def commits_every_step(self) -> bool: ...

    @property
    def parallel_stages(self) -> bool: ...

    @property
    def export_label(self) -> str: ...

    @property
    def docker_env(self) -> Mapping[str, str]: ...

    @property
    def build_flags(self) -> tuple[str, ...]: ...

    @property
    def runs_mounts(self) -> bool: ...

    @property
    def counts_metadata_as_steps(self) -> bool: ...

    @property
    def log_format(self) -> str: ...

    @property
    def log_names_stages(self) -> bool: ...

    @property
    def log_names_images(self) -> bool: ...

    @property
    def log_prints_instruction(self) -> bool: ...

    @property
    def log_prints_times(self) -> bool: ...

    @property
    def prints_cached_when_stopped(self) -> bool: ...

    def automatic_args(self) -> AutomaticArgs:
        """The ARGs the builder defines itself (TARGETPLATFORM, ... or none)."""
        ...

    def check(self, plan: Plan) -> None:
        """Raise ``BuildFailure`` for what the builder refuses before any step runs."""
        ...

    def stages_to_build(self, plan: Plan) -> list[int]:
        """The stage indexes the builder builds, in order."""
        ...

    def preamble(self, plan: Plan) -> list[StepResult]:
        """Steps printed before the first stage (the classic builder's global ARGs)."""
        ...

    def numbering(self, plan: Plan) -> dict[tuple[int, int], tuple[int, int]]:
        """``(stage, position) -> (k, n)`` as the log numbers steps; position -1 is FROM."""
        ...

    def is_step(self, step: Resolved) -> bool:
        """Whether the instruction is a step of its own (else it only changes the config)."""
        ...

    def define(
        self, step: Resolved, walk: Walk, fs: FileSystem
    ) -> tuple[Definition, FileSystem, dict[str, int]]:
        """The step's cache-key definition, the file system after it, and facts for explain."""
        ...

    def merges_link(self, step: Resolved) -> bool:
        """Whether ``COPY --link`` becomes a copy onto an empty layer plus a merge."""
        ...

    def no_cache_applies(self, keyword: str) -> bool:
        """Whether ``--no-cache`` rebuilds a step with this keyword."""
        ...

    def cancels_on_key_failure(self, keyword: str) -> bool:
        """Whether a failure while computing this step's key cancels the steps above it."""
        ...

    def rejected_at_from(self, reason: str) -> bool:
        """Whether the builder prints the FROM step before refusing for this reason."""
        ...

    def printed(self, step: Resolved) -> str:
        """The step's text as the builder's log prints it."""
        ...

    def printed_from(self, image: str, text: str) -> str:
        """A FROM step's text as the builder's log prints it."""
        ...

    def wording(self, reason: str) -> str:
        """A failure's reason in this builder's (and release's) words."""
        ...

    def run_failure_reason(self, command: str) -> str:
        """The builder's words for a RUN whose command exited with status 1."""
        ...

    def ignore_reason(self, error: IgnoreSyntaxError) -> str:
        """The builder's words for a .dockerignore pattern it cannot read."""
        ...
