"""Replay a git history: one predicted BuildKit build per commit, cost growing with the change.

Why not the full simulator per commit: it selects the whole context for every COPY of every
build (0.2 s a build on 5,000 files), where ``git log`` lists a commit in ~40 us. So each
Dockerfile version is planned once (``planning.plan``), and each step knows which context
paths it reads: COPY/ADD sources and RUN bind mounts, matched the way
``context.selection`` matches them, minus what ``.dockerignore`` keeps out. A step's input
digest is a sum of per-file hashes (path, git mode, blob id) kept up to date from each
commit's changed paths alone (a path no step reads is never hashed; a new Dockerfile version
takes over the digests of steps reading the same sources, so a version that only changed a
RUN computes none), and its cache key chains its parent's key, its own resolved
instruction and that digest, as BuildKit's cache keys do. A key seen in any earlier build
is a hit (BuildKit keeps every build's cache; a revert is found again). The full simulator
(``simulation.simulator``) is the reference: tests/test_replay.py checks that both agree
on every commit of generated histories.

Prices are the cost model's default per-step figures (``cost.commands.estimate_run`` for a
RUN, ``Machine`` fixed costs for COPY/ADD/WORKDIR; docs/time-model.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from cachesim.context.dockerignore import IgnoreRules, IgnoreSyntaxError, go_clean
from cachesim.context.selection import go_match, has_wildcards
from cachesim.core.errors import BuildFailure, InputError
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.cost.commands import estimate_run
from cachesim.cost.timing import Machine
from cachesim.planning.plan import Resolved, plan
from cachesim.simulation.simulator import rules_for
from cachesim.sources.git import SUBMODULE, SYMLINK, Commit, Entry, Repository
from cachesim.sources.scenario import image_key

_MOD = 1 << 128
STEP_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")
# kinds of command (cost.commands) that install dependencies
INSTALL_KINDS = frozenset(
    {
        "pip install",
        "uv",
        "poetry install",
        "bundle install",
        "gem install",
        "composer install",
        "npm install",
        "npm ci",
        "yarn",
        "apt-get install",
        "apk add",
        "go mod",
        "cargo chef",
        "mvn",
        "gradle",
    }
)


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("\0".join(map(str, parts)).encode(), digest_size=16).digest()


def entry_hash(path: str, entry: Entry | None) -> int:
    """One file's share of a step's input digest (0 when absent). A submodule is an
    empty folder in a checkout without submodules, so its commit id does not count.

    A 128-bit blake2b of (path, mode, object id). A step's digest is the sum of these over
    its files, updated by adding one difference a change; the sum is only as good as the
    per-file hash is non-linear. Python's tuple hash is not: ``hash((p, m1, o)) -
    hash((p, m2, o))`` came out the same for two different files under one hash seed, so a
    chmod of one file and the opposite chmod of another summed to an earlier build's
    digest, and the replay called a rebuilt COPY cached (tests/test_replay.py, seed 4).
    """
    if entry is None:
        return 0
    oid = "" if entry.mode == SUBMODULE else entry.oid
    text = f"{path}\0{entry.mode}\0{oid}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "little")


@dataclass(frozen=True, slots=True)
class Reader:
    """One source a step reads from the context, as written (variables expanded)."""

    source: str
    required: bool  # a plain path must exist (BuildKit stops otherwise); a glob need not
    rel: str = ""  # the cleaned path ("" = the whole context), or the cleaned glob
    glob: bool = False
    depth: int = 0  # how many path segments the glob matches
    folder: str = ""  # ``rel`` + "/": what the paths below a plain source start with

    @classmethod
    def of(cls, source: str, required: bool) -> Reader:
        """Clean the source once: ``reads`` runs for every path of every commit."""
        glob = has_wildcards(source)
        rel = go_clean(source).lstrip("/")
        rel = "" if rel in (".", "") else rel
        return cls(source, required and not glob, rel, glob, rel.count("/") + 1, rel + "/")

    def reads(self, path: str) -> bool:
        """Whether ``path`` (a file of the context) is inside what the source selects."""
        if not self.glob:
            rel = self.rel
            return not rel or path == rel or path.startswith(self.folder)
        parts = path.split("/")
        return len(parts) >= self.depth and go_match(self.rel, "/".join(parts[: self.depth]))


@dataclass(frozen=True, slots=True)
class ModelStep:
    """A step of one Dockerfile version, with what its key is made of and its price."""

    stage: str
    line: int
    instruction: str
    keyword: str
    static: bytes  # the resolved instruction's key material
    parent: int | None  # the step before it (its stage's, or the base stage's last)
    base: bytes  # the key a stage's chain starts from (image ref) when parent is None
    readers: tuple[Reader, ...]
    depends: tuple[int, ...]  # last steps of stages it copies or mounts from
    seconds: float  # predicted seconds when it runs
    install: bool
    is_from: bool = False
    required: tuple[int, ...] = ()  # the readers that must find their source
    command: str = ""  # the whole instruction, continuations joined (for --fail-on)
    upstream: tuple[int, ...] = ()  # the parent and the stages read: its key moves with theirs

    def __post_init__(self) -> None:
        required = tuple(r for r, reader in enumerate(self.readers) if reader.required)
        object.__setattr__(self, "required", required)
        parent = () if self.parent is None else (self.parent,)
        upstream = parent + tuple(d for d in self.depends if d >= 0)
        object.__setattr__(self, "upstream", upstream)


# What reads one path: the steps (ascending) and the (step, reader) pairs; () for nothing.
# A replay looks it up for every changed path, so it is kept ready to use, not recomputed.
PathReads = tuple[tuple[int, ...], tuple[tuple[int, int], ...]] | tuple[()]


@dataclass
class Model:
    """One Dockerfile (+ .dockerignore, args, target) planned once, for many commits."""

    steps: tuple[ModelStep, ...]
    rules: IgnoreRules
    error: str | None = None
    error_line: int | None = None
    _reads: dict[str, PathReads] = field(default_factory=dict)
    excluded: dict[str, bool] = field(default_factory=dict)  # path -> .dockerignore'd
    # every (step, reader, Reader) of the model, in step order: one loop, not two, a path
    _readers: tuple[tuple[int, int, Reader], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._readers = tuple(
            (i, r, reader)
            for i, step in enumerate(self.steps)
            for r, reader in enumerate(step.readers)
        )

    def touches(self, path: str) -> PathReads:
        """What reads ``path``; cached: a path is matched once (per shared ``_reads``)."""
        found = self._reads.get(path)
        if found is None:
            found = ()
            if not _excluded(self.rules, self.excluded, path):
                pairs = tuple((i, r) for i, r, reader in self._readers if reader.reads(path))
                if pairs:
                    found = (tuple(dict.fromkeys(i for i, _ in pairs)), pairs)
            self._reads[path] = found
        return found

    def reads(self, path: str) -> tuple[tuple[int, int], ...]:
        """(step, reader) pairs that read ``path``."""
        found = self.touches(path)
        return found[1] if found else ()

    def paths_read(self, reader: Reader, files: Mapping[str, Entry]) -> list[str]:
        """The files ``reader`` reads, .dockerignore applied (what ``reads`` answers path by
        path, found from the reader's side: a plain file by one look-up, a folder by one
        scan, never by matching every path against every step)."""
        if reader.glob:
            candidates: Iterable[str] = (p for p in files if reader.reads(p))
        elif not reader.rel:
            candidates = files
        elif reader.rel in files:  # a file (git has no file and folder of one name)
            candidates = (reader.rel,)
        else:
            prefix = reader.rel + "/"
            candidates = (p for p in files if p.startswith(prefix))
        rules, known = self.rules, self.excluded
        return [p for p in candidates if not _excluded(rules, known, p)]


def _excluded(rules: IgnoreRules, known: dict[str, bool], path: str) -> bool:
    """``rules.excludes(path)``, remembered in ``known`` (shared by the models of one
    .dockerignore text). Without "!" lines a path below an excluded folder is excluded,
    so one answer for the folder serves every file in it."""
    if not rules.rules:
        return False
    answer = known.get(path)
    if answer is None:
        parent = path.rpartition("/")[0]
        if parent and not rules.has_exceptions and _excluded(rules, known, parent):
            answer = True
        else:
            answer = rules.excludes(path)
        known[path] = answer
    return answer


def _static(step: Resolved) -> bytes:
    keyword = step.keyword
    if keyword == "RUN":
        parts: tuple = (
            step.command,
            step.run_env,
            step.user,
            step.workdir,
            step.mounts,
            step.network,
            step.shell,
        )
    elif keyword in ("COPY", "ADD"):
        parts = (
            step.sources,
            step.dest,
            step.workdir,
            step.chown,
            step.chmod,
            step.link,
            step.inline,
            step.excludes,
            step.from_image,
        )
    else:
        parts = (step.path,)
    return _digest(keyword, repr(parts))


@dataclass
class PlanMemo:
    """What planning one Dockerfile version works out that the next version can reuse: the
    parsed .dockerignore of each text and the price of each RUN script. A history changes
    its Dockerfile a few lines at a time, so most RUN lines and the .dockerignore recur.
    Kept for one replay (its ``Machine``), never across runs."""

    ignores: dict[str | None, IgnoreRules | IgnoreSyntaxError] = field(default_factory=dict)
    prices: dict[str, tuple[float, bool]] = field(default_factory=dict)

    def rules(self, text: str | None) -> IgnoreRules:
        """``IgnoreRules.parse(text)``, once per text (its compiled matcher with it)."""
        found = self.ignores.get(text)
        if found is None:
            try:
                found = IgnoreRules.parse(text)
            except IgnoreSyntaxError as e:
                found = e
            self.ignores[text] = found
        if isinstance(found, IgnoreSyntaxError):
            raise found
        return found


def _price(step: Resolved, machine: Machine, memo: PlanMemo) -> tuple[float, bool]:
    if step.keyword == "RUN":
        # the shell form's script is the last word after the shell (cost.model reads it so)
        script = " ".join(step.command) if step.instruction.json else step.command[-1]
        price = memo.prices.get(script)
        if price is None:
            estimate = estimate_run(script, machine)
            kinds = INSTALL_KINDS & set(estimate.kinds)
            price = memo.prices[script] = (machine.run_seconds + estimate.seconds, bool(kinds))
        return price
    if step.keyword in ("COPY", "ADD"):
        return machine.copy_seconds, False
    return machine.meta_seconds, False


def _inputs(step: Resolved, last: Mapping[int, int | None]) -> tuple[list[Reader], list[int]]:
    """What a step reads from the context, and the stages (their last steps) it reads from."""
    readers: list[Reader] = []
    depends: list[int] = []
    if step.keyword in ("COPY", "ADD"):
        if step.from_stage is not None:
            dep = last.get(step.from_stage)
            depends.append(-1 if dep is None else dep)
        elif not step.from_image:
            readers.extend(
                Reader.of(s, True)
                for s in step.sources
                if "://" not in s and not s.startswith("git@")
            )
    for mount in step.mounts:
        if mount.type == "bind" and mount.from_stage is None and not mount.from_image:
            readers.append(Reader.of(mount.source or ".", True))
        elif mount.from_stage is not None:
            dep = last.get(mount.from_stage)
            depends.append(-1 if dep is None else dep)
    return readers, depends


def build_model(
    dockerfile: str,
    dockerignore: str | None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    version: str = DEFAULT_BUILDKIT,
    machine: Machine | None = None,
    memo: PlanMemo | None = None,
) -> Model:
    """Plan a Dockerfile once; a Dockerfile the builder rejects gives a model with an error.
    ``memo`` (one per replay, with one ``machine``) shares work between versions."""
    machine = machine or Machine()
    memo = memo or PlanMemo()
    try:
        rules = memo.rules(dockerignore)
    except IgnoreSyntaxError as e:
        return Model((), IgnoreRules(), f".dockerignore line {e.line}: {e}", None)
    try:
        planned = plan(
            dockerfile, build_args, target, rules_for("buildkit", version).automatic_args(), version
        )
    except BuildFailure as e:
        return Model(
            (), rules, str(e.reason if hasattr(e, "reason") else e), getattr(e, "line", None)
        )
    steps: list[ModelStep] = []
    last: dict[int, int | None] = {}
    base_of: dict[int, bytes] = {}
    for index in planned.order:
        if index not in planned.needed:
            continue
        stage = planned.stages[index]
        if stage.base_stage is not None:
            previous = last.get(stage.base_stage)
            base = base_of.get(stage.base_stage, b"")
        else:
            previous = None
            base = _digest("image", image_key(stage.base_image or "scratch"))
            if stage.base_image:
                line, text = stage.stage.line, f"FROM {stage.base_image}"
                steps.append(
                    ModelStep(
                        stage.label, line, text, "FROM", b"", None, base, (), (), 0.0, False, True
                    )
                )
        base_of[index] = base
        for step in stage.steps:
            if step.keyword not in STEP_KEYWORDS:
                continue
            readers, depends = _inputs(step, last)
            seconds, install = _price(step, machine, memo)
            steps.append(
                ModelStep(
                    stage.label,
                    step.instruction.line,
                    step.instruction.text,
                    step.keyword,
                    _static(step),
                    previous,
                    base,
                    tuple(readers),
                    tuple(depends),
                    seconds,
                    install,
                    command=step.instruction.command,
                )
            )
            previous = len(steps) - 1
        last[index] = previous
    return Model(tuple(steps), rules)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    line: int
    instruction: str
    keyword: str
    status: str  # cached | built | failed
    seconds: float
    install: bool = False  # a dependency install (cost.commands' package managers)


class CommitBuild(NamedTuple):
    """What one commit's build does, as the replay predicts it. A named tuple: one is made
    per commit and variant, at a third of a frozen dataclass's cost."""

    commit: str
    subject: str
    steps: tuple[StepOutcome, ...]
    seconds: float
    error: str | None = None
    skipped: str | None = None  # why no build was predicted (no Dockerfile at this commit)
    hits: int = 0  # steps (not FROM) found in the cache
    installs: int = 0  # dependency installs run
    counted: int = 0  # steps (not FROM) the build shows

    @property
    def rebuilt(self) -> tuple[StepOutcome, ...]:
        return tuple(s for s in self.steps if s.status == "built" and s.keyword != "FROM")


