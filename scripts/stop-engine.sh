#!/bin/sh
# Stop the private daemon that scripts/start-engine.sh DIR started, and wait for it to exit.
# With --purge, also remove DIR (its images and build cache).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [--purge]" >&2
    exit 2
fi
DIR=$1
PURGE=${2:-}
if [ -f "$DIR/pid" ]; then
    PID=$(cat "$DIR/pid")
    if kill "$PID" 2>/dev/null; then
        i=0
        while kill -0 "$PID" 2>/dev/null && [ "$i" -lt 30 ]; do
            sleep 1
            i=$((i + 1))
        done
        if kill -0 "$PID" 2>/dev/null; then
            echo "warning: dockerd $PID still running after 30s; sending SIGKILL" >&2
            kill -9 "$PID" 2>/dev/null || true
        fi
    fi
fi
if [ "$PURGE" = "--purge" ]; then
    # vfs layers may hold read-only dirs; make them writable first.
    chmod -R u+w "$DIR" 2>/dev/null || true
    rm -rf "$DIR"
fi
