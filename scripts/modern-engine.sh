#!/bin/bash
# The modern Docker engine cachesim verifies against: dockerd 28.5 (built-in BuildKit v0.25),
# its 28.x client and the buildx plugin, taken from Debian's own archive and unpacked into a
# cache folder, on a Debian 12 machine, without installing or upgrading any system package.
#
# usage:
#   scripts/modern-engine.sh install           download and unpack (skipped when already done)
#   scripts/modern-engine.sh start DIR [FLAGS] start a private daemon under DIR; prints DOCKER_HOST
#   scripts/modern-engine.sh stop DIR [--purge] stop it (and remove DIR)
#   scripts/modern-engine.sh env DIR           shell lines pointing the 28.x client at that daemon
#   scripts/modern-engine.sh client            the path of the 28.x client
#
# Why this way: Debian 12 ships Docker 20.10 (BuildKit v0.8); users run 27/28. The packages
# of Debian's testing suite ("forky") run here except runc, which needs glibc 2.38 (Debian 12
# has 2.36), so runc comes from bookworm. apt runs with a private state (its own sources
# list, lists and archive cache under the cache folder), `apt-get download` fetches the
# .deb files and `dpkg-deb -x` unpacks them: dpkg's database is never touched.
# When forky's packages cannot be had, SUITE=trixie (Docker 26.1, BuildKit v0.13) is tried.
#
# Environment: CACHESIM_ENGINE_CACHE (the cache folder, default /var/cache/cachesim/docker-28),
# SUITE (forky), CACHESIM_ENGINE_TIMEOUT (seconds to wait for the daemon, default 60).
# FLAGS are passed to dockerd (e.g. --feature containerd-snapshotter=true); the storage
# driver is vfs unless FLAGS name one (or the containerd snapshotter, which has its own).
set -euo pipefail

CACHE=${CACHESIM_ENGINE_CACHE:-/var/cache/cachesim/docker-28}
SUITE=${SUITE:-forky}
TIMEOUT=${CACHESIM_ENGINE_TIMEOUT:-60}
PACKAGES="docker.io docker-cli docker-buildx containerd"

die() { echo "error: $*" >&2; exit 1; }
usage() { sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

installed() {
    [ -f "$CACHE/installed" ] && [ -x "$CACHE/bin/dockerd" ] && [ -x "$CACHE/bin/docker" ] \
        && [ -x "$CACHE/dockercfg/cli-plugins/docker-buildx" ]
}

# Download the .deb files of one suite into $CACHE/debs (a private apt state, no install).
download() {
    local suite=$1 tini=tini-static
    [ "$suite" = trixie ] && tini=tini          # trixie ships tini-static inside "tini"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial"
    cat >"$CACHE/apt/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian $suite main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
EOF
    local apt=(-o Dir::Etc::SourceList="$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt/cache"
        -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
    apt-get "${apt[@]}" -qq update || return 1
    rm -rf "$CACHE/debs"; mkdir -p "$CACHE/debs"
    local wanted=() p
    for p in $PACKAGES $tini; do wanted+=("$p/$suite"); done
    wanted+=(runc/bookworm)
    (cd "$CACHE/debs" && apt-get "${apt[@]}" -qq download "${wanted[@]}") || return 1
}

install() {
    if installed; then
        echo "modern engine already unpacked in $CACHE ($(cat "$CACHE/installed"))"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get is needed to fetch Docker 28.5 from Debian"
    command -v dpkg-deb >/dev/null || die "dpkg-deb is needed to unpack Docker 28.5"
    mkdir -p "$CACHE"
    local suite=$SUITE
    if ! download "$suite"; then
        [ "$suite" = trixie ] && die "could not download Docker's packages from $suite"
        echo "warning: $suite's packages could not be had; trying trixie (Docker 26.1)" >&2
        suite=trixie
        download "$suite" || die "could not download Docker's packages from $suite either"
    fi
    rm -rf "$CACHE/root" "$CACHE/bin" "$CACHE/dockercfg"
    mkdir -p "$CACHE/root" "$CACHE/bin" "$CACHE/dockercfg/cli-plugins"
    local f
    for f in "$CACHE"/debs/*.deb; do dpkg-deb -x "$f" "$CACHE/root"; done
    local r=$CACHE/root/usr b
    # One bin folder that dockerd's PATH sees: the new engine, its init, bookworm's runc.
    for b in bin/containerd bin/containerd-shim-runc-v2 bin/ctr bin/docker sbin/docker-proxy \
        sbin/dockerd sbin/runc; do
        [ -x "$r/$b" ] || die "$b is not in the unpacked packages"
        ln -sf "$r/$b" "$CACHE/bin/"
    done
    ln -sf "$r/bin/tini-static" "$CACHE/bin/docker-init"
    ln -sf "$r/libexec/docker/cli-plugins/docker-buildx" "$CACHE/dockercfg/cli-plugins/"
    echo '{}' >"$CACHE/dockercfg/config.json"
    "$CACHE/bin/runc" --version >/dev/null || die "the unpacked runc does not run"
    "$CACHE/bin/dockerd" --version >/dev/null || die "the unpacked dockerd does not run"
    (cd "$CACHE/debs" && ls -1 *.deb) >"$CACHE/packages.txt"
    "$CACHE/bin/dockerd" --version >"$CACHE/installed"
    echo "modern engine unpacked in $CACHE from $suite: $(cat "$CACHE/installed")"
    sed 's/^/  /' "$CACHE/packages.txt"
}

client_env() {  # the environment the 28.x client needs, for DIR's daemon
    echo "export DOCKER_HOST=unix://$1/docker.sock DOCKER_CONFIG=$CACHE/dockercfg" \
        "BUILDX_GIT_INFO=0 BUILDX_NO_DEFAULT_ATTESTATIONS=1"
}

start() {  # the same private daemon as scripts/start-engine.sh, with the 28.5 binaries
    [ $# -ge 1 ] || usage
    installed || die "the modern engine is not installed: run $0 install"
    # dockerd finds containerd, runc and docker-init on its PATH.
    PATH="$CACHE/bin:/usr/sbin:/usr/bin:/sbin:/bin" CACHESIM_DOCKERD="$CACHE/bin/dockerd" \
        CACHESIM_DOCKER="$CACHE/bin/docker" DOCKER_CONFIG="$CACHE/dockercfg" \
        CACHESIM_ENGINE_TIMEOUT="$TIMEOUT" sh "$(dirname "$0")/start-engine.sh" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    install) install ;;
    start) start "$@" ;;
    stop) [ $# -ge 1 ] || usage; exec sh "$(dirname "$0")/stop-engine.sh" "$@" ;;
    env) [ $# -eq 1 ] || usage; client_env "$(cd "$1" && pwd)" ;;
    client) echo "$CACHE/bin/docker" ;;
    *) usage ;;
esac