@dataclass
class ContextState:
    """The files of the repository at the current commit, with each model step's digest."""

    files: dict[str, Entry]
    model: Model | None = None
    # path -> entry_hash, for paths some step reads; never stale (dropped at each change)
    hashes: dict[str, int] = field(default_factory=dict)
    keys: list = field(default_factory=list)  # the last build's step keys
    froms_before: list[int] = field(default_factory=list)  # FROM steps before step i
    dirty_from: int = 0  # the first step whose inputs changed since the last build
    dirty: bytearray = field(default_factory=bytearray)  # step -> inputs changed since then
    cached_outcomes: list[StepOutcome] = field(default_factory=list)
    built_outcomes: list[StepOutcome] = field(default_factory=list)
    pulled: dict[int, tuple[StepOutcome, StepOutcome]] = field(default_factory=dict)  # FROMs
    # (step, missing source) -> the failed outcome and the error: a variant that misses a
    # source at older commits fails the same way commit after commit
    failures: dict[tuple[int, str], tuple[StepOutcome, str]] = field(default_factory=dict)
    sums: list[int] = field(default_factory=list)
    present: dict[tuple[int, int], int] = field(default_factory=dict)

    def attach(self, model: Model) -> None:
        """Use a new model. A step that reads the very sources a step of the model before
        read, through the same .dockerignore, takes over that step's digest (kept current
        by ``count``); any other step's digest is computed once from all files. A history
        changes its Dockerfile a few lines at a time, so most versions compute none."""
        carried = self._carried(model)
        self.model = model
        self.sums = [0] * len(model.steps)
        self.keys, self.dirty_from = [], 0
        self.dirty = bytearray(len(model.steps))
        self.froms_before = [0]
        for step in model.steps:
            self.froms_before.append(self.froms_before[-1] + step.is_from)
        self.cached_outcomes = [
            StepOutcome(s.line, s.instruction, s.keyword, "cached", Machine.lookup_seconds)
            for s in model.steps
        ]
        self.built_outcomes = [
            StepOutcome(s.line, s.instruction, s.keyword, "built", s.seconds, s.install)
            for s in model.steps
        ]
        self.pulled = {
            i: tuple(StepOutcome(s.line, s.instruction, "FROM", status, 0.0) for status in _SHOWN)
            for i, s in enumerate(model.steps)
            if s.is_from
        }
        self.failures = {}
        self.present = present = {}
        files, hashes, sums = self.files, self.hashes, self.sums
        for i, step in enumerate(model.steps):
            if not step.readers:
                continue
            known = carried.get(step.readers)
            if known is not None:
                sums[i], counts = known
                present.update(((i, r), n) for r, n in enumerate(counts) if n)
                continue
            read: set[str] = set()  # several sources of one step may name one file
            for r, reader in enumerate(step.readers):
                found = model.paths_read(reader, files)
                if found:
                    present[(i, r)] = len(found)
                    read.update(found)
            total = 0
            for path in read:
                h = hashes.get(path)
                if h is None:
                    h = hashes[path] = entry_hash(path, files[path])
                total += h
            sums[i] = total % _MOD

    def _carried(self, model: Model) -> dict[tuple[Reader, ...], tuple[int, tuple[int, ...]]]:
        """The current model's digests and found-file counts by the sources they read, when
        ``model`` sees the context through the same .dockerignore (else nothing)."""
        old = self.model
        if old is None or old.rules is not model.rules:
            return {}
        present = self.present
        return {
            step.readers: (
                self.sums[i],
                tuple(present.get((i, r), 0) for r in range(len(step.readers))),
            )
            for i, step in enumerate(old.steps)
            if step.readers
        }

    def count(self, found: PathReads, delta: int, presence: int) -> None:
        """One changed path, read as ``found`` says, its digest share moved by ``delta``:
        those steps' sums move and they are marked dirty; ``presence`` (+1 added, -1
        deleted, 0 changed) moves its readers' counts of files found."""
        steps, pairs = found  # type: ignore[misc]
        sums, dirty = self.sums, self.dirty
        for i in steps:
            sums[i] = (sums[i] + delta) % _MOD
            dirty[i] = 1
        if steps[0] < self.dirty_from:
            self.dirty_from = steps[0]
        if presence:
            present = self.present
            for pair in pairs:
                present[pair] = present.get(pair, 0) + presence

    def change(self, path: str, old: Entry | None, new: Entry | None) -> None:
        """One path changed (``diff``'s way in; a replay batches in ``_apply_commit``)."""
        before = self.hashes.pop(path, 0)
        if new is None:
            self.files.pop(path, None)
        else:
            self.files[path] = new
        if self.model is not None:
            found = self.model.touches(path)
            if found:
                after = 0 if new is None else entry_hash(path, new)
                if after:
                    self.hashes[path] = after
                self.count(found, after - before, (old is None) - (new is None))


