# Shared shell functions for scripts/*.sh. Source it; it does not run anything by itself.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck shell=bash disable=SC2034  # variables here are for the scripts that source this file

# The repository root, whatever the caller's working directory.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Files that outlive one run but are never committed (debootstrap tarballs, logs). /.cache/ is
# in .gitignore; ACR_ACTION_CACHE moves it (e.g. to a CI cache directory).
CACHE_DIR="${ACR_ACTION_CACHE:-$REPO_ROOT/.cache}"

VENV_DIR="$REPO_ROOT/.venv"

# The one Docker CLI the scripts use: Debian's /usr/bin/docker (20.10), from the docker.io package
# that setup.sh installs. It matches that engine and builds with the daemon's built-in BuildKit
# (DOCKER_BUILDKIT=1) without the buildx plugin. There is deliberately no fallback to another
# `docker` on PATH: a newer client without buildx refuses every BuildKit build ("BuildKit is
# enabled but the buildx component is missing"), and this file is sourced before setup.sh has
# installed docker.io, so a fallback chosen here would stick for the whole first run.
DOCKER="${DOCKER:-/usr/bin/docker}"
export DOCKER
# `docker build` uses BuildKit (cache mounts, multi-stage pruning); the legacy builder cannot.
export DOCKER_BUILDKIT=1

# Local stand-ins for the public base images, which cannot be pulled here (no Docker Hub).
# scripts/base-images.sh builds them; builds and tests pass them as --build-arg values.
export LOCAL_DEBIAN_IMAGE="acr-action-local/debian:bookworm-slim"
export LOCAL_PYTHON_IMAGE="acr-action-local/python:3.11-slim-bookworm"
export LOCAL_BUSYBOX_IMAGE="acr-action-local/busybox:latest"
export LOCAL_DOCKER_CLI_IMAGE="acr-action-local/docker-cli:26-buildx"
export LOCAL_CADDY_IMAGE="acr-action-local/caddy:latest"
export LOCAL_PEBBLE_IMAGE="acr-action-local/pebble:latest"

# Progress lines go to stderr so that stdout stays usable for a command's own output.
log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# Seconds since the epoch with milliseconds, for timing steps without external tools.
now() { date +%s.%N; }
# elapsed START -> "12.3s"
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1fs", e - s }'; }

require_root() {
    [[ "$(id -u)" == 0 ]] || die "$1 needs root (apt-get, dockerd, debootstrap); run it as root"
}

docker_ready() { [[ -x "$DOCKER" ]] && "$DOCKER" info >/dev/null 2>&1; }

# Fail early, with the fix, when the chosen Docker CLI is not there (setup.sh installs it).
require_docker_cli() {
    [[ -x "$DOCKER" ]] || die "no Docker CLI at $DOCKER; run scripts/setup.sh (it installs docker.io), or set DOCKER"
}

# Start dockerd in the background unless an engine already answers. Never restarts a running one:
# other work on the machine may be using it.
ensure_dockerd() {
    require_docker_cli
    if docker_ready; then
        return 0
    fi
    require_root "starting dockerd"
    command -v dockerd >/dev/null 2>&1 || die "dockerd not found; run scripts/setup.sh first"
    mkdir -p "$CACHE_DIR"
    local logfile="$CACHE_DIR/dockerd.log"
    log "starting dockerd (log: $logfile)"
    # No iptables on this kind of machine: without these flags dockerd exits at start-up. The
    # consequence is that containers on the default bridge have no outbound network, so builds
    # that need a package index use --network host.
    # setsid + nohup: the daemon must outlive this script (and the test run that started it).
    setsid nohup dockerd --iptables=false --ip-masq=false >>"$logfile" 2>&1 </dev/null &
    local pid=$! deadline=$((SECONDS + 60))
    until docker_ready; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$logfile" >&2 || true
            die "dockerd exited during start-up; its log is $logfile"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$logfile" >&2 || true
            die "dockerd did not answer within 60 s; its log is $logfile"
        fi
        sleep 1
    done
    log "dockerd is up"
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# image_size IMAGE -> "123.4 MB" (decimal megabytes, as `docker images` counts them)
image_size() {
    "$DOCKER" image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1000000 }'
}

# Run a pip/pip-tools command with one harmless warning filtered out of its stderr: this kind of
# machine's pip.conf names local mirror directories that lack most packages, and pip then says
# "Location 'file:///...' is ignored" once per package. Everything else passes through, and the
# command's exit status is kept (pipefail).
pip_quiet() {
    { "$@" 2>&1 1>&3 3>&- | { grep -v -E "^WARNING: Location 'file:.*' is ignored" || true; } >&2; } 3>&1
}

# Print a script's header comment (its help text): the comment lines after the shebang.
script_help() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"; }
