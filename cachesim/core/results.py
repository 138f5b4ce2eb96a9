"""What a simulation predicts: one ``StepResult`` a step, one ``BuildResult`` a build.

These are the values every report, plot and comparison reads. Their JSON shape is the
one ``shared/spec/scenario-format.md`` defines (``to_json``); extra fields are only added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["cached", "built", "failed"]


@dataclass(frozen=True, slots=True)
class StepResult:
    stage: str  # the stage name, or its index as a string
    index: int  # the k of the engine's k/n
    total: int  # the n
    line: int  # 1-based Dockerfile line where the instruction starts
    instruction: str  # its first line as written
    keyword: str  # RUN, COPY, ...
    status: Status
    reason: str = ""  # why it was built or failed, for a learner
    key: str = ""  # the simulated cache key
    is_from: bool = False
    # facts for the cost model: what the step reads and writes
    copied_files: int = 0
    copied_bytes: int = 0
    seconds: float | None = None
    seconds_source: str | None = None
    layer_bytes: int | None = None
    pulled: bool = False  # a FROM whose image is downloaded this build (cost model)
    shown: str = ""  # the instruction as the builder prints it, on one line (text report)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "index": self.index,
            "total": self.total,
            "line": self.line,
            "instruction": self.instruction,
            "status": self.status,
            "reason": self.reason,
        }
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 3)
        if self.seconds_source is not None:
            out["seconds_source"] = self.seconds_source
        if self.layer_bytes is not None:
            out["layer_bytes"] = self.layer_bytes
        if self.pulled:
            out["pulled"] = True
        if self.shown:
            out["shown"] = self.shown
        return out


@dataclass(frozen=True, slots=True)
class BuildResult:
    name: str
    steps: tuple[StepResult, ...]
    error: str | None = None
    error_line: int | None = None
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def counts(self) -> dict[str, int]:
        out = {"cached": 0, "built": 0, "failed": 0}
        for step in self.steps:
            out[step.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 3)
        out["steps"] = [s.to_json() for s in self.steps]
        if self.error is not None:
            out["error"] = self.error
            if self.error_line is not None:
                out["error_line"] = self.error_line
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class SimulationResult:
    scenario: str
    engine: str
    builds: tuple[BuildResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "engine": self.engine,
            "builds": [b.to_json() for b in self.builds],
        }
