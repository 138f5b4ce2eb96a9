"""A prediction next to what the real engine did: the differences, in words.

``compare`` takes the document ``cachesim run --format json`` prints and the builds that
``runner.run_builds`` observed, and lists every disagreement. Builds pair up by position.

The rules, and why:

- Steps match by ``(stage, index)`` for BuildKit and by ``index`` alone for the classic
  builder, whose step numbers run across the whole Dockerfile. The instruction must
  agree too: its keyword for BuildKit (which prints instructions with variables expanded),
  its text as written for the classic builder (which prints it so, continuation lines
  joined).
- A step differs when its status differs, when only one side has it, or when its ``k/n``
  differs. A build differs when it fails on one side only, or fails at another step.
- ``FROM``: BuildKit prints ``DONE`` or ``CACHED`` for a local image whether or not it
  changed, and the classic builder prints only the image id, so a FROM's observed status
  says nothing. A FROM is compared by what the runner knows: it should be ``built`` when
  its image got a new version before this build and ``cached`` otherwise. A FROM whose
  image the runner does not know (``base_changed`` is None) is compared by presence only.
- Identical steps of two stages run once and BuildKit prints them once, under one stage's
  name. A predicted step that the engine did not print is fine when a *twin* was printed: a
  step of another stage with the same index whose instructions from the FROM up to it are
  the same; the predicted status must then match the twin's observed status.
- A FROM whose image is also the source of a ``COPY --from=image`` may print only as a
  bare ``#N FROM docker.io/library/image`` vertex, without its step header (seen on 20.10
  and 28.5): a predicted FROM of an image in ``ObservedBuild.sources`` is then present.
- A RUN that failed on the engine (its command exited non-zero) where the prediction says
  the build succeeds is the kind ``standin``: the stand-in base could not run the command
  (a tool it lacks, a user it does not have). That is no cache disagreement, but the
  build proves nothing after it, so it still counts as a difference, labelled as such and
  with the command's output.
- When both sides fail, the engine's error must contain the predicted reason (kind
  ``reason``): each engine release words failures its own way (cachesim/core/wording.py). Two
  things in the engine's text vary from run to run and are read as placeholders: the id
  in ``checksum of ref <id>:`` (read as ``ref ...``) and the host path of a snapshot
  (``/var/lib/docker/vfs/dir/<id>/app`` is read as ``/app``). A RUN whose command exited
  non-zero is the command's failure, not the builder's words, and is checked by its step.
- In a build that failed on the engine, BuildKit may print ``CACHED`` for steps that were
  still pending when the solve stopped (they never ran), and steps of other stages may
  be cut short or finish after the failure. So there, a step observed ``cached`` but
  predicted ``built`` is not a difference, a predicted step the engine never printed is
  not one either, and observed steps after the failed one are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cachesim.engine.runner import normalize_ref
from cachesim.logs.parse import (
    ObservedBuild,
    ObservedStep,
    command_exit_code,
    instruction_keyword,
)
from cachesim.planning.plan import MACHINE_PLATFORM

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement between prediction and engine.

    ``kind`` is one of ``status``, ``missing`` (predicted, not printed by the engine),
    ``unpredicted`` (printed by the engine, not predicted), ``instruction``, ``numbering``,
    ``failure`` (the build failed on one side only), ``failed-step``, ``reason`` (both
    failed, for reasons worded differently), ``builds`` (the
    number or names of builds differ) and ``standin`` (a RUN the prediction lets succeed
    failed on the engine: the stand-in could not run it; ``detail`` holds its output).
    """

    build: str
    kind: str
    stage: str | None = None
    index: int | None = None
    instruction: str | None = None
    predicted: str | None = None
    observed: str | None = None
    detail: str = ""

    def describe(self) -> str:
        """One line a person can read: where, what was predicted, what the engine did."""
        where = f"build {self.build!r}"
        if self.index is not None:
            stage = f"stage {self.stage} " if self.stage else ""
            where += f", {stage}step {self.index}"
            if self.instruction:
                where += f" ({self.instruction})"
        what = {
            "status": f"predicted {self.predicted}, the engine {self.observed}",
            "missing": f"predicted {self.predicted}, but the engine did not show this step",
            "unpredicted": f"the engine showed this step ({self.observed}), not predicted",
            "instruction": f"predicted {self.predicted!r}, the engine showed {self.observed!r}",
            "numbering": f"predicted {self.predicted}, the engine numbered it {self.observed}",
            "failure": f"predicted {self.predicted}, the engine {self.observed}",
            "failed-step": f"predicted failure at {self.predicted}, the engine at {self.observed}",
            "reason": f"predicted the reason {self.predicted!r}, the engine said {self.observed!r}",
            "builds": f"predicted {self.predicted}, the engine ran {self.observed}",
            "standin": (
                f"predicted {self.predicted}, but the stand-in could not run this command "
                f"({self.observed}); not a cache difference"
            ),
        }.get(self.kind, f"predicted {self.predicted}, observed {self.observed}")
        if self.kind == "standin":
            said = "\n".join(f"    | {line}" for line in self.detail.splitlines())
            return f"{where}: {what}" + (f"; it printed:\n{said}" if said else "")
        tail = f" ({self.detail})" if self.detail else ""
        return f"{where}: {what}{tail}"

    @property
    def is_standin(self) -> bool:
        """True when the stand-in base could not run a command (no cache disagreement)."""
        return self.kind == "standin"


