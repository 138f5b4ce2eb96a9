"""Stand-in base images: a busybox root filesystem that differs per ref, version and run."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from cachesim.engine.daemon import EngineError, run_docker
from cachesim.engine.standin import (
    APPLETS,
    STUBS,
    current_marker,
    ensure_standin,
    standin_marker,
    standin_tar,
)

DOCKER = "/usr/bin/docker"


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_rootfs_has_applets_stubs_users_and_marker():
    """The tar holds busybox, its applet links, stub tools, users and the marker file."""
    data = standin_tar("python:3.12-slim", 2, "abc")
    files = members(data)
    for applet in ("sh", "ls", "sha256sum", "yes", "xargs"):
        assert files[f"bin/{applet}"].issym() and files[f"bin/{applet}"].linkname == "busybox"
    assert set(APPLETS) >= {"sh", "cat", "tar", "gzip", "find", "printf", "chown", "id"}
    for stub in STUBS:
        assert files[f"usr/bin/{stub}"].mode == 0o755
    assert files["tmp"].mode == 0o1777
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()  # type: ignore[union-attr]
        marker = tar.extractfile("etc/cachesim-standin").read().decode()  # type: ignore[union-attr]
    assert "app:x:1000:1000:" in passwd and passwd.startswith("root:x:0:0:")
    assert "nobody:x:65534" in passwd
    assert marker == "ref=python:3.12-slim version=2 nonce=abc\n"


def test_rootfs_has_the_modelled_tools_and_the_image_users():
    """Modelled tools are scripts using the library; node:* images have a node user."""
    data = standin_tar("node:18-alpine", 0, "n")
    files = members(data)
    for tool in ("go", "cargo", "npm", "pnpm", "yarn", "uv", "poetry", "addgroup", "git"):
        assert files[f"usr/bin/{tool}"].mode == 0o755
    assert "usr/lib/cachesim/lib.sh" in files and files["bin/bash"].isfile()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()  # type: ignore[union-attr]
        go = tar.extractfile("usr/bin/go").read().decode()  # type: ignore[union-attr]
    assert "node:x:1000:1000::/home/node:/bin/sh" in passwd
    assert "www-data:x:33:33:" in passwd
    assert ". /usr/lib/cachesim/lib.sh" in go
    python = standin_tar("python:3.12-slim", 0, "n")
    with tarfile.open(fileobj=io.BytesIO(python)) as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()  # type: ignore[union-attr]
    assert "node:" not in passwd


def test_rootfs_is_deterministic_and_differs_by_version_and_nonce():
    """Same inputs, same bytes; another version or run, other bytes."""
    assert standin_tar("a:1", 0, "n") == standin_tar("a:1", 0, "n")
    assert standin_tar("a:1", 0, "n") != standin_tar("a:1", 1, "n")
    assert standin_tar("a:1", 0, "n") != standin_tar("a:1", 0, "m")


def test_missing_busybox_is_a_clear_error(tmp_path: Path):
    """Without busybox-static the error says what to install."""
    with pytest.raises(EngineError, match="apt-get install -y busybox-static"):
        standin_tar("a:1", 0, "n", busybox=tmp_path / "busybox")


def test_scratch_needs_no_import():
    """`scratch` is not an image: nothing is imported, no daemon is needed."""
    ensure_standin("scratch", 3, "n", docker="/nonexistent/docker")


@pytest.mark.engine
def test_import_runs_and_reimports_only_on_change(docker_engine):
    """The stand-in runs sh and stubs; a new version gets a new image id."""
    ref = "cachesim-test-standin:1"
    created: list[str] = []
    try:
        ensure_standin(ref, 0, "t1", docker=DOCKER)
        first = run_docker(DOCKER, "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
        created.append(first)
        ensure_standin(ref, 0, "t1", docker=DOCKER)  # no change: no new import
        same = run_docker(DOCKER, "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
        assert first == same
        assert current_marker(ref, docker=DOCKER) == standin_marker(ref, 0, "t1")
        out = run_docker(
            DOCKER,
            "run",
            "--rm",
            "--network=none",
            "--user",
            "app",
            ref,
            "sh",
            "-c",
            "cat /etc/cachesim-standin; pip install x; id -un",
            timeout=60,
        )
        assert out.stdout.splitlines() == [
            standin_marker(ref, 0, "t1"),
            "[stand-in] pip install x",
            "app",
        ]
        ensure_standin(ref, 1, "t1", docker=DOCKER)
        second = run_docker(DOCKER, "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
        assert second != first
    finally:
        run_docker(DOCKER, "rmi", "-f", ref, *created, check=False)
