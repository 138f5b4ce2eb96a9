"""Which BuildKit a Docker server carries: the table in cachesim/core/versions.py.

The pairs come from moby's vendor.mod at each Docker tag (shared/engines/README.md):
Docker 20.10.24 vendors BuildKit v0.8.4-0.20221020190723, Docker 28.5.2 v0.25.2.
"""

from cachesim.core.versions import buildkit_of_docker


def test_debian_server_versions_map_to_their_buildkit():
    """Debian's version strings (with +dfsg suffixes) name the BuildKit they vendor."""
    assert buildkit_of_docker("20.10.24+dfsg1") == "0.8"
    assert buildkit_of_docker("28.5.2+dfsg4") == "0.25"


def test_an_unknown_release_takes_the_nearest_known_one_below():
    """A Docker 27 is read with 20.10's rules, not with rules it may not have yet."""
    assert buildkit_of_docker("27.3.1") == "0.8"
    assert buildkit_of_docker("29.0.0") == "0.25"