def _norm(text: str) -> str:
    """An instruction's text with whitespace collapsed and a trailing backslash dropped."""
    text = text.strip().removesuffix("\\").strip()
    return " ".join(text.split())


_MACHINE_PLATFORM_FLAG = (
    r"\s+--platform=(\$\{?(BUILD|TARGET)PLATFORM\}?|" + re.escape(MACHINE_PLATFORM) + r")(?=\s)"
)


def _chain_text(instruction: str) -> str:
    """Text that identifies a step for twin-finding; ``FROM x AS name`` loses its name."""
    text = _norm(instruction)
    if instruction_keyword(text) == "FROM":
        text = re.sub(r"\s+as\s+\S+$", "", text, flags=re.IGNORECASE)
        # `--platform=$BUILDPLATFORM` is the machine's platform, as a bare FROM's is: the
        # same image, one vertex (seen on 20.10 and 28.5: scenario constructs-together)
        text = re.sub(_MACHINE_PLATFORM_FLAG, "", text, flags=re.IGNORECASE)
    return text.upper() if instruction_keyword(text) == "FROM" else text


def _key(engine: str, stage: str, index: int) -> Key:
    return ("", index) if engine == "legacy" else (stage.lower(), index)


def _same_instruction(engine: str, predicted: str, observed: str) -> bool:
    if instruction_keyword(predicted) != instruction_keyword(observed):
        return False
    if engine == "legacy":
        return _norm(observed).lower().startswith(_norm(predicted).lower())
    return True


def _twin(
    step: Mapping[str, Any],
    predicted_steps: Sequence[Mapping[str, Any]],
    observed: Mapping[Key, ObservedStep],
    engine: str,
) -> ObservedStep | None:
    """The printed step that BuildKit ran once for ``step`` and an identical one elsewhere."""
    stage, index = str(step["stage"]), int(step["index"])

    def chain(s: str) -> list[str]:
        own = sorted(
            (p for p in predicted_steps if str(p["stage"]) == s and p["index"] <= index),
            key=lambda p: p["index"],
        )
        return [_chain_text(p["instruction"]) for p in own]

    mine = chain(stage)
    for other in predicted_steps:
        if str(other["stage"]) == stage or int(other["index"]) != index:
            continue
        found = observed.get(_key(engine, str(other["stage"]), index))
        if found is not None and chain(str(other["stage"])) == mine:
            return found
    return None


def _expected_from(step: ObservedStep) -> str | None:
    if step.base_changed is None:
        return None
    return "built" if step.base_changed else "cached"


def _compare_pair(
    build: str,
    engine: str,
    pred: Mapping[str, Any],
    obs: ObservedStep,
    engine_failed: bool,
    twin: bool,
) -> list[Difference]:
    out: list[Difference] = []
    stage, index, instr = str(pred["stage"]), int(pred["index"]), str(pred["instruction"])
    status = str(pred["status"])
    where = {"stage": stage, "index": index, "instruction": instr}
    if not twin and not _same_instruction(engine, instr, obs.instruction):
        out.append(
            Difference(build, "instruction", **where, predicted=instr, observed=obs.instruction)
        )
        return out
    if not twin and int(pred.get("total", obs.total)) != obs.total:
        out.append(
            Difference(
                build,
                "numbering",
                **where,
                predicted=f"{index}/{pred['total']}",
                observed=f"{obs.index}/{obs.total}",
            )
        )
    if obs.is_from or instruction_keyword(instr) == "FROM":
        expected = _expected_from(obs)
        if expected is not None and status != expected and status != "failed":
            changed = "got a new version" if obs.base_changed else "did not change"
            out.append(
                Difference(
                    build,
                    "status",
                    **where,
                    predicted=status,
                    observed=expected,
                    detail=f"the base image {changed} before this build",
                )
            )
        return out
    if status == obs.status:
        return out
    if engine_failed and engine == "buildkit" and obs.status == "cached" and status == "built":
        return out  # pending when the solve stopped: BuildKit prints CACHED for those
    detail = f"run once with the identical step of stage {obs.stage}" if twin else ""
    out.append(
        Difference(build, "status", **where, predicted=status, observed=obs.status, detail=detail)
    )
    return out


