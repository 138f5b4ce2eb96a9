"""The machine figures of each engine and storage driver this project measured.

A figure such as the fixed cost of a RUN or of BuildKit's export is not one number: it
differs in kind between storage drivers (vfs copies a whole file system where overlay2
stacks a directory) and in size between engines (Docker 28.5 starts a container faster
than 20.10 does). ``Machine()``'s own defaults are those of Docker 20.10 on vfs, the
engine the model was first fitted on; ``CONFIGURED`` holds, per (BuildKit release,
driver family), the figures that differ elsewhere, each fitted on the 51 round-1 scenarios of
one configuration's accuracy runs (benchmarks/accuracy/runs/, docs/time-model.md "Machine
figures by engine and driver"), never on round 2's, the held-out set they are judged on.

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
        # Docker 20.10.24 (BuildKit 0.8) on vfs: fitted on run D's 51 round-1 scenarios (its fit and
        # held-out files: benchmarks/accuracy/runs/D-*.json); judged on round 2
        ("0.8", "vfs"): MappingProxyType(
            {
                "run_seconds": 0.106,
                "copy_seconds": 0.010613,
                "build_seconds": 0.013276,
                "cold_file_ms": 1.74528,
                "file_ms": 0.04046,
                "snapshot_file_ms": 0.001275,
                "disk_mb_s": 3998.4,
                "memory_mb_s": 16940.16,
                "tar_mb_s": 104.125,
                "export_mb_s": 212.5,
                "commit_seconds": 0.612,
                "commit_file_ms": 0.1224,
                "export_parent_mb_s": 612.0,
                "commit_mb_s": 510.0,
                "mount_hit_saving": 1.344,
                "export_seconds": 0.3825,
                "diff_file_ms": 0.0504,
            }
        ),
        # Docker 20.10.24 (BuildKit 0.8) on overlay2: fitted on F's 51 round-1 scenarios (fit and
        # held-out files: benchmarks/accuracy/runs/F-*.json); judged on round 2
        ("0.8", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.037888,
                "copy_seconds": 0.007676,
                "build_seconds": 0.01122,
                "file_ms": 0.006,
                "memory_mb_s": 595.0,
                "tar_mb_s": 208.0,
                "export_seconds": 0.0394,
                "export_mb_s": 175.0,
                "export_floor_seconds": 0.1356,
                "commit_seconds": 0.18,
                "mount_hit_saving": 0.96,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on vfs: fitted on run G's 51 round-1 scenarios (its fit and
        # held-out files: benchmarks/accuracy/runs/G-*.json); judged on round 2
        ("0.25", "vfs"): MappingProxyType(
            {
                "run_seconds": 0.0901,
                "copy_seconds": 0.036108,
                "build_seconds": 0.21,
                "cold_file_ms": 1.45775,
                "file_ms": 0.007,
                "snapshot_file_ms": 0.009996,
                "disk_mb_s": 214400.0,
                "memory_mb_s": 1010.0,
                "tar_mb_s": 106624.0,
                "export_seconds": 0.32555,
                "export_mb_s": 302.4,
                "export_floor_seconds": 0.765,
                "commit_seconds": 0.21,
                "commit_file_ms": 0.144,
                "diff_file_ms": 0.06048,
                "mount_hit_saving": 0.5712,
                "export_parent_mb_s": 1000.0,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on overlay2: fitted on run E's 51 round-1 scenarios (fit and
        # held-out files: benchmarks/accuracy/runs/E-*.json); judged on round 2
        ("0.25", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.0312,
                "copy_seconds": 0.025,
                "build_seconds": 0.0319,
                "file_ms": 0.002975,
                "memory_mb_s": 500.0,
                "tar_mb_s": 840.0,
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