_SHOWN = ("cached", "built")  # a FROM's status, by whether the build pulled it


@dataclass
class Cache:
    """Every cache key any earlier build made (BuildKit keeps them all until pruned)."""

    keys: set = field(default_factory=set)
    builds: int = 0


def _pull(step: ModelStep, cache: Cache) -> bool:
    """A FROM: the first build to name an image pulls it, and the engine shows that as done
    (after the cold build: simulation.simulator's rule for an image no earlier build used,
    shared with verify's runner). True when it shows as done (built)."""
    pulled = not (step.base in cache.keys or cache.builds == 1)
    cache.keys.add(step.base)
    return pulled


def _missing(state: ContextState, index: int, step: ModelStep) -> str | None:
    """The first source the step must find (a plain path) that the context lacks."""
    for r in step.required:
        if state.present.get((index, r), 0) <= 0:
            return step.readers[r].source
    return None


def _failure(
    state: ContextState, index: int, step: ModelStep, missing: str
) -> tuple[StepOutcome, str]:
    """The failed outcome and the build's error when the step misses a source."""
    found = state.failures.get((index, missing))
    if found is None:
        outcome = StepOutcome(step.line, step.instruction, step.keyword, "failed", 0.0)
        found = (outcome, f"{step.keyword} failed: {missing}: not in the context")
        state.failures[(index, missing)] = found
    return found


