"""What will this change rebuild? A build of HEAD predicted with the cache warm from BASE.

The same machinery as the history replay (``whatif.replay``): BASE's tree is the context of
a first build that fills the cache, ``git diff-tree BASE HEAD`` brings the context to HEAD,
and HEAD's build looks its keys up. ``--fail-on`` turns it into a CI guard.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cachesim.context.dockerignore import go_clean
from cachesim.core.errors import InputError
from cachesim.cost.timing import Machine
from cachesim.sources.git import Repository
from cachesim.whatif.replay import Cache, ContextState, build_model, predict


@dataclass(frozen=True, slots=True)
class RebuiltStep:
    line: int
    instruction: str
    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class DiffResult:
    base: str
    head: str
    dockerfile: str
    rebuilt: tuple[RebuiltStep, ...]
    cached: int
    seconds: float
    error: str | None
    fail_on: tuple[str, ...]
    matched: tuple[str, ...]  # rebuilt instructions a --fail-on pattern matches


def _text(repo: Repository, tree: Mapping, path: str) -> str | None:
    entry = tree.get(path)
    if entry is None:
        return None
    blob = repo.blobs([entry.oid]).get(entry.oid)
    return None if blob is None else blob.decode("utf-8", "replace")


def diff(
    repo: Repository,
    base: str,
    head: str,
    dockerfile: str = "Dockerfile",
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    version: str = "0.25",
    fail_on: Sequence[str] = (),
) -> DiffResult:
    """Predict HEAD's build after BASE's; ``InputError`` when either has no Dockerfile."""
    machine = Machine()
    path = go_clean(dockerfile).lstrip("/")
    base_id, head_id = repo.resolve(base), repo.resolve(head)
    tree = repo.tree(base_id)
    base_text = _text(repo, tree, path)
    if base_text is None:
        raise InputError(f"{repo.path}: no {path} at {base}")
    state = ContextState(dict(tree))
    base_model = build_model(
        base_text, _text(repo, tree, ".dockerignore"), build_args, target, version, machine
    )
    state.attach(base_model)
    cache = Cache()
    predict(state, cache, base_id, base, machine)
    changes = repo.diff(base_id, head_id)
    for change in changes:
        state.change(change.path, change.old, change.new)
    head_text = _text(repo, state.files, path)
    if head_text is None:
        raise InputError(f"{repo.path}: no {path} at {head}")
    head_model = build_model(
        head_text, _text(repo, state.files, ".dockerignore"), build_args, target, version, machine
    )
    state.attach(head_model)
    build = predict(state, cache, head_id, head, machine)
    base_statics = {s.static for s in base_model.steps}
    changed = [c.path for c in changes]
    rebuilt_lines = {s.line for s in build.rebuilt}
    steps: list[RebuiltStep] = []
    for index, step in enumerate(head_model.steps):
        if step.line not in rebuilt_lines or step.is_from:
            continue
        steps.append(
            RebuiltStep(
                step.line,
                step.instruction,
                step.seconds,
                _reason(head_model, index, changed, base_statics, rebuilt_lines),
            )
        )
    commands = {s.line: s.command for s in head_model.steps}
    matched = tuple(
        s.instruction for s in steps if any(matches(commands[s.line], p) for p in fail_on)
    )
    cached = sum(1 for s in build.steps if s.status == "cached" and s.keyword != "FROM")
    return DiffResult(
        base, head, path, tuple(steps), cached, build.seconds, build.error, tuple(fail_on), matched
    )


def matches(command: str, pattern: str) -> bool:
    """Whether a --fail-on glob matches the instruction: as written (continuations joined,
    spaces collapsed) or without its flags, so 'RUN pip install*' also finds
    ``RUN --mount=type=cache,target=/root/.cache pip install ...``."""
    words = command.replace("\\\n", " ").split()
    rest = words[1:]  # the flags come first: drop the leading ones
    while rest and rest[0].startswith("--"):
        rest = rest[1:]
    flagless = " ".join(words[:1] + rest)
    return fnmatch.fnmatchcase(" ".join(words), pattern) or fnmatch.fnmatchcase(flagless, pattern)


def _reason(
    model, index: int, changed: list[str], base_statics: set[bytes], rebuilt_lines: set[int]
) -> str:
    """Why the step re-runs, in a learner's words (the first cause that applies)."""
    step = model.steps[index]
    if step.static not in base_statics:
        return "the instruction changed"
    parent = model.steps[step.parent] if step.parent is not None else None
    if parent is not None and not parent.is_from and parent.line in rebuilt_lines:
        return f"the step above (line {parent.line}) is rebuilt"
    read = [p for p in changed if any(i == index for i, _ in model.reads(p))]
    if read:
        more = f" and {len(read) - 3} more" if len(read) > 3 else ""
        return "changed files it reads: " + ", ".join(read[:3]) + more
    if step.depends:
        return "a stage it copies or mounts from is rebuilt"
    return "its stage's base changed"


def to_json(result: DiffResult) -> str:
    return json.dumps(
        {
            "base": result.base,
            "head": result.head,
            "dockerfile": result.dockerfile,
            "rebuilt": [
                {
                    "line": s.line,
                    "instruction": s.instruction,
                    "seconds": round(s.seconds, 2),
                    "reason": s.reason,
                }
                for s in result.rebuilt
            ],
            "cached_steps": result.cached,
            "seconds": round(result.seconds, 2),
            "error": result.error,
            "fail_on": list(result.fail_on),
            "matched": list(result.matched),
        },
        indent=2,
    )


def to_text(result: DiffResult) -> str:
    lines = [f"{result.dockerfile}: a build of {result.head} after {result.base}"]
    if result.error:
        lines.append(f"  the build would fail: {result.error}")
    if not result.rebuilt:
        lines.append(f"  every step cached ({result.cached})")
    for s in result.rebuilt:
        lines.append(f"  line {s.line:<4} {s.instruction[:60]:<60} {s.seconds:7.1f} s  {s.reason}")
    lines.append(
        f"  {len(result.rebuilt)} step(s) rebuilt, {result.cached} cached, "
        f"predicted {result.seconds:.1f} s"
    )
    for m in result.matched:
        lines.append(f"  --fail-on matched: {m}")
    return "\n".join(lines)
