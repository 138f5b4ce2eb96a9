#!/bin/sh
# Install everything cachesim and its tests need on a Debian/Ubuntu machine, as root:
# Docker 20.10 (Debian's docker.io) and busybox-static for the real-engine checks, Docker 28.5
# (scripts/modern-engine.sh install) and the Python package.
set -eu
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
    if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
    fi
else
    echo "warning: no apt-get: install a Docker engine and busybox-static yourself" >&2
fi
# The modern engine (Docker 28.5, BuildKit v0.25), unpacked from Debian's archive into a cache
# folder; nothing system-wide. Fast when it is already there.
if command -v apt-get >/dev/null 2>&1; then
    bash scripts/modern-engine.sh install
fi
python3 -m pip install -q -e '.[dev]'
echo "cachesim installed: $(command -v cachesim)"