def _key(step: ModelStep, keys: list, digest: int) -> int:
    """The step's cache key: its parent's key, its resolved instruction, its input digest
    and the keys of the stages it reads. Python's 64-bit tuple hash: a collision over a long
    replay is about as likely as 1 in 10^10, and it is many times cheaper than a
    cryptographic digest."""
    parent, depends = step.parent, step.depends
    return hash(
        (
            keys[parent] if parent is not None else step.base,
            step.static,
            digest,
            tuple([keys[d] if d >= 0 else None for d in depends]) if depends else None,
        )
    )


def predict(
    state: ContextState, cache: Cache, commit: str, subject: str, machine: Machine
) -> CommitBuild:
    """One build at the current state: chain the keys, look each up, price the misses.

    Steps above the first one whose inputs changed since the last build keep their keys,
    which that build put in the cache: they are cached without hashing anything again. So
    does a later step when neither its own inputs, nor its parent's key, nor the key of a
    stage it copies from changed (another stage's chain, after the one a commit touched).
    """
    model = state.model
    assert model is not None
    if model.error:
        return CommitBuild(commit, subject, (), 0.0, error=model.error)
    cache.builds += 1
    steps, sums, known = model.steps, state.sums, cache.keys
    count = len(steps)
    previous, dirty = state.keys, state.dirty
    reused = len(previous)
    begin = min(state.dirty_from, reused)
    keys = previous[:begin]
    cached_outcomes, built_outcomes = state.cached_outcomes, state.built_outcomes
    outcomes = cached_outcomes[:begin]
    hits = begin - state.froms_before[begin]
    installs = 0
    lookup = machine.lookup_seconds
    total = machine.build_seconds + begin * lookup
    built_any = False
    error = None
    pulled = state.pulled
    changed = bytearray(count)  # step -> its key differs from the last build's
    for i in range(begin, count):
        step = steps[i]
        if step.is_from:
            keys.append(step.base)
            outcomes.append(pulled[i][_pull(step, cache)])
            continue
        fresh = i >= reused or dirty[i]  # its own inputs changed (or it was never keyed)
        if not fresh:
            for u in step.upstream:
                if changed[u]:
                    break  # the parent's key or a stage it reads moved: key it again
            else:
                # nothing the key is made of changed: the last build's key, which it cached
                keys.append(previous[i])
                outcomes.append(cached_outcomes[i])
                total += lookup
                hits += 1
                continue
        missing = _missing(state, i, step) if fresh and step.required else None
        if missing is not None:  # otherwise its sources were found last time
            failed, error = _failure(state, i, step, missing)
            outcomes.append(failed)
            break
        key = _key(step, keys, sums[i])
        keys.append(key)
        if key in known:
            outcomes.append(cached_outcomes[i])
            total += lookup
            hits += 1
        else:
            known.add(key)
            built_any = True
            outcomes.append(built_outcomes[i])
            total += step.seconds
            installs += step.install
        changed[i] = i >= reused or key != previous[i]
    if built_any:
        total += machine.export_seconds
    state.keys = keys
    state.dirty_from = count
    state.dirty = bytearray(count)
    built = len(outcomes)
    counted = built - state.froms_before[built]
    return CommitBuild(
        commit, subject, tuple(outcomes), total, error, None, hits, installs, counted
    )


