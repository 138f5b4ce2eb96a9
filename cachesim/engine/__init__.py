"""The real-engine side of cachesim: run a scenario's builds on Docker and read what it did.

``daemon`` (the client, its errors, what the engine is) -> ``standin`` (local base images)
-> ``enginefile`` (the Dockerfile the engine is given) -> ``logparse`` (what a build
printed, as steps) -> ``runner`` (build requests in, observed builds out, cleanup) ->
``compare`` (a prediction against what the engine did).
"""

from cachesim.engine.compare import Difference, compare
from cachesim.engine.daemon import EngineError, engine_answers, server_version
from cachesim.engine.runner import run_builds
from cachesim.engine.standin import ensure_standin
from cachesim.logs.parse import ObservedBuild, ObservedStep, parse_log

__all__ = [
    "Difference",
    "EngineError",
    "ObservedBuild",
    "ObservedStep",
    "compare",
    "engine_answers",
    "ensure_standin",
    "parse_log",
    "run_builds",
    "server_version",
]
