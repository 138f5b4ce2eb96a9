"""The plans of one scenario's builds, each made once.

A plan depends only on the Dockerfile text, the build args, the target, the builder's
automatic platform ARGs and the BuildKit release (``planning.plan.plan`` is a pure
function of them, and a ``Plan`` is a frozen value). Most builds of a scenario change
files, not the Dockerfile, so they plan the same inputs again; and replaying the
scenario's changes plans every build once more just to name its base images. ``Plans``
remembers each plan (or the refusal) by its inputs, for the length of one simulation, so
that all of those are one parse and one plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from cachesim.core.errors import BuildFailure
from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.parsing.dockerfile import Dockerfile, parse
from cachesim.planning.plan import NO_AUTOMATIC_ARGS, AutomaticArgs, Plan, plan

_Key = tuple[object, ...]
_T = TypeVar("_T")


@dataclass(slots=True)
class Plans:
    """Parses and plans made so far, by their inputs (a failure is remembered too, so a
    refused Dockerfile is refused the same way every time without being read again)."""

    parsed: dict[tuple[str, str], Dockerfile | BuildFailure] = field(default_factory=dict)
    planned: dict[_Key, Plan | BuildFailure] = field(default_factory=dict)

    def plan(
        self,
        dockerfile: str,
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
        automatic: AutomaticArgs = NO_AUTOMATIC_ARGS,
        version: str = DEFAULT_BUILDKIT,
    ) -> Plan:
        """``planning.plan.plan`` for these inputs, made once."""
        args = dict(build_args or {})
        key: _Key = (
            dockerfile,
            tuple(sorted(args.items())),
            target,
            tuple(sorted(automatic.values.items())),
            automatic.bare_global_hides,
            version,
        )
        if key not in self.planned:
            try:
                self.planned[key] = plan(self._parse(dockerfile, version), args, target, automatic)
            except BuildFailure as failure:
                self.planned[key] = failure
        return _value(self.planned[key])

    def _parse(self, dockerfile: str, version: str) -> Dockerfile:
        """The Dockerfile as this BuildKit release's frontend reads it, read once."""
        key = (dockerfile, version)
        if key not in self.parsed:
            try:
                self.parsed[key] = parse(dockerfile, version)
            except BuildFailure as failure:
                self.parsed[key] = failure
        return _value(self.parsed[key])


def _value(found: _T | BuildFailure) -> _T:
    """A remembered value, or its remembered refusal raised again."""
    if isinstance(found, BuildFailure):
        raise BuildFailure(found.reason, found.line)
    return found