@dataclass(frozen=True, slots=True)
class Variant:
    """A Dockerfile to replay: the repository's own (``text`` None: as at each commit) or a
    fixed text (another ordering) used at every commit."""

    name: str
    text: str | None = None


@dataclass
class Totals:
    builds: int = 0
    steps: int = 0
    hits: int = 0
    installs: int = 0
    seconds: float = 0.0
    failed: int = 0
    skipped: int = 0
    cumulative: list[float] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "builds": self.builds,
            "failed_builds": self.failed,
            "skipped_commits": self.skipped,
            "steps": self.steps,
            "step_hit_rate": round(self.hits / self.steps, 4) if self.steps else None,
            "dependency_installs": self.installs,
            "hours": round(self.seconds / 3600, 4),
        }


@dataclass
class Notes:
    """What the replay met and how it treated it (reported, never crashed on)."""

    merges: int = 0
    renames_as_delete_add: int = 0
    submodules: set[str] = field(default_factory=set)
    symlinks: set[str] = field(default_factory=set)
    missing_dockerfile: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "merge_commits_first_parent": self.merges,
            "deletes_with_adds": self.renames_as_delete_add,
            "submodules_as_empty_folders": sorted(self.submodules),
            "symlinks_by_target": len(self.symlinks),
            "commits_without_dockerfile": self.missing_dockerfile,
            "warnings": self.warnings,
        }


