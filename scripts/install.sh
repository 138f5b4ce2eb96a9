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
# Python: into the active venv or conda environment; else, where the system Python is
# "externally managed" (PEP 668: Debian 12, Ubuntu 24.04 refuse `pip install` outside a
# venv), into a new venv in .venv (Debian's python3-venv provides the venv module).
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import os, sys; sys.exit(sys.prefix == sys.base_prefix and "CONDA_PREFIX" not in os.environ)' \
    && [ -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
    if [ ! -x .venv/bin/python ]; then
        rm -rf .venv
        if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                "$PYTHON" -m venv .venv
            else
                echo "error: $PYTHON is externally managed (PEP 668) and has no venv module:" \
                    "install python3-venv (apt-get install python3-venv), or make a venv or" \
                    "conda environment yourself, activate it, and run scripts/install.sh again" >&2
                exit 1
            fi
        fi
    fi
    PYTHON=.venv/bin/python
    echo "the system Python is externally managed (PEP 668): installing into .venv;" \
        "activate it with: . .venv/bin/activate"
fi
"$PYTHON" -m pip install -q -e '.[dev,notebooks,sweep]'
echo "cachesim installed: $(dirname "$PYTHON")/cachesim ($("$PYTHON" -c 'import sys; print(sys.prefix)'))"
