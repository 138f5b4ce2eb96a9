#!/bin/sh
# Start a private Docker daemon whose state lives under DIR, wait until it answers, and
# print its DOCKER_HOST value. A private daemon keeps cachesim's real-engine checks from
# touching (or being touched by) any other daemon or build cache on the machine.
#
# usage: scripts/start-engine.sh DIR [DOCKERD FLAGS...]
#        then: export DOCKER_HOST=$(scripts/start-engine.sh DIR)
# Stop it with scripts/stop-engine.sh DIR. The storage driver is vfs unless the flags name
# one (or turn on the containerd snapshotter, which brings its own). CACHESIM_DOCKERD and
# CACHESIM_DOCKER name another daemon and client (scripts/modern-engine.sh start does so).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [DOCKERD FLAGS...]" >&2
    exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
shift
DRIVER=--storage-driver=vfs
for flag in "$@"; do
    case "$flag" in
        --storage-driver*|*containerd-snapshotter=true) DRIVER= ;;
    esac
done
SOCK="$DIR/docker.sock"
DOCKER=${CACHESIM_DOCKER:-/usr/bin/docker}
DOCKERD=${CACHESIM_DOCKERD:-dockerd}
TIMEOUT=${CACHESIM_ENGINE_TIMEOUT:-60}

if ! command -v "$DOCKERD" >/dev/null 2>&1; then
    echo "error: $DOCKERD not found (install it with scripts/install.sh)" >&2
    exit 1
fi
if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
    if DOCKER_HOST="unix://$SOCK" "$DOCKER" version >/dev/null 2>&1; then
        echo "unix://$SOCK"
        exit 0
    fi
fi

mkdir -p "$DIR/root" "$DIR/exec"
# setsid: the daemon outlives this script and is not killed with the caller's process group.
setsid "$DOCKERD" \
    --data-root "$DIR/root" --exec-root "$DIR/exec" --pidfile "$DIR/pid" \
    -H "unix://$SOCK" $DRIVER \
    --iptables=false --ip6tables=false --bridge=none "$@" \
    >"$DIR/log" 2>&1 </dev/null &
DPID=$!

waited=0
while :; do
    if DOCKER_HOST="unix://$SOCK" timeout 10 "$DOCKER" version >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$DPID" 2>/dev/null; then
        echo "error: dockerd exited before it answered; last lines of $DIR/log:" >&2
        tail -n 30 "$DIR/log" >&2
        exit 1
    fi
    if [ "$waited" -ge "$TIMEOUT" ]; then
        echo "error: dockerd did not answer within ${TIMEOUT}s; last lines of $DIR/log:" >&2
        tail -n 30 "$DIR/log" >&2
        kill "$DPID" 2>/dev/null || true
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
echo "unix://$SOCK"
