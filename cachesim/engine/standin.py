"""Local stand-ins for the base images a scenario names.

No registry is reachable, and a build must never try one. So every image a Dockerfile
names (``FROM python:3.12-slim``, ``COPY --from=alpine``) is imported locally before the
build: a busybox-static root filesystem with applet links, stub package managers that
print their arguments and succeed, and a few users. The file ``/etc/cachesim-standin``
holds the ref, the version and a per-run nonce, so that

- a new *version* (a scenario's ``base_image`` change) gets a new digest, as an upstream
  update does, and
- a new *run* gets a new digest too, so a run never reuses cache made by another run.

The image carries the same text in the label ``cachesim.standin``; ``ensure_standin``
reads it to skip an import that would change nothing.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from cachesim.engine import standin_tools
from cachesim.engine.daemon import DEFAULT_DOCKER, EngineError, run_docker

BUSYBOX = Path("/bin/busybox")
LABEL = "cachesim.standin"
SCRATCH = "scratch"

APPLETS = [
    "sh",
    "ls",
    "cat",
    "echo",
    "sleep",
    "dd",
    "mkdir",
    "touch",
    "cp",
    "mv",
    "rm",
    "true",
    "false",
    "test",
    "[",
    "env",
    "head",
    "tail",
    "seq",
    "sed",
    "grep",
    "wc",
    "tar",
    "gzip",
    "gunzip",
    "date",
    "id",
    "whoami",
    "chmod",
    "chown",
    "ln",
    "find",
    "xargs",
    "printf",
    "sha256sum",
    "md5sum",
    "yes",
    "pwd",
    "basename",
    "dirname",
    "uname",
    "hostname",
    "stat",
    "sort",
    "uniq",
    "cut",
    "tr",
    "tee",
    "awk",
    "which",
    "readlink",
    "realpath",
    "du",
    "df",
    "ps",
    "kill",
    "mktemp",
    "diff",
    "cmp",
    "expr",
    "sync",
    "ash",
    "base64",
    "chgrp",
    "egrep",
    "fgrep",
    "getopt",
    "groups",
    "less",
    "more",
    "nproc",
    "od",
    "paste",
    "patch",
    "rev",
    "rmdir",
    "sha1sum",
    "sha512sum",
    "shuf",
    "strings",
    "su",
    "tac",
    "timeout",
    "truncate",
    "unzip",
    "xz",
    "unxz",
    "xzcat",
    "zcat",
    "bzip2",
    "bunzip2",
    "hexdump",
    "xxd",
    "nl",
    "fold",
    "setsid",
    "run-parts",
    "mkfifo",
    "unlink",
    "cpio",
    "dos2unix",
    "bc",
    "vi",
]

# Tools that print their arguments and succeed; the modelled tools (standin_tools.TOOLS)
# are scripts that read and write what the real ones do.
STUBS = [
    "node",
    "npx",
    "corepack",
    "apt-get",
    "apt",
    "apk",
    "yum",
    "dnf",
    "microdnf",
    "dpkg",
    "update-ca-certificates",
    "ldconfig",
    "locale-gen",
    "update-alternatives",
    "usermod",
    "groupmod",
    "pipx",
    "pipenv",
    "gem",
    "ruby",
    "rake",
    "rails",
    "php",
    "pecl",
    "docker-php-ext-install",
    "docker-php-ext-configure",
    "docker-php-ext-enable",
    "java",
    "javac",
    "jar",
    "rustup",
    "rustc",
    "g++",
    "clang",
    "cmake",
    "upx",
    "tsc",
]


# Stubs print what they were asked to do, so logs show the "work", and succeed.
STUB_TEXT = '#!/bin/sh\necho "[stub] $(basename "$0") $*"\nexit 0\n'
STUB_SCRIPT = STUB_TEXT.encode()
TOOLS = {**{name: STUB_TEXT for name in STUBS}, **standin_tools.TOOLS}

PASSWD = (
    b"root:x:0:0:root:/root:/bin/sh\n"
    b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    b"bin:x:2:2:bin:/bin:/bin/false\n"
    b"www-data:x:33:33:www-data:/var/www:/bin/false\n"
    b"app:x:1000:1000:app:/home/app:/bin/sh\n"
    b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = (
    b"root:x:0:\ndaemon:x:1:\nbin:x:2:\nwww-data:x:33:\nstaff:x:50:\nusers:x:100:\n"
    b"app:x:1000:\nnobody:x:65534:\nnogroup:x:65534:\n"
)


def image_user(ref: str) -> tuple[str, int] | None:
    """The user an official image of this name has (``node`` in node:*), if any."""
    name = ref.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return standin_tools.IMAGE_USERS.get(name)


PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMPORT_TIMEOUT = 120.0


def standin_marker(ref: str, version: int, nonce: str) -> str:
    """The text that identifies one stand-in (file content and label value)."""
    return f"ref={ref} version={version} nonce={nonce}"


def standin_tar(ref: str, version: int, nonce: str, busybox: Path = BUSYBOX) -> bytes:
    """The root filesystem of a stand-in, as an uncompressed tar archive.

    Built in memory with fixed owners and times, so only ref, version and nonce (and the
    busybox binary) decide the digest.
    """
    if not busybox.is_file():
        raise EngineError(
            f"stand-in images need a static busybox at {busybox} "
            "(install it with `apt-get install -y busybox-static`)"
        )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = mode
            info.mtime = 1_700_000_000
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if kind == tarfile.SYMTYPE:
                info.linkname = link
                tar.addfile(info)
            elif kind == tarfile.DIRTYPE:
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        for d in (
            "usr/lib",
            "usr/lib/cachesim",
            "bin",
            "sbin",
            "etc",
            "usr",
            "usr/bin",
            "usr/sbin",
            "usr/local",
            "usr/local/bin",
            "root",
            "home",
            "var",
            "dev",
            "proc",
            "sys",
        ):
            add(d, tarfile.DIRTYPE, 0o700 if d == "root" else 0o755)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        add("bin/busybox", tarfile.REGTYPE, 0o755, busybox.read_bytes())
        for applet in APPLETS:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        # Every text file carries the version, so a "new upstream image" changes all of them,
        # as cachesim assumes of an image update (only the busybox binary stays the same).
        marker = standin_marker(ref, version, nonce) + "\n"
        stamp = f"# {marker}".encode()
        for tool, text in sorted(TOOLS.items()):
            add(f"usr/bin/{tool}", tarfile.REGTYPE, 0o755, text.encode() + stamp)
        add("usr/lib/cachesim/lib.sh", tarfile.REGTYPE, 0o644, standin_tools.LIB.encode())
        add("bin/bash", tarfile.REGTYPE, 0o755, standin_tools.BASH.encode())
        tag = f"cachesim{version}x{nonce}"[:32]
        users, groups = PASSWD, GROUP
        own = image_user(ref)
        if own is not None:  # listed before `app`, so that `id` names it, as in the image
            name, uid = own
            at = users.index(b"app:")
            users = users[:at] + f"{name}:x:{uid}:{uid}::/home/{name}:/bin/sh\n".encode()
            users += PASSWD[at:]
            groups += f"{name}:x:{uid}:\n".encode()
        add(
            "etc/passwd",
            tarfile.REGTYPE,
            0o644,
            users + f"{tag}:x:4242:4242::/nonexistent:/bin/false\n".encode(),
        )
        add("etc/group", tarfile.REGTYPE, 0o644, groups + f"{tag}:x:4242:\n".encode())
        add("etc/cachesim-standin", tarfile.REGTYPE, 0o644, marker.encode())
        # The home folder of `app` belongs to it, as in real images with a non-root user.
        for home, uid in [("app", 1000)] + ([own] if own is not None else []):
            info = tarfile.TarInfo(f"home/{home}")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            info.uid = info.gid = uid
            tar.addfile(info)
    return buf.getvalue()


def current_marker(ref: str, *, docker: str = DEFAULT_DOCKER) -> str | None:
    """The ``cachesim.standin`` label of the local image ``ref``; None if there is none."""
    template = '{{ index .Config.Labels "' + LABEL + '" }}'
    proc = run_docker(docker, "image", "inspect", "--format", template, ref, check=False)
    if proc.returncode != 0:
        return None
    value = proc.stdout.strip()
    return value if value and value != "<no value>" else None


def image_exists(ref: str, *, docker: str = DEFAULT_DOCKER) -> bool:
    """True when the daemon has ``ref`` locally (so a build will not contact a registry)."""
    if ref == SCRATCH:
        return True
    proc = run_docker(docker, "image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return proc.returncode == 0


def ensure_standin(ref: str, version: int, nonce: str, *, docker: str = DEFAULT_DOCKER) -> None:
    """Make the local image ``ref`` the stand-in for (ref, version, nonce).

    Imports it unless the image under that tag already is that stand-in. ``scratch`` is
    not an image, so there is nothing to import. The previous image of the tag, if any,
    stays on the daemon untagged (the runner removes what it created at the end).
    """
    if ref == SCRATCH:
        return
    marker = standin_marker(ref, version, nonce)
    if current_marker(ref, docker=docker) == marker:
        return
    data = standin_tar(ref, version, nonce)
    changes = ["--change", f'LABEL {LABEL}="{marker}"', "--change", f"ENV PATH={PATH_ENV}"]
    cmd = [docker, "import", *changes, "--message", f"cachesim stand-in for {ref}", "-", ref]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=IMPORT_TIMEOUT)
    except FileNotFoundError as e:
        raise EngineError(f"the docker client {docker} is not installed") from e
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"importing {ref} did not finish within {IMPORT_TIMEOUT}s") from e
    if proc.returncode != 0:
        raise EngineError(
            f"could not import the stand-in image {ref}: "
            + proc.stderr.decode(errors="replace").strip()
        )
    if current_marker(ref, docker=docker) != marker:
        raise EngineError(f"imported the stand-in image {ref} but its label does not match")
