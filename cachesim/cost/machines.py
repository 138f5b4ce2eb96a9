"""The machine figures of each engine and storage driver this project measured.

A figure such as the fixed cost of a RUN or of BuildKit's export is not one number: it
differs in kind between storage drivers (vfs copies a whole file system where overlay2
stacks a directory) and in size between engines (Docker 28.5 starts a container faster
than 20.10 does). ``Machine()``'s own defaults are those of Docker 20.10 on vfs, the
engine the model was first fitted on; ``CONFIGURED`` holds, per (BuildKit release,
driver family), the figures that differ elsewhere, each fitted on the 61 round-1 and
round-2 scenarios of one configuration's accuracy runs (benchmarks/accuracy/runs/,
docs/time-model.md "Machine figures by engine and driver"), never on round 3's, the
held-out set they are judged on.

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
        # Docker 20.10.24 (BuildKit 0.8) on vfs: fitted on the 61 round-1 and round-2
        # scenarios of runs D, H (benchmarks/accuracy/runs/); judged on round 3
        ("0.8", "vfs"): MappingProxyType(
            {
                "export_floor_seconds": 0.0,
                "export_tick_seconds": 1.0,
                "export_tick_lead": 0.07,
                "run_seconds": 0.1272,
                "copy_seconds": 0.002653,
                "build_seconds": 0.003319,
                "cold_file_ms": 1.74528,
                "file_ms": 0.04046,
                "snapshot_file_ms": 0.001275,
                "disk_mb_s": 5597.76,
                "memory_mb_s": 20328.192,
                "tar_mb_s": 104.125,
                "export_mb_s": 255.0,
                "commit_seconds": 0.612,
                "commit_file_ms": 0.1224,
                "export_parent_mb_s": 734.4,
                "commit_mb_s": 520.2,
                "mount_hit_saving": 1.344,
                "export_seconds": 0.19125,
                "diff_file_ms": 0.06048,
            }
        ),
        # Docker 20.10.24 (BuildKit 0.8) on overlay2: fitted on the 61 round-1 and round-2
        # scenarios of runs F, J (benchmarks/accuracy/runs/); judged on round 3
        ("0.8", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.045466,
                "copy_seconds": 0.005373,
                "build_seconds": 0.007854,
                "file_ms": 0.006,
                "memory_mb_s": 505.75,
                "tar_mb_s": 208.0,
                "export_seconds": 0.0394,
                "export_mb_s": 175.0,
                "export_floor_seconds": 0.1356,
                "commit_seconds": 0.18,
                "mount_hit_saving": 0.96,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on vfs: fitted on the 61 round-1 and round-2
        # scenarios of runs G, K (benchmarks/accuracy/runs/); judged on round 3
        ("0.25", "vfs"): MappingProxyType(
            {
                "export_tick_seconds": 1.0,
                "export_tick_lead": 0.2,
                "run_seconds": 0.091136,
                "copy_seconds": 0.120313,
                "build_seconds": 0.151725,
                "cold_file_ms": 1.769418,
                "file_ms": 0.011662,
                "snapshot_file_ms": 0.010196,
                "disk_mb_s": 720384.0,
                "memory_mb_s": 2036.16,
                "tar_mb_s": 298547.2,
                "export_seconds": 0.162775,
                "export_mb_s": 362.88,
                "export_floor_seconds": 0.0,
                "commit_seconds": 0.72576,
                "commit_file_ms": 0.08568,
                "diff_file_ms": 0.06048,
                "mount_hit_saving": 1.1424,
                "export_parent_mb_s": 425.0,
                "commit_mb_s": 4800.0,
            }
        ),
        # Docker 28.5.2 (BuildKit 0.25) on overlay2: fitted on the 61 round-1 and round-2
        # scenarios of runs E, I (benchmarks/accuracy/runs/); judged on round 3
        ("0.25", "overlay2"): MappingProxyType(
            {
                "run_seconds": 0.0312,
                "copy_seconds": 0.02125,
                "build_seconds": 0.0319,
                "file_ms": 0.002083,
                "memory_mb_s": 350.0,
                "tar_mb_s": 588.0,
                "export_seconds": 0.158,
                "export_mb_s": 425.0,
                "export_floor_seconds": 0.315,
                "commit_seconds": 0.0375,
                "context_mb_s": 18.75,
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
