"""An instruction as the builder prints it in its log: on one line, the way a learner sees it.

A Dockerfile instruction may span lines (``RUN apt-get update && \\``); both builders print
it on one line, continuations joined (the ``\\`` and newline removed, the next line's
indentation kept). BuildKit also prints the keyword in capitals, substitutes the variables
that have a value in the step's scope (ENV, and build args in scope with a value; others
stay as written), and names a FROM's image in full (``docker.io/library/python:3.12``).
The classic builder prints the text as written (``Step 2/5 : RUN ...``). Seen in the logs
of Docker 20.10 and 28.5 (docs/engine-findings.md). Display only: nothing here reaches a
cache key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cachesim.core.images import image_key
from cachesim.planning.plan import Resolved

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def substituted(text: str, values: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced where NAME has a value; the rest as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values[name] if name in values else match.group(0)

    return _VARIABLE.sub(one, text)


def full_reference(ref: str) -> str:
    """``python:3.12`` -> ``docker.io/library/python:3.12``, as BuildKit names an image."""
    short = image_key(ref)
    first = short.split("/", 1)[0]
    if "/" in short and ("." in first or ":" in first or first == "localhost"):
        return short
    return f"docker.io/{short}" if "/" in short else f"docker.io/library/{short}"


def buildkit_text(step: Resolved) -> str:
    """A step as BuildKit names it: keyword in capitals, variables with values substituted."""
    keyword, _, rest = step.instruction.command.partition(" ")
    return f"{keyword.upper()} {substituted(rest, dict(step.run_env))}".rstrip()


def buildkit_from(image: str) -> str:
    return f"FROM {full_reference(image)}"


def classic_text(step: Resolved) -> str:
    """The classic builder prints the instruction as written, continuations joined."""
    return step.instruction.command
