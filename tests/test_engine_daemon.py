"""What verify says about the engine: versions, image store, network (from `docker info`)."""

from cachesim.engine.daemon import EngineFacts, image_store_of


def test_the_containerd_snapshotter_is_the_containerd_image_store():
    """28.5 with --feature containerd-snapshotter=true reports this DriverStatus (observed)."""
    assert image_store_of([["driver-type", "io.containerd.snapshotter.v1"]]) == "containerd"
    assert image_store_of(None) == "graphdriver"  # vfs on 20.10 and 28.5: `null`
    assert image_store_of([["Backing Filesystem", "extfs"]]) == "graphdriver"


def test_facts_read_as_one_line():
    """Docker and BuildKit versions, the store with its driver, and the build network."""
    facts = EngineFacts("28.5.2+dfsg4", "0.25", "containerd", "overlayfs")
    assert facts.describe() == (
        "Docker 28.5.2+dfsg4 (BuildKit 0.25), containerd image store (overlayfs), "
        "builds with --network=none"
    )
