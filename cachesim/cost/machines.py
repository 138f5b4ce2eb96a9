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

import functools
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
        # Docker 20.10.24 (BuildKit 0.8) on vfs: fitted on run D's 29 fit scenarios
        ("0.8", "vfs"): MappingProxyType(
            {
                "run_seconds": 0.106,
                "copy_seconds": 0.0361,
                "build_seconds": 0.0735,
                "cold_file_ms": 0.606,
                "file_ms": 0.068,
                "snapshot_file_ms": 0.012,
                "disk_mb_s": 1020.0,
                "memory_mb_s": 3460.0,
                "tar_mb_s": 425.0,
                "export_mb_s": 425.0,
                "commit_seconds": 0.36,
                "commit_file_ms": 0.144,
            }
        ),
        # Docker 20.10.24 (BuildKit 0.8) on overlay2: fitted on run F's fit scenarios
        ("0.8", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.0437,
                "copy_seconds": 0.0125,
                "build_seconds": 0.0187,
                "file_ms": 0.0025,
                "memory_mb_s": 350.0,
                "tar_mb_s": 208.0,
                "export_seconds": 0.0788,
                "export_mb_s": 175.0,
                "export_floor_seconds": 0.113,
                "commit_seconds": 0.18,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on vfs: fitted on run G's fit scenarios
        ("0.25", "vfs"): MappingProxyType(
            {
                "run_seconds": 0.106,
                "copy_seconds": 0.0177,
                "build_seconds": 0.21,
                "cold_file_ms": 2.45,
                "file_ms": 0.02,
                "snapshot_file_ms": 0.0204,
                "disk_mb_s": 13400.0,
                "memory_mb_s": 2020.0,
                "tar_mb_s": 22400.0,
                "export_seconds": 0.383,
                "export_mb_s": 180.0,
                "export_floor_seconds": 0.765,
                "commit_seconds": 0.21,
                "commit_file_ms": 0.144,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on overlay2: fitted on run E's fit scenarios
        ("0.25", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.0312,
                "copy_seconds": 0.0125,
                "build_seconds": 0.0319,
                "file_ms": 0.0035,
                "memory_mb_s": 500.0,
                "tar_mb_s": 2800.0,
                "export_seconds": 0.158,
                "export_mb_s": 425.0,
                "export_floor_seconds": 0.315,
                "commit_seconds": 0.0375,
            }
        ),
    }
)


def configured(buildkit: str | None, storage: str) -> Figures:
    """The figures that differ from ``Machine()``'s on this engine and driver (empty for
    one not measured: the 20.10/vfs defaults are the best guess there is)."""
    family = FAMILY.get(storage, storage)
    return CONFIGURED.get((buildkit or DEFAULT_BUILDKIT, family), MappingProxyType({}))


@functools.cache
def machine_of(buildkit: str | None, storage: str) -> Machine:
    """``Machine()`` with the figures measured for this engine and driver, on that driver
    (made once per pair: every build asks, and a ``Machine`` is frozen)."""
    return machine_with(Machine(storage=storage), configured(buildkit, storage))
