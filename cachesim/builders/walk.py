"""What a builder's rules read of the build in progress (the simulator's walk provides it).

The rules turn one planned step into its definition; for that they need the files earlier
stages ended with, the build's request (images, downloads, declared RUNs), its context and
the results so far. These protocols name exactly that, so the builders layer does not
import the simulation layer that drives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from cachesim.builders.fs import FileSystem
from cachesim.builders.inputs import BuildContext
from cachesim.context.workspace import BuildRequest
from cachesim.core.results import StepResult
from cachesim.planning.plan import Plan


class StageEnd(Protocol):
    """A finished stage: the files it ended with (what `COPY --from` and mounts read)."""

    @property
    def fs(self) -> FileSystem: ...


class RulesFacts(Protocol):
    """What a definition reads of the builder's rules."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def build_network(self) -> str: ...


class Walk(Protocol):
    """One build's walk, as the rules see it while they define a step."""

    @property
    def plan(self) -> Plan: ...

    @property
    def request(self) -> BuildRequest: ...

    @property
    def context(self) -> BuildContext: ...

    @property
    def rules(self) -> RulesFacts: ...

    @property
    def ends(self) -> Mapping[int, StageEnd]: ...

    @property
    def results(self) -> Sequence[StepResult]: ...