class _VariantRun:
    def __init__(
        self,
        variant: Variant,
        files: dict[str, Entry],
        options: ReplayOptions,
        models: dict[tuple[str, str | None], Model],
        hashes: dict[str, int],
        shared_reads: dict[tuple, dict],
        memo: PlanMemo,
    ):
        self.shared_reads = shared_reads
        self.memo = memo
        self.current: tuple[str, str | None] | None = None
        self.variant = variant
        # the variants share one files/hashes pair: the caller updates it once a change
        self.state = ContextState(files, hashes=hashes)
        self.cache = Cache()
        self.totals = Totals()
        self.options = options
        self.models = models  # shared by the variants: one plan per Dockerfile text

    def model_for(self, dockerfile: str, dockerignore: str | None) -> None:
        key = (dockerfile, dockerignore)
        if self.state.model is not None and key == self.current:
            return  # a fixed variant when only the repository's Dockerfile moved
        self.current = key
        model = self.models.get(key)
        if model is None:
            o = self.options
            model = build_model(
                dockerfile, dockerignore, o.build_args, o.target, o.version, o.machine, self.memo
            )
            if len(self.models) > 256:  # many Dockerfile versions: keep memory flat
                self.models.clear()
                self.shared_reads.clear()
            # versions that read the same sources through the same .dockerignore (only a
            # RUN changed, say) share what each path is read by
            signature = (model.rules, tuple(step.readers for step in model.steps))
            model._reads = self.shared_reads.setdefault(signature, {})
            model.excluded = self.shared_reads.setdefault(("ignore", dockerignore), {})
            self.models[key] = model
        self.state.attach(model)

    def build(
        self, commit: Commit, texts: Mapping[str, str | None], path: str, moved: bool
    ) -> CommitBuild:
        """This variant's build of ``commit`` (``moved``: the Dockerfile or .dockerignore
        changed in it), or a skipped one where the repository has no Dockerfile."""
        dockerfile = self.variant.text if self.variant.text is not None else texts[path]
        if dockerfile is None:
            self.state.model = None
            skipped = f"no {path} at this commit"
            return CommitBuild(commit.oid, commit.subject, (), 0.0, skipped=skipped)
        if moved or self.state.model is None:
            self.model_for(dockerfile, texts[".dockerignore"])
        return predict(self.state, self.cache, commit.oid, commit.subject, self.options.machine)

    def record(self, build: CommitBuild) -> None:
        t = self.totals
        if build.skipped:
            t.skipped += 1
        else:
            t.builds += 1
            t.failed += build.error is not None
            t.hits += build.hits
            t.installs += build.installs
            t.steps += build.counted
            t.seconds += build.seconds
        t.cumulative.append(t.seconds / 3600)


