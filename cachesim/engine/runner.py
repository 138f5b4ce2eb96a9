"""Running a scenario's builds on a real Docker engine and cleaning up after them.

``run_builds`` takes the same ``BuildRequest`` values that the simulator predicts from and
runs each with ``docker build``, in order, on the daemon that ``DOCKER_HOST`` names. One call
is one *run*; a run

- imports stand-ins for the base images with a fresh nonce (``standin``), so it never reuses
  cache made by another run or found on the daemon, and re-imports an image when its
  version changes (an upstream update);
- refuses to build when an image the Dockerfile names is not local (no registry access);
- writes the context into one private folder, rewritten before each build, with exact
  bytes, modes and modification times;
- at the end removes every image, tag, container and BuildKit cache record it created, and
  gives back any tag it took from an image that was there before. Only that: it snapshots
  what exists at the start and leaves it alone.

Two runs on one daemon at the same time would see each other's new images and cache
records, so runs on one daemon are serialised with a lock file (per DOCKER_HOST).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import dockerfile

from cachesim.builders import registry
from cachesim.context.workspace import BuildRequest
from cachesim.engine.daemon import BUILD_NETWORK, DEFAULT_DOCKER, EngineError, lines, run_docker
from cachesim.engine.enginefile import EngineDockerfile, for_engine
from cachesim.engine.standin import SCRATCH, ensure_standin, image_exists
from cachesim.engine.urlserver import UrlServer, serving
from cachesim.logs.parse import (
    ObservedBuild,
    ObservedStep,
    bare_sources,
    parse_log,
    stage_names,
)

Engine = str  # which of the daemon's builders runs the builds: a registry.NAMES value
OnBuild = Callable[[BuildRequest, ObservedBuild], None]

BUILD_TIMEOUT = 600.0
FIXED_MTIME = 1_700_000_000.0  # the Dockerfile, the .dockerignore and folders
RESERVED = ("Dockerfile", ".dockerignore")
Written = dict[str, tuple[bytes, float]]  # context path -> (content, mtime) as last written


# --- references ---------------------------------------------------------------------------


def normalize_ref(ref: str) -> str:
    """``docker.io/library/python:3.12-slim`` and ``python:3.12-slim`` name one image."""
    ref = ref.strip()
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    last = ref.rsplit("/", 1)[-1]
    if "@" not in ref and ":" not in last:
        ref += ":latest"
    return ref


def named_images(dockerfile_text: str) -> set[str]:
    """External images a Dockerfile names literally (FROM and ``COPY --from``).

    Stage names, stage indexes, ``scratch`` and names with variables are left out: the
    first three are not images and the last cannot be known without evaluating arguments.
    """
    try:
        commands = dockerfile.parse_string(dockerfile_text)
    except dockerfile.GoParseError:
        return set()
    stages: set[str] = set()
    images: set[str] = set()
    for cmd in commands:
        kind = (cmd.cmd or "").upper()
        if kind == "FROM":
            words = list(cmd.value)
            if (
                words
                and words[0].lower() not in stages
                and words[0] != SCRATCH
                and "$" not in words[0]
            ):
                images.add(words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            stages.add(str(len(stages)))
        elif kind in ("COPY", "ADD"):
            for flag in cmd.flags:
                m = re.fullmatch(r"--from=(.+)", flag)
                source = m.group(1) if m else ""
                if (
                    source
                    and source.lower() not in stages
                    and not source.isdigit()
                    and "$" not in source
                ):
                    images.add(source)
    return images


# --- what the daemon holds ----------------------------------------------------------------


def image_ids(docker: str) -> set[str]:
    """Every image id on the daemon, intermediate ones included."""
    return set(lines(run_docker(docker, "images", "-a", "-q", "--no-trunc")))


def container_ids(docker: str) -> set[str]:
    return set(lines(run_docker(docker, "ps", "-a", "-q", "--no-trunc")))


def cache_records(docker: str) -> dict[str, str]:
    """BuildKit's build-cache records: full id -> parent id ("" for none).

    ``docker system df -v`` abbreviates ids in its table; its JSON template gives them whole.
    """
    proc = run_docker(docker, "system", "df", "-v", "--format", "{{json .BuildCache}}", timeout=120)
    text = proc.stdout.strip()
    if not text or text == "null":
        return {}
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise EngineError(f"cannot read the build cache list: {text[:200]}") from e
    return {r["ID"]: r.get("Parent") or "" for r in records or []}


def image_id(ref: str, docker: str) -> str | None:
    proc = run_docker(docker, "image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def prune_cache_records(ids: set[str], docker: str) -> set[str]:
    """Remove the given build-cache records and only those; return the ones left.

    Engine 20.10 accepts one ``id`` filter per prune and matches it as a regular
    expression (``id=abc`` removes every record whose id *contains* abc), so the ids go in
    one anchored alternation. One prune removes only records nothing else refers to, so it
    repeats until the set is gone or a round removes nothing (records still in use).
    """
    remaining = set(ids)
    for _ in range(50):
        if not remaining:
            break
        pattern = "^(" + "|".join(sorted(re.escape(i) for i in remaining)) + ")$"
        run_docker(docker, "builder", "prune", "-a", "-f", "--filter", f"id={pattern}", timeout=120)
        left = remaining & set(cache_records(docker))
        if left == remaining:
            break
        remaining = left
    return remaining


def remove_images(ids: set[str], docker: str) -> list[str]:
    """Remove images by id, children before parents; return the ones that could not go."""
    if not ids:
        return []
    proc = run_docker(
        docker,
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{.Parent}}",
        *sorted(ids),
        check=False,
        timeout=120,
    )
    parent: dict[str, str] = {}
    for line in lines(proc):
        words = line.split()
        parent[words[0]] = words[1] if len(words) > 1 else ""
    order: list[str] = []
    pending = {i for i in ids if i in parent}
    while pending:
        leaves = sorted(i for i in pending if not any(parent.get(j) == i for j in pending))
        if not leaves:
            leaves = sorted(pending)
        order.extend(leaves)
        pending -= set(leaves)
    failed: list[str] = []
    for start in range(0, len(order), 50):
        batch = order[start : start + 50]
        run_docker(docker, "rmi", "-f", "--no-prune", *batch, check=False, timeout=300)
    still = image_ids(docker)
    failed.extend(i for i in order if i in still)
    return failed


# --- one run ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Snapshot:
    images: set[str]
    containers: set[str]
    cache: set[str]
    tags: dict[str, str | None]  # stand-in ref -> id it named before the run


@dataclass(slots=True)
class _Run:
    docker: str
    engine: Engine
    nonce: str
    workdir: Path
    snapshot: _Snapshot
    versions: dict[str, int] = field(default_factory=dict)  # ref -> version last imported
    used: dict[str, int] = field(default_factory=dict)  # ref -> version of its last build
    count: int = 0
    written: Written = field(default_factory=dict)  # the context as the last build saw it
    standin: bool = True  # import stand-in base images; False: use the daemon's own
    served: UrlServer | None = None  # serves the builds' ADD downloads on 127.0.0.1

    @property
    def tag(self) -> str:
        return f"cachesim-run-{self.nonce}"


@contextlib.contextmanager
def _daemon_lock(docker: str) -> Iterator[None]:
    """One run at a time per daemon (a snapshot taken during another run would be wrong)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    digest = hashlib.sha1(host.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"cachesim-engine-{digest}.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + 900
            while True:
                time.sleep(1)
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EngineError(
                            f"another cachesim run holds the engine lock {path}"
                        ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync_mtime(previous: Written, path: str, content: bytes, mtime: float) -> float:
    """The mtime to write so that the engine notices a change of content.

    BuildKit sends the context (and the Dockerfile) incrementally and skips a file whose
    size and mtime did not change since the last build, so an edit that keeps both would
    build from the old bytes (observed on 20.10). A real edit moves the mtime; where a
    request does not, the file is written one second after its previous mtime. Neither
    builder keys its cache on mtime (a ``touch`` alone leaves COPY cached on both), so
    this changes nothing else.
    """
    before = previous.get(path)
    if before is not None and before[0] != content and before[1] >= mtime:
        return before[1] + 1.0
    return mtime


def write_context(request: BuildRequest, folder: Path, previous: Written | None = None) -> Written:
    """Make ``folder`` hold exactly the request's context, Dockerfile and .dockerignore.

    Returns what was written, to pass as ``previous`` for the next build of the run.
    """
    previous = previous or {}
    for name in RESERVED:
        if name in request.files:
            raise EngineError(
                f"build {request.name!r}: the context has a file {name!r}, which would clash "
                "with the scenario's own"
            )
    if folder.exists():
        _make_writable(folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries: list[tuple[str, bytes, int, float]] = [
        (rel, spec.content, spec.mode, spec.mtime) for rel, spec in sorted(request.files.items())
    ]
    entries.append(("Dockerfile", request.dockerfile.encode(), 0o644, FIXED_MTIME))
    if request.dockerignore:
        entries.append((".dockerignore", request.dockerignore.encode(), 0o644, FIXED_MTIME))
    written: Written = {}
    for rel, content, mode, mtime in entries:
        path = folder / rel
        if not path.resolve().is_relative_to(folder.resolve()):
            raise EngineError(f"build {request.name!r}: context path {rel!r} leaves the context")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode)
        mtime = sync_mtime(previous, rel, content, mtime)
        os.utime(path, (mtime, mtime))
        written[rel] = (content, mtime)
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        os.chmod(sub, 0o755)
        os.utime(sub, (FIXED_MTIME, FIXED_MTIME))
    os.chmod(folder, 0o755)
    return written


def _make_writable(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):
                os.chmod(path, 0o755)


def build_command(
    request: BuildRequest, engine: Engine, tag: str, context: Path, docker: str
) -> list[str]:
    """The ``docker build`` argument vector for one request."""
    cmd = [docker, "build", f"--network={BUILD_NETWORK}", "-t", tag]
    for key, value in request.build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    if request.target:
        cmd += ["--target", request.target]
    if request.no_cache:
        cmd.append("--no-cache")
    cmd += registry.builder(engine).build_flags  # --progress=plain | --rm --force-rm
    cmd.append(str(context))
    return cmd


def _prepare_images(run: _Run, request: BuildRequest, engine_file: EngineDockerfile) -> set[str]:
    """Import stand-ins whose version changed; return the refs that changed for this build.

    A digest-pinned reference is imported under its local tag (``enginefile``).
    """
    changed: set[str] = set()
    for ref, version in request.images.items():
        if ref == SCRATCH:
            continue
        local = engine_file.local_ref(ref)
        if run.standin and run.versions.get(ref) != version:
            ensure_standin(local, version, run.nonce, docker=run.docker)
            run.versions[ref] = version
        elif not run.standin and not image_exists(ref, docker=run.docker):
            raise EngineError(
                f"build {request.name!r}: image {ref} is not on the daemon; pull it first, "
                "or use --standin-bases (cachesim never pulls)"
            )
        if ref in run.used and run.used[ref] != version:
            changed.add(normalize_ref(ref))
        elif ref not in run.used and run.count > 0:
            # an image no earlier build used (a FROM edited, or named through a build arg):
            # new to this chain of builds, as the simulator says (cache-rules K15)
            changed.add(normalize_ref(ref))
        run.used[ref] = version
        if not image_exists(local, docker=run.docker):
            raise EngineError(f"build {request.name!r}: image {ref} is not on the daemon")
    known = {normalize_ref(engine_file.local_ref(r)) for r in request.images}
    for ref in named_images(engine_file.text):
        if normalize_ref(ref) not in known and not image_exists(ref, docker=run.docker):
            raise EngineError(
                f"build {request.name!r}: the Dockerfile names the image {ref}, which is neither "
                "in the request's images nor on the daemon; building would contact a registry"
            )
    return changed


def _in_scenario_terms(
    steps: Sequence[ObservedStep], engine_file: EngineDockerfile
) -> list[ObservedStep]:
    """The observed steps with each pinned reference's local tag named as in the scenario."""
    if not engine_file.pinned:
        return list(steps)
    return [
        replace(
            s,
            instruction=engine_file.scenario_text(s.instruction),
            image=engine_file.scenario_text(s.image) if s.image else s.image,
        )
        for s in steps
    ]


def _mark_bases(
    steps: Sequence[ObservedStep],
    request: BuildRequest,
    changed: set[str],
    run: _Run,
    engine_file: EngineDockerfile,
) -> tuple[ObservedStep, ...]:
    """Fill in ``base_changed`` on FROM steps of stand-in images (None where unknown)."""
    by_id: dict[str, str] = {}
    for ref in request.images:
        if ref == SCRATCH:
            continue
        ident = image_id(engine_file.local_ref(ref), run.docker)
        if ident:
            by_id[ident.removeprefix("sha256:")] = normalize_ref(ref)
    known = {normalize_ref(r) for r in request.images}
    out: list[ObservedStep] = []
    for step in steps:
        if step.is_from and step.image:
            ref: str | None = None
            if registry.builder(run.engine).log_names_images:
                candidate = normalize_ref(step.image)
                ref = candidate if candidate in known else None
            else:
                ref = next((r for i, r in by_id.items() if i.startswith(step.image)), None)
            if ref is not None:
                step = replace(step, base_changed=ref in changed)
        out.append(step)
    return tuple(out)


def _build(run: _Run, request: BuildRequest, timeout: float) -> ObservedBuild:
    # Pinned references get local tags only for stand-ins: the daemon's own images are
    # found by their digest.
    engine_file = for_engine(request.dockerfile, request.images if run.standin else ())
    changed = _prepare_images(run, request, engine_file)
    if request.prune_before:
        # `docker builder prune -af` limited to this run's records: the classic builder's
        # cache lives in the image store, which this leaves alone, as the real command does.
        own = set(cache_records(run.docker)) - run.snapshot.cache
        prune_cache_records(own, run.docker)
    context = run.workdir / "context"
    as_built = replace(request, dockerfile=engine_file.text)
    if run.served is not None:
        as_built = run.served.publish(as_built)
    run.written = write_context(as_built, context, run.written)
    run.count += 1
    tag = f"{run.tag}:{run.count}"
    env = {**os.environ, **registry.builder(run.engine).docker_env}  # DOCKER_BUILDKIT=1|0
    cmd = build_command(request, run.engine, tag, context, run.docker)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=timeout,
            cwd=run.workdir,
        )
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"build {request.name!r} did not finish within {timeout}s") from e
    wall = time.monotonic() - start
    log = proc.stdout.decode(errors="replace")
    if run.served is not None:
        log = run.served.restore(log)
    steps, error, failed = parse_log(
        log,
        registry.builder(run.engine).log_format,
        proc.returncode,
        stage_names(request.dockerfile),
    )
    steps = _in_scenario_terms(steps, engine_file)
    marked = _mark_bases(steps, request, changed, run, engine_file)
    if failed is not None:
        failed = next(s for s in marked if s.stage == failed.stage and s.index == failed.index)
    return ObservedBuild(
        name=request.name,
        steps=marked,
        error=error,
        exit_code=proc.returncode,
        wall_seconds=round(wall, 3),
        log=log,
        engine=run.engine,
        failed_step=failed,
        sources=tuple(engine_file.scenario_text(ref) for ref in bare_sources(log)),
    )


