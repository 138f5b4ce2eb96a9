"""The builders cachesim knows, by the name a scenario gives them (``builders:``/``engine:``).

The names are the scenario format's own values: ``buildkit`` and ``legacy`` (the classic
builder, ``DOCKER_BUILDKIT=0``). Everything that differs between builders is reached through
this registry, so a new builder is one entry here, not an edit in every module.
"""

from __future__ import annotations

NAMES: tuple[str, ...] = ("buildkit", "legacy")