@dataclass(frozen=True)
class ReplayOptions:
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    version: str = DEFAULT_BUILDKIT
    machine: Machine = field(default_factory=Machine)


@dataclass
class ReplayResult:
    variants: list[Variant]
    commits: list[tuple[str, str]]  # (id, subject), oldest first
    builds: dict[str, list[CommitBuild]]
    totals: dict[str, Totals]
    notes: Notes


def replay(
    repo: Repository,
    head: str = "HEAD",
    count: int | None = None,
    variants: Iterable[Variant] = (Variant("Dockerfile"),),
    options: ReplayOptions | None = None,
    progress: Callable[[int], None] | None = None,
    keep_builds: bool = True,
) -> ReplayResult:
    """Walk ``head``'s first-parent history oldest to newest, one build per commit and
    variant. Raises ``InputError`` when the run cannot go on (no Dockerfile at any commit)."""
    options = options or ReplayOptions()
    head_id = repo.resolve(head)
    variants = list(variants)
    notes = Notes()
    dockerfile_path = go_clean(options.dockerfile).lstrip("/")
    history = repo.history(head_id, count)
    runs: list[_VariantRun] = []
    builds: dict[str, list[CommitBuild]] = {v.name: [] for v in variants}
    commits: list[tuple[str, str]] = []
    texts: dict[str, str | None] = {}  # path -> current text of Dockerfile / .dockerignore
    watched = (dockerfile_path, ".dockerignore")
    try:
        for number, commit in enumerate(history):
            if number == 0:
                runs = _start(repo, commit.oid, watched, texts, variants, options)
                changed_watch = True
            else:
                changed_watch = _apply_commit(commit, runs, texts, watched, repo, notes)
            commits.append((commit.oid, commit.subject))
            notes.merges += commit.is_merge
            for run in runs:
                build = run.build(commit, texts, dockerfile_path, changed_watch)
                run.record(build)
                if keep_builds:
                    builds[run.variant.name].append(build)
            if texts[dockerfile_path] is None:
                notes.missing_dockerfile += 1
            if progress:
                progress(number + 1)
    finally:
        repo.close()  # the cat-file process that read the Dockerfile versions
    if not commits:
        raise InputError(f"{repo.path}: no commits at {head}")
    base = runs[0] if runs else None
    if base and base.variant.text is None and base.totals.builds == 0:
        raise InputError(f"{repo.path}: no {dockerfile_path} at any of the {len(commits)} commits")
    if notes.missing_dockerfile:
        notes.warnings.append(
            f"{notes.missing_dockerfile} commit(s) have no {dockerfile_path}: skipped"
        )
    return ReplayResult(variants, commits, builds, {r.variant.name: r.totals for r in runs}, notes)