_REF_ID = re.compile(r"\bref [0-9A-Za-z-]+::[0-9A-Za-z]+")
_SNAPSHOT_PATH = re.compile(
    r"/\S*?/(?:vfs/dir/[^/\s]+|overlay2/[^/\s]+/(?:merged|diff)|snapshots/\d+/fs)(?=/)"
)


def reason_matches(predicted: str, observed: str) -> bool:
    """True when the engine's error text says the predicted reason (module doc: the rules)."""
    said = _SNAPSHOT_PATH.sub("", _REF_ID.sub("ref ...", observed))
    return " ".join(predicted.split()) in " ".join(said.split())


def _printed_as_source(step: Mapping[str, Any], obs: ObservedBuild) -> bool:
    """A predicted FROM whose image BuildKit printed as a bare source vertex instead."""
    words = str(step["instruction"]).split()
    if instruction_keyword(str(step["instruction"])) != "FROM":
        return False
    image = next((w for w in words[1:] if not w.startswith("--")), None)
    return image is not None and normalize_ref(image) in {normalize_ref(s) for s in obs.sources}


def _standin_failure(
    build: str, pred_steps: Sequence[Mapping[str, Any]], obs: ObservedBuild
) -> Difference | None:
    """The ``standin`` difference when the engine's build failed in a RUN's command."""
    step = obs.failed_step
    code = command_exit_code(obs.error)
    if step is None or code is None or step.keyword != "RUN":
        return None
    key = _key(obs.engine, step.stage, step.index)
    statuses = {_key(obs.engine, str(p["stage"]), int(p["index"])): p["status"] for p in pred_steps}
    predicted = str(statuses.get(key, "success"))
    return Difference(
        build,
        "standin",
        stage=step.stage,
        index=step.index,
        instruction=step.instruction,
        predicted=predicted,
        observed=f"exit code {code}",
        detail=step.output,
    )


@dataclass(frozen=True, slots=True)
class _Pairing:
    """One build's two sides, with the facts every comparison rule below asks about."""

    name: str
    engine: str
    pred: Mapping[str, Any]
    steps: list[Mapping[str, Any]]
    obs: ObservedBuild
    pred_failed: bool
    engine_failed: bool
    standin: Difference | None

    @property
    def lenient(self) -> bool:
        """A failed build on either side: steps cut short are not differences."""
        return self.pred_failed or self.engine_failed

    def key(self, step: Mapping[str, Any]) -> Key:
        return _key(self.engine, str(step["stage"]), int(step["index"]))


def _pairing(engine: str, pred: Mapping[str, Any], obs: ObservedBuild) -> _Pairing:
    name = str(pred.get("name", obs.name))
    steps: list[Mapping[str, Any]] = list(pred.get("steps") or [])
    pred_failed = bool(pred.get("error")) or any(p["status"] == "failed" for p in steps)
    engine_failed = obs.exit_code != 0 or obs.error is not None
    standin = _standin_failure(name, steps, obs) if engine_failed and not pred_failed else None
    return _Pairing(name, engine, pred, steps, obs, pred_failed, engine_failed, standin)


def _outcome(pair: _Pairing) -> list[Difference]:
    """How the build ended: a stand-in that could not run a command, a failure on one side
    only, or (both failed) another failed step or reason."""
    if pair.standin is not None:
        return [pair.standin]
    if pair.pred_failed != pair.engine_failed:
        obs = pair.obs
        return [
            Difference(
                pair.name,
                "failure",
                predicted="a failure" if pair.pred_failed else "success",
                observed=f"failed: {obs.error}" if pair.engine_failed else "succeeded",
                detail=str(pair.pred.get("error") or ""),
            )
        ]
    return _both_failed(pair) if pair.pred_failed else []


def _where_failed(pair: _Pairing) -> tuple[str, str, Key | None, Key | None]:
    """(predicted place, observed place, their keys) of the failed step, "no step" if none."""
    p_fail = next((p for p in pair.steps if p["status"] == "failed"), None)
    o_fail = pair.obs.failed_step
    p_at = f"{p_fail['stage']} {p_fail['index']}" if p_fail else "no step"
    o_at = f"{o_fail.stage} {o_fail.index}" if o_fail else "no step"
    p_key = pair.key(p_fail) if p_fail else None
    o_key = _key(pair.engine, o_fail.stage, o_fail.index) if o_fail else None
    return p_at, o_at, p_key, o_key


