"""The builders cachesim knows, by the name a scenario gives them (``builders:``/``engine:``).

The names are the scenario format's own values: ``buildkit`` and ``legacy`` (the classic
builder, ``DOCKER_BUILDKIT=0``). Everything that differs between builders is reached through
this registry and the ``Builder`` protocol (protocol.py), so a new builder is one entry here,
not an edit in every module: ``register(name, factory)`` where ``factory(buildkit_version)``
returns the builder's rules as the engine carrying that BuildKit release applies them.
This is the only module that names builders; a test keeps it so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cachesim.builders import buildkit, classic
from cachesim.builders.protocol import Builder
from cachesim.core.versions import DEFAULT_BUILDKIT

BuilderFactory = Callable[[str], Builder]

NAMES: tuple[str, ...] = ("buildkit", "legacy")  # the scenario format's values
DEFAULT: str = NAMES[0]

_FACTORIES: dict[str, BuilderFactory] = {
    "buildkit": lambda version: replace(buildkit.RULES, version=version),
    "legacy": lambda version: replace(classic.RULES, version=version),
}


def register(name: str, factory: BuilderFactory) -> None:
    """Add (or replace) the builder called ``name``; ``factory(version)`` makes its rules."""
    _FACTORIES[name] = factory


def unregister(name: str) -> None:
    """Forget a builder ``register`` added (the built-in ones stay)."""
    if name not in NAMES:
        _FACTORIES.pop(name, None)


def names() -> tuple[str, ...]:
    """Every registered builder's name, the scenario format's first."""
    return tuple(_FACTORIES)


def builder(name: str, buildkit_version: str = DEFAULT_BUILDKIT) -> Builder:
    """The rules of builder ``name`` as the engine carrying that BuildKit release applies them.

    Raises ``KeyError`` naming the known builders for an unknown name (scenario loading
    refuses unknown names first, with the file and line).
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise KeyError(f"unknown builder {name!r} (one of {', '.join(_FACTORIES)})")
    return factory(buildkit_version)