def _start(
    repo: Repository,
    oid: str,
    watched: tuple[str, ...],
    texts: dict[str, str | None],
    variants: list[Variant],
    options: ReplayOptions,
) -> list[_VariantRun]:
    """The first commit: its whole tree, its Dockerfile and .dockerignore, one run a variant."""
    files = repo.tree(oid)
    blobs = repo.blobs([files[p].oid for p in watched if p in files])
    for p in watched:
        texts[p] = _text(blobs.get(files[p].oid)) if p in files else None
    models: dict[tuple[str, str | None], Model] = {}
    hashes: dict[str, int] = {}
    shared: dict[tuple, dict] = {}
    memo = PlanMemo()
    return [_VariantRun(v, files, options, models, hashes, shared, memo) for v in variants]


def _text(blob: bytes | None) -> str | None:
    return None if blob is None else blob.decode("utf-8", "replace")


def _apply_commit(
    commit: Commit,
    runs: list[_VariantRun],
    texts: dict[str, str | None],
    watched: tuple[str, ...],
    repo: Repository,
    notes: Notes,
) -> bool:
    """Feed one commit's changes to every variant; True when Dockerfile/.dockerignore moved.

    One pass over the changed paths updates the shared files and, for each variant, the
    steps that read them. A path's digest share is computed only when some variant's step
    reads it (``ContextState.hashes`` holds a path's share only while it is current: it is
    dropped at every change and made again by the first step that needs it)."""
    touched: dict[str, Entry | None] = {}
    deleted = added = 0
    first = runs[0].state  # its files and hashes are every variant's (ContextState.change)
    files, hashes = first.files, first.hashes
    counting = [
        (run.state, run.state.model._reads, run.state.model.touches)
        for run in runs
        if run.state.model is not None
    ]
    for path, old, new in commit.records:
        if path in watched:
            touched[path] = new
        before = hashes.pop(path, 0)
        if new is None:
            deleted += 1
            files.pop(path, None)
        else:
            if new.mode == SUBMODULE:
                notes.submodules.add(path)
            elif new.mode == SYMLINK:
                notes.symlinks.add(path)
            files[path] = new
        added += old is None
        delta = None
        for state, known, touches in counting:
            found = known.get(path)
            if found is None:
                found = touches(path)
            if not found:
                continue
            if delta is None:
                after = 0
                if new is not None:
                    after = hashes[path] = entry_hash(path, new)
                delta = after - before
            state.count(found, delta, (old is None) - (new is None))
    if deleted and added:
        notes.renames_as_delete_add += 1
    if not touched:
        return False
    blobs = repo.blobs([e.oid for e in touched.values() if e is not None])
    for path, entry in touched.items():
        texts[path] = None if entry is None else _text(blobs.get(entry.oid))
    return True


def iter_rows(result: ReplayResult) -> Iterator[dict]:
    """One row per commit and variant: the steps rebuilt and the predicted seconds."""
    for name, builds in result.builds.items():
        for build in builds:
            yield {
                "variant": name,
                "commit": build.commit[:12],
                "subject": build.subject,
                "rebuilt": [f"{s.line}: {s.instruction}" for s in build.rebuilt],
                "seconds": round(build.seconds, 2),
                "error": build.error or build.skipped,
            }