def _cleanup(run: _Run) -> list[str]:
    """Remove what the run created and give back borrowed tags; return what went wrong."""
    problems: list[str] = []
    docker = run.docker
    try:
        new_containers = container_ids(docker) - run.snapshot.containers
        if new_containers:
            run_docker(docker, "rm", "-f", *sorted(new_containers), check=False, timeout=120)
        # Our own tags on images that existed before (an identical result) go by name.
        for n in range(1, run.count + 1):
            run_docker(docker, "rmi", "--no-prune", f"{run.tag}:{n}", check=False)
        new_images = image_ids(docker) - run.snapshot.images
        left = remove_images(new_images, docker)
        if left:
            problems.append(f"images not removed: {', '.join(i[:19] for i in left)}")
        for ref, old in run.snapshot.tags.items():
            if old is not None and old in image_ids(docker) and image_id(ref, docker) != old:
                run_docker(docker, "tag", old, ref, check=False)
        new_cache = set(cache_records(docker)) - run.snapshot.cache
        kept = prune_cache_records(new_cache, docker)
        if kept:
            problems.append(f"build-cache records not removed: {', '.join(sorted(kept))}")
    except EngineError as e:
        problems.append(str(e))
    return problems


def run_builds(
    requests: Sequence[BuildRequest],
    engine: Engine,
    *,
    docker: str = DEFAULT_DOCKER,
    on_build: OnBuild | None = None,
    timeout: float = BUILD_TIMEOUT,
    standin: bool = True,
) -> list[ObservedBuild]:
    """Run ``requests`` in order on the real engine and return what it did, build by build.

    With ``standin`` (the default) every base image is a local stand-in imported by this
    run; without it the images must already be on the daemon (nothing is ever pulled).

    ``engine`` picks BuildKit (``DOCKER_BUILDKIT=1 --progress=plain``) or the classic
    builder (``DOCKER_BUILDKIT=0``). ``on_build(request, observed)`` is called after each
    build. A build that fails is a result, not an exception; ``EngineError`` means the
    engine itself could not be used (no daemon, a missing image, a timeout).
    """
    if engine not in registry.NAMES:  # the daemon has these two builders, no other
        raise ValueError(f"unknown engine {engine!r} (expected one of {registry.NAMES})")
    results: list[ObservedBuild] = []
    refs: set[str] = {ref for r in requests for ref in r.images if ref != SCRATCH}
    with (
        _daemon_lock(docker),
        tempfile.TemporaryDirectory(prefix="cachesim-engine-") as tmp,
        serving() as served,
    ):
        snapshot = _Snapshot(
            images=image_ids(docker),
            containers=container_ids(docker),
            cache=set(cache_records(docker)),
            tags={ref: image_id(ref, docker) for ref in sorted(refs)},
        )
        run = _Run(
            docker=docker,
            engine=engine,
            nonce=uuid.uuid4().hex[:12],
            workdir=Path(tmp),
            snapshot=snapshot,
            standin=standin,
            served=served,
        )
        failure: BaseException | None = None
        try:
            for request in requests:
                observed = _build(run, request, timeout)
                results.append(observed)
                if on_build is not None:
                    on_build(request, observed)
        except BaseException as e:
            failure = e
            raise
        finally:
            problems = _cleanup(run)
            _make_writable(Path(tmp))
            if problems:
                message = "cleanup after the run was incomplete: " + "; ".join(problems)
                if failure is not None:
                    failure.add_note(message)
                else:
                    raise EngineError(message)
    return results
