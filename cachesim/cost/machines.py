"""The machine figures of each engine and storage driver this project measured.

A figure such as the fixed cost of a RUN or of BuildKit's export is not one number: it
differs in kind between storage drivers (vfs copies a whole file system where overlay2
stacks a directory) and in size between engines (Docker 28.5 starts a container faster
than 20.10 does). ``Machine()``'s own defaults are those of Docker 20.10 on vfs, the
engine the model was first fitted on; ``CONFIGURED`` holds, per (BuildKit release,
driver family), the figures that differ elsewhere, each fitted on the *fit* scenarios of
one accuracy run only (benchmarks/accuracy/runs/, docs/time-model.md "Machine figures by
engine and driver"), never on the held-out ones.

A scenario's declared figures and a profile's measured ones still lie over these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cachesim.core.versions import DEFAULT_BUILDKIT
from cachesim.cost.timing import Machine, machine_with

# The driver families: overlayfs (the containerd image store's snapshotter) stacks layers
# as overlay2 does, so it takes overlay2's figures until it is measured on its own.
FAMILY = {"vfs": "vfs", "overlay2": "overlay2", "overlayfs": "overlay2"}

Figures = Mapping[str, float]

CONFIGURED: Mapping[tuple[str, str], Figures] = MappingProxyType(
    {
        ("0.8", "vfs"): MappingProxyType({"export_tick_seconds": 1.0, "export_tick_lead": 0.05}),
        ("0.8", "overlay2"): MappingProxyType({}),
        ("0.25", "vfs"): MappingProxyType({}),
        ("0.25", "overlay2"): MappingProxyType({}),
    }
)


def configured(buildkit: str | None, storage: str) -> Figures:
    """The figures that differ from ``Machine()``'s on this engine and driver (empty for
    one not measured: the 20.10/vfs defaults are the best guess there is)."""
    family = FAMILY.get(storage, storage)
    return CONFIGURED.get((buildkit or DEFAULT_BUILDKIT, family), MappingProxyType({}))


def machine_of(buildkit: str | None, storage: str) -> Machine:
    """``Machine()`` with the figures measured for this engine and driver, on that driver."""
    return machine_with(Machine(storage=storage), configured(buildkit, storage))
