"""How each engine release words a failure: the planner's text (BuildKit v0.8's) in newer words.

The planner and the parser word every failure the way Docker 20.10 (BuildKit v0.8) prints
it. Docker 28.5 (BuildKit v0.25, and its daemon's parser for the classic builder) prints
some of them differently; the rules objects pass each reason through ``worded_for`` with
their ``version``, so a predicted failure reads as that engine says it. Observed on 28.5.2
(tests/engine_logs/buildkit28-*.log, legacy28-*.log; docs/engine-findings.md, section 22):

- BuildKit's missing COPY source: ``failed to compute cache key: failed to calculate
  checksum of ref ...: "/x": not found`` (the ref id differs in every build, so the
  reason says ``...``; compare.py reads the engine's id as ``...`` too);
- BuildKit's unknown target: ``target stage "x" could not be found`` (quoted).

- the classic builder's unknown target: 28.5's daemon says ``target stage "x" could not
  be found`` as BuildKit does (20.10: ``failed to reach build target x in Dockerfile``);
  its other failures read as on 20.10 (``legacy28-*.log``).

Parse errors (``dockerfile parse error on line N: ...`` on 28.5) are worded by the parser's
dialect of each release (cachesim/parsing/dockerfile.py), where they are raised.
"""

from __future__ import annotations

import re

# Rewrites per (builder, release), in order, each on the reason as the planner words it.
_NEWER_BUILDKIT = (
    (
        re.compile(r'^failed to compute cache key: "(.+)" not found: not found$'),
        r'failed to compute cache key: failed to calculate checksum of ref ...: "\1": not found',
    ),
    (
        re.compile(r"^target stage (.+) could not be found$"),
        r'target stage "\1" could not be found',
    ),
)

_NEWER_CLASSIC = (
    (
        re.compile(r"^failed to reach build target (.+) in Dockerfile$"),
        r'target stage "\1" could not be found',
    ),
)

_WORDING: dict[tuple[str, str], tuple[tuple[re.Pattern[str], str], ...]] = {
    ("buildkit", "0.25"): _NEWER_BUILDKIT,
    ("legacy", "0.25"): _NEWER_CLASSIC,
}


def worded_for(reason: str, builder: str, version: str) -> str:
    """``reason`` as ``builder`` (buildkit|legacy) of that release says it.

    For the classic builder ``reason`` is already in its 20.10 words (``classic_wording``).
    """
    for pattern, replacement in _WORDING.get((builder, version), ()):
        reason = pattern.sub(replacement, reason)
    return reason