def _both_failed(pair: _Pairing) -> list[Difference]:
    """Both sides failed: at the same step, and for the predicted reason?"""
    out = []
    obs = pair.obs
    p_at, o_at, p_key, o_key = _where_failed(pair)
    if p_key != o_key:
        out.append(
            Difference(
                pair.name,
                "failed-step",
                predicted=p_at,
                observed=o_at,
                detail=f"engine error: {obs.error}",
            )
        )
    reason = str(pair.pred.get("error") or "")
    by_command = command_exit_code(obs.error) is not None  # the command's, not the builder's
    if reason and obs.error and not by_command and not reason_matches(reason, obs.error):
        out.append(Difference(pair.name, "reason", predicted=reason, observed=obs.error))
    return out


def _unprinted(
    pair: _Pairing, step: Mapping[str, Any], observed: Mapping[Key, ObservedStep]
) -> list[Difference]:
    """A predicted step the engine did not print: run once as a twin, printed as a bare
    source vertex, cut short by a failure, or missing."""
    engine = pair.engine
    twin = _twin(step, pair.steps, observed, engine) if engine == "buildkit" else None
    if twin is not None:
        return _compare_pair(pair.name, engine, step, twin, pair.engine_failed, twin=True)
    if _printed_as_source(step, pair.obs) or pair.lenient:
        return []
    return [
        Difference(
            pair.name,
            "missing",
            stage=str(step["stage"]),
            index=int(step["index"]),
            instruction=str(step["instruction"]),
            predicted=str(step["status"]),
        )
    ]


def _predicted_steps(
    pair: _Pairing, observed: Mapping[Key, ObservedStep]
) -> tuple[list[Difference], set[Key]]:
    """Each predicted step against the printed one; also the keys of the printed steps that
    were accounted for."""
    diffs: list[Difference] = []
    matched: set[Key] = set()
    standin = pair.standin
    told = _key(pair.engine, str(standin.stage), int(standin.index or 0)) if standin else None
    for step in pair.steps:
        key = pair.key(step)
        found = observed.get(key)
        if standin is not None and key == told:
            matched.add(key)  # already told: the stand-in could not run it
        elif found is not None:
            matched.add(key)
            diffs += _compare_pair(pair.name, pair.engine, step, found, pair.engine_failed, False)
        else:
            diffs += _unprinted(pair, step, observed)
    return diffs, matched


def _unpredicted(pair: _Pairing, matched: set[Key]) -> list[Difference]:
    """Printed steps no prediction accounts for (after a failure, those past it don't count)."""
    obs = pair.obs
    cut = len(obs.steps)
    if obs.failed_step is not None:
        cut = obs.steps.index(obs.failed_step) + 1
    ignore_after = cut if pair.pred_failed == pair.engine_failed else 0
    out = []
    for position, step in enumerate(obs.steps):
        key = _key(pair.engine, step.stage, step.index)
        if key in matched or (pair.lenient and position >= ignore_after):
            continue
        out.append(
            Difference(
                pair.name,
                "unpredicted",
                stage=step.stage,
                index=step.index,
                instruction=step.instruction,
                observed=step.status,
            )
        )
    return out


def compare_build(engine: str, pred: Mapping[str, Any], obs: ObservedBuild) -> list[Difference]:
    """The differences within one build (see the module docstring for the rules)."""
    pair = _pairing(engine, pred, obs)
    observed = {_key(engine, s.stage, s.index): s for s in obs.steps}
    step_diffs, matched = _predicted_steps(pair, observed)
    return [*_outcome(pair), *step_diffs, *_unpredicted(pair, matched)]


def compare(predicted: Mapping[str, Any], observed: Sequence[ObservedBuild]) -> list[Difference]:
    """Every difference between a ``cachesim run`` JSON document and the observed builds."""
    engine = str(predicted.get("engine") or (observed[0].engine if observed else "buildkit"))
    builds: list[Mapping[str, Any]] = list(predicted.get("builds") or [])
    diffs: list[Difference] = []
    if len(builds) != len(observed):
        diffs.append(
            Difference(
                "(all)",
                "builds",
                predicted=f"{len(builds)} builds",
                observed=f"{len(observed)} builds",
            )
        )
    for pred, obs in zip(builds, observed, strict=False):
        pred_name = str(pred.get("name"))
        if pred_name != obs.name:
            diffs.append(
                Difference(
                    pred_name,
                    "builds",
                    predicted=repr(pred_name),
                    observed=repr(obs.name),
                    detail="build names differ",
                )
            )
        diffs += compare_build(engine, pred, obs)
    return diffs
